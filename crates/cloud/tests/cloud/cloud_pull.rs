//! Pull printing over real HTTP on loopback: task definitions, the one trigger per printer,
//! tasks created when a job starts, the held job released by the app's task (or aborted), the
//! job actions (PATCH configuration, abort, redirect) with their permissions, and the full
//! `model::rules` checks on printer PATCH and job configurations.

use printlab_cloud::auth::object_id;
use printlab_testkit::{TestCloud, call, put_whole};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

pub(super) const USER_SCOPES: &[&str] = &["PrintJob.ReadWrite", "Printer.Read.All"];
pub(super) const BADGE_ROLES: &[&str] = &[
    "PrintTaskDefinition.ReadWrite.All",
    "PrintJob.Manage.All",
    "Printer.Read.All",
];

fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or("")
}

/// Registers a virtual printer and gives it full capabilities (colour or not).
pub(super) async fn printer(run: &TestCloud, name: &str, color: bool) -> String {
    let id = run.admin_graph().create_virtual_printer(name).await;
    let color_modes = if color {
        json!(["blackAndWhite", "color"])
    } else {
        json!(["blackAndWhite"])
    };
    let (s, body) = run
        .graph(&run.app("connector", &["Printer.ReadWrite.All"]))
        .patch(
            &format!("/print/printers/{id}"),
            json!({
                "capabilities": {"contentTypes": ["application/pdf"], "mediaSizes": ["A4", "North America Letter"],
                                 "colorModes": color_modes, "dpis": [600], "duplexModes": ["oneSided"],
                                 "finishings": ["none"], "copiesPerJob": {"start": 1, "end": 99}},
                "defaults": {"contentType": "application/pdf", "mediaSize": "A4", "colorMode": "blackAndWhite"},
                "isAcceptingJobs": true,
            }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    id
}

/// Creates a job on `printer`, uploads a small PDF-typed document and starts it; gives the job
/// id and the printJobStatus `start` answered.
pub(super) async fn started_job(run: &TestCloud, printer: &str, token: &str) -> (String, Value) {
    let graph = run.graph(token);
    let jobs = format!("/print/printers/{printer}/jobs");
    let job = graph.create_job(&jobs, json!({"copies": 1})).await;
    let bytes = b"%PDF-1.4 pull printing test".to_vec();
    graph
        .upload(&jobs, &job, "pull.pdf", "application/pdf", bytes)
        .await;
    let job_id = job["id"].as_str().unwrap().to_string();
    let status = graph.start_job(&jobs, &job_id).await;
    (job_id, status)
}

#[tokio::test]
async fn pull_printing_holds_jobs_until_the_apps_task_releases_redirects_or_aborts_them() {
    let run = TestCloud::start().await;
    let client = Client::new();
    let queue = printer(&run, "Pull queue", true).await;
    let floor = printer(&run, "Floor 1", false).await;
    let badge = run.app("badge", BADGE_ROLES);
    let alice = run.user("alice", USER_SCOPES, false);
    let defs = format!("{}/print/taskDefinitions", run.v1());

    // Task definitions: application permission only.
    let (s, _, _) = call(&client, Method::GET, &defs, Some(&run.admin()), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, def) = call(
        &client,
        Method::POST,
        &defs,
        Some(&badge),
        Some(json!({"displayName": "Badge release", "createdBy": {"displayName": "Badge app"}})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{def}");
    assert_eq!(def["createdBy"]["appId"], object_id("app", "badge"));
    assert_eq!(def["createdBy"]["displayName"], "Badge app");
    let def_id = def["id"].as_str().unwrap().to_string();
    // createdBy.appId is server-set: read-only, so ignored when sent.
    let (s, _, same) = call(
        &client,
        Method::PATCH,
        &format!("{defs}/{def_id}"),
        Some(&badge),
        Some(json!({"createdBy": {"appId": "forged", "displayName": "Badge app"}})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{same}");
    assert_eq!(same["createdBy"]["appId"], object_id("app", "badge"));
    let (s, _, patched) = call(
        &client,
        Method::PATCH,
        &format!("{defs}/{def_id}"),
        Some(&badge),
        Some(json!({"displayName": "Badge release 2"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{patched}");
    assert_eq!(patched["displayName"], "Badge release 2");
    let (_, _, list) = call(&client, Method::GET, &defs, Some(&badge), None).await;
    assert_eq!(list["value"].as_array().unwrap().len(), 1);

    // Triggers: an admin signed in through the definition's own app; one per printer.
    let triggers = format!("{}/print/printers/{queue}/taskTriggers", run.v1());
    let bind = json!({"event": "jobStarted", "definition@odata.bind": format!("https://graph.microsoft.com/v1.0/print/taskDefinitions/{def_id}")});
    let (s, _, body) = call(
        &client,
        Method::POST,
        &triggers,
        Some(&run.admin()),
        Some(bind.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(message(&body).contains("another application"));
    let not_admin = run.user_via("badge", "carol", &["Printer.FullControl.All"], false);
    let (s, _, _) = call(
        &client,
        Method::POST,
        &triggers,
        Some(&not_admin),
        Some(bind.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let admin_badge = run.admin_via("badge");
    let (s, _, trigger) = call(
        &client,
        Method::POST,
        &triggers,
        Some(&admin_badge),
        Some(bind.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{trigger}");
    assert_eq!(trigger["event"], "jobStarted");
    let trigger_id = trigger["id"].as_str().unwrap().to_string();
    let (s, _, _) = call(
        &client,
        Method::POST,
        &triggers,
        Some(&admin_badge),
        Some(bind),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (_, _, list) = call(&client, Method::GET, &triggers, Some(&admin_badge), None).await;
    assert_eq!(list["value"][0]["id"], trigger_id.as_str());

    // A job started on the queue is held, with a processing task.
    let (job1, status) = started_job(&run, &queue, &alice).await;
    assert_eq!(status["state"], "paused");
    assert_eq!(status["details"], json!(["releaseWait"]));
    assert!(run.cloud.fetchable_jobs(&queue).unwrap().is_empty());
    let job1_url = format!("{}/print/printers/{queue}/jobs/{job1}", run.v1());
    let (_, _, job) = call(
        &client,
        Method::GET,
        &format!("{job1_url}?$expand=tasks"),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(job["isFetchable"], false);
    let task = &job["tasks"][0];
    assert_eq!(task["status"]["state"], "processing");
    assert_eq!(task["parentUrl"], job1_url);
    let task1 = task["id"].as_str().unwrap().to_string();
    let (_, _, def_of_task) = call(
        &client,
        Method::GET,
        &format!("{job1_url}/tasks/{task1}/definition"),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(def_of_task["id"], def_id.as_str());
    let (_, _, trigger_of_task) = call(
        &client,
        Method::GET,
        &format!("{job1_url}/tasks/{task1}/trigger"),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(trigger_of_task["id"], trigger_id.as_str());
    let (_, _, def_tasks) = call(
        &client,
        Method::GET,
        &format!("{defs}/{def_id}/tasks"),
        Some(&badge),
        None,
    )
    .await;
    assert_eq!(def_tasks["value"][0]["id"], task1.as_str());

    // Only the app whose trigger made the task may act on the job, and only with app roles.
    let intruder = run.app("intruder", BADGE_ROLES);
    let (s, _, body) = call(
        &client,
        Method::POST,
        &format!("{job1_url}/abort"),
        Some(&intruder),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let (s, _, _) = call(
        &client,
        Method::POST,
        &format!("{job1_url}/abort"),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let no_printer_role = run.app("badge", &["PrintJob.Manage.All"]);
    let (s, _, body) = call(
        &client,
        Method::PATCH,
        &job1_url,
        Some(&no_printer_role),
        Some(json!({"configuration": {"copies": 2}})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let (s, _, body) = call(
        &client,
        Method::PATCH,
        &job1_url,
        Some(&badge),
        Some(json!({"configuration": {"copies": 500}})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(message(&body).contains("configuration.copies"), "{body}");
    let (s, _, body) = call(
        &client,
        Method::PATCH,
        &job1_url,
        Some(&badge),
        Some(json!({"configuration": {"copies": 2}, "colour": "red"})),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "only configuration is updatable: {body}"
    );
    assert!(message(&body).contains("colour"), "{body}");
    let (s, _, body) = call(
        &client,
        Method::PATCH,
        &job1_url,
        Some(&badge),
        Some(json!({"configuration": {"copies": 2, "colorMode": "color"}})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["configuration"]["copies"], 2);

    // Redirect: the configuration must suit the destination (no colour on the floor printer).
    let redirect = format!("{job1_url}/redirect");
    let (s, _, body) = call(
        &client,
        Method::POST,
        &redirect,
        Some(&badge),
        Some(json!({"destinationPrinterId": floor})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(message(&body).contains("configuration.colorMode"), "{body}");
    let (s, _, moved) = call(&client, Method::POST, &redirect, Some(&badge),
        Some(json!({"destinationPrinterId": floor, "configuration": {"copies": 2, "colorMode": "blackAndWhite"}}))).await;
    assert_eq!(s, StatusCode::OK, "{moved}");
    let moved_id = moved["id"].as_str().unwrap().to_string();
    assert_ne!(moved_id, job1);
    assert_eq!(moved["redirectedFrom"], job1_url);
    assert_eq!(moved["status"]["state"], "processing");
    assert_eq!(moved["isFetchable"], true);
    assert_eq!(moved["configuration"]["copies"], 2);
    assert!(
        moved["@odata.context"]
            .as_str()
            .unwrap()
            .contains(&format!("printers('{floor}')/jobs"))
    );
    let on_floor = run.cloud.fetchable_jobs(&floor).unwrap();
    assert_eq!(on_floor.len(), 1);
    assert_eq!(on_floor[0].job.id, moved_id);
    assert_eq!(
        on_floor[0].owner_id,
        object_id("user", "alice@printlab.test")
    );
    let (_, _, source) = call(
        &client,
        Method::GET,
        &format!("{job1_url}?$expand=tasks"),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(source["status"]["state"], "completed");
    assert!(
        source["redirectedTo"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/print/printers/{floor}/jobs/{moved_id}"))
    );
    assert_eq!(source["tasks"][0]["status"]["state"], "completed");
    // Alice owns the redirected job and sees its document.
    let (s, _, moved_doc) = call(
        &client,
        Method::GET,
        &format!(
            "{}/print/printers/{floor}/jobs/{moved_id}?$expand=documents",
            run.v1()
        ),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{moved_doc}");
    assert_eq!(moved_doc["documents"][0]["displayName"], "pull.pdf");
    // The task is finished, so the app can no longer act on the old job.
    let (s, _, _) = call(
        &client,
        Method::POST,
        &redirect,
        Some(&badge),
        Some(json!({"destinationPrinterId": floor})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Releasing: the app reports its task completed and the job becomes fetchable.
    let (job2, _) = started_job(&run, &queue, &alice).await;
    let (_, _, tasks) = call(
        &client,
        Method::GET,
        &format!("{}/print/printers/{queue}/jobs/{job2}/tasks", run.v1()),
        Some(&alice),
        None,
    )
    .await;
    let task2 = tasks["value"][0]["id"].as_str().unwrap().to_string();
    let task2_url = format!("{defs}/{def_id}/tasks/{task2}");
    let done = json!({"status": {"state": "completed", "description": "Released at the printer."}});
    let (s, _, _) = call(
        &client,
        Method::PATCH,
        &task2_url,
        Some(&intruder),
        Some(done.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, body) = call(
        &client,
        Method::PATCH,
        &task2_url,
        Some(&badge),
        Some(done.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["status"]["state"], "completed");
    let fetchable: Vec<String> = run
        .cloud
        .fetchable_jobs(&queue)
        .unwrap()
        .into_iter()
        .map(|j| j.job.id)
        .collect();
    assert_eq!(fetchable, std::slice::from_ref(&job2));
    let (s, _, _) = call(
        &client,
        Method::PATCH,
        &task2_url,
        Some(&badge),
        Some(done.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "a finished task stays finished");

    // Aborting through the task, and through the abort action with a reason.
    let (job3, _) = started_job(&run, &queue, &alice).await;
    let (_, _, tasks) = call(
        &client,
        Method::GET,
        &format!("{}/print/printers/{queue}/jobs/{job3}/tasks", run.v1()),
        Some(&alice),
        None,
    )
    .await;
    let task3_url = format!(
        "{defs}/{def_id}/tasks/{}",
        tasks["value"][0]["id"].as_str().unwrap()
    );
    let (s, _, _) = call(
        &client,
        Method::PATCH,
        &task3_url,
        Some(&badge),
        Some(json!({"status": {"state": "aborted", "description": "No badge."}})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, _, job) = call(
        &client,
        Method::GET,
        &format!("{}/print/printers/{queue}/jobs/{job3}", run.v1()),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(job["status"]["state"], "aborted");
    assert_eq!(job["isFetchable"], false);
    let (job4, _) = started_job(&run, &queue, &alice).await;
    let job4_url = format!("{}/print/printers/{queue}/jobs/{job4}", run.v1());
    let (s, _, body) = call(
        &client,
        Method::POST,
        &format!("{job4_url}/abort"),
        Some(&badge),
        Some(json!({"reason": "Badge expired"})),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    let (_, _, job) = call(
        &client,
        Method::GET,
        &format!("{job4_url}?$expand=tasks"),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(job["status"]["state"], "aborted");
    assert!(
        job["status"]["description"]
            .as_str()
            .unwrap()
            .contains("Badge expired")
    );
    let (s, _, _) = call(
        &client,
        Method::POST,
        &format!("{job4_url}/abort"),
        Some(&badge),
        None,
    )
    .await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "an aborted job cannot be aborted again"
    );

    // A definition goes only once nothing uses it.
    let (s, _, body) = call(
        &client,
        Method::DELETE,
        &format!("{defs}/{def_id}"),
        Some(&badge),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    let (s, _, _) = call(
        &client,
        Method::DELETE,
        &format!("{triggers}/{trigger_id}"),
        Some(&admin_badge),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, body) = call(
        &client,
        Method::DELETE,
        &format!("{defs}/{def_id}"),
        Some(&badge),
        None,
    )
    .await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "job 4's task is still processing: {body}"
    );
    let task4 = job["tasks"][0]["id"].as_str().unwrap();
    let (s, _, _) = call(
        &client,
        Method::PATCH,
        &format!("{defs}/{def_id}/tasks/{task4}"),
        Some(&badge),
        Some(done),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, _, job) = call(&client, Method::GET, &job4_url, Some(&alice), None).await;
    assert_eq!(
        job["status"]["state"], "aborted",
        "completing the task of an aborted job does not revive it"
    );
    let (s, _, _) = call(
        &client,
        Method::DELETE,
        &format!("{defs}/{def_id}"),
        Some(&badge),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _) = call(
        &client,
        Method::GET,
        &format!("{defs}/{def_id}"),
        Some(&badge),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Without a trigger, jobs on the queue go straight to the printer again.
    let (_, status) = started_job(&run, &queue, &alice).await;
    assert_eq!(status["state"], "processing");
}

#[tokio::test]
async fn printer_patch_and_job_configurations_pass_the_whole_rule_set() {
    let run = TestCloud::start().await;
    let client = Client::new();
    let id = printer(&run, "Rules", false).await;
    let url = format!("{}/print/printers/{id}", run.v1());
    let admin = run.admin();
    let app = run.app("connector", &["Printer.ReadWrite.All"]);

    // Defaults beyond what content type, media, colour and duplex cover are checked too.
    let (s, _, body) = call(
        &client,
        Method::PATCH,
        &url,
        Some(&admin),
        Some(json!({"defaults": {"dpi": 1200}})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(message(&body).contains("defaults.dpi"), "{body}");
    let (s, _, body) = call(
        &client,
        Method::PATCH,
        &url,
        Some(&admin),
        Some(json!({"defaults": {"mediaSize": "A3", "copiesPerJob": 500}})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        message(&body).contains("defaults.mediaSize")
            && message(&body).contains("defaults.copiesPerJob"),
        "every violation is named: {body}"
    );
    let (s, _, body) = call(
        &client,
        Method::PATCH,
        &url,
        Some(&admin),
        Some(json!({"defaults": {"dpi": 600, "mediaSize": "North America Letter"}})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");

    // Capabilities are checked on their own and against the current defaults.
    let (s, _, body) = call(
        &client,
        Method::PATCH,
        &url,
        Some(&app),
        Some(json!({"capabilities": {"duplexModes": ["flipOnLongEdge"]}})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        message(&body).contains("capabilities.duplexModes"),
        "{body}"
    );
    let (s, _, body) = call(
        &client,
        Method::PATCH,
        &url,
        Some(&app),
        Some(json!({"capabilities": {"mediaSizes": ["A4"]}})),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "the default Letter would fall out: {body}"
    );
    assert!(message(&body).contains("defaults.mediaSize"), "{body}");
    let (_, _, got) = call(
        &client,
        Method::GET,
        &format!("{url}?$select=capabilities,defaults"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(
        got["capabilities"]["mediaSizes"],
        json!(["A4", "North America Letter"]),
        "a refused PATCH changes nothing"
    );

    // Job configurations at creation.
    let alice = run.user("alice", USER_SCOPES, false);
    let jobs = format!("{url}/jobs");
    let (s, _, body) = call(
        &client,
        Method::POST,
        &jobs,
        Some(&alice),
        Some(json!({"configuration": {"colorMode": "color", "duplexMode": "flipOnShortEdge"}})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        message(&body).contains("configuration.colorMode")
            && message(&body).contains("configuration.duplexMode"),
        "{body}"
    );
    let (s, _, body) = call(
        &client,
        Method::POST,
        &jobs,
        Some(&alice),
        Some(json!({"configuration": {"colorMode": "auto", "copies": 3, "mediaSize": "A4"}})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
}

/// Reference §1.8: besides releasing, redirecting or aborting, a pull-printing app may replace
/// the document of a job its trigger holds (createUploadSession with application permissions,
/// printer path only); the user who uploaded it once may not.
#[tokio::test]
async fn a_pull_printing_app_replaces_the_document_of_a_held_job() {
    let run = TestCloud::start().await;
    let client = Client::new();
    let queue = printer(&run, "Pull queue", true).await;
    let uploader_roles: Vec<&str> = BADGE_ROLES
        .iter()
        .copied()
        .chain(["PrintJob.ReadWrite.All"])
        .collect();
    let badge = run.app("badge", &uploader_roles);
    let alice = run.user("alice", USER_SCOPES, false);
    let defs = format!("{}/print/taskDefinitions", run.v1());
    let (s, _, def) = call(
        &client,
        Method::POST,
        &defs,
        Some(&badge),
        Some(json!({"displayName": "Badge release", "createdBy": {"displayName": "Badge app"}})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{def}");
    let bind = json!({"event": "jobStarted", "definition@odata.bind": format!("https://graph.microsoft.com/v1.0/print/taskDefinitions/{}", def["id"].as_str().unwrap())});
    let (s, _, trigger) = call(
        &client,
        Method::POST,
        &format!("{}/print/printers/{queue}/taskTriggers", run.v1()),
        Some(&run.admin_via("badge")),
        Some(bind),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{trigger}");
    let (job, status) = started_job(&run, &queue, &alice).await;
    assert_eq!(status["details"], json!(["releaseWait"]));
    let job_url = format!("{}/print/printers/{queue}/jobs/{job}", run.v1());
    let (_, _, with_docs) = call(
        &client,
        Method::GET,
        &format!("{job_url}?$expand=documents"),
        Some(&alice),
        None,
    )
    .await;
    let doc = with_docs["documents"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let create = format!("{job_url}/documents/{doc}/createUploadSession");
    let replacement = b"%PDF-1.7 the app's rendition, longer than the original".to_vec();
    let props = json!({"properties": {"documentName": "released.pdf", "contentType": "application/pdf", "size": replacement.len()}});

    // The owner uploaded once; only the app holding the task may replace the bytes now.
    let (s, _, body) = call(
        &client,
        Method::POST,
        &create,
        Some(&alice),
        Some(props.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    let (s, _, body) = call(
        &client,
        Method::POST,
        &create,
        Some(&run.app("intruder", &uploader_roles)),
        Some(props.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let (s, _, body) = call(
        &client,
        Method::POST,
        &create,
        Some(&run.app("badge", BADGE_ROLES)),
        Some(props.clone()),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "PrintJob.ReadWrite.All is required: {body}"
    );
    let (s, _, session) = call(&client, Method::POST, &create, Some(&badge), Some(props)).await;
    assert_eq!(s, StatusCode::OK, "{session}");
    assert_eq!(
        put_whole(
            &client,
            session["uploadUrl"].as_str().unwrap(),
            replacement.clone()
        )
        .await,
        StatusCode::CREATED
    );

    // The job still waits for release, now with the app's document.
    let (_, _, held) = call(
        &client,
        Method::GET,
        &format!("{job_url}?$expand=documents"),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(held["status"]["details"], json!(["releaseWait"]));
    assert_eq!(held["documents"][0]["displayName"], "released.pdf");
    assert_eq!(held["documents"][0]["size"], replacement.len());
    let bytes = client
        .get(format!("{job_url}/documents/{doc}/$value"))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.as_ref(), &replacement[..]);
}
