//! The example sessions in README.md and docs/CLI.md are real: every `$ hvsignal …` line in a
//! `text` block is run on the model and its output compared with what the document shows.
//!
//! A block is checked command by command: `$ hvsignal ARGS` runs the program (the model backend is
//! forced, as off Windows), the lines up to the next `$ ` are its expected output, and
//! `$ echo $?` checks the exit status of the command before it. Expected output is compared with
//! stdout, or with stderr followed by stdout for commands that warn first; a line's trailing
//! `(on stderr)` annotation is ignored. In an excerpt, a line that is `…` (with any indent)
//! stands for any run of lines, possibly none; every other line must match, in order.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    reason = "test code: a panic is a failed test"
)]

use std::path::Path;

use assert_cmd::Command;

/// One `$ hvsignal …` example.
struct Example {
    document: &'static str,
    line: usize,
    args: Vec<String>,
    expected: Vec<String>,
    expected_exit: Option<i32>,
}

fn text_blocks(text: &str) -> Vec<(usize, Vec<&str>)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, Vec<&str>)> = None;
    for (index, line) in text.lines().enumerate() {
        match (&mut current, line.trim_end()) {
            (None, "```text") => current = Some((index + 2, Vec::new())),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some((_, lines)), _) => lines.push(line),
            (None, _) => {}
        }
    }
    blocks
}

fn examples(document: &'static str) -> Vec<Example> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(document);
    let text = std::fs::read_to_string(&path).expect("document readable");
    let mut examples: Vec<Example> = Vec::new();
    for (first_line, lines) in text_blocks(&text) {
        for (offset, line) in lines.iter().enumerate() {
            if let Some(command) = line.strip_prefix("$ hvsignal ") {
                examples.push(Example {
                    document,
                    line: first_line + offset,
                    args: command.split_whitespace().map(str::to_owned).collect(),
                    expected: Vec::new(),
                    expected_exit: None,
                });
            } else if line.trim_end() == "$ echo $?" {
                let code = lines.get(offset + 1).and_then(|l| l.trim().parse().ok());
                let last = examples.last_mut().expect("`$ echo $?` follows a command");
                last.expected_exit = code;
            } else if let Some(last) = examples.last_mut()
                && last.expected_exit.is_none()
                && !line.starts_with("$ ")
            {
                last.expected.push(normalise(line));
            }
        }
    }
    examples
}

fn normalise(line: &str) -> String {
    let line = line.trim_end();
    line.strip_suffix("(on stderr)")
        .unwrap_or(line)
        .trim_end()
        .to_owned()
}

fn lines_of(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(normalise)
        .collect()
}

fn check(example: &Example) -> Result<(), String> {
    let where_ = format!(
        "{}:{} `hvsignal {}`",
        example.document,
        example.line,
        example.args.join(" ")
    );
    if example.args.iter().any(|a| a == "|") {
        return Err(format!(
            "{where_}: pipes are not run; show the whole output or mark it with …"
        ));
    }
    let output = Command::cargo_bin("hvsignal")
        .expect("binary built")
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .env("NO_COLOR", "1")
        .args(["--backend", "model"])
        .args(&example.args)
        .output()
        .map_err(|e| format!("{where_}: {e}"))?;
    let code = output.status.code();
    let excerpt = example.expected.iter().any(|l| l.contains('…'));
    match example.expected_exit {
        Some(expected) if code != Some(expected) => {
            return Err(format!(
                "{where_}: exit status {code:?}, the document says {expected}"
            ));
        }
        None if !matches!(code, Some(0 | 1)) => {
            return Err(format!("{where_}: exit status {code:?}"));
        }
        _ => {}
    }
    let mut expected = example.expected.clone();
    while expected.last().is_some_and(String::is_empty) {
        expected.pop();
    }
    let stdout = lines_of(&output.stdout);
    let mut both = lines_of(&output.stderr);
    both.extend(stdout.iter().cloned());
    let matches = |actual: &[String]| {
        if excerpt {
            excerpt_matches(&expected, actual)
        } else {
            expected == actual
        }
    };
    if matches(&stdout) || matches(&both) {
        Ok(())
    } else {
        Err(format!(
            "{where_}: output differs from the document\n--- document\n{}\n--- program\n{}",
            expected.join("\n"),
            both.join("\n")
        ))
    }
}

/// True when `actual` is `expected` with each `…` line standing for any run of lines.
fn excerpt_matches(expected: &[String], actual: &[String]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first.trim() == "…" => {
            (0..=actual.len()).any(|skip| excerpt_matches(rest, &actual[skip..]))
        }
        Some((first, rest)) => actual
            .split_first()
            .is_some_and(|(line, tail)| line == first && excerpt_matches(rest, tail)),
    }
}

#[test]
fn excerpts_match_around_their_gaps() {
    let lines = |text: &str| text.lines().map(str::to_owned).collect::<Vec<_>>();
    let actual = lines("a\nb\nc\nd");
    assert!(excerpt_matches(&lines("a\n  …\nd"), &actual));
    assert!(excerpt_matches(&lines("…\nc\nd"), &actual));
    assert!(excerpt_matches(&lines("a\nb\n…"), &actual));
    assert!(excerpt_matches(&lines("a\n…\nb\nc\n…\nd"), &actual));
    assert!(!excerpt_matches(&lines("a\n…\nx\n…"), &actual));
    assert!(
        !excerpt_matches(&lines("a\n…\nc"), &actual),
        "the end must match too"
    );
    assert!(
        !excerpt_matches(&lines("b\n…"), &actual),
        "so must the start"
    );
}

#[test]
fn documented_sessions_are_what_the_program_prints() {
    let all: Vec<Example> = ["README.md", "docs/CLI.md"]
        .into_iter()
        .flat_map(examples)
        .collect();
    assert!(all.len() >= 15, "found only {} examples", all.len());
    let failures: Vec<String> = all.iter().filter_map(|e| check(e).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_wrong_example_is_reported() {
    let wrong = Example {
        document: "inline",
        line: 1,
        args: vec!["status".into(), "0x11".into()],
        expected: vec![
            "HV_STATUS 0x0011 (17)".into(),
            "  name         HV_STATUS_INVALID_PARAMETER".into(),
        ],
        expected_exit: None,
    };
    let error = check(&wrong).unwrap_err();
    assert!(error.contains("output differs"), "{error}");
    let wrong_exit = Example {
        expected_exit: Some(0),
        ..example_of(&["signal", "-c", "0x2005"])
    };
    assert!(
        check(&wrong_exit)
            .unwrap_err()
            .contains("exit status Some(1)")
    );
}

fn example_of(args: &[&str]) -> Example {
    Example {
        document: "inline",
        line: 1,
        args: args.iter().map(|&a| a.to_owned()).collect(),
        expected: vec!["…".into()],
        expected_exit: None,
    }
}
