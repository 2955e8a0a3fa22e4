//! printlab: a virtual printer connector that emulates printer hardware against a
//! Universal Print–style cloud, so the whole printing path — from a Graph API client down to the
//! rendered page — can be tested without physical printers.
//!
//! The crate follows the domain split of Google's cloud-print-connector: each module answers one
//! question and the others see it through a narrow interface. The cloud and the devices talk only
//! over the wire (HTTP on loopback by default), exactly as the real service and real printers do.
//!
//! - [`client`]: a Graph print client (jobs, resumable parallel upload) for the command line.
//! - [`model`]: Microsoft Graph print resources and enums (the client-side wire model).
//! - [`ipp`]: RFC 8010 encoding, the attribute model, operation and status codes.
//! - [`cloud`]: the Universal Print emulator: Graph API, upload sessions, the IPP INFRA service.
//! - [`device`]: emulated printers declared in `printers.toml`, their spool and engine.
//! - [`render`]: documents to PNG pages, as the configured printer would print them.
//! - [`lab`]: the cloud and a fleet in one process, shared and ready (`printlab up`, `demo`).

pub mod client;
pub mod cloud;
pub mod device;
pub mod ipp;
pub mod lab;
pub mod model;
pub mod render;
