//! Document streaming through the IPP transport (an `IppReply` carrying a document, read by
//! `post_ipp`) against a plain HTTP GET of the same bytes from the same kind of server, in the
//! same run. The ratio is the cost of the IPP framing and decoding on the document path.
//!
//! `cargo bench --bench ipp_stream` (MiB via `IPP_BENCH_MIB`, default 128).
//!
//! Target: the IPP transfer takes at most 1.5x the time of the plain GET.

use axum::Router;
use axum::body::Body;
use axum::routing::{get, post};
use bytes::Bytes;
use printlab_ipp::http::{Credentials, IppReply, IppRequest, post_ipp};
use printlab_ipp::{Limits, Message, Operation, StatusCode};
use printlab_testkit::bench_targets::Targets;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

const ROUNDS: usize = 5;

#[tokio::main]
async fn main() {
    let mib = printlab_testkit::env_or("IPP_BENCH_MIB", 128);
    let document = Bytes::from(
        (0..mib << 20)
            .map(|i| (i * 31 % 251) as u8)
            .collect::<Vec<u8>>(),
    );
    let plain_doc = document.clone();
    let ipp_doc = document.clone();
    let app = Router::new()
        .route(
            "/plain",
            get(move || {
                let d = plain_doc.clone();
                async move { Body::from(d) }
            }),
        )
        .route(
            "/printers",
            post(move |request: IppRequest| {
                let d = ipp_doc.clone();
                async move {
                    let response = request.message.reply(StatusCode::SUCCESSFUL_OK);
                    IppReply::with_document(response, Box::pin(std::io::Cursor::new(d)))
                }
            }),
        );
    let base = printlab_testkit::serve(app).await;
    let http = reqwest::Client::new();

    let mut plain = Vec::new();
    let mut ipp = Vec::new();
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let mut response = http.get(format!("{base}/plain")).send().await.unwrap();
        let mut n = 0;
        while let Some(chunk) = response.chunk().await.unwrap() {
            n += chunk.len();
        }
        assert_eq!(n, document.len());
        plain.push(t.elapsed());

        let t = Instant::now();
        let request = Message::request(Operation::FETCH_DOCUMENT, 1);
        let received = post_ipp(
            &http,
            &format!("{base}/printers"),
            &Credentials::None,
            &request,
            None,
            &Limits::default(),
        )
        .await
        .unwrap();
        let mut reader = received.document;
        let mut buf = vec![0u8; 256 << 10];
        let mut n = 0;
        loop {
            let k = reader.read(&mut buf).await.unwrap();
            if k == 0 {
                break;
            }
            n += k;
        }
        assert_eq!(n, document.len());
        ipp.push(t.elapsed());
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (p, i) = (median(&mut plain), median(&mut ipp));
    let rate = |d: Duration| mib as f64 / d.as_secs_f64();
    println!("document {mib} MiB, median of {ROUNDS} rounds");
    println!(
        "plain GET     {:>8.1} ms  {:>8.1} MiB/s",
        p.as_secs_f64() * 1e3,
        rate(p)
    );
    println!(
        "IPP Fetch     {:>8.1} ms  {:>8.1} MiB/s",
        i.as_secs_f64() * 1e3,
        rate(i)
    );
    let ratio = i.as_secs_f64() / p.as_secs_f64();
    println!("IPP / plain time ratio: {ratio:.2}");
    let mut targets = Targets::new("ipp_stream");
    targets.at_most("IPP time over the plain GET's", ratio, 1.5, "x");
    targets.finish();
}
