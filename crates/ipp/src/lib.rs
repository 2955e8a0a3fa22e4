//! IPP: the RFC 8010 codec, the attribute model, operation and status codes, and the HTTP
//! transport both the cloud's INFRA service and the devices' INFRA client use.
//!
//! It answers how IPP messages are encoded and which operations and statuses exist; it knows
//! nothing of ours (no Graph, no printers, no jobs). The HTTP transport ([`http`], [`stream`])
//! sits behind the default `transport` feature, so the fuzz target builds the codec alone.
//!
//! # Why our own codec rather than the `ipp` crate
//! The `ipp` crate (read on docs.rs: 4.0 source, 5.x/6.x docs) is built around an IPP
//! *client*. Its `Operation` is a closed enum, so a request for an operation it does not list
//! cannot be represented, while a server must receive it and answer
//! `server-error-operation-not-supported`. Its parse errors (`InvalidTag`, `InvalidCollection`,
//! I/O) carry neither a byte offset nor the IPP status a server should answer with, and it has
//! no configurable bound on message size or collection depth for bytes from untrusted peers.
//! Its parser keeps a group's attributes in a map keyed by name, so wire order is lost. Its 5.x
//! releases also list reqwest 0.11 and native-tls among their dependencies, which our
//! rustls-only tree avoids. RFC 8010 is a small tag-length-value format, so we write the codec,
//! with limits, offsets and status mapping built in, and test it with round trips, property
//! tests and a fuzz target (`fuzz/`).
//!
//! - [`codes`]: operation ids and status codes (IANA registry, PWG 5100.18 INFRA operations).
//! - [`model`]: [`Message`], [`Group`], [`Attribute`], [`Value`] and typed look-ups.
//! - [`mod@encode`] / [`mod@decode`]: the wire format; decoding is bounded by [`Limits`].
//! - [`stream`]: attributes from an async reader, the document data left streaming.
//! - [`printer_response`]: the printer attributes of a saved Get-Printer-Attributes response
//!   (IPP bytes, or ipptool's plist read back with its IPP syntax).
//! - [`request_check`]: what RFC 8011 asks of every request before its operation runs, so each
//!   of our IPP servers refuses a malformed request alike.
//! - [`requested_attributes`]: which attributes an answer carries, by name or group.
//! - [`http`]: a reqwest client call and axum request/response types.

pub mod codes;
pub mod decode;
pub mod encode;
#[cfg(feature = "transport")]
pub mod http;
mod ipptool_plist;
pub mod model;
pub mod printer_response;
pub mod request_check;
pub mod requested_attributes;
#[cfg(feature = "transport")]
pub mod stream;

pub use codes::{Operation, StatusCode};
pub use decode::{DecodeError, DecodeErrorKind, Limits, decode};
pub use encode::EncodeError;
pub use ipptool_plist::PlistError;
pub use model::{
    Attribute, AttributeLookup, DateTime, Group, GroupTag, Message, OutOfBand, StringKind, Value,
};
pub use printer_response::{
    PrinterResponseError, printer_attributes_from_saved, printer_attributes_of_response,
};
pub use request_check::{RequestRefusal, check_request, required_uri};
#[cfg(feature = "transport")]
pub use stream::{DocumentReader, Undecodable, read_message};

#[cfg(test)]
mod tests;
