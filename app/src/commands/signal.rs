//! `hvsignal signal`: issue HvCallSignalEvent, or with `--dry-run` show exactly what would be
//! issued, and render what the driver answered. The calls are planned by `call.rs`; a call's
//! registers and control word are described by `issued.rs`.

use hvcall::CpuVendor;
use hvmodel::TargetVp;
use hvmodel::receiver::Blocked;
use hvsignal_proto::{CallingConvention, MAX_CALLS_PER_REQUEST, Operation, OperationResult};
use serde::Serialize;

use crate::call;
use crate::cli::SignalArgs;
use crate::context::{Context, VendorSource};
use crate::exit::{CommandResult, Exit};
use crate::issued::{self, CallJson, InstructionJson, IssuedCall};
use crate::progress;
use crate::report::{self, Align, Fields, StatusJson, Style, Table, Text, hex64_grouped};
use crate::transport::model::ReceiverTally;

/// The `signal --dry-run --json` document body.
#[derive(Debug, Serialize)]
struct DryRunDocument {
    dry_run: bool,
    raw: bool,
    operations: Vec<CallJson>,
    vendor: Option<String>,
    vendor_source: Option<VendorSource>,
    instruction: Option<InstructionJson>,
    instructions: Vec<InstructionJson>,
}

/// What the command line asks for: one operation per `-c`, under one convention.
struct Plan {
    convention: CallingConvention,
    raw: bool,
    /// One call each (`repeat` 1).
    operations: Vec<Operation>,
    /// Calls per operation.
    repeat: u32,
}

/// Runs the command.
///
/// # Errors
/// Bad arguments (exit 2), a missing environment (exit 3).
pub fn run(ctx: &Context, args: &SignalArgs) -> CommandResult {
    let convention = call::convention(args.memory);
    let plan = Plan {
        convention,
        raw: args.raw.is_raw(),
        operations: args
            .connections
            .iter()
            .map(|&id| call::plan(id, args.flag, convention, &args.raw))
            .collect::<Result<_, _>>()?,
        repeat: args.repeat,
    };
    if args.dry_run {
        let vendor = ctx.dry_run_vendor()?;
        return dry_run(ctx, &plan, vendor);
    }
    issue(ctx, &plan, args.show_receiver)
}

/// One operation's result in `signal --json`.
#[derive(Debug, Serialize)]
struct OperationJson {
    calls: u64,
    successes: u64,
    failures: u64,
    first_status: StatusJson,
    last_status: StatusJson,
    meaning: Option<&'static str>,
    first_result: String,
    last_result: String,
    cycles: CyclesJson,
    nanoseconds: Option<NanosJson>,
    /// What the driver says it issued.
    #[serde(flatten)]
    issued: CallJson,
    /// With `--show-receiver` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    receiver: Option<ReceiverJson>,
}

/// What the receiving side saw of one operation (`--show-receiver`, model only).
#[derive(Debug, Serialize)]
struct ReceiverJson {
    /// Where the connection's events go; null when the world has no such connection.
    route: Option<RouteJson>,
    /// The VP whose SIEF page a call reached (null when none did).
    vp: Option<u32>,
    /// Calls that set the flag 0→1 and raised the SINT.
    raised: u64,
    /// Calls that found the flag already set: no interrupt.
    already_set: u64,
    /// Successful calls whose event the receiver could not take.
    dropped: u64,
    /// Failed calls: nothing reached the receiver.
    not_delivered: u64,
    /// Why the target cannot take an event now (`sint_masked`, …), null when it can.
    #[serde(serialize_with = "serialize_blocked")]
    blocked: Option<Blocked>,
}

/// A [`Blocked`] as its short name.
#[allow(
    clippy::ref_option,
    clippy::trivially_copy_pass_by_ref,
    reason = "the signature serde's serialize_with calls"
)]
fn serialize_blocked<S: serde::Serializer>(
    blocked: &Option<Blocked>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    blocked.map(Blocked::name).serialize(serializer)
}

#[derive(Debug, Serialize)]
struct RouteJson {
    port: u32,
    partition: u64,
    /// A VP index, or `"any"`.
    target_vp: TargetVpJson,
    sint: u8,
    /// The absolute flag bit in the SINT's slot: the port's base flag + the flag number.
    flag: u32,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum TargetVpJson {
    Index(u32),
    Any(&'static str),
}

/// What the receiver saw of the calls `result` reports, from the world's route and the tally.
fn receiver_json(
    world: &hvmodel::World,
    result: &OperationResult,
    tally: &ReceiverTally,
) -> ReceiverJson {
    let route = world.route(result.connection_id, result.flag_number);
    ReceiverJson {
        route: route.map(|r| RouteJson {
            port: r.port,
            partition: r.partition,
            target_vp: match r.target_vp {
                TargetVp::Index(i) => TargetVpJson::Index(i),
                TargetVp::Any => TargetVpJson::Any("any"),
            },
            sint: r.sint,
            flag: r.flag,
        }),
        vp: tally.signal.map(|s| s.vp),
        raised: tally.raised,
        already_set: tally.already_set,
        dropped: tally.dropped,
        not_delivered: tally.not_delivered,
        blocked: route.and_then(|r| r.blocked(world)),
    }
}

#[derive(Debug, Serialize)]
struct CyclesJson {
    min: u64,
    mean: f64,
    max: u64,
}

#[derive(Debug, Serialize)]
struct NanosJson {
    min: f64,
    mean: f64,
    max: f64,
}

#[derive(Debug, Serialize)]
struct SignalDocument {
    dry_run: bool,
    convention: &'static str,
    raw: bool,
    repeat: u32,
    world: Option<String>,
    profile: Option<&'static str>,
    tsc_frequency_hz: Option<u64>,
    operations: Vec<OperationJson>,
    summary: SummaryJson,
}

#[derive(Debug, Serialize)]
struct SummaryJson {
    calls: u64,
    successes: u64,
    failures: u64,
}

#[allow(clippy::cast_precision_loss, reason = "means of cycle counts")]
fn mean(sum: u64, calls: u32) -> f64 {
    if calls == 0 {
        0.0
    } else {
        sum as f64 / f64::from(calls)
    }
}

#[allow(clippy::cast_precision_loss, reason = "cycle counts to nanoseconds")]
fn ns(cycles: f64, hz: u64) -> f64 {
    cycles * 1e9 / hz as f64
}

#[allow(clippy::cast_precision_loss, reason = "cycle counts to nanoseconds")]
fn operation_json(o: &OperationResult, tsc: Option<u64>) -> OperationJson {
    let mean_cycles = mean(o.cycles_sum, o.calls);
    OperationJson {
        calls: o.calls.into(),
        successes: o.successes.into(),
        failures: o.failures.into(),
        first_status: o.first_hv_status().into(),
        last_status: o.last_hv_status().into(),
        meaning: o.last_hv_status().meaning(),
        first_result: format!("{:#018x}", o.first_result),
        last_result: format!("{:#018x}", o.last_result),
        cycles: CyclesJson {
            min: o.cycles_min,
            mean: mean_cycles,
            max: o.cycles_max,
        },
        nanoseconds: tsc.map(|hz| NanosJson {
            min: ns(o.cycles_min as f64, hz),
            mean: ns(mean_cycles, hz),
            max: ns(o.cycles_max as f64, hz),
        }),
        issued: IssuedCall::from_result(o).json(),
        receiver: None,
    }
}

fn issue(ctx: &Context, plan: &Plan, show_receiver: bool) -> CommandResult {
    let (mut session, log) = if show_receiver {
        let (session, log) = ctx.open_recording("--show-receiver")?;
        (session, Some(log))
    } else {
        (ctx.open(None)?, None)
    };
    let tsc = session.client.query()?.tsc_frequency();
    let operations: Vec<Operation> = plan
        .operations
        .iter()
        .map(|o| Operation {
            repeat: plan.repeat,
            ..*o
        })
        .collect();
    let (convention, raw) = (plan.convention, plan.raw);
    let total = u64::from(plan.repeat) * operations.len() as u64;
    let bar = progress::bar_when(shows_bar(ctx.json, total), total, "calls");
    let (results, tallies) = match &log {
        // One operation at a time, so that each one's tally is its own.
        Some(log) => {
            let mut results = Vec::new();
            let mut tallies = Vec::new();
            let mut base = 0;
            for operation in &operations {
                let _ = log.take();
                results.extend(session.client.run(
                    convention,
                    raw,
                    std::slice::from_ref(operation),
                    None,
                    &mut |done| bar.set_position(base + done),
                )?);
                base += u64::from(operation.repeat);
                tallies.push(log.take());
            }
            (results, Some(tallies))
        }
        None => (
            session
                .client
                .run(convention, raw, &operations, None, &mut |done| {
                    bar.set_position(done);
                })?,
            None,
        ),
    };
    bar.finish_and_clear();
    let world = session.world.as_ref().map(|w| &w.world);
    let operations: Vec<OperationJson> = results
        .iter()
        .enumerate()
        .map(|(i, o)| OperationJson {
            receiver: world
                .zip(tallies.as_ref().and_then(|t| t.get(i)))
                .map(|(w, t)| receiver_json(w, o, t)),
            ..operation_json(o, tsc)
        })
        .collect();
    let summary = SummaryJson {
        calls: operations.iter().map(|o| o.calls).sum(),
        successes: operations.iter().map(|o| o.successes).sum(),
        failures: operations.iter().map(|o| o.failures).sum(),
    };
    let exit = Exit::from_all_success(summary.failures == 0 && summary.calls > 0);
    let document = SignalDocument {
        dry_run: false,
        convention: issued::convention_name(convention),
        raw,
        repeat: plan.repeat,
        world: session.world.as_ref().map(|w| w.source.clone()),
        profile: session.world.as_ref().map(|w| w.world.profile().name()),
        tsc_frequency_hz: tsc,
        operations,
        summary,
    };
    ctx.report("signal", ctx.banner(&session), &document, |text, style| {
        render_issued(text, style, &document, &results);
    })?;
    Ok(exit)
}

/// A progress bar (on stderr, when it is a terminal) for human output of a run longer than one
/// request: the bar moves after each request, so a shorter run would only flash it.
fn shows_bar(json: bool, total_calls: u64) -> bool {
    !json && total_calls > u64::from(MAX_CALLS_PER_REQUEST)
}

fn status_cell(style: Style, status: hvcall::HvStatus) -> String {
    format!(
        "{} ({})",
        style.status(status),
        report::hex(u64::from(status.code()), 4)
    )
}

fn render_issued(text: &mut Text, style: Style, d: &SignalDocument, results: &[OperationResult]) {
    text.line(format!(
        "{} {} convention{}, {} call{} per operation",
        style.bold("HvCallSignalEvent"),
        d.convention,
        if d.raw { ", raw mode" } else { "" },
        d.repeat,
        if d.repeat == 1 { "" } else { "s" }
    ));
    let mut table = Table::new(&[
        ("connection", Align::Right),
        ("flag", Align::Right),
        ("RCX", Align::Right),
        ("calls", Align::Right),
        ("succeeded", Align::Right),
        ("failed", Align::Right),
        ("status", Align::Left),
    ]);
    for o in results {
        let (first, last) = (o.first_hv_status(), o.last_hv_status());
        let status = if first == last {
            status_cell(style, last)
        } else {
            format!(
                "first {}, last {}",
                status_cell(style, first),
                status_cell(style, last)
            )
        };
        table.row(vec![
            format!("{:#x}", o.connection_id),
            o.flag_number.to_string(),
            format!("{:#x}", o.control),
            o.calls.to_string(),
            o.successes.to_string(),
            o.failures.to_string(),
            status,
        ]);
    }
    text.push(table.render(style, 2));
    text.blank();
    let mut seen = Vec::new();
    for o in results {
        for s in [o.first_hv_status(), o.last_hv_status()] {
            if !seen.contains(&s) {
                seen.push(s);
            }
        }
    }
    let mut meanings = Fields::new();
    for s in seen {
        meanings.add(
            &report::status_name(s),
            s.meaning()
                .unwrap_or("unknown status: no source names this value"),
        );
    }
    text.push(meanings.render(2));
    if d.operations.iter().any(|o| o.receiver.is_some()) {
        text.blank();
        render_receiver(text, style, d, results);
    }
    if d.repeat > 1 {
        text.blank();
        render_timing(text, style, d, results);
    }
}

/// `--show-receiver`: per operation, where its events went and what the receiver saw.
fn render_receiver(text: &mut Text, style: Style, d: &SignalDocument, results: &[OperationResult]) {
    text.line(style.bold("Receiving side (simulated)"));
    let mut table = Table::new(&[
        ("connection", Align::Right),
        ("partition", Align::Right),
        ("VP", Align::Right),
        ("SINT", Align::Right),
        ("flag bit", Align::Right),
        ("seen", Align::Left),
    ]);
    for (o, j) in results.iter().zip(&d.operations) {
        let Some(r) = &j.receiver else { continue };
        let dash = || "-".to_owned();
        let vp = r.vp.map_or_else(
            || {
                r.route
                    .as_ref()
                    .map_or_else(dash, |route| match route.target_vp {
                        TargetVpJson::Index(i) => i.to_string(),
                        TargetVpJson::Any(any) => any.to_owned(),
                    })
            },
            |vp| vp.to_string(),
        );
        let route = r.route.as_ref();
        table.row(vec![
            format!("{:#x}", o.connection_id),
            route.map_or_else(dash, |x| x.partition.to_string()),
            vp.clone(),
            route.map_or_else(dash, |x| x.sint.to_string()),
            route.map_or_else(dash, |x| x.flag.to_string()),
            seen(r, o, &vp),
        ]);
    }
    text.push(table.render(style, 2));
}

/// What the receiver saw, in words: one part per kind of call that happened.
fn seen(r: &ReceiverJson, o: &OperationResult, vp: &str) -> String {
    let one = o.calls == 1;
    let why = || match (r.blocked, r.route.as_ref()) {
        (_, None) => "the caller has no such connection".to_owned(),
        (None, Some(_)) => format!(
            "the call returned {}",
            report::status_name(o.last_hv_status())
        ),
        (Some(b), Some(route)) => blocked_text(b, route, vp),
    };
    let mut parts = Vec::new();
    if r.raised > 0 {
        parts.push(if one {
            "flag newly set, SINT raised".to_owned()
        } else {
            format!("{} newly set the flag, SINT raised", count(r.raised))
        });
    }
    if r.already_set > 0 {
        parts.push(if one {
            "flag already set, no interrupt".to_owned()
        } else {
            format!(
                "{} found it already set, no interrupt",
                count(r.already_set)
            )
        });
    }
    if r.dropped > 0 {
        parts.push(if one {
            format!("event dropped: {}", why())
        } else {
            format!("{} dropped: {}", count(r.dropped), why())
        });
    }
    if r.not_delivered > 0 {
        parts.push(if one {
            format!("nothing delivered: {}", why())
        } else {
            format!("{} delivered nothing: {}", count(r.not_delivered), why())
        });
    }
    parts.join("; ")
}

fn count(n: u64) -> String {
    format!("{n} call{}", if n == 1 { "" } else { "s" })
}

fn blocked_text(blocked: Blocked, route: &RouteJson, vp: &str) -> String {
    match blocked {
        Blocked::SintMasked => format!("SINT {} is masked on VP {vp}", route.sint),
        Blocked::SynicDisabled => format!("the SynIC of VP {vp} is disabled"),
        Blocked::SiefDisabled => format!("the SIEF page of VP {vp} is disabled"),
        Blocked::VpMissing => format!("VP {vp} is missing or removed"),
        Blocked::NoVpAvailable => format!("no VP can take SINT {}", route.sint),
        Blocked::PortNotLive => format!(
            "port {} is deleted, not an event port, or its partition is inactive",
            route.port
        ),
        Blocked::FlagOutOfRange => {
            format!("flag bit {} is beyond the 2048 flags of a SINT", route.flag)
        }
    }
}

fn render_timing(text: &mut Text, style: Style, d: &SignalDocument, results: &[OperationResult]) {
    let unit = if d.tsc_frequency_hz.is_some() {
        "ns"
    } else {
        "cycles"
    };
    text.line(style.bold(&format!("Timing per call ({unit})")));
    let mut timing = Table::new(&[
        ("connection", Align::Right),
        ("min", Align::Right),
        ("mean", Align::Right),
        ("max", Align::Right),
        ("cycles min/mean/max", Align::Left),
    ]);
    for (o, j) in results.iter().zip(&d.operations) {
        let cycles = format!("{}/{:.1}/{}", j.cycles.min, j.cycles.mean, j.cycles.max);
        let (min, avg, max) = match &j.nanoseconds {
            Some(n) => (
                format!("{:.1}", n.min),
                format!("{:.1}", n.mean),
                format!("{:.1}", n.max),
            ),
            None => (
                j.cycles.min.to_string(),
                format!("{:.1}", j.cycles.mean),
                j.cycles.max.to_string(),
            ),
        };
        timing.row(vec![
            format!("{:#x}", o.connection_id),
            min,
            avg,
            max,
            style.dim(&cycles),
        ]);
    }
    text.push(timing.render(style, 2));
}

fn dry_run(ctx: &Context, plan: &Plan, vendor: Option<(CpuVendor, VendorSource)>) -> CommandResult {
    let calls: Vec<IssuedCall> = plan
        .operations
        .iter()
        .map(|o| IssuedCall::planned(o, plan.convention))
        .collect();
    let document = DryRunDocument {
        dry_run: true,
        raw: plan.raw,
        operations: calls.iter().map(IssuedCall::json).collect(),
        vendor: vendor.map(|(v, _)| issued::vendor_name(v)),
        vendor_source: vendor.map(|(_, s)| s),
        instruction: vendor.and_then(|(v, _)| issued::instruction_json(v)),
        instructions: issued::all_instructions(),
    };
    ctx.report("signal", None, &document, |text, style| {
        let repeat_note = if plan.repeat > 1 {
            format!(" (a real run issues each call {} times)", plan.repeat)
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
                if plan.raw { ", raw mode" } else { "" }
            ));
            describe_call(text, style, c);
        }
        text.blank();
        describe_instructions(text, style, vendor);
        if ctx.simulated() {
            text.blank();
            text.line(style.dim("simulated: model backend"));
        }
    })?;
    Ok(Exit::Success)
}

/// Registers, control word field by field, and input bytes of one call.
pub fn describe_call(text: &mut Text, style: Style, c: &IssuedCall) {
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
        if c.memory() {
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
    for i in issued::all_instructions() {
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
                issued::vendor_name(v)
            ))
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_only_for_human_output_of_more_than_one_request() {
        let one_request = u64::from(MAX_CALLS_PER_REQUEST);
        assert!(!shows_bar(false, 1));
        assert!(!shows_bar(false, one_request));
        assert!(shows_bar(false, one_request + 1));
        assert!(!shows_bar(true, one_request + 1));
    }
}
