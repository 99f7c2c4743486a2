//! docs/HYPERCALL.md, Behaviour matrix, row by row: each profile's answer. The same world (one
//! working connection 0x2001 → event port with 16 flags on SINT 2 of VP 0) is used under every
//! profile unless a row needs its own.

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

use std::sync::Arc;

use common::{FAST, SLOW, rdx};
use hvcall::{HvStatus, HypercallPrimitive};
use hvmodel::{Hypervisor, Profile, World};

const BASE: &str = r"
[[partition]]
id = 1
[[partition.vp]]
index = 0

[[port]]
id = 1
sint = 2
flag_count = 16

[[connection]]
id = 0x2001
port = 1
";

fn model(profile: Profile, extra: &str) -> Arc<Hypervisor> {
    let text = format!("profile = \"{}\"\n{extra}\n{BASE}", profile.name());
    Hypervisor::new(World::from_toml_str(&text, "matrix.toml").unwrap())
}

/// The answers of tlfs, kvm, qemu, openvmm (in that order) to one call.
fn answers(extra: &str, rcx: u64, rdx: u64) -> [HvStatus; 4] {
    common::SIGNAL_EVENT_PROFILES.map(|p| common::raw(&model(p, extra), rcx, rdx))
}

use HvStatus as S;

#[test]
fn row_valid_connection_flag_0() {
    assert_eq!(answers("", FAST, rdx(0x2001, 0, 0)), [S::SUCCESS; 4]);
    for p in common::SIGNAL_EVENT_PROFILES {
        let hv = model(p, "");
        assert_eq!(common::fast(&hv, 0x2001, 0), S::SUCCESS);
        assert_eq!(hv.sief_flag(1, 0, 2, 0), Some(true), "{p}");
        assert_eq!(hv.interrupts(1, 0, 2), Some(1), "{p}");
        assert_eq!(common::fast(&hv, 0x2001, 0), S::SUCCESS);
        assert_eq!(
            hv.interrupts(1, 0, 2),
            Some(1),
            "{p}: no interrupt when already set"
        );
    }
}

#[test]
fn row_valid_connection_openvmm_operation_denied_below_the_port_min_vtl() {
    let hv = common::hv("openvmm.toml", None);
    assert_eq!(common::fast(&hv, 0x2002, 0), S::OPERATION_DENIED);
    assert_eq!(S::OPERATION_DENIED.code(), 0x0008);
    assert_eq!(common::fast(&hv, 0x2001, 0), S::SUCCESS);
    // Other profiles have no VTLs: the same world succeeds.
    for p in [Profile::Tlfs, Profile::Kvm, Profile::Qemu] {
        let hv = common::hv("openvmm.toml", Some(p));
        let expected = if p == Profile::Tlfs {
            // openvmm.toml's caller lacks SignalEvents, which only tlfs checks.
            S::ACCESS_DENIED
        } else {
            S::SUCCESS
        };
        assert_eq!(common::fast(&hv, 0x2002, 0), expected, "{p}");
    }
}

#[test]
fn row_unknown_connection_id() {
    assert_eq!(
        answers("", FAST, rdx(0x1234, 0, 0)),
        [
            S::INVALID_CONNECTION_ID,
            S::INVALID_CONNECTION_ID,
            S::INVALID_CONNECTION_ID,
            S::INVALID_CONNECTION_ID
        ]
    );
    // KVM: the kernel's INVALID_PORT_ID goes to user space, where QEMU answers 0x12 …
    let hv = model(Profile::Kvm, "");
    let outcome = hv.hypercall_detailed(FAST, rdx(0x1234, 0, 0), 0, None);
    assert_eq!(outcome.status, S::INVALID_CONNECTION_ID);
    assert!(outcome.user_exit);
    assert_eq!(hv.user_exits(), 1);
    // … unless the caller's SynIC is inactive: INVALID_HYPERCALL_INPUT without an exit.
    let hv = model(Profile::Kvm, "[caller]\nsynic = false\n");
    let outcome = hv.hypercall_detailed(FAST, rdx(0x1234, 0, 0), 0, None);
    assert_eq!(outcome.status, S::INVALID_HYPERCALL_INPUT);
    assert!(!outcome.user_exit);
    // A registered connection never leaves the kernel.
    let hv = model(Profile::Kvm, "");
    assert!(
        !hv.hypercall_detailed(FAST, rdx(0x2001, 0, 0), 0, None)
            .user_exit
    );
}

#[test]
fn row_connection_id_bits_31_24_set() {
    assert_eq!(
        answers("", FAST, rdx(0x0100_2001, 0, 0)),
        [
            S::INVALID_HYPERCALL_INPUT,
            S::INVALID_HYPERCALL_INPUT,
            S::INVALID_HYPERCALL_INPUT,
            S::INVALID_CONNECTION_ID
        ]
    );
}

#[test]
fn row_rsvdz_set() {
    assert_eq!(
        answers("", FAST, rdx(0x2001, 0, 0x8000)),
        [
            S::INVALID_HYPERCALL_INPUT,
            S::INVALID_HYPERCALL_INPUT,
            S::INVALID_HYPERCALL_INPUT,
            S::SUCCESS
        ]
    );
    // OpenVMM ignores RsvdZ entirely: the flag is set as if it were 0.
    let hv = model(Profile::Openvmm, "");
    assert_eq!(common::raw(&hv, FAST, rdx(0x2001, 3, 1)), S::SUCCESS);
    assert_eq!(hv.sief_flag(1, 0, 2, 3), Some(true));
}

#[test]
fn row_flag_not_below_flag_count() {
    assert_eq!(
        answers("", FAST, rdx(0x2001, 16, 0)),
        [
            S::INVALID_PARAMETER,
            S::INVALID_PORT_ID,
            S::INVALID_PORT_ID,
            S::SUCCESS
        ]
    );
    // KVM and QEMU refuse any non-zero flag, even one inside the port's range.
    assert_eq!(
        answers("", FAST, rdx(0x2001, 1, 0)),
        [
            S::SUCCESS,
            S::INVALID_PORT_ID,
            S::INVALID_PORT_ID,
            S::SUCCESS
        ]
    );
    // KVM with the caller's SynIC inactive: 0x3 instead.
    let hv = model(Profile::Kvm, "[caller]\nsynic = false\n");
    assert_eq!(common::fast(&hv, 0x2001, 1), S::INVALID_HYPERCALL_INPUT);
    // OpenVMM does not check the range: flag 16 sets absolute flag 16 (byte 514, bit 0) …
    let hv = model(Profile::Openvmm, "");
    assert_eq!(common::fast(&hv, 0x2001, 16), S::SUCCESS);
    assert_eq!(hv.sief_page(1, 0).unwrap()[514], 1);
    // … and a flag beyond the slot is dropped silently, still SUCCESS.
    let outcome = hv.hypercall_detailed(FAST, rdx(0x2001, 2048, 0), 0, None);
    assert_eq!(outcome.status, S::SUCCESS);
    assert!(outcome.dropped && outcome.signal.is_none());
    assert_eq!(hv.dropped_signals(), 1);
}

#[test]
fn row_rep_count_or_start() {
    for bits in [1u64 << 32, 0xFFF << 32, 1 << 48] {
        assert_eq!(
            answers("", FAST | bits, rdx(0x2001, 0, 0)),
            [
                S::INVALID_HYPERCALL_INPUT,
                S::INVALID_HYPERCALL_INPUT,
                // n/a in the matrix: QEMU's handler reads only the code and the fast bit.
                S::SUCCESS,
                S::INVALID_HYPERCALL_INPUT
            ],
            "{bits:#x}"
        );
    }
}

#[test]
fn row_variable_header() {
    assert_eq!(
        answers("", FAST | 1 << 17, rdx(0x2001, 0, 0)),
        [
            S::INVALID_HYPERCALL_INPUT,
            S::INVALID_HYPERCALL_INPUT,
            S::SUCCESS,
            S::INVALID_HYPERCALL_INPUT
        ]
    );
}

#[test]
fn row_reserved_control_bits() {
    for bit in [27u32, 30, 44, 47, 60, 63] {
        assert_eq!(
            answers("", FAST | 1 << bit, rdx(0x2001, 0, 0)),
            [
                S::INVALID_HYPERCALL_INPUT,
                S::INVALID_HYPERCALL_INPUT,
                S::SUCCESS,
                S::SUCCESS
            ],
            "bit {bit}"
        );
    }
    // Bit 31 (Is Nested): KVM counts it as reserved; the others accept it.
    assert_eq!(
        answers("", FAST | 1 << 31, rdx(0x2001, 0, 0)),
        [
            S::SUCCESS,
            S::INVALID_HYPERCALL_INPUT,
            S::SUCCESS,
            S::SUCCESS
        ]
    );
}

fn slow_answer(profile: Profile, offset: u64) -> HvStatus {
    let hv = model(profile, "");
    let mut caller = hv.primitive();
    let gpa = caller.input_page_gpa();
    let page = caller.input_page().unwrap();
    let at = usize::try_from(offset.min(4088)).unwrap();
    page.bytes[at..at + 8].copy_from_slice(&rdx(0x2001, 0, 0).to_le_bytes());
    common::status(caller.hypercall(SLOW, gpa + offset, 0))
}

#[test]
fn row_slow_misaligned_or_crossing_the_page() {
    for offset in [1u64, 4, 7, 4084] {
        assert_eq!(
            common::SIGNAL_EVENT_PROFILES.map(|p| slow_answer(p, offset)),
            [S::INVALID_ALIGNMENT; 4],
            "offset {offset}"
        );
    }
    // Page crossing (offset > 4088): OpenVMM checks "straddles a page" first.
    for offset in [4089u64, 4092, 4095] {
        assert_eq!(
            common::SIGNAL_EVENT_PROFILES.map(|p| slow_answer(p, offset)),
            [
                S::INVALID_ALIGNMENT,
                S::INVALID_ALIGNMENT,
                S::INVALID_ALIGNMENT,
                S::INVALID_HYPERCALL_INPUT
            ],
            "offset {offset}"
        );
    }
    assert_eq!(
        common::SIGNAL_EVENT_PROFILES.map(|p| slow_answer(p, 4088)),
        [S::SUCCESS; 4]
    );
}

#[test]
fn row_caller_lacks_signal_events() {
    let no_priv = "[caller]\nprivileges = [\"PostMessages\"]\n";
    assert_eq!(
        answers(no_priv, FAST, rdx(0x2001, 0, 0)),
        [S::ACCESS_DENIED, S::SUCCESS, S::SUCCESS, S::SUCCESS]
    );
    // KVM checks it only with KVM_CAP_HYPERV_ENFORCE_CPUID, and before the reserved bits.
    let enforce = format!("{no_priv}[hypervisor]\nkvm_enforce_cpuid = true\n");
    let hv = model(Profile::Kvm, &enforce);
    assert_eq!(common::fast(&hv, 0x2001, 0), S::ACCESS_DENIED);
    assert_eq!(
        common::raw(&hv, FAST | 1 << 60, rdx(0x2001, 0, 0)),
        S::ACCESS_DENIED
    );
    // … only for SignalEvent: another call code is judged as before.
    assert_eq!(common::raw(&hv, 0x1_005E, 0), S::INVALID_HYPERCALL_CODE);
    // With the privilege, enforcement changes nothing.
    let hv = model(Profile::Kvm, "[hypervisor]\nkvm_enforce_cpuid = true\n");
    assert_eq!(common::fast(&hv, 0x2001, 0), S::SUCCESS);
}

#[test]
fn row_unknown_call_code() {
    for code in [0x005Cu64, 0x005E, 0x0008, 0xFFFF] {
        assert_eq!(
            answers("", 0x1_0000 | code, rdx(0x2001, 0, 0)),
            [S::INVALID_HYPERCALL_CODE; 4],
            "{code:#x}"
        );
    }
    // KVM checks reserved control bits before the call code; TLFS, QEMU and OpenVMM the code first.
    assert_eq!(
        answers("", 0x1_005E | 1 << 60, 0),
        [
            S::INVALID_HYPERCALL_CODE,
            S::INVALID_HYPERCALL_INPUT,
            S::INVALID_HYPERCALL_CODE,
            S::INVALID_HYPERCALL_CODE
        ]
    );
}

#[test]
fn kvm_qemu_and_openvmm_never_fail_for_the_receiver_state() {
    // The signaller is not told when the receiver cannot take the event (QEMU
    // hyperv_set_event_flag's -ENXIO is ignored; OpenVMM's SIEF set is a silent no-op).
    for p in [Profile::Kvm, Profile::Qemu, Profile::Openvmm] {
        let hv = common::hv("invalid-synic-state.toml", Some(p));
        for conn in [0x6001, 0x6002, 0x6003] {
            let outcome = hv.hypercall_detailed(FAST, rdx(conn, 0, 0), 0, None);
            assert_eq!(outcome.status, S::SUCCESS, "{p} {conn:#x}");
            assert!(outcome.dropped, "{p} {conn:#x}");
        }
        assert_eq!(hv.dropped_signals(), 3, "{p}");
        assert_eq!(hv.total_interrupts(), 0, "{p}");
        let hv = common::hv("invalid-vp-index.toml", Some(p));
        assert_eq!(common::fast(&hv, 0x5001, 0), S::SUCCESS, "{p}");
        assert_eq!(hv.dropped_signals(), 1, "{p}");
    }
}

#[test]
fn ports_that_cannot_receive_are_unknown_connections_outside_tlfs() {
    // Deleted, inactive-partition, message and monitor ports are not in KVM's eventfd table,
    // QEMU's handler list or OpenVMM's port map.
    for p in [Profile::Kvm, Profile::Qemu, Profile::Openvmm] {
        let hv = common::hv("invalid-port-id.toml", Some(p));
        for conn in [0x3001, 0x3002, 0x3003, 0x3004] {
            assert_eq!(
                common::fast(&hv, conn, 0),
                S::INVALID_CONNECTION_ID,
                "{p} {conn:#x}"
            );
        }
        assert_eq!(common::fast(&hv, 0x3005, 0), S::SUCCESS, "{p}");
    }
}

#[test]
fn shipped_profile_worlds_behave_as_their_comments_say() {
    let hv = common::hv("kvm.toml", None);
    assert_eq!(hv.world().profile(), Profile::Kvm);
    assert_eq!(common::fast(&hv, 0x24, 0), S::SUCCESS);
    assert_eq!(hv.interrupts(1, 1, 2), Some(1));
    assert_eq!(common::fast(&hv, 0x24, 1), S::INVALID_PORT_ID);
    let hv = common::hv("qemu.toml", None);
    assert_eq!(hv.world().profile(), Profile::Qemu);
    assert_eq!(
        common::raw(&hv, FAST | 1 << 32, rdx(0x24, 0, 0)),
        S::SUCCESS
    );
    let hv = common::hv("openvmm.toml", None);
    assert_eq!(hv.world().profile(), Profile::Openvmm);
    assert!(!hv.world().privileges().signal_events());
    assert_eq!(common::fast(&hv, 0x2001, 0), S::SUCCESS);
}
