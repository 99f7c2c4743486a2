//! Helpers shared by the tests of several hvsignal crates, so that no test reaches into another
//! package's files. A dev-dependency only: nothing here is linked into the driver or the
//! console program.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "test helpers: a panic is a failed test"
)]

pub mod callgrind;
pub mod powershell;
pub mod scripted;
