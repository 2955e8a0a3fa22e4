//! Streaming: the attributes are decoded from an async byte stream and whatever follows the
//! end-of-attributes tag (document data, possibly hundreds of megabytes) is handed back as a
//! reader, never collected.

use super::decode::{DecodeError, DecodeErrorKind, Limits, decode, peek_request_id, peek_version};
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
    /// The request's version, when its first two bytes arrived; the answer must use it.
    pub version: Option<(u8, u8)>,
    pub error: DecodeError,
}

/// Chunk size for document data on its way out. `ReaderStream`'s default (4 KiB) costs about
/// 4.5x in throughput on loopback against 256 KiB (benches/ipp_stream.rs).
const DOCUMENT_CHUNK: usize = 256 * 1024;

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
    let (message, already_read) = read_head(&mut reader, limits).await?;
    Ok((
        message,
        Box::pin(io::Cursor::new(already_read).chain(reader)),
    ))
}

/// Decodes the attributes from `reader`; returns the message and the document bytes that were
/// read past the end-of-attributes tag. The reader stays with the caller, so that after an
/// error a server can drain what the client is still sending before it answers.
pub async fn read_head<R>(reader: &mut R, limits: &Limits) -> Result<(Message, Bytes), Undecodable>
where
    R: AsyncRead + Unpin,
{
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let mut reached_eof = false;
    loop {
        match decode(&buf, limits) {
            Ok((message, used)) => return Ok((message, buf.split_off(used).freeze())),
            Err(error)
                if error.is_truncation()
                    && !reached_eof
                    && buf.len() < limits.max_message_bytes =>
            {
                let target = (buf.len() * 2)
                    .max(READ_CHUNK)
                    .min(limits.max_message_bytes);
                while buf.len() < target {
                    let want = target - buf.len();
                    buf.reserve(want);
                    let n = (&mut *reader)
                        .take(want as u64)
                        .read_buf(&mut buf)
                        .await
                        .map_err(|e| Undecodable {
                            request_id: peek_request_id(&buf),
                            version: peek_version(&buf),
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
            }
            Err(error) => {
                return Err(Undecodable {
                    request_id: peek_request_id(&buf),
                    version: peek_version(&buf),
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
    let tail = document.map(|d| tokio_util::io::ReaderStream::with_capacity(d, DOCUMENT_CHUNK));
    Ok(futures::stream::once(async move { Ok(head) }).chain(futures::stream::iter(tail).flatten()))
}
