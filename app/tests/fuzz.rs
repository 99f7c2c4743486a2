//! End-to-end tests of `hvsignal fuzz` on the model backend: reproducibility, the oracle finding
//! a planted difference, the crash-safe log and its replay, and the errors of bad logs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    reason = "test code: a panic is a failed test"
)]

mod support;

use std::path::PathBuf;

use serde_json::{Value, json};
use support::assert_names;

const WORLDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../crates/hvmodel/worlds");

fn world(name: &str) -> String {
    format!("{WORLDS}/{name}")
}

/// A fresh path in the temporary directory, removed first.
fn scratch(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("hvsignal-fuzz-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

/// Runs `hvsignal --backend model --json ARGS`, checks the exit code, returns the document and
/// stderr.
fn run(args: &[&str], code: i32) -> (Value, String) {
    let mut all = vec!["--backend", "model", "--json"];
    all.extend_from_slice(args);
    let printed = support::run(&all, code);
    let v = support::parse_strict_json(&printed.stdout).expect("one JSON document");
    assert_eq!(v["command"], json!("fuzz"));
    if v.get("error").is_some() {
        assert_eq!(v["exit_code"], json!(code), "{args:?}");
    }
    (v, printed.stderr)
}

/// The document without what depends on the clock.
fn timeless(mut v: Value) -> Value {
    let summary = v["summary"].as_object_mut().expect("summary");
    summary.remove("elapsed_seconds").expect("elapsed_seconds");
    summary
        .remove("calls_per_second")
        .expect("calls_per_second");
    v
}

fn status_counts(v: &Value) -> Vec<(u64, u64)> {
    v["summary"]["statuses"]
        .as_array()
        .expect("statuses")
        .iter()
        .map(|s| (s["code"].as_u64().unwrap(), s["calls"].as_u64().unwrap()))
        .collect()
}

#[test]
fn a_fixed_seed_run_is_reproducible_byte_for_byte() {
    let malformed = world("malformed-calls.toml");
    let (a, b) = (scratch("repro-a.log"), scratch("repro-b.log"));
    let mut documents = Vec::new();
    for log in [&a, &b] {
        let log = log.to_str().unwrap();
        let args = [
            "--world", &malformed, "fuzz", "--raw", "--seed", "42", "-n", "3000", "--log", log,
        ];
        documents.push(timeless(run(&args, 0).0));
    }
    let (log_a, log_b) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_eq!(log_a, log_b);
    assert_eq!(documents[0]["log"], json!(a.to_str().unwrap()));
    documents[1]["log"] = documents[0]["log"].clone();
    assert_eq!(documents[0], documents[1]);
    let text = String::from_utf8(log_a).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // The log is a file format `--replay` reads back (docs/CLI.md), not a report: its header is
    // pinned field by field.
    assert_eq!(
        lines[0],
        "hvsignal-fuzz-log 1 seed=0x000000000000002a profile=tlfs raw=1 memory=1 flag_count=16 \
         live=0x2001:16"
    );
    assert_eq!(lines.len(), 3001);
    assert_eq!(lines[1].split(' ').next(), Some("0"));
    assert_eq!(lines[3000].split(' ').next(), Some("2999"));
    let d = &documents[0];
    assert_eq!(d["seed"], json!("0x000000000000002a"));
    assert_eq!(d["raw"], json!(true));
    assert_eq!(
        d["live_connections"],
        json!([{"connection_id": 0x2001, "flag_count": 16}])
    );
    assert_eq!(d["scan"], json!({"from": 0, "to": 0xFFFF, "calls": 65536}));
    assert_eq!(d["summary"]["calls"], json!(3000));
    assert_eq!(d["summary"]["requests"], json!(47));
    assert_eq!(d["summary"]["findings"], json!(0));
    assert_eq!(d["summary"]["interrupted"], json!(false));
    assert_eq!(d["findings"], json!([]));
    assert_eq!(
        status_counts(d),
        EXPECTED_RAW_COUNTS.to_vec(),
        "the generator's output for seed 42 changed"
    );
    let _ = std::fs::remove_file(&a);
    let _ = std::fs::remove_file(&b);
}

/// Status code → calls of `--raw --seed 42 -n 3000` on malformed-calls.toml: pinned from the
/// first run, so that any change to the generator or the model (which changes every seed's
/// stream) is noticed and documented.
const EXPECTED_RAW_COUNTS: [(u64, u64); 5] = [(0, 275), (3, 1530), (4, 234), (5, 165), (18, 796)];

/// The openvmm world's caller has no SignalEvents privilege; OpenVMM dispatches the call
/// anyway, the TLFS answers ACCESS_DENIED. Every call is a finding, and its replay reproduces it.
#[test]
fn a_world_unlike_the_profile_gives_findings_that_replay_reproduces() {
    let openvmm = world("openvmm.toml");
    let log = scratch("planted.log");
    let log_path = log.to_str().unwrap();
    let args = [
        "--world",
        &openvmm,
        "fuzz",
        "--profile",
        "tlfs",
        "--seed",
        "7",
        "-n",
        "300",
        "--log",
        log_path,
    ];
    let (v, _) = run(&args, 1);
    assert_eq!(v["profile"], json!("tlfs"));
    assert_eq!(v["summary"]["calls"], json!(300));
    assert_eq!(v["summary"]["findings"], json!(300));
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 100);
    for f in findings {
        assert_eq!(
            f["expected"]["name"],
            json!("HV_STATUS_ACCESS_DENIED"),
            "{f}"
        );
        assert_ne!(
            f["observed"]["name"],
            json!("HV_STATUS_ACCESS_DENIED"),
            "{f}"
        );
    }
    let first = &findings[0];
    assert_eq!(first["index"], json!(0));
    assert_eq!(first["connection_id"], json!(0x2001));
    assert_eq!(first["flag"], json!(15));
    assert_eq!(first["observed"]["name"], json!("HV_STATUS_SUCCESS"));
    assert_eq!(
        first["registers"],
        json!({"rcx": "0x000000000001005d", "rdx": "0x0000000f00002001", "r8": "0x0000000000000000"})
    );
    assert_eq!(
        first["signal_command"],
        json!(format!(
            "hvsignal --backend model --world {openvmm} signal -c 0x2001 -f 15"
        ))
    );
    assert_eq!(
        first["replay_command"],
        json!(format!(
            "hvsignal --backend model --world {openvmm} fuzz --replay {log_path} --from 0 \
             --iterations 1 --profile tlfs"
        ))
    );
    // One finding, replayed alone.
    let picked = &findings[37];
    let index = picked["index"].as_u64().unwrap().to_string();
    let (one, _) = run(
        &[
            "--world",
            &openvmm,
            "fuzz",
            "--replay",
            log_path,
            "--from",
            &index,
            "--iterations",
            "1",
        ],
        1,
    );
    assert_eq!(one["summary"]["calls"], json!(1));
    assert_eq!(one["findings"], json!([picked]));
    assert_eq!(
        one["replay"],
        json!({"file": log_path, "from": picked["index"], "entries": 1, "cut_off_bytes": 0})
    );
    // The whole log, replayed: the same answers.
    let (all, _) = run(&["--world", &openvmm, "fuzz", "--replay", log_path], 1);
    assert_eq!(all["summary"]["statuses"], v["summary"]["statuses"]);
    assert_eq!(all["findings"], v["findings"]);
    let _ = std::fs::remove_file(&log);
}

/// A log cut off in the middle of an entry (a crash while it was written) replays up to the last
/// complete entry.
#[test]
fn a_truncated_log_replays_up_to_the_last_complete_entry() {
    let log = scratch("truncated.log");
    let log_path = log.to_str().unwrap();
    run(&["fuzz", "--seed", "9", "-n", "100", "--log", log_path], 0);
    let text = std::fs::read_to_string(&log).unwrap();
    let keep: usize = text.lines().take(51).map(|l| l.len() + 1).sum();
    let cut = &text[..keep + 5];
    std::fs::write(&log, cut).unwrap();
    let (v, stderr) = run(&["fuzz", "--replay", log_path], 0);
    assert_eq!(
        v["replay"],
        json!({"file": log_path, "from": 0, "entries": 50, "cut_off_bytes": 5})
    );
    assert_eq!(v["summary"]["calls"], json!(50));
    // The 50 replayed calls answer as the first 50 of the run did (entries are a function of
    // the seed and their index, so a 50-call run issues exactly those).
    let (first_50, _) = run(&["fuzz", "--seed", "9", "-n", "50"], 0);
    assert_eq!(v["summary"]["statuses"], first_50["summary"]["statuses"]);
    // The cut-off entry (`cut_off_bytes` above) is also said on stderr, as one warning.
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // Replaying from past the last entry is a usage error, not an empty success.
    let (past, _) = run(&["fuzz", "--replay", log_path, "--from", "50"], 2);
    assert_eq!(past["error"]["kind"], json!("usage"));
    let message = past["error"]["message"].as_str().unwrap();
    assert_names(message, &["--from 50", log_path]);
    // The last entry there is: 49.
    assert_names(&message.replace(log_path, ""), &["49"]);
    let _ = std::fs::remove_file(&log);
}

/// Replays `text` as a log: an `input_file` error (exit 2) naming the log; returns the rest of
/// the message, after `fuzz log PATH: `.
fn bad_log(name: &str, text: &str) -> String {
    let log = scratch(name);
    std::fs::write(&log, text).unwrap();
    let path = log.to_str().unwrap().to_owned();
    let (v, _) = run(&["fuzz", "--replay", &path], 2);
    let _ = std::fs::remove_file(&log);
    assert_eq!(v["error"]["kind"], json!("input_file"));
    let message = v["error"]["message"].as_str().unwrap();
    message
        .strip_prefix(&format!("fuzz log {path}: "))
        .unwrap_or_else(|| panic!("the message names the log first: {message}"))
        .to_owned()
}

const HEADER: &str =
    "hvsignal-fuzz-log 1 seed=0x1 profile=tlfs raw=0 memory=1 flag_count=16 live=0x2001:16\n";

/// Each refusal names the line it found (none when there is no complete header) and the value
/// at fault.
#[test]
fn bad_logs_get_a_clear_error() {
    for (name, text, line, named) in [
        (
            "not-a-log",
            "hello\n".to_owned(),
            Some(1),
            &["`hvsignal-fuzz-log`"][..],
        ),
        ("empty", String::new(), None, &["`hvsignal-fuzz-log 1"]),
        (
            "version",
            "hvsignal-fuzz-log 2 seed=0x1\n".to_owned(),
            Some(1),
            &["`2`", "version 1"],
        ),
        (
            "fields",
            format!("{HEADER}0 fast 0x2001 0\n"),
            Some(2),
            &["7 fields", "has 4"],
        ),
        (
            "order",
            format!("{HEADER}1 fast 0x2001 0 0x0 0x0 0\n1 fast 0x2001 0 0x0 0x0 0\n"),
            Some(3),
            &["entry 1"],
        ),
        (
            "raw-entry",
            format!("{HEADER}0 fast 0x2001 0 0x1 0x0 0\n"),
            Some(2),
            &["raw=1"],
        ),
        (
            "long-line",
            format!("{HEADER}{}\n", "0".repeat((1 << 20) + 1)),
            Some(2),
            &["1048576 bytes"],
        ),
    ] {
        let message = bad_log(name, &text);
        match line {
            Some(line) => assert!(
                message.starts_with(&format!("line {line}: ")),
                "{name}: {message}"
            ),
            None => assert!(!message.starts_with("line "), "{name}: {message}"),
        }
        assert_names(&message, named);
    }
}

#[cfg(unix)]
#[test]
fn a_replay_refuses_what_is_not_a_regular_file() {
    // /dev/zero would be read forever and a FIFO would block: both are refused before reading.
    let (v, _) = run(&["fuzz", "--replay", "/dev/zero"], 2);
    assert_eq!(v["error"]["kind"], json!("input_file"));
    assert_names(
        v["error"]["message"].as_str().unwrap(),
        &["fuzz log /dev/zero", "character device"],
    );
}

#[test]
fn raw_mode_is_refused_up_front_where_raw_calls_are_disabled() {
    let log = scratch("refused.log");
    let (v, _) = run(&["fuzz", "--raw", "--log", log.to_str().unwrap()], 3);
    assert_eq!(v["error"]["kind"], json!("environment"));
    assert!(!log.exists(), "nothing is logged when nothing is issued");
}

#[test]
fn an_existing_log_is_never_overwritten() {
    let log = scratch("exists.log");
    std::fs::write(&log, "keep me\n").unwrap();
    let (v, _) = run(&["fuzz", "-n", "1", "--log", log.to_str().unwrap()], 2);
    assert_eq!(v["error"]["kind"], json!("usage"));
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "keep me\n");
    let _ = std::fs::remove_file(&log);
}
