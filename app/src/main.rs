//! hvsignal console program (being written).
fn main() {}
