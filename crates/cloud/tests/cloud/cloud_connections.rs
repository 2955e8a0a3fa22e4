//! The cloud's connections under the serving limits: header-read and idle timeouts, the budget of
//! unauthenticated connections, and keep-alive kept across a request whose body was not read.
//! Raw sockets play the clients that misbehave; the limits are shortened so each test takes
//! seconds.

use printlab_ipp::http::Credentials;
use printlab_ipp::{Attribute, Group, GroupTag, Operation, StatusCode, Value};
use printlab_serve::ServeLimits;
use printlab_testkit::{TestCloud, ipp};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

fn limits(header_read: Duration, idle: Duration, budget: usize) -> ServeLimits {
    ServeLimits {
        header_read_timeout: header_read,
        idle_timeout: idle,
        unauthenticated_connections: budget,
        ..ServeLimits::default()
    }
}

async fn cloud_with(limits: ServeLimits) -> TestCloud {
    TestCloud::builder()
        .limits(limits)
        .long_poll(Duration::from_secs(3))
        .start()
        .await
}

/// The head (lower-cased) of one HTTP/1.1 response read off a raw socket; its body is read and
/// dropped.
struct RawResponse {
    head: String,
}

impl RawResponse {
    fn status(&self) -> u16 {
        self.head[9..12].parse().unwrap()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            (n.trim() == name).then(|| v.trim())
        })
    }
}

async fn read_response(stream: &mut TcpStream) -> RawResponse {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.expect("reading a response");
        assert!(n > 0, "the connection closed before a response: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
    };
    let response = RawResponse {
        head: String::from_utf8_lossy(&buf[..head_end]).to_lowercase(),
    };
    let length: usize = response
        .header("content-length")
        .map_or(0, |v| v.parse().unwrap());
    let mut rest = vec![0u8; length - (buf.len() - head_end)];
    stream.read_exact(&mut rest).await.expect("reading a body");
    response
}

fn get(path: &str, token: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: cloud\r\nAuthorization: Bearer {token}\r\n\r\n")
}

/// Waits up to `limit` for the server to close `stream` (EOF or reset); how long it took.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut sink = [0u8; 1024];
    timeout(limit, async {
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
    .map(|()| started.elapsed())
}

#[tokio::test]
async fn a_connection_trickling_its_headers_is_closed_at_the_header_read_timeout() {
    let header_read = Duration::from_millis(600);
    let cloud = cloud_with(limits(header_read, Duration::from_secs(30), 512)).await;
    let mut stream = TcpStream::connect(cloud.addr()).await.unwrap();
    let started = Instant::now();
    // A slowloris: one byte of a never-ending header every 100 ms keeps the socket busy but
    // never completes the request.
    let trickle = b"GET /v1.0/print/printers HTTP/1.1\r\nHost: cloud\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let (mut reader, mut writer) = stream.split();
    let sending = async {
        for byte in trickle {
            if writer.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let mut sink = [0u8; 64];
    let closed = timeout(Duration::from_secs(5), async {
        tokio::join!(sending, async {
            while let Ok(n) = reader.read(&mut sink).await {
                if n == 0 {
                    break;
                }
            }
        })
    })
    .await;
    let took = started.elapsed();
    assert!(closed.is_ok(), "still open after {took:?}");
    assert!(
        took >= header_read && took < header_read * 4,
        "closed after {took:?}; the header-read timeout is {header_read:?}"
    );
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_timeout_its_responses_announce() {
    let idle = Duration::from_secs(1);
    let cloud = cloud_with(limits(Duration::from_secs(5), idle, 512)).await;
    let token = cloud.admin();
    let mut stream = TcpStream::connect(cloud.addr()).await.unwrap();
    for pause in [Duration::ZERO, idle / 2] {
        tokio::time::sleep(pause).await;
        stream
            .write_all(get("/v1.0/print/printers", &token).as_bytes())
            .await
            .unwrap();
        let response = read_response(&mut stream).await;
        assert_eq!(response.status(), 200, "{}", response.head);
        assert_eq!(response.header("keep-alive"), Some("timeout=1"));
    }
    let closed = closed_within(&mut stream, Duration::from_secs(10))
        .await
        .expect("an idle connection is closed");
    assert!(
        closed >= idle && closed < idle * 4,
        "closed {closed:?} after the last response; announced {idle:?}"
    );
}

/// A refused upload range is answered before its body is read. hyper then closed the
/// connection with the body's bytes unread, and the kernel answered the bytes still arriving
/// with a reset that could destroy the response before the client read it (`printlab print`:
/// "connection closed before message completed"). The rest of the body is now read and
/// dropped, so the client gets its answer and keeps its connection.
#[tokio::test]
async fn a_request_answered_before_its_body_was_read_keeps_its_connection() {
    let cloud = cloud_with(ServeLimits::default()).await;
    let token = cloud.admin();
    let body = vec![b'x'; 8 * 1024 * 1024];
    let mut stream = TcpStream::connect(cloud.addr()).await.unwrap();
    let head = format!(
        "PUT /uploadSessions/00000000-0000-4000-8000-000000000000?tempauthtoken=nope HTTP/1.1\r\n\
         Host: cloud\r\nContent-Range: bytes 0-{last}/{total}\r\nContent-Length: {total}\r\n\r\n",
        last = body.len() - 1,
        total = body.len()
    );
    let (mut reader, mut writer) = stream.split();
    let sending = async {
        writer.write_all(head.as_bytes()).await?;
        writer.write_all(&body).await
    };
    let mut received = Vec::new();
    let receiving = async {
        // The answer comes while the body is still being sent; read it whole.
        let mut chunk = [0u8; 4096];
        while !received.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = reader.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            received.extend_from_slice(&chunk[..n]);
        }
        std::io::Result::Ok(())
    };
    let (sent, read) = tokio::join!(sending, receiving);
    sent.expect("the whole body is accepted");
    read.expect("the answer arrives");
    let head = String::from_utf8_lossy(&received).to_lowercase();
    assert!(head.starts_with("http/1.1 404"), "{head}");
    assert!(!head.contains("connection: close"), "{head}");
    // Skip the rest of the refusal's body, then use the same connection again.
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse().unwrap())
        .unwrap();
    let body_start = received.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let mut rest = vec![0u8; length - (received.len() - body_start)];
    stream.read_exact(&mut rest).await.unwrap();
    stream
        .write_all(get("/v1.0/print/printers", &token).as_bytes())
        .await
        .unwrap();
    assert_eq!(read_response(&mut stream).await.status(), 200);
}

#[tokio::test]
async fn authenticated_clients_and_long_polls_outlast_a_flood_of_idle_connections() {
    let budget = 4;
    let cloud = cloud_with(limits(
        Duration::from_secs(30),
        Duration::from_secs(30),
        budget,
    ))
    .await;
    let admin = cloud.admin_graph();
    let printer = admin.create_printer("Flooded").await;
    let device = cloud.cloud.infra().issue_device_token(&printer).unwrap();
    let credentials = Credentials::Bearer(device);
    let http = reqwest::Client::new();
    let (subscribed, _) = ipp::request(
        &http,
        &cloud.url,
        "/printers",
        &credentials,
        Operation::CREATE_PRINTER_SUBSCRIPTIONS,
        |m| {
            m.push_group(
                Group::new(GroupTag::SUBSCRIPTION)
                    .with("notify-pull-method", Value::keyword("ippget"))
                    .with_set("notify-events", [Value::keyword("job-fetchable")]),
            );
        },
    )
    .await
    .unwrap();
    let subscription = subscribed
        .group(GroupTag::SUBSCRIPTION)
        .and_then(|g| printlab_ipp::AttributeLookup::integer(g, "notify-subscription-id"))
        .unwrap();
    // The device's long poll is held (3 s) while the flood comes in.
    let long_poll = tokio::spawn({
        let root = cloud.url.clone();
        async move {
            ipp::request(
                &reqwest::Client::new(),
                &root,
                "/printers",
                &credentials,
                Operation::GET_NOTIFICATIONS,
                |m| {
                    m.groups[0].push(Attribute::set(
                        "notify-subscription-ids",
                        [Value::Integer(subscription)],
                    ));
                    m.groups[0].push(Attribute::new("notify-wait", Value::Boolean(true)));
                },
            )
            .await
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut flood = Vec::new();
    for _ in 0..budget * 5 {
        flood.push(TcpStream::connect(cloud.addr()).await.unwrap());
    }
    let mut closed = 0;
    for stream in &mut flood {
        if closed_within(stream, Duration::from_millis(200))
            .await
            .is_some()
        {
            closed += 1;
        }
    }
    assert!(
        closed >= flood.len() - budget,
        "{closed} of {} idle connections closed with a budget of {budget}",
        flood.len()
    );

    // A new client still gets in and is answered.
    let (status, body) = cloud.admin_graph().get("/print/printers").await;
    assert_eq!(status, 200, "{body}");
    let (answer, _) = long_poll
        .await
        .unwrap()
        .expect("the long poll survives the flood");
    assert_eq!(answer.status(), StatusCode::SUCCESSFUL_OK, "{answer:?}");
}

/// A test cloud whose router a layer wraps runs the same connection loop as production: a
/// silent connection is closed at the header-read timeout, and `/readyz` says it is serving.
#[tokio::test]
async fn a_layered_test_cloud_is_served_by_the_production_loop() {
    let header_read = Duration::from_millis(600);
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = seen.clone();
    let cloud = TestCloud::builder()
        .limits(limits(header_read, Duration::from_secs(30), 512))
        .layer(move |router| {
            let counter = counter.clone();
            router.layer(axum::middleware::from_fn(
                move |request: axum::extract::Request, next: axum::middleware::Next| {
                    counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    next.run(request)
                },
            ))
        })
        .start()
        .await;
    let mut stream = TcpStream::connect(cloud.addr()).await.unwrap();
    stream
        .write_all(b"GET /readyz HTTP/1.1\r\nHost: cloud\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(read_response(&mut stream).await.status(), 200);
    assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), 1);
    let mut silent = TcpStream::connect(cloud.addr()).await.unwrap();
    let took = closed_within(&mut silent, Duration::from_secs(5)).await;
    assert!(
        took.is_some_and(|took| took < header_read * 4),
        "a silent connection was kept {took:?}; the header-read timeout is {header_read:?}"
    );
}

/// HTTP/2 with prior knowledge (h2c) and HTTP/1.1 on the same port: each client is answered in
/// its own version, `Keep-Alive` (a connection header HTTP/2 forbids) only over HTTP/1.1.
#[tokio::test]
async fn http2_and_http1_clients_share_the_port() {
    let cloud = cloud_with(ServeLimits::default()).await;
    let token = cloud.admin();
    let printers = format!("{}/v1.0/print/printers", cloud.url);
    let http2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let http1 = reqwest::Client::builder().http1_only().build().unwrap();
    for (client, version) in [
        (&http2, reqwest::Version::HTTP_2),
        (&http1, reqwest::Version::HTTP_11),
    ] {
        let answer = client.get(&printers).bearer_auth(&token).send().await;
        let answer = answer.unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.version(), version);
        let keep_alive = answer.headers().get("keep-alive").is_some();
        assert_eq!(keep_alive, version == reqwest::Version::HTTP_11);
    }
}

/// An HTTP/2 connection carries many requests at once and is idle only with no stream open:
/// its own frames after a request start no header-read timeout, and once idle it is closed
/// at the idle timeout.
#[tokio::test]
async fn an_http2_connection_carries_concurrent_requests_and_closes_when_idle() {
    let (header_read, idle) = (Duration::from_millis(500), Duration::from_secs(2));
    let cloud = cloud_with(limits(header_read, idle, 512)).await;
    let token = cloud.admin();
    let printers = format!("{}/v1.0/print/printers", cloud.url);
    let http2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let answers =
        futures::future::join_all((0..20).map(|_| http2.get(&printers).bearer_auth(&token).send()))
            .await;
    for answer in answers {
        assert_eq!(answer.unwrap().status(), 200);
    }
    let port = cloud.addr().port();
    assert_eq!(printlab_testkit::sockets::established_connections(port), 1);
    tokio::time::sleep(header_read * 3).await;
    assert_eq!(
        printlab_testkit::sockets::established_connections(port),
        1,
        "an HTTP/2 connection between requests is idle, not late with its headers"
    );
    let closed = Instant::now();
    while printlab_testkit::sockets::established_connections(port) > 0 {
        assert!(
            closed.elapsed() < idle * 4,
            "an idle HTTP/2 connection is closed after the idle timeout"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A new request opens a new connection.
    let again = http2.get(&printers).bearer_auth(&token).send().await;
    assert_eq!(again.unwrap().status(), 200);
}
