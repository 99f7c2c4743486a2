//! End-to-end tests of every command on the model backend: output, JSON schema, exit codes.

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

use serde_json::{Value, json};
use std::fmt::Write as _;
use support::assert_names;

const WORLDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../crates/hvmodel/worlds");

fn world(name: &str) -> String {
    format!("{WORLDS}/{name}")
}

/// Runs `hvsignal --backend model --json ARGS`, checks the exit code, returns the document.
fn model_json(args: &[&str], code: i32) -> Value {
    let mut all = vec!["--backend", "model"];
    all.extend_from_slice(args);
    let v = support::json_of(&all, code);
    assert_eq!(v["backend"], json!("model"));
    assert_eq!(v["simulated"], json!(true));
    v
}

/// Runs `hvsignal --backend model --json ARGS`, which must fail with `code` and an error of
/// `kind`; returns its message.
fn model_error(args: &[&str], code: i32, kind: &str) -> String {
    let v = model_json(args, code);
    assert_eq!(v["error"]["kind"], json!(kind), "{args:?}: {v}");
    v["error"]["message"].as_str().unwrap().to_owned()
}

/// Runs `hvsignal --backend model ARGS` (a human report), checks the exit code.
fn model_run(args: &[&str], code: i32) -> support::Printed {
    let mut all = vec!["--backend", "model"];
    all.extend_from_slice(args);
    support::run(&all, code)
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
fn info_reports_the_builtin_world() {
    let v = model_json(&["info"], 0);
    assert_eq!(v["command"], json!("info"));
    assert_eq!(v["hypervisor"]["present"], json!(true));
    assert_eq!(v["hypervisor"]["vendor_signature"], json!("Microsoft Hv"));
    assert_eq!(v["hypervisor"]["interface"], json!("Hv#1"));
    assert_eq!(v["privileges"]["mask"], json!("0x003b803000002e7f"));
    assert_eq!(v["privileges"]["signal_events"], json!(true));
    assert_eq!(v["driver"]["protocol_version"], json!(2));
    assert_eq!(v["driver"]["allow_raw_hypercalls"], json!(false));
    assert_eq!(v["cpu"]["vendor"], json!("intel"));
    assert_eq!(v["cpu"]["instruction"]["mnemonic"], json!("vmcall"));
    assert_eq!(v["tsc_frequency_hz"], json!(2_400_000_000_u64));
    assert_eq!(v["world"], json!({"source": "built-in", "profile": "tlfs"}));
    let bits = v["privileges"]["bits"].as_array().unwrap();
    let signal = bits
        .iter()
        .find(|b| b["name"] == json!("SignalEvents"))
        .unwrap();
    assert_eq!(signal["bit"], json!(37));
    assert_eq!(signal["set"], json!(true));
    assert_eq!(
        keys(&v),
        [
            "backend",
            "command",
            "cpu",
            "driver",
            "features",
            "hypercalls",
            "hypervisor",
            "privileges",
            "simulated",
            "tsc_frequency_hz",
            "world"
        ]
    );
}

#[test]
fn info_without_hypervisor_succeeds_and_says_so() {
    let v = model_json(&["--world", &world("no-hypervisor.toml"), "info"], 0);
    assert_eq!(v["hypervisor"]["present"], json!(false));
    assert_eq!(v["hypervisor"]["vendor_signature"], Value::Null);
    assert_eq!(v["driver"]["hypercalls_available"], json!(false));
}

#[test]
fn info_of_an_amd_kvm_world() {
    let v = model_json(&["--world", &world("kvm.toml"), "info"], 0);
    assert_eq!(v["hypervisor"]["vendor_signature"], json!("Microsoft Hv"));
    assert_eq!(v["cpu"]["instruction"]["mnemonic"], json!("vmmcall"));
    assert_eq!(v["world"]["profile"], json!("kvm"));
}

#[test]
fn signal_success_exit_0() {
    let v = model_json(&["signal", "-c", "0x2001"], 0);
    let op = &v["operations"][0];
    assert_eq!(op["connection_id"], json!(0x2001));
    assert_eq!(op["flag"], json!(0));
    assert_eq!(op["calls"], json!(1));
    assert_eq!(op["successes"], json!(1));
    assert_eq!(op["failures"], json!(0));
    assert_eq!(
        op["first_status"],
        json!({"code": 0, "name": "HV_STATUS_SUCCESS"})
    );
    assert_eq!(
        op["last_status"],
        json!({"code": 0, "name": "HV_STATUS_SUCCESS"})
    );
    assert_eq!(op["registers"]["rcx"], json!("0x000000000001005d"));
    assert_eq!(op["registers"]["rdx"], json!("0x0000000000002001"));
    assert_eq!(
        v["summary"],
        json!({"calls": 1, "successes": 1, "failures": 0})
    );
    assert_eq!(v["dry_run"], json!(false));
}

#[test]
fn signal_failure_exit_1_with_status_and_meaning() {
    let v = model_json(&["signal", "-c", "0x2005"], 1);
    let op = &v["operations"][0];
    assert_eq!(op["connection_id"], json!(0x2005));
    assert_eq!(op["flag"], json!(0));
    assert_eq!(op["calls"], json!(1));
    assert_eq!(op["successes"], json!(0));
    assert_eq!(op["failures"], json!(1));
    let invalid = json!({"code": 18, "name": "HV_STATUS_INVALID_CONNECTION_ID"});
    assert_eq!(op["first_status"], invalid);
    assert_eq!(op["last_status"], invalid);
    // The meaning is the one `status` gives for that code (its text: the golden test's).
    let decoded = model_json(&["status", "18"], 0);
    assert!(op["meaning"].is_string(), "{op}");
    assert_eq!(op["meaning"], decoded["meaning"]);
    assert_eq!(op["registers"]["rcx"], json!("0x000000000001005d"));
    assert_eq!(
        v["summary"],
        json!({"calls": 1, "successes": 0, "failures": 1})
    );
    // The human table exits 1 as well (its layout: the golden test's `signal`).
    model_run(&["signal", "-c", "0x2005"], 1);
}

#[test]
fn signal_repeat_is_split_across_requests_and_counted() {
    let v = model_json(
        &["signal", "-c", "0x2002", "-f", "3", "--repeat", "25000"],
        0,
    );
    let op = &v["operations"][0];
    assert_eq!(op["calls"], json!(25_000));
    assert_eq!(op["successes"], json!(25_000));
    let c = &op["cycles"];
    assert!(c["min"].as_u64().unwrap() <= c["max"].as_u64().unwrap());
    assert!(v["operations"][0]["nanoseconds"]["mean"].as_f64().unwrap() > 0.0);
}

#[test]
fn signal_memory_convention_and_several_connections() {
    let v = model_json(&["signal", "-c", "0x2001", "-c", "0x2004", "--memory"], 0);
    assert_eq!(v["convention"], json!("memory"));
    assert_eq!(v["operations"].as_array().unwrap().len(), 2);
    assert_eq!(v["operations"][1]["connection_id"], json!(0x2004));
    assert_eq!(
        v["operations"][1]["registers"]["rcx"],
        json!("0x000000000000005d")
    );
}

#[test]
fn signal_flag_beyond_count_is_invalid_parameter() {
    let v = model_json(&["signal", "-c", "0x2001", "-f", "16"], 1);
    assert_eq!(
        v["operations"][0]["last_status"],
        json!({"code": 5, "name": "HV_STATUS_INVALID_PARAMETER"})
    );
}

#[test]
fn raw_options_need_the_policy() {
    // Refused as the driver would (STATUS_ACCESS_DENIED), naming the world's setting.
    let message = model_error(&["signal", "-c", "0x2001", "--rsvd", "1"], 3, "environment");
    assert_names(&message, &["allow_raw_hypercalls", "0xc0000022"]);
    let v = model_json(
        &[
            "--world",
            &world("malformed-calls.toml"),
            "signal",
            "-c",
            "0x2001",
            "--rsvd",
            "1",
        ],
        1,
    );
    assert_eq!(v["raw"], json!(true));
    assert_eq!(
        v["operations"][0]["last_status"]["name"],
        json!("HV_STATUS_INVALID_HYPERCALL_INPUT")
    );
    let v = model_json(
        &[
            "--world",
            &world("malformed-calls.toml"),
            "signal",
            "-c",
            "0x2001",
            "--memory",
            "--input-offset",
            "4",
        ],
        1,
    );
    assert_eq!(
        v["operations"][0]["last_status"]["name"],
        json!("HV_STATUS_INVALID_ALIGNMENT")
    );
    for (option, value, status) in [
        ("--rep-count", "1", "HV_STATUS_INVALID_HYPERCALL_INPUT"),
        ("--rep-start", "2", "HV_STATUS_INVALID_HYPERCALL_INPUT"),
        ("--var-header", "1", "HV_STATUS_INVALID_HYPERCALL_INPUT"),
        (
            "--control-bits",
            "0x1000000000000000",
            "HV_STATUS_INVALID_HYPERCALL_INPUT",
        ),
    ] {
        let v = model_json(
            &[
                "--world",
                &world("malformed-calls.toml"),
                "signal",
                "-c",
                "0x2001",
                option,
                value,
            ],
            1,
        );
        assert_eq!(
            v["operations"][0]["last_status"]["name"],
            json!(status),
            "{option}"
        );
    }
    let v = model_json(
        &[
            "--world",
            &world("malformed-calls.toml"),
            "signal",
            "-c",
            "0x01002001",
            "--raw",
        ],
        1,
    );
    assert_eq!(v["operations"][0]["connection_id"], json!(0x0100_2001));
    assert_eq!(
        v["operations"][0]["last_status"]["name"],
        json!("HV_STATUS_INVALID_HYPERCALL_INPUT")
    );
}

#[test]
fn no_hypervisor_is_exit_3_for_signal_bench_scan() {
    let w = world("no-hypervisor.toml");
    for args in [
        vec!["signal", "-c", "1"],
        vec!["bench", "-c", "1", "--calls", "10"],
        vec!["scan", "--from", "1", "--to", "2"],
    ] {
        let mut all = vec!["--world", w.as_str()];
        all.extend(args.iter().copied());
        // The refusal by name (`info`'s `hypercalls.refusal.name`) and STATUS_NOT_SUPPORTED.
        let message = model_error(&all, 3, "environment");
        assert_names(&message, &["(no-hypervisor)", "0xc00000bb"]);
    }
}

#[test]
fn bad_world_file_is_exit_2_naming_the_file() {
    // One refusal stands for all: each rule's message is the model's (crates/hvmodel/tests/worlds.rs).
    let bad = write_cases(
        "unknown-key-world.toml",
        "[[port]]\nid = 1\ncolour = \"red\"\n",
    );
    let message = model_error(&["--world", &bad, "info"], 2, "input_file");
    assert_names(&message, &[&format!("world file {bad}"), "colour"]);
    let message = model_error(&["--world", "/nonexistent/w.toml", "info"], 2, "input_file");
    assert_names(&message, &["world file /nonexistent/w.toml"]);
}

#[cfg(not(windows))]
#[test]
fn device_backend_off_windows_is_exit_3() {
    let v = support::error_of(&["--backend", "device", "info"], 3, "environment");
    assert_eq!(v["backend"], json!("device"));
    assert_eq!(v["simulated"], json!(false));
    // It names the way out.
    assert_names(
        v["error"]["message"].as_str().unwrap(),
        &["--backend model"],
    );
}

#[test]
#[allow(clippy::cast_precision_loss, reason = "cycle counts are small")]
fn bench_figures_are_consistent() {
    for extra in [&[][..], &["--histogram"][..], &["--memory"][..]] {
        let mut args = vec!["bench", "-c", "0x2001", "--calls", "12345"];
        args.extend_from_slice(extra);
        let v = model_json(&args, 0);
        assert_eq!(v["calls"], json!(12_345), "{extra:?}");
        assert_eq!(v["successes"], json!(12_345));
        let c = &v["cycles"];
        let [min, median, p90, p99, max] =
            ["min", "median", "p90", "p99", "max"].map(|k| c[k].as_u64().unwrap());
        assert!(
            min <= median && median <= p90 && p90 <= p99 && p99 <= max,
            "{c}"
        );
        let mean = c["mean"].as_f64().unwrap();
        assert!(min as f64 <= mean && mean <= max as f64);
        let ns = &v["nanoseconds"];
        assert!((ns["min"].as_f64().unwrap() - min as f64 / 2.4).abs() < 1e-6);
        let rate = v["calls_per_second"].as_f64().unwrap();
        assert!((rate - 2.4e9 / mean).abs() < 1e-3);
        let expected_method = if extra == ["--histogram"] {
            "histogram"
        } else {
            "exact"
        };
        assert_eq!(v["method"], json!(expected_method));
    }
    // Exact: the driver sends every call's sample, 10 000 calls per request.
    let v = model_json(&["bench", "-c", "0x2001", "--calls", "12345"], 0);
    assert_eq!(v["requests"], json!(2));
    let v = model_json(&["bench", "-c", "0x2001", "--calls", "100000"], 0);
    assert_eq!(
        v["requests"],
        json!(10),
        "≤ 10 IOCTLs per 100 000 exact-timed calls"
    );
    assert_eq!(v["method"], json!("exact"));
    assert_eq!(v["quantile_error_bound"], json!(0.0));
    // The model's timestamp read costs `timestamp_cycles` = 25: that is the empty region.
    assert_eq!(v["timer_overhead_cycles"], json!(25));
    let v = model_json(
        &["bench", "-c", "0x2001", "--calls", "25000", "--histogram"],
        0,
    );
    assert_eq!(v["requests"], json!(3));
}

/// The histogram quantiles of a run are within the documented bound (1/128) of the exact
/// quantiles of the same run: the model is deterministic, so the two runs time identical calls.
#[test]
fn histogram_quantiles_are_within_their_bound_of_the_exact_ones() {
    for calls in ["3000", "250000", "1200000"] {
        let exact = model_json(&["bench", "-c", "0x2001", "--calls", calls, "--exact"], 0);
        let estimated = model_json(
            &["bench", "-c", "0x2001", "--calls", calls, "--histogram"],
            0,
        );
        assert_eq!(exact["method"], json!("exact"), "{calls}");
        assert_eq!(estimated["method"], json!("histogram"));
        assert_eq!(estimated["quantile_error_bound"], json!(0.007_813));
        for key in ["min", "max", "mean"] {
            assert_eq!(
                exact["cycles"][key], estimated["cycles"][key],
                "{calls} {key}"
            );
        }
        for key in ["median", "p90", "p99"] {
            let e = exact["cycles"][key].as_u64().unwrap();
            let h = estimated["cycles"][key].as_u64().unwrap();
            assert!(
                e.abs_diff(h) * 128 <= e,
                "{calls} {key}: exact {e}, histogram {h}"
            );
        }
    }
    // Above the exact limit the histogram is the default, and says so.
    let v = model_json(&["bench", "-c", "0x2001", "--calls", "1000001"], 0);
    assert_eq!(v["method"], json!("histogram"));
}

#[test]
fn bench_of_a_failing_call_exits_1() {
    let v = model_json(&["bench", "-c", "0x2005", "--calls", "100"], 1);
    assert_eq!(v["failures"], json!(100));
    assert_eq!(
        v["last_status"]["name"],
        json!("HV_STATUS_INVALID_CONNECTION_ID")
    );
}

#[test]
fn bench_without_tsc_frequency_has_null_nanoseconds() {
    let dir = std::env::temp_dir().join(format!("hvsignal-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("no-tsc.toml");
    let text = std::fs::read_to_string(world("default.toml")).unwrap()
        + "\n[timing]\ntsc_frequency_hz = 0\n";
    std::fs::write(&path, text).unwrap();
    let v = model_json(
        &[
            "--world",
            path.to_str().unwrap(),
            "bench",
            "-c",
            "0x2001",
            "--calls",
            "50",
        ],
        0,
    );
    assert_eq!(v["nanoseconds"], Value::Null);
    assert_eq!(v["calls_per_second"], Value::Null);
    assert_eq!(v["tsc_frequency_hz"], Value::Null);
}

#[test]
fn scan_finds_exactly_the_worlds_live_connections() {
    // Live connections found: exit 0, however many probed ids were unknown.
    let v = model_json(&["scan", "--from", "0x1f00", "--to", "0x2100"], 0);
    assert_eq!(v["from"], json!(0x1f00));
    assert_eq!(v["to"], json!(0x2100));
    assert_eq!(v["flag"], json!(0));
    assert_eq!(
        v["live_connections"],
        json!([0x2001, 0x2002, 0x2003, 0x2004])
    );
    assert_eq!(v["results"].as_array().unwrap().len(), 0x201);
    assert_eq!(
        v["results"][0],
        json!({"connection_id": 0x1f00, "status": {"code": 18, "name": "HV_STATUS_INVALID_CONNECTION_ID"}})
    );
    assert_eq!(v["requests"], json!(0x201_u64.div_ceil(64)));
    let v = model_json(
        &[
            "--world",
            &world("invalid-port-id.toml"),
            "scan",
            "--from",
            "0x3000",
            "--to",
            "0x3006",
        ],
        0,
    );
    assert_eq!(v["live_connections"], json!([0x3005]));
    assert_eq!(
        v["summary"],
        json!([
            {"status": {"code": 0, "name": "HV_STATUS_SUCCESS"}, "count": 1, "ranges": [[0x3005, 0x3005]]},
            {"status": {"code": 17, "name": "HV_STATUS_INVALID_PORT_ID"}, "count": 4, "ranges": [[0x3001, 0x3004]]},
            {"status": {"code": 18, "name": "HV_STATUS_INVALID_CONNECTION_ID"}, "count": 2, "ranges": [[0x3000, 0x3000], [0x3006, 0x3006]]}
        ])
    );
}

/// `live_connections` and `summary` as the scan computed them from every result in memory
/// before it streamed: the ids grouped by status code, consecutive ids merged into ranges.
fn summary_of_results(results: &[Value]) -> (Value, Value) {
    let mut groups: std::collections::BTreeMap<u64, (Value, Vec<u64>)> =
        std::collections::BTreeMap::new();
    for r in results {
        let code = r["status"]["code"].as_u64().unwrap();
        let entry = groups
            .entry(code)
            .or_insert_with(|| (r["status"].clone(), Vec::new()));
        entry.1.push(r["connection_id"].as_u64().unwrap());
    }
    let live = groups.get(&0).map_or_else(Vec::new, |g| g.1.clone());
    let summary: Vec<Value> = groups
        .values()
        .map(|(status, ids)| {
            let mut ranges: Vec<[u64; 2]> = Vec::new();
            for &id in ids {
                match ranges.last_mut() {
                    Some(r) if r[1] + 1 == id => r[1] = id,
                    _ => ranges.push([id, id]),
                }
            }
            json!({"status": status, "count": ids.len(), "ranges": ranges})
        })
        .collect();
    (json!(live), json!(summary))
}

#[test]
fn streamed_scan_summary_agrees_with_its_results() {
    // Several statuses, over several chunks of the stream and a partial last request.
    let v = model_json(
        &[
            "--world",
            &world("invalid-port-id.toml"),
            "scan",
            "--from",
            "0x2e80",
            "--to",
            "0x3210",
            "--yes",
        ],
        0,
    );
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 0x3210 - 0x2e80 + 1);
    for (r, id) in results.iter().zip(0x2e80_u64..) {
        assert_eq!(r["connection_id"], json!(id));
    }
    let (live, summary) = summary_of_results(results);
    assert_eq!(v["live_connections"], live);
    assert_eq!(v["live_connections"], json!([0x3005]));
    assert_eq!(v["summary"], summary);
    assert_eq!(v["summary"].as_array().unwrap().len(), 3);
    assert_eq!(v["requests"], json!(0x391_u64.div_ceil(64)));
    assert_eq!(
        keys(&v),
        [
            "backend",
            "command",
            "flag",
            "from",
            "ids",
            "live_connections",
            "profile",
            "requests",
            "results",
            "simulated",
            "summary",
            "to",
            "world"
        ]
    );
}

#[test]
fn scan_of_only_live_ids_exits_0_and_warns() {
    let mut args = vec![
        "--backend",
        "model",
        "--json",
        "scan",
        "--from",
        "0x2001",
        "--to",
        "0x2004",
    ];
    let printed = support::run(&args, 0);
    // The warning that a scan signals what it finds: one line on stderr.
    assert_eq!(printed.stderr.lines().count(), 1, "{}", printed.stderr);
    let v = support::parse_strict_json(&printed.stdout).unwrap();
    assert_eq!(
        v["live_connections"],
        json!([0x2001, 0x2002, 0x2003, 0x2004])
    );
    assert_eq!(
        v["summary"],
        json!([{"status": {"code": 0, "name": "HV_STATUS_SUCCESS"}, "count": 4, "ranges": [[0x2001, 0x2004]]}])
    );
    // The same warning precedes the human report.
    args.retain(|a| *a != "--json");
    assert_eq!(support::run(&args, 0).stderr, printed.stderr);
}

#[test]
fn scan_that_finds_no_live_connection_exits_1() {
    let v = model_json(&["scan", "--from", "0x3000", "--to", "0x30ff"], 1);
    assert_eq!(v["live_connections"], json!([]));
    assert_eq!(v["results"].as_array().unwrap().len(), 256);
    assert_eq!(
        v["summary"],
        json!([{"status": {"code": 18, "name": "HV_STATUS_INVALID_CONNECTION_ID"}, "count": 256, "ranges": [[0x3000, 0x30ff]]}])
    );
    // A world whose only ports answer errors: ids answered, none live.
    let v = model_json(
        &[
            "--world",
            &world("invalid-port-id.toml"),
            "scan",
            "--from",
            "0x3001",
            "--to",
            "0x3004",
        ],
        1,
    );
    assert_eq!(v["live_connections"], json!([]));
}

#[test]
fn large_scans_need_yes() {
    let message = model_error(&["scan", "--from", "0", "--to", "4096"], 2, "usage");
    assert_names(&message, &["4097", "4096", "--yes"]);
    // 0x2001-0x2004 lie above the range: nothing live found.
    let v = model_json(&["scan", "--from", "0", "--to", "4096", "--yes"], 1);
    assert_eq!(v["ids"], json!(4097));
    let message = model_error(&["scan", "--from", "9", "--to", "8"], 2, "usage");
    assert_names(&message, &["--from 0x9", "--to 0x8"]);
}

#[test]
fn conform_passes_for_each_profile_against_itself() {
    for profile in ["tlfs", "kvm", "qemu", "openvmm", "xen"] {
        let v = model_json(&["conform", "--profile", profile], 0);
        assert_eq!(v["profile"], json!(profile));
        assert_eq!(v["summary"]["failed"], json!(0), "{profile}");
        assert!(v["summary"]["passed"].as_u64().unwrap() >= 11, "{profile}");
        let cases = v["cases"].as_array().unwrap();
        assert_eq!(cases.len(), 29);
        for case in cases {
            assert!(
                ["pass", "info", "skip"].contains(&case["verdict"].as_str().unwrap()),
                "{case}"
            );
            assert_eq!(case["profile"], json!(profile));
            for key in ["name", "expected", "observed", "verdict"] {
                assert!(case.get(key).is_some(), "{key}");
            }
        }
    }
    let v = model_json(&["conform", "--all-profiles"], 0);
    assert_eq!(v["profile"], json!("all"));
    assert_eq!(v["cases"].as_array().unwrap().len(), 5 * 29);
    assert_eq!(v["profiles"].as_array().unwrap().len(), 5);
}

#[test]
fn conform_covers_every_row_of_the_behaviour_matrix() {
    let v = model_json(&["conform"], 0);
    let rows: Vec<&str> = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["row"].as_str().unwrap())
        .collect();
    for row in [
        "Valid connection, flag 0, rsvd 0",
        "Unknown connection id",
        "Conn id bits 31:24 != 0",
        "RsvdZ (bits 63:48) != 0",
        "FlagNumber >= FlagCount",
        "Rep count or start != 0",
        "Variable header != 0",
        "Reserved control bits (30:27, 47:44, 63:60)",
        "Slow, input GPA misaligned",
        "Caller lacks SignalEvents",
        "CPL 3 caller",
        "Unknown call code",
    ] {
        assert!(rows.contains(&row), "{row}");
    }
}

#[test]
fn conform_against_another_profiles_expectations_fails_with_exit_1() {
    // The model runs as KVM, the expectations are read as KVM's: passes. Run the KVM world
    // (profile kvm) but compare with the TLFS: the flag case differs.
    let dir = std::env::temp_dir().join(format!("hvsignal-conform-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = dir.join("cases.toml");
    std::fs::write(
        &cases,
        "[[case]]\nname = \"flag-one\"\nrow = \"FlagNumber >= FlagCount\"\nflag = 1\n\
         expect = { tlfs = \"SUCCESS\", kvm = \"SUCCESS\" }\n",
    )
    .unwrap();
    let v = model_json(&["conform", cases.to_str().unwrap(), "--profile", "kvm"], 1);
    assert_eq!(
        v["summary"],
        json!({"passed": 0, "failed": 1, "informational": 0, "skipped": 0})
    );
    assert_eq!(
        v["cases"][0]["expected"],
        json!({"code": 0, "name": "HV_STATUS_SUCCESS"})
    );
    assert_eq!(
        v["cases"][0]["observed"],
        json!({"code": 17, "name": "HV_STATUS_INVALID_PORT_ID"})
    );
    assert_eq!(v["cases"][0]["verdict"], json!("fail"));
    let v = model_json(
        &["conform", cases.to_str().unwrap(), "--profile", "tlfs"],
        0,
    );
    assert_eq!(v["cases"][0]["verdict"], json!("pass"));
}

#[test]
fn conform_bad_case_file_is_exit_2() {
    let dir = std::env::temp_dir().join(format!("hvsignal-badcase-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = dir.join("bad.toml");
    std::fs::write(
        &cases,
        "[[case]]\nname = \"x\"\nrow = \"r\"\nexpect = { tlfs = \"SUCESS\" }\n",
    )
    .unwrap();
    let path = cases.display().to_string();
    let message = model_error(&["conform", &path], 2, "input_file");
    // The file, the case, the key and the value at fault.
    assert_names(&message, &[&path, "`x`", "`expect.tlfs`", "`SUCESS`"]);
    let message = model_error(&["conform", "/nonexistent/cases.toml"], 2, "input_file");
    assert_names(&message, &["/nonexistent/cases.toml"]);
    let message = model_error(&["conform", "--profile", "hyperv"], 2, "usage");
    assert_names(&message, &["'hyperv'", "--profile"]);
}

const CONFORMANCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/conformance");

/// Runs `args` with `--json`, expecting exit 2 and an `input_file` error document.
fn input_file_error(args: &[&str]) -> String {
    model_error(args, 2, "input_file")
}

#[test]
fn conform_refuses_an_empty_case_file() {
    let empty = format!("{CONFORMANCE}/invalid/empty.toml");
    let message = input_file_error(&["conform", &empty]);
    assert_names(&message, &[&format!("case file {empty}")]);
    // Also next to a good file: nothing is run.
    let partial = write_cases(
        "partial.toml",
        "[[case]]\nname = \"a\"\nrow = \"r\"\nexpect = { tlfs = \"SUCCESS\" }\n",
    );
    input_file_error(&["conform", &partial, &empty]);
}

#[test]
fn conform_names_the_allowed_forms_of_a_malformed_expectation_or_connection() {
    let file = format!("{CONFORMANCE}/invalid/expect-not-a-status.toml");
    // Its whole message is a documented session (docs/CLI.md, "Conformance case files").
    let message = input_file_error(&["conform", &file]);
    assert_names(&message, &[&file]);
    let file = write_cases(
        "bad-connection.toml",
        "[[case]]\nname = \"a\"\nrow = \"r\"\nconnection = true\nexpect = { tlfs = \"SUCCESS\" }\n",
    );
    // The forms it allows, not serde's internal name for them.
    let message = input_file_error(&["conform", &file]);
    assert!(!message.contains("untagged enum"), "{message}");
    assert_names(&message, &["\"live\"", "\"unknown\"", "number"]);
}

#[test]
fn conform_refuses_a_case_file_that_is_not_a_regular_file() {
    let message = input_file_error(&["conform", "/dev/zero"]);
    assert_names(&message, &["case file /dev/zero", "character device"]);
    let message = input_file_error(&["conform", CONFORMANCE]);
    assert_names(
        &message,
        &[&format!("case file {CONFORMANCE}"), "directory"],
    );
}

/// Writes a case file into a directory of this test process and returns its path.
fn write_cases(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("hvsignal-cases-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn conform_reports_the_world_each_case_ran_on() {
    let v = model_json(&["conform"], 0);
    let world_of = |name: &str| {
        v["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == json!(name))
            .unwrap_or_else(|| panic!("{name}"))["world"]
            .clone()
    };
    assert_eq!(v["world"], json!("built-in"));
    assert_eq!(world_of("valid-connection"), json!("built-in"));
    assert_eq!(
        world_of("rsvdz-nonzero"),
        json!("crates/hvmodel/worlds/malformed-calls.toml")
    );
    assert_eq!(
        world_of("caller-lacks-signal-events"),
        json!("crates/hvmodel/worlds/access-denied.toml")
    );
    // Untestable cases run on no world.
    assert_eq!(world_of("cpl3-caller"), Value::Null);
    // --world changes the default world, not the cases' own.
    let default = world("default.toml");
    let v = model_json(&["--world", &default, "conform"], 0);
    assert_eq!(v["world"], json!(default));
    let cases = v["cases"].as_array().unwrap();
    let valid = cases
        .iter()
        .find(|c| c["name"] == json!("valid-connection"))
        .unwrap();
    assert_eq!(valid["world"], json!(default));
    let rsvd = cases
        .iter()
        .find(|c| c["name"] == json!("rsvdz-nonzero"))
        .unwrap();
    assert_eq!(
        rsvd["world"],
        json!("crates/hvmodel/worlds/malformed-calls.toml")
    );
}

#[test]
fn conform_tells_no_expectation_from_not_applicable() {
    let file = write_cases(
        "partial-expectations.toml",
        "[[case]]\nname = \"only-kvm\"\nrow = \"r\"\nconnection = \"unknown\"\n\
         [case.expect]\nkvm = \"INVALID_CONNECTION_ID\"\ntlfs = \"n/a\"\n",
    );
    let v = model_json(&["conform", &file, "--all-profiles"], 0);
    let by_profile = |profile: &str| {
        v["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["profile"] == json!(profile))
            .unwrap()
            .clone()
    };
    let tlfs = by_profile("tlfs");
    assert_eq!(tlfs["expectation"], json!("n/a"));
    assert_eq!(tlfs["expected"], Value::Null);
    assert_eq!(tlfs["verdict"], json!("info"));
    let kvm = by_profile("kvm");
    assert_eq!(kvm["expectation"], json!("status"));
    assert_eq!(kvm["verdict"], json!("pass"));
    for profile in ["qemu", "openvmm"] {
        let c = by_profile(profile);
        assert_eq!(c["expectation"], json!("none"), "{profile}");
        assert_eq!(c["expected"], Value::Null, "{profile}");
        assert_eq!(c["verdict"], json!("info"), "{profile}");
    }
    // The one human-only fact kept for conform: the verdict column tells "no expectation" from
    // "n/a" (the JSON's `expectation`). No documented session shows a case without an
    // expectation, so the golden test cannot see this column value.
    let printed = model_run(&["conform", &file, "--profile", "qemu"], 0);
    let text = String::from_utf8(printed.stdout).unwrap();
    assert!(text.contains("info (no expectation)"), "{text}");
    assert!(!text.contains("info (n/a)"), "{text}");
}

#[test]
fn conform_connection_is_accepted_as_c_and_said_to_be_ignored_on_the_model() {
    for option in ["-c", "--connection"] {
        let args = ["--backend", "model", "--json", "conform", option, "0x2002"];
        let printed = support::run(&args, 0);
        // One warning, naming the id it ignores.
        assert_eq!(printed.stderr.lines().count(), 1, "{}", printed.stderr);
        assert_names(&printed.stderr, &["--connection 0x2002"]);
        let v = support::parse_strict_json(&printed.stdout).unwrap();
        assert_eq!(v["summary"]["failed"], json!(0));
    }
    // Without it, no warning.
    assert!(model_run(&["--json", "conform"], 0).stderr.is_empty());
}

/// What the human conform report shows (its layout: the golden test's `conform`), as data.
#[test]
fn conform_report_of_one_profile() {
    let v = model_json(&["conform", "--profile", "openvmm"], 0);
    assert_eq!(v["profile"], json!("openvmm"));
    assert_eq!(v["world"], json!("built-in"));
    assert_eq!(
        v["summary"],
        json!({"passed": 19, "failed": 0, "informational": 6, "skipped": 4})
    );
    let rsvd = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == json!("rsvdz-nonzero"))
        .unwrap();
    assert_eq!(
        rsvd["world"],
        json!("crates/hvmodel/worlds/malformed-calls.toml")
    );
    assert_eq!(
        rsvd["expected"],
        json!({"code": 0, "name": "HV_STATUS_SUCCESS"})
    );
    assert_eq!(
        rsvd["observed"],
        json!({"code": 0, "name": "HV_STATUS_SUCCESS"})
    );
    assert_eq!(rsvd["verdict"], json!("pass"));
    // The human report of the same run exits 0 too.
    model_run(&["conform", "--profile", "openvmm"], 0);
}

#[test]
fn dry_run_uses_the_worlds_vendor() {
    let v = model_json(
        &[
            "--world",
            &world("kvm.toml"),
            "signal",
            "-c",
            "0x24",
            "--dry-run",
        ],
        0,
    );
    assert_eq!(v["vendor"], json!("amd"));
    assert_eq!(v["vendor_source"], json!("world"));
    assert_eq!(
        v["instruction"],
        json!({"vendor": "amd", "mnemonic": "vmmcall", "encoding": "0f 01 d9"})
    );
}

#[test]
fn help_lists_every_command() {
    let stdout = support::run(&["--help"], 0).stdout;
    let text = String::from_utf8(stdout).unwrap();
    // Each command is a word of the help, and its own help is there.
    let words: Vec<&str> = text.split_whitespace().collect();
    for command in [
        "info", "signal", "bench", "scan", "status", "conform", "fuzz", "help",
    ] {
        assert!(words.contains(&command), "{command}");
        support::run(&[command, "--help"], 0);
    }
}

/// Every condition that makes a hypercall illegal is described by a world; on each the program
/// issues nothing, exits 3, and `info` names the refusal (`hvcall::Refusal::name`) and shows
/// which MSRs were read.
#[test]
fn every_refusal_exits_3_and_info_names_it() {
    for (file, refusal, os_id, msr, isolation) in [
        ("no-hypervisor.toml", "no-hypervisor", None, None, None),
        (
            "refuse-not-microsoft-hypervisor.toml",
            "not-microsoft-hypervisor",
            None,
            None,
            None,
        ),
        (
            "refuse-isolation-snp.toml",
            "isolated",
            None,
            None,
            Some(("snp", false)),
        ),
        (
            "refuse-no-hypercall-msr-access.toml",
            "no-hypercall-msr-access",
            None,
            None,
            None,
        ),
        (
            "refuse-isolation-leaf-missing.toml",
            "isolation-leaf-missing",
            None,
            None,
            None,
        ),
        (
            "refuse-isolation-tdx.toml",
            "isolated",
            None,
            None,
            Some(("tdx", false)),
        ),
        (
            "refuse-isolation-snp-paravisor.toml",
            "isolated",
            None,
            None,
            Some(("snp", true)),
        ),
        (
            "refuse-guest-os-id-not-set.toml",
            "guest-os-id-not-set",
            Some("0x0000000000000000"),
            None,
            None,
        ),
        (
            "refuse-hypercall-page-disabled.toml",
            "hypercall-page-disabled",
            Some("0x0001040a000065f4"),
            Some("0x0000000000001000"),
            None,
        ),
    ] {
        let w = world(file);
        let v = model_json(&["--world", &w, "signal", "-c", "0x2001"], 3);
        assert_eq!(v["error"]["kind"], json!("environment"), "{file}");
        let info = model_json(&["--world", &w, "info"], 0);
        let h = &info["hypercalls"];
        assert_eq!(h["allowed"], json!(false), "{file}");
        assert_eq!(h["refusal"]["name"], json!(refusal), "{file}");
        assert_eq!(h["guest_os_id"], json!(os_id), "{file}");
        assert_eq!(h["hypercall_msr"], json!(msr), "{file}");
        assert_eq!(h["rax"], json!("0x80000000"));
        match isolation {
            Some((kind, paravisor)) => {
                assert_eq!(h["isolation"]["type"], json!(kind), "{file}");
                assert_eq!(h["isolation"]["paravisor"], json!(paravisor), "{file}");
            }
            None => assert_eq!(h["isolation"], Value::Null, "{file}"),
        }
        assert_eq!(info["cpu"]["instruction"], Value::Null, "{file}");
    }
}

/// On a Xen host the call is a Hyper-V call because RAX bit 31 is set; viridian has no
/// HvCallSignalEvent, so the answer is INVALID_HYPERCALL_CODE (0x0002).
#[test]
fn xen_answers_invalid_hypercall_code_to_signal_event() {
    let w = world("xen.toml");
    let v = model_json(&["--world", &w, "signal", "-c", "0x2001"], 1);
    assert_eq!(
        v["operations"][0]["first_status"],
        json!({"code": 2, "name": "HV_STATUS_INVALID_HYPERCALL_CODE"})
    );
    let info = model_json(&["--world", &w, "info"], 0);
    assert_eq!(info["hypervisor"]["version"]["text"], json!("6.0.6002"));
    assert_eq!(info["hypercalls"]["allowed"], json!(true));
}

/// `signal --show-receiver --json` with `args`: the `receiver` object of each operation.
fn receivers(args: &[&str], code: i32) -> Vec<Value> {
    let mut all = vec!["signal", "--show-receiver"];
    all.extend_from_slice(args);
    let v = model_json(&all, code);
    v["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["receiver"].clone())
        .collect()
}

#[test]
fn show_receiver_reports_the_flag_newly_set_and_the_sint_raised() {
    let r = receivers(&["-c", "0x2002", "-f", "3", "-c", "0x2005"], 1);
    assert_eq!(
        r[0],
        json!({
            "route": {"port": 2, "partition": 1, "target_vp": 0, "sint": 2, "flag": 19},
            "vp": 0, "raised": 1, "already_set": 0, "dropped": 0, "not_delivered": 0,
            "blocked": null
        })
    );
    assert_eq!(
        r[1],
        json!({
            "route": null, "vp": null, "raised": 0, "already_set": 0, "dropped": 0,
            "not_delivered": 1, "blocked": null
        })
    );
}

#[test]
fn show_receiver_counts_each_call_of_an_operation_on_its_own() {
    // The first call sets the flag and raises the SINT; the others find it set. Nothing clears
    // the flag between operations (no receiver runs), so the second operation finds it set.
    let r = receivers(
        &["-c", "0x2001", "-c", "0x2001", "-f", "0", "--calls", "5"],
        0,
    );
    assert_eq!(r[0]["raised"], json!(1));
    assert_eq!(r[0]["already_set"], json!(4));
    assert_eq!(r[1]["raised"], json!(0));
    assert_eq!(r[1]["already_set"], json!(5));
    assert_eq!(r[1]["vp"], json!(0));
}

#[test]
fn show_receiver_names_why_the_target_could_not_take_the_event() {
    // TLFS: the call fails, nothing is delivered.
    let synic = world("invalid-synic-state.toml");
    let r = receivers(
        &[
            "--world", &synic, "-c", "0x6001", "-c", "0x6002", "-c", "0x6003", "-c", "0x6004",
        ],
        1,
    );
    let blocked: Vec<&Value> = r.iter().map(|x| &x["blocked"]).collect();
    assert_eq!(
        blocked,
        [
            &json!("synic_disabled"),
            &json!("sief_disabled"),
            &json!("sint_masked"),
            &Value::Null
        ]
    );
    for x in &r[..3] {
        assert_eq!(x["not_delivered"], json!(1), "{x}");
        assert_eq!(x["vp"], Value::Null, "{x}");
    }
    assert_eq!(r[2]["route"]["target_vp"], json!(2));
    assert_eq!(r[2]["route"]["sint"], json!(3));
    assert_eq!(r[3]["raised"], json!(1));
    assert_eq!(r[3]["vp"], json!(2));
    // KVM: the call succeeds and the event is dropped.
    let dir = std::env::temp_dir().join(format!("hvsignal-receiver-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kvm = dir.join("kvm-masked.toml");
    std::fs::write(
        &kvm,
        "profile = \"kvm\"\n[[partition]]\nid = 1\n[[partition.vp]]\nindex = 2\n\
         masked_sints = [3]\n[[port]]\nid = 3\npartition = 1\ntarget_vp = 2\nsint = 3\n\
         [[connection]]\nid = 0x6003\nport = 3\n",
    )
    .unwrap();
    let r = receivers(&["--world", kvm.to_str().unwrap(), "-c", "0x6003"], 0);
    assert_eq!(
        r[0],
        json!({
            "route": {"port": 3, "partition": 1, "target_vp": 2, "sint": 3, "flag": 0},
            "vp": null, "raised": 0, "already_set": 0, "dropped": 1, "not_delivered": 0,
            "blocked": "sint_masked"
        })
    );
}

#[test]
fn show_receiver_names_the_vp_an_any_port_chose() {
    let r = receivers(
        &["--world", &world("invalid-vp-index.toml"), "-c", "0x5004"],
        0,
    );
    assert_eq!(r[0]["route"]["target_vp"], json!("any"));
    assert_eq!(r[0]["route"]["partition"], json!(3));
    assert_eq!(r[0]["vp"], json!(7));
    assert_eq!(r[0]["raised"], json!(1));
    let r = receivers(
        &["--world", &world("invalid-vp-index.toml"), "-c", "0x5002"],
        1,
    );
    assert_eq!(r[0]["blocked"], json!("no_vp_available"));
}

#[test]
fn receiver_is_shown_only_when_asked_and_only_on_the_model() {
    let v = model_json(&["signal", "-c", "0x2001"], 0);
    assert!(v["operations"][0].get("receiver").is_none());
    let v = support::error_of(
        &[
            "--backend",
            "device",
            "signal",
            "-c",
            "0x2001",
            "--show-receiver",
        ],
        2,
        "usage",
    );
    assert_eq!(v["backend"], json!("device"));
    assert_names(
        v["error"]["message"].as_str().unwrap(),
        &["--show-receiver"],
    );
}

#[test]
fn a_world_that_is_not_a_regular_file_is_refused_without_reading_it() {
    let v = model_json(&["--world", "/dev/zero", "info"], 2);
    assert_eq!(v["command"], json!("info"));
    assert_eq!(v["error"]["kind"], json!("input_file"));
    // The file and what it is instead.
    assert_names(
        v["error"]["message"].as_str().unwrap(),
        &["world file /dev/zero", "character device"],
    );
    // A FIFO with no writer: opening it would block; it is refused at once.
    let dir = std::env::temp_dir().join(format!("hvsignal-fifo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("world.toml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let fifo_path = fifo.to_str().unwrap();
    let message = model_error(
        &["--world", fifo_path, "signal", "-c", "0x2001"],
        2,
        "input_file",
    );
    assert_names(&message, &[fifo_path, "FIFO"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_world_with_more_vps_than_the_model_allows_is_refused() {
    let dir = std::env::temp_dir().join(format!("hvsignal-vps-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("many-vps.toml");
    let mut text = String::from("[[partition]]\nid = 1\n");
    for index in 0..16_385 {
        let _ = write!(text, "[[partition.vp]]\nindex = {index}\n");
    }
    std::fs::write(&path, text).unwrap();
    let message = model_error(
        &["--world", path.to_str().unwrap(), "info"],
        2,
        "input_file",
    );
    // The file with the line and column of the 16385th VP, the key, and the limit.
    assert_names(
        &message,
        &[
            &format!("{}:32771:1", path.display()),
            "`partition.vp`",
            "16384",
        ],
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
