//! IPP over HTTP (RFC 8010 §4): POST with `Content-Type: application/ipp`; the IPP status
//! travels inside a 200 response, HTTP statuses are reserved for transport problems (401 for a
//! missing or expired token).
//!
//! Both directions stream: the request or response attributes are decoded as soon as they
//! arrive and document data stays a reader.

use super::codes::StatusCode;
use super::decode::{DecodeError, Limits};
use super::encode::EncodeError;
use super::model::Message;
use super::stream::{DocumentReader, Undecodable, encode_with_document, read_head, read_message};
use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode as HttpStatus, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use tokio::io::AsyncReadExt;

pub const CONTENT_TYPE: &str = "application/ipp";

/// How much of a refused request's remaining body the server reads (and discards) so that its
/// IPP error reaches the client; past this the connection is dropped instead.
const MAX_DRAIN_AFTER_ERROR: u64 = 64 << 20;

/// How a client proves who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    None,
    /// A device token (Universal Print devices, printlab's own devices).
    Bearer(String),
    /// What ippsample's ippproxy sends.
    Basic {
        user: String,
        password: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("encoding the IPP request: {0}")]
    Encode(#[from] EncodeError),
    #[error("HTTP exchange with {url} failed: {source}")]
    Http { url: String, source: reqwest::Error },
    #[error("{url} answered HTTP {status}: {body}")]
    HttpStatus {
        url: String,
        status: u16,
        body: String,
    },
    #[error("{url} answered with Content-Type `{content_type}`, not application/ipp")]
    ContentType { url: String, content_type: String },
    #[error("decoding the IPP response from {url}: {source}")]
    Decode { url: String, source: DecodeError },
}

/// A decoded response and the document data after it (Fetch-Document's payload).
pub struct ReceivedResponse {
    pub message: Message,
    pub document: DocumentReader,
}

/// POSTs an IPP request (plus optional document data, streamed) and decodes the response
/// attributes; the response's document data is returned unread.
pub async fn post_ipp(
    http: &reqwest::Client,
    url: &str,
    credentials: &Credentials,
    request: &Message,
    document: Option<DocumentReader>,
    limits: &Limits,
) -> Result<ReceivedResponse, TransportError> {
    // Attributes alone go out whole with a Content-Length: the receiver knows where the body
    // ends without chunk framing (most requests, every long-poll renewal). Only document data
    // streams, chunked.
    let body = match document {
        None => reqwest::Body::from(request.to_bytes()?),
        document => reqwest::Body::wrap_stream(encode_with_document(request, document)?),
    };
    let mut builder = http
        .post(url)
        .header(header::CONTENT_TYPE, CONTENT_TYPE)
        .body(body);
    builder = match credentials {
        Credentials::None => builder,
        Credentials::Bearer(token) => builder.bearer_auth(token),
        Credentials::Basic { user, password } => builder.basic_auth(user, Some(password)),
    };
    let response = builder
        .send()
        .await
        .map_err(|source| TransportError::Http {
            url: url.to_owned(),
            source,
        })?;
    let status = response.status();
    if status != reqwest::StatusCode::OK {
        let body = response.text().await.unwrap_or_default();
        return Err(TransportError::HttpStatus {
            url: url.to_owned(),
            status: status.as_u16(),
            body,
        });
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if !is_ipp_content_type(&content_type) {
        return Err(TransportError::ContentType {
            url: url.to_owned(),
            content_type,
        });
    }
    let reader =
        tokio_util::io::StreamReader::new(response.bytes_stream().map_err(std::io::Error::other));
    let (message, document) =
        read_message(reader, limits)
            .await
            .map_err(|e| TransportError::Decode {
                url: url.to_owned(),
                source: e.error,
            })?;
    Ok(ReceivedResponse { message, document })
}

fn is_ipp_content_type(value: &str) -> bool {
    value
        .split(';')
        .next()
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(CONTENT_TYPE))
}

/// An incoming IPP request: the decoded attributes and the document data, still unread.
/// Decoding limits come from a `Limits` request extension when one is installed, otherwise
/// the defaults.
pub struct IppRequest {
    pub message: Message,
    pub document: DocumentReader,
}

/// Why an incoming request is not an IPP request this server can read.
#[derive(Debug)]
pub enum IppRejection {
    /// Not `application/ipp`: answered at the HTTP level (415).
    WrongContentType(String),
    /// Bad IPP: answered with an IPP response carrying the matching status and the reason.
    Undecodable(Undecodable),
}

impl IntoResponse for IppRejection {
    fn into_response(self) -> Response {
        match self {
            Self::WrongContentType(found) => (
                HttpStatus::UNSUPPORTED_MEDIA_TYPE,
                format!("expected Content-Type application/ipp, got `{found}`"),
            )
                .into_response(),
            Self::Undecodable(u) => {
                tracing::debug!(error = %u.error, "rejecting undecodable IPP request");
                let mut message = Message::error_response(
                    u.error.status(),
                    u.request_id.unwrap_or(0),
                    u.error.to_string(),
                );
                if let Some(version @ (1..=2, _)) = u.version {
                    message.version = version;
                }
                IppReply::new(message).into_response()
            }
        }
    }
}

impl<S: Send + Sync> FromRequest<S> for IppRequest {
    type Rejection = IppRejection;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        if !is_ipp_content_type(&content_type) {
            return Err(IppRejection::WrongContentType(content_type));
        }
        let limits = req
            .extensions()
            .get::<Limits>()
            .copied()
            .unwrap_or_default();
        let stream = req
            .into_body()
            .into_data_stream()
            .map_err(std::io::Error::other);
        let mut reader = tokio_util::io::StreamReader::new(stream);
        let (message, already_read) = match read_head(&mut reader, &limits).await {
            Ok(head) => head,
            Err(undecodable) => {
                // Answer only after the client has finished sending (up to a bound): a
                // response sent while the request body is still arriving ends in a connection
                // reset that loses the response.
                let mut rest = (&mut reader).take(MAX_DRAIN_AFTER_ERROR);
                let _ = tokio::io::copy(&mut rest, &mut tokio::io::sink()).await;
                return Err(IppRejection::Undecodable(undecodable));
            }
        };
        let document: DocumentReader = Box::pin(std::io::Cursor::new(already_read).chain(reader));
        Ok(Self { message, document })
    }
}

/// Document data that is already a stream of byte chunks (a stored file read piece by piece).
pub type DocumentChunks = std::pin::Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// An IPP response for axum, optionally followed by streamed document data.
pub struct IppReply {
    pub message: Message,
    pub document: Option<DocumentReader>,
    /// Document data as chunks, sent as they are: no reader in between to copy them again.
    pub document_chunks: Option<DocumentChunks>,
}

impl IppReply {
    pub fn new(message: Message) -> Self {
        Self {
            message,
            document: None,
            document_chunks: None,
        }
    }

    pub fn with_document(message: Message, document: DocumentReader) -> Self {
        Self {
            message,
            document: Some(document),
            document_chunks: None,
        }
    }

    pub fn with_document_chunks(message: Message, chunks: DocumentChunks) -> Self {
        Self {
            message,
            document: None,
            document_chunks: Some(chunks),
        }
    }
}

impl IntoResponse for IppReply {
    fn into_response(self) -> Response {
        let request_id = self.message.request_id;
        // As for requests: a reply without document data goes out whole, with a Content-Length.
        let encoded = match (self.document, self.document_chunks) {
            (None, None) => self.message.to_bytes().map(Body::from),
            (document, chunks) => encode_with_document(&self.message, document)
                .map(|head| Body::from_stream(head.chain(futures::stream::iter(chunks).flatten()))),
        };
        let (status, body) = match encoded {
            Ok(body) => (HttpStatus::OK, body),
            Err(error) => {
                // A handler built a response IPP cannot carry; say so in IPP rather than drop it.
                tracing::error!(%error, "cannot encode IPP response");
                let fallback = Message::error_response(
                    StatusCode::SERVER_ERROR_INTERNAL_ERROR,
                    request_id,
                    error.to_string(),
                );
                match fallback.to_bytes() {
                    Ok(bytes) => (HttpStatus::OK, Body::from(bytes)),
                    Err(_) => (
                        HttpStatus::INTERNAL_SERVER_ERROR,
                        Body::from(error.to_string()),
                    ),
                }
            }
        };
        let mut response = Response::new(body);
        *response.status_mut() = status;
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        response
    }
}
