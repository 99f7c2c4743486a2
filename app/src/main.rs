//! `hvsignal`: issue Hyper-V's HvCallSignalEvent (call code 0x005D) through the hvsignal
//! driver, or against the built-in reference model of the hypervisor.
//!
//! The command line, JSON keys and exit statuses are a contract (docs/ARCHITECTURE.md, full
//! schemas in docs/CLI.md).

mod call;
mod cli;
mod client;
mod commands;
mod conformance;
mod context;
mod exit;
mod numbers;
mod progress;
mod report;
mod stats;
mod transport;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;
use serde::Serialize;

use crate::cli::{Cli, Command};
use crate::context::Context;
use crate::exit::{AppError, CommandResult};

/// The JSON document printed instead of a report when a command fails with `--json`.
#[derive(Serialize)]
struct ErrorDocument<'a> {
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
        Command::Info => commands::info::run(ctx),
        Command::Bench(args) => commands::bench::run(ctx, args),
        Command::Scan(args) => commands::scan::run(ctx, args),
        Command::Conform(args) => commands::conform::run(ctx, args),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.name();
    let ctx = match Context::from_cli(&cli) {
        Ok(ctx) => ctx,
        Err(error) => {
            let backend = cli
                .backend
                .unwrap_or_else(cli::BackendKind::platform_default);
            return fail(&error, command, cli.json, backend);
        }
    };
    match run(&ctx, &cli.command) {
        Ok(exit) => exit.into(),
        Err(error) => fail(&error, command, ctx.json, ctx.backend),
    }
}

/// Reports `error` on stderr (and with `--json` as a JSON document on stdout) and returns its
/// exit status. A closed stdout (e.g. `| head`) ends the program quietly.
fn fail(error: &AppError, command: &str, json: bool, backend: cli::BackendKind) -> ExitCode {
    let exit = error.exit();
    if let AppError::Output(e) = error
        && e.kind() == io::ErrorKind::BrokenPipe
    {
        return exit.into();
    }
    let _ = writeln!(io::stderr(), "hvsignal: error: {error}");
    if json && !matches!(error, AppError::Output(_)) {
        let document = report::Document {
            command,
            backend: backend.name(),
            simulated: backend == cli::BackendKind::Model,
            body: ErrorDocument {
                error: ErrorBody {
                    kind: error.kind(),
                    message: error.to_string(),
                },
                exit_code: exit.code(),
            },
        };
        let _ = report::print_json(&document);
    }
    exit.into()
}
