//! The `tlfs` profile: Hyper-V as the TLFS describes it, steps (1)–(11) of docs/MODEL.md
//! (Profiles and their check order).

use hvcall::HvStatus as S;

use super::decode::{DecodedCall, Fetch, Input};
use super::{Decision, Effect, Hypervisor, Stage, accept, reject};
use crate::world::Blocked;

/// The `tlfs` decision for one decoded call.
pub(super) fn decide(hv: &Hypervisor, call: &DecodedCall<'_>) -> Decision {
    if !call.is_signal_event() {
        return reject(S::INVALID_HYPERCALL_CODE, Stage::Decode);
    }
    if call.has_rep_or_header() || call.control.reserved_bits() != 0 {
        return reject(S::INVALID_HYPERCALL_INPUT, Stage::Decode);
    }
    let input = match call.input {
        Input::Register(input) | Input::Memory(Fetch::Read(input)) => input,
        Input::Memory(Fetch::CrossesPage | Fetch::Misaligned | Fetch::Unbacked) => {
            return reject(S::INVALID_ALIGNMENT, Stage::Decode);
        }
    };
    if !hv.world().privileges().signal_events() {
        return reject(S::ACCESS_DENIED, Stage::Decode);
    }
    if !input.is_well_formed() {
        return reject(S::INVALID_HYPERCALL_INPUT, Stage::Decode);
    }
    let Some(route) = hv.route(input.connection_id) else {
        return reject(S::INVALID_CONNECTION_ID, Stage::Lookup);
    };
    if !route.live {
        return reject(S::INVALID_PORT_ID, Stage::Lookup);
    }
    if input.flag_number >= route.flag_count {
        return reject(S::INVALID_PARAMETER, Stage::Lookup);
    }
    match route.target {
        Ok(slot) => accept(Effect::Deliver {
            slot,
            sint: route.sint,
            flag: u32::from(route.base_flag).saturating_add(u32::from(input.flag_number)),
        }),
        Err(Blocked::SynicDisabled | Blocked::SiefDisabled | Blocked::SintMasked) => {
            reject(S::INVALID_SYNIC_STATE, Stage::Lookup)
        }
        // VpMissing, NoVpAvailable (PortNotLive and FlagOutOfRange are checked before).
        Err(_) => reject(S::INVALID_VP_INDEX, Stage::Lookup),
    }
}
