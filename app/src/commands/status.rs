//! `hvsignal status CODE`: decode an HV_STATUS value or name.

use hvcall::status::SignalEventListing;
use hvcall::{HvStatus, HypercallResult};
use serde::Serialize;

use crate::cli::StatusArgs;
use crate::context::Context;
use crate::exit::{CommandResult, Exit, UsageError};
use crate::numbers::{self, NumberError};
use crate::report::{self, Fields};

/// The `status --json` document body.
#[derive(Debug, Serialize)]
struct StatusDocument {
    code: u16,
    hex: String,
    name: Option<&'static str>,
    meaning: Option<&'static str>,
    known: bool,
    listed_for_signal_event: bool,
    /// Where the TLFS lists it for SignalEvent: `signal-event-page`, `any-hypercall`, or null.
    signal_event_source: Option<&'static str>,
}

/// Parses CODE: a number from 0 to 0xFFFF, or a status name.
fn parse_code(text: &str) -> Result<HvStatus, UsageError> {
    match numbers::parse_u64(text) {
        Ok(value) => u16::try_from(value).map(HvStatus::from_code).map_err(|_| {
            UsageError::BadValue(format!(
                "CODE {value:#x}: an HV_STATUS is 16 bits (0 to 0xffff); a hypercall result value \
                 (RAX) carries it in bits 15:0, so pass {:#06x}",
                HypercallResult::from_raw(value).status().code()
            ))
        }),
        Err(NumberError::Malformed(_)) => HvStatus::from_name(text).ok_or_else(|| {
            UsageError::BadValue(format!(
                "CODE '{text}' is neither a number (decimal, 0x-hex, 0b-binary, 0 to 0xffff) nor a \
                 known status name (e.g. HV_STATUS_INVALID_PORT_ID or INVALID_PORT_ID)"
            ))
        }),
        Err(e) => Err(UsageError::BadValue(format!("CODE: {e}"))),
    }
}

/// Runs the command.
///
/// # Errors
/// CODE is malformed or out of range (exit 2).
pub fn run(ctx: &Context, args: &StatusArgs) -> CommandResult {
    let status = parse_code(&args.code)?;
    let document = StatusDocument {
        code: status.code(),
        hex: report::hex(u64::from(status.code()), 4),
        name: status.name(),
        meaning: status.meaning(),
        known: status.name().is_some(),
        listed_for_signal_event: status.is_listed_for_signal_event(),
        signal_event_source: status.signal_event_listing().map(SignalEventListing::name),
    };
    ctx.report("status", None, &document, |text, style| {
        text.line(format!(
            "{} {} ({})",
            style.bold("HV_STATUS"),
            document.hex,
            document.code
        ));
        let mut fields = Fields::new();
        if let Some(meaning) = document.meaning {
            fields.add("name", style.status(status));
            fields.add("meaning", meaning);
            fields.add(
                "SignalEvent",
                match status.signal_event_listing() {
                    Some(SignalEventListing::SignalEventPage) => {
                        "listed on the TLFS HvCallSignalEvent page"
                    }
                    Some(SignalEventListing::AnyHypercall) => {
                        "not on the TLFS HvCallSignalEvent page; a status any hypercall can return \
                     (TLFS hypercall interface)"
                    }
                    None => "not among the results the TLFS lists for HvCallSignalEvent",
                },
            );
        } else {
            fields.add("name", style.warn("unknown"));
            fields.add(
                "meaning",
                "no source (TLFS, OpenVMM, Linux, QEMU, HDK) names this value",
            );
        }
        text.push(fields.render(2));
    })?;
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_parse() {
        assert_eq!(parse_code("18").unwrap(), HvStatus::INVALID_CONNECTION_ID);
        assert_eq!(parse_code("0x12").unwrap(), HvStatus::INVALID_CONNECTION_ID);
        assert_eq!(
            parse_code("0b10010").unwrap(),
            HvStatus::INVALID_CONNECTION_ID
        );
        assert_eq!(
            parse_code("invalid_port_id").unwrap(),
            HvStatus::INVALID_PORT_ID
        );
        assert_eq!(parse_code("0xffff").unwrap(), HvStatus::from_code(0xFFFF));
        assert!(
            matches!(parse_code("0x10012"), Err(UsageError::BadValue(m)) if m.contains("pass 0x0012"))
        );
        assert!(
            matches!(parse_code("NOPE"), Err(UsageError::BadValue(m)) if m.starts_with("CODE 'NOPE'"))
        );
    }
}
