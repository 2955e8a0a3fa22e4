//! `GET /metrics` on `printlab up`, scraped as Prometheus would and parsed with the Prometheus
//! project's own text-format parser (`prometheus_client` from PyPI, in the test virtualenv):
//! every metric of the cloud and of the devices moves when its event happens (a job printed
//! through Graph, a jam raised and cleared).

use super::cli_e2e::{Up, job_id_of, print_args, up};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

/// Every sample of a scrape, keyed `name{label="value",…}` (labels sorted), as the parser
/// read them.
pub(super) type Samples = BTreeMap<String, f64>;

/// The body of `GET {base}/metrics`, which must answer 200 in the text exposition format.
pub(super) fn scrape(base: &str) -> String {
    let answer = printlab_testkit::plain_http::get(&format!("{base}/metrics"), None).unwrap();
    assert_eq!(answer.status, 200, "{}", answer.head);
    assert!(
        (answer.head.to_ascii_lowercase()).contains("content-type: text/plain; version=0.0.4"),
        "{}",
        answer.head
    );
    String::from_utf8(answer.body).unwrap()
}

/// `text` parsed by `prometheus_client.parser`; a text the parser refuses fails the test.
pub(super) fn parse(text: &str) -> Samples {
    let python = std::env::var("PRINTLAB_GRAPH_SDK_PYTHON").expect(
        "PRINTLAB_GRAPH_SDK_PYTHON must name the test virtualenv's Python (tests/run.sh sets it)",
    );
    let script = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        labels = ",".join('%s="%s"' % (k, v) for k, v in sorted(s.labels.items()))
        out["%s{%s}" % (s.name, labels)] = s.value
print(json.dumps(out))
"#;
    let mut child = std::process::Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the Prometheus parser refused the scrape:\n{}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The value of `key` (`name{labels}`), 0 when the scrape has no such sample yet.
fn value(samples: &Samples, key: &str) -> f64 {
    samples.get(key).copied().unwrap_or(0.0)
}

/// The sum of every sample of `name` whose labels contain `labels` (e.g. all routes).
fn sum(samples: &Samples, name: &str, labels: &str) -> f64 {
    (samples.iter())
        .filter(|(k, _)| k.starts_with(&format!("{name}{{")) && k.contains(labels))
        .map(|(_, v)| v)
        .sum()
}

/// Scrapes until `check` holds (a printer's state is read at scrape time), or fails.
#[track_caller]
fn scrape_until(up: &Up, what: &str, check: impl Fn(&Samples) -> bool) -> Samples {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let samples = parse(&scrape(&up.url));
        if check(&samples) {
            return samples;
        }
        assert!(Instant::now() < deadline, "{what}: {samples:#?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn every_metric_moves_when_its_event_happens() {
    let dir = tempfile::tempdir().unwrap();
    let up = up(dir.path());
    let before = parse(&scrape(&up.url));
    // Two printers, each holding a long poll at the cloud: both sides say so.
    let before = if value(&before, "printlab_cloud_long_polls{}") >= 2.0 {
        before
    } else {
        scrape_until(&up, "the printers' long polls", |s| {
            value(s, "printlab_cloud_long_polls{}") >= 2.0
                && value(s, "printlab_device_long_polls{}") >= 2.0
        })
    };
    assert_eq!(
        value(&before, r#"printlab_device_printers{state="idle"}"#),
        2.0
    );

    // A two-page duplex job through Graph.
    let page = dir.path().join("two.pdf");
    up.ok(&["testpage", "-o", page.to_str().unwrap(), "--pages", "2"]);
    let size = std::fs::metadata(&page).unwrap().len() as f64;
    let printed = up.ok(&print_args(
        &page,
        "Mono Test",
        &["--duplex", "long", "--wait"],
    ));
    let job = job_id_of(&printed);
    let after = scrape_until(&up, "the job in the metrics", |s| {
        value(s, r#"printlab_cloud_jobs{state="completed"}"#) >= 1.0
    });
    let moved = |key: &str| value(&after, key) - value(&before, key);
    let moved_sum =
        |name: &str, labels: &str| sum(&after, name, labels) - sum(&before, name, labels);

    // The cloud: Graph requests by route, IPP operations, the job's state, bytes in and out,
    // flushes.
    assert!(
        moved_sum(
            "printlab_cloud_http_request_duration_seconds_count",
            r#"route="/v1.0/print/shares/{parent_id}/jobs""#
        ) >= 1.0,
        "{after:#?}"
    );
    assert!(
        moved_sum(
            "printlab_cloud_http_request_duration_seconds_count",
            r#"method="PUT""#
        ) >= 1.0
    );
    assert!(
        moved(r#"printlab_cloud_ipp_operation_duration_seconds_count{operation="Fetch-Document"}"#)
            >= 1.0
    );
    assert_eq!(moved(r#"printlab_cloud_jobs{state="completed"}"#), 1.0);
    assert_eq!(moved("printlab_cloud_document_upload_bytes_total{}"), size);
    assert!(moved("printlab_cloud_document_download_bytes_total{}") >= size);
    assert!(moved("printlab_cloud_store_flush_duration_seconds_count{}") >= 1.0);
    // The print command's connection and the scrape's own, open while it reads.
    assert!(
        moved("printlab_cloud_connections_accepted_total{}") >= 2.0,
        "{after:#?}"
    );
    assert!(value(&after, "printlab_cloud_connections{}") >= 1.0);

    // The devices: the sheets and pages it printed (the manifest's counts), the job, the
    // document fetched, the INFRA requests.
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(
            dir.path()
                .join("spool/devices/out/Mono Test")
                .join(&job)
                .join("manifest.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let sides = manifest["sides"].as_array().unwrap().len() as f64;
    assert_eq!(
        moved("printlab_device_sheets_printed_total{}"),
        manifest["mediaSheets"].as_f64().unwrap()
    );
    assert_eq!(moved("printlab_device_pages_printed_total{}"), sides);
    assert_eq!(
        moved(r#"printlab_device_jobs_total{state="completed"}"#),
        1.0
    );
    assert_eq!(
        moved("printlab_device_document_download_bytes_total{}"),
        size
    );
    assert!(
        moved(r#"printlab_device_ipp_request_duration_seconds_count{operation="Fetch-Document"}"#)
            >= 1.0
    );

    // A jam raised through the control API: counted, and the printer shows stopped until
    // cleared.
    up.ok(&["devices", "fault", "Mono Test", "jam"]);
    let jammed = scrape_until(&up, "the jam", |s| {
        value(s, r#"printlab_device_printers{state="stopped"}"#) == 1.0
    });
    assert_eq!(
        value(
            &jammed,
            r#"printlab_device_faults_raised_total{fault="media-jam"}"#
        ) - value(
            &before,
            r#"printlab_device_faults_raised_total{fault="media-jam"}"#
        ),
        1.0
    );
    up.ok(&["devices", "fault", "Mono Test", "clear"]);
    scrape_until(&up, "the printer idle again", |s| {
        value(s, r#"printlab_device_printers{state="idle"}"#) == 2.0
    });
}
