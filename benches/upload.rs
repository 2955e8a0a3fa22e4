//! Upload throughput through the upload URL (256 MB document, 8 MB ranges, 4 in parallel) as a
//! ratio to a plain loopback HTTP PUT of the same bytes into a file, measured in the same run.
//!
//! The upload URL is timed until the document's SHA-256 is known, so no hashing left for after
//! the 201 hides from the figure; the headline is the median of the per-round ratios, and the
//! bench exits non-zero when it misses its targets ([`TARGET`], and [`TARGET_AFTER_201`] for the
//! part of that time after the 201). Also reports SHA-256 of the document on its own, and
//! whether the CPU has SHA extensions (which `sha2` uses when it does). Run:
//! `cargo bench --bench upload` (`UPLOAD_BENCH_MB` and `UPLOAD_BENCH_ROUNDS` shrink or grow it).

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::put;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use printlab_cloud::upload::UploadLimits;
use printlab_testkit::bench_targets::Targets;
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

/// The upload's time until its SHA-256 is known: through the 201, then asking for the digest
/// (recorded with the completion, so asking costs nothing unless hashing is left for later).
/// Also gives the part of it spent after the 201, and the time SHA-256 of the same bytes takes
/// on its own right after (checking the digest), under the same load.
async fn time_upload_url(client: &reqwest::Client, data: &Bytes) -> (Duration, Duration, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path().join("db")).unwrap();
    let listener = Arc::new(DocumentListener);
    let upload = UploadServer::start(&db, dir.path(), listener, UploadLimits::default()).await;
    let session = upload
        .pdf_session("bench", "1", "bench-doc", "bench.pdf", data.len())
        .await;
    let url = session.upload_url.unwrap();
    settle();
    let start = Instant::now();
    let statuses = send_ranges(client, data, |_| url.clone()).await;
    let answered = Instant::now();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(statuses.iter().all(|s| *s == 201 || *s == 202));
    let digest = upload.service.document_sha256("bench-doc").await.unwrap();
    let (digested, late) = (start.elapsed(), answered.elapsed());
    let hash_start = Instant::now();
    assert_eq!(digest, hex::encode(Sha256::digest(data)));
    let hash_alone = hash_start.elapsed();
    upload.server.abort();
    (digested, late, hash_alone)
}

fn mb_per_s(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / MIB as f64 / d.as_secs_f64()
}

fn median<T: PartialOrd + Copy>(mut v: Vec<T>) -> T {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    v[v.len() / 2]
}

/// The upload URL, digest included, must reach this share of a plain PUT into a file. The bound
/// is the CPU: client, server and SHA-256 share the machine's cores, and SHA-256 alone (SHA
/// extensions, one core) runs at about the speed of the plain PUT, so about half is the most a
/// 2-core machine gives (0.45–0.52 at load 6–9; the same rounds with the digest after the 201
/// gave 0.29–0.30).
const TARGET: f64 = 0.40;
/// The digest must be known this soon after the 201 (median): no hashing is left for later.
const TARGET_AFTER_201: Duration = Duration::from_millis(50);

fn main() {
    let mb: usize = std::env::var("UPLOAD_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let rounds: usize = std::env::var("UPLOAD_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let data: Bytes = (0..mb * MIB)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect::<Vec<u8>>()
        .into();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = reqwest::Client::new();
    let (mut plain, mut upload, mut after_201, mut hash) = (vec![], vec![], vec![], vec![]);
    runtime.block_on(async {
        for _ in 0..rounds {
            plain.push(time_file_put(&client, &data).await);
            let (digested, late, hash_alone) = time_upload_url(&client, &data).await;
            upload.push(digested);
            after_201.push(late);
            hash.push(hash_alone);
        }
    });
    #[cfg(target_arch = "x86_64")]
    let sha_extensions = std::arch::is_x86_feature_detected!("sha");
    #[cfg(not(target_arch = "x86_64"))]
    let sha_extensions = false;

    let size = data.len();
    let ratios: Vec<f64> = plain
        .iter()
        .zip(&upload)
        .map(|(p, u)| p.as_secs_f64() / u.as_secs_f64())
        .collect();
    // What the digest costs beyond the hashing itself: over 1 when hashing overlaps receiving.
    let against_sum: Vec<f64> = (0..rounds)
        .map(|i| (plain[i] + hash[i]).as_secs_f64() / upload[i].as_secs_f64())
        .collect();
    let ratio = median(ratios.clone());
    let against_sum = median(against_sum);
    let (plain, upload, after_201, hash) = (
        median(plain),
        median(upload),
        median(after_201),
        median(hash),
    );
    println!(
        "upload bench: {mb} MiB document, {} MiB ranges, {PARALLEL} in parallel, {rounds} rounds",
        RANGE / MIB
    );
    println!(
        "  baseline: loopback PUT into a file          {:8.1} MB/s (median)",
        mb_per_s(size, plain)
    );
    println!(
        "  upload URL until the SHA-256 is known      {:8.1} MB/s (median)",
        mb_per_s(size, upload)
    );
    println!(
        "  parts: SHA-256 of the document alone       {:8.1} MB/s (CPU SHA extensions: {})",
        mb_per_s(size, hash),
        if sha_extensions { "yes" } else { "no" }
    );
    let shown: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
    println!(
        "  per-round ratios upload URL (digest included) / plain file PUT: {}",
        shown.join(" ")
    );
    println!(
        "  (plain PUT + SHA-256 alone) / upload URL with its digest, median of rounds = {against_sum:.2}"
    );
    let mut targets = Targets::new("upload");
    targets.at_least(
        "median of the per-round ratios upload URL / plain PUT",
        ratio,
        TARGET,
        "",
    );
    targets.at_most(
        "digest known after the 201",
        after_201.as_secs_f64() * 1000.0,
        TARGET_AFTER_201.as_secs_f64() * 1000.0,
        " ms",
    );
    targets.finish();
}
