//! The cloud's printers as IPP clients see them (PWG 5100.18's Infrastructure Printer): CUPS'
//! ipptool conformance files (ipp-1.1, ipp-2.0) against the printer URI, RFC 8011's refusals,
//! credentials checked before the body is read, and a job created over IPP being the Graph job
//! (and the reverse). The printer's output device is played by the test itself over INFRA
//! (fetch, acknowledge, take the document, report completed), as a real device would.

use printlab_ipp::http::{Credentials, post_ipp};
use printlab_ipp::{
    Attribute, AttributeLookup, DocumentReader, Group, GroupTag, Limits, Message, Operation,
    StatusCode, Value,
};
use printlab_testkit::{TestCloud, ipp};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub(super) const PDF: &[u8] = b"%PDF-1.4\n% a small document printed over IPP\n%%EOF\n";

/// What an IPP Everywhere printer behind the cloud advertises: PWG 5100.12's required printer
/// attributes, as a real output device sends them in Update-Output-Device-Attributes.
fn everywhere_printer() -> Group {
    Group::new(GroupTag::PRINTER)
        .with_set(
            "document-format-supported",
            [
                Value::mime_media_type("application/pdf"),
                Value::mime_media_type("image/jpeg"),
            ],
        )
        .with(
            "document-format-default",
            Value::mime_media_type("application/pdf"),
        )
        .with("copies-supported", ipp::copies_supported())
        .with("copies-default", Value::Integer(1))
        .with_set("finishings-supported", [Value::Enum(3)])
        .with("finishings-default", Value::Enum(3))
        .with_set(
            "media-supported",
            ["iso_a4_210x297mm", "na_letter_8.5x11in"].map(Value::keyword),
        )
        .with("media-default", Value::keyword("iso_a4_210x297mm"))
        .with_set("media-ready", [Value::keyword("iso_a4_210x297mm")])
        .with_set(
            "orientation-requested-supported",
            [3, 4, 5, 6].map(Value::Enum),
        )
        .with("orientation-requested-default", Value::Enum(3))
        .with_set("output-bin-supported", [Value::keyword("face-down")])
        .with("output-bin-default", Value::keyword("face-down"))
        .with_set("print-quality-supported", [3, 4, 5].map(Value::Enum))
        .with("print-quality-default", Value::Enum(4))
        .with_set(
            "printer-resolution-supported",
            [Value::dpi(300), Value::dpi(600)],
        )
        .with("printer-resolution-default", Value::dpi(600))
        .with_set("sides-supported", ipp::one_sided_and_long_edge())
        .with("sides-default", Value::keyword("one-sided"))
        .with("color-supported", Value::Boolean(true))
        .with_set(
            "print-color-mode-supported",
            ["monochrome", "color"].map(Value::keyword),
        )
        .with("print-color-mode-default", Value::keyword("color"))
        .with("pages-per-minute", Value::Integer(20))
        .with("pages-per-minute-color", Value::Integer(15))
        .with(
            "printer-make-and-model",
            Value::text("Example Laser 100 (IPP Everywhere)"),
        )
        .with("printer-state", Value::Enum(3))
        .with("printer-state-reasons", Value::keyword("none"))
        .with("printer-is-accepting-jobs", Value::Boolean(true))
}

/// A cloud with the printer `lobby` (provisioned for a proxy, so its URI is
/// `/ipp/print/lobby`), its device advertising [`everywhere_printer`], and the IPP user
/// credential of `ada`.
pub(super) struct Lab {
    pub(super) run: TestCloud,
    pub(super) printer: String,
    device_token: String,
    password: String,
}

impl Lab {
    pub(super) async fn start() -> Self {
        Self::start_with(TestCloud::builder()).await
    }

    pub(super) async fn start_with(cloud: printlab_testkit::TestCloudBuilder) -> Self {
        let run = cloud.start().await;
        let admin = run.admin_graph();
        let printer = admin.create_printer("Lobby").await;
        run.cloud
            .infra()
            .add_proxy_credential(&printer, "lobby", "proxy", "s3cret")
            .await
            .unwrap();
        let device_token = run.cloud.infra().issue_device_token(&printer).unwrap();
        ipp::advertise(
            &reqwest::Client::new(),
            &run.url,
            &device_token,
            everywhere_printer(),
        )
        .await;
        let issued = run
            .cloud
            .infra()
            .issue_user_credential("ada")
            .await
            .unwrap();
        assert_eq!(issued.upn, "ada@printlab.test");
        Self {
            run,
            printer,
            device_token,
            password: issued.password,
        }
    }

    fn printer_url(&self) -> String {
        format!("{}/ipp/print/lobby", self.run.url)
    }

    fn ada(&self) -> Credentials {
        Credentials::Basic {
            user: "ada".into(),
            password: self.password.clone(),
        }
    }

    /// `message` (with `document`) to the printer URI as `ada`.
    pub(super) async fn send(&self, message: &Message, document: Option<&[u8]>) -> Message {
        let document: Option<DocumentReader> =
            document.map(|d| Box::pin(std::io::Cursor::new(d.to_vec())) as DocumentReader);
        post_ipp(
            &reqwest::Client::new(),
            &self.printer_url(),
            &self.ada(),
            message,
            document,
            &Limits::default(),
        )
        .await
        .unwrap()
        .message
    }

    /// A client request to the printer: `printer-uri` set, then shaped by `build`.
    pub(super) fn request(
        &self,
        operation: Operation,
        build: impl FnOnce(&mut Message),
    ) -> Message {
        let mut message = Message::request(operation, 42);
        message.groups[0].push(Attribute::new(
            "printer-uri",
            Value::uri(self.printer_url().replace("http://", "ipp://")),
        ));
        message.groups[0].push(Attribute::new("requesting-user-name", Value::name("ada")));
        build(&mut message);
        message
    }

    /// A device (INFRA) request to the printer with its device token.
    async fn device_request(
        &self,
        operation: Operation,
        build: impl FnOnce(&mut Message),
    ) -> Message {
        ipp::request(
            &reqwest::Client::new(),
            &self.run.url,
            "/printers",
            &Credentials::Bearer(self.device_token.clone()),
            operation,
            build,
        )
        .await
        .unwrap()
        .0
    }

    /// The job's `job-state` as the client sees it.
    async fn job_state(&self, id: i32) -> Option<i32> {
        let answer = self
            .send(
                &self.request(Operation::GET_JOB_ATTRIBUTES, |m| {
                    m.groups[0].push(Attribute::new("job-id", Value::Integer(id)));
                }),
                None,
            )
            .await;
        answer.group(GroupTag::JOB)?.enum_value("job-state")
    }

    /// Create-Job; gives the job id.
    async fn create_job(&self) -> i32 {
        let answer = self
            .send(&self.request(Operation::CREATE_JOB, |_| {}), None)
            .await;
        assert_eq!(answer.status(), StatusCode::SUCCESSFUL_OK, "{answer:?}");
        answer
            .group(GroupTag::JOB)
            .and_then(|g| g.integer("job-id"))
            .unwrap()
    }

    /// The printer's device, played by the test.
    fn device(&self) -> Device {
        Device {
            url: self.run.url.clone(),
            token: self.device_token.clone(),
        }
    }
}

/// ipptool's `-t` report, counted.
#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    pass: usize,
    fail: usize,
    skip: usize,
}

fn count(report: &str) -> Counts {
    let mut counts = Counts::default();
    for line in report.lines() {
        let line = line.trim_end();
        if line.ends_with("[PASS]") {
            counts.pass += 1;
        } else if line.ends_with("[FAIL]") {
            counts.fail += 1;
        } else if line.ends_with("[SKIP]") {
            counts.skip += 1;
        }
    }
    counts
}

/// ipptool's conformance files pass against the printer URI: a client with the IPP user
/// credential prints a PDF (`-f`), and the test's device completes the jobs as they become
/// fetchable, so the files' wait for completion ends. `NOPRINT` leaves out the print tests whose
/// documents (`document-a4.pdf`, …) Debian's package does not ship.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipptool_conformance_files_pass_against_the_printer_uri() {
    let lab = Lab::start().await;
    let folder = tempfile::tempdir().unwrap();
    let pdf = folder.path().join("document.pdf");
    std::fs::write(&pdf, PDF).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let device = {
        let (device, stop) = (lab.device(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                device.complete_fetchable_jobs().await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let uri = format!(
        "ipp://ada:{}@{}/ipp/print/lobby",
        lab.password,
        lab.run.addr()
    );
    let mut failures = Vec::new();
    for file in ["ipp-1.1.test", "ipp-2.0.test"] {
        let test = Path::new("/usr/share/cups/ipptool").join(file);
        let args = [
            "-f".to_owned(),
            pdf.display().to_string(),
            "-d".to_owned(),
            "NOPRINT=1".to_owned(),
        ];
        let (passed, report) = ipp::ipptool(&uri, &test, &args).await;
        let counts = count(&report);
        println!(
            "{file}: {} pass, {} fail, {} skip",
            counts.pass, counts.fail, counts.skip
        );
        if !passed || counts.fail > 0 || counts.pass == 0 {
            failures.push(format!("{file}: {counts:?}\n{report}"));
        }
    }
    stop.store(true, Ordering::Relaxed);
    device.await.unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The printer's output device as the test plays it over INFRA.
struct Device {
    url: String,
    token: String,
}

impl Device {
    /// Fetches every fetchable job, takes its document and reports it completed; gives the ids
    /// it completed and the documents it took.
    async fn complete_fetchable_jobs(&self) -> Vec<(i32, Vec<u8>)> {
        let http = reqwest::Client::new();
        let bearer = Credentials::Bearer(self.token.clone());
        let (jobs, _) = ipp::request(
            &http,
            &self.url,
            "/printers",
            &bearer,
            Operation::GET_JOBS,
            |m| {
                m.groups[0].push(Attribute::new("which-jobs", Value::keyword("fetchable")));
            },
        )
        .await
        .unwrap();
        let mut done = Vec::new();
        for id in jobs
            .groups_of(GroupTag::JOB)
            .filter_map(|g| g.integer("job-id"))
        {
            let mut document = Vec::new();
            for step in [
                Operation::FETCH_JOB,
                Operation::ACKNOWLEDGE_JOB,
                Operation::FETCH_DOCUMENT,
                Operation::UPDATE_JOB_STATUS,
            ] {
                let (answer, data) =
                    ipp::request(&http, &self.url, "/printers", &bearer, step, |m| {
                        m.groups[0].push(Attribute::new("job-id", Value::Integer(id)));
                        if step == Operation::FETCH_DOCUMENT {
                            m.groups[0].push(Attribute::new("document-number", Value::Integer(1)));
                        }
                        if step == Operation::UPDATE_JOB_STATUS {
                            m.push_group(
                                Group::new(GroupTag::JOB)
                                    .with("output-device-job-state", Value::Enum(9))
                                    .with_set(
                                        "output-device-job-state-reasons",
                                        [Value::keyword("job-completed-successfully")],
                                    )
                                    .with("job-impressions-completed", Value::Integer(1)),
                            );
                        }
                    })
                    .await
                    .unwrap();
                assert!(answer.status().is_success(), "{step}: {answer:?}");
                if step == Operation::FETCH_DOCUMENT {
                    document = data;
                }
            }
            done.push((id, document));
        }
        done
    }
}

/// RFC 8011's envelope refusals, each with its status and no printer attributes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_are_refused_as_rfc_8011_says() {
    let lab = Lab::start().await;
    let get = |build: fn(&mut Message)| lab.request(Operation::GET_PRINTER_ATTRIBUTES, build);

    let mut zero = get(|_| {});
    zero.request_id = 0;
    let mut swapped = get(|_| {});
    swapped.groups[0].attributes.swap(0, 1);
    let mut no_language = get(|_| {});
    no_language.groups[0].attributes.remove(1);
    let mut no_uri = get(|_| {});
    no_uri.groups[0]
        .attributes
        .retain(|a| a.name != "printer-uri");
    let mut koi8 = get(|_| {});
    koi8.groups[0].attributes[0] = Attribute::new("attributes-charset", Value::charset("koi8-r"));
    for (what, request, status, said) in [
        (
            "request-id 0",
            zero,
            StatusCode::CLIENT_ERROR_BAD_REQUEST,
            "request-id 0",
        ),
        (
            "natural-language before charset",
            swapped,
            StatusCode::CLIENT_ERROR_BAD_REQUEST,
            "attributes-charset must be the first",
        ),
        (
            "no natural-language",
            no_language,
            StatusCode::CLIENT_ERROR_BAD_REQUEST,
            "attributes-natural-language must be the second",
        ),
        (
            "no printer-uri",
            no_uri,
            StatusCode::CLIENT_ERROR_BAD_REQUEST,
            "printer-uri",
        ),
        (
            "charset koi8-r",
            koi8,
            StatusCode::CLIENT_ERROR_CHARSET_NOT_SUPPORTED,
            "koi8-r",
        ),
    ] {
        let answer = lab.send(&request, None).await;
        assert_eq!(answer.status(), status, "{what}: {answer:?}");
        let message = answer.operation_attributes().string("status-message");
        assert!(
            message.is_some_and(|m| m.contains(said)),
            "{what}: {message:?}"
        );
        assert!(answer.group(GroupTag::PRINTER).is_none(), "{what}");
    }

    // The device routes check the same envelope.
    let mut no_uri = Message::request(Operation::GET_JOBS, 7);
    no_uri.groups[0].push(Attribute::new("which-jobs", Value::keyword("fetchable")));
    let answer = post_ipp(
        &reqwest::Client::new(),
        &format!("{}/printers", lab.run.url),
        &Credentials::Bearer(lab.device_token.clone()),
        &no_uri,
        None,
        &Limits::default(),
    )
    .await
    .unwrap()
    .message;
    assert_eq!(
        answer.status(),
        StatusCode::CLIENT_ERROR_BAD_REQUEST,
        "{answer:?}"
    );

    // A well-formed request is answered, with an ipp:// printer URI.
    let answer = lab.send(&get(|_| {}), None).await;
    assert_eq!(answer.status(), StatusCode::SUCCESSFUL_OK);
    let printer = answer.group(GroupTag::PRINTER).unwrap();
    assert_eq!(
        printer.string("printer-uri-supported"),
        Some(format!("ipp://{}/ipp/print/lobby", lab.run.addr()).as_str())
    );
    assert_eq!(printer.keyword("uri-security-supported"), Some("none"));
    assert_eq!(
        printer.string("printer-make-and-model"),
        Some("Example Laser 100 (IPP Everywhere)"),
        "the device's attributes are merged in"
    );
    // requested-attributes is honoured.
    let only_uri = get(|m| {
        m.groups[0].push(Attribute::new(
            "requested-attributes",
            Value::keyword("printer-uri-supported"),
        ))
    });
    let answer = lab.send(&only_uri, None).await;
    let printer = answer.group(GroupTag::PRINTER).unwrap();
    assert_eq!(
        printer
            .attributes
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>(),
        ["printer-uri-supported"]
    );
}

/// Credentials are checked from the headers, before the body: a request without valid ones is
/// HTTP 401 with a challenge even when its body is not IPP at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_checked_before_the_body_is_read() {
    let lab = Lab::start().await;
    let http = reqwest::Client::new();
    let not_ipp = b"\x00\x00this is not an IPP message".to_vec();
    for (path, authorization) in [
        ("/ipp/print/lobby", None),
        ("/ipp/print/lobby", Some("Basic YWRhOndyb25n")), // ada:wrong
        ("/printers", None),
        ("/printers", Some("Bearer forged")),
        (&format!("/printers/{}", lab.printer), None),
        ("/ipp/system", None),
    ] {
        let mut request = http
            .post(format!("{}{path}", lab.run.url))
            .header("content-type", "application/ipp")
            .body(not_ipp.clone());
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{path} {authorization:?}");
        assert!(
            response.headers().contains_key("www-authenticate"),
            "{path}: a 401 names the scheme to answer with"
        );
    }
    // With valid credentials the same body is decoded and refused in IPP.
    let response = http
        .post(lab.printer_url())
        .basic_auth("ada", Some(&lab.password))
        .header("content-type", "application/ipp")
        .body(not_ipp)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// A job printed over IPP is a Graph job: same id, owner, document and states; and a job made
/// through Graph shows over IPP with the state Graph gives it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_printed_over_ipp_is_a_graph_job_and_the_reverse() {
    let lab = Lab::start().await;
    let print = lab.request(Operation::PRINT_JOB, |m| {
        m.groups[0].push(Attribute::new("job-name", Value::name("minutes")));
        m.groups[0].push(Attribute::new(
            "document-format",
            Value::mime_media_type("application/pdf"),
        ));
        m.push_group(
            Group::new(GroupTag::JOB)
                .with("copies", Value::Integer(2))
                .with("sides", Value::keyword("two-sided-long-edge")),
        );
    });
    let answer = lab.send(&print, Some(PDF)).await;
    assert_eq!(answer.status(), StatusCode::SUCCESSFUL_OK, "{answer:?}");
    let job = answer.group(GroupTag::JOB).unwrap();
    let id = job.integer("job-id").unwrap();
    assert!(
        job.string("job-uri")
            .is_some_and(|u| u.starts_with("ipp://") && u.ends_with(&format!("/{id}"))),
        "{job:?}"
    );

    let ada = lab
        .run
        .graph(&lab.run.user("ada", &["PrintJob.ReadWrite"], false));
    let path = format!(
        "/print/printers/{}/jobs/{id}?$expand=documents",
        lab.printer
    );
    let graph_job = ada.get_ok(&path).await;
    assert_eq!(
        graph_job["createdBy"]["userPrincipalName"],
        "ada@printlab.test"
    );
    assert_eq!(graph_job["configuration"]["copies"], 2);
    assert_eq!(graph_job["configuration"]["duplexMode"], "flipOnLongEdge");
    assert_eq!(graph_job["isFetchable"], true, "{graph_job}");
    assert_eq!(graph_job["status"]["state"], "processing");
    assert_eq!(graph_job["documents"][0]["contentType"], "application/pdf");
    assert_eq!(graph_job["documents"][0]["size"], PDF.len());
    assert_eq!(graph_job["documents"][0]["displayName"], "minutes");

    // The device fetches it as any job, and gets the bytes that were sent.
    let done = lab.device().complete_fetchable_jobs().await;
    assert_eq!(done, vec![(id, PDF.to_vec())]);
    let graph_job = ada
        .get_ok(&format!("/print/printers/{}/jobs/{id}", lab.printer))
        .await;
    assert_eq!(graph_job["status"]["state"], "completed", "{graph_job}");
    let attributes = lab
        .send(
            &lab.request(Operation::GET_JOB_ATTRIBUTES, |m| {
                m.groups[0].push(Attribute::new("job-id", Value::Integer(id)));
            }),
            None,
        )
        .await;
    let job = attributes.group(GroupTag::JOB).unwrap();
    assert_eq!(job.enum_value("job-state"), Some(9), "{job:?}");
    assert_eq!(job.string("job-originating-user-name"), Some("ada"));

    // The reverse: a Graph job shows over IPP, canceled from Graph shows canceled, and its
    // owner alone may cancel it over IPP.
    let admin = lab.run.admin_graph();
    let jobs = format!("/print/printers/{}/jobs", lab.printer);
    let graph_id = admin
        .submit(&jobs, "application/pdf", PDF.to_vec(), json!({}))
        .await;
    let graph_id: i32 = graph_id.parse().unwrap();
    let listed = lab
        .send(
            &lab.request(Operation::GET_JOBS, |m| {
                m.groups[0].push(Attribute::new("which-jobs", Value::keyword("all")));
                m.groups[0].push(Attribute::set(
                    "requested-attributes",
                    ["job-id", "job-state"].map(Value::keyword),
                ));
            }),
            None,
        )
        .await;
    let states: Vec<(i32, i32)> = listed
        .groups_of(GroupTag::JOB)
        .map(|g| {
            (
                g.integer("job-id").unwrap(),
                g.enum_value("job-state").unwrap(),
            )
        })
        .collect();
    assert!(states.contains(&(graph_id, 5)), "processing: {states:?}");
    assert!(states.contains(&(id, 9)), "{states:?}");
    let cancel = lab.request(Operation::CANCEL_JOB, |m| {
        m.groups[0].push(Attribute::new("job-id", Value::Integer(graph_id)));
    });
    let refused = lab.send(&cancel, None).await;
    assert_eq!(refused.status(), StatusCode::CLIENT_ERROR_NOT_AUTHORIZED);
    let (status, _) = admin.post(&format!("{jobs}/{graph_id}/cancel"), None).await;
    assert_eq!(status, 204);
    let attributes = lab
        .send(
            &lab.request(Operation::GET_JOB_ATTRIBUTES, |m| {
                m.groups[0].push(Attribute::new("job-id", Value::Integer(graph_id)));
            }),
            None,
        )
        .await;
    assert_eq!(
        attributes
            .group(GroupTag::JOB)
            .and_then(|g| g.enum_value("job-state")),
        Some(7)
    );

    // Create-Job + Send-Document: the job waits for its document (Graph: uploadPending), then
    // becomes fetchable; Cancel-Job by its owner cancels the Graph job.
    let created = lab
        .send(&lab.request(Operation::CREATE_JOB, |_| {}), None)
        .await;
    assert_eq!(created.status(), StatusCode::SUCCESSFUL_OK, "{created:?}");
    let second = created
        .group(GroupTag::JOB)
        .and_then(|g| g.integer("job-id"))
        .unwrap();
    let waiting = ada.get_ok(&format!("{jobs}/{second}")).await;
    assert_eq!(waiting["status"]["details"], json!(["uploadPending"]));
    let send = lab.request(Operation::SEND_DOCUMENT, |m| {
        m.groups[0].push(Attribute::new("job-id", Value::Integer(second)));
        m.groups[0].push(Attribute::new("last-document", Value::Boolean(true)));
    });
    let sent = lab.send(&send, Some(PDF)).await;
    assert_eq!(sent.status(), StatusCode::SUCCESSFUL_OK, "{sent:?}");
    let fetchable = ada.get_ok(&format!("{jobs}/{second}")).await;
    assert_eq!(fetchable["isFetchable"], true);
    let cancel = lab.request(Operation::CANCEL_JOB, |m| {
        m.groups[0].push(Attribute::new("job-id", Value::Integer(second)));
    });
    assert_eq!(
        lab.send(&cancel, None).await.status(),
        StatusCode::SUCCESSFUL_OK
    );
    let canceled = ada.get_ok(&format!("{jobs}/{second}")).await;
    assert_eq!(canceled["status"]["state"], "canceled");
    assert_eq!(canceled["isFetchable"], false);
    assert_eq!(
        lab.send(&cancel, None).await.status(),
        StatusCode::CLIENT_ERROR_NOT_POSSIBLE,
        "a job that ended cannot be canceled again"
    );
}

/// ippget for clients: a job subscription hears its job's events only, and the printer
/// advertises ippget's defaults.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_subscribe_with_ippget() {
    let lab = Lab::start().await;
    let described = lab
        .send(
            &lab.request(Operation::GET_PRINTER_ATTRIBUTES, |_| {}),
            None,
        )
        .await;
    let printer = described.group(GroupTag::PRINTER).unwrap();
    assert_eq!(
        printer.keyword("notify-pull-method-supported"),
        Some("ippget")
    );
    assert_eq!(
        printer.keyword("notify-events-default"),
        Some("job-state-changed")
    );
    // A printer subscription's lease: twelve of the longest long-poll hold, an hour.
    assert_eq!(printer.integer("notify-lease-duration-default"), Some(3600));

    let created = lab
        .send(&lab.request(Operation::CREATE_JOB, |_| {}), None)
        .await;
    let job = created
        .group(GroupTag::JOB)
        .and_then(|g| g.integer("job-id"))
        .unwrap();
    // notify-pull-method left out: ippget is the one method, and the default.
    let subscribe = lab.request(Operation::CREATE_JOB_SUBSCRIPTIONS, |m| {
        m.groups[0].push(Attribute::new("notify-job-id", Value::Integer(job)));
        m.push_group(
            Group::new(GroupTag::SUBSCRIPTION)
                .with_set("notify-events", [Value::keyword("job-state-changed")]),
        );
    });
    let subscribed = lab.send(&subscribe, None).await;
    assert_eq!(
        subscribed.status(),
        StatusCode::SUCCESSFUL_OK,
        "{subscribed:?}"
    );
    let subscription = subscribed
        .group(GroupTag::SUBSCRIPTION)
        .and_then(|g| g.integer("notify-subscription-id"))
        .unwrap();
    // Another job's cancel is not this subscription's business; its own job's is.
    let other = lab
        .send(&lab.request(Operation::CREATE_JOB, |_| {}), None)
        .await
        .group(GroupTag::JOB)
        .and_then(|g| g.integer("job-id"))
        .unwrap();
    for id in [other, job] {
        let cancel = lab.request(Operation::CANCEL_JOB, |m| {
            m.groups[0].push(Attribute::new("job-id", Value::Integer(id)));
        });
        assert_eq!(
            lab.send(&cancel, None).await.status(),
            StatusCode::SUCCESSFUL_OK
        );
    }
    let notifications = lab
        .send(
            &lab.request(Operation::GET_NOTIFICATIONS, |m| {
                m.groups[0].push(Attribute::new(
                    "notify-subscription-ids",
                    Value::Integer(subscription),
                ));
            }),
            None,
        )
        .await;
    let events: Vec<(Option<i32>, Option<i32>)> = notifications
        .groups_of(GroupTag::EVENT_NOTIFICATION)
        .map(|g| (g.integer("notify-job-id"), g.enum_value("job-state")))
        .collect();
    assert_eq!(events, vec![(Some(job), Some(7))]);

    // The device cannot read or cancel a client's subscription.
    let (answer, _) = ipp::request(
        &reqwest::Client::new(),
        &lab.run.url,
        "/printers",
        &Credentials::Bearer(lab.device_token.clone()),
        Operation::CANCEL_SUBSCRIPTION,
        |m| {
            m.groups[0].push(Attribute::new(
                "notify-subscription-id",
                Value::Integer(subscription),
            ))
        },
    )
    .await
    .unwrap();
    assert_eq!(answer.status(), StatusCode::CLIENT_ERROR_NOT_AUTHORIZED);
}

/// A user's bearer token works as well as the IPP user credential; a token without a
/// job-creating scope does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_tokens_print_too() {
    let lab = Lab::start().await;
    let http = reqwest::Client::new();
    let token = lab.run.user("bob", &["PrintJob.Create"], false);
    let answer = post_ipp(
        &http,
        &lab.printer_url(),
        &Credentials::Bearer(token),
        &lab.request(Operation::PRINT_JOB, |_| {}),
        Some(Box::pin(std::io::Cursor::new(PDF.to_vec()))),
        &Limits::default(),
    )
    .await
    .unwrap();
    assert_eq!(answer.message.status(), StatusCode::SUCCESSFUL_OK);
    let reader = lab.run.user("carol", &["PrintJob.Read"], false);
    let refused = http
        .post(lab.printer_url())
        .bearer_auth(reader)
        .header("content-type", "application/ipp")
        .body(lab.request(Operation::GET_JOBS, |_| {}).to_bytes().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
}

/// Over TLS the printer URI is `ipps://` and says `tls`; a printer no proxy serves under a name
/// is reached at `/printers/{id}`, by clients too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cloud_serving_tls_names_ipps_printer_uris() {
    let run = TestCloud::builder().tls().start().await;
    let printer = run.admin_graph().create_printer("Secure").await;
    let issued = run
        .cloud
        .infra()
        .issue_user_credential("ada")
        .await
        .unwrap();
    let url = format!("{}/printers/{printer}", run.url);
    assert!(url.starts_with("https://"), "{url}");
    let mut request = Message::request(Operation::GET_PRINTER_ATTRIBUTES, 9);
    request.groups[0].push(Attribute::new(
        "printer-uri",
        Value::uri(url.replace("https://", "ipps://")),
    ));
    let credentials = Credentials::Basic {
        user: issued.username,
        password: issued.password,
    };
    let answer = post_ipp(
        &run.http(),
        &url,
        &credentials,
        &request,
        None,
        &Limits::default(),
    )
    .await
    .unwrap()
    .message;
    let described = answer.group(GroupTag::PRINTER).unwrap();
    assert_eq!(
        described.string("printer-uri-supported"),
        Some(format!("ipps://{}/printers/{printer}", run.addr()).as_str())
    );
    assert_eq!(described.keyword("uri-security-supported"), Some("tls"));
    assert_eq!(
        described.keyword("uri-authentication-supported"),
        Some("basic")
    );
}

/// Close-Job and `multiple-operation-time-out`: a job made by Create-Job that never gets its
/// document is aborted, at once when it is closed and by the time-out otherwise; a job that
/// has its document is closed already and goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_without_a_document_end_by_close_job_or_the_time_out() {
    let lab =
        Lab::start_with(TestCloud::builder().multiple_operation_time_out(Duration::from_secs(2)))
            .await;
    let described = lab
        .send(
            &lab.request(Operation::GET_PRINTER_ATTRIBUTES, |_| {}),
            None,
        )
        .await;
    let printer = described.group(GroupTag::PRINTER).unwrap();
    assert_eq!(printer.integer("multiple-operation-time-out"), Some(2));
    assert_eq!(
        printer.keyword("multiple-operation-time-out-action"),
        Some("abort-job")
    );
    let operations: Vec<i32> = printer
        .attr("operations-supported")
        .unwrap()
        .values
        .iter()
        .filter_map(Value::as_enum)
        .collect();
    for operation in [Operation::CLOSE_JOB, Operation::IDENTIFY_PRINTER] {
        assert!(operations.contains(&i32::from(operation.0)), "{operation}");
    }

    let close = |id: i32| {
        lab.request(Operation::CLOSE_JOB, |m| {
            m.groups[0].push(Attribute::new("job-id", Value::Integer(id)));
        })
    };
    let closed_empty = lab.create_job().await;
    let timed = lab.create_job().await;
    let printed = lab.create_job().await;
    let send = lab.request(Operation::SEND_DOCUMENT, |m| {
        m.groups[0].push(Attribute::new("job-id", Value::Integer(printed)));
        m.groups[0].push(Attribute::new("last-document", Value::Boolean(true)));
        m.groups[0].push(Attribute::new(
            "document-format",
            Value::mime_media_type("application/pdf"),
        ));
    });
    assert_eq!(
        lab.send(&send, Some(PDF)).await.status(),
        StatusCode::SUCCESSFUL_OK
    );

    let answer = lab.send(&close(closed_empty), None).await;
    assert_eq!(answer.status(), StatusCode::SUCCESSFUL_OK, "{answer:?}");
    assert_eq!(
        answer
            .group(GroupTag::JOB)
            .and_then(|g| g.enum_value("job-state")),
        Some(8)
    );
    let again = lab.send(&close(closed_empty), None).await;
    assert_eq!(again.status(), StatusCode::CLIENT_ERROR_NOT_POSSIBLE);
    let answer = lab.send(&close(printed), None).await;
    assert_eq!(answer.status(), StatusCode::SUCCESSFUL_OK, "{answer:?}");
    assert_eq!(lab.job_state(printed).await, Some(5));
    let graph = lab.run.admin_graph();
    let job = graph
        .get_ok(&format!(
            "/print/printers/{}/jobs/{closed_empty}",
            lab.printer
        ))
        .await;
    assert_eq!(job["status"]["state"], "aborted", "{job}");

    // Still waiting before the time-out, aborted after it; the document is then refused.
    assert_eq!(lab.job_state(timed).await, Some(4));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while lab.job_state(timed).await != Some(8) {
        assert!(tokio::time::Instant::now() < deadline, "never timed out");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let late = lab.request(Operation::SEND_DOCUMENT, |m| {
        m.groups[0].push(Attribute::new("job-id", Value::Integer(timed)));
        m.groups[0].push(Attribute::new("last-document", Value::Boolean(true)));
    });
    assert_eq!(
        lab.send(&late, Some(PDF)).await.status(),
        StatusCode::CLIENT_ERROR_NOT_POSSIBLE
    );
    // The job that had its document is not touched by the time-out.
    assert_eq!(lab.job_state(printed).await, Some(5));
    let job = graph
        .get_ok(&format!("/print/printers/{}/jobs/{timed}", lab.printer))
        .await;
    assert_eq!(job["status"]["state"], "aborted", "{job}");
}

/// Identify-Printer reaches the output device as PWG 5100.18 relays it: the printer's state
/// reasons gain `identify-printer-requested` with a `printer-state-changed` event, and
/// Acknowledge-Identify-Printer hands the device the actions and message and clears it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identify_printer_reaches_the_output_device() {
    let lab = Lab::start().await;
    let subscribed = lab
        .device_request(Operation::CREATE_PRINTER_SUBSCRIPTIONS, |m| {
            m.push_group(
                Group::new(GroupTag::SUBSCRIPTION)
                    .with("notify-pull-method", Value::keyword("ippget"))
                    .with_set("notify-events", [Value::keyword("printer-state-changed")]),
            );
        })
        .await;
    let subscription = subscribed
        .group(GroupTag::SUBSCRIPTION)
        .and_then(|g| g.integer("notify-subscription-id"))
        .expect("printer-state-changed is an event devices can subscribe to");
    let reasons = |answer: &Message| -> Vec<String> {
        answer
            .group(GroupTag::PRINTER)
            .and_then(|g| g.attr("printer-state-reasons"))
            .map(|a| a.keywords().map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let device_view = || {
        lab.device_request(Operation::GET_PRINTER_ATTRIBUTES, |m| {
            m.groups[0].push(Attribute::set(
                "requested-attributes",
                [Value::keyword("printer-state-reasons")],
            ));
        })
    };
    assert_eq!(reasons(&device_view().await), ["none"]);
    let nothing = lab
        .device_request(Operation::ACKNOWLEDGE_IDENTIFY_PRINTER, |_| {})
        .await;
    assert_eq!(nothing.status(), StatusCode::CLIENT_ERROR_NOT_POSSIBLE);

    // An action the printer does not offer is refused; one it offers is kept for the device.
    let unsupported = lab.request(Operation::IDENTIFY_PRINTER, |m| {
        m.groups[0].push(Attribute::set(
            "identify-actions",
            [Value::keyword("sound")],
        ));
    });
    let answer = lab.send(&unsupported, None).await;
    assert_eq!(
        answer.status(),
        StatusCode::CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED
    );
    let identify = lab.request(Operation::IDENTIFY_PRINTER, |m| {
        m.groups[0].push(Attribute::set(
            "identify-actions",
            [Value::keyword("display")],
        ));
        m.groups[0].push(Attribute::new("message", Value::text("by the window")));
    });
    let answer = lab.send(&identify, None).await;
    assert_eq!(answer.status(), StatusCode::SUCCESSFUL_OK, "{answer:?}");

    let notifications = lab
        .device_request(Operation::GET_NOTIFICATIONS, |m| {
            m.groups[0].push(Attribute::new(
                "notify-subscription-ids",
                Value::Integer(subscription),
            ));
        })
        .await;
    let events: Vec<String> = notifications
        .groups_of(GroupTag::EVENT_NOTIFICATION)
        .filter_map(|g| g.keyword("notify-subscribed-event").map(str::to_owned))
        .collect();
    assert_eq!(events, ["printer-state-changed"], "{notifications:?}");
    // The event carries the printer's state (RFC 3995 §9.1), so the device need not ask.
    let event = notifications
        .group(GroupTag::EVENT_NOTIFICATION)
        .expect("one event");
    let event_reasons: Vec<&str> = event
        .attr("printer-state-reasons")
        .map(|a| a.keywords().collect())
        .unwrap_or_default();
    assert_eq!(event_reasons, ["identify-printer-requested"], "{event:?}");
    assert_eq!(event.enum_value("printer-state"), Some(3), "{event:?}");
    assert_eq!(event.boolean("printer-is-accepting-jobs"), Some(true));
    assert_eq!(
        reasons(&device_view().await),
        ["identify-printer-requested"]
    );

    let taken = lab
        .device_request(Operation::ACKNOWLEDGE_IDENTIFY_PRINTER, |_| {})
        .await;
    assert_eq!(taken.status(), StatusCode::SUCCESSFUL_OK, "{taken:?}");
    let operation = taken.operation_attributes();
    assert_eq!(operation.keyword("identify-actions"), Some("display"));
    assert_eq!(operation.string("message"), Some("by the window"));
    assert_eq!(reasons(&device_view().await), ["none"]);
    let again = lab
        .device_request(Operation::ACKNOWLEDGE_IDENTIFY_PRINTER, |_| {})
        .await;
    assert_eq!(again.status(), StatusCode::CLIENT_ERROR_NOT_POSSIBLE);
}
