//! The memory calling convention: same answers and effects as the fast one for any input in the
//! caller's input page; misaligned, page-crossing and unbacked GPAs per profile.

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
use hvcall::{HvStatus, HypercallPrimitive, InputPage, PAGE_SIZE};
use hvmodel::{Hypervisor, INPUT_PAGE_BASE_GPA, Profile};

/// Inputs covering every outcome of the shipped worlds.
const INPUTS: &[(&str, u32, u16, u16)] = &[
    ("default.toml", 0x2001, 0, 0),
    ("default.toml", 0x2004, 15, 0),
    ("default.toml", 0x2002, 16, 0),
    ("default.toml", 0x2001, 0, 7),
    ("default.toml", 0x0100_2001, 0, 0),
    ("default.toml", 0x9999, 0, 0),
    ("access-denied.toml", 0x2001, 0, 0),
    ("invalid-port-id.toml", 0x3001, 0, 0),
    ("invalid-port-id.toml", 0x3003, 0, 0),
    ("invalid-parameter.toml", 0x4001, 4, 0),
    ("invalid-vp-index.toml", 0x5002, 0, 0),
    ("invalid-vp-index.toml", 0x5004, 0, 0),
    ("invalid-synic-state.toml", 0x6003, 0, 0),
    ("openvmm.toml", 0x2002, 0, 0),
];

#[test]
fn memory_convention_matches_fast_for_valid_input_in_every_profile() {
    for &(file, conn, flag, rsvd) in INPUTS {
        for profile in common::SIGNAL_EVENT_PROFILES {
            let fast_hv = common::hv(file, Some(profile));
            let fast_outcome = fast_hv.hypercall_detailed(FAST, rdx(conn, flag, rsvd), 0, None);
            if fast_outcome.user_exit {
                // KVM's slow-mode exit to user space differs on purpose: see
                // `kvm_slow_calls_that_exit_to_user_space_hand_qemu_the_input_as_a_gpa`.
                continue;
            }

            let slow_hv = common::hv(file, Some(profile));
            let mut caller = slow_hv.primitive();
            let gpa = caller.input_page_gpa();
            for offset in [0usize, 8, 2048, PAGE_SIZE - 8] {
                caller.input_page().unwrap().bytes[offset..offset + 8]
                    .copy_from_slice(&rdx(conn, flag, rsvd).to_le_bytes());
                let rax = caller.hypercall(SLOW, gpa + offset as u64, 0);
                let slow_outcome = caller.last_outcome().unwrap();
                assert_eq!(
                    common::status(rax),
                    fast_outcome.status,
                    "{file} {profile} {conn:#x}/{flag}/{rsvd} at {offset}"
                );
                assert_eq!(
                    slow_outcome.signal.map(|s| s.flag),
                    fast_outcome.signal.map(|s| s.flag)
                );
                assert_eq!(slow_outcome.dropped, fast_outcome.dropped);
            }
            assert_eq!(
                slow_hv.total_interrupts(),
                fast_hv.total_interrupts(),
                "{file} {profile}"
            );
        }
    }
}

#[test]
fn input_bytes_are_the_little_endian_hv_input_signal_event() {
    // ConnectionId 0x2002 at bytes 0-3, FlagNumber 3 at bytes 4-5, RsvdZ 0 at bytes 6-7.
    let hv = common::hv("default.toml", None);
    let mut caller = hv.primitive();
    let gpa = caller.input_page_gpa();
    caller.input_page().unwrap().bytes[64..72]
        .copy_from_slice(&[0x02, 0x20, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00]);
    assert_eq!(
        common::status(caller.hypercall(SLOW, gpa + 64, 0)),
        HvStatus::SUCCESS
    );
    // Port 2: base flag 16 → absolute flag 19 → slot byte 2, bit 3.
    assert_eq!(hv.sief_slot(1, 0, 2).unwrap()[2], 1 << 3);
}

#[test]
fn misaligned_gpa_is_invalid_alignment() {
    for profile in common::SIGNAL_EVENT_PROFILES {
        let hv = common::hv("default.toml", Some(profile));
        let mut caller = hv.primitive();
        let gpa = caller.input_page_gpa();
        caller.input_page().unwrap().bytes.fill(0);
        for offset in [1u64, 2, 3, 5, 6, 7, 9, 4087] {
            assert_eq!(
                common::status(caller.hypercall(SLOW, gpa + offset, 0)),
                HvStatus::INVALID_ALIGNMENT,
                "{profile} +{offset}"
            );
        }
    }
}

#[test]
fn input_crossing_the_page_is_invalid_alignment_except_openvmm() {
    for profile in common::SIGNAL_EVENT_PROFILES {
        let hv = common::hv("default.toml", Some(profile));
        let mut caller = hv.primitive();
        let gpa = caller.input_page_gpa();
        let expected = if profile == Profile::Openvmm {
            HvStatus::INVALID_HYPERCALL_INPUT
        } else {
            HvStatus::INVALID_ALIGNMENT
        };
        for offset in 4089u64..4096 {
            assert_eq!(
                common::status(caller.hypercall(SLOW, gpa + offset, 0)),
                expected,
                "{profile} +{offset}"
            );
        }
    }
}

#[test]
fn aligned_gpa_outside_the_input_page_is_not_guest_memory() {
    // TLFS: GPA outside the GPA space → INVALID_ALIGNMENT; KVM maps read failure to
    // INVALID_ALIGNMENT; QEMU's load cannot fail: unassigned memory reads as 0, looked up as
    // connection 0 → INVALID_CONNECTION_ID; OpenVMM: guest-memory read error →
    // INVALID_HYPERCALL_INPUT.
    for profile in common::SIGNAL_EVENT_PROFILES {
        let hv = common::hv("default.toml", Some(profile));
        let mut caller = hv.primitive();
        let gpa = caller.input_page_gpa();
        let expected = match profile {
            Profile::Openvmm => HvStatus::INVALID_HYPERCALL_INPUT,
            Profile::Qemu => HvStatus::INVALID_CONNECTION_ID,
            _ => HvStatus::INVALID_ALIGNMENT,
        };
        for outside in [
            0,
            gpa - 8,
            gpa + 4096,
            gpa + 0x10_0000,
            1 << 52,
            u64::MAX - 7,
        ] {
            assert_eq!(
                common::status(caller.hypercall(SLOW, outside, 0)),
                expected,
                "{profile} {outside:#x}"
            );
        }
        // Without any page the hypervisor has no memory at all.
        assert_eq!(
            common::status(hv.hypercall(SLOW, gpa, 0, None)),
            expected,
            "{profile}"
        );
    }
}

#[test]
fn r8_is_ignored_by_signal_event() {
    for profile in common::SIGNAL_EVENT_PROFILES {
        let hv = common::hv("default.toml", Some(profile));
        for r8 in [0u64, 1, 0xDEAD_BEEF, u64::MAX] {
            assert_eq!(
                common::status(hv.hypercall(FAST, rdx(0x2001, 0, 0), r8, None)),
                HvStatus::SUCCESS
            );
        }
        let mut caller = hv.primitive();
        let gpa = caller.input_page_gpa();
        caller.input_page().unwrap().bytes[..8].copy_from_slice(&rdx(0x2001, 0, 0).to_le_bytes());
        assert_eq!(
            common::status(caller.hypercall(SLOW, gpa, 0x1234_5671)),
            HvStatus::SUCCESS
        );
    }
}

#[test]
fn input_pages_are_distinct_page_aligned_gpas() {
    let hv = Hypervisor::new(hvmodel::World::builtin());
    let callers: Vec<_> = (0..5).map(|_| hv.primitive()).collect();
    for (n, c) in (0u64..).zip(&callers) {
        assert_eq!(c.caller_index(), n);
        assert_eq!(c.input_page_gpa(), INPUT_PAGE_BASE_GPA + n * 4096);
        assert_eq!(c.input_page_gpa() % 4096, 0);
    }
    // A caller's input is not visible at another caller's GPA.
    let mut a = hv.primitive();
    let b = hv.primitive();
    a.input_page().unwrap().bytes[..8].copy_from_slice(&rdx(0x2001, 0, 0).to_le_bytes());
    assert_eq!(
        common::status(a.hypercall(SLOW, b.input_page_gpa(), 0)),
        HvStatus::INVALID_ALIGNMENT
    );
    // The hypervisor's own entry point reads from whichever page it is given.
    let mut bytes = [0u8; PAGE_SIZE];
    let page = InputPage {
        bytes: &mut bytes,
        gpa: 0x8000,
    };
    assert_eq!(
        common::status(hv.hypercall(SLOW, 0x8000, 0, Some(&page))),
        HvStatus::INVALID_CONNECTION_ID
    );
}

/// KVM reads a slow call's 8 input bytes over the GPA it was given (`hc->ingpa`) and, when the
/// in-kernel handler does not take the call (flag ≠ 0, or no eventfd for the id), exits to user
/// space with that *value* as params[0] and the fast bit clear; QEMU then treats the value as
/// a GPA (`torvalds/linux arch/x86/kvm/hyperv.c` `kvm_hvcall_signal_event` and the
/// `KVM_EXIT_HYPERV_HCALL` path; `qemu/qemu hw/hyperv/hyperv.c`).
#[test]
fn kvm_slow_calls_that_exit_to_user_space_hand_qemu_the_input_as_a_gpa() {
    let slow = |extra: &str, conn: u32, flag: u16| {
        let text = format!(
            "profile = \"kvm\"\n[hypervisor]\n{extra}\n\
             [[partition]]\nid = 1\n[[partition.vp]]\nindex = 0\n\
             [[port]]\nid = 1\npartition = 1\nsint = 2\nflag_count = 16\n\
             [[connection]]\nid = 0x2001\nport = 1\n"
        );
        let hv = hvmodel::Hypervisor::new(hvmodel::World::from_toml_str(&text, "kvm").unwrap());
        let mut caller = hv.primitive();
        let gpa = caller.input_page_gpa();
        caller.input_page().unwrap().bytes[..8].copy_from_slice(&rdx(conn, flag, 0).to_le_bytes());
        let rax = caller.hypercall(SLOW, gpa, 0);
        (
            common::status(rax),
            caller.last_outcome().unwrap().user_exit,
        )
    };
    // 0x2001 flag 1: value 0x1_0000_2001, not 8-aligned → INVALID_ALIGNMENT from QEMU.
    assert_eq!(slow("", 0x2001, 1), (HvStatus::INVALID_ALIGNMENT, true));
    // Unknown 0x1234: not 8-aligned → INVALID_ALIGNMENT.
    assert_eq!(slow("", 0x1234, 0), (HvStatus::INVALID_ALIGNMENT, true));
    // Unknown 0x3000: 8-aligned, QEMU loads GPA 0x3000 (unassigned here, reads 0) and looks up
    // connection 0 → INVALID_CONNECTION_ID.
    assert_eq!(slow("", 0x3000, 0), (HvStatus::INVALID_CONNECTION_ID, true));
    // The in-kernel path is unaffected: registered id, flag 0.
    assert_eq!(slow("", 0x2001, 0), (HvStatus::SUCCESS, false));
    // Kernels before the change passed the GPA: QEMU reads the real input.
    let old = "kvm_slow_input_as_gpa = false";
    assert_eq!(slow(old, 0x2001, 1), (HvStatus::INVALID_PORT_ID, true));
    assert_eq!(
        slow(old, 0x1234, 0),
        (HvStatus::INVALID_CONNECTION_ID, true)
    );
}
