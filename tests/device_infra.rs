//! End to end against the cloud's real INFRA service on loopback: an emulated printer connects
//! as an INFRA proxy (printer URI + HTTP Basic), fetches a job whose document went through the
//! real upload URL, prints it, and the cloud sees it completed.

use bytes::Bytes;
use printlab::cloud::infra::{Infra, JobTicket};
use printlab::cloud::odata::GraphError;
use printlab::cloud::upload::{
    CompletedUpload, UploadCreator, UploadListener, UploadService, UploadTarget,
};
use printlab::device::config;
use printlab::device::runtime::{Endpoint, FleetOptions, out_root, start_fleet};
use printlab::device::spool::Spool;
use printlab::ipp::http::Credentials;
use printlab::model::{
    PrintDocumentUploadProperties, PrintJobConfiguration, PrintJobProcessingState,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Echo;
impl UploadListener for Echo {
    fn upload_completed(&self, done: &CompletedUpload) -> Result<serde_json::Value, GraphError> {
        Ok(serde_json::json!({ "id": done.target.document_id, "size": done.size }))
    }
}

const PRINTER: &str = r#"
[[printer]]
name = "Lab"
[printer.capabilities]
document_formats = ["application/pdf"]
media = [{ size = "A4", margins = { top = 4, bottom = 4, left = 4, right = 4 } }]
dpis = [72]
color_modes = ["blackAndWhite"]
duplex_modes = ["oneSided"]
finishings = ["none"]
copies = { min = 1, max = 9 }
[printer.defaults]
document_format = "application/pdf"
media_size = "A4"
color_mode = "blackAndWhite"
duplex_mode = "oneSided"
dpi = 72
copies = 1
[printer.engine]
pages_per_minute = 600
warm_up_seconds = 0
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_prints_a_job_from_the_real_infra_service() {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path().join("store")).unwrap();
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", socket.local_addr().unwrap());
    let uploads = Arc::new(UploadService::open(&db, dir.path(), &base, Arc::new(Echo)).unwrap());
    let infra = Infra::with_long_poll(uploads.clone(), &base, Duration::from_secs(2));
    let router = uploads.router().merge(infra.router());
    tokio::spawn(async move { axum::serve(socket, router).await.unwrap() });
    infra.add_printer("p9", "Lab").unwrap();
    infra
        .add_proxy_credential("p9", "lab", "proxy", "s3cret")
        .unwrap();

    let fleet = config::parse(PRINTER, "test.toml").unwrap();
    let spool = Spool::open(&dir.path().join("spool")).unwrap();
    let uri = format!("{base}/ipp/print/lab");
    let running = start_fleet(
        &fleet.printers,
        |_| {
            Ok(Endpoint {
                printer_uri: uri.clone(),
                credentials: Credentials::Basic {
                    user: "proxy".into(),
                    password: "s3cret".into(),
                },
            })
        },
        FleetOptions {
            spool: spool.clone(),
            out_root: out_root(dir.path()),
            http: reqwest::Client::new(),
            render: true,
        },
    )
    .unwrap();

    let data = Bytes::from(printlab::render::testpage::generate(&[(595.0, 842.0); 2]).unwrap());
    let target = UploadTarget {
        printer_id: "p9".into(),
        job_id: "1".into(),
        document_id: "doc-1".into(),
    };
    let props = PrintDocumentUploadProperties {
        document_name: "doc.pdf".into(),
        content_type: "application/pdf".into(),
        size: data.len() as i64,
    };
    let url = uploads
        .create_session(target, &props, &UploadCreator::default())
        .unwrap()
        .upload_url
        .unwrap();
    let status = reqwest::Client::new()
        .put(url)
        .header(
            "Content-Range",
            format!("bytes 0-{}/{}", data.len() - 1, data.len()),
        )
        .body(data.clone())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 201);
    infra
        .start_job(JobTicket {
            printer_id: "p9".into(),
            job_id: 1,
            job_name: "job 1".into(),
            owner: "alice".into(),
            configuration: PrintJobConfiguration {
                media_size: Some("A4".into()),
                ..Default::default()
            },
            document_id: "doc-1".into(),
            document_format: "application/pdf".into(),
            document_size: data.len() as u64,
        })
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = infra.job_status("p9", 1).unwrap();
        if status.state == PrintJobProcessingState::Completed {
            break;
        }
        assert!(Instant::now() < deadline, "job never completed: {status:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let record = spool.job("Lab", 1).unwrap().unwrap();
    assert_eq!(record.progress.sheets_completed, 2);
    assert_eq!(record.outputs.len(), 2);
    running.shutdown().await;
}
