//! The SQL layer: parser front end, sessions and settings, catalog, binder, planner and executor.

pub mod cluster;
pub mod context;
pub mod engine;
pub mod parser;
pub mod session;
pub mod settings;
pub mod types;
