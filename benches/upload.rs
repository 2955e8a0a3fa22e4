//! Upload throughput through the upload URL (256 MB document, 8 MB ranges, 4 in parallel) as a
//! ratio to a plain loopback HTTP PUT of the same bytes into a file, measured in the same run.
//!
//! Also times the parts of the upload path on their own (SHA-256 of the document, sled writes
//! without HTTP) so that a shortfall can be attributed. Run: `cargo bench --bench upload`
//! (`UPLOAD_BENCH_MB` and `UPLOAD_BENCH_ROUNDS` shrink or grow it).

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

async fn time_file_put(client: &reqwest::Client, data: &Bytes, durable: bool) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let base = file_server(dir.path().join("document"), durable).await;
    let start = Instant::now();
    let statuses = send_ranges(client, data, |first| format!("{base}/file/{first}")).await;
    let elapsed = start.elapsed();
    assert!(statuses.iter().all(|s| *s == 201));
    elapsed
}

async fn time_upload_url(client: &reqwest::Client, data: &Bytes) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path()).unwrap();
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", socket.local_addr().unwrap());
    let service = Arc::new(UploadService::open(&db, &base, Arc::new(EchoListener)).unwrap());
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

/// sled alone: the same 256 KiB chunks, two trees per transaction as the engine writes them,
/// four writer threads, one flush at the end.
fn time_sled_only(data: &Bytes, chunk: usize) -> Duration {
    use sled::Transactional;
    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path()).unwrap();
    let chunks = db.open_tree("chunks").unwrap();
    let index = db.open_tree("index").unwrap();
    let start = Instant::now();
    std::thread::scope(|scope| {
        for part in 0..PARALLEL {
            let (chunks, index) = (&chunks, &index);
            scope.spawn(move || {
                for offset in (part * chunk..data.len()).step_by(chunk * PARALLEL) {
                    let key = (offset as u64).to_be_bytes();
                    let value = sled::IVec::from(&data[offset..(offset + chunk).min(data.len())]);
                    (chunks, index)
                        .transaction(|(c, i)| {
                            c.insert(&key, value.clone())?;
                            i.insert(&key, &[0u8; 8])?;
                            Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
                        })
                        .unwrap();
                }
            });
        }
    });
    db.flush().unwrap();
    start.elapsed()
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
    let (mut plain, mut durable, mut upload, mut sled_only) = (vec![], vec![], vec![], vec![]);
    runtime.block_on(async {
        for _ in 0..rounds {
            plain.push(time_file_put(&client, &data, false).await);
            durable.push(time_file_put(&client, &data, true).await);
            upload.push(time_upload_url(&client, &data).await);
        }
    });
    for _ in 0..rounds {
        sled_only.push(time_sled_only(&data, 256 * 1024));
    }
    let hash_start = Instant::now();
    let digest = Sha256::digest(&data);
    let hash = hash_start.elapsed();
    std::hint::black_box(digest);

    let size = data.len();
    let (plain, durable, upload, sled_only) = (
        median(plain),
        median(durable),
        median(upload),
        median(sled_only),
    );
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
        "  upload URL (sled, flush per ack, SHA-256)  {:8.1} MB/s",
        mb_per_s(size, upload)
    );
    println!(
        "  parts: sled writes alone (no HTTP)         {:8.1} MB/s",
        mb_per_s(size, sled_only)
    );
    println!(
        "  parts: SHA-256 of the document alone       {:8.1} MB/s",
        mb_per_s(size, hash)
    );
    println!(
        "  ratio upload URL / plain file PUT = {:.2} (target >= 0.70); / fsync file PUT = {:.2}",
        plain.as_secs_f64() / upload.as_secs_f64(),
        durable.as_secs_f64() / upload.as_secs_f64()
    );
}
