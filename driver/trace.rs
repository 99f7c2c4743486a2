//! The driver's TraceLogging (ETW) provider `HvSignal.Driver` and the write calls of its three
//! events. What each event says, and every field's value, is computed in
//! `hvsignal_proto::trace` (tested on every host); this file only registers the provider and
//! hands those values to `tracelogging::write_event!` (kernel ETW: `EtwRegister`,
//! `EtwWriteTransfer`, `EtwUnregister`, with the crate's `kernel_mode` feature).
//!
//! Uses nothing from WDF, so `tests/driver_trace.rs` compiles this file on every host (where the
//! `tracelogging` crate turns every call into a no-op) and checks its field lists against the
//! portable definitions.
//!
//! Lifetime: [`register`] runs first thing in `DriverEntry`; [`unregister`] runs in
//! `EvtDriverUnload` and on every `DriverEntry` failure path, so no ETW enable callback into this
//! image outlives it.

use hvsignal_proto::trace::{
    DriverLoad, KEYWORD_LOAD, KEYWORD_REFUSAL, KEYWORD_REQUEST, RefusalEvent, RequestEvent,
};
use tracelogging as tlg;

tlg::define_provider!(PROVIDER, "HvSignal.Driver");

/// The provider's name, as registered (tests/driver_trace.rs compares it with
/// `hvsignal_proto::names`). Test-only: the driver never asks, and `Provider::name` unwraps.
#[cfg(test)]
pub fn provider_name() -> &'static str {
    PROVIDER.name()
}

/// The provider's GUID, as registered (the ETW name hash of its name). Test-only, as
/// [`provider_name`].
#[cfg(test)]
pub fn provider_id() -> tlg::Guid {
    *PROVIDER.id()
}

/// Registers the provider with ETW. A failed registration leaves it unregistered: every event
/// is then a no-op, and the driver works as without tracing.
///
/// # Safety
/// Called once per image load, before any other function here, on one thread (`DriverEntry`;
/// `tracelogging::Provider::register` panics when the provider is already registered or a
/// concurrent register/unregister overlaps), and [`unregister`] is called before the driver
/// image unloads (the provider's enable callback is code in this image).
pub unsafe fn register() {
    // SAFETY: the caller guarantees the single registration from DriverEntry and the
    // unregistration before unload; PROVIDER is a static, so it never moves while registered.
    let _status = unsafe { PROVIDER.register() };
}

/// Unregisters the provider; does nothing when it is not registered (so a second call, or a
/// call after a failed registration, is harmless).
pub fn unregister() {
    let _status = PROVIDER.unregister();
}

/// True when a trace session wants any per-request event: the one branch tracing costs a
/// request while no session listens. (`write_event!` checks its own event's level and keyword
/// again.)
#[inline]
pub fn request_events_enabled() -> bool {
    PROVIDER.enabled(tlg::Level::Warning, KEYWORD_REQUEST | KEYWORD_REFUSAL)
}

/// Writes `DriverLoad`.
pub fn write_load(event: &DriverLoad) {
    tlg::write_event!(
        PROVIDER,
        "DriverLoad",
        level(Informational),
        keyword(KEYWORD_LOAD),
        str8("DriverVersion", event.driver_version),
        u16("ProtocolVersion", &event.protocol_version),
        bool8("AllowRawHypercalls", &event.allow_raw_hypercalls),
        bool8("HypercallsAllowed", &event.hypercalls_allowed),
        str8("Instruction", event.instruction),
        str8("Refusal", event.refusal),
        u32("RefusalCode", &event.refusal_code),
        bool8("InputPage", &event.input_page),
        win_ntstatus("Status", &event.status),
        str8("Rule", event.rule),
    );
}

/// Writes `Request`.
pub fn write_request(event: &RequestEvent) {
    tlg::write_event!(
        PROVIDER,
        "Request",
        level(Informational),
        keyword(KEYWORD_REQUEST),
        u32_hex("Ioctl", &event.ioctl),
        str8("Request", event.request),
        u32("InputLength", &event.input_length),
        u32("OutputLength", &event.output_length),
        u32("Operations", &event.operations),
        u32("Calls", &event.calls),
        str8("Convention", event.convention),
        bool8("Raw", &event.raw),
        u16_slice("FirstStatus", event.first_status()),
        u16_slice("LastStatus", event.last_status()),
        u64("TotalCycles", &event.total_cycles),
        win_ntstatus("Status", &event.status),
        u32("Information", &event.information),
    );
}

/// Writes `Refusal`.
pub fn write_refusal(event: &RefusalEvent) {
    tlg::write_event!(
        PROVIDER,
        "Refusal",
        level(Warning),
        keyword(KEYWORD_REFUSAL),
        u32_hex("Ioctl", &event.ioctl),
        str8("Rule", event.rule),
        str8("Detail", event.detail),
        win_ntstatus("Status", &event.status),
        u32("InputLength", &event.input_length),
        u32("OutputLength", &event.output_length),
    );
}
