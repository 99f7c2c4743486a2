//! Many threads signalling at once lose no flag, no interrupt and no count.

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

use std::sync::{Arc, Barrier};
use std::thread;

use common::{FAST, rdx};
use hvcall::{HvStatus, HypercallPrimitive, HypercallResult};
use hvmodel::{Hypervisor, World};

const THREADS: u16 = 8;

fn world_with_2048_flags() -> World {
    World::from_toml_str(
        "[[partition]]\nid = 1\n[[partition.vp]]\nindex = 0\n[[port]]\nid = 1\nsint = 9\nflag_count = 2048\n[[connection]]\nid = 0x20\nport = 1\n",
        "wide.toml",
    )
    .unwrap()
}

#[test]
fn eight_threads_setting_interleaved_flags_lose_nothing() {
    let hv = Hypervisor::new(world_with_2048_flags());
    let barrier = Arc::new(Barrier::new(usize::from(THREADS)));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let mut caller = hv.primitive();
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                barrier.wait();
                let mut ok = 0u32;
                // Thread t sets flags t, t+8, t+16, …: neighbours share every 64-bit word.
                for round in 0..3 {
                    for flag in (t..2048).step_by(usize::from(THREADS)) {
                        let rax = caller.hypercall(FAST, rdx(0x20, flag, 0), 0);
                        if HypercallResult::from_raw(rax).status() == HvStatus::SUCCESS {
                            ok += 1;
                        }
                        let _ = round;
                    }
                }
                ok
            })
        })
        .collect();
    let successes: u32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(successes, 3 * 2048);
    assert_eq!(hv.sief_slot(1, 0, 9).unwrap(), [0xFF; 256]);
    assert_eq!(hv.interrupts(1, 0, 9), Some(2048), "one per 0→1 change");
    assert_eq!(hv.total_calls(), 3 * 2048);
    assert_eq!(hv.calls_with_status(HvStatus::SUCCESS), 3 * 2048);
    // Other slots untouched.
    let page = hv.sief_page(1, 0).unwrap();
    assert!(
        page[..256 * 9]
            .iter()
            .chain(&page[256 * 10..])
            .all(|b| *b == 0)
    );
}

#[test]
fn eight_threads_racing_for_the_same_flag_raise_exactly_one_interrupt_per_clear() {
    let hv = Hypervisor::new(world_with_2048_flags());
    for round in 1..=50u64 {
        let barrier = Arc::new(Barrier::new(usize::from(THREADS)));
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let mut caller = hv.primitive();
                let barrier = Arc::clone(&barrier);
                thread::spawn(move || {
                    barrier.wait();
                    caller.hypercall(FAST, rdx(0x20, 1000, 0), 0);
                    caller.last_outcome().unwrap().signal.unwrap().newly_set
                })
            })
            .collect();
        let winners = handles
            .into_iter()
            .filter_map(|h| h.join().unwrap().then_some(()))
            .count();
        assert_eq!(winners, 1, "round {round}");
        assert_eq!(hv.interrupts(1, 0, 9), Some(round));
        // The receiver consumes the flag: byte 125, bit 0.
        let slot = hv.take_sief_slot(1, 0, 9).unwrap();
        assert_eq!(slot[125], 1);
        assert_eq!(slot.iter().filter(|b| **b != 0).count(), 1);
    }
}

#[test]
fn concurrent_mixed_statuses_are_all_counted() {
    let hv = Hypervisor::new(World::builtin());
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let mut caller = hv.primitive();
            thread::spawn(move || {
                for n in 0..1000u32 {
                    let conn = if n % 2 == 0 { 0x2001 } else { 0x3000 };
                    let flag = t % 16;
                    caller.hypercall(FAST, rdx(conn, flag, 0), 0);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(hv.total_calls(), 8000);
    assert_eq!(hv.calls_with_status(HvStatus::SUCCESS), 4000);
    assert_eq!(hv.calls_with_status(HvStatus::INVALID_CONNECTION_ID), 4000);
    // Flags 0..8 of port 1 (base 0): slot byte 0 fully set, one interrupt each.
    assert_eq!(hv.sief_slot(1, 0, 2).unwrap()[0], 0xFF);
    assert_eq!(hv.interrupts(1, 0, 2), Some(8));
}
