//! The console program's TraceLogging (ETW) provider `HvSignal.Console`: one `Command` event per
//! run, so a trace that also takes the driver's provider shows what the program asked for next
//! to the driver's `Request` events (docs/WINDOWS.md, Tracing).
//!
//! The event's fields are defined in `hvsignal_proto::trace::COMMAND`; this file computes the
//! argument summary and writes it. Off Windows the `tracelogging` crate makes registering and
//! writing no-ops, so the hook costs nothing there.

use std::ffi::OsString;
use std::sync::{Mutex, PoisonError};

use hvsignal_proto::trace::{ARGUMENTS_SUMMARY_MAX, CommandEvent, KEYWORD_COMMAND, NONE};
use tracelogging as tlg;

tlg::define_provider!(PROVIDER, "HvSignal.Console");

/// Held from registering the provider to unregistering it, so no two registrations overlap
/// whoever calls [`write_command`] (`Provider::register` panics on a concurrent one).
static REGISTRATION: Mutex<()> = Mutex::new(());

/// The arguments after the program's name, joined by spaces (lossily for non-UTF-8 ones), cut
/// at a character boundary to at most [`ARGUMENTS_SUMMARY_MAX`] bytes, ending in `...` when cut.
pub fn summarize_arguments(args: &[OsString]) -> String {
    const ELLIPSIS: &str = "...";
    let joined = args
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    if joined.len() <= ARGUMENTS_SUMMARY_MAX {
        return joined;
    }
    let mut end = ARGUMENTS_SUMMARY_MAX - ELLIPSIS.len();
    while !joined.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{ELLIPSIS}", &joined[..end])
}

/// Writes the run's `Command` event: `command` (None when the command line names none), the
/// arguments' summary, the backend's name and the exit status. Registers the provider for just
/// this event; nothing is written unless a trace session listens.
pub fn write_command(command: Option<&str>, args: &[OsString], backend: &str, exit_code: u8) {
    let _registration = REGISTRATION.lock().unwrap_or_else(PoisonError::into_inner);
    // SAFETY: registered here and unregistered below before this function returns, under
    // REGISTRATION, so it is never registered twice and no other register or unregister
    // overlaps. The provider is a static (never moves), and this is an executable, so no module
    // unloads while it is registered.
    let _status = unsafe { PROVIDER.register() };
    if PROVIDER.enabled(tlg::Level::Informational, KEYWORD_COMMAND) {
        let arguments = summarize_arguments(args);
        let event = CommandEvent {
            command: command.unwrap_or(NONE),
            arguments: &arguments,
            backend,
            exit_code: u32::from(exit_code),
        };
        write(&event);
    }
    let _status = PROVIDER.unregister();
}

fn write(event: &CommandEvent<'_>) {
    tlg::write_event!(
        PROVIDER,
        "Command",
        level(Informational),
        keyword(KEYWORD_COMMAND),
        str8("Command", event.command),
        str8("Arguments", event.arguments),
        str8("Backend", event.backend),
        u32("ExitCode", &event.exit_code),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_summary_is_the_arguments_after_the_program() {
        assert_eq!(
            summarize_arguments(&args(&["hvsignal", "signal", "--json", "0x10"])),
            "signal --json 0x10"
        );
        assert_eq!(summarize_arguments(&args(&["hvsignal"])), "");
    }

    #[test]
    fn a_long_summary_is_cut_at_a_character_boundary() {
        let long = "é".repeat(200); // 400 bytes
        let summary = summarize_arguments(&args(&["hvsignal", &long]));
        assert!(summary.len() <= ARGUMENTS_SUMMARY_MAX);
        assert!(summary.ends_with("..."));
        assert_eq!(summary, format!("{}...", "é".repeat(126)));
    }

    #[test]
    fn writing_is_harmless_without_a_session() {
        write_command(Some("info"), &args(&["hvsignal", "info"]), "model", 0);
        write_command(None, &args(&["hvsignal"]), "device", 2);
    }
}
