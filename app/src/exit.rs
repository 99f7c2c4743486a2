//! Exit statuses (docs/ARCHITECTURE.md, "Console program contract") and the errors that end a
//! command early.

use std::process::ExitCode;

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

/// An error that stops a command before it produced its report.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Bad usage: an argument or a combination of arguments that is not allowed (exit 2).
    #[error("{0}")]
    Usage(String),
    /// A bad input file, named in the message (exit 2).
    #[error("{0}")]
    InputFile(String),
    /// The environment is missing: driver, device, hypervisor or access (exit 3).
    #[error("{0}")]
    Environment(String),
    /// The driver or core answered in a way the program cannot use (exit 3: the installed
    /// driver does not match this program, or the request was refused by the environment).
    #[error("{0}")]
    Device(String),
    /// Writing the report to stdout failed (exit 3; a closed pipe ends the program quietly).
    #[error("cannot write the report: {0}")]
    Output(#[from] std::io::Error),
}

impl AppError {
    /// The exit status this error ends the program with.
    #[must_use]
    pub fn exit(&self) -> Exit {
        match self {
            Self::Usage(_) | Self::InputFile(_) => Exit::Usage,
            Self::Environment(_) | Self::Device(_) | Self::Output(_) => Exit::Environment,
        }
    }

    /// A short machine-readable kind for JSON error documents.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Usage(_) => "usage",
            Self::InputFile(_) => "input_file",
            Self::Environment(_) => "environment",
            Self::Device(_) => "device",
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
        assert_eq!(Exit::from_all_success(false), Exit::HypercallFailed);
    }
}
