//! The attribute model: a message is a header plus delimited groups of named, multi-valued
//! attributes; values carry their RFC 8010 value tag so that a message survives decode → encode
//! byte for byte (apart from length-field choices, which the encoding fixes).

use super::codes::{Operation, StatusCode};
use bytes::Bytes;
use std::fmt;

/// A delimiter (group) tag, 0x01–0x0F except 0x03 (end-of-attributes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GroupTag(pub u8);

impl GroupTag {
    pub const OPERATION: Self = Self(0x01);
    pub const JOB: Self = Self(0x02);
    pub const PRINTER: Self = Self(0x04);
    pub const UNSUPPORTED: Self = Self(0x05);
    pub const SUBSCRIPTION: Self = Self(0x06);
    pub const EVENT_NOTIFICATION: Self = Self(0x07);
    pub const RESOURCE: Self = Self(0x08);
    pub const DOCUMENT: Self = Self(0x09);
    pub const SYSTEM: Self = Self(0x0A);
    /// RFC 8010 reserves 0x0B–0x0F for future groups; receivers keep them as opaque groups.
    pub const FUTURE: std::ops::RangeInclusive<u8> = 0x0B..=0x0F;

    /// True for the bytes that start an attribute group (0x00 is reserved, 0x03 ends them).
    pub fn is_group(tag: u8) -> bool {
        (0x01..=0x0F).contains(&tag) && tag != END_OF_ATTRIBUTES
    }
}

/// The end-of-attributes delimiter; document data follows it.
pub const END_OF_ATTRIBUTES: u8 = 0x03;

/// Value tags (RFC 8010 §3.5.2, IANA).
pub mod tag {
    pub const UNSUPPORTED: u8 = 0x10;
    pub const DEFAULT: u8 = 0x11;
    pub const UNKNOWN: u8 = 0x12;
    pub const NO_VALUE: u8 = 0x13;
    pub const NOT_SETTABLE: u8 = 0x15;
    pub const DELETE_ATTRIBUTE: u8 = 0x16;
    pub const ADMIN_DEFINE: u8 = 0x17;
    pub const INTEGER: u8 = 0x21;
    pub const BOOLEAN: u8 = 0x22;
    pub const ENUM: u8 = 0x23;
    pub const OCTET_STRING: u8 = 0x30;
    pub const DATE_TIME: u8 = 0x31;
    pub const RESOLUTION: u8 = 0x32;
    pub const RANGE_OF_INTEGER: u8 = 0x33;
    pub const BEG_COLLECTION: u8 = 0x34;
    pub const TEXT_WITH_LANGUAGE: u8 = 0x35;
    pub const NAME_WITH_LANGUAGE: u8 = 0x36;
    pub const END_COLLECTION: u8 = 0x37;
    pub const TEXT: u8 = 0x41;
    pub const NAME: u8 = 0x42;
    pub const KEYWORD: u8 = 0x44;
    pub const URI: u8 = 0x45;
    pub const URI_SCHEME: u8 = 0x46;
    pub const CHARSET: u8 = 0x47;
    pub const NATURAL_LANGUAGE: u8 = 0x48;
    pub const MIME_MEDIA_TYPE: u8 = 0x49;
    pub const MEMBER_ATTR_NAME: u8 = 0x4A;
    pub const EXTENSION: u8 = 0x7F;
}

/// The character-string value tags that carry plain UTF-8 (US-ASCII for most of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StringKind {
    Text,
    Name,
    Keyword,
    Uri,
    UriScheme,
    Charset,
    NaturalLanguage,
    MimeMediaType,
}

impl StringKind {
    pub const ALL: [Self; 8] = [
        Self::Text,
        Self::Name,
        Self::Keyword,
        Self::Uri,
        Self::UriScheme,
        Self::Charset,
        Self::NaturalLanguage,
        Self::MimeMediaType,
    ];

    pub fn tag(self) -> u8 {
        match self {
            Self::Text => tag::TEXT,
            Self::Name => tag::NAME,
            Self::Keyword => tag::KEYWORD,
            Self::Uri => tag::URI,
            Self::UriScheme => tag::URI_SCHEME,
            Self::Charset => tag::CHARSET,
            Self::NaturalLanguage => tag::NATURAL_LANGUAGE,
            Self::MimeMediaType => tag::MIME_MEDIA_TYPE,
        }
    }

    pub fn from_tag(value_tag: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.tag() == value_tag)
    }
}

/// The out-of-band value tags (0x10–0x1F): they stand for a value rather than carry one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OutOfBand(pub u8);

impl OutOfBand {
    pub const UNSUPPORTED: Self = Self(tag::UNSUPPORTED);
    pub const DEFAULT: Self = Self(tag::DEFAULT);
    pub const UNKNOWN: Self = Self(tag::UNKNOWN);
    pub const NO_VALUE: Self = Self(tag::NO_VALUE);
    pub const NOT_SETTABLE: Self = Self(tag::NOT_SETTABLE);
    pub const DELETE_ATTRIBUTE: Self = Self(tag::DELETE_ATTRIBUTE);
    pub const ADMIN_DEFINE: Self = Self(tag::ADMIN_DEFINE);
}

/// RFC 2579 DateAndTime as IPP carries it (11 octets). Kept field by field so that a decoded
/// value re-encodes to the same bytes; [`DateTime::to_chrono`] interprets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateTime {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minutes: u8,
    pub seconds: u8,
    pub deci_seconds: u8,
    /// `b'+'` or `b'-'`.
    pub utc_direction: u8,
    pub utc_hours: u8,
    pub utc_minutes: u8,
}

impl DateTime {
    /// The instant in UTC, expressed with a zero offset.
    pub fn from_chrono(instant: chrono::DateTime<chrono::Utc>) -> Self {
        use chrono::{Datelike, Timelike};
        Self {
            year: instant.year().clamp(0, u16::MAX as i32) as u16,
            month: instant.month() as u8,
            day: instant.day() as u8,
            hour: instant.hour() as u8,
            minutes: instant.minute() as u8,
            seconds: instant.second().min(60) as u8,
            deci_seconds: (instant.nanosecond() / 100_000_000).min(9) as u8,
            utc_direction: b'+',
            utc_hours: 0,
            utc_minutes: 0,
        }
    }

    /// The instant, or `None` when the fields do not name a real date and time.
    pub fn to_chrono(&self) -> Option<chrono::DateTime<chrono::FixedOffset>> {
        use chrono::TimeZone;
        let offset_secs = (self.utc_hours as i32 * 60 + self.utc_minutes as i32) * 60;
        let offset = match self.utc_direction {
            b'+' => chrono::FixedOffset::east_opt(offset_secs)?,
            b'-' => chrono::FixedOffset::west_opt(offset_secs)?,
            _ => return None,
        };
        offset
            .with_ymd_and_hms(
                self.year as i32,
                self.month as u32,
                self.day as u32,
                self.hour as u32,
                self.minutes as u32,
                self.seconds as u32,
            )
            .single()
            .map(|t| t + chrono::Duration::milliseconds(self.deci_seconds as i64 * 100))
    }
}

/// `resolution` units (RFC 8011 §5.1.16).
pub const UNITS_DOTS_PER_INCH: i8 = 3;
pub const UNITS_DOTS_PER_CM: i8 = 4;

/// One attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Integer(i32),
    Boolean(bool),
    Enum(i32),
    OctetString(Bytes),
    DateTime(DateTime),
    Resolution {
        cross_feed: i32,
        feed: i32,
        units: i8,
    },
    RangeOfInteger {
        lower: i32,
        upper: i32,
    },
    /// begCollection … endCollection: the members in wire order.
    Collection(Vec<Attribute>),
    TextWithLanguage {
        language: String,
        text: String,
    },
    NameWithLanguage {
        language: String,
        name: String,
    },
    String {
        kind: StringKind,
        value: String,
    },
    OutOfBand(OutOfBand),
    /// A value tag this codec does not interpret (reserved or vendor tags, 0x7F extensions);
    /// kept so that a proxy can pass it on unchanged.
    Other {
        tag: u8,
        data: Bytes,
    },
}

impl Value {
    pub fn keyword(value: impl Into<String>) -> Self {
        Self::String {
            kind: StringKind::Keyword,
            value: value.into(),
        }
    }
    pub fn text(value: impl Into<String>) -> Self {
        Self::String {
            kind: StringKind::Text,
            value: value.into(),
        }
    }
    pub fn name(value: impl Into<String>) -> Self {
        Self::String {
            kind: StringKind::Name,
            value: value.into(),
        }
    }
    pub fn uri(value: impl Into<String>) -> Self {
        Self::String {
            kind: StringKind::Uri,
            value: value.into(),
        }
    }
    pub fn charset(value: impl Into<String>) -> Self {
        Self::String {
            kind: StringKind::Charset,
            value: value.into(),
        }
    }
    pub fn natural_language(value: impl Into<String>) -> Self {
        Self::String {
            kind: StringKind::NaturalLanguage,
            value: value.into(),
        }
    }
    pub fn mime_media_type(value: impl Into<String>) -> Self {
        Self::String {
            kind: StringKind::MimeMediaType,
            value: value.into(),
        }
    }
    pub fn uri_scheme(value: impl Into<String>) -> Self {
        Self::String {
            kind: StringKind::UriScheme,
            value: value.into(),
        }
    }
    pub fn dpi(dots: i32) -> Self {
        Self::Resolution {
            cross_feed: dots,
            feed: dots,
            units: UNITS_DOTS_PER_INCH,
        }
    }

    /// The string of any character-string value (with or without language).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String { value, .. } => Some(value),
            Self::TextWithLanguage { text, .. } => Some(text),
            Self::NameWithLanguage { name, .. } => Some(name),
            _ => None,
        }
    }

    /// A `keyword` value (IPP often allows `name` in the same place; both are accepted).
    pub fn as_keyword(&self) -> Option<&str> {
        match self {
            Self::String {
                kind: StringKind::Keyword | StringKind::Name,
                value,
            } => Some(value),
            Self::NameWithLanguage { name, .. } => Some(name),
            _ => None,
        }
    }

    pub fn as_integer(&self) -> Option<i32> {
        match self {
            Self::Integer(v) => Some(*v),
            _ => None,
        }
    }

    pub fn as_enum(&self) -> Option<i32> {
        match self {
            Self::Enum(v) => Some(*v),
            _ => None,
        }
    }

    pub fn as_boolean(&self) -> Option<bool> {
        match self {
            Self::Boolean(v) => Some(*v),
            _ => None,
        }
    }

    pub fn as_range(&self) -> Option<(i32, i32)> {
        match self {
            Self::RangeOfInteger { lower, upper } => Some((*lower, *upper)),
            _ => None,
        }
    }

    pub fn as_collection(&self) -> Option<&[Attribute]> {
        match self {
            Self::Collection(members) => Some(members),
            _ => None,
        }
    }

    /// The wire tag this value is encoded with.
    pub fn tag(&self) -> u8 {
        match self {
            Self::Integer(_) => tag::INTEGER,
            Self::Boolean(_) => tag::BOOLEAN,
            Self::Enum(_) => tag::ENUM,
            Self::OctetString(_) => tag::OCTET_STRING,
            Self::DateTime(_) => tag::DATE_TIME,
            Self::Resolution { .. } => tag::RESOLUTION,
            Self::RangeOfInteger { .. } => tag::RANGE_OF_INTEGER,
            Self::Collection(_) => tag::BEG_COLLECTION,
            Self::TextWithLanguage { .. } => tag::TEXT_WITH_LANGUAGE,
            Self::NameWithLanguage { .. } => tag::NAME_WITH_LANGUAGE,
            Self::String { kind, .. } => kind.tag(),
            Self::OutOfBand(oob) => oob.0,
            Self::Other { tag, .. } => *tag,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Integer(v) | Self::Enum(v) => write!(f, "{v}"),
            Self::Boolean(v) => write!(f, "{v}"),
            Self::OctetString(b) => write!(f, "<{} octets>", b.len()),
            Self::DateTime(d) => match d.to_chrono() {
                Some(t) => write!(f, "{}", t.to_rfc3339()),
                None => write!(f, "{d:?}"),
            },
            Self::Resolution {
                cross_feed,
                feed,
                units,
            } => {
                let unit = if *units == UNITS_DOTS_PER_CM {
                    "dpcm"
                } else {
                    "dpi"
                };
                write!(f, "{cross_feed}x{feed}{unit}")
            }
            Self::RangeOfInteger { lower, upper } => write!(f, "{lower}-{upper}"),
            Self::Collection(members) => {
                f.write_str("{")?;
                for (i, m) in members.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{m}")?;
                }
                f.write_str("}")
            }
            Self::TextWithLanguage { text: s, .. } | Self::NameWithLanguage { name: s, .. } => {
                f.write_str(s)
            }
            Self::String { value, .. } => f.write_str(value),
            Self::OutOfBand(oob) => match *oob {
                OutOfBand::UNSUPPORTED => f.write_str("unsupported"),
                OutOfBand::UNKNOWN => f.write_str("unknown"),
                OutOfBand::NO_VALUE => f.write_str("no-value"),
                OutOfBand::NOT_SETTABLE => f.write_str("not-settable"),
                OutOfBand::DELETE_ATTRIBUTE => f.write_str("delete-attribute"),
                OutOfBand::ADMIN_DEFINE => f.write_str("admin-define"),
                OutOfBand(other) => write!(f, "out-of-band 0x{other:02X}"),
            },
            Self::Other { tag, data } => write!(f, "<tag 0x{tag:02X}, {} octets>", data.len()),
        }
    }
}

/// A named attribute with one value or more (1setOf: the "additional values" on the wire).
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    pub name: String,
    /// Never empty: the wire format cannot express an attribute without a value.
    pub values: Vec<Value>,
}

impl Attribute {
    pub fn new(name: impl Into<String>, value: Value) -> Self {
        Self {
            name: name.into(),
            values: vec![value],
        }
    }

    /// A 1setOf attribute. `values` must not be empty; the encoder refuses an empty set.
    pub fn set(name: impl Into<String>, values: impl IntoIterator<Item = Value>) -> Self {
        Self {
            name: name.into(),
            values: values.into_iter().collect(),
        }
    }

    pub fn first(&self) -> Option<&Value> {
        self.values.first()
    }

    /// Every value's keyword, skipping values of other types.
    pub fn keywords(&self) -> impl Iterator<Item = &str> {
        self.values.iter().filter_map(Value::as_keyword)
    }

    pub fn integers(&self) -> impl Iterator<Item = i32> + '_ {
        self.values.iter().filter_map(Value::as_integer)
    }

    pub fn enums(&self) -> impl Iterator<Item = i32> + '_ {
        self.values.iter().filter_map(Value::as_enum)
    }

    pub fn collections(&self) -> impl Iterator<Item = &[Attribute]> {
        self.values.iter().filter_map(Value::as_collection)
    }
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}=", self.name)?;
        for (i, v) in self.values.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{v}")?;
        }
        Ok(())
    }
}

/// Typed look-ups over a list of attributes: a group, or the members of a collection.
pub trait AttributeLookup {
    fn attributes(&self) -> &[Attribute];

    fn attr(&self, name: &str) -> Option<&Attribute> {
        self.attributes().iter().find(|a| a.name == name)
    }
    fn first_value(&self, name: &str) -> Option<&Value> {
        self.attr(name).and_then(Attribute::first)
    }
    fn keyword(&self, name: &str) -> Option<&str> {
        self.first_value(name).and_then(Value::as_keyword)
    }
    fn string(&self, name: &str) -> Option<&str> {
        self.first_value(name).and_then(Value::as_str)
    }
    fn integer(&self, name: &str) -> Option<i32> {
        self.first_value(name).and_then(Value::as_integer)
    }
    fn enum_value(&self, name: &str) -> Option<i32> {
        self.first_value(name).and_then(Value::as_enum)
    }
    fn boolean(&self, name: &str) -> Option<bool> {
        self.first_value(name).and_then(Value::as_boolean)
    }
    fn range(&self, name: &str) -> Option<(i32, i32)> {
        self.first_value(name).and_then(Value::as_range)
    }
    fn collection(&self, name: &str) -> Option<&[Attribute]> {
        self.first_value(name).and_then(Value::as_collection)
    }
}

impl AttributeLookup for [Attribute] {
    fn attributes(&self) -> &[Attribute] {
        self
    }
}

impl AttributeLookup for Vec<Attribute> {
    fn attributes(&self) -> &[Attribute] {
        self
    }
}

/// One delimited attribute group.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub tag: GroupTag,
    pub attributes: Vec<Attribute>,
}

impl Group {
    pub fn new(tag: GroupTag) -> Self {
        Self {
            tag,
            attributes: Vec::new(),
        }
    }

    /// Appends an attribute (builder style).
    pub fn with(mut self, name: impl Into<String>, value: Value) -> Self {
        self.attributes.push(Attribute::new(name, value));
        self
    }

    /// Appends a 1setOf attribute (builder style).
    pub fn with_set(
        mut self,
        name: impl Into<String>,
        values: impl IntoIterator<Item = Value>,
    ) -> Self {
        self.attributes.push(Attribute::set(name, values));
        self
    }

    pub fn push(&mut self, attribute: Attribute) {
        self.attributes.push(attribute);
    }
}

impl AttributeLookup for Group {
    fn attributes(&self) -> &[Attribute] {
        &self.attributes
    }
}

/// A whole IPP request or response, without its document data.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// (major, minor), e.g. (2, 0).
    pub version: (u8, u8),
    /// The operation id of a request or the status code of a response.
    pub code: u16,
    pub request_id: u32,
    pub groups: Vec<Group>,
}

impl Message {
    /// A request with the operation attributes every request starts with (RFC 8011 §4.1.4).
    pub fn request(operation: Operation, request_id: u32) -> Self {
        Self {
            version: (2, 0),
            code: operation.0,
            request_id,
            groups: vec![standard_operation_group()],
        }
    }

    /// A response with the standard operation attributes.
    pub fn response(status: StatusCode, request_id: u32) -> Self {
        Self {
            version: (2, 0),
            code: status.0,
            request_id,
            groups: vec![standard_operation_group()],
        }
    }

    /// The response to this request: same version (RFC 8011 §4.1.8 — ipptool refuses any
    /// other) and request-id, standard operation attributes.
    pub fn reply(&self, status: StatusCode) -> Self {
        Self {
            version: self.version,
            ..Self::response(status, self.request_id)
        }
    }

    /// A response carrying `status-message`, which clients show to people.
    pub fn error_response(status: StatusCode, request_id: u32, message: impl Into<String>) -> Self {
        let mut response = Self::response(status, request_id);
        response.groups[0].push(Attribute::new("status-message", Value::text(message)));
        response
    }

    pub fn operation(&self) -> Operation {
        Operation(self.code)
    }

    pub fn status(&self) -> StatusCode {
        StatusCode(self.code)
    }

    /// The first group with this tag.
    pub fn group(&self, tag: GroupTag) -> Option<&Group> {
        self.groups.iter().find(|g| g.tag == tag)
    }

    /// The first group with this tag, appended (empty) if there is none.
    pub fn group_mut(&mut self, tag: GroupTag) -> &mut Group {
        match self.groups.iter().position(|g| g.tag == tag) {
            Some(i) => &mut self.groups[i],
            None => self.push_group(Group::new(tag)),
        }
    }

    /// Every group with this tag, in order (e.g. one job group per job in Get-Jobs).
    pub fn groups_of(&self, tag: GroupTag) -> impl Iterator<Item = &Group> {
        self.groups.iter().filter(move |g| g.tag == tag)
    }

    /// Appends a group, even if one with the same tag exists, and returns it.
    pub fn push_group(&mut self, group: Group) -> &mut Group {
        self.groups.push(group);
        self.groups.last_mut().expect("just pushed")
    }

    /// The first operation-attributes group; an empty one when the message has none.
    pub fn operation_attributes(&self) -> &[Attribute] {
        self.group(GroupTag::OPERATION)
            .map(|g| g.attributes.as_slice())
            .unwrap_or(&[])
    }
}

fn standard_operation_group() -> Group {
    Group::new(GroupTag::OPERATION)
        .with("attributes-charset", Value::charset("utf-8"))
        .with("attributes-natural-language", Value::natural_language("en"))
}
