//! Transactions: multi-version concurrency control over a storage [`crate::storage::Engine`].

pub mod locks;
pub mod mvcc;
pub mod ssi;
pub mod vacuum;
