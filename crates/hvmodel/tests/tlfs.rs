//! Every row of the TLFS return-value table of `HvCallSignalEvent` (docs/HYPERCALL.md,
//! Documented return values), under the `tlfs` profile, each from a shipped world file.

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

use common::{FAST, SLOW, fast, hv, raw, rdx};
use hvcall::{HvStatus, HypercallPrimitive};
use hvmodel::{Profile, Stage};

#[test]
fn success_sets_base_plus_flag_in_the_sint_slot_and_raises_one_interrupt() {
    // Connection 0x2003 → port 3: partition 1, VP 0, SINT 2, base flag 32. Flag 5 → flag 37:
    // byte 256 * 2 + 37 / 8 = 516 of the SIEF page, bit 37 % 8 = 5.
    let hv = hv("default.toml", None);
    assert_eq!(hv.world().profile(), Profile::Tlfs);
    let outcome = hv.hypercall_detailed(FAST, rdx(0x2003, 5, 0), 0, None);
    assert_eq!(outcome.status, HvStatus::SUCCESS);
    assert_eq!(outcome.stage, Stage::Signalled);
    let signal = outcome.signal.unwrap();
    assert_eq!(
        (
            signal.partition,
            signal.vp,
            signal.sint,
            signal.flag,
            signal.newly_set
        ),
        (1, 0, 2, 37, true)
    );
    let page = hv.sief_page(1, 0).unwrap();
    assert_eq!(page[516], 1 << 5);
    assert_eq!(page.iter().filter(|b| **b != 0).count(), 1);
    let slot = hv.sief_slot(1, 0, 2).unwrap();
    assert_eq!(slot[4], 0b0010_0000);
    assert_eq!(hv.sief_flag(1, 0, 2, 37), Some(true));
    assert_eq!(hv.sief_flag(1, 0, 2, 36), Some(false));
    assert_eq!(hv.interrupts(1, 0, 2), Some(1));
    assert_eq!(hv.total_interrupts(), 1);
    // VP 1 and other SINTs untouched.
    assert!(hv.sief_page(1, 1).unwrap().iter().all(|b| *b == 0));
    assert_eq!(hv.interrupts(1, 0, 3), Some(0));

    // The identical call again: SUCCESS, the flag stays set, no new interrupt.
    let again = hv.hypercall_detailed(FAST, rdx(0x2003, 5, 0), 0, None);
    assert_eq!(again.status, HvStatus::SUCCESS);
    assert!(!again.signal.unwrap().newly_set);
    assert_eq!(hv.sief_page(1, 0).unwrap(), page);
    assert_eq!(hv.interrupts(1, 0, 2), Some(1));
    assert_eq!(hv.calls_with_status(HvStatus::SUCCESS), 2);
    assert_eq!(hv.total_calls(), 2);

    // Once the receiver clears the slot, the next signal raises the SINT again.
    assert_eq!(hv.take_sief_slot(1, 0, 2).unwrap(), slot);
    assert_eq!(hv.sief_flag(1, 0, 2, 37), Some(false));
    assert_eq!(fast(&hv, 0x2003, 5), HvStatus::SUCCESS);
    assert_eq!(hv.interrupts(1, 0, 2), Some(2));
}

#[test]
fn flag_103_of_sint_5_is_byte_1292_bit_7() {
    // invalid-parameter.toml: port base 100, 4 flags on SINT 5; flag 3 → absolute flag 103:
    // byte 256 * 5 + 12 = 1292, bit 7.
    let hv = hv("invalid-parameter.toml", None);
    assert_eq!(fast(&hv, 0x4001, 3), HvStatus::SUCCESS);
    let page = hv.sief_page(1, 0).unwrap();
    assert_eq!(page[1292], 0x80);
    assert_eq!(hv.interrupts(1, 0, 5), Some(1));
}

#[test]
fn access_denied_without_the_signal_events_privilege() {
    let hv = hv("access-denied.toml", None);
    assert!(!hv.world().privileges().signal_events());
    assert_eq!(fast(&hv, 0x2001, 0), HvStatus::ACCESS_DENIED);
    assert_eq!(HvStatus::ACCESS_DENIED.code(), 0x0006);
    assert_eq!(hv.total_interrupts(), 0);
    assert_eq!(hv.sief_flag(1, 0, 2, 0), Some(false));
    // Privilege is checked before the connection: unknown ids are not revealed.
    assert_eq!(fast(&hv, 0x7777, 0), HvStatus::ACCESS_DENIED);
    assert_eq!(hv.calls_with_status(HvStatus::ACCESS_DENIED), 2);
}

#[test]
fn invalid_connection_id_for_an_unknown_connection() {
    let hv = hv("invalid-connection-id.toml", None);
    assert_eq!(fast(&hv, 0x2002, 0), HvStatus::INVALID_CONNECTION_ID);
    assert_eq!(fast(&hv, 0x1234, 0), HvStatus::INVALID_CONNECTION_ID);
    assert_eq!(HvStatus::INVALID_CONNECTION_ID.code(), 0x0012);
    assert_eq!(fast(&hv, 0x2001, 0), HvStatus::SUCCESS);
}

#[test]
fn invalid_port_id_for_deleted_inactive_and_non_event_ports() {
    let hv = hv("invalid-port-id.toml", None);
    assert_eq!(fast(&hv, 0x3001, 0), HvStatus::INVALID_PORT_ID, "deleted");
    assert_eq!(fast(&hv, 0x3002, 0), HvStatus::INVALID_PORT_ID, "inactive");
    assert_eq!(fast(&hv, 0x3003, 0), HvStatus::INVALID_PORT_ID, "message");
    assert_eq!(fast(&hv, 0x3004, 0), HvStatus::INVALID_PORT_ID, "monitor");
    assert_eq!(fast(&hv, 0x3005, 0), HvStatus::SUCCESS);
    assert_eq!(HvStatus::INVALID_PORT_ID.code(), 0x0011);
    assert_eq!(hv.calls_with_status(HvStatus::INVALID_PORT_ID), 4);
    assert_eq!(hv.interrupts(2, 0, 2), Some(0));
}

#[test]
fn invalid_parameter_when_the_flag_is_not_below_the_flag_count() {
    let hv = hv("invalid-parameter.toml", None);
    for flag in 0..4 {
        assert_eq!(fast(&hv, 0x4001, flag), HvStatus::SUCCESS, "flag {flag}");
    }
    for flag in [4, 5, 0xFFFF] {
        assert_eq!(
            fast(&hv, 0x4001, flag),
            HvStatus::INVALID_PARAMETER,
            "flag {flag}"
        );
    }
    assert_eq!(HvStatus::INVALID_PARAMETER.code(), 0x0005);
    // Flags 100..=103 of SINT 5: byte 1292 = 0xF0 (bits 4-7), nothing else.
    let page = hv.sief_page(1, 0).unwrap();
    assert_eq!(page[1292], 0xF0);
    assert_eq!(page.iter().filter(|b| **b != 0).count(), 1);
    assert_eq!(hv.interrupts(1, 0, 5), Some(4));
}

#[test]
fn invalid_vp_index_when_the_vp_is_gone_or_none_is_available() {
    let hv = hv("invalid-vp-index.toml", None);
    assert_eq!(fast(&hv, 0x5001, 0), HvStatus::INVALID_VP_INDEX, "removed");
    assert_eq!(fast(&hv, 0x5002, 0), HvStatus::INVALID_VP_INDEX, "none can");
    assert_eq!(fast(&hv, 0x5003, 0), HvStatus::INVALID_VP_INDEX, "no VPs");
    assert_eq!(HvStatus::INVALID_VP_INDEX.code(), 0x000E);
    // "any" picks the VP that can take the SINT: VP 7 of partition 3 (VP 3 has no SIEF page).
    let ok = hv.hypercall_detailed(FAST, rdx(0x5004, 0, 0), 0, None);
    assert_eq!(ok.status, HvStatus::SUCCESS);
    assert_eq!(ok.signal.map(|s| (s.partition, s.vp)), Some((3, 7)));
    assert_eq!(hv.interrupts(3, 7, 2), Some(1));
    assert_eq!(hv.interrupts(3, 3, 2), Some(0));
}

#[test]
fn invalid_synic_state_when_synic_or_sief_is_off_or_the_sint_is_masked() {
    let hv = hv("invalid-synic-state.toml", None);
    assert_eq!(fast(&hv, 0x6001, 0), HvStatus::INVALID_SYNIC_STATE, "SynIC");
    assert_eq!(fast(&hv, 0x6002, 0), HvStatus::INVALID_SYNIC_STATE, "SIEF");
    assert_eq!(
        fast(&hv, 0x6003, 0),
        HvStatus::INVALID_SYNIC_STATE,
        "masked"
    );
    assert_eq!(HvStatus::INVALID_SYNIC_STATE.code(), 0x0018);
    assert_eq!(fast(&hv, 0x6004, 0), HvStatus::SUCCESS);
    assert_eq!(hv.interrupts(1, 2, 4), Some(1));
    assert_eq!(hv.interrupts(1, 2, 3), Some(0));
}

#[test]
fn invalid_hypercall_code_for_any_other_call_code() {
    let hv = hv("malformed-calls.toml", None);
    for code in [0x0000u64, 0x005C, 0x005E, 0x00C0, 0xFFFF] {
        assert_eq!(
            raw(&hv, 0x1_0000 | code, rdx(0x2001, 0, 0)),
            HvStatus::INVALID_HYPERCALL_CODE,
            "{code:#x}"
        );
    }
    assert_eq!(HvStatus::INVALID_HYPERCALL_CODE.code(), 0x0002);
    // The code is judged first: reserved bits with a wrong code are still a wrong code.
    assert_eq!(
        raw(&hv, 0x1_005E | 1 << 60, rdx(0x2001, 0, 0)),
        HvStatus::INVALID_HYPERCALL_CODE
    );
    assert_eq!(hv.total_interrupts(), 0);
}

#[test]
fn invalid_hypercall_input_for_rep_fields_variable_header_and_reserved_bits() {
    let hv = hv("malformed-calls.toml", None);
    let ok = rdx(0x2001, 0, 0);
    let cases = [
        ("rep count 1", 1u64 << 32),
        ("rep count 0xFFF", 0xFFF << 32),
        ("rep start 1", 1 << 48),
        ("variable header 1", 1 << 17),
        ("variable header 0x3FF", 0x3FF << 17),
        ("reserved bit 27", 1 << 27),
        ("reserved bit 30", 1 << 30),
        ("reserved bit 44", 1 << 44),
        ("reserved bit 47", 1 << 47),
        ("reserved bit 60", 1 << 60),
        ("reserved bit 63", 1 << 63),
    ];
    for (name, bits) in cases {
        assert_eq!(
            raw(&hv, FAST | bits, ok),
            HvStatus::INVALID_HYPERCALL_INPUT,
            "{name}"
        );
    }
    // Input reserved fields: RsvdZ and connection-id bits 31:24 (a model choice: the TLFS does
    // not document the status).
    assert_eq!(
        raw(&hv, FAST, rdx(0x2001, 0, 1)),
        HvStatus::INVALID_HYPERCALL_INPUT
    );
    assert_eq!(
        raw(&hv, FAST, rdx(0x0100_2001, 0, 0)),
        HvStatus::INVALID_HYPERCALL_INPUT
    );
    assert_eq!(HvStatus::INVALID_HYPERCALL_INPUT.code(), 0x0003);
    // The Is-Nested bit (31) is not reserved in the current TLFS: the model, as L0, ignores it.
    assert_eq!(raw(&hv, FAST | 1 << 31, ok), HvStatus::SUCCESS);
    assert_eq!(hv.interrupts(1, 0, 2), Some(1));
}

#[test]
fn invalid_alignment_for_misaligned_page_crossing_or_unbacked_input() {
    let hv = hv("malformed-calls.toml", None);
    let mut caller = hv.primitive();
    let gpa = caller.input_page_gpa();
    let page = caller.input_page().unwrap();
    page.bytes[8..16].copy_from_slice(&rdx(0x2001, 0, 0).to_le_bytes());
    for bad in [gpa + 1, gpa + 4, gpa + 4092, gpa + 4095, gpa + 0x1000, 0] {
        assert_eq!(
            common::status(caller.hypercall(SLOW, bad, 0)),
            HvStatus::INVALID_ALIGNMENT,
            "{bad:#x}"
        );
    }
    assert_eq!(HvStatus::INVALID_ALIGNMENT.code(), 0x0004);
    assert_eq!(
        common::status(caller.hypercall(SLOW, gpa + 8, 0)),
        HvStatus::SUCCESS
    );
    assert_eq!(hv.calls_with_status(HvStatus::INVALID_ALIGNMENT), 6);
}

#[test]
fn check_order_is_the_design_order() {
    // Each pair differs in one earlier defect; the earlier check must win.
    let hv = hv("access-denied.toml", None);
    // (2) control-word input beats (4) access.
    assert_eq!(
        raw(&hv, FAST | 1 << 32, rdx(0x2001, 0, 0)),
        HvStatus::INVALID_HYPERCALL_INPUT
    );
    // (3) alignment beats (4) access.
    assert_eq!(raw(&hv, SLOW, 0x10_0001), HvStatus::INVALID_ALIGNMENT);
    // (4) access beats (5) reserved input bits.
    assert_eq!(raw(&hv, FAST, rdx(0x2001, 0, 1)), HvStatus::ACCESS_DENIED);

    let hv = common::hv("invalid-port-id.toml", None);
    // (5) reserved input bits beat (6) unknown connection.
    assert_eq!(
        raw(&hv, FAST, rdx(0x0100_9999, 0, 0)),
        HvStatus::INVALID_HYPERCALL_INPUT
    );
    // (7) port beats (8) flag range: deleted port, flag far out of range.
    assert_eq!(fast(&hv, 0x3001, 0xFFFF), HvStatus::INVALID_PORT_ID);

    let hv = common::hv("invalid-synic-state.toml", None);
    // (8) flag range beats (10) SynIC state (port flag count 1).
    assert_eq!(fast(&hv, 0x6001, 1), HvStatus::INVALID_PARAMETER);

    let hv = common::hv("invalid-vp-index.toml", None);
    // (8) flag range beats (9) VP index.
    assert_eq!(fast(&hv, 0x5001, 1), HvStatus::INVALID_PARAMETER);
}

#[test]
fn every_call_is_counted_under_its_status() {
    let hv = hv("invalid-port-id.toml", None);
    fast(&hv, 0x3005, 0);
    fast(&hv, 0x3001, 0);
    fast(&hv, 0x9999, 0);
    fast(&hv, 0x9999, 0);
    raw(&hv, 0x1_005E, 0);
    assert_eq!(
        hv.status_counts(),
        vec![
            (HvStatus::SUCCESS, 1),
            (HvStatus::INVALID_HYPERCALL_CODE, 1),
            (HvStatus::INVALID_PORT_ID, 1),
            (HvStatus::INVALID_CONNECTION_ID, 2),
        ]
    );
    assert_eq!(hv.total_calls(), 5);
    // probe decides without counting or setting anything.
    assert_eq!(
        hv.probe(FAST, rdx(0x3005, 0, 0), 0, None),
        HvStatus::SUCCESS
    );
    assert_eq!(hv.total_calls(), 5);
    hv.reset();
    assert_eq!(hv.total_calls(), 0);
    assert!(hv.status_counts().is_empty());
    assert_eq!(hv.total_interrupts(), 0);
    assert_eq!(hv.sief_flag(1, 0, 2, 0), Some(false));
}
