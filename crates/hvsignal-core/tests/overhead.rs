//! The driver's per-call overhead outside the hypercall itself stays at or under
//! [`BUDGET`] instructions: builds `src/bin/overhead.rs` in release mode, runs it under
//! `valgrind --tool=callgrind` with 1 000 and 10 000 calls, and divides the difference in
//! instructions by the difference in calls (everything else in the two runs is identical).
//!
//! Skipped, with a message, when valgrind is not installed or the host is not x86_64 Linux.
//! The figure is reported in docs/PROTOCOL.md.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    reason = "test code: a panic is a failed test"
)]

use hvsignal_test_support::callgrind::{self, LARGE, SMALL};

/// Most instructions per call allowed.
const BUDGET: f64 = 40.0;

#[test]
fn per_call_overhead_is_within_budget() {
    if let Some(reason) = callgrind::unavailable() {
        eprintln!("skipped: {reason}");
        return;
    }
    let bench_target = callgrind::target_dir("overhead-bench");
    callgrind::build_release(
        env!("CARGO_MANIFEST_DIR"),
        &bench_target,
        &[
            "-p",
            "hvsignal-core",
            "--features",
            "overhead-bench",
            "--bin",
            "overhead",
        ],
    );
    let binary = bench_target.join("release").join("overhead");
    let (per_call, small, large) = callgrind::per_call(&binary, &[], &bench_target);
    eprintln!(
        "per-call overhead: {per_call:.2} instructions ({small} at {SMALL} calls, {large} at {LARGE})"
    );
    assert!(
        per_call <= BUDGET,
        "{per_call:.2} instructions per call > {BUDGET}"
    );
    // The figure is not implausibly low either: two timestamps and the statistics cost something.
    assert!(
        per_call >= 10.0,
        "{per_call:.2} instructions per call: the loop was optimised away"
    );
}
