//! Runs every `.slt` file in `sql-tests/` (harness being built).
fn main() {}
