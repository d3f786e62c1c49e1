//! The lowest layer: byte formats shared by everything above.
//!
//! `keycode` owns the order-preserving key encoding: every key any layer stores is built from its
//! typed components here, so that comparing encoded bytes compares the typed keys. Nothing above
//! concatenates key bytes by hand.

pub mod keycode;
