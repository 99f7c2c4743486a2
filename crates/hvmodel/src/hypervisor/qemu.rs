//! The `qemu` profile: QEMU's `kvm_hv_handle_exit` (reads only the call code and the fast bit)
//! and `hyperv_hcall_signal_event` (docs/HYPERCALL.md, QEMU). The `kvm` profile ends here too
//! when KVM hands a call to user space.

use hvcall::{HvStatus as S, SignalEventInput};

use super::decode::{DecodedCall, Fetch, Input};
use super::{Decision, Hypervisor, Stage, accept, best_effort, reject};

/// The `qemu` decision for one decoded call.
pub(super) fn decide(hv: &Hypervisor, call: &DecodedCall<'_>) -> Decision {
    if !call.is_signal_event() {
        return reject(S::INVALID_HYPERCALL_CODE, Stage::Decode);
    }
    let input = match call.input {
        Input::Register(input) => input,
        Input::Memory(fetch) => match load(fetch) {
            Some(input) => input,
            None => return reject(S::INVALID_ALIGNMENT, Stage::Decode),
        },
    };
    signal_event(hv, input)
}

/// QEMU's memory-convention load (`qemu/qemu hw/hyperv/hyperv.c` `hyperv_hcall_signal_event`):
/// a GPA that is not 8-byte aligned is INVALID_ALIGNMENT (`None`); otherwise an 8-byte physical
/// load, which cannot fail: memory outside the caller's page reads as 0, as unassigned memory
/// does (`qemu/qemu system/memory.c`, unassigned accesses read 0).
pub(super) fn load(fetch: Fetch) -> Option<SignalEventInput> {
    match fetch {
        Fetch::CrossesPage | Fetch::Misaligned => None,
        Fetch::Unbacked => Some(SignalEventInput::default()),
        Fetch::Read(input) => Some(input),
    }
}

/// `hyperv_hcall_signal_event` once it has the 8 input bytes: a flag number is INVALID_PORT_ID
/// (QEMU supports flag 0 only), any other bit outside the 24-bit id INVALID_HYPERCALL_INPUT.
pub(super) fn signal_event(hv: &Hypervisor, input: SignalEventInput) -> Decision {
    if input.flag_number != 0 {
        return reject(S::INVALID_PORT_ID, Stage::Decode);
    }
    if !input.is_well_formed() {
        return reject(S::INVALID_HYPERCALL_INPUT, Stage::Decode);
    }
    match hv.registered_event_port(input.connection_id) {
        Some(route) => accept(best_effort(route, 0)),
        None => reject(S::INVALID_CONNECTION_ID, Stage::Lookup),
    }
}
