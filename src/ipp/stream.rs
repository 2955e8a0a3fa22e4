//! Streaming: the attributes are decoded from an async byte stream and whatever follows the
//! end-of-attributes tag (document data, possibly hundreds of megabytes) is handed back as a
//! reader, never collected.

use super::decode::{DecodeError, DecodeErrorKind, Limits, decode, peek_request_id};
use super::encode::EncodeError;
use super::model::Message;
use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use std::io;
use std::pin::Pin;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Document data following a message's attributes.
pub type DocumentReader = Pin<Box<dyn AsyncRead + Send>>;

/// A message that failed to decode, with its request-id when the header got through, so that
/// a server can still answer the request it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct Undecodable {
    pub request_id: Option<u32>,
    pub error: DecodeError,
}

/// Smallest read while looking for the end of the attributes.
const READ_CHUNK: usize = 8 * 1024;

/// Reads and decodes the header and attributes, and returns the rest of `reader` as the
/// document. At most about twice the header size (and never more than
/// `limits.max_message_bytes`) is held in memory; the buffer doubles between decode attempts so
/// the retries cost linear time in total.
pub async fn read_message<R>(
    mut reader: R,
    limits: &Limits,
) -> Result<(Message, DocumentReader), Undecodable>
where
    R: AsyncRead + Send + Unpin + 'static,
{
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    loop {
        match decode(&buf, limits) {
            Ok((message, used)) => {
                let rest = buf.split_off(used).freeze();
                let document = io::Cursor::new(rest).chain(reader);
                return Ok((message, Box::pin(document)));
            }
            Err(error) if error.is_truncation() && buf.len() < limits.max_message_bytes => {
                let target = (buf.len() * 2)
                    .max(READ_CHUNK)
                    .min(limits.max_message_bytes);
                let mut reached_eof = false;
                while buf.len() < target {
                    let want = (target - buf.len()) as u64;
                    buf.reserve(want as usize);
                    let n = (&mut reader)
                        .take(want)
                        .read_buf(&mut buf)
                        .await
                        .map_err(|e| Undecodable {
                            request_id: peek_request_id(&buf),
                            error: DecodeError {
                                offset: buf.len(),
                                kind: DecodeErrorKind::Io(e.to_string()),
                            },
                        })?;
                    if n == 0 {
                        reached_eof = true;
                        break;
                    }
                }
                if reached_eof {
                    // One last attempt decides between success and a truncation error.
                    return match decode(&buf, limits) {
                        Ok((message, used)) => {
                            let rest = buf.split_off(used).freeze();
                            Ok((message, Box::pin(io::Cursor::new(rest))))
                        }
                        Err(error) => Err(Undecodable {
                            request_id: peek_request_id(&buf),
                            error,
                        }),
                    };
                }
            }
            Err(error) => {
                return Err(Undecodable {
                    request_id: peek_request_id(&buf),
                    error,
                });
            }
        }
    }
}

/// The encoded message followed by the document stream, as one byte stream for an HTTP body.
pub fn encode_with_document(
    message: &Message,
    document: Option<DocumentReader>,
) -> Result<impl Stream<Item = io::Result<Bytes>> + Send + 'static, EncodeError> {
    let head = message.to_bytes()?;
    let tail = document.map(tokio_util::io::ReaderStream::new);
    Ok(futures::stream::once(async move { Ok(head) }).chain(futures::stream::iter(tail).flatten()))
}
