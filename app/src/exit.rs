//! Exit statuses (docs/ARCHITECTURE.md, "Console program contract") and the errors that end a
//! command early.

use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

use hvcall::SignalInputError;
use hvmodel::WorldError;

use crate::call::PlanError;
use crate::cli::BackendKind;
use crate::client::{DriverError, enable_raw_remedy, raw_disabled};
use crate::transport::OpenError;

/// The four exit statuses of `hvsignal`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Exit {
    /// 0: every hypercall returned HV_STATUS_SUCCESS, or the command issues none and succeeded.
    Success,
    /// 1: a hypercall returned another status, or `conform` found a firm mismatch.
    HypercallFailed,
    /// 2: bad usage or a bad input file.
    Usage,
    /// 3: the environment is missing: no driver, no hypervisor, access denied.
    Environment,
}

impl Exit {
    /// The numeric status.
    #[must_use]
    pub const fn code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::HypercallFailed => 1,
            Self::Usage => 2,
            Self::Environment => 3,
        }
    }

    /// 0 when every status is success, else 1.
    #[must_use]
    pub fn from_all_success(all_success: bool) -> Self {
        if all_success {
            Self::Success
        } else {
            Self::HypercallFailed
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}

/// An error that stops a command before it produced its report: one variant per room that
/// can fail, each room's own error inside. The exit status and the JSON `error.kind` of every
/// error are decided here, and only here.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Bad usage: an argument or a combination of arguments that is not allowed.
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// A call the command line (or a case, or a log entry) asks for cannot be issued.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A bad input file, named in the message.
    #[error(transparent)]
    InputFile(#[from] InputFileError),
    /// The environment is missing: a check the command makes itself.
    #[error(transparent)]
    Environment(#[from] EnvironmentError),
    /// The driver's device could not be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The driver (or its model) refused a request or answered unusably.
    #[error(transparent)]
    Driver(#[from] DriverError),
    /// Writing the report to stdout failed (a closed pipe ends the program quietly).
    #[error("cannot write the report: {0}")]
    Output(#[from] std::io::Error),
}

impl AppError {
    /// The exit status this error ends the program with: 2 for what the user can fix in the
    /// command line or an input file, 3 for the environment (driver, device, access, policy).
    #[must_use]
    pub fn exit(&self) -> Exit {
        match self {
            Self::Usage(_)
            | Self::Plan(_)
            | Self::InputFile(_)
            | Self::Driver(DriverError::Build(_)) => Exit::Usage,
            Self::Environment(_) | Self::Open(_) | Self::Driver(_) | Self::Output(_) => {
                Exit::Environment
            }
        }
    }

    /// A short machine-readable kind for JSON error documents.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Usage(_) | Self::Plan(_) | Self::Driver(DriverError::Build(_)) => "usage",
            Self::InputFile(_) => "input_file",
            Self::Driver(e) if e.is_unusable_answer() => "device",
            Self::Environment(_) | Self::Open(_) | Self::Driver(_) => "environment",
            Self::Output(_) => "output",
        }
    }
}

/// Bad usage (exit 2), by the kind of mistake; the message names the option at fault.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// A command line clap refused: its message.
    #[error("{0}")]
    CommandLine(String),
    /// Options that cannot go together, or an option the backend cannot serve.
    #[error("{0}")]
    ConflictingOptions(String),
    /// A connection id above 24 bits where raw mode is off: hvcall's rule, after the option.
    #[error("{option}: {source}{remedy}")]
    ConnectionIdTooLarge {
        /// The option that gave it.
        option: &'static str,
        /// What hvcall refused.
        source: SignalInputError,
        /// How to pass it anyway, if there is a way (empty when there is none).
        remedy: &'static str,
    },
    /// A value the option (or argument) does not allow: out of range, unknown, or an empty
    /// selection.
    #[error("{0}")]
    BadValue(String),
    /// A run with a large effect that needs `--yes`.
    #[error("{0}")]
    NotConfirmed(String),
    /// `fuzz --log FILE` cannot be created (an existing log is never overwritten).
    #[error("--log {}: {source}{}", .path.display(), overwrite_remedy(.source))]
    LogNotCreated {
        /// The log's path.
        path: PathBuf,
        /// Why it cannot be created.
        source: io::Error,
    },
    /// The live connections a device run found cannot be turned into the oracle's world.
    #[error("the live connections cannot be modelled: {0}")]
    Unmodellable(WorldError),
}

fn overwrite_remedy(error: &io::Error) -> &'static str {
    if error.kind() == io::ErrorKind::AlreadyExists {
        ": a log is never overwritten; remove it or give another file"
    } else {
        ""
    }
}

/// A bad input file (exit 2), by the kind of file; the message names the file (and line, case
/// or key).
#[derive(Debug, thiserror::Error)]
pub enum InputFileError {
    /// A world file the model cannot run: hvmodel's message, which names file, line and key.
    #[error("world file {0}")]
    World(WorldError),
    /// A conformance case file: the message names the file, the case and the key.
    #[error("{0}")]
    CaseFile(String),
    /// A fuzz log that cannot be read back.
    #[error("fuzz log {name}: {}{message}", at_line(*.line))]
    FuzzLog {
        /// The log's path, as given.
        name: String,
        /// The line at fault, when one is.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
}

fn at_line(line: Option<usize>) -> String {
    line.map_or_else(String::new, |line| format!("line {line}: "))
}

/// A missing environment a command finds itself (exit 3), apart from the driver's own answers
/// ([`DriverError`]).
#[derive(Debug, thiserror::Error)]
pub enum EnvironmentError {
    /// `--raw` on a driver (or world) whose policy refuses raw hypercalls; nothing was issued.
    #[error("--raw: {}; {}; nothing was issued", raw_disabled(*.0), enable_raw_remedy(*.0))]
    RawRefused(BackendKind),
    /// The fuzz log cannot be written; `what` names it.
    #[error("{what}: {source}")]
    LogNotWritten {
        /// `--log FILE` or "cannot write the fuzz log".
        what: String,
        /// The write's failure.
        source: io::Error,
    },
}

/// Result of a command: its exit status once the report is written.
pub type CommandResult = Result<Exit, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_contract() {
        assert_eq!(Exit::Success.code(), 0);
        assert_eq!(Exit::HypercallFailed.code(), 1);
        assert_eq!(Exit::Usage.code(), 2);
        assert_eq!(Exit::Environment.code(), 3);
        let usage = UsageError::BadValue(String::new());
        assert_eq!(AppError::from(usage).exit(), Exit::Usage);
        let input = InputFileError::CaseFile(String::new());
        assert_eq!(AppError::from(input).exit(), Exit::Usage);
        let environment = EnvironmentError::RawRefused(BackendKind::Model);
        assert_eq!(AppError::from(environment).exit(), Exit::Environment);
        assert_eq!(
            AppError::Open(OpenError::NotFound).exit(),
            Exit::Environment
        );
        assert_eq!(
            AppError::Plan(PlanError::FixedControlBits(1)).kind(),
            "usage"
        );
        let unusable = DriverError::WrongAnswer(String::new());
        assert_eq!(AppError::Driver(unusable).kind(), "device");
        assert_eq!(Exit::from_all_success(false), Exit::HypercallFailed);
    }

    #[test]
    fn messages_keep_their_wording() {
        let log = InputFileError::FuzzLog {
            name: "f.log".to_owned(),
            line: Some(3),
            message: "bad".to_owned(),
        };
        assert_eq!(log.to_string(), "fuzz log f.log: line 3: bad");
        let log = InputFileError::FuzzLog {
            name: "f.log".to_owned(),
            line: None,
            message: "bad".to_owned(),
        };
        assert_eq!(log.to_string(), "fuzz log f.log: bad");
        let exists = UsageError::LogNotCreated {
            path: PathBuf::from("f.log"),
            source: io::Error::from(io::ErrorKind::AlreadyExists),
        };
        assert!(
            exists
                .to_string()
                .ends_with(": a log is never overwritten; remove it or give another file"),
            "{exists}"
        );
        assert_eq!(
            EnvironmentError::RawRefused(BackendKind::Model).to_string(),
            "--raw: raw hypercalls are disabled in this world; set `allow_raw_hypercalls = \
             true` under [driver] in the world file; nothing was issued"
        );
    }
}
