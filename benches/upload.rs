//! Upload throughput through the upload URL (256 MB document, 8 MB ranges, 4 in parallel) as a
//! ratio to a plain loopback HTTP PUT of the same bytes into a file, measured in the same run.
//!
//! Also reports how long after the 201 the document's SHA-256 is recorded (the engine hashes
//! after answering; each round waits for it before the next timing starts, so the hashing never
//! overlaps a baseline run) and SHA-256 of the document on its own. Run:
//! `cargo bench --bench upload` (`UPLOAD_BENCH_MB` and `UPLOAD_BENCH_ROUNDS` shrink or grow it).

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::put;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use printlab_cloud::upload::UploadLimits;
use printlab_testkit::serve;
use printlab_testkit::upload::{DocumentListener, UploadServer};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

const MIB: usize = 1 << 20;
const RANGE: usize = 8 * MIB;
const PARALLEL: usize = 4;

/// Baseline server: PUT /file/{offset} streams the body into one file at that offset.
async fn file_server(path: std::path::PathBuf) -> String {
    async fn put_at(
        State(path): State<Arc<std::path::PathBuf>>,
        Path(offset): Path<u64>,
        body: Body,
    ) -> StatusCode {
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .open(path.as_ref())
            .await
            .unwrap();
        file.seek(std::io::SeekFrom::Start(offset)).await.unwrap();
        let mut stream = body.into_data_stream();
        while let Some(piece) = stream.next().await {
            file.write_all(&piece.unwrap()).await.unwrap();
        }
        file.flush().await.unwrap();
        StatusCode::CREATED
    }
    std::fs::File::create(&path).unwrap();
    let router = Router::new()
        .route("/file/{offset}", put(put_at))
        .with_state(Arc::new(path));
    serve(router).await
}

/// Sends every 8 MB range of `data`, `PARALLEL` at a time; returns the statuses.
async fn send_ranges(
    client: &reqwest::Client,
    data: &Bytes,
    url_for: impl Fn(usize) -> String,
) -> Vec<u16> {
    let total = data.len();
    futures::stream::iter((0..total).step_by(RANGE))
        .map(|first| {
            let last = (first + RANGE).min(total) - 1;
            client
                .put(url_for(first))
                .header("Content-Range", format!("bytes {first}-{last}/{total}"))
                .body(data.slice(first..=last))
                .send()
        })
        .buffer_unordered(PARALLEL)
        .map_ok(|r| r.status().as_u16())
        .try_collect()
        .await
        .unwrap()
}

/// Writes back every dirty page before a timed run: otherwise one contender's 256 MiB, still in
/// the page cache, reach the disk while the next one runs.
fn settle() {
    let synced = std::process::Command::new("sync")
        .status()
        .expect("the sync command runs");
    assert!(synced.success());
}

async fn time_file_put(client: &reqwest::Client, data: &Bytes) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let base = file_server(dir.path().join("document")).await;
    settle();
    let start = Instant::now();
    let statuses = send_ranges(client, data, |first| format!("{base}/file/{first}")).await;
    let elapsed = start.elapsed();
    assert!(statuses.iter().all(|s| *s == 201));
    elapsed
}

/// The upload's time to its 201, and the time from the 201 until the digest is recorded.
async fn time_upload_url(client: &reqwest::Client, data: &Bytes) -> (Duration, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path().join("db")).unwrap();
    let listener = Arc::new(DocumentListener);
    let upload = UploadServer::start(&db, dir.path(), listener, UploadLimits::default()).await;
    let session = upload.pdf_session("bench", "1", "bench-doc", "bench.pdf", data.len());
    let url = session.upload_url.unwrap();
    settle();
    let start = Instant::now();
    let statuses = send_ranges(client, data, |_| url.clone()).await;
    let elapsed = start.elapsed();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(statuses.iter().all(|s| *s == 201 || *s == 202));
    let answered = Instant::now();
    let digest = upload.service.document_sha256("bench-doc").await.unwrap();
    let digested = answered.elapsed();
    assert_eq!(digest, hex::encode(Sha256::digest(data)));
    upload.server.abort();
    (elapsed, digested)
}

fn mb_per_s(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / MIB as f64 / d.as_secs_f64()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let mb: usize = std::env::var("UPLOAD_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let rounds: usize = std::env::var("UPLOAD_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let data: Bytes = (0..mb * MIB)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect::<Vec<u8>>()
        .into();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = reqwest::Client::new();
    let (mut plain, mut upload, mut digest) = (vec![], vec![], vec![]);
    runtime.block_on(async {
        for _ in 0..rounds {
            plain.push(time_file_put(&client, &data).await);
            let (answered, digested) = time_upload_url(&client, &data).await;
            upload.push(answered);
            digest.push(digested);
        }
    });
    let hash_start = Instant::now();
    std::hint::black_box(Sha256::digest(&data));
    let hash = hash_start.elapsed();

    let size = data.len();
    let ratios: Vec<String> = plain
        .iter()
        .zip(&upload)
        .map(|(p, u)| format!("{:.2}", p.as_secs_f64() / u.as_secs_f64()))
        .collect();
    let (plain, upload, digest) = (median(plain), median(upload), median(digest));
    println!(
        "upload bench: {mb} MiB document, {} MiB ranges, {PARALLEL} in parallel, median of {rounds}",
        RANGE / MIB
    );
    println!(
        "  baseline: loopback PUT into a file          {:8.1} MB/s",
        mb_per_s(size, plain)
    );
    println!(
        "  upload URL (file + sled spans)             {:8.1} MB/s",
        mb_per_s(size, upload)
    );
    println!(
        "  digest recorded after the 201              {:8.1} ms",
        digest.as_secs_f64() * 1000.0
    );
    println!(
        "  parts: SHA-256 of the document alone       {:8.1} MB/s",
        mb_per_s(size, hash)
    );
    println!(
        "  per-round ratios upload URL / plain file PUT: {}",
        ratios.join(" ")
    );
    println!(
        "  ratio upload URL / plain file PUT = {:.2} (target >= 0.70)",
        plain.as_secs_f64() / upload.as_secs_f64()
    );
}
