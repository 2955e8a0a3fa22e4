//! IPP: the RFC 8010 codec, the attribute model, operation and status codes, and the HTTP
//! transport both the cloud's INFRA service and the devices' INFRA client use.
//!
//! # Why our own codec rather than the `ipp` crate
//! The `ipp` crate (docs.rs, 5.x/6.x) is built around an IPP *client*: its `Operation` type is a
//! closed enum, so a request for an operation it does not list cannot be represented, while a
//! server must receive it and answer `server-error-operation-not-supported`; its parse errors
//! carry neither a byte offset nor the IPP status a server should answer with, and it offers no
//! configurable bounds on message size or collection depth for bytes from untrusted peers. Its
//! 5.x releases also pull in reqwest 0.11 and native-tls, which our rustls-only tree avoids. The
//! codec itself is small (RFC 8010 is a tag-length-value format), so we write it, with limits,
//! offsets and status mapping built in, and test it by round trips, property tests and fuzzing.
//!
//! - [`codes`]: operation ids and status codes (IANA registry, PWG 5100.18 INFRA operations).
//! - [`model`]: [`Message`], [`Group`], [`Attribute`], [`Value`] and typed look-ups.
//! - [`mod@encode`] / [`mod@decode`]: the wire format; decoding is bounded by [`Limits`].
//! - [`stream`]: attributes from an async reader, the document data left streaming.
//! - [`http`]: a reqwest client call and axum request/response types.

pub mod codes;
pub mod decode;
pub mod encode;
pub mod http;
pub mod model;
pub mod stream;

pub use codes::{Operation, StatusCode};
pub use decode::{DecodeError, DecodeErrorKind, Limits, decode};
pub use encode::EncodeError;
pub use model::{
    Attribute, AttributeLookup, DateTime, Group, GroupTag, Message, OutOfBand, StringKind, Value,
};
pub use stream::{DocumentReader, Undecodable, read_message};

#[cfg(test)]
mod tests;
