//! Emulated printers: the `printers.toml` fleet ([`config`]), the print engine's speed and
//! faults ([`engine`]) and the sled spool that is each device's memory across restarts
//! ([`spool`]).

pub mod config;
pub mod engine;
pub mod schema;
pub mod spool;
