//! `hvsignal`: issue Hyper-V's HvCallSignalEvent (call code 0x005D) through the hvsignal
//! driver, or against the built-in reference model of the hypervisor.
//!
//! The command line, JSON keys and exit statuses are a contract (docs/ARCHITECTURE.md, full
//! schemas in docs/CLI.md).

// The workspace lint list (Cargo.toml) is the kernel crates' no-panic list. The console program
// keeps all of it but one: its arithmetic is on counts, sizes and cycle figures whose bounds the
// protocol and the options set (the kernel crates, which run on bytes from user mode, keep it).
#![allow(
    clippy::arithmetic_side_effects,
    reason = "user-mode figures with bounds set by the protocol and the options"
)]

mod call;
mod cli;
mod client;
mod commands;
mod conformance;
mod context;
mod exit;
mod issued;
mod latency;
mod numbers;
mod progress;
mod report;
mod trace;
mod transport;

use std::ffi::OsString;
use std::io::{self, Write};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use serde::Serialize;

use crate::cli::{Cli, Command};
use crate::context::Context;
use crate::exit::{AppError, CommandResult, Exit, UsageError};

/// The JSON document printed instead of a report when a command fails with `--json`:
/// `command` is null when the command line names none clap could read.
#[derive(Serialize)]
struct ErrorDocument<'a> {
    command: Option<&'a str>,
    backend: &'static str,
    simulated: bool,
    error: ErrorBody<'a>,
    exit_code: u8,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    kind: &'a str,
    message: String,
}

fn run(ctx: &Context, command: &Command) -> CommandResult {
    match command {
        Command::Status(args) => commands::status::run(ctx, args),
        Command::Signal(args) => commands::signal::run(ctx, args),
        Command::Info(_) => commands::info::run(ctx),
        Command::Bench(args) => commands::bench::run(ctx, args),
        Command::Scan(args) => commands::scan::run(ctx, args),
        Command::Conform(args) => commands::conform::run(ctx, args),
        Command::Fuzz(args) => commands::fuzz::run(ctx, args),
        Command::Help(args) => help(args.command.as_deref()),
    }
}

/// `hvsignal help [COMMAND]`: the long help of hvsignal or of one command, on stdout.
fn help(command: Option<&str>) -> CommandResult {
    let mut root = Cli::command();
    root.build();
    let text = match command {
        None => root.render_long_help(),
        Some(name) => match root.find_subcommand_mut(name) {
            Some(sub) => sub.render_long_help(),
            None => {
                return Err(UsageError::BadValue(format!(
                    "help {name}: there is no command `{name}`; the commands are {}",
                    command_names().join(", ")
                ))
                .into());
            }
        },
    };
    write!(io::stdout(), "{text}")?;
    Ok(exit::Exit::Success)
}

/// The names of the commands, in help order.
fn command_names() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect()
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let code = command_line(&args);
    // The run's ETW event (docs/WINDOWS.md, Tracing); a no-op off Windows.
    trace::write_command(
        args_command(&args).as_deref(),
        &args,
        args_backend(&args).name(),
        code,
    );
    ExitCode::from(code)
}

/// Runs the command line `args` and returns the exit status.
fn command_line(args: &[OsString]) -> u8 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => return parse_failure(&error, args).code(),
    };
    let command = cli.command.name();
    let ctx = match Context::from_cli(&cli) {
        Ok(ctx) => ctx,
        Err(error) => {
            let backend = args_backend(args);
            return fail(&error, Some(command), cli.json, backend).code();
        }
    };
    match run(&ctx, &cli.command) {
        Ok(exit) => exit.code(),
        Err(error) => fail(&error, Some(command), ctx.json, ctx.backend).code(),
    }
}

/// The command line as the program saw it, up to a `--` (after which nothing is an option).
fn options(args: &[OsString]) -> impl Iterator<Item = &str> {
    args.iter()
        .skip(1)
        .map(|a| a.to_str().unwrap_or(""))
        .take_while(|a| *a != "--")
}

/// True when `--json` is on the command line, wherever it is: read from the arguments
/// themselves, so that it holds for command lines clap refuses too.
fn json_requested(args: &[OsString]) -> bool {
    options(args).any(|a| a == "--json")
}

/// The backend a command line names, read without clap (for errors before or during parsing):
/// `--backend device|model` (or `--backend=…`), else the model when `--world` is given, else the
/// platform's default.
fn args_backend(args: &[OsString]) -> cli::BackendKind {
    let mut words = options(args);
    let mut backend = None;
    let mut world = false;
    while let Some(word) = words.next() {
        let value = match word.strip_prefix("--backend") {
            Some("") => words.next(),
            Some(rest) => rest.strip_prefix('='),
            None => {
                world |= word == "--world" || word.starts_with("--world=");
                continue;
            }
        };
        backend = match value {
            Some("device") => Some(cli::BackendKind::Device),
            Some("model") => Some(cli::BackendKind::Model),
            _ => backend,
        };
    }
    backend.unwrap_or(if world {
        cli::BackendKind::Model
    } else {
        cli::BackendKind::platform_default()
    })
}

/// The command a command line names, read without clap: the first word that is not an option
/// nor the value of `--backend` / `--world`, if it is a command's name.
fn args_command(args: &[OsString]) -> Option<String> {
    let mut words = options(args);
    while let Some(word) = words.next() {
        if word == "--backend" || word == "--world" {
            words.next();
        } else if !word.starts_with('-') {
            return command_names().into_iter().find(|c| c == word);
        }
    }
    None
}

/// A command line clap refused (or `--help` / `--version`, which print and succeed): clap's
/// message on stderr, and with `--json` one JSON error document on stdout.
fn parse_failure(error: &clap::Error, args: &[OsString]) -> Exit {
    use clap::error::ErrorKind;
    let _ = error.print();
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        return Exit::Success;
    }
    let usage = AppError::from(UsageError::CommandLine(parse_error_message(error)));
    if json_requested(args) {
        print_error_json(&usage, args_command(args).as_deref(), args_backend(args));
    }
    usage.exit()
}

/// clap's message without the `error: ` prefix, the usage and the `--help` hint: its first
/// paragraph, on one line.
fn parse_error_message(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let first = rendered.split("\n\n").next().unwrap_or("");
    let text = first
        .strip_prefix("error: ")
        .unwrap_or(first)
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    if text.is_empty() {
        "the command line is incomplete: see hvsignal --help".to_owned()
    } else {
        text
    }
}

/// Reports `error` on stderr (and with `--json` as a JSON document on stdout) and returns its
/// exit status. A closed stdout (e.g. `| head`) ends the program quietly.
fn fail(error: &AppError, command: Option<&str>, json: bool, backend: cli::BackendKind) -> Exit {
    let exit = error.exit();
    if let AppError::Output(e) = error
        && e.kind() == io::ErrorKind::BrokenPipe
    {
        return exit;
    }
    let _ = writeln!(io::stderr(), "hvsignal: error: {error}");
    if json && !matches!(error, AppError::Output(_)) {
        print_error_json(error, command, backend);
    }
    exit
}

/// The JSON error document of `error` on stdout.
fn print_error_json(error: &AppError, command: Option<&str>, backend: cli::BackendKind) {
    let document = ErrorDocument {
        command,
        backend: backend.name(),
        simulated: backend == cli::BackendKind::Model,
        error: ErrorBody {
            kind: error.kind(),
            message: error.to_string(),
        },
        exit_code: error.exit().code(),
    };
    let _ = report::print_json(&document);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<OsString> {
        std::iter::once("hvsignal")
            .chain(words.iter().copied())
            .map(OsString::from)
            .collect()
    }

    #[test]
    fn json_is_found_anywhere_before_a_double_dash() {
        assert!(json_requested(&args(&["--json", "signal"])));
        assert!(json_requested(&args(&["signal", "-c", "zz", "--json"])));
        assert!(!json_requested(&args(&["signal", "-c", "1"])));
        assert!(!json_requested(&args(&["conform", "--", "--json"])));
    }

    #[test]
    fn command_and_backend_are_read_without_clap() {
        assert_eq!(
            args_command(&args(&["--world", "signal", "bench"])).as_deref(),
            Some("bench")
        );
        assert_eq!(args_command(&args(&["--json", "sgnal"])), None);
        assert_eq!(
            args_backend(&args(&["--backend=device", "info"])),
            cli::BackendKind::Device
        );
        assert_eq!(
            args_backend(&args(&["info", "--backend", "model"])),
            cli::BackendKind::Model
        );
        assert_eq!(
            args_backend(&args(&["info", "--world", "w.toml"])),
            cli::BackendKind::Model
        );
    }
}
