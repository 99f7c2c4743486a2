//! The `kvm` profile: Linux `kvm_hv_hypercall` + `kvm_hvcall_signal_event`, falling through to
//! QEMU (docs/HYPERCALL.md, KVM).

use hvcall::{HvStatus as S, HypercallControl};

use super::decode::{DecodedCall, Fetch, Input};
use super::{Decision, Hypervisor, Stage, accept, best_effort, qemu, reject};

/// Bits 31:27, 47:44 and 63:60 of the control word: what KVM rejects (it counts the Is-Nested
/// bit 31 as reserved; docs/HYPERCALL.md, Control word and KVM).
pub const KVM_RESERVED_CONTROL_MASK: u64 =
    HypercallControl::RESERVED_MASK | HypercallControl::NESTED_BIT;

/// The `kvm` decision for one decoded call.
pub(super) fn decide(hv: &Hypervisor, call: &DecodedCall<'_>) -> Decision {
    let world = hv.world();
    let is_signal = call.is_signal_event();
    if world.hypervisor().kvm_enforce_cpuid && is_signal && !world.privileges().signal_events() {
        return reject(S::ACCESS_DENIED, Stage::Decode);
    }
    if call.control.raw() & KVM_RESERVED_CONTROL_MASK != 0 {
        return reject(S::INVALID_HYPERCALL_INPUT, Stage::Decode);
    }
    if !is_signal {
        return reject(S::INVALID_HYPERCALL_CODE, Stage::Decode);
    }
    if call.has_rep_or_header() {
        return reject(S::INVALID_HYPERCALL_INPUT, Stage::Decode);
    }
    let input = match call.input {
        Input::Register(input) | Input::Memory(Fetch::Read(input)) => input,
        // Misaligned, crossing a page, or a kvm_vcpu_read_guest failure: all INVALID_ALIGNMENT.
        Input::Memory(Fetch::CrossesPage | Fetch::Misaligned | Fetch::Unbacked) => {
            return reject(S::INVALID_ALIGNMENT, Stage::Decode);
        }
    };
    // In-kernel handler: flag ≠ 0 and an unregistered id both mean INVALID_PORT_ID, which
    // falls through to the user-space exit.
    if input.flag_number == 0 {
        if !input.is_well_formed() {
            return reject(S::INVALID_HYPERCALL_INPUT, Stage::Decode);
        }
        if let Some(route) = hv.registered_event_port(input.connection_id) {
            return accept(best_effort(route, 0));
        }
    }
    if !world.caller().synic {
        return reject(S::INVALID_HYPERCALL_INPUT, Stage::Lookup);
    }
    // The exit to user space carries params[0] = the 8 input bytes KVM read in place of
    // the GPA (`kvm_hvcall_signal_event` overwrites `hc->ingpa`), with the fast bit still
    // clear, so QEMU takes the connection id as a GPA and loads from it
    // (`kvm_slow_input_as_gpa`, docs/MODEL.md).
    let exit_param = if call.control.fast() || !world.hypervisor().kvm_slow_input_as_gpa {
        Some(input)
    } else {
        qemu::load(call.memory.fetch(input.to_rdx()))
    };
    let mut d = match exit_param {
        Some(value) => qemu::signal_event(hv, value),
        None => reject(S::INVALID_ALIGNMENT, Stage::Decode),
    };
    d.user_exit = true;
    if d.stage == Stage::Decode {
        d.stage = Stage::Lookup;
    }
    d
}
