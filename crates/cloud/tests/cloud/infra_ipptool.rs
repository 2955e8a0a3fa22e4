//! Interop with a real IPP peer: Debian's `ipptool` (cups-ipp-utils) runs the `.test` files in
//! ipptool/ (beside this file) against the real cloud's INFRA service over loopback, as an ippproxy-style
//! proxy would talk to it (`/ipp/print/NAME`, HTTP Basic credentials in the URI). Printers and
//! jobs are made through Graph, and the outcome is read back through Graph.

use printlab_ipp::{Group, GroupTag, Value};
use printlab_testkit::{Graph, TestCloud, ipp};
use serde_json::json;
use std::path::Path;

const UUID: &str = "urn:uuid:2c7a3a55-0000-4000-8000-0000000000aa";

/// The printer's device says it takes PDF, so Graph accepts PDF uploads for it.
async fn advertise_pdf(run: &TestCloud, printer_id: &str) {
    let token = run.cloud.infra().issue_device_token(printer_id).unwrap();
    // PDF, plus what the jobs below ask for: Graph refuses a configuration the printer does
    // not declare.
    let printer = Group::new(GroupTag::PRINTER)
        .with_set(
            "document-format-supported",
            [Value::mime_media_type("application/pdf")],
        )
        .with("copies-supported", ipp::copies_supported())
        .with_set("sides-supported", ipp::one_sided_and_long_edge());
    ipp::advertise(&reqwest::Client::new(), &run.url, &token, printer).await;
}

/// ipptool with one of the test files beside this one, the printer's UUID and `defines`.
async fn ipptool(uri: &str, file: &str, defines: &[(&str, &str)]) -> (bool, String) {
    let test = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cloud/ipptool")
        .join(file);
    let mut args = vec!["-d".to_owned(), format!("uuid={UUID}")];
    for (name, value) in defines {
        args.extend(["-d".to_owned(), format!("{name}={value}")]);
    }
    ipp::ipptool(uri, &test, &args).await
}

/// How ipptool reports the cloud's 401: `client-error-not-authenticated` when it had sent the
/// body, "No request sent" when the 401 came in answer to its `Expect: 100-continue` (the cloud
/// answers from the headers, before any body), and never an IPP status of the service's.
fn refused_as_unauthenticated(report: &str) -> bool {
    (report.contains("status-code = client-error-not-authenticated")
        || report.contains("(No request sent.)"))
        && !report.contains("successful-ok")
}

/// Graph: a job on `printer` with `data` uploaded and started; gives its id.
async fn submit_job(
    admin: &Graph,
    printer: &str,
    data: &[u8],
    configuration: serde_json::Value,
) -> String {
    let jobs = format!("/print/printers/{printer}/jobs");
    admin
        .submit(&jobs, "application/pdf", data.to_vec(), configuration)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipptool_drives_every_infra_operation() {
    let run = TestCloud::start().await;
    let addr = run.addr();
    let admin = run.admin_graph();

    let lobby = admin.create_printer("Lobby").await;
    run.cloud
        .infra()
        .add_proxy_credential(&lobby, "lobby", "proxy", "s3cret")
        .await
        .unwrap();
    let other = admin.create_printer("Other").await;
    advertise_pdf(&run, &lobby).await;
    advertise_pdf(&run, &other).await;
    let data = b"%PDF-1.4\n% a tiny document for ipptool\n";
    let configuration = json!({"copies": 2, "duplexMode": "flipOnLongEdge"});
    let job = submit_job(&admin, &lobby, data, configuration.clone()).await;
    let other_job = submit_job(&admin, &other, data, configuration).await;

    let (passed, report) = ipptool(
        &format!("ipp://proxy:s3cret@{addr}/ipp/print/lobby"),
        "infra-proxy.test",
        &[("job", &job), ("other_job", &other_job)],
    )
    .await;
    assert!(passed, "ipptool reported failures:\n{report}");
    let done = admin
        .get_ok(&format!("/print/printers/{lobby}/jobs/{job}"))
        .await;
    assert_eq!(done["status"]["state"], "completed", "{done}");
    assert_eq!(done["status"]["isAcquiredByPrinter"], true);
    let printer = admin
        .get_ok(&format!("/print/printers/{lobby}?$select=capabilities"))
        .await;
    assert_eq!(
        printer["capabilities"]["duplexModes"],
        json!(["oneSided", "flipOnLongEdge"])
    );

    for uri in [
        format!("ipp://{addr}/ipp/print/lobby"),
        format!("ipp://proxy:wrong@{addr}/ipp/print/lobby"),
    ] {
        let (passed, report) = ipptool(&uri, "no-credentials.test", &[]).await;
        assert!(
            !passed,
            "{uri}: a request without valid credentials must not succeed:\n{report}"
        );
        assert!(
            refused_as_unauthenticated(&report),
            "{uri}: ipptool should report the refusal:\n{report}"
        );
    }

    // A proxy given the system URI registers its output device first and learns the printer
    // URI from the answer.
    let (passed, report) = ipptool(
        &format!("ipp://proxy:s3cret@{addr}/ipp/system"),
        "register-output-device.test",
        &[("printer_uri", &format!("ipp://{addr}/ipp/print/lobby"))],
    )
    .await;
    assert!(passed, "ipptool reported failures:\n{report}");
    let (passed, report) = ipptool(
        &format!("ipp://proxy:wrong@{addr}/ipp/system"),
        "no-credentials.test",
        &[],
    )
    .await;
    assert!(!passed && refused_as_unauthenticated(&report), "{report}");
}
