//! The one test harness of printlab's integration tests and benches, cloud side.
//!
//! It gives:
//! - [`TestCloud`]: a real [`printlab_cloud::Cloud`] (real sled, real HTTP) on an ephemeral
//!   `127.0.0.1` port in a folder of its own, stoppable and restartable on the same data and
//!   port, with user, admin and app tokens minted by the cloud's own key;
//! - [`Graph`]: a small Graph v1.0 client for the calls every test repeats (create a printer,
//!   share it, create a job, upload its document, start it), answering status and JSON;
//! - [`ipp`]: the IPP requests a test sends as a device or as ipptool;
//! - [`upload`]: the upload engine alone on loopback, for the upload tests and bench;
//! - [`xps`]: small real OpenXPS packages for the OXPS to PDF conversion tests;
//! - [`bench_targets`]: the targets every bench states and checks, exiting non-zero on a miss.
//!
//! It is two packages because cargo unifies features and dependencies per build: a harness
//! that could start devices would link the rasterizer into every test of the cloud. So this
//! package names only the cloud and the vocabulary crates, and everything that runs devices is
//! in `printlab-testkit-fleet` (`crates/testkit/fleet`), which builds on this one.

pub mod bench_child;
pub mod bench_targets;
pub mod browser;
mod cloud;
mod graph;
pub mod ipp;
pub mod plain_http;
pub mod sockets;
pub mod upload;
pub mod xps;

pub use cloud::{ADMIN_SCOPES, Stopped, TestCloud, TestCloudBuilder, foreign_token};
pub use graph::{Graph, call, csr_base64, download, job_ended, job_state, put_whole};

/// A number from the environment variable `name`, or `default`: the sizes the benches take.
pub fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Serves `router` on an ephemeral loopback port until the test ends; gives its URL
/// (`http://127.0.0.1:port`).
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

/// Polls `probe` every 50 ms until it gives `Some`, for at most `limit`; panics naming `what`
/// (and the last thing `probe` saw) when it never does.
///
/// Tests wait for what the system reports instead of sleeping a fixed time, which only holds on
/// a lightly loaded machine.
pub async fn wait_for<T, F, Fut>(what: &str, limit: std::time::Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, serde_json::Value>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match probe().await {
            Ok(found) => return found,
            Err(seen) => assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}: {seen}"
            ),
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
