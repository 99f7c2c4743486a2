//! Every console-program command line of the Hyper-V VM harness (`tests/hyperv/*.ps1`,
//! `*.psm1`) parses with the real clap definition ([`Cli`]), so a flag renamed or removed here,
//! or mistyped in a script, fails `cargo test` instead of a VM run.
//!
//! The command lines come from the PowerShell parse shared with the root package's
//! `tests/hyperv_harness.rs` ([`hvsignal_invocations`]). Arguments the scripts compute
//! at run time ([`Token::Dynamic`]) are replaced by sample values, see [`SAMPLES`] and
//! [`command_line`].

use std::path::{Path, PathBuf};

use clap::error::ErrorKind;
use clap::{Arg, CommandFactory, Parser};

use super::Cli;

use hvsignal_test_support::powershell::{Invocation, Token, hvsignal_invocations, script_paths};

/// Sample values for arguments the harness computes at run time, by the argument's long name
/// (`--connection`, also reached as `-c`; `--calls`, also reached by its alias `--repeat`) or,
/// for a positional argument, its id.
///
/// The substitution rule ([`command_line`]): a dynamic token right after a flag that takes a
/// value gets that flag's sample; a dynamic token after the command, not after such a flag, is
/// the command's next positional argument and gets its sample; a dynamic token before the
/// command could be any command (or a flag), so it fails the check, as does a dynamic token
/// where the command takes no positional argument (it could only be an unchecked flag), or one
/// whose argument has no sample here. Each sample is a valid value of its argument, so clap
/// judges only what the script spells literally: commands, flag names, literal values, required
/// flags and argument counts.
const SAMPLES: &[(&str, &str)] = &[
    // Connection ids (24 bits), as in docs/CLI.md's examples.
    ("connection", "0x2001"),
    ("from", "0x2001"),
    ("to", "0x2001"),
    // Call counts.
    ("calls", "10"),
    ("flag", "0"),
    ("world", "world.toml"),
    ("backend", "model"),
    ("profile", "tlfs"),
    // Positional arguments: `status CODE`, `conform FILES...`.
    ("code", "18"),
    ("files", "cases.toml"),
    // `fuzz --log FILE`.
    ("log", "fuzz.log"),
];

/// The root of the repository (this package is `app/`).
fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("app/ lies in the repository")
        .to_path_buf()
}

/// The name [`SAMPLES`] knows an argument by.
fn sample_key(arg: &Arg) -> &str {
    arg.get_long().unwrap_or_else(|| arg.get_id().as_str())
}

fn sample(arg: &Arg) -> Result<&'static str, String> {
    let key = sample_key(arg);
    SAMPLES
        .iter()
        .find(|(name, _)| *name == key)
        .map(|(_, value)| *value)
        .ok_or_else(|| format!("no sample value for `{key}` (add one to SAMPLES)"))
}

/// The flag `word` names (`--long` or `-s`) if it takes a value: an argument of `command` (the
/// subcommand, once seen) or a global one of the program.
fn value_flag<'c>(
    root: &'c clap::Command,
    command: Option<&'c clap::Command>,
    word: &str,
) -> Option<&'c Arg> {
    let matches = |arg: &&Arg| {
        if let Some(long) = word.strip_prefix("--") {
            arg.get_long() == Some(long)
                || arg
                    .get_all_aliases()
                    .is_some_and(|aliases| aliases.contains(&long))
        } else if let Some(short) = word.strip_prefix('-') {
            let mut chars = short.chars();
            chars.next().is_some_and(|c| arg.get_short() == Some(c)) && chars.next().is_none()
        } else {
            false
        }
    };
    command
        .into_iter()
        .flat_map(clap::Command::get_arguments)
        .chain(root.get_arguments())
        .find(matches)
        .filter(|arg| arg.get_action().takes_values())
}

/// The program's arguments for `invocation`, dynamic tokens replaced by the sample values of
/// [`SAMPLES`]; an error for a dynamic token the rule there cannot place.
fn command_line(root: &clap::Command, invocation: &Invocation) -> Result<Vec<String>, String> {
    let mut arguments = Vec::new();
    let mut command: Option<&clap::Command> = None;
    let mut awaiting_value: Option<&Arg> = None;
    let mut positionals = 0usize;
    for token in &invocation.tokens {
        match token {
            Token::Literal(word) => {
                if awaiting_value.take().is_none() {
                    if word.starts_with('-') && !word.contains('=') {
                        awaiting_value = value_flag(root, command, word);
                    } else if command.is_none() {
                        // An unknown name is left for clap to report.
                        command = root.find_subcommand(word);
                    } else {
                        positionals += 1;
                    }
                }
                arguments.push(word.clone());
            }
            Token::Dynamic(expression) => {
                let value = if let Some(flag) = awaiting_value.take() {
                    sample(flag)?
                } else if let Some(command) = command {
                    let all: Vec<&Arg> = command.get_positionals().collect();
                    let Some(positional) = all.get(positionals).or_else(|| {
                        all.last()
                            .filter(|last| last.get_num_args().is_some_and(|n| n.max_values() > 1))
                    }) else {
                        return Err(format!(
                            "`{token}` stands where `{}` takes no argument; flags must be literal",
                            command.get_name()
                        ));
                    };
                    positionals += 1;
                    sample(positional)?
                } else {
                    return Err(format!(
                        "`{expression}` stands before the command; the command must be literal"
                    ));
                };
                arguments.push(value.to_owned());
            }
        }
    }
    Ok(arguments)
}

/// Why clap rejects `invocation` (its message up to the usage lines), or `None` when it parses.
fn clap_problem(invocation: &Invocation) -> Option<String> {
    // Built, so that what clap derives (global flags, positional value counts) is filled in.
    let mut root = Cli::command();
    root.build();
    let arguments = match command_line(&root, invocation) {
        Ok(arguments) => arguments,
        Err(problem) => return Some(format!("{invocation}: {problem}")),
    };
    match Cli::try_parse_from(std::iter::once("hvsignal".to_owned()).chain(arguments.clone())) {
        Ok(_) => None,
        Err(error)
            if matches!(
                error.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
            ) =>
        {
            None
        }
        Err(error) => {
            let rendered = error.to_string();
            let message: Vec<&str> = rendered
                .lines()
                .take_while(|line| !line.trim().is_empty())
                .map(str::trim)
                .collect();
            Some(format!(
                "{invocation}\n    parsed as: hvsignal {}\n    {}",
                arguments.join(" "),
                message.join(" ")
            ))
        }
    }
}

/// Every console-program command line of the harness, positions prefixed with the script's
/// path; panics on a call whose arguments cannot be read statically.
fn harness_invocations() -> Vec<Invocation> {
    let root = repository_root();
    let directory = root.join("tests").join("hyperv");
    let paths = script_paths(&directory);
    assert!(
        paths.len() >= 4,
        "expected the harness scripts in {}, found {paths:?}",
        directory.display()
    );
    let mut all = Vec::new();
    let mut unreadable = Vec::new();
    for path in paths {
        let name = path
            .strip_prefix(&root)
            .unwrap_or(&path)
            .display()
            .to_string();
        let source = std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("cannot read {name}: {error}"));
        match hvsignal_invocations(&source) {
            Ok(found) => all.extend(found.into_iter().map(|invocation| Invocation {
                position: format!("{name}:{}", invocation.position),
                ..invocation
            })),
            Err(problems) => {
                unreadable.extend(
                    problems
                        .into_iter()
                        .map(|problem| format!("{name}:{problem}")),
                );
            }
        }
    }
    assert!(
        unreadable.is_empty(),
        "console-program calls that cannot be checked:\n{}",
        unreadable.join("\n")
    );
    all
}

#[test]
fn every_harness_command_line_parses_with_the_cli() {
    let invocations = harness_invocations();
    // An empty or partial extraction would make the check vacuous.
    assert!(
        invocations.len() >= 20,
        "only {} console-program calls found",
        invocations.len()
    );
    let problems: Vec<String> = invocations.iter().filter_map(clap_problem).collect();
    assert!(
        problems.is_empty(),
        "{} of {} harness command lines do not parse with the console program's clap definition:\n{}",
        problems.len(),
        invocations.len(),
        problems.join("\n")
    );
}

#[test]
fn every_sample_names_an_argument() {
    let root = Cli::command();
    let mut keys = Vec::new();
    for command in std::iter::once(&root).chain(root.get_subcommands()) {
        keys.extend(command.get_arguments().map(sample_key));
    }
    for (name, _) in SAMPLES {
        assert!(
            keys.contains(name),
            "SAMPLES has `{name}`, which is no argument of the console program"
        );
    }
}

/// The single command line of a PowerShell snippet.
fn snippet_invocation(source: &str) -> Invocation {
    let mut found = hvsignal_invocations(source).expect("the snippet's calls are readable");
    assert_eq!(found.len(), 1, "{source}");
    found.remove(0)
}

/// Between them these use every entry of [`SAMPLES`], so each sample is valid for its argument.
#[test]
fn check_accepts_dynamic_values_in_every_sample_position() {
    for source in [
        "Invoke-HvSignal -Context $c -ArgumentList @('--json', 'signal', '-c', $id, '--repeat', $n, '-f', $flag, '--memory')",
        "Invoke-HvSignal -Context $c -ArgumentList @('--json', 'bench', '--connection', $live, '--calls', $calls)",
        "Invoke-HvSignalCli -ExePath $p -ArgumentList @('scan', '--from', $first, '--to', ($first + 10), '--yes')",
        "& hvsignal.exe --backend $backend --world $world --json status $code",
        "hvsignal conform --profile $profile --connection $live $one $two",
        "hvsignal --json info",
    ] {
        let invocation = snippet_invocation(source);
        assert_eq!(clap_problem(&invocation), None, "{source}");
    }
}

#[test]
fn check_reports_what_the_cli_rejects() {
    for (source, expected) in [
        (
            "Invoke-HvSignal -Context $c -ArgumentList @('--json', 'inf')",
            "unrecognized subcommand 'inf'",
        ),
        (
            "Invoke-HvSignal -Context $c -ArgumentList @('signal', '-c', $id, '--count', 5)",
            "unexpected argument '--count'",
        ),
        ("hvsignal --json signal --memory", "--connection <ID>"),
        ("hvsignal scan --from 1", "--to <B>"),
        ("hvsignal signal -c one", "invalid value 'one'"),
        (
            "hvsignal conform --profile hyperv",
            "invalid value 'hyperv'",
        ),
        ("hvsignal --backend driver info", "invalid value 'driver'"),
        ("hvsignal info extra", "unexpected argument 'extra'"),
        ("hvsignal status", "<CODE>"),
        ("hvsignal --json", "requires a subcommand"),
        ("hvsignal bench -c", "a value is required"),
        ("hvsignal $command -c 1", "the command must be literal"),
        ("hvsignal signal -c 1 $flag", "flags must be literal"),
        (
            "hvsignal signal -c 1 --rsvd $rsvd",
            "no sample value for `rsvd`",
        ),
    ] {
        let invocation = snippet_invocation(source);
        let problem =
            clap_problem(&invocation).unwrap_or_else(|| panic!("`{source}` should be reported"));
        assert!(
            problem.starts_with("1:1 (") && problem.contains(expected),
            "`{source}` should report its position and `{expected}`: {problem}"
        );
    }
}
