//! Codec tests: one round trip per value tag, hand-checked wire bytes, property-based round
//! trips, and hostile input (truncations, huge lengths, deep nesting).

use super::model::tag;
use super::*;
use bytes::Bytes;
use proptest::prelude::*;

fn round_trip(message: &Message) -> Message {
    let bytes = message.to_bytes().expect("encodes");
    let (decoded, used) = decode(&bytes, &Limits::default()).expect("decodes");
    assert_eq!(
        used,
        bytes.len(),
        "the decoder stops right after end-of-attributes"
    );
    decoded
}

fn with_value(value: Value) -> Message {
    let mut m = Message::request(Operation::GET_PRINTER_ATTRIBUTES, 7);
    m.group_mut(GroupTag::PRINTER)
        .push(Attribute::new("x", value));
    m
}

#[test]
fn every_value_tag_round_trips() {
    let dt = DateTime {
        year: 2026,
        month: 11,
        day: 21,
        hour: 15,
        minutes: 48,
        seconds: 7,
        deci_seconds: 3,
        utc_direction: b'-',
        utc_hours: 5,
        utc_minutes: 30,
    };
    let values = vec![
        Value::Integer(-42),
        Value::Integer(i32::MAX),
        Value::Boolean(true),
        Value::Boolean(false),
        Value::Enum(9),
        Value::OctetString(Bytes::from_static(b"\x00\xffbinary")),
        Value::DateTime(dt),
        Value::Resolution {
            cross_feed: 600,
            feed: 300,
            units: model::UNITS_DOTS_PER_INCH,
        },
        Value::Resolution {
            cross_feed: 118,
            feed: 118,
            units: model::UNITS_DOTS_PER_CM,
        },
        Value::RangeOfInteger {
            lower: 1,
            upper: 999,
        },
        Value::TextWithLanguage {
            language: "de".into(),
            text: "Grüße".into(),
        },
        Value::NameWithLanguage {
            language: "fr".into(),
            name: "Imprimante".into(),
        },
        Value::text("a text"),
        Value::name("a name"),
        Value::keyword("one-sided"),
        Value::uri("ipps://print.example/printers/1"),
        Value::uri_scheme("ipps"),
        Value::charset("utf-8"),
        Value::natural_language("en-us"),
        Value::mime_media_type("application/pdf"),
        Value::OutOfBand(OutOfBand::UNSUPPORTED),
        Value::OutOfBand(OutOfBand::DEFAULT),
        Value::OutOfBand(OutOfBand::UNKNOWN),
        Value::OutOfBand(OutOfBand::NO_VALUE),
        Value::OutOfBand(OutOfBand::NOT_SETTABLE),
        Value::OutOfBand(OutOfBand::DELETE_ATTRIBUTE),
        Value::OutOfBand(OutOfBand::ADMIN_DEFINE),
        Value::Other {
            tag: 0x7F,
            data: Bytes::from_static(b"\x40\x00\x00\x01xyz"),
        },
        Value::Collection(vec![Attribute::new(
            "media-size-name",
            Value::keyword("iso_a4_210x297mm"),
        )]),
        Value::Collection(vec![]),
    ];
    for value in values {
        let m = with_value(value.clone());
        assert_eq!(round_trip(&m), m, "{value:?}");
    }
    let chrono = dt.to_chrono().unwrap();
    assert_eq!(chrono.to_rfc3339(), "2026-11-21T15:48:07.300-05:30");
}

#[test]
fn all_group_tags_round_trip_including_future_and_empty_groups() {
    let mut m = Message::response(StatusCode::SUCCESSFUL_OK, 1);
    for t in [0x02, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0F] {
        m.push_group(Group::new(GroupTag(t)).with("a", Value::Integer(t as i32)));
    }
    // Get-Jobs separates jobs with repeated job groups; an empty one must survive too.
    m.push_group(Group::new(GroupTag::JOB));
    m.push_group(Group::new(GroupTag::JOB).with("job-id", Value::Integer(2)));
    let back = round_trip(&m);
    assert_eq!(back, m);
    assert_eq!(back.groups_of(GroupTag::JOB).count(), 3);
}

#[test]
fn one_set_of_uses_additional_values_with_empty_names() {
    let mut m = Message::request(Operation::GET_JOBS, 0x01020304);
    m.groups.clear();
    m.push_group(Group::new(GroupTag::OPERATION).with_set(
        "requested-attributes",
        [Value::keyword("job-id"), Value::keyword("job-state")],
    ));
    let bytes = m.to_bytes().unwrap();
    let expected: Vec<u8> = [
        &[2, 0, 0x00, 0x0A, 1, 2, 3, 4, 0x01][..],
        &[0x44, 0, 20],
        b"requested-attributes",
        &[0, 6],
        b"job-id",
        &[0x44, 0, 0, 0, 9],
        b"job-state",
        &[0x03],
    ]
    .concat();
    assert_eq!(&bytes[..], &expected[..]);
    let back = round_trip(&m);
    let attr = back
        .group(GroupTag::OPERATION)
        .unwrap()
        .attr("requested-attributes")
        .unwrap();
    assert_eq!(attr.keywords().collect::<Vec<_>>(), ["job-id", "job-state"]);
}

fn media_col(name: &str, x: i32, y: i32, bottom: i32) -> Value {
    Value::Collection(vec![
        Attribute::new(
            "media-size",
            Value::Collection(vec![
                Attribute::new("x-dimension", Value::Integer(x)),
                Attribute::new("y-dimension", Value::Integer(y)),
            ]),
        ),
        Attribute::new("media-size-name", Value::keyword(name)),
        Attribute::new("media-bottom-margin", Value::Integer(bottom)),
        Attribute::set(
            "media-source-feed-direction",
            [
                Value::keyword("long-edge-first"),
                Value::keyword("short-edge-first"),
            ],
        ),
    ])
}

#[test]
fn nested_collections_encode_as_rfc_8010_describes() {
    let m = with_value(Value::Collection(vec![Attribute::new(
        "k",
        Value::Integer(1),
    )]));
    let bytes = m.to_bytes().unwrap();
    // After the standard operation group: printer group, begCollection "x", memberAttrName "k",
    // integer with empty name, endCollection, end-of-attributes.
    let tail: Vec<u8> = [
        &[0x04, tag::BEG_COLLECTION, 0, 1, b'x', 0, 0][..],
        &[tag::MEMBER_ATTR_NAME, 0, 0, 0, 1, b'k'],
        &[tag::INTEGER, 0, 0, 0, 4, 0, 0, 0, 1],
        &[tag::END_COLLECTION, 0, 0, 0, 0],
        &[0x03],
    ]
    .concat();
    assert!(bytes.ends_with(&tail), "{bytes:02X?}");

    let mut db = with_value(Value::Integer(0));
    db.group_mut(GroupTag::PRINTER).push(Attribute::set(
        "media-col-database",
        [
            media_col("iso_a4_210x297mm", 21000, 29700, 423),
            media_col("na_letter_8.5x11in", 21590, 27940, 0),
        ],
    ));
    let back = round_trip(&db);
    assert_eq!(back, db);
    let printer = back.group(GroupTag::PRINTER).unwrap();
    let letter = printer
        .attr("media-col-database")
        .unwrap()
        .collections()
        .nth(1)
        .unwrap();
    assert_eq!(
        letter.keyword("media-size-name"),
        Some("na_letter_8.5x11in")
    );
    assert_eq!(
        letter
            .collection("media-size")
            .unwrap()
            .integer("y-dimension"),
        Some(27940)
    );
}

#[test]
fn typed_accessors_find_values_by_name() {
    let mut m = Message::request(Operation::FETCH_JOB, 3);
    m.group_mut(GroupTag::OPERATION)
        .push(Attribute::new("job-id", Value::Integer(12)));
    m.push_group(
        Group::new(GroupTag::JOB)
            .with("job-state", Value::Enum(9))
            .with("copies", Value::Integer(2))
            .with("sides", Value::keyword("two-sided-long-edge"))
            .with(
                "job-name",
                Value::NameWithLanguage {
                    language: "en".into(),
                    name: "report".into(),
                },
            )
            .with("page-ranges", Value::RangeOfInteger { lower: 1, upper: 3 })
            .with("pdf-fit-to-page", Value::Boolean(true)),
    );
    let job = m.group(GroupTag::JOB).unwrap();
    assert_eq!(m.operation(), Operation::FETCH_JOB);
    assert_eq!(m.operation_attributes().integer("job-id"), Some(12));
    assert_eq!(job.enum_value("job-state"), Some(9));
    assert_eq!(job.integer("job-state"), None, "an enum is not an integer");
    assert_eq!(job.keyword("sides"), Some("two-sided-long-edge"));
    assert_eq!(job.keyword("job-name"), Some("report"));
    assert_eq!(job.range("page-ranges"), Some((1, 3)));
    assert_eq!(job.boolean("pdf-fit-to-page"), Some(true));
    assert_eq!(job.keyword("missing"), None);
}

#[test]
fn encoder_refuses_what_the_wire_cannot_carry() {
    let long = "x".repeat(encode::MAX_FIELD_LEN + 1);
    assert!(matches!(
        with_value(Value::text(long)).to_bytes(),
        Err(EncodeError::TooLong { .. })
    ));
    let mut m = Message::request(Operation::GET_JOBS, 1);
    m.group_mut(GroupTag::OPERATION)
        .push(Attribute::set("empty", []));
    assert_eq!(
        m.to_bytes(),
        Err(EncodeError::NoValue {
            name: "empty".into()
        })
    );
}

// ---- hostile input ----

fn decode_err(bytes: &[u8]) -> DecodeError {
    decode(bytes, &Limits::default()).expect_err("must be refused")
}

#[test]
fn every_truncation_of_a_valid_message_is_an_error_not_a_panic() {
    let mut m = Message::request(Operation::UPDATE_OUTPUT_DEVICE_ATTRIBUTES, 5);
    m.push_group(
        Group::new(GroupTag::PRINTER)
            .with(
                "media-col-default",
                media_col("iso_a4_210x297mm", 21000, 29700, 300),
            )
            .with("printer-resolution-default", Value::dpi(600))
            .with(
                "printer-name",
                Value::TextWithLanguage {
                    language: "en".into(),
                    text: "lab".into(),
                },
            ),
    );
    let bytes = m.to_bytes().unwrap();
    for cut in 0..bytes.len() {
        let e = decode_err(&bytes[..cut]);
        assert!(e.is_truncation(), "cut {cut}: {e}");
        assert_eq!(
            e.offset, cut,
            "a truncation is reported where the bytes end"
        );
        assert_eq!(e.status(), StatusCode::CLIENT_ERROR_BAD_REQUEST);
    }
}

#[test]
fn lengths_past_the_signed_short_limit_are_value_too_long() {
    let mut bytes = vec![2, 0, 0, 0x0B, 0, 0, 0, 1, 0x01, 0x44, 0xFF, 0xFF];
    bytes.extend(std::iter::repeat_n(b'a', 100));
    let e = decode_err(&bytes);
    assert_eq!(
        e.kind,
        DecodeErrorKind::FieldTooLong {
            what: "a name length",
            len: 0xFFFF
        }
    );
    assert_eq!(e.offset, 10);
    assert_eq!(e.status(), StatusCode::CLIENT_ERROR_REQUEST_VALUE_TOO_LONG);
    assert!(e.to_string().contains("at byte 10"), "{e}");
}

#[test]
fn a_huge_declared_length_with_few_bytes_is_a_truncation() {
    let bytes = [
        2, 0, 0, 0x0B, 0, 0, 0, 1, 0x01, 0x41, 0, 1, b'a', 0x7F, 0xFF, b'x',
    ];
    let e = decode_err(&bytes);
    assert!(e.is_truncation());
}

#[test]
fn deep_nesting_is_refused_at_the_limit() {
    let limits = Limits::default();
    let mut bytes = vec![
        2,
        0,
        0,
        0x0B,
        0,
        0,
        0,
        1,
        0x04,
        tag::BEG_COLLECTION,
        0,
        1,
        b'c',
        0,
        0,
    ];
    for _ in 0..100_000 {
        bytes.extend([
            tag::MEMBER_ATTR_NAME,
            0,
            0,
            0,
            1,
            b'c',
            tag::BEG_COLLECTION,
            0,
            0,
            0,
            0,
        ]);
    }
    let e = decode(&bytes, &limits).unwrap_err();
    assert_eq!(
        e.kind,
        DecodeErrorKind::TooDeep(limits.max_collection_depth)
    );
    assert_eq!(
        e.status(),
        StatusCode::CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE
    );

    // Exactly at the limit decodes.
    let mut value = Value::Integer(1);
    for _ in 0..limits.max_collection_depth {
        value = Value::Collection(vec![Attribute::new("c", value)]);
    }
    let m = with_value(value);
    assert_eq!(round_trip(&m), m);
    let mut one_more = m.clone();
    let attr = &mut one_more.group_mut(GroupTag::PRINTER).attributes[0];
    attr.values[0] = Value::Collection(vec![Attribute::new("c", attr.values[0].clone())]);
    assert!(matches!(
        decode_err(&one_more.to_bytes().unwrap()).kind,
        DecodeErrorKind::TooDeep(_)
    ));
}

#[test]
fn message_size_limit_applies_to_attributes_only() {
    let limits = Limits {
        max_message_bytes: 128,
        ..Limits::default()
    };
    let big = with_value(Value::text("y".repeat(200))).to_bytes().unwrap();
    let e = decode(&big, &limits).unwrap_err();
    assert_eq!(e.kind, DecodeErrorKind::MessageTooLarge(128));
    assert_eq!(
        e.status(),
        StatusCode::CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE
    );
    // A small message followed by a large document is fine.
    let mut small = Message::request(Operation::PRINT_JOB, 1)
        .to_bytes()
        .unwrap()
        .to_vec();
    let header_len = small.len();
    small.extend(std::iter::repeat_n(0u8, 10_000));
    let (_, used) = decode(&small, &limits).unwrap();
    assert_eq!(used, header_len);
}

#[test]
fn malformed_structures_name_what_and_where() {
    let header = [2u8, 0, 0, 0x0B, 0, 0, 0, 1];
    let cases: Vec<(Vec<u8>, DecodeErrorKind, usize)> = vec![
        (
            [&header[..], &[0x21, 0, 1, b'a', 0, 4, 0, 0, 0, 1, 3]].concat(),
            DecodeErrorKind::AttributeOutsideGroup,
            8,
        ),
        (
            [&header[..], &[0x01, 0x21, 0, 0, 0, 4, 0, 0, 0, 1, 3]].concat(),
            DecodeErrorKind::OrphanAdditionalValue,
            9,
        ),
        (
            [&header[..], &[0x00, 3]].concat(),
            DecodeErrorKind::ReservedDelimiter,
            8,
        ),
        (
            [&header[..], &[0x01, 0x21, 0, 1, b'a', 0, 3, 0, 0, 1, 3]].concat(),
            DecodeErrorKind::BadValueLength {
                what: "integer",
                expected: 4,
                len: 3,
            },
            13,
        ),
        (
            [&header[..], &[0x01, 0x22, 0, 1, b'a', 0, 1, 7, 3]].concat(),
            DecodeErrorKind::BadBoolean(7),
            15,
        ),
        (
            [&header[..], &[0x01, 0x41, 0, 1, b'a', 0, 2, 0xC3, 0x28, 3]].concat(),
            DecodeErrorKind::BadUtf8("string value"),
            15,
        ),
        (
            [
                &header[..],
                &[0x01, tag::END_COLLECTION, 0, 1, b'a', 0, 0, 3],
            ]
            .concat(),
            DecodeErrorKind::BadCollection("endCollection outside a collection"),
            9,
        ),
        (
            [
                &header[..],
                &[
                    0x01,
                    tag::BEG_COLLECTION,
                    0,
                    1,
                    b'a',
                    0,
                    0,
                    0x21,
                    0,
                    0,
                    0,
                    4,
                    0,
                    0,
                    0,
                    1,
                    0x37,
                    0,
                    0,
                    0,
                    0,
                    3,
                ],
            ]
            .concat(),
            DecodeErrorKind::BadCollection("collection value before any memberAttrName"),
            15,
        ),
        (
            [
                &header[..],
                &[0x01, tag::BEG_COLLECTION, 0, 1, b'a', 0, 0, 0x03],
            ]
            .concat(),
            DecodeErrorKind::BadCollection("delimiter tag inside a collection"),
            15,
        ),
        (
            [&[3u8, 0, 0, 0x0B, 0, 0, 0, 1][..], &[3]].concat(),
            DecodeErrorKind::UnsupportedVersion(3, 0),
            0,
        ),
    ];
    for (bytes, kind, offset) in cases {
        let e = decode_err(&bytes);
        assert_eq!(
            (e.kind.clone(), e.offset),
            (kind, offset),
            "{bytes:02X?}: {e}"
        );
    }
    assert_eq!(
        decode_err(&[3, 0, 0, 0x0B, 0, 0, 0, 1, 3]).status(),
        StatusCode::SERVER_ERROR_VERSION_NOT_SUPPORTED
    );
}

#[test]
fn arbitrary_bytes_never_panic() {
    proptest!(ProptestConfig::with_cases(2000), |(bytes in proptest::collection::vec(any::<u8>(), 0..512))| {
        let _ = decode(&bytes, &Limits::default());
    });
}

// ---- property-based round trips ----

fn arb_string() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ._:/@-]{0,24}".prop_map(String::from)
}

fn arb_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i32>().prop_map(Value::Integer),
        any::<bool>().prop_map(Value::Boolean),
        any::<i32>().prop_map(Value::Enum),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(|b| Value::OctetString(b.into())),
        (any::<u16>(), any::<[u8; 9]>()).prop_map(|(year, b)| Value::DateTime(DateTime {
            year,
            month: b[0],
            day: b[1],
            hour: b[2],
            minutes: b[3],
            seconds: b[4],
            deci_seconds: b[5],
            utc_direction: b[6],
            utc_hours: b[7],
            utc_minutes: b[8],
        })),
        (any::<i32>(), any::<i32>(), any::<i8>()).prop_map(|(cross_feed, feed, units)| {
            Value::Resolution {
                cross_feed,
                feed,
                units,
            }
        }),
        (any::<i32>(), any::<i32>())
            .prop_map(|(lower, upper)| Value::RangeOfInteger { lower, upper }),
        (arb_string(), arb_string())
            .prop_map(|(language, text)| Value::TextWithLanguage { language, text }),
        (arb_string(), arb_string())
            .prop_map(|(language, name)| Value::NameWithLanguage { language, name }),
        (
            proptest::sample::select(StringKind::ALL.to_vec()),
            arb_string()
        )
            .prop_map(|(kind, value)| Value::String { kind, value }),
        proptest::sample::select(vec![0x10u8, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x1F])
            .prop_map(|t| Value::OutOfBand(OutOfBand(t))),
        (
            proptest::sample::select(vec![0x38u8, 0x40, 0x4B, 0x60, 0x7F]),
            proptest::collection::vec(any::<u8>(), 0..16)
        )
            .prop_map(|(tag, data)| Value::Other {
                tag,
                data: data.into()
            }),
    ]
}

fn arb_name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,20}".prop_map(String::from)
}

fn arb_value() -> impl Strategy<Value = Value> {
    arb_scalar().prop_recursive(4, 48, 6, |inner| {
        proptest::collection::vec(
            (arb_name(), proptest::collection::vec(inner, 1..4))
                .prop_map(|(n, v)| Attribute::set(n, v)),
            0..5,
        )
        .prop_map(Value::Collection)
    })
}

fn arb_message() -> impl Strategy<Value = Message> {
    let group = (
        proptest::sample::select(vec![1u8, 2, 4, 5, 6, 7, 8, 9, 10, 11, 15]),
        proptest::collection::vec(
            (arb_name(), proptest::collection::vec(arb_value(), 1..4))
                .prop_map(|(n, v)| Attribute::set(n, v)),
            0..6,
        ),
    )
        .prop_map(|(t, attributes)| Group {
            tag: GroupTag(t),
            attributes,
        });
    (
        any::<(u8, u16, u32)>(),
        1u8..=2,
        proptest::collection::vec(group, 0..5),
    )
        .prop_map(|((minor, code, request_id), major, groups)| Message {
            version: (major, minor),
            code,
            request_id,
            groups,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn arbitrary_messages_round_trip(m in arb_message()) {
        let bytes = m.to_bytes().unwrap();
        let (back, used) = decode(&bytes, &Limits::default()).unwrap();
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(back, m);
    }

    #[test]
    fn every_prefix_of_any_message_is_a_truncation(m in arb_message(), at in any::<prop::sample::Index>()) {
        let bytes = m.to_bytes().unwrap();
        let cut = at.index(bytes.len());
        let e = decode(&bytes[..cut], &Limits::default()).unwrap_err();
        prop_assert!(e.is_truncation(), "{}", e);
        prop_assert_eq!(e.offset, cut);
    }

    #[test]
    fn corrupting_one_byte_never_panics(m in arb_message(), at in any::<prop::sample::Index>(), b in any::<u8>()) {
        let mut bytes = m.to_bytes().unwrap().to_vec();
        let i = at.index(bytes.len());
        bytes[i] = b;
        let _ = decode(&bytes, &Limits::default());
    }

    #[test]
    fn streaming_decode_hands_back_the_document_exactly(
        m in arb_message(),
        document in proptest::collection::vec(any::<u8>(), 0..20_000),
        chunk in 1usize..4096,
    ) {
        let mut wire = m.to_bytes().unwrap().to_vec();
        wire.extend_from_slice(&document);
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let (back, rest) = rt.block_on(async {
            // Deliver the bytes in small chunks, as a network would.
            let chunks: Vec<std::io::Result<Bytes>> =
                wire.chunks(chunk).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
            let reader = tokio_util::io::StreamReader::new(futures::stream::iter(chunks));
            let (back, mut doc) = read_message(reader, &Limits::default()).await.unwrap();
            let mut rest = Vec::new();
            tokio::io::AsyncReadExt::read_to_end(&mut doc, &mut rest).await.unwrap();
            (back, rest)
        });
        prop_assert_eq!(back, m);
        prop_assert_eq!(rest, document);
    }
}

#[tokio::test]
async fn streaming_decode_reports_truncation_and_request_id() {
    let mut wire = with_value(Value::text("abc")).to_bytes().unwrap().to_vec();
    wire.truncate(wire.len() - 3);
    let err = read_message(std::io::Cursor::new(wire.clone()), &Limits::default())
        .await
        .err()
        .expect("refused");
    assert_eq!(err.request_id, Some(7));
    assert!(err.error.is_truncation());
    assert_eq!(err.error.offset, wire.len());
}

#[tokio::test]
async fn streaming_decode_stops_reading_at_the_size_limit() {
    // An endless stream of attribute bytes must end in an error, not in unbounded buffering.
    let limits = Limits {
        max_message_bytes: 100_000,
        ..Limits::default()
    };
    let mut head = vec![2u8, 0, 0, 0x0B, 0, 0, 0, 1, 0x01];
    let one = [0x21u8, 0, 1, b'a', 0, 4, 0, 0, 0, 1];
    head.extend(one.iter().cycle().take(10 * 1_000_000));
    let err = read_message(std::io::Cursor::new(head), &limits)
        .await
        .err()
        .expect("refused");
    assert_eq!(err.error.kind, DecodeErrorKind::MessageTooLarge(100_000));
}

#[test]
fn many_tiny_values_cost_bounded_memory() {
    // 1 MiB of the smallest possible additional values (out-of-band, 5 octets each) is refused
    // at the limit rather than turned into an unbounded number of values.
    let limits = Limits::default();
    let mut bytes = vec![2u8, 0, 0, 0x0B, 0, 0, 0, 1, 0x01, 0x13, 0, 1, b'a', 0, 0];
    while bytes.len() < limits.max_message_bytes + 10 {
        bytes.extend([0x13, 0, 0, 0, 0]);
    }
    bytes.push(3);
    assert_eq!(
        decode(&bytes, &limits).unwrap_err().kind,
        DecodeErrorKind::MessageTooLarge(limits.max_message_bytes)
    );
    // Just under the limit decodes, with every value kept.
    let under = Limits {
        max_message_bytes: bytes.len(),
        ..limits
    };
    let (m, _) = decode(&bytes, &under).unwrap();
    assert_eq!(
        m.groups[0].attributes[0].values.len(),
        (bytes.len() - 16) / 5 + 1
    );
}
