//! Graph change notifications for the print events, delivered to a real webhook receiver the
//! test serves on loopback: the validation handshake, `JobFetchable` and `JobStarted` with the
//! subscription's `clientState`, retries with a doubling back-off while the receiver fails,
//! renewal, and `subscriptionRemoved` when a subscription expires.

use super::cloud_pull::{BADGE_ROLES, USER_SCOPES, printer, started_job};
use axum::extract::{Query, State};
use axum::http::StatusCode as HttpStatus;
use axum::response::{IntoResponse, Response};
use printlab_cloud::webhooks::WebhookOptions;
use printlab_testkit::TestCloud;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A webhook receiver: answers the validation handshake, fails the first `failures` posts with
/// 500, and keeps every notification it took with when it came.
#[derive(Clone, Default)]
struct Receiver {
    taken: Arc<Mutex<Vec<(Instant, Value)>>>,
    refused_at: Arc<Mutex<Vec<Instant>>>,
    failures: Arc<AtomicU32>,
    handshakes: Arc<AtomicU32>,
}

async fn receive(
    State(receiver): State<Receiver>,
    Query(query): Query<HashMap<String, String>>,
    body: String,
) -> Response {
    if let Some(token) = query.get("validationToken") {
        receiver.handshakes.fetch_add(1, Ordering::SeqCst);
        return ([("content-type", "text/plain")], token.clone()).into_response();
    }
    let failing = receiver
        .failures
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        receiver.refused_at.lock().unwrap().push(Instant::now());
        return HttpStatus::INTERNAL_SERVER_ERROR.into_response();
    }
    let value: Value = serde_json::from_str(&body).unwrap();
    receiver.taken.lock().unwrap().push((Instant::now(), value));
    HttpStatus::ACCEPTED.into_response()
}

impl Receiver {
    async fn start(failures: u32) -> (Self, String) {
        let receiver = Self::default();
        receiver.failures.store(failures, Ordering::SeqCst);
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }

    /// The notifications taken so far, once there are at least `count`.
    async fn notifications(&self, count: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let taken: Vec<Value> = (self.taken.lock().unwrap().iter())
                .flat_map(|(_, body)| body["value"].as_array().cloned().unwrap_or_default())
                .collect();
            if taken.len() >= count {
                return taken;
            }
            assert!(
                Instant::now() < deadline,
                "only {} notifications: {taken:?}",
                taken.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn soon(minutes: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::minutes(minutes)).to_rfc3339()
}

#[tokio::test]
async fn job_fetchable_and_job_started_reach_a_webhook_with_their_client_state() {
    let run = TestCloud::builder()
        .webhooks(WebhookOptions {
            first_retry: Duration::from_millis(200),
            attempts: 4,
            ..WebhookOptions::default()
        })
        .start()
        .await;
    let queue = printer(&run, "Queue", false).await;
    let held = printer(&run, "Held", false).await;
    let badge = run.app("badge", BADGE_ROLES);
    let alice = run.user("alice", USER_SCOPES, false);
    let graph = run.graph(&badge);
    // The receiver fails its first two notifications: the cloud must retry them.
    let (receiver, hook) = Receiver::start(2).await;

    // JobFetchable on the queue's jobs.
    let (s, fetchable) = graph
        .post(
            "/subscriptions",
            Some(json!({
                "changeType": "updated",
                "resource": format!("print/printers/{queue}/jobs"),
                "notificationQueryOptions": "$filter=isFetchable eq true",
                "notificationUrl": hook,
                "clientState": "fetchable-secret",
                "expirationDateTime": soon(60),
            })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{fetchable}");
    assert_eq!(fetchable["clientState"], "fetchable-secret");
    assert_eq!(receiver.handshakes.load(Ordering::SeqCst), 1);

    // JobStarted on a definition's tasks, the definition bound to the held printer.
    let (s, definition) = graph
        .post(
            "/print/taskDefinitions",
            Some(json!({"displayName": "Release"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{definition}");
    let definition = definition["id"].as_str().unwrap().to_string();
    let (s, trigger) = run
        .graph(&run.admin_via("badge"))
        .post(
            &format!("/print/printers/{held}/taskTriggers"),
            Some(json!({
                "event": "jobStarted",
                "definition@odata.bind": format!("{}/print/taskDefinitions/{definition}", run.v1()),
            })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{trigger}");
    let (s, started) = graph
        .post(
            "/subscriptions",
            Some(json!({
                "changeType": "created",
                "resource": format!("print/taskDefinitions/{definition}/tasks"),
                "notificationUrl": hook,
                "clientState": "started-secret",
                "expirationDateTime": soon(60),
            })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{started}");

    let (fetchable_job, _) = started_job(&run, &queue, &alice).await;
    let (held_job, _) = started_job(&run, &held, &alice).await;
    let notes = receiver.notifications(2).await;
    let by_state = |state: &str| {
        notes
            .iter()
            .find(|n| n["clientState"] == state)
            .unwrap_or_else(|| panic!("no {state} notification in {notes:?}"))
            .clone()
    };
    let fetch = by_state("fetchable-secret");
    assert_eq!(fetch["subscriptionId"], fetchable["id"]);
    assert_eq!(fetch["changeType"], "updated");
    assert_eq!(
        fetch["resource"],
        format!("print/printers/{queue}/jobs/{fetchable_job}")
    );
    assert_eq!(fetch["resourceData"]["id"], fetchable_job.as_str());
    let start = by_state("started-secret");
    assert_eq!(start["changeType"], "created");
    let task_id = start["resourceData"]["id"].as_str().unwrap();
    let (s, task) = graph
        .get(&format!(
            "/print/taskDefinitions/{definition}/tasks/{task_id}"
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{task}");
    assert!(
        task["parentUrl"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/jobs/{held_job}"))
    );

    // The two refusals were retried, the second wait twice the first.
    let deliveries = run.cloud.webhooks().deliveries();
    let failed: Vec<_> = deliveries
        .iter()
        .filter(|d| d.outcome == "failed")
        .collect();
    assert_eq!(failed.len(), 2, "{deliveries:#?}");
    assert!(failed.iter().all(|d| d.status == Some(500)));
    assert_eq!(receiver.refused_at.lock().unwrap().len(), 2);
    assert!(
        deliveries
            .iter()
            .filter(|d| d.outcome == "delivered")
            .count()
            == 2,
        "{deliveries:#?}"
    );
    for record in &failed {
        let next = deliveries
            .iter()
            .find(|d| {
                d.subscription_id == record.subscription_id && d.attempt == record.attempt + 1
            })
            .unwrap_or_else(|| panic!("{record:?} was not retried"));
        let waited = (next.at - record.at).num_milliseconds();
        let expected = 200 * (1 << (record.attempt - 1));
        assert!(
            waited >= expected - 20,
            "attempt {} retried after {waited} ms, expected {expected}",
            record.attempt
        );
    }

    // Only its creator sees a subscription; the list is the caller's own.
    let (s, listed) = graph.get("/subscriptions").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(listed["value"].as_array().unwrap().len(), 2);
    let (s, _) = run
        .graph(&run.app("other", BADGE_ROLES))
        .get(&format!(
            "/subscriptions/{}",
            fetchable["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    run.stop().await;
}

#[tokio::test]
async fn subscriptions_are_checked_renewed_and_removed_on_expiry() {
    let run = TestCloud::start().await;
    let queue = printer(&run, "Queue", false).await;
    let graph = run.graph(&run.app("watcher", &["PrintJob.Read.All"]));
    let (receiver, hook) = Receiver::start(0).await;
    let body = |url: &str, expiry: String| {
        json!({
            "changeType": "updated",
            "resource": format!("print/printers/{queue}/jobs"),
            "notificationQueryOptions": "$filter=isFetchable eq true",
            "notificationUrl": url,
            "lifecycleNotificationUrl": url,
            "clientState": "life",
            "expirationDateTime": expiry,
        })
    };
    // Not on loopback, too long, a webhook that fails the handshake: each refused, saying why.
    let (s, refused) = graph
        .post(
            "/subscriptions",
            Some(body("http://192.0.2.1/hook", soon(5))),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not on loopback"),
        "{refused}"
    );
    let (s, refused) = graph
        .post("/subscriptions", Some(body(&hook, soon(5000))))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("4230 minutes"),
        "{refused}"
    );
    let silent = hook.replace("/hook", "/nothing-here");
    let (s, refused) = graph
        .post("/subscriptions", Some(body(&silent, soon(5))))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("validation request failed"),
        "{refused}"
    );

    // Created to expire in a moment, renewed, then left to expire.
    let expiry = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let (s, created) = graph
        .post("/subscriptions", Some(body(&hook, expiry)))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    let renewed_to = (chrono::Utc::now() + chrono::Duration::seconds(3)).to_rfc3339();
    let (s, renewed) = graph
        .patch(
            &format!("/subscriptions/{id}"),
            json!({"expirationDateTime": renewed_to}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{renewed}");
    let removed = receiver.notifications(1).await;
    assert_eq!(
        removed[0]["lifecycleEvent"], "subscriptionRemoved",
        "{removed:?}"
    );
    assert_eq!(removed[0]["subscriptionId"], id.as_str());
    assert_eq!(removed[0]["clientState"], "life");
    let (s, _) = graph.get(&format!("/subscriptions/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    run.stop().await;
}

/// A job an IPP client prints to the cloud's printer is a Graph job: it raises `JobFetchable`
/// as one started through Graph does.
#[tokio::test]
async fn a_job_printed_over_ipp_raises_job_fetchable() {
    use printlab_ipp::{
        Attribute, AttributeLookup, GroupTag, Operation, StatusCode as IppStatus, Value,
    };
    let lab = super::infra_client::Lab::start().await;
    let (receiver, hook) = Receiver::start(0).await;
    let graph = lab
        .run
        .graph(&lab.run.app("watcher", &["PrintJob.Read.All"]));
    let (s, created) = graph
        .post(
            "/subscriptions",
            Some(json!({
                "changeType": "updated",
                "resource": format!("print/printers/{}/jobs", lab.printer),
                "notificationQueryOptions": "$filter=isFetchable eq true",
                "notificationUrl": hook,
                "clientState": "ipp",
                "expirationDateTime": soon(10),
            })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let print = lab.request(Operation::PRINT_JOB, |m| {
        m.groups[0].push(Attribute::new(
            "document-format",
            Value::mime_media_type("application/pdf"),
        ));
    });
    let answer = lab.send(&print, Some(super::infra_client::PDF)).await;
    assert_eq!(answer.status(), IppStatus::SUCCESSFUL_OK, "{answer:?}");
    let id = answer
        .group(GroupTag::JOB)
        .unwrap()
        .integer("job-id")
        .unwrap();
    let notes = receiver.notifications(1).await;
    assert_eq!(notes[0]["clientState"], "ipp");
    assert_eq!(notes[0]["resourceData"]["id"], id.to_string());
}
