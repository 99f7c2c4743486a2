//! Benchmark of the world- and case-file parsers: times a generated file and one 10× larger and
//! prints the ratio, which is ≈10 for a parser linear in the file size.
//!
//!     cargo build --release -p hvsignal --bin hvsignal --example parse_bench
//!     target/release/examples/parse_bench
//!
//! World files are parsed in process (`hvmodel::World::from_toml_str`, best of 5 runs). Case
//! files are parsed by the console program, so they are timed end to end: `hvsignal --json
//! conform FILE` with the release binary next to this example (best of 3 runs); every case is
//! `untestable`, so the time is the parse and the report, not hypercalls. Results are in
//! docs/PERFORMANCE.md, "World and case file parsing".

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    reason = "test code: a panic is a failed test"
)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A world of `ports` event ports, each with one connection, on a partition of 64 VPs.
fn world(ports: u32) -> String {
    let mut text = String::from("profile = \"tlfs\"\n\n[[partition]]\nid = 1\nname = \"host\"\n");
    for index in 0..64 {
        let _ = write!(text, "[[partition.vp]]\nindex = {index}\n");
    }
    for id in 1..=ports {
        let _ = write!(
            text,
            "\n[[port]]\nid = {id}\npartition = 1\ntarget_vp = {}\nsint = 2\nbase_flag = 0\n\
             flag_count = 16\n",
            id % 64
        );
    }
    for id in 1..=ports {
        let _ = write!(
            text,
            "\n[[connection]]\nid = {}\nport = {id}\n",
            0x10_0000 + id
        );
    }
    text
}

/// A case file of `cases` cases, each with a full expectation table.
fn cases(cases: u32) -> String {
    let mut text = String::new();
    for n in 0..cases {
        let _ = write!(
            text,
            "[[case]]\nname = \"case-{n}\"\nrow = \"generated row {n}\"\nconnection = \"unknown\"\n\
             untestable = \"generated for the parse benchmark\"\n[case.expect]\n\
             tlfs = \"INVALID_CONNECTION_ID\"\nkvm = \"INVALID_CONNECTION_ID\"\n\
             qemu = \"INVALID_CONNECTION_ID\"\nopenvmm = {{ status = \"INVALID_CONNECTION_ID\", \
             note = \"generated\" }}\n\n"
        );
    }
    text
}

fn best_of(runs: u32, mut f: impl FnMut() -> Duration) -> Duration {
    (0..runs).map(|_| f()).min().unwrap_or_default()
}

fn time_world(text: &str) -> Duration {
    best_of(5, || {
        let start = Instant::now();
        let world = hvmodel::World::from_toml_str(text, "generated.toml").expect("valid world");
        let elapsed = start.elapsed();
        assert!(!world.connections().is_empty());
        elapsed
    })
}

fn time_conform(binary: &Path, file: &Path) -> Duration {
    best_of(3, || {
        let start = Instant::now();
        let status = Command::new(binary)
            .args(["--backend", "model", "--json", "conform"])
            .arg(file)
            .stdout(Stdio::null())
            .status()
            .expect("hvsignal runs");
        let elapsed = start.elapsed();
        assert!(
            status.success(),
            "hvsignal conform {}: {status}",
            file.display()
        );
        elapsed
    })
}

#[allow(
    clippy::cast_precision_loss,
    reason = "file sizes of a few MB, shown as a ratio"
)]
fn report(what: &str, small: (usize, Duration), large: (usize, Duration)) {
    let ratio = large.1.as_secs_f64() / small.1.as_secs_f64();
    println!(
        "{what}: {} bytes in {:.1} ms, {} bytes in {:.1} ms: {:.1}x the size took {ratio:.1}x \
         the time",
        small.0,
        small.1.as_secs_f64() * 1e3,
        large.0,
        large.1.as_secs_f64() * 1e3,
        (large.0 as f64) / (small.0 as f64),
    );
}

fn main() {
    let small = world(3_000);
    let large = world(30_000);
    report(
        "world file (World::from_toml_str)",
        (small.len(), time_world(&small)),
        (large.len(), time_world(&large)),
    );

    let binary: PathBuf = std::env::current_exe()
        .expect("own path")
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join(format!("hvsignal{}", std::env::consts::EXE_SUFFIX)))
        .expect("target directory");
    if !binary.is_file() {
        eprintln!(
            "{} not found: build it with `cargo build --release -p hvsignal --bin hvsignal \
             --example parse_bench` to time case files",
            binary.display()
        );
        std::process::exit(2);
    }
    let dir = std::env::temp_dir().join(format!("hvsignal-parse-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let small_file = dir.join("cases-small.toml");
    let large_file = dir.join("cases-large.toml");
    let small = cases(1_000);
    let large = cases(10_000);
    std::fs::write(&small_file, &small).expect("write");
    std::fs::write(&large_file, &large).expect("write");
    report(
        "case file (hvsignal --json conform FILE, end to end)",
        (small.len(), time_conform(&binary, &small_file)),
        (large.len(), time_conform(&binary, &large_file)),
    );
    let _ = std::fs::remove_dir_all(&dir);
}
