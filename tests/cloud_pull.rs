//! Pull printing over real HTTP on loopback: task definitions, the one trigger per printer,
//! tasks created when a job starts, the held job released by the app's task (or aborted), the
//! job actions (PATCH configuration, abort, redirect) with their permissions, and the full
//! `model::rules` checks on printer PATCH and job configurations.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use printlab_cloud::Cloud;
use printlab_cloud::auth::object_id;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

const ADMIN_SCOPES: &[&str] = &[
    "Printer.FullControl.All",
    "Printer.ReadWrite.All",
    "PrinterShare.ReadWrite.All",
    "PrintJob.ReadWrite.All",
];
const USER_SCOPES: &[&str] = &["PrintJob.ReadWrite", "Printer.Read.All"];
const BADGE_ROLES: &[&str] = &[
    "PrintTaskDefinition.ReadWrite.All",
    "PrintJob.Manage.All",
    "Printer.Read.All",
];

struct Running {
    cloud: Cloud,
    base: String,
}

impl Running {
    async fn start(dir: &std::path::Path) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let root = format!("http://{}", listener.local_addr().unwrap());
        let cloud = Cloud::open(dir, &root).unwrap();
        tokio::spawn(cloud.clone().serve(listener));
        Self {
            base: cloud.graph_base_url(),
            cloud,
        }
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn user(&self, name: &str, scopes: &[&str], admin: bool) -> String {
        self.cloud
            .token_key()
            .mint_user(
                name,
                &Self::strings(scopes),
                admin,
                chrono::Duration::hours(1),
            )
            .unwrap()
    }

    /// An admin signed in through the application `app`.
    fn admin_via(&self, app: &str) -> String {
        self.cloud
            .token_key()
            .mint_user_via_app(
                app,
                "admin",
                &Self::strings(ADMIN_SCOPES),
                true,
                chrono::Duration::hours(1),
            )
            .unwrap()
    }

    fn app(&self, name: &str, roles: &[&str]) -> String {
        self.cloud
            .token_key()
            .mint_app(name, &Self::strings(roles), chrono::Duration::hours(1))
            .unwrap()
    }
}

async fn call(
    client: &Client,
    method: Method,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = client.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let bytes = resp.bytes().await.unwrap();
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("non-JSON body {e}: {bytes:?}"))
    };
    (status, value)
}

fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or("")
}

/// Registers a virtual printer and gives it full capabilities (colour or not).
async fn printer(client: &Client, run: &Running, name: &str, color: bool) -> String {
    let admin = run.user("admin", ADMIN_SCOPES, true);
    let key = rcgen::KeyPair::generate().unwrap();
    let csr = rcgen::CertificateParams::new(vec!["p.printlab.test".to_string()])
        .unwrap()
        .serialize_request(&key)
        .unwrap();
    let resp = client
        .post(format!("{}/print/printers/create", run.base))
        .bearer_auth(&admin)
        .json(&json!({
            "displayName": name, "manufacturer": "printlab", "model": "virtual",
            "hasPhysicalDevice": false,
            "certificateSigningRequest": {"content": STANDARD.encode(csr.der()), "transportKey": "a2V5"}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let location = resp.headers()["operation-location"]
        .to_str()
        .unwrap()
        .to_string();
    let (_, op) = call(client, Method::GET, &location, &admin, None).await;
    let id = op["printer"]["id"].as_str().unwrap().to_string();
    let color_modes = if color {
        json!(["blackAndWhite", "color"])
    } else {
        json!(["blackAndWhite"])
    };
    let (s, body) = call(
        client,
        Method::PATCH,
        &format!("{}/print/printers/{id}", run.base),
        &run.app("connector", &["Printer.ReadWrite.All"]),
        Some(json!({
            "capabilities": {"contentTypes": ["application/pdf"], "mediaSizes": ["A4", "North America Letter"],
                             "colorModes": color_modes, "dpis": [600], "duplexModes": ["oneSided"],
                             "finishings": ["none"], "copiesPerJob": {"start": 1, "end": 99}},
            "defaults": {"contentType": "application/pdf", "mediaSize": "A4", "colorMode": "blackAndWhite"},
            "isAcceptingJobs": true,
        })),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    id
}

/// Sends a whole document to an uploadSession's URL in one range.
async fn upload_whole(client: &Client, session: &Value, bytes: Vec<u8>) {
    let resp = client
        .put(session["uploadUrl"].as_str().unwrap())
        .header(
            "Content-Range",
            format!("bytes 0-{}/{}", bytes.len() - 1, bytes.len()),
        )
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
}

/// Creates a job on `printer`, uploads a small PDF-typed document and starts it; gives the job
/// id and the printJobStatus `start` answered.
async fn started_job(
    client: &Client,
    run: &Running,
    printer: &str,
    token: &str,
) -> (String, Value) {
    let jobs = format!("{}/print/printers/{printer}/jobs", run.base);
    let (s, job) = call(
        client,
        Method::POST,
        &jobs,
        token,
        Some(json!({"configuration": {"copies": 1}})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{job}");
    let job_id = job["id"].as_str().unwrap().to_string();
    let doc = job["documents"][0]["id"].as_str().unwrap();
    let bytes = b"%PDF-1.4 pull printing test".to_vec();
    let (s, session) = call(
        client,
        Method::POST,
        &format!("{jobs}/{job_id}/documents/{doc}/createUploadSession"),
        token,
        Some(json!({"properties": {"documentName": "pull.pdf", "contentType": "application/pdf", "size": bytes.len()}})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{session}");
    upload_whole(client, &session, bytes).await;
    let (s, status) = call(
        client,
        Method::POST,
        &format!("{jobs}/{job_id}/start"),
        token,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{status}");
    (job_id, status)
}

#[tokio::test]
async fn pull_printing_holds_jobs_until_the_apps_task_releases_redirects_or_aborts_them() {
    let dir = tempfile::tempdir().unwrap();
    let run = Running::start(dir.path()).await;
    let client = Client::new();
    let queue = printer(&client, &run, "Pull queue", true).await;
    let floor = printer(&client, &run, "Floor 1", false).await;
    let badge = run.app("badge", BADGE_ROLES);
    let alice = run.user("alice", USER_SCOPES, false);
    let defs = format!("{}/print/taskDefinitions", run.base);

    // Task definitions: application permission only.
    let (s, _) = call(
        &client,
        Method::GET,
        &defs,
        &run.user("admin", ADMIN_SCOPES, true),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, def) = call(
        &client,
        Method::POST,
        &defs,
        &badge,
        Some(json!({"displayName": "Badge release", "createdBy": {"displayName": "Badge app"}})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{def}");
    assert_eq!(def["createdBy"]["appId"], object_id("app", "badge"));
    assert_eq!(def["createdBy"]["displayName"], "Badge app");
    let def_id = def["id"].as_str().unwrap().to_string();
    let (s, _) = call(
        &client,
        Method::POST,
        &defs,
        &badge,
        Some(json!({"displayName": "x", "createdBy": {"appId": "forged"}})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "createdBy.appId is server-set");
    let (s, patched) = call(
        &client,
        Method::PATCH,
        &format!("{defs}/{def_id}"),
        &badge,
        Some(json!({"displayName": "Badge release 2"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{patched}");
    assert_eq!(patched["displayName"], "Badge release 2");
    let (_, list) = call(&client, Method::GET, &defs, &badge, None).await;
    assert_eq!(list["value"].as_array().unwrap().len(), 1);

    // Triggers: an admin signed in through the definition's own app; one per printer.
    let triggers = format!("{}/print/printers/{queue}/taskTriggers", run.base);
    let bind = json!({"event": "jobStarted", "definition@odata.bind": format!("https://graph.microsoft.com/v1.0/print/taskDefinitions/{def_id}")});
    let (s, body) = call(
        &client,
        Method::POST,
        &triggers,
        &run.user("admin", ADMIN_SCOPES, true),
        Some(bind.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(message(&body).contains("another application"));
    let not_admin = run
        .cloud
        .token_key()
        .mint_user_via_app(
            "badge",
            "carol",
            &["Printer.FullControl.All".into()],
            false,
            chrono::Duration::hours(1),
        )
        .unwrap();
    let (s, _) = call(
        &client,
        Method::POST,
        &triggers,
        &not_admin,
        Some(bind.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let admin_badge = run.admin_via("badge");
    let (s, trigger) = call(
        &client,
        Method::POST,
        &triggers,
        &admin_badge,
        Some(bind.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{trigger}");
    assert_eq!(trigger["event"], "jobStarted");
    let trigger_id = trigger["id"].as_str().unwrap().to_string();
    let (s, _) = call(&client, Method::POST, &triggers, &admin_badge, Some(bind)).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (_, list) = call(&client, Method::GET, &triggers, &admin_badge, None).await;
    assert_eq!(list["value"][0]["id"], trigger_id.as_str());

    // A job started on the queue is held, with a processing task.
    let (job1, status) = started_job(&client, &run, &queue, &alice).await;
    assert_eq!(status["state"], "paused");
    assert_eq!(status["details"], json!(["releaseWait"]));
    assert!(run.cloud.fetchable_jobs(&queue).unwrap().is_empty());
    let job1_url = format!("{}/print/printers/{queue}/jobs/{job1}", run.base);
    let (_, job) = call(
        &client,
        Method::GET,
        &format!("{job1_url}?$expand=tasks"),
        &alice,
        None,
    )
    .await;
    assert_eq!(job["isFetchable"], false);
    let task = &job["tasks"][0];
    assert_eq!(task["status"]["state"], "processing");
    assert_eq!(task["parentUrl"], job1_url);
    let task1 = task["id"].as_str().unwrap().to_string();
    let (_, def_of_task) = call(
        &client,
        Method::GET,
        &format!("{job1_url}/tasks/{task1}/definition"),
        &alice,
        None,
    )
    .await;
    assert_eq!(def_of_task["id"], def_id.as_str());
    let (_, trigger_of_task) = call(
        &client,
        Method::GET,
        &format!("{job1_url}/tasks/{task1}/trigger"),
        &alice,
        None,
    )
    .await;
    assert_eq!(trigger_of_task["id"], trigger_id.as_str());
    let (_, def_tasks) = call(
        &client,
        Method::GET,
        &format!("{defs}/{def_id}/tasks"),
        &badge,
        None,
    )
    .await;
    assert_eq!(def_tasks["value"][0]["id"], task1.as_str());

    // Only the app whose trigger made the task may act on the job, and only with app roles.
    let intruder = run.app("intruder", BADGE_ROLES);
    let (s, body) = call(
        &client,
        Method::POST,
        &format!("{job1_url}/abort"),
        &intruder,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let (s, _) = call(
        &client,
        Method::POST,
        &format!("{job1_url}/abort"),
        &alice,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let no_printer_role = run.app("badge", &["PrintJob.Manage.All"]);
    let (s, body) = call(
        &client,
        Method::PATCH,
        &job1_url,
        &no_printer_role,
        Some(json!({"configuration": {"copies": 2}})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let (s, body) = call(
        &client,
        Method::PATCH,
        &job1_url,
        &badge,
        Some(json!({"configuration": {"copies": 500}})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(message(&body).contains("configuration.copies"), "{body}");
    let (s, body) = call(
        &client,
        Method::PATCH,
        &job1_url,
        &badge,
        Some(json!({"configuration": {"copies": 2}, "status": {}})),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "only configuration is updatable: {body}"
    );
    let (s, body) = call(
        &client,
        Method::PATCH,
        &job1_url,
        &badge,
        Some(json!({"configuration": {"copies": 2, "colorMode": "color"}})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["configuration"]["copies"], 2);

    // Redirect: the configuration must suit the destination (no colour on the floor printer).
    let redirect = format!("{job1_url}/redirect");
    let (s, body) = call(
        &client,
        Method::POST,
        &redirect,
        &badge,
        Some(json!({"destinationPrinterId": floor})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(message(&body).contains("configuration.colorMode"), "{body}");
    let (s, moved) = call(&client, Method::POST, &redirect, &badge,
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
    let (_, source) = call(
        &client,
        Method::GET,
        &format!("{job1_url}?$expand=tasks"),
        &alice,
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
    let (s, moved_doc) = call(
        &client,
        Method::GET,
        &format!(
            "{}/print/printers/{floor}/jobs/{moved_id}?$expand=documents",
            run.base
        ),
        &alice,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{moved_doc}");
    assert_eq!(moved_doc["documents"][0]["displayName"], "pull.pdf");
    // The task is finished, so the app can no longer act on the old job.
    let (s, _) = call(
        &client,
        Method::POST,
        &redirect,
        &badge,
        Some(json!({"destinationPrinterId": floor})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Releasing: the app reports its task completed and the job becomes fetchable.
    let (job2, _) = started_job(&client, &run, &queue, &alice).await;
    let (_, tasks) = call(
        &client,
        Method::GET,
        &format!("{}/print/printers/{queue}/jobs/{job2}/tasks", run.base),
        &alice,
        None,
    )
    .await;
    let task2 = tasks["value"][0]["id"].as_str().unwrap().to_string();
    let task2_url = format!("{defs}/{def_id}/tasks/{task2}");
    let done = json!({"status": {"state": "completed", "description": "Released at the printer."}});
    let (s, _) = call(
        &client,
        Method::PATCH,
        &task2_url,
        &intruder,
        Some(done.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, body) = call(
        &client,
        Method::PATCH,
        &task2_url,
        &badge,
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
    let (s, _) = call(
        &client,
        Method::PATCH,
        &task2_url,
        &badge,
        Some(done.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "a finished task stays finished");

    // Aborting through the task, and through the abort action with a reason.
    let (job3, _) = started_job(&client, &run, &queue, &alice).await;
    let (_, tasks) = call(
        &client,
        Method::GET,
        &format!("{}/print/printers/{queue}/jobs/{job3}/tasks", run.base),
        &alice,
        None,
    )
    .await;
    let task3_url = format!(
        "{defs}/{def_id}/tasks/{}",
        tasks["value"][0]["id"].as_str().unwrap()
    );
    let (s, _) = call(
        &client,
        Method::PATCH,
        &task3_url,
        &badge,
        Some(json!({"status": {"state": "aborted", "description": "No badge."}})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, job) = call(
        &client,
        Method::GET,
        &format!("{}/print/printers/{queue}/jobs/{job3}", run.base),
        &alice,
        None,
    )
    .await;
    assert_eq!(job["status"]["state"], "aborted");
    assert_eq!(job["isFetchable"], false);
    let (job4, _) = started_job(&client, &run, &queue, &alice).await;
    let job4_url = format!("{}/print/printers/{queue}/jobs/{job4}", run.base);
    let (s, body) = call(
        &client,
        Method::POST,
        &format!("{job4_url}/abort"),
        &badge,
        Some(json!({"reason": "Badge expired"})),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    let (_, job) = call(
        &client,
        Method::GET,
        &format!("{job4_url}?$expand=tasks"),
        &alice,
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
    let (s, _) = call(
        &client,
        Method::POST,
        &format!("{job4_url}/abort"),
        &badge,
        None,
    )
    .await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "an aborted job cannot be aborted again"
    );

    // A definition goes only once nothing uses it.
    let (s, body) = call(
        &client,
        Method::DELETE,
        &format!("{defs}/{def_id}"),
        &badge,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    let (s, _) = call(
        &client,
        Method::DELETE,
        &format!("{triggers}/{trigger_id}"),
        &admin_badge,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, body) = call(
        &client,
        Method::DELETE,
        &format!("{defs}/{def_id}"),
        &badge,
        None,
    )
    .await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "job 4's task is still processing: {body}"
    );
    let task4 = job["tasks"][0]["id"].as_str().unwrap();
    let (s, _) = call(
        &client,
        Method::PATCH,
        &format!("{defs}/{def_id}/tasks/{task4}"),
        &badge,
        Some(done),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, job) = call(&client, Method::GET, &job4_url, &alice, None).await;
    assert_eq!(
        job["status"]["state"], "aborted",
        "completing the task of an aborted job does not revive it"
    );
    let (s, _) = call(
        &client,
        Method::DELETE,
        &format!("{defs}/{def_id}"),
        &badge,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = call(
        &client,
        Method::GET,
        &format!("{defs}/{def_id}"),
        &badge,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Without a trigger, jobs on the queue go straight to the printer again.
    let (_, status) = started_job(&client, &run, &queue, &alice).await;
    assert_eq!(status["state"], "processing");
}

#[tokio::test]
async fn printer_patch_and_job_configurations_pass_the_whole_rule_set() {
    let dir = tempfile::tempdir().unwrap();
    let run = Running::start(dir.path()).await;
    let client = Client::new();
    let id = printer(&client, &run, "Rules", false).await;
    let url = format!("{}/print/printers/{id}", run.base);
    let admin = run.user("admin", ADMIN_SCOPES, true);
    let app = run.app("connector", &["Printer.ReadWrite.All"]);

    // Defaults beyond what content type, media, colour and duplex cover are checked too.
    let (s, body) = call(
        &client,
        Method::PATCH,
        &url,
        &admin,
        Some(json!({"defaults": {"dpi": 1200}})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(message(&body).contains("defaults.dpi"), "{body}");
    let (s, body) = call(
        &client,
        Method::PATCH,
        &url,
        &admin,
        Some(json!({"defaults": {"mediaSize": "A3", "copiesPerJob": 500}})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        message(&body).contains("defaults.mediaSize")
            && message(&body).contains("defaults.copiesPerJob"),
        "every violation is named: {body}"
    );
    let (s, body) = call(
        &client,
        Method::PATCH,
        &url,
        &admin,
        Some(json!({"defaults": {"dpi": 600, "mediaSize": "North America Letter"}})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");

    // Capabilities are checked on their own and against the current defaults.
    let (s, body) = call(
        &client,
        Method::PATCH,
        &url,
        &app,
        Some(json!({"capabilities": {"duplexModes": ["flipOnLongEdge"]}})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        message(&body).contains("capabilities.duplexModes"),
        "{body}"
    );
    let (s, body) = call(
        &client,
        Method::PATCH,
        &url,
        &app,
        Some(json!({"capabilities": {"mediaSizes": ["A4"]}})),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "the default Letter would fall out: {body}"
    );
    assert!(message(&body).contains("defaults.mediaSize"), "{body}");
    let (_, got) = call(
        &client,
        Method::GET,
        &format!("{url}?$select=capabilities,defaults"),
        &admin,
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
    let (s, body) = call(
        &client,
        Method::POST,
        &jobs,
        &alice,
        Some(json!({"configuration": {"colorMode": "color", "duplexMode": "flipOnShortEdge"}})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        message(&body).contains("configuration.colorMode")
            && message(&body).contains("configuration.duplexMode"),
        "{body}"
    );
    let (s, body) = call(
        &client,
        Method::POST,
        &jobs,
        &alice,
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
    let dir = tempfile::tempdir().unwrap();
    let run = Running::start(dir.path()).await;
    let client = Client::new();
    let queue = printer(&client, &run, "Pull queue", true).await;
    let uploader_roles: Vec<&str> = BADGE_ROLES
        .iter()
        .copied()
        .chain(["PrintJob.ReadWrite.All"])
        .collect();
    let badge = run.app("badge", &uploader_roles);
    let alice = run.user("alice", USER_SCOPES, false);
    let defs = format!("{}/print/taskDefinitions", run.base);
    let (s, def) = call(
        &client,
        Method::POST,
        &defs,
        &badge,
        Some(json!({"displayName": "Badge release", "createdBy": {"displayName": "Badge app"}})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{def}");
    let bind = json!({"event": "jobStarted", "definition@odata.bind": format!("https://graph.microsoft.com/v1.0/print/taskDefinitions/{}", def["id"].as_str().unwrap())});
    let (s, trigger) = call(
        &client,
        Method::POST,
        &format!("{}/print/printers/{queue}/taskTriggers", run.base),
        &run.admin_via("badge"),
        Some(bind),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{trigger}");
    let (job, status) = started_job(&client, &run, &queue, &alice).await;
    assert_eq!(status["details"], json!(["releaseWait"]));
    let job_url = format!("{}/print/printers/{queue}/jobs/{job}", run.base);
    let (_, with_docs) = call(
        &client,
        Method::GET,
        &format!("{job_url}?$expand=documents"),
        &alice,
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
    let (s, body) = call(&client, Method::POST, &create, &alice, Some(props.clone())).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    let (s, body) = call(
        &client,
        Method::POST,
        &create,
        &run.app("intruder", &uploader_roles),
        Some(props.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let (s, body) = call(
        &client,
        Method::POST,
        &create,
        &run.app("badge", BADGE_ROLES),
        Some(props.clone()),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "PrintJob.ReadWrite.All is required: {body}"
    );
    let (s, session) = call(&client, Method::POST, &create, &badge, Some(props)).await;
    assert_eq!(s, StatusCode::OK, "{session}");
    upload_whole(&client, &session, replacement.clone()).await;

    // The job still waits for release, now with the app's document.
    let (_, held) = call(
        &client,
        Method::GET,
        &format!("{job_url}?$expand=documents"),
        &alice,
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
