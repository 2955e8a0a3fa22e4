//! RFC 8010 encoding.

use super::model::{Attribute, END_OF_ATTRIBUTES, Message, Value, tag};
use bytes::{BufMut, Bytes, BytesMut};

/// RFC 8010 lengths are SIGNED-SHORT, so nothing longer than this fits in a name or value.
pub const MAX_FIELD_LEN: usize = i16::MAX as usize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("attribute `{name}`: a {what} of {len} octets exceeds the {MAX_FIELD_LEN}-octet limit")]
    TooLong {
        name: String,
        what: &'static str,
        len: usize,
    },
    #[error("attribute `{name}` has no value; IPP cannot express that (use an out-of-band value)")]
    NoValue { name: String },
    #[error("attribute `{name}`: value tag 0x{tag:02X} is a delimiter, not a value tag")]
    BadTag { name: String, tag: u8 },
}

impl Message {
    /// The encoded header and attribute groups, ending with the end-of-attributes tag.
    pub fn to_bytes(&self) -> Result<Bytes, EncodeError> {
        let mut out = BytesMut::with_capacity(256);
        self.encode(&mut out)?;
        Ok(out.freeze())
    }

    pub fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        out.put_u8(self.version.0);
        out.put_u8(self.version.1);
        out.put_u16(self.code);
        out.put_u32(self.request_id);
        for group in &self.groups {
            out.put_u8(group.tag.0);
            for attribute in &group.attributes {
                encode_attribute(out, attribute, false)?;
            }
        }
        out.put_u8(END_OF_ATTRIBUTES);
        Ok(())
    }
}

/// Writes one attribute; inside a collection the name travels in a memberAttrName value first.
fn encode_attribute(
    out: &mut BytesMut,
    attribute: &Attribute,
    member: bool,
) -> Result<(), EncodeError> {
    let name = &attribute.name;
    if attribute.values.is_empty() {
        return Err(EncodeError::NoValue { name: name.clone() });
    }
    check_len(name, "name", name.len())?;
    if member {
        put_field(out, tag::MEMBER_ATTR_NAME, b"", name.as_bytes());
    }
    for (i, value) in attribute.values.iter().enumerate() {
        let wire_name = if i == 0 && !member {
            name.as_bytes()
        } else {
            b""
        };
        encode_value(out, name, wire_name, value)?;
    }
    Ok(())
}

fn encode_value(
    out: &mut BytesMut,
    name: &str,
    wire_name: &[u8],
    value: &Value,
) -> Result<(), EncodeError> {
    let value_tag = value.tag();
    if value_tag < 0x10 {
        return Err(EncodeError::BadTag {
            name: name.to_owned(),
            tag: value_tag,
        });
    }
    match value {
        Value::Integer(v) | Value::Enum(v) => {
            put_field(out, value_tag, wire_name, &v.to_be_bytes())
        }
        Value::Boolean(v) => put_field(out, value_tag, wire_name, &[u8::from(*v)]),
        Value::OctetString(data) | Value::Other { data, .. } => {
            check_len(name, "value", data.len())?;
            put_field(out, value_tag, wire_name, data)
        }
        Value::DateTime(d) => {
            let mut b = [0u8; 11];
            b[..2].copy_from_slice(&d.year.to_be_bytes());
            b[2..].copy_from_slice(&[
                d.month,
                d.day,
                d.hour,
                d.minutes,
                d.seconds,
                d.deci_seconds,
                d.utc_direction,
                d.utc_hours,
                d.utc_minutes,
            ]);
            put_field(out, value_tag, wire_name, &b)
        }
        Value::Resolution {
            cross_feed,
            feed,
            units,
        } => {
            let mut b = [0u8; 9];
            b[..4].copy_from_slice(&cross_feed.to_be_bytes());
            b[4..8].copy_from_slice(&feed.to_be_bytes());
            b[8] = *units as u8;
            put_field(out, value_tag, wire_name, &b)
        }
        Value::RangeOfInteger { lower, upper } => {
            let mut b = [0u8; 8];
            b[..4].copy_from_slice(&lower.to_be_bytes());
            b[4..].copy_from_slice(&upper.to_be_bytes());
            put_field(out, value_tag, wire_name, &b)
        }
        Value::Collection(members) => {
            put_field(out, tag::BEG_COLLECTION, wire_name, b"");
            for m in members {
                encode_attribute(out, m, true)?;
            }
            put_field(out, tag::END_COLLECTION, b"", b"");
        }
        Value::TextWithLanguage { language, text: s }
        | Value::NameWithLanguage { language, name: s } => {
            let len = 4 + language.len() + s.len();
            check_len(name, "value", len)?;
            out.put_u8(value_tag);
            out.put_u16(wire_name.len() as u16);
            out.put_slice(wire_name);
            out.put_u16(len as u16);
            out.put_u16(language.len() as u16);
            out.put_slice(language.as_bytes());
            out.put_u16(s.len() as u16);
            out.put_slice(s.as_bytes());
        }
        Value::String { value: s, .. } => {
            check_len(name, "value", s.len())?;
            put_field(out, value_tag, wire_name, s.as_bytes())
        }
        Value::OutOfBand(_) => put_field(out, value_tag, wire_name, b""),
    }
    Ok(())
}

fn check_len(name: &str, what: &'static str, len: usize) -> Result<(), EncodeError> {
    if len > MAX_FIELD_LEN {
        return Err(EncodeError::TooLong {
            name: name.to_owned(),
            what,
            len,
        });
    }
    Ok(())
}

/// Lengths were checked by the caller (names once per attribute, fixed-size values by type).
fn put_field(out: &mut BytesMut, value_tag: u8, name: &[u8], value: &[u8]) {
    out.put_u8(value_tag);
    out.put_u16(name.len() as u16);
    out.put_slice(name);
    out.put_u16(value.len() as u16);
    out.put_slice(value);
}
