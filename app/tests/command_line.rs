//! The command line itself: JSON error documents for every usage error (clap's included), help,
//! which options each command offers, and option aliases.

mod support;

use assert_cmd::Command;
use serde_json::{Value, json};

fn hvsignal() -> Command {
    let mut cmd = Command::cargo_bin("hvsignal").expect("binary built");
    cmd.env("NO_COLOR", "1");
    cmd
}

/// Runs `args` (no `--backend` added), checks the exit code, returns stdout and stderr.
fn run(args: &[&str], code: i32) -> (Vec<u8>, String) {
    let output = hvsignal().args(args).output().expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(code), "{args:?}: {stderr}");
    (output.stdout, stderr)
}

/// The one JSON error document a failing `args` prints on stdout.
fn error_document(args: &[&str]) -> Value {
    let (stdout, _) = run(args, 2);
    support::parse_strict_json(&stdout).expect("one JSON document on stdout")
}

#[test]
fn clap_usage_errors_print_one_json_error_document_with_json_anywhere() {
    for (args, command, message_start) in [
        (
            &["--backend", "model", "--json", "signal", "-c", "zz"][..],
            json!("signal"),
            "invalid value 'zz' for '--connection <ID>'",
        ),
        (
            &[
                "--backend",
                "model",
                "signal",
                "-c",
                "1",
                "-f",
                "65536",
                "--json",
            ],
            json!("signal"),
            "invalid value '65536' for '--flag <FLAG>'",
        ),
        (
            &[
                "--backend",
                "model",
                "--json",
                "bench",
                "--calls",
                "0",
                "-c",
                "1",
            ],
            json!("bench"),
            "invalid value '0' for '--calls <N>'",
        ),
        (
            &["--backend", "model", "--json", "scan", "--from", "1"],
            json!("scan"),
            "the following required arguments were not provided:",
        ),
        (
            &["--backend", "model", "--json", "sgnal"],
            Value::Null,
            "unrecognized subcommand 'sgnal'",
        ),
        (
            &["--backend", "model", "--json"],
            Value::Null,
            "'hvsignal' requires a subcommand",
        ),
    ] {
        let v = error_document(args);
        assert_eq!(v["command"], command, "{args:?}");
        assert_eq!(v["backend"], json!("model"), "{args:?}");
        assert_eq!(v["simulated"], json!(true), "{args:?}");
        assert_eq!(v["error"]["kind"], json!("usage"), "{args:?}");
        assert_eq!(v["exit_code"], json!(2), "{args:?}");
        let message = v["error"]["message"].as_str().expect("message");
        assert!(message.starts_with(message_start), "{args:?}: {message}");
        assert!(!message.contains('\n'), "{args:?}: one line: {message}");
    }
}

#[test]
fn the_error_document_names_the_backend_from_the_command_line() {
    let v = error_document(&["--json", "--backend", "device", "signal", "-c", "zz"]);
    assert_eq!(v["backend"], json!("device"));
    assert_eq!(v["simulated"], json!(false));
    let v = error_document(&["--json", "signal", "--world", "w.toml", "-c", "zz"]);
    assert_eq!(v["backend"], json!("model"));
}

#[test]
fn an_error_found_after_parsing_is_one_json_document_too() {
    let v = error_document(&["--backend", "model", "--json", "signal", "-c", "0x1000000"]);
    assert_eq!(v["command"], json!("signal"));
    assert_eq!(v["error"]["kind"], json!("usage"));
    assert_eq!(v["exit_code"], json!(2));
}

#[test]
fn without_json_a_usage_error_prints_nothing_on_stdout() {
    let (stdout, stderr) = run(&["--backend", "model", "signal", "-c", "zz"], 2);
    assert!(stdout.is_empty());
    assert!(stderr.starts_with("error: invalid value 'zz'"), "{stderr}");
}

#[test]
fn help_and_version_stay_plain_text_and_succeed_even_with_json() {
    for args in [
        &["--help"][..],
        &["--json", "--help"],
        &["signal", "--help", "--json"],
        &["help", "--help"],
        &["help"],
        &["help", "scan"],
        &["--version"],
        &["--json", "-V"],
    ] {
        let (stdout, _) = run(args, 0);
        assert!(!stdout.is_empty(), "{args:?}");
        assert!(
            serde_json::from_slice::<Value>(&stdout).is_err(),
            "{args:?} printed JSON"
        );
    }
    let (stdout, _) = run(&["help", "scan"], 0);
    assert!(String::from_utf8_lossy(&stdout).contains("Usage: hvsignal scan "));
    let (stdout, _) = run(&["help", "--help"], 0);
    assert!(String::from_utf8_lossy(&stdout).contains("Usage: hvsignal help "));
}

#[test]
fn help_of_an_unknown_command_is_a_usage_error() {
    let v = error_document(&["--backend", "model", "--json", "help", "sgnal"]);
    assert_eq!(v["command"], json!("help"));
    assert_eq!(v["error"]["kind"], json!("usage"));
}

/// The long options a command's help offers.
fn offered(command: &str) -> Vec<String> {
    let (stdout, _) = run(&[command, "--help"], 0);
    String::from_utf8_lossy(&stdout)
        .split_whitespace()
        .filter(|w| w.starts_with("--"))
        .map(|w| {
            w.trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
                .to_owned()
        })
        .collect()
}

#[test]
fn status_offers_no_backend_options_and_refuses_them_after_the_command() {
    let options = offered("status");
    assert_eq!(options, ["--help", "--json"]);
    let (_, stderr) = run(&["status", "--backend", "model", "0x11"], 2);
    assert!(
        stderr.contains("unexpected argument '--backend'"),
        "{stderr}"
    );
    // Before the command they are accepted, as for every command.
    run(&["--backend", "model", "status", "0x11"], 0);
}

#[test]
fn commands_that_use_a_backend_offer_backend_and_world() {
    for command in ["info", "signal", "bench", "scan", "conform"] {
        let options = offered(command);
        for option in ["--backend", "--world", "--json"] {
            assert!(
                options.iter().any(|o| o == option),
                "{command}: {options:?}"
            );
        }
    }
}

#[test]
fn backend_and_world_work_after_the_command_and_must_agree_with_those_before() {
    let world = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/hvmodel/worlds/openvmm.toml"
    );
    let (stdout, _) = run(&["--json", "info", "--world", world], 0);
    let v: Value = serde_json::from_slice(&stdout).unwrap();
    assert_eq!(v["backend"], json!("model"));
    assert_eq!(v["world"]["profile"], json!("openvmm"));
    let v = error_document(&[
        "--json",
        "--backend",
        "model",
        "info",
        "--backend",
        "device",
    ]);
    assert_eq!(v["command"], json!("info"));
    assert_eq!(v["error"]["kind"], json!("usage"));
}

#[test]
fn calls_is_the_option_of_signal_and_bench_and_repeat_its_alias() {
    for (option, calls) in [("--calls", 3), ("--repeat", 4), ("-n", 5)] {
        let n = calls.to_string();
        let (stdout, _) = run(
            &[
                "--backend",
                "model",
                "--json",
                "signal",
                "-c",
                "0x2001",
                option,
                &n,
            ],
            0,
        );
        let v: Value = serde_json::from_slice(&stdout).unwrap();
        assert_eq!(v["repeat"], json!(calls), "{option}");
        assert_eq!(v["operations"][0]["calls"], json!(calls), "{option}");
        let (stdout, _) = run(
            &[
                "--backend",
                "model",
                "--json",
                "bench",
                "-c",
                "0x2001",
                option,
                &n,
            ],
            0,
        );
        let v: Value = serde_json::from_slice(&stdout).unwrap();
        assert_eq!(v["calls"], json!(calls), "bench {option}");
    }
}
