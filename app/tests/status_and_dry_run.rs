//! End-to-end tests of `hvsignal status` and `hvsignal signal --dry-run` (no backend needed).

mod support;

use assert_cmd::Command;
use serde_json::{Value, json};

fn hvsignal() -> Command {
    let mut cmd = Command::cargo_bin("hvsignal").expect("binary built");
    cmd.env("NO_COLOR", "1");
    cmd
}

fn json_of(args: &[&str]) -> Value {
    let output = hvsignal().args(args).output().expect("runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    support::parse_strict_json(&output.stdout).expect("one JSON document with unique keys")
}

fn stderr_of(args: &[&str], code: i32) -> String {
    let output = hvsignal().args(args).output().expect("runs");
    assert_eq!(output.status.code(), Some(code), "{args:?}");
    String::from_utf8(output.stderr).expect("utf-8")
}

#[test]
fn status_decodes_hex_decimal_binary_and_names() {
    for code in [
        "0x12",
        "18",
        "0b10010",
        "HV_STATUS_INVALID_CONNECTION_ID",
        "invalid_connection_id",
    ] {
        hvsignal()
            .args(["--backend", "model", "status", code])
            .assert()
            .code(0)
            .stdout(
                "HV_STATUS 0x0012 (18)\n  \
                 name         HV_STATUS_INVALID_CONNECTION_ID\n  \
                 meaning      The connection ID is invalid: no connection with this ID exists for the caller.\n  \
                 SignalEvent  listed on the TLFS HvCallSignalEvent page\n",
            );
    }
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
        let v = json_of(&["--json", "status", code]);
        assert_eq!(v["signal_event_source"], *source, "{code}");
        assert_eq!(v["listed_for_signal_event"], json!(listed), "{code}");
    }
    for (code, line) in [
        (
            "0x2",
            "  SignalEvent  not on the TLFS HvCallSignalEvent page; a status any hypercall can return (TLFS hypercall interface)\n",
        ),
        (
            "0x6",
            "  SignalEvent  listed on the TLFS HvCallSignalEvent page\n",
        ),
        (
            "0x8",
            "  SignalEvent  not among the results the TLFS lists for HvCallSignalEvent\n",
        ),
    ] {
        let output = hvsignal().args(["status", code]).output().expect("runs");
        assert_eq!(output.status.code(), Some(0), "{code}");
        let stdout = String::from_utf8(output.stdout).expect("utf-8");
        assert!(stdout.ends_with(line), "{code}: {stdout}");
    }
}

#[test]
fn status_says_unknown_codes_are_unknown() {
    hvsignal()
        .args(["status", "0x1234"])
        .assert()
        .code(0)
        .stdout(
            "HV_STATUS 0x1234 (4660)\n  \
             name     unknown\n  \
             meaning  no source (TLFS, OpenVMM, Linux, QEMU, HDK) names this value\n",
        );
}

#[test]
fn status_json_schema() {
    let v = json_of(&["--backend", "model", "--json", "status", "0x11"]);
    assert_eq!(
        v,
        json!({
            "command": "status",
            "backend": "model",
            "simulated": true,
            "code": 17,
            "hex": "0x0011",
            "name": "HV_STATUS_INVALID_PORT_ID",
            "meaning": "The port is invalid; for SignalEvent, it was deleted, is not an event port, or its partition is not active.",
            "known": true,
            "listed_for_signal_event": true,
            "signal_event_source": "signal-event-page"
        })
    );
    let v = json_of(&["status", "--json", "1"]);
    assert_eq!(v["known"], json!(false));
    assert_eq!(v["name"], Value::Null);
    assert_eq!(v["meaning"], Value::Null);
    assert_eq!(v["code"], json!(1));
    // status needs no backend: the device backend works on any OS.
    let v = json_of(&["--backend", "device", "--json", "status", "0"]);
    assert_eq!(
        (v["backend"].clone(), v["simulated"].clone()),
        (json!("device"), json!(false))
    );
    assert_eq!(v["name"], json!("HV_STATUS_SUCCESS"));
}

#[test]
fn status_refuses_bad_codes_with_exit_2() {
    assert_eq!(
        stderr_of(&["status", "0x10012"], 2),
        "hvsignal: error: CODE 0x10012: an HV_STATUS is 16 bits (0 to 0xffff); a hypercall result \
         value (RAX) carries it in bits 15:0, so pass 0x0012\n"
    );
    assert_eq!(
        stderr_of(&["status", "bogus"], 2),
        "hvsignal: error: CODE 'bogus' is neither a number (decimal, 0x-hex, 0b-binary, 0 to \
         0xffff) nor a known status name (e.g. HV_STATUS_INVALID_PORT_ID or INVALID_PORT_ID)\n"
    );
    assert!(stderr_of(&["status"], 2).contains("<CODE>"));
}

#[test]
fn json_errors_are_documents_too() {
    let output = hvsignal()
        .args(["--json", "--backend", "model", "status", "0x10000"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let v = support::parse_strict_json(&output.stdout).unwrap();
    assert_eq!(v["command"], json!("status"));
    assert_eq!(v["error"]["kind"], json!("usage"));
    assert_eq!(v["exit_code"], json!(2));
}

#[test]
fn dry_run_fast_prints_registers_control_fields_and_bytes() {
    let out = hvsignal()
        .args([
            "--backend",
            "device",
            "signal",
            "-c",
            "0x2001",
            "-f",
            "3",
            "--dry-run",
        ])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    for line in [
        "Call 1: connection 0x2001, flag 3, fast convention",
        "  RCX       0x0000_0000_0001_005d  control word",
        "  RDX       0x0000_0003_0000_2001  input: connection id | flag << 32 | RsvdZ << 48",
        "  R8        0x0000_0000_0000_0000  second input register: unused by SignalEvent",
        "     15:0  call code             0x005d  HvCallSignalEvent",
        "       16  fast                       1  register convention",
        "    43:32  rep count                  0  0 for a simple call",
        "  Input (8 bytes, little-endian)  01 20 00 00 03 00 00 00  = RDX",
        "  intel   vmcall       0f 01 c1",
        "  amd     vmmcall      0f 01 d9",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(line)),
            "missing {line:?} in\n{text}"
        );
    }
    assert!(
        !text.contains("simulated"),
        "the device backend is not simulated"
    );
}

#[test]
fn dry_run_memory_convention() {
    let v = json_of(&["--json", "signal", "-c", "8193", "--memory", "--dry-run"]);
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
    let v = json_of(&[
        "--json",
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
    ]);
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
    assert_eq!(
        stderr_of(&["signal", "-c", "0x1000000", "--dry-run"], 2),
        "hvsignal: error: --connection: connection id 0x1000000 does not fit 24 bits (0 to \
         0xffffff); bits 31:24 are reserved. Add --raw to send it anyway (raw mode)\n"
    );
    assert!(
        stderr_of(&["signal", "-c", "1", "-f", "65536", "--dry-run"], 2).starts_with(
            "error: invalid value '65536' for '--flag <FLAG>': 65536 (0x10000) is out of range for a \
             flag number: allowed 0 to 65535 (0xffff)"
        )
    );
    assert!(
        stderr_of(&["signal", "-c", "12x", "--dry-run"], 2).starts_with(
            "error: invalid value '12x' for '--connection <ID>': '12x' is not a number; write it in \
             decimal (8193), hexadecimal (0x2001) or binary (0b1)"
        )
    );
    assert!(
        stderr_of(
            &["signal", "-c", "1", "--rep-count", "4096", "--dry-run"],
            2
        )
        .starts_with("error: invalid value '4096' for '--rep-count <N>'")
    );
    assert!(
        stderr_of(
            &[
                "signal",
                "-c",
                "1",
                "--control-bits",
                "0x10000",
                "--dry-run"
            ],
            2
        )
        .starts_with("hvsignal: error: --control-bits 0x10000: bits 16:0 (call code and fast bit) are never settable")
    );
    assert!(stderr_of(&["signal", "--dry-run"], 2).contains("--connection <ID>"));
    assert!(
        // `--repeat` is an alias of `--calls`: clap names the option by its name.
        stderr_of(&["signal", "-c", "1", "--repeat", "0", "--dry-run"], 2)
            .contains("'--calls <N>'")
    );
}

#[test]
fn world_with_device_backend_is_bad_usage() {
    assert!(
        stderr_of(
            &["--backend", "device", "--world", "w.toml", "status", "0"],
            2
        )
        .starts_with("hvsignal: error: --world w.toml: world files describe the model")
    );
}
