//! The cloud's INFRA service over real HTTP on loopback, driven by our own IPP client
//! (`ipp::http::post_ipp`), with documents stored by the real upload engine in a real sled.

use bytes::Bytes;
use printlab::cloud::infra::{Infra, JobTicket};
use printlab::cloud::odata::GraphError;
use printlab::cloud::upload::{
    CompletedUpload, UploadCreator, UploadListener, UploadService, UploadTarget,
};
use printlab::ipp::http::{Credentials, TransportError, post_ipp};
use printlab::ipp::{
    Attribute, AttributeLookup, Group, GroupTag, Limits, Message, Operation, StatusCode, Value,
};
use printlab::model::ipp_mapping::printer_attributes_from_graph;
use printlab::model::{
    PrintColorMode, PrintDocumentUploadProperties, PrintDuplexMode, PrintJobConfiguration,
    PrintJobProcessingState, PrinterCapabilities, PrinterDefaults, PrinterProcessingState,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

struct Echo;

impl UploadListener for Echo {
    fn upload_completed(&self, done: &CompletedUpload) -> Result<serde_json::Value, GraphError> {
        Ok(serde_json::json!({ "id": done.target.document_id, "size": done.size }))
    }
}

struct Cloud {
    infra: Infra,
    uploads: Arc<UploadService>,
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

static REQUEST_ID: AtomicU32 = AtomicU32::new(1);

impl Cloud {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path().join("store")).unwrap();
        let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", socket.local_addr().unwrap());
        let uploads = Arc::new(UploadService::open(&db, &base, Arc::new(Echo)).unwrap());
        let infra = Infra::with_long_poll(uploads.clone(), &base, Duration::from_secs(2));
        let router = uploads.router().merge(infra.router());
        tokio::spawn(async move { axum::serve(socket, router).await.unwrap() });
        Self {
            infra,
            uploads,
            base,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    /// Stores a document through the real upload URL, as a Graph client would.
    async fn upload(&self, document_id: &str, data: &Bytes) {
        let target = UploadTarget {
            printer_id: "p".into(),
            job_id: document_id.into(),
            document_id: document_id.into(),
        };
        let props = PrintDocumentUploadProperties {
            document_name: format!("{document_id}.pdf"),
            content_type: "application/pdf".into(),
            size: data.len() as i64,
        };
        let url = self
            .uploads
            .create_session(target, &props, &UploadCreator::default())
            .unwrap()
            .upload_url
            .unwrap();
        let status = self
            .http
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
    }

    /// Uploads a document and starts the job, as Graph `start` does.
    async fn start_job(&self, printer_id: &str, job_id: i32, data: &Bytes) {
        let document_id = format!("{printer_id}-doc-{job_id}");
        self.upload(&document_id, data).await;
        self.infra
            .start_job(JobTicket {
                printer_id: printer_id.into(),
                job_id,
                job_name: format!("job {job_id}"),
                owner: "alice".into(),
                configuration: PrintJobConfiguration {
                    copies: Some(2),
                    duplex_mode: Some(PrintDuplexMode::FlipOnLongEdge),
                    color_mode: Some(PrintColorMode::Grayscale),
                    media_size: Some("A4".into()),
                    ..Default::default()
                },
                document_id,
                document_format: "application/pdf".into(),
                document_size: data.len() as u64,
            })
            .unwrap();
    }

    async fn call(
        &self,
        path: &str,
        credentials: &Credentials,
        operation: Operation,
        build: impl FnOnce(&mut Message),
    ) -> Result<(Message, Vec<u8>), TransportError> {
        let mut request = Message::request(operation, REQUEST_ID.fetch_add(1, Ordering::Relaxed));
        request.groups[0].push(Attribute::new(
            "printer-uri",
            Value::uri(format!("{}{path}", self.base)),
        ));
        build(&mut request);
        let url = format!("{}{path}", self.base);
        let mut response = post_ipp(
            &self.http,
            &url,
            credentials,
            &request,
            None,
            &Limits::default(),
        )
        .await?;
        let mut document = Vec::new();
        response.document.read_to_end(&mut document).await.unwrap();
        Ok((response.message, document))
    }

    async fn device(
        &self,
        token: &str,
        operation: Operation,
        build: impl FnOnce(&mut Message),
    ) -> Message {
        self.call(
            "/printers",
            &Credentials::Bearer(token.into()),
            operation,
            build,
        )
        .await
        .unwrap()
        .0
    }
}

fn op(message: &mut Message, name: &str, value: Value) {
    message.groups[0].push(Attribute::new(name, value));
}

fn capabilities() -> (PrinterCapabilities, PrinterDefaults) {
    (
        PrinterCapabilities {
            color_modes: Some(vec![PrintColorMode::Grayscale, PrintColorMode::Color]),
            duplex_modes: Some(vec![
                PrintDuplexMode::OneSided,
                PrintDuplexMode::FlipOnLongEdge,
            ]),
            media_sizes: Some(vec!["A4".into(), "North America Letter".into()]),
            content_types: Some(vec!["application/pdf".into()]),
            ..Default::default()
        },
        PrinterDefaults {
            color_mode: Some(PrintColorMode::Grayscale),
            duplex_mode: Some(PrintDuplexMode::OneSided),
            media_size: Some("A4".into()),
            ..Default::default()
        },
    )
}

fn subscribe(message: &mut Message) {
    message.push_group(
        Group::new(GroupTag::SUBSCRIPTION)
            .with("notify-pull-method", Value::keyword("ippget"))
            .with_set(
                "notify-events",
                [
                    "job-fetchable",
                    "job-state-changed",
                    "printer-config-changed",
                ]
                .map(Value::keyword),
            ),
    );
}

fn subscription_id(response: &Message) -> i32 {
    response
        .group(GroupTag::SUBSCRIPTION)
        .and_then(|g| g.integer("notify-subscription-id"))
        .expect("a subscription id")
}

fn events_of(response: &Message) -> Vec<(String, Option<i32>, i32)> {
    response
        .groups_of(GroupTag::EVENT_NOTIFICATION)
        .map(|g| {
            (
                g.keyword("notify-subscribed-event").unwrap().to_owned(),
                g.integer("job-id"),
                g.integer("notify-sequence-number").unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_device_fetches_and_prints_a_job_end_to_end() {
    let cloud = Cloud::start().await;
    cloud.infra.add_printer("p1", "Office").unwrap();
    let token = cloud.infra.issue_device_token("p1").unwrap();

    let (caps, defaults) = capabilities();
    let mut printer_attrs = printer_attributes_from_graph(&caps, &defaults).value;
    printer_attrs.push(Attribute::new("printer-state", Value::Enum(3)));
    printer_attrs.push(Attribute::new(
        "printer-state-reasons",
        Value::keyword("none"),
    ));
    let r = cloud
        .device(&token, Operation::UPDATE_OUTPUT_DEVICE_ATTRIBUTES, |m| {
            op(
                m,
                "output-device-uuid",
                Value::uri("urn:uuid:4a8d1c1e-0000-4000-8000-000000000001"),
            );
            m.push_group(Group {
                tag: GroupTag::PRINTER,
                attributes: printer_attrs.clone(),
            });
        })
        .await;
    assert_eq!(r.status(), StatusCode::SUCCESSFUL_OK, "{r:?}");
    let view = cloud.infra.printer_view("p1").unwrap();
    assert_eq!(
        view.capabilities.as_ref().unwrap().color_modes,
        caps.color_modes
    );
    assert_eq!(
        view.capabilities.as_ref().unwrap().media_sizes,
        caps.media_sizes
    );
    assert_eq!(
        view.defaults.as_ref().unwrap().duplex_mode,
        Some(PrintDuplexMode::OneSided)
    );
    assert_eq!(view.status.state, PrinterProcessingState::Idle);
    assert!(view.last_seen.is_some());
    assert_eq!(
        view.output_device_uuid.as_deref(),
        Some("urn:uuid:4a8d1c1e-0000-4000-8000-000000000001")
    );

    let r = cloud
        .device(&token, Operation::GET_OUTPUT_DEVICE_ATTRIBUTES, |_| {})
        .await;
    assert_eq!(
        r.group(GroupTag::PRINTER).unwrap().keyword("sides-default"),
        Some("one-sided")
    );
    let r = cloud
        .device(&token, Operation::GET_PRINTER_ATTRIBUTES, |_| {})
        .await;
    let printer = r.group(GroupTag::PRINTER).unwrap();
    assert_eq!(printer.enum_value("printer-state"), Some(3));
    assert!(
        printer
            .attr("operations-supported")
            .unwrap()
            .enums()
            .any(|o| o == 0x43)
    );

    let r = cloud
        .device(&token, Operation::CREATE_PRINTER_SUBSCRIPTIONS, subscribe)
        .await;
    assert_eq!(r.status(), StatusCode::SUCCESSFUL_OK, "{r:?}");
    let sub = subscription_id(&r);

    // Graph `start` while the device long-polls: the poll returns with job-fetchable.
    let data = Bytes::from((0..300_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>());
    let poll = {
        let cloud_base = cloud.base.clone();
        let token = token.clone();
        tokio::spawn(async move {
            let mut request = Message::request(Operation::GET_NOTIFICATIONS, 999);
            op(
                &mut request,
                "printer-uri",
                Value::uri(format!("{cloud_base}/printers")),
            );
            request.groups[0].push(Attribute::set(
                "notify-subscription-ids",
                [Value::Integer(sub)],
            ));
            request.groups[0].push(Attribute::set(
                "notify-sequence-numbers",
                [Value::Integer(1)],
            ));
            op(&mut request, "notify-wait", Value::Boolean(true));
            let started = Instant::now();
            let r = post_ipp(
                &reqwest::Client::new(),
                &format!("{cloud_base}/printers"),
                &Credentials::Bearer(token),
                &request,
                None,
                &Limits::default(),
            )
            .await
            .unwrap();
            (r.message, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    cloud.start_job("p1", 7, &data).await;
    let (notifications, waited) = poll.await.unwrap();
    assert!(
        waited < Duration::from_secs(2),
        "the long poll returned on the event, not the timeout"
    );
    assert_eq!(
        events_of(&notifications),
        [("job-fetchable".to_owned(), Some(7), 1)]
    );

    let r = cloud
        .device(&token, Operation::GET_JOBS, |m| {
            op(m, "which-jobs", Value::keyword("fetchable"))
        })
        .await;
    let ids: Vec<i32> = r
        .groups_of(GroupTag::JOB)
        .filter_map(|g| g.integer("job-id"))
        .collect();
    assert_eq!(ids, [7]);

    let r = cloud
        .device(&token, Operation::FETCH_JOB, |m| {
            op(m, "job-id", Value::Integer(7))
        })
        .await;
    assert_eq!(r.status(), StatusCode::SUCCESSFUL_OK, "{r:?}");
    let job = r.group(GroupTag::JOB).unwrap();
    assert_eq!(job.integer("copies"), Some(2));
    assert_eq!(job.keyword("sides"), Some("two-sided-long-edge"));
    assert_eq!(job.keyword("print-color-mode"), Some("monochrome"));
    assert_eq!(job.string("document-format"), Some("application/pdf"));

    let r = cloud
        .device(&token, Operation::ACKNOWLEDGE_JOB, |m| {
            op(m, "job-id", Value::Integer(7))
        })
        .await;
    assert_eq!(r.status(), StatusCode::SUCCESSFUL_OK);
    assert!(
        cloud
            .infra
            .job_status("p1", 7)
            .unwrap()
            .is_acquired_by_printer
    );
    let r = cloud
        .device(&token, Operation::GET_JOBS, |m| {
            op(m, "which-jobs", Value::keyword("fetchable"))
        })
        .await;
    assert_eq!(
        r.groups_of(GroupTag::JOB).count(),
        0,
        "an acknowledged job is no longer fetchable"
    );

    let (r, document) = cloud
        .call(
            "/printers",
            &Credentials::Bearer(token.clone()),
            Operation::FETCH_DOCUMENT,
            |m| {
                op(m, "job-id", Value::Integer(7));
                op(m, "document-number", Value::Integer(1));
            },
        )
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SUCCESSFUL_OK, "{r:?}");
    assert_eq!(
        r.operation_attributes().string("document-format"),
        Some("application/pdf")
    );
    assert_eq!(
        document,
        data.as_ref(),
        "Fetch-Document returns the stored bytes exactly"
    );

    let r = cloud
        .device(&token, Operation::ACKNOWLEDGE_DOCUMENT, |m| {
            op(m, "job-id", Value::Integer(7));
            op(m, "document-number", Value::Integer(1));
        })
        .await;
    assert_eq!(r.status(), StatusCode::SUCCESSFUL_OK);

    let r = cloud
        .device(&token, Operation::UPDATE_JOB_STATUS, |m| {
            op(m, "job-id", Value::Integer(7));
            m.push_group(
                Group::new(GroupTag::JOB)
                    .with("output-device-job-state", Value::Enum(5))
                    .with_set(
                        "output-device-job-state-reasons",
                        [Value::keyword("job-printing")],
                    )
                    .with("job-impressions-completed", Value::Integer(1)),
            );
        })
        .await;
    assert_eq!(r.status(), StatusCode::SUCCESSFUL_OK, "{r:?}");
    let status = cloud.infra.job_status("p1", 7).unwrap();
    assert_eq!(
        status.state,
        PrintJobProcessingState::Processing,
        "device updates show at once"
    );

    let r = cloud
        .device(&token, Operation::UPDATE_DOCUMENT_STATUS, |m| {
            op(m, "job-id", Value::Integer(7));
            op(m, "document-number", Value::Integer(1));
            m.push_group(
                Group::new(GroupTag::DOCUMENT).with("output-device-document-state", Value::Enum(9)),
            );
        })
        .await;
    assert_eq!(r.status(), StatusCode::SUCCESSFUL_OK, "{r:?}");

    let r = cloud
        .device(&token, Operation::UPDATE_ACTIVE_JOBS, |m| {
            m.groups[0].push(Attribute::set(
                "job-ids",
                [Value::Integer(7), Value::Integer(404)],
            ));
            m.groups[0].push(Attribute::set(
                "output-device-job-states",
                [Value::Enum(9), Value::Enum(5)],
            ));
        })
        .await;
    assert_eq!(r.status(), StatusCode::SUCCESSFUL_OK, "{r:?}");
    let unknown: Vec<i32> = r
        .group(GroupTag::UNSUPPORTED)
        .unwrap()
        .attr("job-ids")
        .unwrap()
        .integers()
        .collect();
    assert_eq!(unknown, [404]);
    assert_eq!(
        cloud.infra.job_status("p1", 7).unwrap().state,
        PrintJobProcessingState::Completed
    );

    // The state changes were queued: processing (seq 2), completed (seq 3).
    let r = cloud
        .device(&token, Operation::GET_NOTIFICATIONS, |m| {
            m.groups[0].push(Attribute::set(
                "notify-subscription-ids",
                [Value::Integer(sub)],
            ));
            m.groups[0].push(Attribute::set(
                "notify-sequence-numbers",
                [Value::Integer(2)],
            ));
        })
        .await;
    let kinds: Vec<(String, Option<i32>, i32)> = events_of(&r);
    assert_eq!(
        kinds,
        [
            ("job-state-changed".to_owned(), Some(7), 2),
            ("job-state-changed".to_owned(), Some(7), 3)
        ]
    );

    let r = cloud
        .device(&token, Operation::CANCEL_SUBSCRIPTION, |m| {
            op(m, "notify-subscription-id", Value::Integer(sub))
        })
        .await;
    assert_eq!(r.status(), StatusCode::SUCCESSFUL_OK);
    let r = cloud
        .device(&token, Operation::DEREGISTER_OUTPUT_DEVICE, |_| {})
        .await;
    assert_eq!(r.status(), StatusCode::SUCCESSFUL_OK);
    assert_eq!(
        cloud.infra.printer_view("p1").unwrap().status.state,
        PrinterProcessingState::Stopped
    );
}

#[tokio::test]
async fn cancel_and_early_jobs_reach_the_device() {
    let cloud = Cloud::start().await;
    cloud.infra.add_printer("p1", "Office").unwrap();
    let token = cloud.infra.issue_device_token("p1").unwrap();
    let data = Bytes::from_static(b"%PDF-1.4 tiny");
    // Started before the device subscribed: Get-Jobs primes it.
    cloud.start_job("p1", 1, &data).await;
    let sub = subscription_id(
        &cloud
            .device(&token, Operation::CREATE_PRINTER_SUBSCRIPTIONS, subscribe)
            .await,
    );
    let r = cloud
        .device(&token, Operation::GET_JOBS, |m| {
            op(m, "which-jobs", Value::keyword("fetchable"))
        })
        .await;
    assert_eq!(
        r.groups_of(GroupTag::JOB)
            .filter_map(|g| g.integer("job-id"))
            .collect::<Vec<_>>(),
        [1]
    );

    cloud.infra.cancel_job("p1", 1).unwrap();
    let r = cloud
        .device(&token, Operation::GET_NOTIFICATIONS, |m| {
            m.groups[0].push(Attribute::set(
                "notify-subscription-ids",
                [Value::Integer(sub)],
            ));
            op(m, "notify-wait", Value::Boolean(true));
        })
        .await;
    let events = events_of(&r);
    assert_eq!(events, [("job-state-changed".to_owned(), Some(1), 1)]);
    assert_eq!(
        r.group(GroupTag::EVENT_NOTIFICATION)
            .unwrap()
            .enum_value("job-state"),
        Some(7)
    );
    let r = cloud
        .device(&token, Operation::FETCH_JOB, |m| {
            op(m, "job-id", Value::Integer(1))
        })
        .await;
    assert_eq!(r.status(), StatusCode::CLIENT_ERROR_NOT_FETCHABLE);

    // A long poll with nothing to say ends at the service's limit with no events.
    let started = Instant::now();
    let r = cloud
        .device(&token, Operation::GET_NOTIFICATIONS, |m| {
            m.groups[0].push(Attribute::set(
                "notify-subscription-ids",
                [Value::Integer(sub)],
            ));
            m.groups[0].push(Attribute::set(
                "notify-sequence-numbers",
                [Value::Integer(2)],
            ));
            op(m, "notify-wait", Value::Boolean(true));
        })
        .await;
    assert!(started.elapsed() >= Duration::from_millis(1900));
    assert_eq!(r.status(), StatusCode::SUCCESSFUL_OK);
    assert!(events_of(&r).is_empty());
}

#[tokio::test]
async fn devices_are_refused_what_is_not_theirs() {
    let cloud = Cloud::start().await;
    cloud.infra.add_printer("p1", "One").unwrap();
    cloud.infra.add_printer("p2", "Two").unwrap();
    let token1 = cloud.infra.issue_device_token("p1").unwrap();
    let token2 = cloud.infra.issue_device_token("p2").unwrap();
    cloud
        .start_job("p1", 5, &Bytes::from_static(b"%PDF-1.4 x"))
        .await;

    let no_token = cloud
        .call("/printers", &Credentials::None, Operation::GET_JOBS, |_| {})
        .await;
    assert!(
        matches!(
            no_token,
            Err(TransportError::HttpStatus { status: 401, .. })
        ),
        "{:?}",
        no_token.err()
    );
    let forged = cloud
        .call(
            "/printers",
            &Credentials::Bearer("forged".into()),
            Operation::GET_JOBS,
            |_| {},
        )
        .await;
    assert!(matches!(
        forged,
        Err(TransportError::HttpStatus { status: 401, .. })
    ));
    let short = cloud
        .infra
        .issue_device_token_for("p1", Duration::from_millis(50))
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let expired = cloud
        .call(
            "/printers",
            &Credentials::Bearer(short),
            Operation::GET_JOBS,
            |_| {},
        )
        .await;
    assert!(matches!(
        expired,
        Err(TransportError::HttpStatus { status: 401, .. })
    ));

    let (r, _) = cloud
        .call(
            "/printers/p1",
            &Credentials::Bearer(token2.clone()),
            Operation::GET_JOBS,
            |_| {},
        )
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CLIENT_ERROR_NOT_AUTHORIZED);
    for operation in [
        Operation::FETCH_JOB,
        Operation::ACKNOWLEDGE_JOB,
        Operation::FETCH_DOCUMENT,
        Operation::UPDATE_JOB_STATUS,
    ] {
        let r = cloud
            .device(&token2, operation, |m| op(m, "job-id", Value::Integer(5)))
            .await;
        assert_eq!(
            r.status(),
            StatusCode::CLIENT_ERROR_NOT_AUTHORIZED,
            "{operation}"
        );
    }
    let r = cloud
        .device(&token2, Operation::GET_JOBS, |m| {
            op(m, "which-jobs", Value::keyword("all"))
        })
        .await;
    assert_eq!(
        r.groups_of(GroupTag::JOB).count(),
        0,
        "p2 sees none of p1's jobs"
    );
    let sub1 = subscription_id(
        &cloud
            .device(&token1, Operation::CREATE_PRINTER_SUBSCRIPTIONS, subscribe)
            .await,
    );
    let r = cloud
        .device(&token2, Operation::GET_NOTIFICATIONS, |m| {
            m.groups[0].push(Attribute::set(
                "notify-subscription-ids",
                [Value::Integer(sub1)],
            ));
        })
        .await;
    assert_eq!(r.status(), StatusCode::CLIENT_ERROR_NOT_AUTHORIZED);

    let r = cloud
        .device(&token1, Operation::GET_JOBS, |m| {
            op(m, "which-jobs", Value::keyword("someday"))
        })
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED
    );
    assert_eq!(
        r.group(GroupTag::UNSUPPORTED)
            .unwrap()
            .keyword("which-jobs"),
        Some("someday")
    );
    let r = cloud
        .device(&token1, Operation::UPDATE_JOB_STATUS, |m| {
            op(m, "job-id", Value::Integer(5));
            m.push_group(
                Group::new(GroupTag::JOB).with("output-device-job-state", Value::Enum(42)),
            );
        })
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED
    );
    let r = cloud.device(&token1, Operation::FETCH_JOB, |_| {}).await;
    assert_eq!(r.status(), StatusCode::CLIENT_ERROR_BAD_REQUEST);
    let r = cloud.device(&token1, Operation::PRINT_JOB, |_| {}).await;
    assert_eq!(r.status(), StatusCode::SERVER_ERROR_OPERATION_NOT_SUPPORTED);
    let r = cloud
        .device(&token1, Operation::CREATE_PRINTER_SUBSCRIPTIONS, |m| {
            m.push_group(
                Group::new(GroupTag::SUBSCRIPTION)
                    .with("notify-pull-method", Value::keyword("carrier-pigeon")),
            );
        })
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CLIENT_ERROR_IGNORED_ALL_SUBSCRIPTIONS
    );
}

#[tokio::test]
async fn an_infra_proxy_serves_a_printer_with_basic_credentials() {
    let cloud = Cloud::start().await;
    cloud.infra.add_printer("p9", "Proxy printer").unwrap();
    cloud
        .infra
        .add_proxy_credential("p9", "lobby", "proxy", "s3cret")
        .unwrap();
    let good = Credentials::Basic {
        user: "proxy".into(),
        password: "s3cret".into(),
    };
    let bad = Credentials::Basic {
        user: "proxy".into(),
        password: "guess".into(),
    };

    let refused = cloud
        .call("/ipp/print/lobby", &bad, Operation::GET_JOBS, |_| {})
        .await;
    assert!(matches!(
        refused,
        Err(TransportError::HttpStatus { status: 401, .. })
    ));
    let refused = cloud
        .call("/ipp/print/other", &good, Operation::GET_JOBS, |_| {})
        .await;
    assert!(matches!(
        refused,
        Err(TransportError::HttpStatus { status: 401, .. })
    ));

    let uuid = "urn:uuid:7d1f0f8e-0000-4000-8000-00000000abcd";
    let (r, _) = cloud
        .call(
            "/ipp/print/lobby",
            &good,
            Operation::UPDATE_OUTPUT_DEVICE_ATTRIBUTES,
            |m| {
                op(m, "output-device-uuid", Value::uri(uuid));
                m.push_group(
                    Group::new(GroupTag::PRINTER)
                        .with_set("print-color-mode-supported", [Value::keyword("monochrome")])
                        .with("print-color-mode-default", Value::keyword("monochrome"))
                        .with("printer-state", Value::Enum(4)),
                );
            },
        )
        .await
        .unwrap();
    assert!(r.status().is_success(), "{r:?}");
    let view = cloud.infra.printer_view("p9").unwrap();
    assert_eq!(view.output_device_uuid.as_deref(), Some(uuid));
    assert_eq!(
        view.capabilities.unwrap().color_modes,
        Some(vec![PrintColorMode::Grayscale])
    );
    assert_eq!(view.status.state, PrinterProcessingState::Processing);

    cloud
        .start_job("p9", 3, &Bytes::from_static(b"%PDF-1.4 proxy"))
        .await;
    let (r, _) = cloud
        .call("/ipp/print/lobby", &good, Operation::GET_JOBS, |m| {
            op(m, "which-jobs", Value::keyword("fetchable"))
        })
        .await
        .unwrap();
    assert_eq!(
        r.groups_of(GroupTag::JOB)
            .filter_map(|g| g.integer("job-id"))
            .collect::<Vec<_>>(),
        [3]
    );
}

#[tokio::test]
async fn device_values_without_a_graph_counterpart_are_kept_and_reported() {
    let cloud = Cloud::start().await;
    cloud.infra.add_printer("p1", "Office").unwrap();
    let token = cloud.infra.issue_device_token("p1").unwrap();
    let r = cloud
        .device(&token, Operation::UPDATE_OUTPUT_DEVICE_ATTRIBUTES, |m| {
            m.push_group(Group::new(GroupTag::PRINTER).with_set(
                "print-color-mode-supported",
                [Value::keyword("monochrome"), Value::keyword("highlight")],
            ));
        })
        .await;
    assert_eq!(
        r.status(),
        StatusCode::SUCCESSFUL_OK_IGNORED_OR_SUBSTITUTED_ATTRIBUTES,
        "{r:?}"
    );
    let unsupported = r
        .group(GroupTag::UNSUPPORTED)
        .expect("the unmapped attribute is named");
    assert!(
        unsupported.attr("print-color-mode-supported").is_some(),
        "{unsupported:?}"
    );
    let view = cloud.infra.printer_view("p1").unwrap();
    assert_eq!(
        view.capabilities.unwrap().color_modes,
        Some(vec![PrintColorMode::Grayscale])
    );
    let r = cloud
        .device(&token, Operation::GET_OUTPUT_DEVICE_ATTRIBUTES, |_| {})
        .await;
    let kept: Vec<&str> = r
        .group(GroupTag::PRINTER)
        .unwrap()
        .attr("print-color-mode-supported")
        .unwrap()
        .keywords()
        .collect();
    assert_eq!(
        kept,
        ["monochrome", "highlight"],
        "the device's own values are kept as sent"
    );
}
