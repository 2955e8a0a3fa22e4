//! The cloud's INFRA service over real HTTP on loopback, driven by our own IPP client
//! (`ipp::http::post_ipp`) against the real `Cloud`: printers are created and jobs created,
//! uploaded and started through Graph, and what devices report is read back through Graph.

use bytes::Bytes;
use printlab_cloud::Cloud;
use printlab_cloud::infra::LongPoll;
use printlab_graph::{
    IntegerRange, PrintColorMode, PrintDuplexMode, PrinterCapabilities, PrinterDefaults,
};
use printlab_ipp::http::{Credentials, TransportError, post_ipp};
use printlab_ipp::{
    Attribute, AttributeLookup, Group, GroupTag, Limits, Message, Operation, StatusCode, Value,
};
use printlab_mapping::printer_attributes_from_graph;
use printlab_testkit::{Graph, TestCloud, ipp};
use serde_json::{Value as Json, json};
use std::time::{Duration, Instant};

/// The real cloud on an ephemeral loopback port, with the Graph calls (as its administrator)
/// and the INFRA calls (as a device or a proxy) these tests make.
struct Service {
    _run: TestCloud,
    cloud: Cloud,
    /// `http://127.0.0.1:port`.
    base: String,
    admin: Graph,
}

impl Service {
    async fn start() -> Self {
        Self::start_with(LongPoll::always(Duration::from_secs(2))).await
    }

    async fn start_with(long_poll: LongPoll) -> Self {
        let run = TestCloud::builder().long_polls(long_poll).start().await;
        Self {
            cloud: run.cloud.clone(),
            base: run.url.clone(),
            admin: run.admin_graph(),
            _run: run,
        }
    }

    /// One Graph call as the administrator; panics on anything but success.
    async fn graph(&self, method: reqwest::Method, path: &str, body: Option<Json>) -> Json {
        self.admin.ok(method, path, body).await
    }

    /// A printer created through Graph `printers/create`; returns its id.
    async fn add_printer(&self, name: &str) -> String {
        self.admin.create_printer(name).await
    }

    /// A printer whose device (bearer token) has advertised PDF and A4; returns id and token.
    async fn add_device_printer(&self, name: &str) -> (String, String) {
        let id = self.add_printer(name).await;
        let token = self.cloud.infra().issue_device_token(&id).unwrap();
        let (caps, defaults) = capabilities();
        let printer = Group {
            tag: GroupTag::PRINTER,
            attributes: printer_attributes_from_graph(&caps, &defaults).value,
        };
        ipp::advertise(&self.admin.http, &self.base, &token, printer).await;
        (id, token)
    }

    /// Graph: create a job, upload its document through the upload session, start it.
    /// Returns the job id (the IPP job-id).
    async fn start_job(&self, printer_id: &str, data: &Bytes) -> i32 {
        let configuration = json!({
            "copies": 2, "duplexMode": "flipOnLongEdge",
            "colorMode": "grayscale", "mediaSize": "A4"
        });
        let jobs = format!("/print/printers/{printer_id}/jobs");
        let id = self
            .admin
            .submit(&jobs, "application/pdf", data.to_vec(), configuration)
            .await;
        id.parse().unwrap()
    }

    async fn cancel_job(&self, printer_id: &str, job_id: i32) {
        self.graph(
            reqwest::Method::POST,
            &format!("/print/printers/{printer_id}/jobs/{job_id}/cancel"),
            None,
        )
        .await;
    }

    /// Graph `GET job`.
    async fn job(&self, printer_id: &str, job_id: i32) -> Json {
        self.graph(
            reqwest::Method::GET,
            &format!("/print/printers/{printer_id}/jobs/{job_id}"),
            None,
        )
        .await
    }

    /// Graph `GET printer` with capabilities and defaults.
    async fn printer(&self, printer_id: &str) -> Json {
        self.graph(
            reqwest::Method::GET,
            &format!(
                "/print/printers/{printer_id}?$select=id,displayName,capabilities,defaults,status,isAcceptingJobs,lastSeenDateTime,hasPhysicalDevice"
            ),
            None,
        )
        .await
    }

    async fn call(
        &self,
        path: &str,
        credentials: &Credentials,
        operation: Operation,
        build: impl FnOnce(&mut Message),
    ) -> Result<(Message, Vec<u8>), TransportError> {
        ipp::request(
            &self.admin.http,
            &self.base,
            path,
            credentials,
            operation,
            build,
        )
        .await
    }

    /// The `job-id` of each job group a device's Get-Jobs with `which-jobs` `which` answers.
    async fn jobs(&self, token: &str, which: &str) -> Vec<Option<i32>> {
        let r = self
            .device(token, Operation::GET_JOBS, |m| {
                op(m, "which-jobs", Value::keyword(which))
            })
            .await;
        r.groups_of(GroupTag::JOB)
            .map(|g| g.integer("job-id"))
            .collect()
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
            copies_per_job: Some(IntegerRange { start: 1, end: 99 }),
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

/// Fills a Get-Notifications request for the subscription `sub`: from the sequence number `seq`
/// when given, held open until there is something to say when `wait`.
fn notification_request(m: &mut Message, sub: i32, seq: Option<i32>, wait: bool) {
    m.groups[0].push(Attribute::set(
        "notify-subscription-ids",
        [Value::Integer(sub)],
    ));
    if let Some(seq) = seq {
        m.groups[0].push(Attribute::set(
            "notify-sequence-numbers",
            [Value::Integer(seq)],
        ));
    }
    if wait {
        op(m, "notify-wait", Value::Boolean(true));
    }
}

#[tokio::test]
async fn a_device_fetches_and_prints_a_job_end_to_end() {
    let cloud = Service::start().await;
    let p1 = cloud.add_printer("Office").await;
    let token = cloud.cloud.infra().issue_device_token(&p1).unwrap();

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
    // Graph shows what the device advertised at once.
    let view = cloud.printer(&p1).await;
    assert_eq!(
        view["capabilities"]["colorModes"],
        json!(["grayscale", "color"])
    );
    assert_eq!(
        view["capabilities"]["mediaSizes"],
        json!(["A4", "North America Letter"])
    );
    assert_eq!(view["defaults"]["duplexMode"], "oneSided");
    assert_eq!(view["status"]["state"], "idle");
    assert_eq!(view["hasPhysicalDevice"], true);
    assert!(view["lastSeenDateTime"].is_string(), "{view}");

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
            notification_request(&mut request, sub, Some(1), true);
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
    let job = cloud.start_job(&p1, &data).await;
    let (notifications, waited) = poll.await.unwrap();
    assert!(
        waited < Duration::from_secs(2),
        "the long poll returned on the event, not the timeout"
    );
    assert_eq!(
        events_of(&notifications),
        [("job-fetchable".to_owned(), Some(job), 1)]
    );

    assert_eq!(cloud.jobs(&token, "fetchable").await, [Some(job)]);

    let r = cloud
        .device(&token, Operation::FETCH_JOB, |m| {
            op(m, "job-id", Value::Integer(job))
        })
        .await;
    assert_eq!(r.status(), StatusCode::SUCCESSFUL_OK, "{r:?}");
    let fetched = r.group(GroupTag::JOB).unwrap();
    assert_eq!(fetched.integer("copies"), Some(2));
    assert_eq!(fetched.keyword("sides"), Some("two-sided-long-edge"));
    assert_eq!(fetched.keyword("print-color-mode"), Some("monochrome"));
    assert_eq!(fetched.string("document-format"), Some("application/pdf"));

    let r = cloud
        .device(&token, Operation::ACKNOWLEDGE_JOB, |m| {
            op(m, "job-id", Value::Integer(job))
        })
        .await;
    assert_eq!(r.status(), StatusCode::SUCCESSFUL_OK);
    let acquired = cloud.job(&p1, job).await;
    assert_eq!(
        acquired["status"]["isAcquiredByPrinter"], true,
        "{acquired}"
    );
    assert!(acquired["acknowledgedDateTime"].is_string(), "{acquired}");
    let fetchable = cloud.jobs(&token, "fetchable").await;
    assert!(
        fetchable.is_empty(),
        "an acknowledged job is no longer fetchable: {fetchable:?}"
    );

    let (r, document) = cloud
        .call(
            "/printers",
            &Credentials::Bearer(token.clone()),
            Operation::FETCH_DOCUMENT,
            |m| {
                op(m, "job-id", Value::Integer(job));
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
            op(m, "job-id", Value::Integer(job));
            op(m, "document-number", Value::Integer(1));
        })
        .await;
    assert_eq!(r.status(), StatusCode::SUCCESSFUL_OK);

    let r = cloud
        .device(&token, Operation::UPDATE_JOB_STATUS, |m| {
            op(m, "job-id", Value::Integer(job));
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
    assert_eq!(
        cloud.job(&p1, job).await["status"]["state"],
        "processing",
        "device updates show at once"
    );

    let r = cloud
        .device(&token, Operation::UPDATE_DOCUMENT_STATUS, |m| {
            op(m, "job-id", Value::Integer(job));
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
                [Value::Integer(job), Value::Integer(404)],
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
    let done = cloud.job(&p1, job).await;
    assert_eq!(done["status"]["state"], "completed", "{done}");
    assert_eq!(done["status"]["isAcquiredByPrinter"], true);

    // Graph already showed the started job as processing, so the one state change queued is
    // completed (seq 2).
    let r = cloud
        .device(&token, Operation::GET_NOTIFICATIONS, |m| {
            notification_request(m, sub, Some(2), false)
        })
        .await;
    let kinds: Vec<(String, Option<i32>, i32)> = events_of(&r);
    assert_eq!(kinds, [("job-state-changed".to_owned(), Some(job), 2)]);

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
    assert_eq!(cloud.printer(&p1).await["status"]["state"], "stopped");
}

#[tokio::test]
async fn cancel_and_early_jobs_reach_the_device() {
    let cloud = Service::start().await;
    let (p1, token) = cloud.add_device_printer("Office").await;
    let data = Bytes::from_static(b"%PDF-1.4 tiny");
    // Started before the device subscribed: Get-Jobs primes it.
    let job = cloud.start_job(&p1, &data).await;
    let sub = subscription_id(
        &cloud
            .device(&token, Operation::CREATE_PRINTER_SUBSCRIPTIONS, subscribe)
            .await,
    );
    assert_eq!(cloud.jobs(&token, "fetchable").await, [Some(job)]);

    cloud.cancel_job(&p1, job).await;
    let r = cloud
        .device(&token, Operation::GET_NOTIFICATIONS, |m| {
            notification_request(m, sub, None, true)
        })
        .await;
    let events = events_of(&r);
    assert_eq!(events, [("job-state-changed".to_owned(), Some(job), 1)]);
    assert_eq!(
        r.group(GroupTag::EVENT_NOTIFICATION)
            .unwrap()
            .enum_value("job-state"),
        Some(7)
    );
    let r = cloud
        .device(&token, Operation::FETCH_JOB, |m| {
            op(m, "job-id", Value::Integer(job))
        })
        .await;
    assert_eq!(r.status(), StatusCode::CLIENT_ERROR_NOT_FETCHABLE);

    // A long poll with nothing to say ends at the service's limit with no events.
    let started = Instant::now();
    let r = cloud
        .device(&token, Operation::GET_NOTIFICATIONS, |m| {
            notification_request(m, sub, Some(2), true)
        })
        .await;
    assert!(started.elapsed() >= Duration::from_millis(1900));
    assert_eq!(r.status(), StatusCode::SUCCESSFUL_OK);
    assert!(events_of(&r).is_empty());
}

#[tokio::test]
async fn devices_are_refused_what_is_not_theirs() {
    let cloud = Service::start().await;
    let (p1, token1) = cloud.add_device_printer("One").await;
    let (_p2, token2) = cloud.add_device_printer("Two").await;
    let job = cloud
        .start_job(&p1, &Bytes::from_static(b"%PDF-1.4 x"))
        .await;

    // No token, a forged one, and one expired longer ago than the verifier's clock-skew leeway.
    let expired = cloud
        .cloud
        .token_key()
        .mint_device(&p1, chrono::Duration::minutes(-5))
        .unwrap();
    for credentials in [
        Credentials::None,
        Credentials::Bearer("forged".into()),
        Credentials::Bearer(expired),
    ] {
        let refused = cloud
            .call("/printers", &credentials, Operation::GET_JOBS, |_| {})
            .await;
        assert!(
            matches!(refused, Err(TransportError::HttpStatus { status: 401, .. })),
            "{credentials:?}: {:?}",
            refused.err()
        );
    }

    let (r, _) = cloud
        .call(
            &format!("/printers/{p1}"),
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
            .device(&token2, operation, |m| op(m, "job-id", Value::Integer(job)))
            .await;
        assert_eq!(
            r.status(),
            StatusCode::CLIENT_ERROR_NOT_AUTHORIZED,
            "{operation}"
        );
    }
    let seen = cloud.jobs(&token2, "all").await;
    assert!(seen.is_empty(), "p2 sees none of p1's jobs: {seen:?}");
    let sub1 = subscription_id(
        &cloud
            .device(&token1, Operation::CREATE_PRINTER_SUBSCRIPTIONS, subscribe)
            .await,
    );
    let r = cloud
        .device(&token2, Operation::GET_NOTIFICATIONS, |m| {
            notification_request(m, sub1, None, false)
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
            op(m, "job-id", Value::Integer(job));
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
    let cloud = Service::start().await;
    let p9 = cloud.add_printer("Proxy printer").await;
    cloud
        .cloud
        .infra()
        .add_proxy_credential(&p9, "lobby", "proxy", "s3cret")
        .await
        .unwrap();
    let good = Credentials::Basic {
        user: "proxy".into(),
        password: "s3cret".into(),
    };
    let bad = Credentials::Basic {
        user: "proxy".into(),
        password: "guess".into(),
    };

    // A wrong password, and the right one on another printer's URL.
    for (path, credentials) in [("/ipp/print/lobby", &bad), ("/ipp/print/other", &good)] {
        let refused = cloud
            .call(path, credentials, Operation::GET_JOBS, |_| {})
            .await;
        let unauthorized = matches!(refused, Err(TransportError::HttpStatus { status: 401, .. }));
        assert!(unauthorized, "{path}: {:?}", refused.err());
    }

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
                        .with_set(
                            "document-format-supported",
                            [Value::mime_media_type("application/pdf")],
                        )
                        .with_set("print-color-mode-supported", [Value::keyword("monochrome")])
                        .with("print-color-mode-default", Value::keyword("monochrome"))
                        // What the jobs below ask for: Graph refuses a configuration the
                        // printer does not declare.
                        .with("copies-supported", ipp::copies_supported())
                        .with_set("sides-supported", ipp::one_sided_and_long_edge())
                        .with_set("media-supported", [Value::keyword("iso_a4_210x297mm")])
                        .with("printer-state", Value::Enum(4)),
                );
            },
        )
        .await
        .unwrap();
    assert!(r.status().is_success(), "{r:?}");
    let view = cloud.printer(&p9).await;
    assert_eq!(view["capabilities"]["colorModes"], json!(["grayscale"]));
    assert_eq!(view["status"]["state"], "processing");

    let job = cloud
        .start_job(&p9, &Bytes::from_static(b"%PDF-1.4 proxy"))
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
        [job]
    );
}

#[tokio::test]
async fn device_values_without_a_graph_counterpart_are_kept_and_reported() {
    let cloud = Service::start().await;
    let p1 = cloud.add_printer("Office").await;
    let token = cloud.cloud.infra().issue_device_token(&p1).unwrap();
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
    let view = cloud.printer(&p1).await;
    assert_eq!(view["capabilities"]["colorModes"], json!(["grayscale"]));
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

/// Over HTTP/2 a held Get-Notifications is one stream of a connection the whole fleet shares, so
/// the service holds it longer than over HTTP/1.1, where it holds a connection of its own; an
/// event still answers either at once.
#[tokio::test]
async fn a_long_poll_is_held_for_the_hold_of_its_http() {
    let cloud = Service::start_with(LongPoll {
        http1: Duration::from_secs(1),
        http2: Duration::from_secs(4),
    })
    .await;
    let (p1, token) = cloud.add_device_printer("Held").await;
    let r = cloud
        .device(&token, Operation::CREATE_PRINTER_SUBSCRIPTIONS, subscribe)
        .await;
    let sub = subscription_id(&r);
    let http1 = reqwest::Client::builder().http1_only().build().unwrap();
    let http2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let poll = |http: reqwest::Client, seq: i32| {
        let (base, token) = (cloud.base.clone(), token.clone());
        async move {
            let started = Instant::now();
            let (answer, _) = ipp::request(
                &http,
                &base,
                "/printers",
                &Credentials::Bearer(token),
                Operation::GET_NOTIFICATIONS,
                |m| notification_request(m, sub, Some(seq), true),
            )
            .await
            .unwrap();
            assert_eq!(answer.status(), StatusCode::SUCCESSFUL_OK);
            (started.elapsed(), events_of(&answer))
        }
    };
    let (held, events) = poll(http1.clone(), 1).await;
    assert!(events.is_empty());
    assert!(
        (Duration::from_millis(900)..Duration::from_millis(3500)).contains(&held),
        "held {held:?} over HTTP/1.1"
    );
    let (held, events) = poll(http2.clone(), 1).await;
    assert!(events.is_empty());
    assert!(
        held >= Duration::from_millis(3900),
        "held only {held:?} over HTTP/2"
    );
    // An event ends the longer hold as it ends the shorter one.
    let waiting = tokio::spawn(poll(http2, 1));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let job = cloud
        .start_job(&p1, &Bytes::from_static(b"%PDF-1.4 x"))
        .await;
    let (held, events) = waiting.await.unwrap();
    assert_eq!(events, [("job-fetchable".to_owned(), Some(job), 1)]);
    assert!(held < Duration::from_millis(3500), "held {held:?}");
}

/// A printer subscription has a lease of twelve long-poll holds: each Get-Notifications renews
/// it, as Renew-Subscription does, so a polling device keeps its subscription, while one nobody
/// polls any more (its device restarted and subscribed again) ends and is forgotten.
#[tokio::test]
async fn a_subscription_nobody_polls_expires_after_its_lease() {
    let cloud = Service::start_with(LongPoll::always(Duration::from_millis(250))).await;
    let (_, token) = cloud.add_device_printer("Leased").await;
    let subscribed = cloud
        .device(&token, Operation::CREATE_PRINTER_SUBSCRIPTIONS, subscribe)
        .await;
    let lease = |m: &Message| {
        m.group(GroupTag::SUBSCRIPTION)
            .and_then(|g| g.integer("notify-lease-duration"))
    };
    assert_eq!(lease(&subscribed), Some(3));
    let abandoned = subscription_id(&subscribed);
    let polled = subscription_id(
        &cloud
            .device(&token, Operation::CREATE_PRINTER_SUBSCRIPTIONS, subscribe)
            .await,
    );
    let poll = |sub: i32| {
        cloud.device(&token, Operation::GET_NOTIFICATIONS, move |m| {
            notification_request(m, sub, Some(1), false)
        })
    };
    // Four seconds, a poll every half second: past the abandoned one's 3 s lease.
    for _ in 0..8 {
        assert_eq!(poll(polled).await.status(), StatusCode::SUCCESSFUL_OK);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let expired = poll(abandoned).await;
    assert_eq!(expired.status(), StatusCode::CLIENT_ERROR_NOT_FOUND);
    let message = expired
        .operation_attributes()
        .string("status-message")
        .unwrap_or_default();
    assert!(message.contains("expired"), "{message}");
    assert_eq!(poll(polled).await.status(), StatusCode::SUCCESSFUL_OK);

    // Renew-Subscription grants what is asked up to the service's lease; an expired or unknown
    // subscription cannot be renewed.
    let renew = |sub: i32, seconds: i32| {
        cloud.device(&token, Operation::RENEW_SUBSCRIPTION, move |m| {
            op(m, "notify-subscription-id", Value::Integer(sub));
            op(m, "notify-lease-duration", Value::Integer(seconds));
        })
    };
    let renewed = renew(polled, 2).await;
    assert_eq!(renewed.status(), StatusCode::SUCCESSFUL_OK);
    assert_eq!(lease(&renewed), Some(2));
    assert_eq!(lease(&renew(polled, 3600).await), Some(3));
    assert_eq!(
        renew(abandoned, 3).await.status(),
        StatusCode::CLIENT_ERROR_NOT_FOUND
    );
}
