//! The `openvmm` profile: OpenVMM's `InnerDispatcher::dispatch_inner` and
//! `SynicPortMap::handle_signal_event` (docs/HYPERCALL.md, OpenVMM).

use hvcall::HvStatus as S;

use super::decode::{DecodedCall, Fetch, Input};
use super::{Decision, Hypervisor, Stage, accept, best_effort, reject};

/// The `openvmm` decision for one decoded call.
pub(super) fn decide(hv: &Hypervisor, call: &DecodedCall<'_>) -> Decision {
    if !call.is_signal_event() {
        return reject(S::INVALID_HYPERCALL_CODE, Stage::Decode);
    }
    if call.has_rep_or_header() {
        return reject(S::INVALID_HYPERCALL_INPUT, Stage::Decode);
    }
    let input = match call.input {
        Input::Register(input) | Input::Memory(Fetch::Read(input)) => input,
        // The page check comes before the alignment check; unbacked memory is a failed read.
        Input::Memory(Fetch::CrossesPage | Fetch::Unbacked) => {
            return reject(S::INVALID_HYPERCALL_INPUT, Stage::Decode);
        }
        Input::Memory(Fetch::Misaligned) => return reject(S::INVALID_ALIGNMENT, Stage::Decode),
    };
    let Some(route) = hv.registered_event_port(input.connection_id) else {
        return reject(S::INVALID_CONNECTION_ID, Stage::Lookup);
    };
    if hv.world().caller().vtl < route.min_vtl {
        return reject(S::OPERATION_DENIED, Stage::Lookup);
    }
    accept(best_effort(route, u32::from(input.flag_number)))
}
