//! Leaves: helpers that import nothing else from the crate (time, ids, cryptography).

pub mod crypto;
pub mod ids;
pub mod text;
pub mod time;
