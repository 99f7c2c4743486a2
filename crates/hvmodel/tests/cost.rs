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

use std::path::{Path, PathBuf};
use std::process::Command;

/// Most instructions per repeated signal allowed (1195 before connections were resolved once
/// per world).
const BUDGET: f64 = 600.0;
const SMALL: u64 = 1_000;
const LARGE: u64 = 10_000;
const WIDE: &str = "10000";
/// Profile and, for a generated world, its number of connections.
const CASES: [(&str, Option<&str>); 5] = [
    ("tlfs", None),
    ("kvm", None),
    ("qemu", None),
    ("openvmm", None),
    ("tlfs", Some(WIDE)),
];

fn target_dir() -> PathBuf {
    // <target>/debug/deps/cost-<hash>
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).unwrap().to_path_buf()
}

fn instructions(binary: &Path, calls: u64, case: &[&str], out_dir: &Path) -> u64 {
    let out_file = out_dir.join(format!("callgrind.{}.{calls}.out", case.join(".")));
    let run = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(binary)
        .arg(calls.to_string())
        .args(case)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "callgrind of {case:?} failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = std::fs::read_to_string(&out_file).unwrap();
    text.lines()
        .find_map(|line| {
            line.strip_prefix("summary:")
                .or_else(|| line.strip_prefix("totals:"))
        })
        .and_then(|n| n.split_whitespace().next()?.parse().ok())
        .expect("callgrind output has a summary line")
}

#[test]
fn repeated_signal_costs_are_within_budget() {
    if !(cfg!(target_arch = "x86_64") && cfg!(target_os = "linux")) {
        eprintln!("skipped: the cost measurement runs on x86_64 Linux only");
        return;
    }
    if Command::new("valgrind").arg("--version").output().is_err() {
        eprintln!("skipped: valgrind is not installed (apt-get install valgrind to measure)");
        return;
    }
    let bench_target = target_dir().join("model-cost");
    let build = Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "--locked",
            "--release",
            "-p",
            "hvmodel",
            "--example",
            "signal_cost",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CARGO_TARGET_DIR", &bench_target)
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "building the signal_cost example failed: {}",
        String::from_utf8_lossy(&build.stderr)
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
        let small = instructions(&binary, SMALL, &case, &bench_target);
        let large = instructions(&binary, LARGE, &case, &bench_target);
        #[allow(
            clippy::cast_precision_loss,
            reason = "instruction counts are far below 2^52"
        )]
        let per_call = (large - small) as f64 / (LARGE - SMALL) as f64;
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
