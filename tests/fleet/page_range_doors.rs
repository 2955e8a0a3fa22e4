//! `pageRanges` out of order or overlapping. Graph door: the cloud puts them in ascending order
//! with overlaps merged, stores that, and the device prints each page once in document order.
//! IPP door (the job template a device applies): RFC 8011 §5.2.7 ranges must ascend without
//! overlapping, so the rules refuse the job and so does the engine.

use super::nup_layout_doors::colour_printer;
use printlab_graph::rules::check_job;
use printlab_graph::{IntegerRange, PrinterCapabilities};
use printlab_ipp::{Attribute, Value};
use printlab_mapping::{graph_from_job_template, ticket_from_graph};
use printlab_render::{DeviceProfile, JobRequest, RenderError};
use printlab_testkit_fleet::{TestFleet, device_cloud, pdf};
use serde_json::{Value as Json, json};
use std::path::Path;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_page_ranges_are_sorted_and_merged() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = device_cloud(&dir.path().join("cloud")).await;
    let mut fleet = TestFleet::open(&dir.path().join("spool"));
    let printer = colour_printer(&cloud, &mut fleet).await;
    let jobs = format!("/print/printers/{printer}/jobs");
    for (sent, stored, printed) in [
        (json!([[5, 5], [1, 1]]), json!([[1, 1], [5, 5]]), vec![1, 5]),
        (json!([[1, 3], [2, 4]]), json!([[1, 4]]), vec![1, 2, 3, 4]),
    ] {
        let as_graph = |pairs: &Json| -> Json {
            pairs
                .as_array()
                .unwrap()
                .iter()
                .map(|p| json!({"start": p[0], "end": p[1]}))
                .collect()
        };
        let job = cloud
            .admin_graph()
            .submit(
                &jobs,
                "application/pdf",
                pdf(5),
                json!({"pageRanges": as_graph(&sent)}),
            )
            .await;
        let done = cloud
            .admin_graph()
            .wait(
                &format!("{jobs}/{job}"),
                "the job to complete",
                Duration::from_secs(30),
                |j| j["status"]["state"] == "completed",
            )
            .await;
        assert_eq!(
            done["configuration"]["pageRanges"],
            as_graph(&stored),
            "{done}"
        );
        let record = fleet
            .spool
            .job("Lab", job.parse().unwrap())
            .unwrap()
            .unwrap();
        let out = Path::new(&record.outputs[0].path).parent().unwrap();
        let manifest: Json =
            serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
        let pages: Vec<u64> = manifest["sides"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["sourcePages"][0].as_u64().unwrap())
            .collect();
        assert_eq!(pages, printed, "{sent}");
    }
    fleet.stop().await;
    cloud.stop().await;
}

#[test]
fn ipp_page_ranges_out_of_order_are_refused() {
    let attrs = vec![Attribute::set(
        "page-ranges",
        vec![
            Value::RangeOfInteger { lower: 5, upper: 5 },
            Value::RangeOfInteger { lower: 1, upper: 1 },
        ],
    )];
    let config = graph_from_job_template(&attrs).value;
    assert_eq!(
        config.page_ranges,
        Some(vec![
            IntegerRange { start: 5, end: 5 },
            IntegerRange { start: 1, end: 1 }
        ]),
        "the device sees the ranges as sent"
    );
    let caps = PrinterCapabilities {
        is_page_range_supported: Some(true),
        ..Default::default()
    };
    let refused = check_job(&config, &caps);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].field, "pageRanges");

    let ticket = ticket_from_graph(&config).unwrap();
    let document = pdf(5);
    let out = tempfile::tempdir().unwrap();
    let rendered = printlab_render::render_job(&JobRequest {
        document: &document,
        content_type: printlab_render::PDF,
        ticket: &ticket,
        profile: &DeviceProfile::default(),
        out_dir: out.path(),
        cancel: &CancellationToken::new(),
        on_sheet: &|_| {},
    });
    assert!(
        matches!(
            rendered,
            Err(RenderError::InvalidOption {
                option: "pageRanges",
                ..
            })
        ),
        "{rendered:?}"
    );
}
