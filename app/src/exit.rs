//! Exit statuses (docs/ARCHITECTURE.md, "Console program contract") and the errors that end a
//! command early.

use std::process::ExitCode;

use crate::call::PlanError;
use crate::client::DriverError;
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
    #[error("{0}")]
    Usage(String),
    /// A call the command line (or a case, or a log entry) asks for cannot be issued.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A bad input file, named in the message.
    #[error("{0}")]
    InputFile(String),
    /// The environment is missing: no hypervisor, or a check the command makes itself.
    #[error("{0}")]
    Environment(String),
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
        assert_eq!(AppError::Usage(String::new()).exit(), Exit::Usage);
        assert_eq!(AppError::InputFile(String::new()).exit(), Exit::Usage);
        assert_eq!(
            AppError::Environment(String::new()).exit(),
            Exit::Environment
        );
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
}
