//! One module per command.

pub mod info;
pub mod signal;
pub mod status;
