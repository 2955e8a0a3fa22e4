//! Interoperability of the codec with a real peer: CUPS's `ipptool` (Debian cups-ipp-utils)
//! sends a request full of collections and 1setOf values to an axum server built on
//! `printlab_ipp`, which echoes what it decoded and answers with every value type; the
//! `.test` file's EXPECTs check both directions.

use axum::Router;
use axum::routing::post;
use printlab_ipp::http::{IppReply, IppRequest};
use printlab_ipp::*;

fn echo_attributes(message: &Message) -> Group {
    let op = message.operation_attributes();
    let media_col = op.collection("media-col").expect("media-col decoded");
    let mut g = Group::new(GroupTag::PRINTER)
        .with(
            "echo-operation",
            Value::keyword(message.operation().name().unwrap_or("?")),
        )
        .with(
            "echo-media-size-name",
            Value::keyword(media_col.keyword("media-size-name").unwrap_or("?")),
        )
        .with(
            "echo-x-dimension",
            Value::Integer(
                media_col
                    .collection("media-size")
                    .and_then(|s| s.integer("x-dimension"))
                    .unwrap_or(-1),
            ),
        );
    for (name, source) in [
        ("echo-requested-attributes", op.attr("requested-attributes")),
        ("echo-media-source", media_col.attr("media-source")),
        ("echo-page-ranges", op.attr("page-ranges")),
        ("echo-printer-resolution", op.attr("printer-resolution")),
    ] {
        g.push(Attribute::set(name, source.expect(name).values.clone()));
    }
    g
}

fn media_col(pwg: &str, x: i32, y: i32) -> Value {
    Value::Collection(vec![
        Attribute::new(
            "media-size",
            Value::Collection(vec![
                Attribute::new("x-dimension", Value::Integer(x)),
                Attribute::new("y-dimension", Value::Integer(y)),
            ]),
        ),
        Attribute::new("media-size-name", Value::keyword(pwg)),
        Attribute::new("media-bottom-margin", Value::Integer(423)),
    ])
}

async fn printer(request: IppRequest) -> IppReply {
    let message = request.message;
    let mut response = message.reply(StatusCode::SUCCESSFUL_OK);
    let mut printer = echo_attributes(&message)
        .with("printer-state", Value::Enum(3))
        .with("printer-is-accepting-jobs", Value::Boolean(true))
        .with(
            "copies-supported",
            printlab_testkit::ipp::copies_supported(),
        )
        .with_set(
            "printer-resolution-supported",
            [Value::dpi(300), Value::dpi(600)],
        )
        .with_set(
            "sides-supported",
            ["one-sided", "two-sided-long-edge", "two-sided-short-edge"].map(Value::keyword),
        )
        .with_set(
            "document-format-supported",
            [
                Value::mime_media_type("application/pdf"),
                Value::mime_media_type("image/jpeg"),
            ],
        )
        .with(
            "printer-uri-supported",
            Value::uri("ipp://127.0.0.1/printers/lab"),
        )
        .with("uri-authentication-supported", Value::keyword("none"))
        .with("printer-name", Value::name("lab printer"))
        .with(
            "printer-info",
            Value::TextWithLanguage {
                language: "de".into(),
                text: "Drucker im Labor".into(),
            },
        )
        .with(
            "printer-current-time",
            Value::DateTime(DateTime::from_chrono(chrono::Utc::now())),
        )
        .with(
            "printer-uuid",
            Value::uri("urn:uuid:00000000-0000-0000-0000-000000000001"),
        )
        .with_set(
            "media-col-database",
            [
                media_col("iso_a4_210x297mm", 21000, 29700),
                media_col("na_letter_8.5x11in", 21590, 27940),
            ],
        )
        .with(
            "media-col-default",
            media_col("iso_a4_210x297mm", 21000, 29700),
        )
        .with(
            "printer-alert",
            Value::OctetString(bytes::Bytes::from_static(b"code=other")),
        )
        .with("printer-geo-location", Value::OutOfBand(OutOfBand::UNKNOWN))
        .with(
            "generated-natural-language-supported",
            Value::natural_language("en"),
        )
        .with("charset-supported", Value::charset("utf-8"))
        .with(
            "printer-state-message",
            Value::OutOfBand(OutOfBand::NO_VALUE),
        );
    printer.push(Attribute::new("printer-kind", Value::keyword("document")));
    response.push_group(printer);
    IppReply::new(response)
}

#[tokio::test]
async fn ipptool_and_printlab_understand_each_other() {
    let app = Router::new().route("/ipp/print", post(printer));
    let base = printlab_testkit::serve(app).await;
    let uri = format!("{}/ipp/print", base.replace("http://", "ipp://"));
    let test_file = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/cloud/ipp/codec-interop.test"
    ));
    // ipptool speaks IPP/1.1 unless told otherwise; INFRA clients speak 2.0. Both must work.
    for version in ["1.1", "2.0"] {
        let (passed, report) =
            printlab_testkit::ipp::ipptool(&uri, test_file, &["-V".into(), version.into()]).await;
        assert!(passed, "ipptool -V {version} failed:\n{report}");
        assert!(report.contains("[PASS]"), "{report}");
    }
}
