//! The `xen` profile: what the defined RAX decides. Xen runs a VMCALL as a Hyper-V (viridian)
//! call only when RAX bit 31 is set (`xen-project/xen xen/arch/x86/hvm/hypercall.c`
//! `hvm_hypercall`); otherwise RAX numbers a Xen hypercall. Viridian does not implement
//! `HvCallSignalEvent` (`xen/arch/x86/hvm/viridian/viridian.c`, `viridian_hypercall`'s
//! default case), so every SignalEvent answers INVALID_HYPERCALL_CODE.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    reason = "test code: a panic is a failed test"
)]

mod common;

use common::{FAST, SLOW, rdx};
use hvcall::{HYPERCALL_RAX, HvStatus, HypercallPrimitive};
use hvmodel::{Profile, XEN_ENOSYS};

#[test]
fn rax_bit_31_makes_the_call_a_hyper_v_call() {
    let hv = common::hv("xen.toml", None);
    assert_eq!(hv.world().profile(), Profile::Xen);
    let input = rdx(0x2001, 0, 0);
    // Garbage or zero RAX (what an undefined RAX could be): a Xen hypercall, -ENOSYS here.
    for rax in [0u64, 1, 0x5D, 0x7FFF_FFFF, 0xFFFF_FFFF_0000_0000] {
        let outcome = hv.hypercall_with_rax(rax, FAST, input, 0, None);
        assert!(outcome.xen_hypercall, "{rax:#x}");
        assert_eq!(outcome.rax(), XEN_ENOSYS);
        assert_eq!(XEN_ENOSYS, 0xFFFF_FFFF_FFFF_FFDA);
    }
    // Bit 31 set, as hvsignal issues every call: viridian, INVALID_HYPERCALL_CODE.
    for rax in [HYPERCALL_RAX, 0x8000_005D, u64::MAX] {
        let outcome = hv.hypercall_with_rax(rax, FAST, input, 0, None);
        assert!(!outcome.xen_hypercall);
        assert_eq!(outcome.status, HvStatus::INVALID_HYPERCALL_CODE);
        assert_eq!(outcome.rax(), 0x0002);
    }
    assert_eq!(hv.sief_flag(1, 0, 2, 0), Some(false), "nothing delivered");
    assert_eq!(hv.faults(), 0);
}

#[test]
fn the_primitive_always_sets_bit_31_and_viridian_checks_nothing_else() {
    let hv = common::hv("xen.toml", None);
    let mut caller = hv.primitive();
    // Any control word, fast or slow, well-formed or not: viridian dispatches on the call code
    // alone and has no SignalEvent.
    for (rcx, rdx) in [
        (FAST, rdx(0x2001, 0, 0)),
        (FAST | 1 << 60 | 5 << 32, rdx(0xFF00_0001, 99, 7)),
        (SLOW, caller.input_page_gpa() + 1),
    ] {
        assert_eq!(
            common::status(caller.hypercall(rcx, rdx, 0)),
            HvStatus::INVALID_HYPERCALL_CODE
        );
        assert!(!caller.last_outcome().unwrap().xen_hypercall);
    }
}

#[test]
fn the_other_profiles_ignore_rax() {
    for profile in common::SIGNAL_EVENT_PROFILES {
        let hv = common::hv("default.toml", Some(profile));
        let with_bit = hv.hypercall_with_rax(HYPERCALL_RAX, FAST, rdx(0x2001, 1, 0), 0, None);
        let without = hv.hypercall_with_rax(0, FAST, rdx(0x2001, 1, 0), 0, None);
        assert_eq!(with_bit.status, without.status, "{profile}");
        assert!(!without.xen_hypercall);
    }
}
