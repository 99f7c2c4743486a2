//! `hvsignal signal`: issue HvCallSignalEvent, or with `--dry-run` show exactly what would be
//! issued.

use hvcall::CpuVendor;
use serde::Serialize;

use crate::call::{self, InstructionJson, PlannedCall, PlannedCallJson};
use crate::cli::SignalArgs;
use crate::context::Context;
use crate::exit::{AppError, CommandResult, Exit};
use crate::numbers::hex64_grouped;
use crate::report::{self, Align, Style, Table, Text};

/// Where the CPU vendor of a dry run comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VendorSource {
    /// The model's world file (or built-in world).
    World,
    /// CPUID leaf 0 of this machine.
    Cpu,
}

/// The `signal --dry-run --json` document body.
#[derive(Debug, Serialize)]
struct DryRunDocument {
    dry_run: bool,
    raw: bool,
    operations: Vec<PlannedCallJson>,
    vendor: Option<String>,
    vendor_source: Option<VendorSource>,
    instruction: Option<InstructionJson>,
    instructions: [InstructionJson; 2],
}

/// Builds the planned calls of the command line.
///
/// # Errors
/// A connection id or raw field that is not allowed (exit 2).
pub fn planned_calls(args: &SignalArgs) -> Result<Vec<PlannedCall>, AppError> {
    args.connections
        .iter()
        .map(|&id| PlannedCall::new(id, args.flag, args.memory, &args.raw))
        .collect()
}

/// Runs the command.
///
/// # Errors
/// Bad arguments (exit 2), a missing environment (exit 3).
pub fn run(ctx: &Context, args: &SignalArgs) -> CommandResult {
    let calls = planned_calls(args)?;
    if args.dry_run {
        let vendor = ctx.dry_run_vendor()?;
        return dry_run(ctx, &calls, vendor, args.repeat);
    }
    Err(AppError::Environment(
        "signalling needs the model or device backend, which this build does not have yet"
            .to_owned(),
    ))
}

fn dry_run(
    ctx: &Context,
    calls: &[PlannedCall],
    vendor: Option<(CpuVendor, VendorSource)>,
    repeat: u32,
) -> CommandResult {
    if ctx.json {
        let document = DryRunDocument {
            dry_run: true,
            raw: calls.iter().any(|c| c.raw),
            operations: calls.iter().map(PlannedCall::json).collect(),
            vendor: vendor.map(|(v, _)| call::vendor_name(v)),
            vendor_source: vendor.map(|(_, s)| s),
            instruction: vendor.and_then(|(v, _)| call::instruction_json(v)),
            instructions: call::all_instructions(),
        };
        report::print_json(&ctx.document("signal", document))?;
        return Ok(Exit::Success);
    }
    let style = ctx.style;
    let mut text = Text::new();
    let repeat_note = if repeat > 1 {
        format!(" (a real run issues each call {repeat} times)")
    } else {
        String::new()
    };
    text.line(format!(
        "{} — nothing is issued{repeat_note}",
        style.bold("signal --dry-run")
    ));
    for (index, c) in calls.iter().enumerate() {
        text.blank();
        text.line(format!(
            "{} connection {:#x}, flag {}, {} convention{}",
            style.bold(&format!("Call {}:", index + 1)),
            c.input.connection_id,
            c.input.flag_number,
            c.convention(),
            if c.raw { ", raw mode" } else { "" }
        ));
        describe_call(&mut text, style, c);
    }
    text.blank();
    describe_instructions(&mut text, style, vendor);
    if ctx.simulated() {
        text.blank();
        text.line(style.dim("simulated: model backend"));
    }
    text.print()?;
    Ok(Exit::Success)
}

/// Registers, control word field by field, and input bytes of one call.
pub fn describe_call(text: &mut Text, style: Style, c: &PlannedCall) {
    let mut registers = Table::new(&[
        ("register", Align::Left),
        ("value", Align::Left),
        ("", Align::Left),
    ]);
    for (name, value, note) in c.register_lines() {
        registers.row(vec![
            name.to_owned(),
            style.accent(&value),
            style.dim(&note),
        ]);
    }
    text.push(registers.render(style, 2));
    text.blank();
    text.line(format!(
        "  {}  {}",
        style.bold("Control word"),
        hex64_grouped(c.rcx())
    ));
    let mut control = Table::new(&[
        ("bits", Align::Right),
        ("field", Align::Left),
        ("value", Align::Right),
        ("", Align::Left),
    ]);
    for (bits, field, value, note) in c.control_fields() {
        control.row(vec![
            bits.to_owned(),
            field.to_owned(),
            value,
            style.dim(note),
        ]);
    }
    text.push(control.render(style, 4));
    text.blank();
    text.line(format!(
        "  {}  {}{}",
        style.bold("Input (8 bytes, little-endian)"),
        report::hex_bytes(&c.input.to_bytes()),
        if c.memory {
            "  in the input page"
        } else {
            "  = RDX"
        }
    ));
    let mut input = Table::new(&[
        ("bytes", Align::Left),
        ("field", Align::Left),
        ("value", Align::Right),
    ]);
    input.row(vec![
        "0-3".into(),
        "connection id".into(),
        format!("{:#010x}", c.input.connection_id),
    ]);
    input.row(vec![
        "4-5".into(),
        "flag number".into(),
        c.input.flag_number.to_string(),
    ]);
    input.row(vec![
        "6-7".into(),
        "RsvdZ".into(),
        format!("{:#06x}", c.input.rsvd_z),
    ]);
    text.push(input.render(style, 4));
}

/// The instruction per vendor, with the one this machine or world uses marked.
fn describe_instructions(text: &mut Text, style: Style, vendor: Option<(CpuVendor, VendorSource)>) {
    text.line(style.bold("Instruction"));
    let selected = vendor.and_then(|(v, _)| v.instruction());
    let mut table = Table::new(&[
        ("vendor", Align::Left),
        ("instruction", Align::Left),
        ("bytes", Align::Left),
        ("", Align::Left),
    ]);
    for i in call::all_instructions() {
        let chosen = selected.is_some_and(|s| s.mnemonic() == i.mnemonic);
        let note = match (chosen, vendor) {
            (true, Some((_, VendorSource::World))) => style.good("<- the world's CPU"),
            (true, Some((_, VendorSource::Cpu))) => style.good("<- this machine"),
            _ => String::new(),
        };
        table.row(vec![
            i.vendor.to_owned(),
            i.mnemonic.to_owned(),
            i.encoding.clone(),
            note,
        ]);
    }
    text.push(table.render(style, 2));
    if let Some((v, _)) = vendor
        && v.instruction().is_none()
    {
        text.line(format!(
            "  {}",
            style.warn(&format!(
                "CPU vendor '{}' is neither Intel nor AMD: the driver refuses to guess and issues nothing",
                call::vendor_name(v)
            ))
        ));
    }
}
