//! The `xen` profile: Xen's `hvm_hypercall` and `viridian_hypercall` (`xen-project/xen
//! xen/arch/x86/hvm/hypercall.c`, `xen/arch/x86/hvm/viridian/viridian.c`).

use hvcall::HvStatus;

use super::decode::DecodedCall;
use super::{Decision, Stage, reject};

/// RAX bit 31: Xen (and KVM's Xen emulation) take the call as a Hyper-V call only with it set.
const VIRIDIAN_RAX_BIT: u64 = 0x8000_0000;
/// RAX after a Xen hypercall the model does not implement: `-ENOSYS` (-38).
pub const XEN_ENOSYS: u64 = (-38i64).cast_unsigned();
/// [`XEN_ENOSYS`]'s low 16 bits, the status a Hyper-V caller reads from it.
#[allow(
    clippy::cast_possible_truncation,
    reason = "the low 16 bits on purpose"
)]
const XEN_ENOSYS_STATUS: u16 = XEN_ENOSYS as u16;

/// With RAX bit 31 clear the call is the Xen hypercall numbered by RAX, which the model answers
/// with `-ENOSYS` (a real Xen runs whatever hypercall that number names, with RDI, RSI, RDX, R10
/// and R8 as arguments); with it set, viridian dispatches on the call code, and
/// `HvCallSignalEvent` is not among the codes it implements, so every SignalEvent answers
/// INVALID_HYPERCALL_CODE whatever its input. No control-word bit is checked first.
pub(super) fn decide(call: &DecodedCall<'_>) -> Decision {
    if call.rax & VIRIDIAN_RAX_BIT == 0 {
        return Decision {
            xen_hypercall: true,
            ..reject(HvStatus::from_code(XEN_ENOSYS_STATUS), Stage::Decode)
        };
    }
    reject(HvStatus::INVALID_HYPERCALL_CODE, Stage::Decode)
}
