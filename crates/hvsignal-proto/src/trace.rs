//! The TraceLogging (ETW) events of the driver and of the console program: their names, levels,
//! keywords and fields ([`EVENTS`]), and each event's values computed from what the driver or the
//! program already has (the readiness verdict, the IOCTL, the completion and the response bytes).
//!
//! Only registering the providers and writing the events is Windows-specific (driver/trace.rs,
//! app/src/trace.rs, with the `tracelogging` crate); everything here runs, and is tested, on every
//! host. `docs/WINDOWS.md` (Tracing) documents each event in a table that a test compares with
//! [`EVENTS`], and another test checks that the write calls write exactly these fields.
//!
//! The providers' names and GUIDs are in [`crate::names`].

use hvcall::Readiness;

use crate::ioctl::Ioctl;
use crate::ntstatus::{Failure, NtStatus, nt_success};
use crate::request::CallingConvention;
use crate::response::SignalResponse;
use crate::wire::{MAX_OPERATIONS, PROTOCOL_VERSION};

/// Keyword of [`DRIVER_LOAD`].
pub const KEYWORD_LOAD: u64 = 0x1;
/// Keyword of [`REQUEST`].
pub const KEYWORD_REQUEST: u64 = 0x2;
/// Keyword of [`REFUSAL`].
pub const KEYWORD_REFUSAL: u64 = 0x4;
/// Keyword of [`COMMAND`] (the console program's provider).
pub const KEYWORD_COMMAND: u64 = 0x1;

/// An ETW level, as TraceLogging numbers them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Level {
    /// 3: something was refused or failed.
    Warning,
    /// 4: what happened, once per request or command.
    Informational,
}

impl Level {
    /// The level's number (`TRACE_LEVEL_*`).
    #[must_use]
    pub const fn value(self) -> u8 {
        match self {
            Self::Warning => 3,
            Self::Informational => 4,
        }
    }

    /// The level's name, as `tracelogging::Level` spells it.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Warning => "Warning",
            Self::Informational => "Informational",
        }
    }
}

/// One field of an event: its name and the `write_event!` field kind that writes it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Field {
    /// The field's name in the trace.
    pub name: &'static str,
    /// The `tracelogging::write_event!` field kind (`u32`, `u32_hex`, `win_ntstatus`, `str8`,
    /// `bool8`, `u16`, `u64`, `u16_slice`, `i32`).
    pub kind: &'static str,
}

const fn field(name: &'static str, kind: &'static str) -> Field {
    Field { name, kind }
}

/// An event: its provider, name, level, keyword and fields, in the order they are written.
///
/// # Examples
///
/// The `Refusal` event as docs/WINDOWS.md (Tracing) describes it:
///
/// ```
/// use hvsignal_proto::trace::{EVENTS, Level, REFUSAL};
///
/// assert_eq!((REFUSAL.provider, REFUSAL.name), ("HvSignal.Driver", "Refusal"));
/// assert_eq!((REFUSAL.level, REFUSAL.level.value()), (Level::Warning, 3));
/// assert_eq!(REFUSAL.keyword, 0x4);
/// let fields: Vec<_> = REFUSAL.fields.iter().map(|f| (f.name, f.kind)).collect();
/// assert_eq!(
///     fields,
///     [
///         ("Ioctl", "u32_hex"),
///         ("Rule", "str8"),
///         ("Detail", "str8"),
///         ("Status", "win_ntstatus"),
///         ("InputLength", "u32"),
///         ("OutputLength", "u32"),
///     ]
/// );
/// let names: Vec<_> = EVENTS.iter().map(|e| e.name).collect();
/// assert_eq!(names, ["DriverLoad", "Request", "Refusal", "Command"]);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct EventSpec {
    /// The provider's name ([`crate::names`]).
    pub provider: &'static str,
    /// The event's name.
    pub name: &'static str,
    /// Its level.
    pub level: Level,
    /// Its keyword.
    pub keyword: u64,
    /// Its fields.
    pub fields: &'static [Field],
}

/// The driver's load event: written once per device add, when it ends (with its status).
pub const DRIVER_LOAD: EventSpec = EventSpec {
    provider: crate::names::DRIVER_TRACE_PROVIDER_NAME,
    name: "DriverLoad",
    level: Level::Informational,
    keyword: KEYWORD_LOAD,
    fields: &[
        field("DriverVersion", "str8"),
        field("ProtocolVersion", "u16"),
        field("AllowRawHypercalls", "bool8"),
        field("HypercallsAllowed", "bool8"),
        field("Instruction", "str8"),
        field("Refusal", "str8"),
        field("RefusalCode", "u32"),
        field("InputPage", "bool8"),
        field("Status", "win_ntstatus"),
        field("Rule", "str8"),
    ],
};

/// The driver's per-request event: written after every device-control request, before it is
/// completed.
pub const REQUEST: EventSpec = EventSpec {
    provider: crate::names::DRIVER_TRACE_PROVIDER_NAME,
    name: "Request",
    level: Level::Informational,
    keyword: KEYWORD_REQUEST,
    fields: &[
        field("Ioctl", "u32_hex"),
        field("Request", "str8"),
        field("InputLength", "u32"),
        field("OutputLength", "u32"),
        field("Operations", "u32"),
        field("Calls", "u32"),
        field("Convention", "str8"),
        field("Raw", "bool8"),
        field("FirstStatus", "u16_slice"),
        field("LastStatus", "u16_slice"),
        field("TotalCycles", "u64"),
        field("Status", "win_ntstatus"),
        field("Information", "u32"),
    ],
};

/// The driver's refusal event: written, besides [`REQUEST`], for every request that fails.
pub const REFUSAL: EventSpec = EventSpec {
    provider: crate::names::DRIVER_TRACE_PROVIDER_NAME,
    name: "Refusal",
    level: Level::Warning,
    keyword: KEYWORD_REFUSAL,
    fields: &[
        field("Ioctl", "u32_hex"),
        field("Rule", "str8"),
        field("Detail", "str8"),
        field("Status", "win_ntstatus"),
        field("InputLength", "u32"),
        field("OutputLength", "u32"),
    ],
};

/// The console program's event: written once per run, when the exit status is known.
pub const COMMAND: EventSpec = EventSpec {
    provider: crate::names::CONSOLE_TRACE_PROVIDER_NAME,
    name: "Command",
    level: Level::Informational,
    keyword: KEYWORD_COMMAND,
    fields: &[
        field("Command", "str8"),
        field("Arguments", "str8"),
        field("Backend", "str8"),
        field("ExitCode", "u32"),
    ],
};

/// Every event, driver's first.
pub const EVENTS: [&EventSpec; 4] = [&DRIVER_LOAD, &REQUEST, &REFUSAL, &COMMAND];

/// The value of a `str8` field that has nothing to say (no refusal, no convention).
pub const NONE: &str = "none";

/// The rule of a failure whose status a WDF call returned, passed through: not one of the
/// driver's own checks, even where its value is also one of theirs (`Failure::from_nt_status`
/// would name the driver's).
pub const FRAMEWORK: &str = "Framework";

/// The detail of a request whose buffers could not be had (`hvsignal_core::IoBuffers` failed):
/// the status is WDF's, passed through, or the driver's own `BufferUnavailable`.
pub const BUFFER_UNAVAILABLE: &str = "BufferUnavailable";

/// [`DRIVER_LOAD`]'s values.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DriverLoad {
    /// The driver's version (its Cargo package version).
    pub driver_version: &'static str,
    /// [`PROTOCOL_VERSION`].
    pub protocol_version: u16,
    /// The `AllowRawHypercalls` policy read in `DriverEntry`.
    pub allow_raw_hypercalls: bool,
    /// The readiness verdict allowed hypercalls.
    pub hypercalls_allowed: bool,
    /// The instruction the verdict chose (`vmcall`, `vmmcall`) or [`NONE`].
    pub instruction: &'static str,
    /// Why hypercalls were refused (`hvcall::Refusal::name`, e.g. `no-hypervisor`) or [`NONE`].
    pub refusal: &'static str,
    /// The refusal's code (the query response's `refusal`), 0 when none.
    pub refusal_code: u32,
    /// The memory-convention input page was set up.
    pub input_page: bool,
    /// How device add ended: `STATUS_SUCCESS`, or the status it failed with.
    pub status: NtStatus,
    /// For a failed device add, the failure's name (`NoInputPage`, `InputPageMisaligned`, ...,
    /// [`Failure::name`]) or [`FRAMEWORK`] for a status a WDF call returned; [`NONE`] on success.
    pub rule: &'static str,
}

impl DriverLoad {
    /// The event for a device whose readiness is `readiness`, under the raw-call policy
    /// `allow_raw_hypercalls`, with (`input_page`) or without its input page; its device add
    /// succeeded unless [`Self::failed`] says otherwise.
    #[must_use]
    pub fn new(
        driver_version: &'static str,
        readiness: &Readiness,
        allow_raw_hypercalls: bool,
        input_page: bool,
    ) -> Self {
        let (instruction, refusal, refusal_code) = match readiness.verdict {
            Ok(instruction) => (instruction.mnemonic(), NONE, 0),
            Err(refusal) => (NONE, refusal.name(), refusal.code()),
        };
        Self {
            driver_version,
            protocol_version: PROTOCOL_VERSION,
            allow_raw_hypercalls,
            hypercalls_allowed: readiness.verdict.is_ok(),
            instruction,
            refusal,
            refusal_code,
            input_page,
            status: crate::ntstatus::STATUS_SUCCESS,
            rule: NONE,
        }
    }

    /// The event for a device add that failed with `status`, for `rule`: the driver's
    /// [`Failure::name`], or [`FRAMEWORK`] when a WDF call returned the status. The caller
    /// names the rule where it knows it: the value alone cannot tell WDF's
    /// `STATUS_INSUFFICIENT_RESOURCES` from the driver's `NoInputPage`.
    #[must_use]
    pub const fn failed(self, status: NtStatus, rule: &'static str) -> Self {
        Self {
            status,
            rule,
            ..self
        }
    }
}

/// [`REQUEST`]'s values. About 300 bytes (the two status arrays), built only when a trace
/// session listens.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RequestEvent {
    /// The IOCTL code.
    pub ioctl: u32,
    /// `query`, `signal` or `unknown`.
    pub request: &'static str,
    /// The request's input length.
    pub input_length: u32,
    /// The request's output length.
    pub output_length: u32,
    /// Operations in the response (0 unless a signal request succeeded).
    pub operations: u32,
    /// Hypercalls issued, all operations together.
    pub calls: u32,
    /// `fast`, `memory`, or [`NONE`] without a signal response.
    pub convention: &'static str,
    /// The response says raw mode.
    pub raw: bool,
    /// Sum of every call's cycles (saturating).
    pub total_cycles: u64,
    /// The completion NTSTATUS.
    pub status: NtStatus,
    /// The completion's byte count.
    pub information: u32,
    first_status: [u16; MAX_OPERATIONS],
    last_status: [u16; MAX_OPERATIONS],
}

/// A length as a `u32` trace field, saturating (a request's lengths are far below it).
fn length(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

impl RequestEvent {
    /// The event for the request with `ioctl` and these buffer lengths, completed with `status`
    /// and `information` bytes; `output` is the output buffer as the core left it (read only
    /// for a successful signal request, up to `information`).
    #[must_use]
    pub fn new(
        ioctl: u32,
        input_length: usize,
        output_length: usize,
        status: NtStatus,
        information: usize,
        output: &[u8],
    ) -> Self {
        let kind = Ioctl::from_code(ioctl);
        let mut event = Self {
            ioctl,
            request: match kind {
                Some(Ioctl::Query) => "query",
                Some(Ioctl::Signal) => "signal",
                None => "unknown",
            },
            input_length: length(input_length),
            output_length: length(output_length),
            operations: 0,
            calls: 0,
            convention: NONE,
            raw: false,
            total_cycles: 0,
            status,
            information: length(information),
            first_status: [0; MAX_OPERATIONS],
            last_status: [0; MAX_OPERATIONS],
        };
        if kind != Some(Ioctl::Signal) || !nt_success(status) {
            return event;
        }
        let Some(Ok(response)) = output.get(..information).map(SignalResponse::decode) else {
            return event;
        };
        event.convention = match response.convention() {
            Some(CallingConvention::Fast) => "fast",
            Some(CallingConvention::Memory) => "memory",
            None => NONE,
        };
        event.raw = response.raw();
        let slots = event
            .first_status
            .iter_mut()
            .zip(event.last_status.iter_mut());
        for (result, (first, last)) in response.operations().zip(slots) {
            *first = result.first_status;
            *last = result.last_status;
            event.operations = event.operations.saturating_add(1);
            event.calls = event.calls.saturating_add(result.calls);
            event.total_cycles = event.total_cycles.saturating_add(result.cycles_sum);
        }
        event
    }

    /// Each operation's first `HV_STATUS`, in request order.
    #[must_use]
    pub fn first_status(&self) -> &[u16] {
        self.first_status
            .get(..self.operations as usize)
            .unwrap_or(&[])
    }

    /// Each operation's last `HV_STATUS`, in request order.
    #[must_use]
    pub fn last_status(&self) -> &[u16] {
        self.last_status
            .get(..self.operations as usize)
            .unwrap_or(&[])
    }
}

/// [`REFUSAL`]'s values.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RefusalEvent {
    /// The IOCTL code.
    pub ioctl: u32,
    /// The rule that refused it: the [`Failure`]'s name (`Malformed`, `RawNotAllowed`, ...;
    /// docs/PROTOCOL.md lists the checks behind each), or [`FRAMEWORK`] for a status that is not
    /// one of the driver's, and for a WDF status when the request's buffers could not be had
    /// (detail [`BUFFER_UNAVAILABLE`]), whatever driver failure shares its value.
    pub rule: &'static str,
    /// The check behind `rule`, as the core reports it (`hvsignal_core::Completion::detail`):
    /// the parse error's rule for a malformed request (`ConnectionIdTooLarge`, `BadMagic`, ...;
    /// [`crate::ParseError::rule`]), the readiness refusal's name when hypercalls are refused
    /// (`isolated`, `guest-os-id-not-set`, ...; `hvcall::Refusal::name`), [`BUFFER_UNAVAILABLE`]
    /// when the request's buffers could not be had; empty otherwise.
    pub detail: &'static str,
    /// The completion NTSTATUS.
    pub status: NtStatus,
    /// The request's input length.
    pub input_length: u32,
    /// The request's output length.
    pub output_length: u32,
}

impl RefusalEvent {
    /// The event for a request completed with `status` (and the core's `detail`), or `None`
    /// when it succeeded.
    ///
    /// # Examples
    ///
    /// ```
    /// use hvsignal_proto::trace::RefusalEvent;
    /// use hvsignal_proto::{IOCTL_HVSIGNAL_SIGNAL, STATUS_INVALID_BUFFER_SIZE, STATUS_SUCCESS};
    ///
    /// let event = RefusalEvent::new(IOCTL_HVSIGNAL_SIGNAL, 55, 152, STATUS_INVALID_BUFFER_SIZE, "SizeMismatch");
    /// assert_eq!(
    ///     event.map(|e| (e.ioctl, e.rule, e.detail, e.input_length, e.output_length)),
    ///     Some((0x0022_A004, "InputSize", "SizeMismatch", 55, 152))
    /// );
    /// // A status that is not one of the driver's own is WDF's.
    /// let unknown = RefusalEvent::new(IOCTL_HVSIGNAL_SIGNAL, 0, 0, 0xC000_0001_u32.cast_signed(), "");
    /// assert_eq!(unknown.map(|e| e.rule), Some("Framework"));
    /// assert_eq!(RefusalEvent::new(IOCTL_HVSIGNAL_SIGNAL, 56, 152, STATUS_SUCCESS, ""), None);
    /// ```
    #[must_use]
    pub fn new(
        ioctl: u32,
        input_length: usize,
        output_length: usize,
        status: NtStatus,
        detail: &'static str,
    ) -> Option<Self> {
        if nt_success(status) {
            return None;
        }
        Some(Self {
            ioctl,
            // A status WDF returned for the buffers is the framework's, whatever the driver's
            // failure of the same value (the driver's own BufferUnavailable keeps its name).
            rule: match Failure::from_nt_status(status) {
                Some(Failure::BufferUnavailable) => Failure::BufferUnavailable.name(),
                _ if detail == BUFFER_UNAVAILABLE => FRAMEWORK,
                failure => failure.map_or(FRAMEWORK, Failure::name),
            },
            detail,
            status,
            input_length: length(input_length),
            output_length: length(output_length),
        })
    }
}

/// [`COMMAND`]'s values.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct CommandEvent<'a> {
    /// The command's name (`signal`, `info`, ...), or [`NONE`] when the command line names none.
    pub command: &'a str,
    /// The arguments after the program's name, joined by spaces and cut to
    /// [`ARGUMENTS_SUMMARY_MAX`] bytes (at a character boundary, ending in `...` when cut).
    pub arguments: &'a str,
    /// `device` or `model`.
    pub backend: &'a str,
    /// The exit status.
    pub exit_code: u32,
}

/// The longest [`CommandEvent::arguments`] summary, in bytes.
pub const ARGUMENTS_SUMMARY_MAX: usize = 256;

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::ioctl::{IOCTL_HVSIGNAL_QUERY, IOCTL_HVSIGNAL_SIGNAL};
    use crate::ntstatus::{STATUS_ACCESS_DENIED, STATUS_SUCCESS};
    use crate::wire::{
        KIND_SIGNAL_RESPONSE, MessageHeader, OperationResult, SignalResponseHeader,
        signal_response_size,
    };
    use hvcall::{HypercallInstruction, Refusal};
    use std::collections::BTreeSet;
    use std::vec::Vec;
    use zerocopy::IntoBytes;

    fn readiness(verdict: Result<HypercallInstruction, Refusal>) -> Readiness {
        Readiness {
            leaf0: hvcall::CpuidResult::default(),
            leaf1_ecx: 0,
            cpuid: hvcall::HypervisorCpuid::default(),
            isolation: None,
            guest_os_id: None,
            hypercall_msr: None,
            verdict,
        }
    }

    #[test]
    fn load_event_says_the_verdict_and_why() {
        let allowed = DriverLoad::new(
            "0.1.0",
            &readiness(Ok(HypercallInstruction::Vmcall)),
            false,
            true,
        );
        assert_eq!(
            allowed,
            DriverLoad {
                driver_version: "0.1.0",
                protocol_version: PROTOCOL_VERSION,
                allow_raw_hypercalls: false,
                hypercalls_allowed: true,
                instruction: "vmcall",
                refusal: "none",
                refusal_code: 0,
                input_page: true,
                status: STATUS_SUCCESS,
                rule: "none",
            }
        );
        let refused = DriverLoad::new("0.1.0", &readiness(Err(Refusal::NoHypervisor)), true, false);
        assert!(!refused.hypercalls_allowed);
        assert!(refused.allow_raw_hypercalls);
        assert_eq!(refused.instruction, "none");
        assert_eq!(refused.refusal, "no-hypervisor");
        assert_eq!(refused.refusal_code, 1);
    }

    #[test]
    fn load_event_says_how_device_add_ended() {
        let load = DriverLoad::new(
            "0.1.0",
            &readiness(Ok(HypercallInstruction::Vmmcall)),
            false,
            false,
        );
        assert_eq!((load.status, load.rule), (STATUS_SUCCESS, "none"));
        // The caller names the rule: WDF's STATUS_INSUFFICIENT_RESOURCES (0xC000009A) has the
        // value of the driver's NoInputPage, and stays the framework's.
        for (status, rule) in [
            (Failure::NoInputPage.nt_status(), "NoInputPage"),
            (Failure::InputPageAddress.nt_status(), "InputPageAddress"),
            (0xC000_009A_u32.cast_signed(), "Framework"),
        ] {
            let failed = load.failed(status, rule);
            assert_eq!((failed.status, failed.rule), (status, rule));
            assert_eq!(
                DriverLoad {
                    status: STATUS_SUCCESS,
                    rule: "none",
                    ..failed
                },
                load
            );
        }
    }

    #[test]
    fn a_framework_buffer_status_is_not_named_as_the_drivers_failure() {
        // WDF's STATUS_BUFFER_TOO_SMALL for the buffers has the value of OutputTooSmall.
        let event = RefusalEvent::new(
            IOCTL_HVSIGNAL_SIGNAL,
            56,
            8,
            Failure::OutputTooSmall.nt_status(),
            "BufferUnavailable",
        );
        assert_eq!(
            event.map(|e| (e.rule, e.detail)),
            Some(("Framework", "BufferUnavailable"))
        );
        // The driver's own refusal of a buffer WDF returned null or short keeps its name.
        let event = RefusalEvent::new(
            IOCTL_HVSIGNAL_SIGNAL,
            56,
            8,
            Failure::BufferUnavailable.nt_status(),
            "BufferUnavailable",
        );
        assert_eq!(
            event.map(|e| (e.rule, e.detail)),
            Some(("BufferUnavailable", "BufferUnavailable"))
        );
    }

    fn response(convention: u32, flags: u32, results: &[OperationResult]) -> Vec<u8> {
        let count = results.len();
        // One histogram entry per operation: all its calls in bucket 100.
        let size = signal_response_size(count, count);
        let header = SignalResponseHeader {
            header: MessageHeader::new(KIND_SIGNAL_RESPONSE, u32::try_from(size).unwrap()),
            convention,
            flags,
            operation_count: u32::try_from(count).unwrap(),
            timer_overhead_cycles: 7,
        };
        let mut bytes = header.as_bytes().to_vec();
        for result in results {
            bytes.extend_from_slice(result.as_bytes());
        }
        for result in results {
            bytes.extend_from_slice(&(100u32 << 16 | result.calls).to_le_bytes());
        }
        assert_eq!(bytes.len(), size);
        bytes
    }

    fn result(calls: u32, first: u16, last: u16, cycles_sum: u64) -> OperationResult {
        OperationResult {
            calls,
            successes: calls,
            first_status: first,
            last_status: last,
            cycles_sum,
            histogram_entries: 1,
            ..OperationResult::default()
        }
    }

    #[test]
    fn request_event_sums_a_signal_response() {
        let bytes = response(1, 1, &[result(3, 0, 0, 300), result(2, 18, 0x12, 50)]);
        // The output buffer is longer than the response; only `information` bytes count.
        let mut output = bytes.clone();
        output.extend_from_slice(&[0xAA; 16]);
        let event = RequestEvent::new(
            IOCTL_HVSIGNAL_SIGNAL,
            80,
            output.len(),
            STATUS_SUCCESS,
            bytes.len(),
            &output,
        );
        assert_eq!(event.request, "signal");
        assert_eq!(event.ioctl, IOCTL_HVSIGNAL_SIGNAL);
        assert_eq!(event.input_length, 80);
        assert_eq!(event.output_length, u32::try_from(output.len()).unwrap());
        assert_eq!(event.operations, 2);
        assert_eq!(event.calls, 5);
        assert_eq!(event.convention, "memory");
        assert!(event.raw);
        assert_eq!(event.total_cycles, 350);
        assert_eq!(event.first_status(), &[0, 18]);
        assert_eq!(event.last_status(), &[0, 0x12]);
        assert_eq!(event.status, 0);
        assert_eq!(event.information, u32::try_from(bytes.len()).unwrap());
    }

    #[test]
    fn request_event_of_a_failure_or_query_has_no_operations() {
        let bytes = response(0, 0, &[result(1, 0, 0, 10)]);
        let failed = RequestEvent::new(
            IOCTL_HVSIGNAL_SIGNAL,
            56,
            bytes.len(),
            STATUS_ACCESS_DENIED,
            0,
            &bytes,
        );
        assert_eq!(failed.operations, 0);
        assert_eq!(failed.first_status(), &[] as &[u16]);
        assert_eq!(failed.convention, "none");
        let query = RequestEvent::new(IOCTL_HVSIGNAL_QUERY, 0, 224, STATUS_SUCCESS, 224, &[0; 224]);
        assert_eq!(query.request, "query");
        assert_eq!(query.operations, 0);
        assert_eq!(query.information, 224);
        let unknown = RequestEvent::new(0x1234, 0, 0, STATUS_SUCCESS, 0, &[]);
        assert_eq!(unknown.request, "unknown");
        // A response the core never writes (garbage, or longer than the buffer) is not read.
        let garbage = RequestEvent::new(IOCTL_HVSIGNAL_SIGNAL, 56, 8, STATUS_SUCCESS, 200, &[1; 8]);
        assert_eq!(garbage.operations, 0);
        assert_eq!(garbage.convention, "none");
    }

    #[test]
    fn refusal_event_names_the_rule() {
        assert_eq!(
            RefusalEvent::new(IOCTL_HVSIGNAL_SIGNAL, 56, 160, STATUS_SUCCESS, ""),
            None
        );
        for failure in Failure::ALL {
            let event = RefusalEvent::new(
                IOCTL_HVSIGNAL_SIGNAL,
                56,
                160,
                failure.nt_status(),
                "BadMagic",
            );
            assert_eq!(
                event,
                Some(RefusalEvent {
                    ioctl: IOCTL_HVSIGNAL_SIGNAL,
                    rule: failure.name(),
                    detail: "BadMagic",
                    status: failure.nt_status(),
                    input_length: 56,
                    output_length: 160,
                })
            );
        }
        let framework = RefusalEvent::new(IOCTL_HVSIGNAL_QUERY, 0, 0, -1_073_741_823, "");
        assert_eq!(framework.map(|e| e.rule), Some("Framework"));
    }

    #[test]
    fn events_have_distinct_unique_fields_and_known_kinds() {
        let kinds: BTreeSet<&str> = [
            "u16",
            "u32",
            "u64",
            "i32",
            "u32_hex",
            "win_ntstatus",
            "str8",
            "bool8",
            "u16_slice",
        ]
        .into_iter()
        .collect();
        let names: BTreeSet<_> = EVENTS.iter().map(|e| (e.provider, e.name)).collect();
        assert_eq!(names.len(), EVENTS.len());
        for event in EVENTS {
            let fields: BTreeSet<_> = event.fields.iter().map(|f| f.name).collect();
            assert_eq!(fields.len(), event.fields.len(), "{}", event.name);
            assert!(event.fields.iter().all(|f| kinds.contains(f.kind)));
        }
        assert_eq!(Level::Warning.value(), 3);
        assert_eq!(Level::Informational.value(), 4);
        // The driver's keywords are distinct bits, so a session can take any subset.
        assert_eq!(KEYWORD_LOAD | KEYWORD_REQUEST | KEYWORD_REFUSAL, 0x7);
    }
}
