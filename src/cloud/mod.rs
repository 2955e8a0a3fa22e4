//! The Universal Print emulator: the Graph print API for clients, upload and download URLs, and
//! (device side) the IPP INFRA service, all over HTTP, with every state change kept in sled.

pub mod infra;
pub mod odata;
pub mod upload;
