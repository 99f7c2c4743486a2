//! Instruction counts under `valgrind --tool=callgrind`, for the cost tests of the crates
//! (`crates/hvsignal-core/tests/overhead.rs`, `crates/hvmodel/tests/cost.rs`). Counts are
//! deterministic, so those tests measure without timing anything.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The two run lengths whose difference in instructions is divided by their difference in
/// calls: everything else in the two runs is identical.
pub const SMALL: u64 = 1_000;
/// See [`SMALL`].
pub const LARGE: u64 = 10_000;

/// Why the measurement cannot run on this host, `None` when it can.
#[must_use]
pub fn unavailable() -> Option<&'static str> {
    if !(cfg!(target_arch = "x86_64") && cfg!(target_os = "linux")) {
        return Some("the measurement runs on x86_64 Linux only");
    }
    if Command::new("valgrind").arg("--version").output().is_err() {
        return Some("valgrind is not installed (apt-get install valgrind to measure)");
    }
    None
}

/// `<target>/<name>`: a target directory of its own for a release build, beside the test's.
///
/// # Panics
/// The test binary's path is not `<target>/<profile>/deps/<test>`.
#[must_use]
pub fn target_dir(name: &str) -> PathBuf {
    // <target>/debug/deps/<test>-<hash>
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).unwrap().join(name)
}

/// `cargo build --quiet --locked --release ARGS` from `manifest_dir` into `target`.
///
/// # Panics
/// Cargo cannot be run, or the build fails (with cargo's message).
pub fn build_release(manifest_dir: &str, target: &Path, args: &[&str]) {
    let build = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--locked", "--release"])
        .args(args)
        .current_dir(manifest_dir)
        .env("CARGO_TARGET_DIR", target)
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "cargo build {args:?} failed: {}",
        String::from_utf8_lossy(&build.stderr)
    );
}

/// Instructions `binary CALLS ARGS` executes under callgrind.
fn instructions(binary: &Path, calls: u64, args: &[&str], out_dir: &Path) -> u64 {
    let out_file = out_dir.join(format!("callgrind.{}.{calls}.out", args.join(".")));
    let run = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(binary)
        .arg(calls.to_string())
        .args(args)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "callgrind of {args:?} failed: {}",
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

/// Instructions per call of `binary CALLS ARGS` between [`SMALL`] and [`LARGE`] calls, with
/// the two counts.
///
/// # Panics
/// valgrind fails or writes no summary line.
#[must_use]
pub fn per_call(binary: &Path, args: &[&str], out_dir: &Path) -> (f64, u64, u64) {
    let small = instructions(binary, SMALL, args, out_dir);
    let large = instructions(binary, LARGE, args, out_dir);
    #[allow(
        clippy::cast_precision_loss,
        reason = "instruction counts are far below 2^52"
    )]
    let per_call = (large - small) as f64 / (LARGE - SMALL) as f64;
    (per_call, small, large)
}
