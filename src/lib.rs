//! ssidb: a transactional SQL database that PostgreSQL clients use unchanged, whose SERIALIZABLE
//! really is serializable.
//!
//! Layers, each depending only on the ones below it (enforced by `tests/layering.rs`):
//!
//! ```text
//! server    wire protocol (PostgreSQL v3), connections, cancel, shutdown
//!   sql     parser front end, binder, planner, executor, catalog, sessions
//!   txn     MVCC transactions, snapshots, locks
//!   storage ordered key-value engines (memory; B+tree page store)
//!   encoding order-preserving key encoding
//! ```
//!
//! [`error`] is shared by all layers and maps errors to SQLSTATEs in one place.

pub mod encoding;
pub mod error;
pub mod server;
pub mod sql;
pub mod storage;
pub mod txn;
