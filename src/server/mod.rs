//! The wire server (being built).
