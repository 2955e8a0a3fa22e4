//! Emulated printers: the `printers.toml` fleet ([`config`]), the print engine's speed and
//! faults ([`engine`]), the sled spool that is each device's memory across restarts
//! ([`spool`]), the PWG 5100.18 client ([`infra_client`]), its network ([`network`]: offline
//! windows, extra latency), Universal Print registration ([`registration`]) and the
//! per-printer loop ([`runtime`]); job constraints and their resolvers ([`constraint`]); defects
//! planted on purpose for testing output checkers ([`misprint`]).

pub mod config;
pub mod constraint;
pub mod dns_sd;
pub mod engine;
pub mod infra_client;
pub mod misprint;
pub mod network;
pub mod registration;
pub mod runtime;
pub mod schema;
pub mod spool;
