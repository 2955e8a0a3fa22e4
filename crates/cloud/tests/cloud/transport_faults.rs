//! Transport faults on the Graph side, against real clients: Microsoft's Python Graph SDK,
//! unmodified, completes its upload and job through a cloud that fails every third Graph call
//! with 503 + `Retry-After` and throttles each caller, and the fault log shows it waited as told;
//! the rules change live through the control endpoint, which reports a mistake at its line and
//! column; a reset cuts a body mid-way and a slow body arrives slowly.

use printlab_cloud::transport_faults::FaultRules;
use printlab_testkit::TestCloud;
use reqwest::StatusCode;
use serde_json::Value;
use std::time::{Duration, Instant};

const SDK_RULES: &str = r#"
[[rule]]
name = "every third Graph call fails"
path = "/v1.0/**"
every = 3
status = 503
retry_after = 1

[[rule]]
name = "two calls per three seconds"
path = "/v1.0/print/**"
throttle = { requests = 2, window_seconds = 3 }
"#;

#[tokio::test]
async fn the_python_sdk_honours_retry_after_through_503s_and_throttling() {
    let dir = tempfile::tempdir().unwrap();
    let run = TestCloud::start_in(dir.path()).await;
    // The printer and share are made before the rules apply: the SDK's calls alone meet them.
    let rules = FaultRules::parse(SDK_RULES, "faults.toml").unwrap();
    super::cloud_graph::msgraph_sdk_python_flow_with(&run, dir.path(), || {
        run.cloud.transport_faults().replace(rules.clone())
    })
    .await;

    let log = run.cloud.transport_faults().log();
    let faults: Vec<_> = log.iter().filter(|r| r.status.is_some()).collect();
    assert!(
        faults.iter().any(|r| r.status == Some(503)),
        "no 503 was injected: {log:#?}"
    );
    assert!(
        faults.iter().any(|r| r.outcome == "throttled"),
        "no request was throttled: {log:#?}"
    );
    // Each fault's retry (the caller's next request for the same method and path) came no
    // sooner than the Retry-After it was sent.
    for (at, fault) in log.iter().enumerate().filter(|(_, r)| r.status.is_some()) {
        let retry = log[at + 1..]
            .iter()
            .find(|r| r.caller == fault.caller && r.method == fault.method && r.path == fault.path)
            .unwrap_or_else(|| panic!("no retry of {fault:?}"));
        let waited = retry.at - fault.at;
        let told = chrono::Duration::seconds(i64::from(fault.retry_after.unwrap()));
        println!(
            "{} {} {}: {:?}, retried after {} ms (Retry-After {} s)",
            fault.outcome,
            fault.method,
            fault.path,
            fault.status,
            waited.num_milliseconds(),
            told.num_seconds()
        );
        assert!(
            waited >= told - chrono::Duration::milliseconds(50),
            "{} {} retried after {waited} though told {told}",
            fault.method,
            fault.path
        );
    }
    let counters = run.cloud.transport_faults().counters();
    assert!(counters.iter().all(|c| c.fired > 0), "{counters:?}");
    run.stop().await;
}

#[tokio::test]
async fn rules_change_live_and_cut_or_slow_bodies() {
    let run = TestCloud::start().await;
    let http = run.http();
    let base = run.v1().trim_end_matches("/v1.0").to_string();
    let control = format!("{base}/control/transport-faults");
    let admin = run.admin();
    let user = run.user("dana", &["Printer.Read.All"], false);

    // Only a Printer Administrator may change them.
    let refused = http
        .put(&control)
        .bearer_auth(&user)
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    // A mistake is reported at its place.
    let bad = "[[rule]]\nname = \"x\"\npath = \"/v1.0/**\"\nstatus = 418\n";
    let answer = http
        .put(&control)
        .bearer_auth(&admin)
        .body(bad)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    let body: Value = answer.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("request body:1:1:") && message.contains("418"),
        "{message}"
    );

    let rules = r#"
[[rule]]
name = "cut"
methods = ["GET"]
path = "/v1.0/print/printers"
sequence = [true, false]
reset_after_bytes = 10

[[rule]]
name = "slow"
methods = ["GET"]
path = "/v1.0/print/shares"
body_bytes_per_second = 100
latency_ms = 200
"#;
    let set = http
        .put(&control)
        .bearer_auth(&admin)
        .body(rules)
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), StatusCode::OK);
    let shown: Value = set.json().await.unwrap();
    assert_eq!(shown["rules"]["rule"][0]["name"], "cut");

    let printers = format!("{}/print/printers", run.v1());
    // The connection is cut 10 bytes into the body: the client never gets a whole answer.
    let cut = match http.get(&printers).bearer_auth(&admin).send().await {
        Ok(response) => response.bytes().await.map(|_| ()),
        Err(failed) => Err(failed),
    };
    assert!(cut.is_err(), "the body should have been cut");
    let whole = http
        .get(&printers)
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let listed: Value = whole.json().await.unwrap();
    assert!(listed["value"].is_array());

    let started = Instant::now();
    let slow = http
        .get(format!("{}/print/shares", run.v1()))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let body = slow.bytes().await.unwrap();
    let elapsed = started.elapsed();
    // 200 ms of latency, then 10 bytes per tenth of a second.
    let expected = Duration::from_millis(200 + 100 * (body.len() as u64).div_ceil(10));
    assert!(elapsed >= expected, "{} bytes in {elapsed:?}", body.len());

    let log: Value = http
        .get(format!("{control}/log"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let outcomes: Vec<&str> = (log["records"].as_array().unwrap().iter())
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["reset", "passed", "slowBody"], "{log}");

    let cleared = http
        .delete(&control)
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), StatusCode::NO_CONTENT);
    assert!(run.cloud.transport_faults().rules().rules.is_empty());
    run.stop().await;
}
