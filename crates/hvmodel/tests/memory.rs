//! The memory calling convention: same answers and effects as the fast one for any input in the
//! caller's input page; misaligned, page-crossing and unbacked GPAs per profile.

mod common;

use common::{FAST, SLOW, rdx};
use hvcall::{HvStatus, HypercallPrimitive, PAGE_SIZE};
use hvmodel::{GuestInput, Hypervisor, INPUT_PAGE_BASE_GPA, Profile};

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
        for profile in Profile::ALL {
            let fast_hv = common::hv(file, Some(profile));
            let fast_outcome = fast_hv.hypercall_detailed(FAST, rdx(conn, flag, rsvd), 0, None);

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
    for profile in Profile::ALL {
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
    for profile in Profile::ALL {
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
    // INVALID_ALIGNMENT; QEMU (model choice) the same; OpenVMM: guest-memory read error →
    // INVALID_HYPERCALL_INPUT.
    for profile in Profile::ALL {
        let hv = common::hv("default.toml", Some(profile));
        let mut caller = hv.primitive();
        let gpa = caller.input_page_gpa();
        let expected = if profile == Profile::Openvmm {
            HvStatus::INVALID_HYPERCALL_INPUT
        } else {
            HvStatus::INVALID_ALIGNMENT
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
    for profile in Profile::ALL {
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
    let bytes = [0u8; PAGE_SIZE];
    let page = GuestInput {
        bytes: &bytes,
        gpa: 0x8000,
    };
    assert_eq!(
        common::status(hv.hypercall(SLOW, 0x8000, 0, Some(page))),
        HvStatus::INVALID_CONNECTION_ID
    );
}
