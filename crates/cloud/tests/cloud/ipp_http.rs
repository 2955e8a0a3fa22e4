//! The IPP HTTP transport against itself over a real loopback server: reqwest client
//! (`post_ipp`) ↔ axum extractor (`IppRequest`) and response (`IppReply`), with document data
//! streamed both ways.

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::post;
use printlab_ipp::http::{Credentials, IppReply, IppRequest, TransportError, post_ipp};
use printlab_ipp::*;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

/// Echo service: answers with what it saw (operation, Authorization header, document size and
/// digest) and streams the request's document back as the response's document.
async fn echo(headers: HeaderMap, request: IppRequest) -> IppReply {
    let IppRequest { message, document } = request;
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let mut response = message.reply(StatusCode::SUCCESSFUL_OK);
    let op = message.operation().name().unwrap_or("unknown").to_owned();
    let job_id = message
        .operation_attributes()
        .integer("job-id")
        .unwrap_or(-1);
    response.push_group(
        Group::new(GroupTag::JOB)
            .with("operation-seen", Value::keyword(op))
            .with("authorization-seen", Value::text(auth))
            .with("job-id", Value::Integer(job_id)),
    );
    IppReply::with_document(response, document)
}

async fn serve() -> String {
    let app = Router::new().route("/printers", post(echo));
    format!("{}/printers", printlab_testkit::serve(app).await)
}

fn fetch_document_request(job_id: i32) -> Message {
    let mut m = Message::request(Operation::FETCH_DOCUMENT, 42);
    let op = m.group_mut(GroupTag::OPERATION);
    op.push(Attribute::new(
        "printer-uri",
        Value::uri("ipp://127.0.0.1/printers/p1"),
    ));
    op.push(Attribute::new(
        "output-device-uuid",
        Value::uri("urn:uuid:00000000-0000-0000-0000-000000000001"),
    ));
    op.push(Attribute::new("job-id", Value::Integer(job_id)));
    op.push(Attribute::new("document-number", Value::Integer(1)));
    m
}

/// Fetch-Document to `url` without credentials, which must fail; gives how.
async fn fetch_document_error(url: &str) -> TransportError {
    let (request, limits) = (fetch_document_request(1), Limits::default());
    let client = reqwest::Client::new();
    let answer = post_ipp(&client, url, &Credentials::None, &request, None, &limits);
    answer.await.err().expect("the answer is refused")
}

#[tokio::test]
async fn request_and_document_stream_through_both_ends_with_bearer_auth() {
    let url = serve().await;
    let http = reqwest::Client::new();
    // 8 MiB of non-repeating bytes: far beyond any buffer on the way, so streaming is exercised.
    let document: Vec<u8> = (0..8u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let sent_digest = Sha256::digest(&document);
    let response = post_ipp(
        &http,
        &url,
        &Credentials::Bearer("device-token-1".into()),
        &fetch_document_request(7),
        Some(Box::pin(std::io::Cursor::new(document))),
        &Limits::default(),
    )
    .await
    .unwrap();
    assert_eq!(response.message.status(), StatusCode::SUCCESSFUL_OK);
    assert_eq!(response.message.request_id, 42);
    let job = response.message.group(GroupTag::JOB).unwrap();
    assert_eq!(job.keyword("operation-seen"), Some("Fetch-Document"));
    assert_eq!(
        job.string("authorization-seen"),
        Some("Bearer device-token-1")
    );
    assert_eq!(job.integer("job-id"), Some(7));

    let mut echoed = Vec::new();
    let mut doc = response.document;
    doc.read_to_end(&mut echoed).await.unwrap();
    assert_eq!(echoed.len(), 8 << 20);
    assert_eq!(Sha256::digest(&echoed), sent_digest);
}

#[tokio::test]
async fn basic_auth_reaches_the_server_and_a_missing_document_is_empty() {
    let url = serve().await;
    let credentials = Credentials::Basic {
        user: "proxy".into(),
        password: "s3cret".into(),
    };
    let response = post_ipp(
        &reqwest::Client::new(),
        &url,
        &credentials,
        &fetch_document_request(1),
        None,
        &Limits::default(),
    )
    .await
    .unwrap();
    let job = response.message.group(GroupTag::JOB).unwrap();
    // base64("proxy:s3cret")
    assert_eq!(
        job.string("authorization-seen"),
        Some("Basic cHJveHk6czNjcmV0")
    );
    let mut rest = Vec::new();
    let mut doc = response.document;
    doc.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty());
}

/// Sends `body` as an IPP request as it is, for the tests of what a request the client library
/// would never send (undecodable, truncated, too large) gets.
async fn post_raw(
    http: &reqwest::Client,
    url: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    http.post(url)
        .header("content-type", "application/ipp")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn undecodable_requests_get_an_ipp_error_with_the_request_id() {
    let url = serve().await;
    let http = reqwest::Client::new();
    // A header with request-id 99, an operation group, then an integer whose length is wrong.
    let bad = vec![
        2u8, 0, 0, 0x0B, 0, 0, 0, 99, 0x01, 0x21, 0, 1, b'a', 0, 3, 0, 0, 1, 3,
    ];
    let response = post_raw(&http, &url, bad).await;
    assert_eq!(response.status(), 200, "IPP errors travel in HTTP 200");
    let body = response.bytes().await.unwrap();
    let (message, _) = decode(&body, &Limits::default()).unwrap();
    assert_eq!(message.request_id, 99);
    assert_eq!(message.status(), StatusCode::CLIENT_ERROR_BAD_REQUEST);
    let text = message
        .operation_attributes()
        .string("status-message")
        .unwrap();
    assert!(
        text.contains("integer must be 4 octets, not 3 at byte 13"),
        "{text}"
    );

    // A truncated request (the client hung up mid-attributes) is a bad request, too.
    // It comes as IPP/1.1, and the answer must use the same version.
    let truncated = vec![1u8, 1, 0, 0x0B, 0, 0, 0, 5, 0x01, 0x44, 0, 10, b'x'];
    let response = post_raw(&http, &url, truncated).await;
    let body = response.bytes().await.unwrap();
    let (message, _) = decode(&body, &Limits::default()).unwrap();
    assert_eq!(
        (message.request_id, message.status()),
        (5, StatusCode::CLIENT_ERROR_BAD_REQUEST)
    );
    assert_eq!(message.version, (1, 1));
}

#[tokio::test]
async fn wrong_content_type_is_an_http_error() {
    let url = serve().await;
    let response = reqwest::Client::new()
        .post(&url)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
}

#[tokio::test]
async fn a_non_ipp_server_answer_is_a_transport_error() {
    let app = Router::new().route(
        "/printers",
        post(|| async { (axum::http::StatusCode::UNAUTHORIZED, "token expired") }),
    );
    let url = format!("{}/printers", printlab_testkit::serve(app).await);
    let err = fetch_document_error(&url).await;
    match err {
        TransportError::HttpStatus { status, body, .. } => {
            assert_eq!((status, body.as_str()), (401, "token expired"))
        }
        other => panic!("unexpected {other}"),
    }
}

#[tokio::test]
async fn oversized_attributes_are_refused_without_reading_the_whole_body() {
    let url = serve().await;
    // 4 MiB of attributes (each value is legal on its own), past the 1 MiB default limit.
    let mut request = fetch_document_request(1);
    let group = request.group_mut(GroupTag::OPERATION);
    for i in 0..128 {
        group.push(Attribute::new(
            format!("x-filler-{i}"),
            Value::OctetString(vec![0u8; 32_000].into()),
        ));
    }
    let body = request.to_bytes().unwrap();
    assert!(body.len() > 4_000_000);
    let response = post_raw(&reqwest::Client::new(), &url, body).await;
    let bytes = response.bytes().await.unwrap();
    let (message, _) = decode(&bytes, &Limits::default()).unwrap();
    assert_eq!(message.request_id, 42);
    assert_eq!(
        message.status(),
        StatusCode::CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE
    );
}

#[tokio::test]
async fn server_limits_come_from_a_request_extension() {
    let app = Router::new()
        .route("/printers", post(echo))
        .layer(axum::Extension(Limits {
            max_message_bytes: 300,
            max_collection_depth: 2,
        }));
    let url = format!("{}/printers", printlab_testkit::serve(app).await);
    let mut request = fetch_document_request(1);
    let nested = Value::Collection(vec![Attribute::new(
        "a",
        Value::Collection(vec![Attribute::new(
            "b",
            Value::Collection(vec![Attribute::new("c", Value::Integer(1))]),
        )]),
    )]);
    request
        .group_mut(GroupTag::OPERATION)
        .push(Attribute::new("deep", nested));
    let (client, limits) = (reqwest::Client::new(), Limits::default());
    let response = post_ipp(&client, &url, &Credentials::None, &request, None, &limits)
        .await
        .unwrap();
    assert_eq!(
        response.message.status(),
        StatusCode::CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE
    );
    let text = response
        .message
        .operation_attributes()
        .string("status-message")
        .unwrap()
        .to_owned();
    assert!(
        text.starts_with("collections nest deeper than 2 levels at byte"),
        "{text}"
    );
}

#[tokio::test]
async fn a_garbled_ipp_response_is_a_decode_error_naming_the_offset() {
    let app = Router::new().route(
        "/printers",
        post(|| async {
            (
                [("content-type", "application/ipp")],
                vec![2u8, 0, 0, 0, 0, 0, 0, 1, 0x01, 0x22, 0, 1, b'b', 0, 1, 9, 3],
            )
        }),
    );
    let url = format!("{}/printers", printlab_testkit::serve(app).await);
    let err = fetch_document_error(&url).await;
    match err {
        TransportError::Decode { source, .. } => {
            assert_eq!(source.offset, 15);
            assert_eq!(source.kind, DecodeErrorKind::BadBoolean(9));
        }
        other => panic!("unexpected {other}"),
    }
}
