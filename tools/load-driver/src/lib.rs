//! `load-driver`: drives transactional load against ssidb or PostgreSQL and reports throughput,
//! latency percentiles, aborts by SQLSTATE and whether the data is still correct.
//!
//! It speaks the PostgreSQL protocol through tokio-postgres, so the same run can be pointed at
//! PostgreSQL 15 (the reference) and at ssidb and the numbers compared. The README beside
//! `Cargo.toml` documents every flag and workload with its SQL.
//!
//! # How a run is measured
//!
//! ```text
//!   closed loop (N clients, each as fast as it can)
//!   client 1: |--txn--|--txn--|-----txn (stall)-----|--txn--|
//!   client 2: |---txn---|--txn--|--txn--|--txn--|
//!             latency = commit - actual start
//!
//!   fixed rate (--rate R: transaction k is due at t0 + k/R)
//!   due:        k=0   k=1   k=2   k=3   k=4
//!   client 1:   |--txn--|  |-----txn (stall)-----|
//!   client 2:         |--txn--|  sleeps  |--txn--|--txn--|   <- k=3, k=4 start late
//!             latency = commit - *due* time, so the stall's queueing delay is counted
//! ```
//!
//! A closed-loop client that stalls simply stops issuing work, so its latency histogram
//! under-reports the stall (coordinated omission). In fixed-rate mode every transaction has a
//! due time fixed in advance, and the delay until some client gets to it is part of its latency.
//! The histogram of first-attempt-to-commit times is kept too (`service time`).
//!
//! A *logical transaction* is what the workload generated; on 40001 (serialization failure) or
//! 40P01 (deadlock) it is rolled back and run again, with the same parameters, while `--retries`
//! allows. Its latency spans all attempts. TPS counts committed logical transactions.
//!
//! # Correctness checks
//!
//! Every workload that writes has an invariant checked after the run (see
//! [`workload::checks`]): bank money is conserved, increments are neither lost nor doubled,
//! pgbench's four balance sums agree, no on-call shift is ever left empty at SERIALIZABLE.
//! A required check that fails makes the run exit with status 1 and say `FAIL`.
//!
//! # Modules
//!
//! - [`cli`]: flags → [`cli::Config`].
//! - [`driver`]: set-up, clients, tickets, retries, progress, Ctrl-C.
//! - [`workload`]: one module per workload (tables, generator, statements) and the checks.
//! - [`stats`], [`report`]: counting, percentiles, text and JSON.
//! - [`db`]: connections, error classification, text-protocol helpers.
//! - [`rng`]: the deterministic per-client random streams.
//!
//! What it leaves out: think time, multi-statement pipelining, TLS, and a coordinated multi-host
//! mode. Latency is measured on the client and includes the network round trips.

pub mod cli;
pub mod db;
pub mod driver;
pub mod report;
pub mod rng;
pub mod stats;
pub mod workload;
