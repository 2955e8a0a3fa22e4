//! The lab's dashboard stream, `GET /dashboard/events` on the lab's address: the devices'
//! events and the cloud's view of the same printers and jobs in one stream, for the admin token
//! only, ending when the lab shuts down so an open page never holds the shutdown.

use printlab_device::config;
use printlab_testkit::Graph;
use printlab_testkit_fleet::{ONE_PRINTER, pdf};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

/// Reads server-sent events (`event:` and `data:` lines) from a streaming response.
struct EventReader {
    response: reqwest::Response,
    buffer: String,
}

impl EventReader {
    /// The next event's kind and JSON data; `None` when the stream ends.
    async fn next(&mut self) -> Option<(String, Value)> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let kind = block.lines().find_map(|l| l.strip_prefix("event: "));
                let data = block.lines().find_map(|l| l.strip_prefix("data: "));
                if let (Some(kind), Some(data)) = (kind, data) {
                    return Some((kind.to_string(), serde_json::from_str(data).unwrap()));
                }
                continue; // a keep-alive comment
            }
            let chunk = tokio::time::timeout(Duration::from_secs(30), self.response.chunk())
                .await
                .expect("an event within 30 s")
                .unwrap()?;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_stream_carries_the_devices_and_graphs_views_and_ends_with_the_lab() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = format!("[fleet]\nconnection = {{ mode = \"universal-print\" }}\n{ONE_PRINTER}");
    let printers = config::parse(&fleet, "test.toml").unwrap().printers;
    let lab = printlab_lab::Lab::start(printlab_lab::LabOptions {
        listen: "127.0.0.1:0".into(),
        control: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        printers,
        tls: None,
        public_url: None,
        transport_faults: Default::default(),
        allow_remote_webhooks: false,
        ipp_listen: None,
        dns_sd: false,
        render: false,
    })
    .await
    .unwrap();
    let url = format!("{}/dashboard/events", lab.cloud_url);
    let http = reqwest::Client::new();
    let refused = http.get(&url).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let refused = http.get(&url).bearer_auth(&lab.user_token).send();
    assert_eq!(refused.await.unwrap().status(), StatusCode::FORBIDDEN);

    let response = http.get(&url).bearer_auth(&lab.admin_token).send();
    let response = response.await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut events = EventReader {
        response,
        buffer: String::new(),
    };
    // Both halves' first bursts: the device's printer, Graph's printer, each with its end.
    let mut first = Vec::new();
    while !(first.iter().any(|(k, _)| k == "ready")
        && first.iter().any(|(k, _)| k == "graph-ready"))
    {
        first.push(events.next().await.unwrap());
    }
    let of = |kind: &str| {
        (first.iter())
            .find(|(k, _)| k == kind)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {kind} in {first:?}"))
    };
    assert_eq!(of("printer")["name"], "Lab");
    let graph = of("graph-printer");
    assert_eq!(graph["displayName"], "Lab");
    assert_eq!(graph["id"], json!(lab.printers[0].printer_id));
    assert_eq!(graph["status"]["state"], "idle", "{graph}");
    assert_eq!(graph["isAcceptingJobs"], true, "{graph}");

    // A job through Graph: Graph's view of it from its creation, the device's once fetched.
    let jobs = format!("/print/shares/{}/jobs", lab.printers[0].share_id);
    let user = Graph::new(&lab.graph_url, &lab.user_token);
    let id = user
        .submit(&jobs, "application/pdf", pdf(2), json!({}))
        .await;
    let number: u64 = id.parse().unwrap();
    let (mut graph_states, mut device_done) = (Vec::new(), false);
    while !(device_done && graph_states.last().map(String::as_str) == Some("completed")) {
        let (kind, value) = events.next().await.expect("the stream goes on");
        match kind.as_str() {
            "graph-job" if value["job"]["id"] == id => {
                assert_eq!(value["printerName"], "Lab", "{value}");
                assert_eq!(value["job"]["documents"].as_array().unwrap().len(), 1);
                graph_states.push(
                    value["job"]["status"]["state"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                );
            }
            "job" if value["jobId"] == number => {
                device_done |= value["state"] == "completed";
            }
            _ => {}
        }
    }
    // Changes within one window are sent once, read back then: a fast job may skip states (at
    // full speed, with no rendering, it can be created and completed within one), never go back.
    let order = ["paused", "pending", "processing", "completed"];
    let ranks: Vec<usize> = (graph_states.iter())
        .map(|s| order.iter().position(|o| o == s).unwrap())
        .collect();
    assert!(ranks.is_sorted(), "{graph_states:?}");

    // Shutting the lab down ends the stream: an open page does not hold it.
    tokio::time::timeout(Duration::from_secs(60), lab.shutdown())
        .await
        .expect("the lab stops with a dashboard stream open")
        .unwrap();
    while let Some((kind, _)) = events.next().await {
        assert!(!kind.contains("ready"), "{kind}");
    }
}
