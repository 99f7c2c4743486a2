//! The model spends at most [`BUDGET`] instructions per repeated successful signal: builds
//! `examples/signal_cost.rs` in release mode, runs it under `valgrind --tool=callgrind` with
//! [`SMALL`] and [`LARGE`] identical fast SignalEvents through `ModelPrimitive::hypercall`, and
//! divides the difference in instructions by the difference in calls (everything else in the
//! two runs is identical). Every profile that can succeed is measured (`xen` never does) in the
//! built-in world of four connections, and `tlfs` also in a world of [`WIDE`] connections: the
//! cost must not grow with the world.
//!
//! Instruction counts are deterministic, so this is not a timed test. Skipped, with a message,
//! when valgrind is not installed or the host is not x86_64 Linux. The figures are reported in
//! docs/PERFORMANCE.md, Model.

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

/// Most instructions per repeated signal allowed (1195 before connections were resolved once
/// per world).
const BUDGET: f64 = 600.0;
const WIDE: &str = "10000";
/// Profile and, for a generated world, its number of connections.
const CASES: [(&str, Option<&str>); 5] = [
    ("tlfs", None),
    ("kvm", None),
    ("qemu", None),
    ("openvmm", None),
    ("tlfs", Some(WIDE)),
];

#[test]
fn repeated_signal_costs_are_within_budget() {
    if let Some(reason) = callgrind::unavailable() {
        eprintln!("skipped: {reason}");
        return;
    }
    let bench_target = callgrind::target_dir("model-cost");
    callgrind::build_release(
        env!("CARGO_MANIFEST_DIR"),
        &bench_target,
        &["-p", "hvmodel", "--example", "signal_cost"],
    );
    let binary = bench_target
        .join("release")
        .join("examples")
        .join("signal_cost");
    let mut over = Vec::new();
    for (profile, connections) in CASES {
        let case: Vec<&str> = [profile].into_iter().chain(connections).collect();
        let name = match connections {
            Some(n) => format!("{profile}, {n} connections"),
            None => profile.to_owned(),
        };
        let (per_call, small, large) = callgrind::per_call(&binary, &case, &bench_target);
        eprintln!(
            "{name}: {per_call:.2} instructions per repeated signal ({small} at {SMALL} calls, \
             {large} at {LARGE})"
        );
        // Not implausibly low either: a decode, a lookup, an atomic flag and the timing model
        // cost something.
        assert!(
            per_call >= 50.0,
            "{name}: {per_call:.2} instructions per call: the loop was optimised away"
        );
        if per_call > BUDGET {
            over.push(format!("{name}: {per_call:.2}"));
        }
    }
    assert!(
        over.is_empty(),
        "instructions per repeated signal over {BUDGET}: {}",
        over.join(", ")
    );
}
