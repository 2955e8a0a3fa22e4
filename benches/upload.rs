//! Upload throughput through the upload URL (256 MB document, 8 MB ranges, 4 in parallel) as a
//! ratio to a plain loopback HTTP PUT of the same bytes into a file, measured in the same run.
//!
//! Also times SHA-256 of the document on its own (the engine hashes while the upload proceeds,
//! but it is still CPU the two cores share), and the same file PUT with an fsync before each
//! answer, which is what the upload URL promises. Run:
//! `cargo bench --profile dev --bench upload` (`UPLOAD_BENCH_MB` and `UPLOAD_BENCH_ROUNDS`
//! shrink or grow it).

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::put;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use printlab::cloud::odata::GraphError;
use printlab::cloud::upload::{
    CompletedUpload, UploadCreator, UploadListener, UploadService, UploadTarget,
};
use printlab::model::PrintDocumentUploadProperties;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

const MIB: usize = 1 << 20;
const RANGE: usize = 8 * MIB;
const PARALLEL: usize = 4;

/// Answers completions like the Graph side would, without storing anything.
struct EchoListener;

impl UploadListener for EchoListener {
    fn upload_completed(&self, done: &CompletedUpload) -> Result<serde_json::Value, GraphError> {
        Ok(serde_json::json!({ "id": done.target.document_id, "size": done.size }))
    }
}

async fn serve(router: Router) -> String {
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", socket.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(socket, router).await.unwrap() });
    base
}

/// Baseline server: PUT /file/{offset} streams the body into one file at that offset; with
/// `durable` it also fsyncs before answering, as the upload URL flushes before acknowledging.
async fn file_server(path: std::path::PathBuf, durable: bool) -> String {
    async fn put_at(
        State((path, durable)): State<(Arc<std::path::PathBuf>, bool)>,
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
        if durable {
            file.sync_data().await.unwrap();
        }
        StatusCode::CREATED
    }
    std::fs::File::create(&path).unwrap();
    let router = Router::new()
        .route("/file/{offset}", put(put_at))
        .with_state((Arc::new(path), durable));
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

/// Writes back every dirty page before a timed run: otherwise the plain PUT's 256 MiB, still in
/// the page cache, reach the disk while the next contender runs, and whoever runs after it
/// (the upload URL, which syncs before answering) waits behind them.
fn settle() {
    let synced = std::process::Command::new("sync")
        .status()
        .expect("the sync command runs");
    assert!(synced.success());
}

async fn time_file_put(client: &reqwest::Client, data: &Bytes, durable: bool) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let base = file_server(dir.path().join("document"), durable).await;
    settle();
    let start = Instant::now();
    let statuses = send_ranges(client, data, |first| format!("{base}/file/{first}")).await;
    let elapsed = start.elapsed();
    assert!(statuses.iter().all(|s| *s == 201));
    elapsed
}

async fn time_upload_url(client: &reqwest::Client, data: &Bytes) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path().join("db")).unwrap();
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", socket.local_addr().unwrap());
    let service =
        Arc::new(UploadService::open(&db, dir.path(), &base, Arc::new(EchoListener)).unwrap());
    let router = service.router();
    let server = tokio::spawn(async move { axum::serve(socket, router).await.unwrap() });
    let target = UploadTarget {
        printer_id: "bench".into(),
        job_id: "1".into(),
        document_id: "bench-doc".into(),
    };
    let props = PrintDocumentUploadProperties {
        document_name: "bench.pdf".into(),
        content_type: "application/pdf".into(),
        size: data.len() as i64,
    };
    let url = service
        .create_session(target, &props, &UploadCreator::default())
        .unwrap()
        .upload_url
        .unwrap();
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
    server.abort();
    elapsed
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
    let (mut plain, mut durable, mut upload) = (vec![], vec![], vec![]);
    runtime.block_on(async {
        for _ in 0..rounds {
            plain.push(time_file_put(&client, &data, false).await);
            durable.push(time_file_put(&client, &data, true).await);
            upload.push(time_upload_url(&client, &data).await);
        }
    });
    let hash_start = Instant::now();
    let digest = Sha256::digest(&data);
    let hash = hash_start.elapsed();
    std::hint::black_box(digest);

    let size = data.len();
    let ratios: Vec<String> = plain
        .iter()
        .zip(&upload)
        .map(|(p, u)| format!("{:.2}", p.as_secs_f64() / u.as_secs_f64()))
        .collect();
    let (plain, durable, upload) = (median(plain), median(durable), median(upload));
    println!(
        "upload bench: {mb} MiB document, {} MiB ranges, {PARALLEL} in parallel, median of {rounds}",
        RANGE / MIB
    );
    println!(
        "  baseline: loopback PUT into a file          {:8.1} MB/s",
        mb_per_s(size, plain)
    );
    println!(
        "  baseline: same, fsync before answering     {:8.1} MB/s",
        mb_per_s(size, durable)
    );
    println!(
        "  upload URL (file + sled spans, synced acks){:8.1} MB/s",
        mb_per_s(size, upload)
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
        "  ratio upload URL / plain file PUT = {:.2} (target >= 0.70); / fsync file PUT = {:.2}",
        plain.as_secs_f64() / upload.as_secs_f64(),
        durable.as_secs_f64() / upload.as_secs_f64()
    );
}
