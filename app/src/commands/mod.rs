//! One module per command.

pub mod bench;
pub mod conform;
pub mod fuzz;
pub mod info;
pub mod scan;
pub mod signal;
pub mod status;
