//! The driver's per-call overhead outside the hypercall itself stays at or under
//! [`BUDGET`] instructions: builds `src/bin/overhead.rs` in release mode, runs it under
//! `valgrind --tool=callgrind` with 1 000 and 10 000 calls, and divides the difference in
//! instructions by the difference in calls (everything else in the two runs is identical).
//!
//! Skipped, with a message, when valgrind is not installed or the host is not x86_64 Linux.
//! The figure is reported in docs/PROTOCOL.md.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Most instructions per call allowed.
const BUDGET: f64 = 40.0;
const SMALL: u64 = 1_000;
const LARGE: u64 = 10_000;

fn target_dir() -> PathBuf {
    // <target>/debug/deps/overhead-<hash>
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).unwrap().to_path_buf()
}

fn instructions(binary: &Path, calls: u64, out_dir: &Path) -> u64 {
    let out_file = out_dir.join(format!("callgrind.{calls}.out"));
    let status = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(binary)
        .arg(calls.to_string())
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "callgrind failed: {}",
        String::from_utf8_lossy(&status.stderr)
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
fn per_call_overhead_is_within_budget() {
    if !(cfg!(target_arch = "x86_64") && cfg!(target_os = "linux")) {
        eprintln!("skipped: the overhead measurement runs on x86_64 Linux only");
        return;
    }
    if Command::new("valgrind").arg("--version").output().is_err() {
        eprintln!("skipped: valgrind is not installed (apt-get install valgrind to measure)");
        return;
    }
    let bench_target = target_dir().join("overhead-bench");
    let build = Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "--locked",
            "--release",
            "-p",
            "hvsignal-core",
            "--features",
            "overhead-bench",
            "--bin",
            "overhead",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CARGO_TARGET_DIR", &bench_target)
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "building the overhead binary failed: {}",
        String::from_utf8_lossy(&build.stderr)
    );
    let binary = bench_target.join("release").join("overhead");
    let small = instructions(&binary, SMALL, &bench_target);
    let large = instructions(&binary, LARGE, &bench_target);
    #[allow(
        clippy::cast_precision_loss,
        reason = "instruction counts are far below 2^52"
    )]
    let per_call = (large - small) as f64 / (LARGE - SMALL) as f64;
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
