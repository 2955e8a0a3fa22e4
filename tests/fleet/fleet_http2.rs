//! A fleet's HTTP to its service: over HTTP/2 every printer's requests, long polls included,
//! share one connection to the cloud (counted on the cloud's side, in the kernel's table), even
//! past hyper's default of 200 streams per connection; against a service that speaks only
//! HTTP/1.1 the fleet notices and works over HTTP/1.1.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::Version;
use axum::response::Response;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use printlab_device::runtime::{FleetHttp, fleet_http_client_for, fleet_http_for};
use printlab_testkit::TestCloud;
use printlab_testkit::sockets::established_connections;
use printlab_testkit_fleet::{ONE_PRINTER, TestFleet, infra, proxied_printer};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// More printers than hyper's default of 200 concurrent streams per HTTP/2 connection.
const PRINTERS: usize = 250;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleets_long_polls_share_one_connection_to_the_cloud() {
    // A long poll outlasts the wait below: a stream that queued behind the held long polls
    // (the server's stream limit reached) would keep its printer from subscribing in time.
    let cloud = TestCloud::builder()
        .long_poll(Duration::from_secs(90))
        .start()
        .await;
    let dir = tempfile::tempdir().unwrap();
    let mut fleet = TestFleet::open(dir.path());
    assert_eq!(
        fleet_http_for(std::slice::from_ref(&cloud.url), None)
            .await
            .unwrap(),
        FleetHttp::Http2
    );
    fleet.start_subscribed(&cloud, ONE_PRINTER, PRINTERS).await;
    // Every printer now holds a long poll: one more request on the shared connection is
    // answered at once, not queued behind them.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let health = fleet.http.get(format!("{}/healthz", cloud.url)).send();
    let health = tokio::time::timeout(Duration::from_secs(10), health)
        .await
        .expect("a request beside the fleet's long polls is not queued")
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.version(), reqwest::Version::HTTP_2);
    let port = cloud.addr().port();
    let connections = established_connections(port);
    assert!(
        (1..=2).contains(&connections),
        "{PRINTERS} printers hold {connections} connections to the cloud"
    );
    fleet.stop().await;
}

/// Requests the HTTP/1.1-only front forwarded, by the HTTP version they came in.
#[derive(Default)]
struct Seen {
    http1: AtomicUsize,
    other: AtomicUsize,
}

/// Forwards a request to the cloud over HTTP/1.1 and gives back its answer.
async fn forward(
    State((cloud, client, seen)): State<(String, reqwest::Client, Arc<Seen>)>,
    request: Request,
) -> Response {
    let counter = match request.version() {
        Version::HTTP_11 | Version::HTTP_10 => &seen.http1,
        _ => &seen.other,
    };
    counter.fetch_add(1, Ordering::Relaxed);
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 64 << 20).await.unwrap();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut outgoing = client.request(parts.method, format!("{cloud}{path}"));
    for (name, value) in &parts.headers {
        if !matches!(name.as_str(), "host" | "connection" | "content-length") {
            outgoing = outgoing.header(name, value);
        }
    }
    let answer = outgoing.body(body).send().await.unwrap();
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if !matches!(
            name.as_str(),
            "connection" | "content-length" | "transfer-encoding" | "keep-alive"
        ) {
            response = response.header(name, value);
        }
    }
    let bytes = answer.bytes().await.unwrap();
    response.body(Body::from(bytes)).unwrap()
}

/// An INFRA service that speaks only HTTP/1.1 (hyper's HTTP/1 server alone), forwarding to
/// `cloud`; gives its base URL.
async fn http1_only_front(cloud: &str, seen: Arc<Seen>) -> String {
    let client = reqwest::Client::builder().http1_only().build().unwrap();
    let router =
        axum::Router::new()
            .fallback(forward)
            .with_state((cloud.to_string(), client, seen));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let service = TowerToHyperService::new(router.clone());
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    url
}

#[tokio::test]
async fn a_fleet_speaks_http1_to_a_service_without_http2() {
    let cloud = TestCloud::start().await;
    proxied_printer(&cloud).await;
    let seen = Arc::new(Seen::default());
    let front = http1_only_front(&cloud.url, seen.clone()).await;
    let printer_uri = format!("{front}/ipp/print/lab");
    let services = [printer_uri.clone()];
    assert_eq!(
        fleet_http_for(&services, None).await.unwrap(),
        FleetHttp::Http1
    );
    let dir = tempfile::tempdir().unwrap();
    let mut fleet = TestFleet::open(dir.path());
    fleet.http = fleet_http_client_for(&services, None).await.unwrap();
    let running = fleet.start(ONE_PRINTER, false, infra(&printer_uri));
    tokio::time::timeout(
        Duration::from_secs(30),
        running.printers[0].wait_for(|s| s.connected && s.advertised && s.subscribed),
    )
    .await
    .expect("the printer advertises and subscribes through the HTTP/1.1 service");
    assert!(seen.http1.load(Ordering::Relaxed) > 1);
    // The probe's HTTP/2 preface is no request: hyper's HTTP/1 server refuses it unparsed.
    assert_eq!(seen.other.load(Ordering::Relaxed), 0);
    fleet.stop().await;
}

/// A service that does not answer yet (listening, but too busy to accept: the shard's question
/// waits in its backlog past the probe's timeout) is asked again: once it serves, the fleet
/// speaks HTTP/2 to it, where one silence used to leave the fleet on HTTP/1.1 for good.
#[tokio::test]
async fn a_fleet_waits_for_a_silent_service_before_choosing_http1() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let serving = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(7)).await;
        let router = axum::Router::new().fallback(|| async { "up" });
        axum::serve(listener, router).await.unwrap();
    });
    assert_eq!(
        fleet_http_for(std::slice::from_ref(&url), None)
            .await
            .unwrap(),
        FleetHttp::Http2
    );
    serving.abort();
}
