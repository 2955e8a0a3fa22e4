//! Job and printer subscriptions with ippget (RFC 3995/3996) on each emulated printer's own
//! IPP listener: a client subscribes over IPP, prints over IPP and reads job-created …
//! job-completed in sequence through Get-Notifications' long poll; a jam raised through the
//! control API reaches a printer subscription as a printer-state-changed event with
//! `media-jam`; refusals; and CUPS' ipptool running the same conversation.

use super::ipp_everywhere::{
    fleet, graph_and_ipp_lab, ipptool, pdf_file, print_through_graph, uri_of,
};
use printlab_device::runtime::{JobOutputs, control_router, out_root};
use printlab_ipp::http::{Credentials, post_ipp};
use printlab_ipp::{
    Attribute, AttributeLookup, Group, GroupTag, Limits, Message, Operation, StatusCode, Value,
};
use printlab_testkit_fleet::{ONE_PRINTER, TestFleet, pdf};
use std::path::Path;
use std::time::{Duration, Instant};

const CONTROL_TOKEN: &str = "subscriptions-test-token";

/// A request to the printer at `uri` from user `ada`, with `extra` operation attributes.
fn request(operation: Operation, uri: &str, extra: Vec<Attribute>) -> Message {
    let mut message = Message::request(operation, 1);
    message.groups[0].push(Attribute::new("printer-uri", Value::uri(uri)));
    message.groups[0].push(Attribute::new("requesting-user-name", Value::name("ada")));
    message.groups[0].attributes.extend(extra);
    message
}

fn pull_subscription(events: &[&str]) -> Group {
    Group::new(GroupTag::SUBSCRIPTION)
        .with("notify-pull-method", Value::keyword("ippget"))
        .with_set(
            "notify-events",
            events
                .iter()
                .map(|e| Value::keyword(*e))
                .collect::<Vec<_>>(),
        )
}

async fn send(uri: &str, message: &Message, document: Option<Vec<u8>>) -> Message {
    let url = uri.replacen("ipp://", "http://", 1);
    let document =
        document.map(|bytes| Box::pin(std::io::Cursor::new(bytes)) as printlab_ipp::DocumentReader);
    post_ipp(
        &reqwest::Client::new(),
        &url,
        &Credentials::None,
        message,
        document,
        &Limits::default(),
    )
    .await
    .unwrap()
    .message
}

/// The subscription id of the answer's first subscription group.
fn subscription_id(answer: &Message) -> i32 {
    answer
        .groups_of(GroupTag::SUBSCRIPTION)
        .next()
        .and_then(|g| g.integer("notify-subscription-id"))
        .unwrap_or_else(|| panic!("no subscription made: {answer:?}"))
}

async fn subscribe(uri: &str, events: &[&str]) -> i32 {
    let mut message = request(Operation::CREATE_PRINTER_SUBSCRIPTIONS, uri, vec![]);
    message.push_group(pull_subscription(events));
    let answer = send(uri, &message, None).await;
    assert_eq!(answer.status(), StatusCode::SUCCESSFUL_OK, "{answer:?}");
    subscription_id(&answer)
}

/// Get-Notifications with `notify-wait` from `from` on, until `done` holds for the events read
/// so far (at most 60 s); every event group read.
async fn notifications_until(
    uri: &str,
    subscription: i32,
    done: impl Fn(&[Group]) -> bool,
) -> Vec<Group> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut events: Vec<Group> = Vec::new();
    let mut next = 1;
    while !done(&events) {
        assert!(Instant::now() < deadline, "events so far: {:#?}", events);
        let message = request(
            Operation::GET_NOTIFICATIONS,
            uri,
            vec![
                Attribute::new("notify-subscription-ids", Value::Integer(subscription)),
                Attribute::new("notify-sequence-numbers", Value::Integer(next)),
                Attribute::new("notify-wait", Value::Boolean(true)),
            ],
        );
        let answer = send(uri, &message, None).await;
        assert!(answer.status().is_success(), "{answer:?}");
        if answer.status() != StatusCode::SUCCESSFUL_OK_EVENTS_COMPLETE {
            assert_eq!(
                answer.operation_attributes().integer("notify-get-interval"),
                Some(0),
                "a waiting client is told to ask again at once"
            );
        }
        for group in answer.groups_of(GroupTag::EVENT_NOTIFICATION) {
            next = group.integer("notify-sequence-number").unwrap() + 1;
            events.push(group.clone());
        }
        if answer.status() == StatusCode::SUCCESSFUL_OK_EVENTS_COMPLETE {
            break;
        }
    }
    events
}

fn kinds(events: &[Group]) -> Vec<&str> {
    events
        .iter()
        .map(|g| g.keyword("notify-subscribed-event").unwrap())
        .collect()
}

fn sequence_numbers(events: &[Group]) -> Vec<i32> {
    events
        .iter()
        .map(|g| g.integer("notify-sequence-number").unwrap())
        .collect()
}

async fn one_printer(dir: &Path) -> (printlab_testkit::TestCloud, TestFleet, String) {
    let (cloud, fleet) = fleet(dir, ONE_PRINTER).await;
    let uri = uri_of(&fleet, "Lab");
    (cloud, fleet, uri)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_printed_over_ipp_is_heard_from_created_to_completed() {
    let dir = tempfile::tempdir().unwrap();
    let (_cloud, mut fleet, uri) = one_printer(dir.path()).await;
    let printer_subscription = subscribe(
        &uri,
        &[
            "job-created",
            "job-state-changed",
            "job-progress",
            "job-completed",
        ],
    )
    .await;

    // Print-Job with a job subscription in its own subscription group.
    let mut print = request(
        Operation::PRINT_JOB,
        &uri,
        vec![Attribute::new(
            "document-format",
            Value::mime_media_type("application/pdf"),
        )],
    );
    print.push_group(pull_subscription(&["job-completed"]));
    let answer = send(&uri, &print, Some(pdf(3))).await;
    assert_eq!(answer.status(), StatusCode::SUCCESSFUL_OK, "{answer:?}");
    let job = answer
        .groups_of(GroupTag::JOB)
        .next()
        .and_then(|g| g.integer("job-id"))
        .unwrap();
    let job_subscription = subscription_id(&answer);
    assert_ne!(job_subscription, printer_subscription);

    let events = notifications_until(&uri, printer_subscription, |events| {
        kinds(events).contains(&"job-completed")
    })
    .await;
    let heard = kinds(&events);
    assert_eq!(heard.first(), Some(&"job-created"), "{heard:?}");
    assert_eq!(heard.last(), Some(&"job-completed"), "{heard:?}");
    assert!(heard.contains(&"job-state-changed"), "{heard:?}");
    assert!(heard.contains(&"job-progress"), "{heard:?}");
    let numbers = sequence_numbers(&events);
    assert_eq!(numbers, (1..=events.len() as i32).collect::<Vec<_>>());
    for event in &events {
        assert_eq!(event.integer("notify-job-id"), Some(job));
        assert_eq!(
            event.integer("notify-subscription-id"),
            Some(printer_subscription)
        );
        assert_eq!(event.string("notify-printer-uri"), Some(uri.as_str()));
        assert!(event.integer("printer-up-time").unwrap() > 0);
        assert!(event.attr("job-state-reasons").is_some());
    }
    let completed = events.last().unwrap();
    assert_eq!(completed.enum_value("job-state"), Some(9));
    assert_eq!(completed.integer("job-impressions-completed"), Some(3));

    // The job subscription hears its job's end only, then says nothing more will come.
    let events = notifications_until(&uri, job_subscription, |_| false).await;
    assert_eq!(kinds(&events), ["job-completed"]);
    assert_eq!(events[0].integer("notify-sequence-number"), Some(1));
    fleet.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jam_raised_through_the_control_api_is_a_printer_state_change() {
    let dir = tempfile::tempdir().unwrap();
    let (_cloud, mut fleet, uri) = one_printer(dir.path()).await;
    let outputs = JobOutputs {
        spool: fleet.spool.clone(),
        out_root: out_root(&dir.path().join("spool")),
    };
    let control = control_router(&fleet.running().printers, outputs, CONTROL_TOKEN);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let control_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, control).await });
    let subscription = subscribe(&uri, &["printer-state-changed"]).await;

    let http = reqwest::Client::new();
    let jam = http
        .post(format!("{control_url}/control/printers/Lab/faults/jam"))
        .bearer_auth(CONTROL_TOKEN)
        .send()
        .await
        .unwrap();
    assert!(jam.status().is_success(), "{jam:?}");
    let jammed = |g: &Group| {
        g.attr("printer-state-reasons")
            .is_some_and(|r| r.keywords().any(|k| k == "media-jam"))
    };
    let events = notifications_until(&uri, subscription, |events| events.iter().any(jammed)).await;
    let event = events.iter().find(|g| jammed(g)).unwrap();
    assert_eq!(
        event.keyword("notify-subscribed-event"),
        Some("printer-state-changed")
    );
    assert_eq!(event.enum_value("printer-state"), Some(5));
    assert!(event.attr("printer-is-accepting-jobs").is_some());
    assert!(event.attr("notify-job-id").is_none());

    let clear = http
        .delete(format!("{control_url}/control/printers/Lab/faults/jam"))
        .bearer_auth(CONTROL_TOKEN)
        .send()
        .await
        .unwrap();
    assert!(clear.status().is_success(), "{clear:?}");
    let seen = events.len();
    let events = notifications_until(&uri, subscription, |events| {
        events.len() > seen && !jammed(events.last().unwrap())
    })
    .await;
    assert_eq!(events.last().unwrap().enum_value("printer-state"), Some(3));
    fleet.stop().await;
}

/// Paper changed from the front panel (the control API) is a printer-config-changed event, and
/// Get-Printer-Attributes then says what is loaded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_paper_loaded_from_the_front_panel_is_a_config_change() {
    let dir = tempfile::tempdir().unwrap();
    let with_tray = ONE_PRINTER
        .replace(
            r#"media = [{ size = "A4","#,
            r#"media = [{ size = "A5", margins = { top = 4, bottom = 4, left = 4, right = 4 } }, { size = "A4","#,
        )
        .replace(
            "copies = { min = 1, max = 9 }\n",
            "copies = { min = 1, max = 9 }\ninput_bins = [\"tray-1\"]\n",
        )
        + "[[printer.trays]]\nname = \"tray-1\"\nmedia_size = \"A4\"\ncapacity = 250\n";
    let (_cloud, mut fleet) = fleet(dir.path(), &with_tray).await;
    let uri = uri_of(&fleet, "Lab");
    let outputs = JobOutputs {
        spool: fleet.spool.clone(),
        out_root: out_root(&dir.path().join("spool")),
    };
    let control = control_router(&fleet.running().printers, outputs, CONTROL_TOKEN);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let control_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, control).await });
    let subscription = subscribe(&uri, &["printer-config-changed"]).await;

    let loaded = reqwest::Client::new()
        .put(format!("{control_url}/control/printers/Lab/trays/tray-1"))
        .bearer_auth(CONTROL_TOKEN)
        .json(&serde_json::json!({ "mediaSize": "iso_a5_148x210mm" }))
        .send()
        .await
        .unwrap();
    assert!(loaded.status().is_success(), "{loaded:?}");
    let changed =
        |g: &Group| g.keyword("notify-subscribed-event") == Some("printer-config-changed");
    notifications_until(&uri, subscription, |events| events.iter().any(changed)).await;
    let attributes = send(
        &uri,
        &request(Operation::GET_PRINTER_ATTRIBUTES, &uri, Vec::new()),
        None,
    )
    .await;
    let ready: Vec<String> = (attributes.group(GroupTag::PRINTER))
        .and_then(|g| g.attr("media-ready"))
        .map(|a| a.keywords().map(str::to_string).collect())
        .unwrap_or_default();
    assert_eq!(ready, ["iso_a5_148x210mm"]);
    fleet.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_are_described_renewed_canceled_and_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let (_cloud, mut fleet, uri) = one_printer(dir.path()).await;

    // The printer says what it offers.
    let answer = send(
        &uri,
        &request(Operation::GET_PRINTER_ATTRIBUTES, &uri, vec![]),
        None,
    )
    .await;
    let printer = answer.groups_of(GroupTag::PRINTER).next().unwrap();
    assert_eq!(
        printer.keyword("notify-pull-method-supported"),
        Some("ippget")
    );
    let events: Vec<&str> = printer
        .attr("notify-events-supported")
        .unwrap()
        .keywords()
        .collect();
    assert!(events.contains(&"job-completed") && events.contains(&"printer-state-changed"));
    let operations: Vec<i32> = printer
        .attr("operations-supported")
        .unwrap()
        .enums()
        .collect();
    assert!(operations.contains(&i32::from(Operation::GET_NOTIFICATIONS.0)));

    let id = subscribe(&uri, &["printer-state-changed"]).await;
    let described = send(
        &uri,
        &request(
            Operation::GET_SUBSCRIPTION_ATTRIBUTES,
            &uri,
            vec![Attribute::new("notify-subscription-id", Value::Integer(id))],
        ),
        None,
    )
    .await;
    let group = described.groups_of(GroupTag::SUBSCRIPTION).next().unwrap();
    assert_eq!(
        group.keyword("notify-events"),
        Some("printer-state-changed")
    );
    assert_eq!(group.string("notify-subscriber-user-name"), Some("ada"));
    assert_eq!(group.integer("notify-lease-duration"), Some(86_400));

    let listed = send(
        &uri,
        &request(Operation::GET_SUBSCRIPTIONS, &uri, vec![]),
        None,
    )
    .await;
    let ids: Vec<i32> = listed
        .groups_of(GroupTag::SUBSCRIPTION)
        .filter_map(|g| g.integer("notify-subscription-id"))
        .collect();
    assert_eq!(ids, [id]);

    let renewed = send(
        &uri,
        &request(
            Operation::RENEW_SUBSCRIPTION,
            &uri,
            vec![
                Attribute::new("notify-subscription-id", Value::Integer(id)),
                Attribute::new("notify-lease-duration", Value::Integer(60)),
            ],
        ),
        None,
    )
    .await;
    assert_eq!(renewed.status(), StatusCode::SUCCESSFUL_OK, "{renewed:?}");

    // Unknown events only: nothing is made, and the values are named.
    let mut bad = request(Operation::CREATE_PRINTER_SUBSCRIPTIONS, &uri, vec![]);
    bad.push_group(pull_subscription(&["printer-exploded"]));
    let answer = send(&uri, &bad, None).await;
    assert_eq!(
        answer.status(),
        StatusCode::CLIENT_ERROR_IGNORED_ALL_SUBSCRIPTIONS,
        "{answer:?}"
    );
    let group = answer.groups_of(GroupTag::SUBSCRIPTION).next().unwrap();
    assert_eq!(
        group.enum_value("notify-status-code"),
        Some(i32::from(
            StatusCode::CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED.0
        ))
    );
    let unsupported = answer.groups_of(GroupTag::UNSUPPORTED).next().unwrap();
    assert_eq!(
        unsupported.keyword("notify-events"),
        Some("printer-exploded")
    );

    // Push delivery is not offered.
    let mut push = request(Operation::CREATE_PRINTER_SUBSCRIPTIONS, &uri, vec![]);
    push.push_group(Group::new(GroupTag::SUBSCRIPTION).with(
        "notify-recipient-uri",
        Value::uri("ippnotify://127.0.0.1/x"),
    ));
    let answer = send(&uri, &push, None).await;
    assert_eq!(
        answer.status(),
        StatusCode::CLIENT_ERROR_IGNORED_ALL_SUBSCRIPTIONS
    );

    // A job that is not there has no subscriptions.
    let mut no_job = request(
        Operation::CREATE_JOB_SUBSCRIPTIONS,
        &uri,
        vec![Attribute::new("notify-job-id", Value::Integer(12345))],
    );
    no_job.push_group(pull_subscription(&["job-completed"]));
    let answer = send(&uri, &no_job, None).await;
    assert_eq!(answer.status(), StatusCode::CLIENT_ERROR_NOT_FOUND);

    let cancel = request(
        Operation::CANCEL_SUBSCRIPTION,
        &uri,
        vec![Attribute::new("notify-subscription-id", Value::Integer(id))],
    );
    assert_eq!(
        send(&uri, &cancel, None).await.status(),
        StatusCode::SUCCESSFUL_OK
    );
    // Gone: canceled again, read, or never made.
    assert_eq!(
        send(&uri, &cancel, None).await.status(),
        StatusCode::CLIENT_ERROR_NOT_FOUND
    );
    for unknown in [id, 999_999] {
        let get = request(
            Operation::GET_NOTIFICATIONS,
            &uri,
            vec![Attribute::new(
                "notify-subscription-ids",
                Value::Integer(unknown),
            )],
        );
        let answer = send(&uri, &get, None).await;
        assert_eq!(
            answer.status(),
            StatusCode::CLIENT_ERROR_NOT_FOUND,
            "{answer:?}"
        );
    }
    // Get-Notifications must name its subscriptions.
    let none = request(Operation::GET_NOTIFICATIONS, &uri, vec![]);
    assert_eq!(
        send(&uri, &none, None).await.status(),
        StatusCode::CLIENT_ERROR_BAD_REQUEST
    );
    fleet.stop().await;
}

/// Create-Job's own subscription group, and a job canceled before its document came: the
/// job subscription hears it created, then completed as canceled, and then nothing more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_canceled_over_ipp_ends_its_job_subscription() {
    let dir = tempfile::tempdir().unwrap();
    let (_cloud, mut fleet, uri) = one_printer(dir.path()).await;
    let mut create = request(Operation::CREATE_JOB, &uri, vec![]);
    create.push_group(pull_subscription(&["job-state-changed"]));
    let answer = send(&uri, &create, None).await;
    assert_eq!(answer.status(), StatusCode::SUCCESSFUL_OK, "{answer:?}");
    let job = answer
        .groups_of(GroupTag::JOB)
        .next()
        .and_then(|g| g.integer("job-id"))
        .unwrap();
    let subscription = subscription_id(&answer);
    let cancel = request(
        Operation::CANCEL_JOB,
        &uri,
        vec![Attribute::new("job-id", Value::Integer(job))],
    );
    assert_eq!(
        send(&uri, &cancel, None).await.status(),
        StatusCode::SUCCESSFUL_OK
    );
    let events = notifications_until(&uri, subscription, |_| false).await;
    let heard = kinds(&events);
    // Heard under the keyword subscribed to; the state tells which.
    assert!(heard.iter().all(|k| *k == "job-state-changed"), "{heard:?}");
    assert_eq!(events.first().unwrap().enum_value("job-state"), Some(3));
    assert_eq!(events.last().unwrap().enum_value("job-state"), Some(7));
    // A subscription for a job that has ended is refused.
    let mut late = request(
        Operation::CREATE_JOB_SUBSCRIPTIONS,
        &uri,
        vec![Attribute::new("notify-job-id", Value::Integer(job))],
    );
    late.push_group(pull_subscription(&["job-completed"]));
    assert_eq!(
        send(&uri, &late, None).await.status(),
        StatusCode::CLIENT_ERROR_NOT_POSSIBLE
    );
    fleet.stop().await;
}

/// A job from the service is the service's to report: the listener's subscribers hear the
/// printer working on it (printer-state-changed), never the job itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_job_raises_printer_events_only() {
    let dir = tempfile::tempdir().unwrap();
    let (cloud, mut fleet, printer) = graph_and_ipp_lab(dir.path()).await;
    let uri = uri_of(&fleet, "Lab");
    let subscription = subscribe(&uri, &["job-state-changed", "printer-state-changed"]).await;
    print_through_graph(&cloud, &printer, pdf(2)).await;
    let state = |g: &Group| g.enum_value("printer-state");
    let events = notifications_until(&uri, subscription, |events| {
        let processing = events.iter().position(|g| state(g) == Some(4));
        processing.is_some_and(|at| events[at..].iter().any(|g| state(g) == Some(3)))
    })
    .await;
    assert!(
        events.iter().all(|g| g.attr("notify-job-id").is_none()),
        "{events:#?}"
    );
    assert!(
        kinds(&events).iter().all(|k| *k == "printer-state-changed"),
        "{events:#?}"
    );
    fleet.stop().await;
}

/// A Get-Notifications held by `notify-wait` does not hold up the fleet's shutdown: it is
/// answered at once, with what there is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_long_poll_is_answered_when_the_fleet_stops() {
    let dir = tempfile::tempdir().unwrap();
    let (_cloud, mut fleet, uri) = one_printer(dir.path()).await;
    let subscription = subscribe(&uri, &["job-completed"]).await;
    let held = {
        let uri = uri.clone();
        tokio::spawn(async move {
            let message = request(
                Operation::GET_NOTIFICATIONS,
                &uri,
                vec![
                    Attribute::new("notify-subscription-ids", Value::Integer(subscription)),
                    Attribute::new("notify-wait", Value::Boolean(true)),
                ],
            );
            send(&uri, &message, None).await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!held.is_finished(), "nothing happened: the request is held");
    // Well under the 30 s the poll would otherwise be held.
    tokio::time::timeout(Duration::from_secs(15), fleet.stop())
        .await
        .expect("the fleet stops without waiting for the held poll");
    let answer = tokio::time::timeout(Duration::from_secs(5), held)
        .await
        .expect("the held request is answered")
        .unwrap();
    assert_eq!(answer.status(), StatusCode::SUCCESSFUL_OK);
    assert_eq!(answer.groups_of(GroupTag::EVENT_NOTIFICATION).count(), 0);
}

/// The same conversation from CUPS' ipptool: its packaged create-printer-subscription.test and
/// get-subscriptions.test, then a file of ours (no packaged file reads ippget's standard
/// attributes: get-notifications.test expects CUPS' own `notify-event`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipptool_subscribes_prints_and_reads_the_events() {
    let dir = tempfile::tempdir().unwrap();
    let (_cloud, mut fleet, uri) = one_printer(dir.path()).await;
    let file = pdf_file(dir.path());
    for test in ["create-printer-subscription.test", "get-subscriptions.test"] {
        let (passed, failed, report) = ipptool(&uri, test, &file).await;
        assert!(passed >= 1 && failed == 0, "{test}:\n{report}");
    }
    let ours = dir.path().join("ippget.test");
    std::fs::write(&ours, IPPGET_TEST).unwrap();
    // An absolute path: `ipptool` joins it to the suite's folder, which leaves it as it is.
    let (passed, failed, report) = ipptool(&uri, ours.to_str().unwrap(), &file).await;
    assert_eq!((passed, failed), (7, 0), "{report}");
    fleet.stop().await;
}

const IPPGET_TEST: &str = r#"
{
    NAME "Create-Printer-Subscriptions (ippget)"
    OPERATION Create-Printer-Subscriptions
    GROUP operation-attributes-tag
    ATTR charset attributes-charset utf-8
    ATTR language attributes-natural-language en
    ATTR uri printer-uri $uri
    ATTR name requesting-user-name $user
    GROUP subscription-attributes-tag
    ATTR keyword notify-pull-method ippget
    ATTR keyword notify-events job-created,job-completed
    STATUS successful-ok
    EXPECT notify-subscription-id OF-TYPE integer WITH-VALUE >0
}
{
    NAME "Print-Job"
    OPERATION Print-Job
    GROUP operation-attributes-tag
    ATTR charset attributes-charset utf-8
    ATTR language attributes-natural-language en
    ATTR uri printer-uri $uri
    ATTR name requesting-user-name $user
    ATTR mimeMediaType document-format application/pdf
    FILE $filename
    STATUS successful-ok
    EXPECT job-id OF-TYPE integer WITH-VALUE >0
}
{
    NAME "Get-Notifications (notify-wait)"
    OPERATION Get-Notifications
    GROUP operation-attributes-tag
    ATTR charset attributes-charset utf-8
    ATTR language attributes-natural-language en
    ATTR uri printer-uri $uri
    ATTR name requesting-user-name $user
    ATTR integer notify-subscription-ids $notify-subscription-id
    ATTR integer notify-sequence-numbers 1
    ATTR boolean notify-wait true
    STATUS successful-ok
    EXPECT notify-get-interval OF-TYPE integer IN-GROUP operation-attributes-tag
    EXPECT printer-up-time OF-TYPE integer IN-GROUP operation-attributes-tag
    EXPECT notify-subscribed-event OF-TYPE keyword IN-GROUP event-notification-attributes-tag WITH-VALUE "job-created"
    EXPECT notify-sequence-number OF-TYPE integer IN-GROUP event-notification-attributes-tag WITH-VALUE 1
    EXPECT notify-subscription-id OF-TYPE integer IN-GROUP event-notification-attributes-tag
    EXPECT notify-printer-uri OF-TYPE uri IN-GROUP event-notification-attributes-tag
    EXPECT notify-job-id OF-TYPE integer IN-GROUP event-notification-attributes-tag
    EXPECT job-state OF-TYPE enum IN-GROUP event-notification-attributes-tag
    EXPECT job-state-reasons OF-TYPE keyword IN-GROUP event-notification-attributes-tag
    EXPECT notify-text OF-TYPE text IN-GROUP event-notification-attributes-tag
}
{
    NAME "Get-Subscription-Attributes"
    OPERATION Get-Subscription-Attributes
    GROUP operation-attributes-tag
    ATTR charset attributes-charset utf-8
    ATTR language attributes-natural-language en
    ATTR uri printer-uri $uri
    ATTR integer notify-subscription-id $notify-subscription-id
    STATUS successful-ok
    EXPECT notify-events OF-TYPE keyword IN-GROUP subscription-attributes-tag WITH-VALUE "job-completed"
    EXPECT notify-pull-method OF-TYPE keyword WITH-VALUE "ippget"
    EXPECT notify-lease-duration OF-TYPE integer
}
{
    NAME "Renew-Subscription"
    OPERATION Renew-Subscription
    GROUP operation-attributes-tag
    ATTR charset attributes-charset utf-8
    ATTR language attributes-natural-language en
    ATTR uri printer-uri $uri
    ATTR integer notify-subscription-id $notify-subscription-id
    ATTR integer notify-lease-duration 120
    STATUS successful-ok
}
{
    NAME "Cancel-Subscription"
    OPERATION Cancel-Subscription
    GROUP operation-attributes-tag
    ATTR charset attributes-charset utf-8
    ATTR language attributes-natural-language en
    ATTR uri printer-uri $uri
    ATTR integer notify-subscription-id $notify-subscription-id
    STATUS successful-ok
}
{
    NAME "Get-Notifications after Cancel-Subscription"
    OPERATION Get-Notifications
    GROUP operation-attributes-tag
    ATTR charset attributes-charset utf-8
    ATTR language attributes-natural-language en
    ATTR uri printer-uri $uri
    ATTR integer notify-subscription-ids $notify-subscription-id
    STATUS client-error-not-found
}
"#;
