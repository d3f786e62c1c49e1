//! MVCC transactions (being built).
