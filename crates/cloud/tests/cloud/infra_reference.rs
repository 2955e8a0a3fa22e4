//! The INFRA service against what PWG's reference peers do: `isAcceptingJobs` for a proxy that
//! never reports `printer-is-accepting-jobs` (ippsample's ippproxy), and the strict reference
//! mode (`CloudOptions::infra_strict_reference`) refusing what ippsample's ippserver refuses.

use printlab_graph::{IntegerRange, PrinterCapabilities, PrinterDefaults};
use printlab_ipp::http::Credentials;
use printlab_ipp::{
    Attribute, AttributeLookup, Group, GroupTag, Message, Operation, StatusCode, Value,
};
use printlab_mapping::printer_attributes_from_graph;
use printlab_testkit::{TestCloud, ipp};
use serde_json::{Value as Json, json};
use std::time::Duration;

/// A Graph printer and a device token for it.
async fn device_printer(cloud: &TestCloud) -> (String, String) {
    let id = cloud.admin_graph().create_printer("Reference").await;
    let token = cloud.cloud.infra().issue_device_token(&id).unwrap();
    (id, token)
}

/// One INFRA request as the device holding `token`.
async fn device(
    cloud: &TestCloud,
    token: &str,
    operation: Operation,
    build: impl FnOnce(&mut Message),
) -> Message {
    let credentials = Credentials::Bearer(token.into());
    ipp::request(
        &cloud.http(),
        &cloud.url,
        "/printers",
        &credentials,
        operation,
        build,
    )
    .await
    .unwrap()
    .0
}

/// Update-Output-Device-Attributes with `attributes`, as ippproxy sends them: no
/// `printer-is-accepting-jobs` unless the test adds it.
async fn report(cloud: &TestCloud, token: &str, attributes: Vec<Attribute>) {
    let answer = device(
        cloud,
        token,
        Operation::UPDATE_OUTPUT_DEVICE_ATTRIBUTES,
        |m| {
            m.push_group(Group {
                tag: GroupTag::PRINTER,
                attributes,
            });
        },
    )
    .await;
    assert!(answer.status().is_success(), "{answer:?}");
}

fn state(value: i32, reasons: &[&str]) -> Vec<Attribute> {
    vec![
        Attribute::new("printer-state", Value::Enum(value)),
        Attribute::set(
            "printer-state-reasons",
            reasons.iter().map(|r| Value::keyword(*r)),
        ),
    ]
}

async fn accepting(cloud: &TestCloud, printer: &str) -> Json {
    let view = cloud
        .admin_graph()
        .get_ok(&format!(
            "/print/printers/{printer}?$select=isAcceptingJobs"
        ))
        .await;
    view["isAcceptingJobs"].clone()
}

#[tokio::test]
async fn is_accepting_jobs_is_inferred_for_a_proxy_that_never_reports_it() {
    let cloud = TestCloud::start().await;
    let (printer, token) = device_printer(&cloud).await;
    assert_eq!(
        accepting(&cloud, &printer).await,
        Json::Null,
        "no device yet"
    );

    let (caps, defaults) = pdf_a4();
    let mut attributes = printer_attributes_from_graph(&caps, &defaults).value;
    attributes.extend(state(3, &["none"]));
    report(&cloud, &token, attributes).await;
    assert_eq!(accepting(&cloud, &printer).await, json!(true), "idle");

    // A jam stops the printer but jobs still queue, as on hardware.
    report(&cloud, &token, state(5, &["media-jam-error"])).await;
    assert_eq!(accepting(&cloud, &printer).await, json!(true), "jammed");

    report(&cloud, &token, state(5, &["deactivated"])).await;
    assert_eq!(
        accepting(&cloud, &printer).await,
        json!(false),
        "deactivated"
    );

    report(&cloud, &token, state(3, &["none"])).await;
    assert_eq!(accepting(&cloud, &printer).await, json!(true), "back");

    // What a device reports wins over the inference.
    let mut refusing = state(3, &["none"]);
    refusing.push(Attribute::new(
        "printer-is-accepting-jobs",
        Value::Boolean(false),
    ));
    report(&cloud, &token, refusing).await;
    assert_eq!(accepting(&cloud, &printer).await, json!(false), "reported");
    cloud.stop().await;
}

fn pdf_a4() -> (PrinterCapabilities, PrinterDefaults) {
    (
        PrinterCapabilities {
            media_sizes: Some(vec!["A4".into()]),
            content_types: Some(vec!["application/pdf".into()]),
            copies_per_job: Some(IntegerRange { start: 1, end: 9 }),
            ..Default::default()
        },
        PrinterDefaults {
            media_size: Some("A4".into()),
            ..Default::default()
        },
    )
}

fn no_value() -> Value {
    Value::OutOfBand(printlab_ipp::OutOfBand(printlab_ipp::model::tag::NO_VALUE))
}

/// The strict service answers Update-Active-Jobs as ippserver does, where the lenient one
/// takes the idle forms; a job's media-col leaves it naming its size once; and a request whose
/// media collection breaks its rule is refused with that attribute in the unsupported group.
#[tokio::test]
async fn the_strict_reference_mode_refuses_what_ippserver_refuses() {
    let lenient = TestCloud::start().await;
    let (_, token) = device_printer(&lenient).await;
    let idle = device(&lenient, &token, Operation::UPDATE_ACTIVE_JOBS, |m| {
        m.groups[0].push(Attribute::new("job-ids", no_value()));
    })
    .await;
    assert!(idle.status().is_success(), "{idle:?}");
    lenient.stop().await;

    let cloud = TestCloud::builder()
        .long_poll(Duration::from_secs(2))
        .strict_reference()
        .start()
        .await;
    let (printer, token) = device_printer(&cloud).await;
    let (caps, defaults) = pdf_a4();
    report(
        &cloud,
        &token,
        printer_attributes_from_graph(&caps, &defaults).value,
    )
    .await;

    let refusals = [
        (Some(no_value()), "Bad job-ids attribute."),
        (None, "Missing required job-ids attribute."),
    ];
    for (job_ids, message) in refusals {
        let answer = device(&cloud, &token, Operation::UPDATE_ACTIVE_JOBS, |m| {
            if let Some(ids) = job_ids {
                m.groups[0].push(Attribute::new("job-ids", ids));
            }
        })
        .await;
        assert_eq!(answer.status(), StatusCode::CLIENT_ERROR_BAD_REQUEST);
        assert_eq!(
            answer.operation_attributes().string("status-message"),
            Some(message)
        );
    }

    let job: i32 = cloud
        .admin_graph()
        .submit(
            &format!("/print/printers/{printer}/jobs"),
            "application/pdf",
            b"%PDF-1.4 not printed".to_vec(),
            json!({"mediaSize": "A4"}),
        )
        .await
        .parse()
        .unwrap();
    let fetched = device(&cloud, &token, Operation::FETCH_JOB, |m| {
        m.groups[0].push(Attribute::new("job-id", Value::Integer(job)));
    })
    .await;
    assert!(fetched.status().is_success(), "{fetched:?}");
    let media = fetched
        .group(GroupTag::JOB)
        .and_then(|g| g.collection("media-col"))
        .expect("the job's media-col");
    assert!(media.collection("media-size").is_some(), "{media:?}");
    assert!(media.attr("media-size-name").is_none(), "{media:?}");

    let active = device(&cloud, &token, Operation::UPDATE_ACTIVE_JOBS, |m| {
        m.groups[0].push(Attribute::set("job-ids", [Value::Integer(job)]));
        m.groups[0].push(Attribute::set("output-device-job-states", [Value::Enum(5)]));
    })
    .await;
    assert!(active.status().is_success(), "{active:?}");

    let ranged = Attribute::set(
        "media-col-database",
        [Value::Collection(vec![
            Attribute::new(
                "media-size",
                Value::Collection(vec![
                    Attribute::new(
                        "x-dimension",
                        Value::RangeOfInteger {
                            lower: 7600,
                            upper: 21600,
                        },
                    ),
                    Attribute::new("y-dimension", Value::Integer(29700)),
                ]),
            ),
            Attribute::new("media-size-name", Value::keyword("custom_76x297mm")),
        ])],
    );
    let refused = device(
        &cloud,
        &token,
        Operation::UPDATE_OUTPUT_DEVICE_ATTRIBUTES,
        |m| {
            m.push_group(Group {
                tag: GroupTag::PRINTER,
                attributes: vec![ranged],
            });
        },
    )
    .await;
    assert_eq!(
        refused.status(),
        StatusCode::CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED
    );
    let named = refused
        .group(GroupTag::UNSUPPORTED)
        .and_then(|g| g.attributes.iter().find(|a| a.name == "media-col-database"));
    assert!(named.is_some(), "{refused:?}");
    cloud.stop().await;
}
