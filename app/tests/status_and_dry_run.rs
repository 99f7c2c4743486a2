//! End-to-end tests of `hvsignal status` and `hvsignal signal --dry-run` (no backend needed).

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
use support::{assert_names, error_of, json_of};

/// The message of the usage error (exit 2) `hvsignal --json ARGS` fails with.
fn usage_error(args: &[&str]) -> String {
    let v = error_of(args, 2, "usage");
    v["error"]["message"].as_str().unwrap().to_owned()
}

#[test]
fn status_decodes_hex_decimal_binary_and_names() {
    let expected = json_of(&["--backend", "model", "status", "0x12"], 0);
    assert_eq!(expected["code"], json!(18));
    assert_eq!(expected["hex"], json!("0x0012"));
    assert_eq!(expected["name"], json!("HV_STATUS_INVALID_CONNECTION_ID"));
    assert_eq!(expected["known"], json!(true));
    assert_eq!(expected["listed_for_signal_event"], json!(true));
    assert_eq!(expected["signal_event_source"], json!("signal-event-page"));
    for code in [
        "18",
        "0b10010",
        "HV_STATUS_INVALID_CONNECTION_ID",
        "invalid_connection_id",
    ] {
        assert_eq!(
            json_of(&["--backend", "model", "status", code], 0),
            expected,
            "{code}"
        );
    }
    // The human report of the same decoding succeeds too (its wording: docs/CLI.md, `status`).
    support::run(&["status", "invalid_connection_id"], 0);
}

#[test]
fn status_says_where_the_tlfs_lists_each_signal_event_result() {
    // The six statuses of the TLFS HvCallSignalEvent page, the four the hypercall interface
    // lists for every hypercall, and two others (known and unknown).
    let expected: &[(&str, Value, bool)] = &[
        ("0x05", json!("signal-event-page"), true),
        ("0x06", json!("signal-event-page"), true),
        ("0x0e", json!("signal-event-page"), true),
        ("0x11", json!("signal-event-page"), true),
        ("0x12", json!("signal-event-page"), true),
        ("0x18", json!("signal-event-page"), true),
        ("0x00", json!("any-hypercall"), true),
        ("0x02", json!("any-hypercall"), true),
        ("0x03", json!("any-hypercall"), true),
        ("0x04", json!("any-hypercall"), true),
        ("0x08", Value::Null, false),
        ("0x1234", Value::Null, false),
    ];
    for (code, source, listed) in expected {
        let v = json_of(&["status", code], 0);
        assert_eq!(v["signal_event_source"], *source, "{code}");
        assert_eq!(v["listed_for_signal_event"], json!(listed), "{code}");
    }
}

#[test]
fn status_says_unknown_codes_are_unknown() {
    let v = json_of(&["status", "0x1234"], 0);
    assert_eq!(v["code"], json!(4660));
    assert_eq!(v["hex"], json!("0x1234"));
    assert_eq!(v["known"], json!(false));
    assert_eq!(v["name"], Value::Null);
    assert_eq!(v["meaning"], Value::Null);
    assert_eq!(v["listed_for_signal_event"], json!(false));
    assert_eq!(v["signal_event_source"], Value::Null);
}

#[test]
fn status_json_schema() {
    let mut v = json_of(&["--backend", "model", "status", "0x11"], 0);
    // The meaning is prose (its text: the golden test's `status 0x11`); the rest is data.
    let meaning = v.as_object_mut().unwrap().remove("meaning").unwrap();
    assert!(!meaning.as_str().unwrap().is_empty());
    assert_eq!(
        v,
        json!({
            "command": "status",
            "backend": "model",
            "simulated": true,
            "code": 17,
            "hex": "0x0011",
            "name": "HV_STATUS_INVALID_PORT_ID",
            "known": true,
            "listed_for_signal_event": true,
            "signal_event_source": "signal-event-page"
        })
    );
    let v = support::document(&["status", "--json", "1"], 0);
    assert_eq!(v["known"], json!(false));
    assert_eq!(v["name"], Value::Null);
    assert_eq!(v["meaning"], Value::Null);
    assert_eq!(v["code"], json!(1));
    // status needs no backend: the device backend works on any OS.
    let v = json_of(&["--backend", "device", "status", "0"], 0);
    assert_eq!(
        (v["backend"].clone(), v["simulated"].clone()),
        (json!("device"), json!(false))
    );
    assert_eq!(v["name"], json!("HV_STATUS_SUCCESS"));
}

#[test]
fn status_refuses_bad_codes_with_exit_2() {
    // Beyond 16 bits: the message suggests the low 16 bits.
    assert_names(&usage_error(&["status", "0x10012"]), &["0x10012", "0x0012"]);
    assert_names(&usage_error(&["status", "bogus"]), &["'bogus'"]);
    assert_names(&usage_error(&["status"]), &["<CODE>"]);
}

#[test]
fn json_errors_are_documents_too() {
    let v = error_of(&["--backend", "model", "status", "0x10000"], 2, "usage");
    assert_eq!(v["command"], json!("status"));
    assert_eq!(v["backend"], json!("model"));
    assert_eq!(v["simulated"], json!(true));
}

#[test]
fn dry_run_fast_reports_registers_control_fields_and_bytes() {
    let v = json_of(
        &[
            "--backend",
            "device",
            "signal",
            "-c",
            "0x2001",
            "-f",
            "3",
            "--dry-run",
        ],
        0,
    );
    assert_eq!(v["dry_run"], json!(true));
    assert_eq!(v["raw"], json!(false));
    assert_eq!(v["simulated"], json!(false));
    let op = &v["operations"][0];
    assert_eq!(op["connection_id"], json!(0x2001));
    assert_eq!(op["flag"], json!(3));
    assert_eq!(op["convention"], json!("fast"));
    assert_eq!(
        op["registers"],
        json!({
            "rcx": "0x000000000001005d",
            "rdx": "0x0000000300002001",
            "r8": "0x0000000000000000"
        })
    );
    assert_eq!(
        op["control"],
        json!({
            "call_code": 0x5d,
            "fast": true,
            "variable_header_size": 0,
            "reserved_bits": "0x0",
            "nested": false,
            "rep_count": 0,
            "rep_start": 0
        })
    );
    assert_eq!(op["input_bytes"], json!("01 20 00 00 03 00 00 00"));
    assert_eq!(
        v["instructions"],
        json!([
            {"vendor": "intel", "mnemonic": "vmcall", "encoding": "0f 01 c1"},
            {"vendor": "amd", "mnemonic": "vmmcall", "encoding": "0f 01 d9"}
        ])
    );
}

/// The one human-only fact kept here: a human report from the device backend never claims to
/// be simulated. The golden test cannot show it (it runs every session on the model), and a
/// reader of the table has no `simulated` field to look at.
#[test]
fn a_device_backend_human_report_does_not_say_simulated() {
    let printed = support::run(
        &["--backend", "device", "signal", "-c", "0x2001", "--dry-run"],
        0,
    );
    let text = String::from_utf8(printed.stdout).unwrap();
    assert!(!text.contains("simulated"), "{text}");
}

#[test]
fn dry_run_memory_convention() {
    let v = json_of(&["signal", "-c", "8193", "--memory", "--dry-run"], 0);
    assert_eq!(v["dry_run"], json!(true));
    let op = &v["operations"][0];
    assert_eq!(op["convention"], json!("memory"));
    assert_eq!(op["registers"]["rcx"], json!("0x000000000000005d"));
    assert_eq!(op["registers"]["rdx"], Value::Null);
    assert_eq!(op["registers"]["r8"], json!("0x0000000000000000"));
    assert_eq!(op["input_bytes"], json!("01 20 00 00 00 00 00 00"));
    assert_eq!(op["control"]["fast"], json!(false));
    assert_eq!(
        v["instructions"],
        json!([
            {"vendor": "intel", "mnemonic": "vmcall", "encoding": "0f 01 c1"},
            {"vendor": "amd", "mnemonic": "vmmcall", "encoding": "0f 01 d9"}
        ])
    );
}

#[test]
fn dry_run_raw_fields() {
    let v = json_of(
        &[
            "signal",
            "-c",
            "0xAB002001",
            "--rsvd",
            "0x55",
            "--rep-count",
            "1",
            "--rep-start",
            "2",
            "--var-header",
            "3",
            "--control-bits",
            "0x1000000080000000",
            "--dry-run",
        ],
        0,
    );
    assert_eq!(v["raw"], json!(true));
    let op = &v["operations"][0];
    assert_eq!(op["connection_id"], json!(0xAB00_2001_u32));
    assert_eq!(op["registers"]["rcx"], json!("0x100200018007005d"));
    assert_eq!(op["registers"]["rdx"], json!("0x00550000ab002001"));
    assert_eq!(
        op["control"],
        json!({
            "call_code": 93,
            "fast": true,
            "variable_header_size": 3,
            "reserved_bits": "0x1000000000000000",
            "nested": true,
            "rep_count": 1,
            "rep_start": 2
        })
    );
}

#[test]
fn bad_signal_input_exits_2_naming_the_argument() {
    for (args, named) in [
        (
            &["signal", "-c", "0x1000000", "--dry-run"][..],
            &["--connection", "0x1000000", "--raw"][..],
        ),
        (
            &["signal", "-c", "1", "-f", "65536", "--dry-run"],
            &["'65536'", "--flag"],
        ),
        (
            &["signal", "-c", "12x", "--dry-run"],
            &["'12x'", "--connection"],
        ),
        (
            &["signal", "-c", "1", "--rep-count", "4096", "--dry-run"],
            &["'4096'", "--rep-count"],
        ),
        (
            &[
                "signal",
                "-c",
                "1",
                "--control-bits",
                "0x10000",
                "--dry-run",
            ],
            &["--control-bits 0x10000", "16:0"],
        ),
        (&["signal", "--dry-run"], &["--connection <ID>"]),
        // `--repeat` is an alias of `--calls`: clap names the option by its name.
        (
            &["signal", "-c", "1", "--repeat", "0", "--dry-run"],
            &["'--calls <N>'"],
        ),
    ] {
        let v = error_of(args, 2, "usage");
        assert_eq!(v["command"], json!("signal"), "{args:?}");
        assert_names(v["error"]["message"].as_str().unwrap(), named);
    }
}

#[test]
fn world_with_device_backend_is_bad_usage() {
    let v = error_of(
        &["--backend", "device", "--world", "w.toml", "status", "0"],
        2,
        "usage",
    );
    assert_eq!(v["backend"], json!("device"));
    assert_names(v["error"]["message"].as_str().unwrap(), &["--world w.toml"]);
}
