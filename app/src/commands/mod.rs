//! One module per command.

pub mod signal;
pub mod status;
