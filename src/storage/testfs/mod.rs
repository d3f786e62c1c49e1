//! File layers for testing durability, plugged in through the same [`DataFile`] and [`WalDir`]
//! traits the engine uses for real files, so the code under test is the production code:
//!
//! - [`crash::CrashDisk`]: keeps only what was fsynced, crashes at a chosen operation and can tear
//!   the write it crashes in; the crash test (`tests.rs`) enumerates every operation of a workload.
//! - [`faults::Faults`]: ENOSPC or EIO on writes, EIO on reads, failing or slow fsyncs.
//!
//! [`DataFile`]: crate::storage::btree::DataFile
//! [`WalDir`]: crate::storage::wal::dir::WalDir

pub mod crash;
pub mod faults;
#[cfg(test)]
mod tests;
