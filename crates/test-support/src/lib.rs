//! Helpers shared by the tests of several hvsignal crates, so that no test reaches into another
//! package's files. A dev-dependency only: nothing here is linked into the driver or the
//! console program.

pub mod callgrind;
pub mod powershell;
pub mod scripted;
