//! RFC 8010 decoding, hardened for bytes from anyone.
//!
//! Every length is checked against what is left before anything is read or allocated, the whole
//! header is bounded by [`Limits::max_message_bytes`], and collections nest at most
//! [`Limits::max_collection_depth`] deep, so hostile input costs at most a small multiple of its
//! own size and never overflows the stack. Errors name the byte offset and map to the IPP status
//! a server should answer with.

use super::codes::StatusCode;
use super::encode::MAX_FIELD_LEN;
use super::model::*;
use bytes::Bytes;

/// Bounds applied while decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Header plus attributes, excluding document data. Printer attribute sets with a full
    /// `media-col-database` run to tens of kilobytes; 1 MiB leaves ample room.
    pub max_message_bytes: usize,
    /// Nesting depth of collections (`media-col` inside `media-col-database` is 2).
    pub max_collection_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: 1 << 20,
            max_collection_depth: 16,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at byte {offset}")]
pub struct DecodeError {
    pub offset: usize,
    pub kind: DecodeErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeErrorKind {
    #[error("message ends inside {0}")]
    Truncated(&'static str),
    #[error("IPP version {0}.{1} is not supported")]
    UnsupportedVersion(u8, u8),
    #[error("attribute before the first group tag")]
    AttributeOutsideGroup,
    #[error("tag 0x00 is reserved and may not appear as a delimiter")]
    ReservedDelimiter,
    #[error("additional value with no attribute before it")]
    OrphanAdditionalValue,
    #[error("{what} length {len} is negative or over the {MAX_FIELD_LEN}-octet limit")]
    FieldTooLong { what: &'static str, len: usize },
    #[error("{what} must be {expected} octets, not {len}")]
    BadValueLength {
        what: &'static str,
        expected: usize,
        len: usize,
    },
    #[error("{0} is not valid UTF-8")]
    BadUtf8(&'static str),
    #[error("boolean value {0} is neither 0 nor 1")]
    BadBoolean(u8),
    #[error("{0}")]
    BadCollection(&'static str),
    #[error("collections nest deeper than {0} levels")]
    TooDeep(usize),
    #[error("header and attributes exceed {0} bytes")]
    MessageTooLarge(usize),
    #[error("reading the request failed: {0}")]
    Io(String),
}

impl DecodeError {
    /// The status a server answers a request that failed to decode with.
    pub fn status(&self) -> StatusCode {
        match self.kind {
            DecodeErrorKind::UnsupportedVersion(..) => {
                StatusCode::SERVER_ERROR_VERSION_NOT_SUPPORTED
            }
            DecodeErrorKind::FieldTooLong { .. } => StatusCode::CLIENT_ERROR_REQUEST_VALUE_TOO_LONG,
            DecodeErrorKind::MessageTooLarge(_) | DecodeErrorKind::TooDeep(_) => {
                StatusCode::CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE
            }
            DecodeErrorKind::BadUtf8(_) => StatusCode::CLIENT_ERROR_CHARSET_NOT_SUPPORTED,
            DecodeErrorKind::Io(_) => StatusCode::SERVER_ERROR_INTERNAL_ERROR,
            _ => StatusCode::CLIENT_ERROR_BAD_REQUEST,
        }
    }

    pub fn is_truncation(&self) -> bool {
        matches!(self.kind, DecodeErrorKind::Truncated(_))
    }
}

/// Decodes a message from the start of `input`; returns it and the offset where document data
/// begins (just after the end-of-attributes tag).
pub fn decode(input: &[u8], limits: &Limits) -> Result<(Message, usize), DecodeError> {
    let mut r = Reader {
        input,
        pos: 0,
        limits,
    };
    let message = r.message()?;
    Ok((message, r.pos))
}

/// Reads the 8-byte header alone, so that a server can echo the request-id even when the rest
/// of a request is broken.
pub fn peek_request_id(input: &[u8]) -> Option<u32> {
    input
        .get(4..8)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// The version bytes, so that an error answer can carry the version the client asked for.
pub fn peek_version(input: &[u8]) -> Option<(u8, u8)> {
    input.get(..2).map(|b| (b[0], b[1]))
}

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
    limits: &'a Limits,
}

impl<'a> Reader<'a> {
    fn err(&self, at: usize, kind: DecodeErrorKind) -> DecodeError {
        DecodeError { offset: at, kind }
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.input.len());
        match end {
            Some(end) => {
                if end > self.limits.max_message_bytes {
                    return Err(self.err(
                        self.pos,
                        DecodeErrorKind::MessageTooLarge(self.limits.max_message_bytes),
                    ));
                }
                let s = &self.input[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None if self.input.len() >= self.limits.max_message_bytes => Err(self.err(
                self.pos,
                DecodeErrorKind::MessageTooLarge(self.limits.max_message_bytes),
            )),
            None => Err(self.err(self.input.len(), DecodeErrorKind::Truncated(what))),
        }
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?[0])
    }

    fn len16(&mut self, what: &'static str) -> Result<usize, DecodeError> {
        let at = self.pos;
        let b = self.take(2, what)?;
        let len = u16::from_be_bytes([b[0], b[1]]) as usize;
        if len > MAX_FIELD_LEN {
            return Err(self.err(at, DecodeErrorKind::FieldTooLong { what, len }));
        }
        Ok(len)
    }

    fn message(&mut self) -> Result<Message, DecodeError> {
        let header = self.take(8, "the 8-byte header")?;
        let version = (header[0], header[1]);
        if !(1..=2).contains(&version.0) {
            return Err(self.err(0, DecodeErrorKind::UnsupportedVersion(version.0, version.1)));
        }
        let code = u16::from_be_bytes([header[2], header[3]]);
        let request_id = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
        let mut groups: Vec<Group> = Vec::new();
        loop {
            let at = self.pos;
            let t = self.u8("the attribute groups (no end-of-attributes tag)")?;
            match t {
                END_OF_ATTRIBUTES => break,
                0x00 => return Err(self.err(at, DecodeErrorKind::ReservedDelimiter)),
                t if GroupTag::is_group(t) => groups.push(Group::new(GroupTag(t))),
                value_tag => {
                    let group = groups.last_mut().ok_or(DecodeError {
                        offset: at,
                        kind: DecodeErrorKind::AttributeOutsideGroup,
                    })?;
                    let name = self.name()?;
                    let value = self.value(value_tag, at, 0)?;
                    match name {
                        Some(name) => group.attributes.push(Attribute::new(name, value)),
                        None => group
                            .attributes
                            .last_mut()
                            .ok_or(DecodeError {
                                offset: at,
                                kind: DecodeErrorKind::OrphanAdditionalValue,
                            })?
                            .values
                            .push(value),
                    }
                }
            }
        }
        Ok(Message {
            version,
            code,
            request_id,
            groups,
        })
    }

    /// The attribute name, or `None` for an additional value (name-length 0).
    fn name(&mut self) -> Result<Option<String>, DecodeError> {
        let len = self.len16("a name length")?;
        if len == 0 {
            return Ok(None);
        }
        Ok(Some(self.string(len, "attribute name")?))
    }

    fn string(&mut self, len: usize, what: &'static str) -> Result<String, DecodeError> {
        let at = self.pos;
        let bytes = self.take(len, what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| self.err(at, DecodeErrorKind::BadUtf8(what)))
    }

    fn fixed<const N: usize>(
        &mut self,
        len: usize,
        what: &'static str,
    ) -> Result<[u8; N], DecodeError> {
        if len != N {
            return Err(self.err(
                self.pos - 2,
                DecodeErrorKind::BadValueLength {
                    what,
                    expected: N,
                    len,
                },
            ));
        }
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    /// Reads value-length and value for `value_tag`; a begCollection reads through its
    /// endCollection.
    fn value(&mut self, value_tag: u8, tag_at: usize, depth: usize) -> Result<Value, DecodeError> {
        let len = self.len16("a value length")?;
        let value_start = self.pos;
        let i32_of = |b: &[u8]| i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        Ok(match value_tag {
            tag::INTEGER => Value::Integer(i32::from_be_bytes(self.fixed::<4>(len, "integer")?)),
            tag::ENUM => Value::Enum(i32::from_be_bytes(self.fixed::<4>(len, "enum")?)),
            tag::BOOLEAN => match self.fixed::<1>(len, "boolean")?[0] {
                0 => Value::Boolean(false),
                1 => Value::Boolean(true),
                other => return Err(self.err(value_start, DecodeErrorKind::BadBoolean(other))),
            },
            tag::DATE_TIME => {
                let b = self.fixed::<11>(len, "dateTime")?;
                Value::DateTime(DateTime {
                    year: u16::from_be_bytes([b[0], b[1]]),
                    month: b[2],
                    day: b[3],
                    hour: b[4],
                    minutes: b[5],
                    seconds: b[6],
                    deci_seconds: b[7],
                    utc_direction: b[8],
                    utc_hours: b[9],
                    utc_minutes: b[10],
                })
            }
            tag::RESOLUTION => {
                let b = self.fixed::<9>(len, "resolution")?;
                Value::Resolution {
                    cross_feed: i32_of(&b[0..4]),
                    feed: i32_of(&b[4..8]),
                    units: b[8] as i8,
                }
            }
            tag::RANGE_OF_INTEGER => {
                let b = self.fixed::<8>(len, "rangeOfInteger")?;
                Value::RangeOfInteger {
                    lower: i32_of(&b[0..4]),
                    upper: i32_of(&b[4..8]),
                }
            }
            tag::TEXT_WITH_LANGUAGE | tag::NAME_WITH_LANGUAGE => {
                let end = value_start + len;
                let lang_len = self.len16("a language length")?;
                let language = self.string(lang_len, "language tag")?;
                let s_len = self.len16("a text length")?;
                let s = self.string(s_len, "text")?;
                if self.pos != end {
                    return Err(self.err(
                        value_start - 2,
                        DecodeErrorKind::BadValueLength {
                            what: "textWithLanguage/nameWithLanguage",
                            expected: self.pos - value_start,
                            len,
                        },
                    ));
                }
                if value_tag == tag::TEXT_WITH_LANGUAGE {
                    Value::TextWithLanguage { language, text: s }
                } else {
                    Value::NameWithLanguage { language, name: s }
                }
            }
            tag::BEG_COLLECTION => {
                // The begCollection value is empty by definition; skip whatever a sender put there.
                self.take(len, "begCollection value")?;
                self.collection(depth + 1)?
            }
            tag::END_COLLECTION => {
                return Err(self.err(
                    tag_at,
                    DecodeErrorKind::BadCollection("endCollection outside a collection"),
                ));
            }
            tag::MEMBER_ATTR_NAME => {
                return Err(self.err(
                    tag_at,
                    DecodeErrorKind::BadCollection("memberAttrName outside a collection"),
                ));
            }
            tag::OCTET_STRING => {
                Value::OctetString(Bytes::copy_from_slice(self.take(len, "octetString")?))
            }
            t if (0x10..=0x1F).contains(&t) => {
                // Out-of-band values have no value; RFC 8010 says to ignore any octets sent.
                self.take(len, "out-of-band value")?;
                Value::OutOfBand(OutOfBand(t))
            }
            t => match StringKind::from_tag(t) {
                Some(kind) => Value::String {
                    kind,
                    value: self.string(len, "string value")?,
                },
                None => Value::Other {
                    tag: t,
                    data: Bytes::copy_from_slice(self.take(len, "value")?),
                },
            },
        })
    }

    fn collection(&mut self, depth: usize) -> Result<Value, DecodeError> {
        if depth > self.limits.max_collection_depth {
            return Err(self.err(
                self.pos,
                DecodeErrorKind::TooDeep(self.limits.max_collection_depth),
            ));
        }
        let mut members: Vec<Attribute> = Vec::new();
        let mut pending_name: Option<String> = None;
        loop {
            let at = self.pos;
            let t = self.u8("a collection (no endCollection)")?;
            if t < 0x10 {
                return Err(self.err(
                    at,
                    DecodeErrorKind::BadCollection("delimiter tag inside a collection"),
                ));
            }
            let name_len = self.len16("a name length")?;
            if name_len != 0 {
                return Err(self.err(
                    at + 1,
                    DecodeErrorKind::BadCollection("collection member with a non-empty name field"),
                ));
            }
            match t {
                tag::END_COLLECTION => {
                    let len = self.len16("a value length")?;
                    self.take(len, "endCollection value")?;
                    if pending_name.is_some() {
                        return Err(self.err(
                            at,
                            DecodeErrorKind::BadCollection("memberAttrName without a value"),
                        ));
                    }
                    return Ok(Value::Collection(members));
                }
                tag::MEMBER_ATTR_NAME => {
                    if pending_name.is_some() {
                        return Err(self.err(
                            at,
                            DecodeErrorKind::BadCollection("memberAttrName without a value"),
                        ));
                    }
                    let len = self.len16("a value length")?;
                    if len == 0 {
                        return Err(
                            self.err(at, DecodeErrorKind::BadCollection("empty memberAttrName"))
                        );
                    }
                    pending_name = Some(self.string(len, "member name")?);
                }
                value_tag => {
                    let value = self.value(value_tag, at, depth)?;
                    match pending_name.take() {
                        Some(name) => members.push(Attribute::new(name, value)),
                        None => members
                            .last_mut()
                            .ok_or(DecodeError {
                                offset: at,
                                kind: DecodeErrorKind::BadCollection(
                                    "collection value before any memberAttrName",
                                ),
                            })?
                            .values
                            .push(value),
                    }
                }
            }
        }
    }
}
