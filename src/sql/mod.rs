//! The SQL layer: parser front end, sessions and settings, catalog, binder, planner and executor.

pub mod auth;
pub mod catalog;
pub mod cluster;
pub mod context;
pub mod copy;
pub mod engine;
pub mod exec;
pub mod parser;
pub mod pgcatalog;
pub mod plan;
pub mod session;
pub mod settings;
pub mod types;
