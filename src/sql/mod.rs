//! The SQL layer (being built).
