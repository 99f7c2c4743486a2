//! The command line itself: JSON error documents for every usage error (clap's included), help,
//! which options each command offers, and option aliases.

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
use support::{assert_names, document, run};

/// The one JSON error document a failing `args` prints on stdout (exit 2).
fn error_document(args: &[&str]) -> Value {
    document(args, 2)
}

#[test]
fn clap_usage_errors_print_one_json_error_document_with_json_anywhere() {
    // Each message names what was wrong (the value, the option, the command); clap's sentences
    // around them are clap's.
    for (args, command, named) in [
        (
            &["--backend", "model", "--json", "signal", "-c", "zz"][..],
            json!("signal"),
            &["'zz'", "--connection"][..],
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
            &["'65536'", "--flag"],
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
            &["'0'", "--calls"],
        ),
        (
            &["--backend", "model", "--json", "scan", "--from", "1"],
            json!("scan"),
            &["--to"],
        ),
        (
            &["--backend", "model", "--json", "sgnal"],
            Value::Null,
            &["'sgnal'"],
        ),
        (&["--backend", "model", "--json"], Value::Null, &[]),
    ] {
        let v = error_document(args);
        assert_eq!(v["command"], command, "{args:?}");
        assert_eq!(v["backend"], json!("model"), "{args:?}");
        assert_eq!(v["simulated"], json!(true), "{args:?}");
        assert_eq!(v["error"]["kind"], json!("usage"), "{args:?}");
        assert_eq!(v["exit_code"], json!(2), "{args:?}");
        let message = v["error"]["message"].as_str().expect("message");
        assert!(!message.is_empty(), "{args:?}");
        assert!(!message.contains('\n'), "{args:?}: one line: {message}");
        assert_names(message, named);
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
    let printed = run(&["--backend", "model", "signal", "-c", "zz"], 2);
    assert!(printed.stdout.is_empty());
    assert_names(&printed.stderr, &["'zz'"]);
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
        let stdout = run(args, 0).stdout;
        assert!(!stdout.is_empty(), "{args:?}");
        assert!(
            serde_json::from_slice::<Value>(&stdout).is_err(),
            "{args:?} printed JSON"
        );
    }
    // `help COMMAND` is that command's help; `help --help` the help command's own.
    assert_eq!(
        run(&["help", "scan"], 0).stdout,
        run(&["scan", "--help"], 0).stdout
    );
    assert_eq!(run(&["help"], 0).stdout, run(&["--help"], 0).stdout);
    assert_ne!(
        run(&["help", "--help"], 0).stdout,
        run(&["--help"], 0).stdout
    );
    assert_eq!(offered("help"), ["--help", "--json"]);
}

#[test]
fn help_of_an_unknown_command_is_a_usage_error() {
    let v = error_document(&["--backend", "model", "--json", "help", "sgnal"]);
    assert_eq!(v["command"], json!("help"));
    assert_eq!(v["error"]["kind"], json!("usage"));
}

/// The long options a command's help offers.
fn offered(command: &str) -> Vec<String> {
    let stdout = run(&[command, "--help"], 0).stdout;
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
    let v = error_document(&["--json", "status", "--backend", "model", "0x11"]);
    assert_eq!(v["command"], json!("status"));
    assert_eq!(v["error"]["kind"], json!("usage"));
    assert_names(v["error"]["message"].as_str().unwrap(), &["'--backend'"]);
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
    let v = document(&["--json", "info", "--world", world], 0);
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
        let v = document(
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
        assert_eq!(v["repeat"], json!(calls), "{option}");
        assert_eq!(v["operations"][0]["calls"], json!(calls), "{option}");
        let v = document(
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
        assert_eq!(v["calls"], json!(calls), "bench {option}");
    }
}
