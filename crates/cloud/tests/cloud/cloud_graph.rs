//! The Graph print surface over real HTTP on loopback: printers, registration, shares, jobs,
//! documents, the auth matrix, OData conventions and durability across a restart.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use printlab_testkit::{TestCloud, call, csr_base64, download, foreign_token};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

const USER_SCOPES: &[&str] = &[
    "PrintJob.ReadWrite",
    "Printer.Read.All",
    "PrinterShare.ReadBasic.All",
];

fn no_redirects() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Gives a printer PDF-only capabilities (as the app that registered it would).
async fn make_pdf_printer(client: &Client, run: &TestCloud, printer_id: &str, app_token: &str) {
    let (status, _, body) = call(
        client,
        Method::PATCH,
        &format!("{}/print/printers/{printer_id}", run.v1()),
        Some(app_token),
        Some(json!({
            "capabilities": {"contentTypes": ["application/pdf"], "mediaSizes": ["A4", "North America Letter"],
                             "finishings": ["none", "staple", "stapleTripleLeft"],
                             "colorModes": ["blackAndWhite", "color"], "dpis": [300, 600],
                             "duplexModes": ["oneSided", "flipOnLongEdge"],
                             "copiesPerJob": {"start": 1, "end": 99}},
            "defaults": {"contentType": "application/pdf", "mediaSize": "A4", "finishings": ["stapleTripleLeft"]},
            "isAcceptingJobs": true,
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn auth_matrix_no_token_401_wrong_scope_403_wrong_kind_403() {
    let run = TestCloud::start().await;
    let client = Client::new();
    let url = format!("{}/print/printers", run.v1());
    let (s, _, body) = call(&client, Method::GET, &url, None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthenticated");
    assert!(body["error"]["innerError"]["request-id"].is_string());
    let (s, _, _) = call(&client, Method::GET, &url, Some("not-a-jwt"), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let foreign = foreign_token("eve", &["Printer.Read.All"]);
    let (s, _, _) = call(&client, Method::GET, &url, Some(&foreign), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let wrong_scope = run.user("bob", &["PrintJob.ReadWrite"], false);
    let (s, _, body) = call(&client, Method::GET, &url, Some(&wrong_scope), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "accessDenied");
    // Listing printers is delegated-only in Graph.
    let app = run.app("reporting", &["Printer.Read.All"]);
    let (s, _, _) = call(&client, Method::GET, &url, Some(&app), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let reader = run.user("bob", &["Printer.Read.All"], false);
    let (s, _, body) = call(&client, Method::GET, &url, Some(&reader), None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#print/printers")
    );
    let (s, _, _) = call(
        &client,
        Method::GET,
        &format!("{}/print/nothing", run.v1()),
        Some(&reader),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    run.stop().await;
}

#[tokio::test]
async fn printer_registration_issues_a_certificate_for_the_csr() {
    let run = TestCloud::start().await;
    let client = Client::new();
    let admin = run.admin();
    let (csr, public_key) = csr_base64("printer.printlab.test");
    let (status, headers, body) = call(
        &client,
        Method::POST,
        &format!("{}/print/printers/create", run.v1()),
        Some(&admin),
        Some(json!({
            "displayName": "Lab 1", "manufacturer": "printlab", "model": "virtual",
            "physicalDeviceId": null, "hasPhysicalDevice": false,
            "certificateSigningRequest": {"content": csr, "transportKey": "a2V5"},
            "connectorId": null
        })),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert!(headers.contains_key("retry-after"));
    let location = headers["operation-location"].to_str().unwrap();
    assert!(location.starts_with(&format!("{}/print/operations/", run.v1())));
    let (status, _, op) = call(&client, Method::GET, location, Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(op["@odata.type"], "#microsoft.graph.printerCreateOperation");
    assert_eq!(op["status"]["state"], "succeeded");
    assert_eq!(op["printer"]["displayName"], "Lab 1");
    assert_eq!(op["printer"]["isShared"], false);
    let der = STANDARD
        .decode(op["certificate"].as_str().unwrap())
        .unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    assert_eq!(
        cert.public_key().subject_public_key.data.as_ref(),
        public_key.as_slice()
    );
    assert!(
        cert.issuer()
            .to_string()
            .contains("printlab Universal Print emulator CA")
    );
    let ca_pem = run.cloud.ca_certificate_pem().to_string();
    let (_, ca_pem) = x509_parser::pem::parse_x509_pem(ca_pem.as_bytes()).unwrap();
    let ca = ca_pem.parse_x509().unwrap();
    cert.verify_signature(Some(ca.public_key())).unwrap();

    // A CSR that is not PKCS#10 is the client's error, named.
    let (status, _, body) = call(
        &client,
        Method::POST,
        &format!("{}/print/printers/create", run.v1()),
        Some(&admin),
        Some(json!({
            "displayName": "Lab 2", "manufacturer": "p", "model": "v",
            "certificateSigningRequest": {"content": "aGVsbG8=", "transportKey": "a2V5"}
        })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("certificateSigningRequest")
    );
    run.stop().await;
}

#[tokio::test]
async fn printers_select_patch_rules_evolvable_enums_restore_and_delete() {
    let run = TestCloud::start().await;
    let client = Client::new();
    let admin = run.admin();
    let app = run.app("connector", &["Printer.ReadWrite.All"]);
    // Applications may update virtual printers (no physical device), which these are.
    let printer = run.graph(&admin).create_virtual_printer("Lab").await;
    let url = format!("{}/print/printers/{printer}", run.v1());
    let (s, _, body) = call(
        &client,
        Method::PATCH,
        &url,
        Some(&app),
        Some(json!({"model": "x"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["model"], "x");

    // Delegated PATCH: defaults/location/displayName only.
    let (s, _, body) = call(
        &client,
        Method::PATCH,
        &url,
        Some(&admin),
        Some(json!({"capabilities": {}})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("'capabilities'")
    );
    let (s, _, body) = call(
        &client,
        Method::PATCH,
        &url,
        Some(&admin),
        Some(json!({"displayName": "Lab A", "location": {"building": "B7", "floor": "2"}})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["displayName"], "Lab A");
    assert_eq!(body["location"]["building"], "B7");
    // Unknown nested property: 400 naming it.
    let (s, _, body) = call(
        &client,
        Method::PATCH,
        &url,
        Some(&admin),
        Some(json!({"defaults": {"colour": "color"}})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colour"),
        "{body}"
    );
    // Malformed JSON: 400.
    let resp = client
        .patch(&url)
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{\"displayName\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    // Defaults must stay within capabilities (none declared yet: anything goes until the
    // capabilities name content types).
    make_pdf_printer(&client, &run, &printer, &app).await;
    let (s, _, body) = call(
        &client,
        Method::PATCH,
        &url,
        Some(&admin),
        Some(json!({"defaults": {"contentType": "image/pwg-raster"}})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("contentType"),
        "{body}"
    );
    let (s, _, body) = call(
        &client,
        Method::PATCH,
        &url,
        Some(&admin),
        Some(json!({"defaults": {"mediaSize": "North America Letter"}})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // The merge kept the other defaults.
    assert_eq!(body["defaults"]["contentType"], "application/pdf");
    assert_eq!(body["defaults"]["mediaSize"], "North America Letter");
    let (s, _, _) = call(
        &client,
        Method::POST,
        &format!("{url}/restoreFactoryDefaults"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, _, body) = call(&client, Method::GET, &url, Some(&admin), None).await;
    assert!(body["defaults"]["mediaSize"].is_null(), "{body}");

    // Capabilities only when selected; never in lists.
    assert!(body.get("capabilities").is_none());
    let (_, _, body) = call(
        &client,
        Method::GET,
        &format!("{url}?$select=id,displayName,capabilities"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(body["capabilities"]["contentTypes"][0], "application/pdf");
    assert_eq!(body.as_object().unwrap().len(), 4, "{body}");
    let (_, _, list) = call(
        &client,
        Method::GET,
        &format!("{}/print/printers", run.v1()),
        Some(&admin),
        None,
    )
    .await;
    assert!(list["value"][0].get("capabilities").is_none());
    assert!(list["value"][0].get("defaults").is_none());
    let (s, _, _) = call(
        &client,
        Method::GET,
        &format!("{url}?$select=colour"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _, _) = call(
        &client,
        Method::GET,
        &format!("{url}?$orderby=id"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Deleting: a shared printer is refused until unshared.
    let (s, _, share) = call(&client, Method::POST, &format!("{}/print/shares", run.v1()), Some(&admin),
        Some(json!({"displayName": "Lab share", "printer@odata.bind": format!("https://graph.microsoft.com/v1.0/print/printers/{printer}")}))).await;
    assert_eq!(s, StatusCode::CREATED, "{share}");
    let (s, _, _) = call(&client, Method::DELETE, &url, Some(&admin), None).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _, _) = call(
        &client,
        Method::DELETE,
        &format!(
            "{}/print/shares/{}",
            run.v1(),
            share["id"].as_str().unwrap()
        ),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _) = call(&client, Method::DELETE, &url, Some(&admin), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _) = call(&client, Method::GET, &url, Some(&admin), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    run.stop().await;
}

#[tokio::test]
async fn application_patch_capabilities_and_the_prefer_header() {
    let run = TestCloud::start().await;
    let client = Client::new();
    let admin = run.admin();
    let printer = run.graph(&admin).create_virtual_printer("Lab").await;
    let url = format!("{}/print/printers/{printer}", run.v1());
    // Read-only properties are ignored; anything not updatable is refused by name.
    let app = run.app("connector", &["Printer.ReadWrite.All"]);
    let (s, _, body) = call(
        &client,
        Method::PATCH,
        &url,
        Some(&app),
        Some(json!({"hasPhysicalDevice": true})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["hasPhysicalDevice"], false);
    let (s, _, body) = call(
        &client,
        Method::PATCH,
        &url,
        Some(&app),
        Some(json!({"connectors": []})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("connectors")
    );
    let reader = run.app("reader", &["Printer.Read.All"]);
    let (s, _, _) = call(
        &client,
        Method::PATCH,
        &url,
        Some(&reader),
        Some(json!({"model": "m"})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    make_pdf_printer(&client, &run, &printer, &app).await;
    let (s, _, body) = call(&client, Method::PATCH, &url, Some(&app), Some(json!({
        "status": {"state": "stopped", "details": ["mediaJam", "staplerJam"], "description": "jammed"}
    }))).await;
    assert_eq!(s, StatusCode::OK, "{body}");

    // Without the Prefer header evolvable members read as unknownFutureValue.
    let selected = format!("{url}?$select=capabilities,defaults,status");
    let (_, _, plain) = call(&client, Method::GET, &selected, Some(&app), None).await;
    assert_eq!(
        plain["capabilities"]["finishings"],
        json!(["none", "staple", "unknownFutureValue"])
    );
    assert_eq!(
        plain["defaults"]["finishings"],
        json!(["unknownFutureValue"])
    );
    assert_eq!(
        plain["status"]["details"],
        json!(["mediaJam", "unknownFutureValue"])
    );
    let resp = client
        .get(&selected)
        .bearer_auth(&app)
        .header("Prefer", "include-unknown-enum-members")
        .send()
        .await
        .unwrap();
    let full: Value = resp.json().await.unwrap();
    assert_eq!(
        full["capabilities"]["finishings"],
        json!(["none", "staple", "stapleTripleLeft"])
    );
    assert_eq!(full["status"]["details"], json!(["mediaJam", "staplerJam"]));
    run.stop().await;
}

/// An admin-registered PDF printer with a share; gives (printer id, share id).
async fn shared_pdf_printer(
    client: &Client,
    run: &TestCloud,
    allow_all_users: bool,
) -> (String, String) {
    let admin = run.admin();
    let printer = run.graph(&admin).create_virtual_printer("Floor 2").await;
    make_pdf_printer(
        client,
        run,
        &printer,
        &run.app("connector", &["Printer.ReadWrite.All"]),
    )
    .await;
    let (s, _, share) = call(
        client,
        Method::POST,
        &format!("{}/print/shares", run.v1()),
        Some(&admin),
        Some(
            json!({"displayName": "Floor 2", "allowAllUsers": allow_all_users,
                    "printer@odata.bind": format!("{}/print/printers('{printer}')", run.v1())}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{share}");
    (printer, share["id"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn shares_honour_allowed_users_and_patch() {
    let run = TestCloud::start().await;
    let client = Client::new();
    let admin = run.admin();
    let (printer, share) = shared_pdf_printer(&client, &run, false).await;
    let share_url = format!("{}/print/shares/{share}", run.v1());
    let alice = run.user("alice", USER_SCOPES, false);
    let jobs = format!("{share_url}/jobs");
    let (s, _, body) = call(
        &client,
        Method::POST,
        &jobs,
        Some(&alice),
        Some(json!({"configuration": {}})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let alice_id = printlab_cloud::auth::object_id("user", "alice@printlab.test");
    let (s, _, _) = call(
        &client,
        Method::POST,
        &format!("{share_url}/allowedUsers/$ref"),
        Some(&admin),
        Some(json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/users/{alice_id}")})),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _) = call(
        &client,
        Method::POST,
        &jobs,
        Some(&alice),
        Some(json!({"configuration": {}})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _, _) = call(
        &client,
        Method::DELETE,
        &format!("{share_url}/allowedUsers/{alice_id}/$ref"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _) = call(&client, Method::POST, &jobs, Some(&alice), Some(json!({}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, body) = call(
        &client,
        Method::PATCH,
        &share_url,
        Some(&admin),
        Some(json!({"allowAllUsers": true, "displayName": "F2"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["allowAllUsers"], true);
    assert_eq!(body["displayName"], "F2");
    let (s, _, _) = call(&client, Method::POST, &jobs, Some(&alice), Some(json!({}))).await;
    assert_eq!(s, StatusCode::CREATED);
    // A second share of the same printer is refused; a non-admin sees only the basic fields.
    let (s, _, _) = call(&client, Method::POST, &format!("{}/print/shares", run.v1()), Some(&admin),
        Some(json!({"displayName": "again", "printer@odata.bind": format!("{}/print/printers/{printer}", run.v1())}))).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _, list) = call(
        &client,
        Method::GET,
        &format!("{}/print/shares", run.v1()),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let keys: Vec<&String> = list["value"][0].as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 5, "{keys:?}");
    let (s, _, body) = call(&client, Method::POST, &format!("{}/print/shares", run.v1()), Some(&admin),
        Some(json!({"displayName": "x", "printer@odata.bind": "https://elsewhere/v1.0/print/shares/1"}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("printer@odata.bind")
    );
    let (s, _, printer_json) = call(
        &client,
        Method::GET,
        &format!("{share_url}/printer"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(printer_json["isShared"], true);
    run.stop().await;
}

#[tokio::test]
async fn jobs_create_list_page_filter_get_cancel_and_ownership() {
    let run = TestCloud::start().await;
    let client = Client::new();
    let admin = run.admin();
    let (printer, share) = shared_pdf_printer(&client, &run, true).await;
    let alice = run.user("alice", USER_SCOPES, false);
    let bob = run.user("bob", USER_SCOPES, false);
    let share_jobs = format!("{}/print/shares/{share}/jobs", run.v1());
    let printer_jobs = format!("{}/print/printers/{printer}/jobs", run.v1());
    let (s, _, job) = call(&client, Method::POST, &share_jobs, Some(&alice),
        Some(json!({"configuration": {"copies": 2, "mediaSize": "A4", "finishings": ["stapleTripleLeft"]}}))).await;
    assert_eq!(s, StatusCode::CREATED, "{job}");
    assert!(
        job["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with(&format!("#print/shares('{share}')/jobs/$entity"))
    );
    assert_eq!(job["status"]["state"], "paused");
    assert_eq!(job["status"]["details"], json!(["uploadPending"]));
    assert_eq!(job["isFetchable"], false);
    assert_eq!(job["documents"].as_array().unwrap().len(), 1);
    assert_eq!(job["documents"][0]["size"], 0);
    assert_eq!(job["documents"][0]["contentType"], "");
    assert_eq!(
        job["configuration"]["finishings"],
        json!(["unknownFutureValue"])
    );
    assert_eq!(job["createdBy"]["userPrincipalName"], "alice@printlab.test");
    let alice_job = job["id"].as_str().unwrap().to_string();
    assert!(alice_job.parse::<u64>().is_ok());
    let doc_id = job["documents"][0]["id"].as_str().unwrap().to_string();
    uuid::Uuid::parse_str(&doc_id).unwrap();

    for _ in 0..2 {
        let (s, _, _) = call(
            &client,
            Method::POST,
            &share_jobs,
            Some(&bob),
            Some(json!({"configuration": {}})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    // Unknown property and broken JSON on create.
    let (s, _, body) = call(
        &client,
        Method::POST,
        &share_jobs,
        Some(&bob),
        Some(json!({"configuration": {"colour": "x"}})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colour")
    );
    let (s, _, body) = call(
        &client,
        Method::POST,
        &share_jobs,
        Some(&bob),
        Some(json!({"name": "x"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body["error"]["message"].as_str().unwrap().contains("name"));

    // Users see only their own jobs; an admin with a *.All scope sees all, pages and filters.
    let (_, _, list) = call(&client, Method::GET, &share_jobs, Some(&alice), None).await;
    assert_eq!(list["value"].as_array().unwrap().len(), 1);
    assert!(list["value"][0].get("documents").is_none());
    let (s, _, _) = call(
        &client,
        Method::GET,
        &format!("{share_jobs}/{alice_job}"),
        Some(&bob),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = call(
        &client,
        Method::POST,
        &format!("{share_jobs}/{alice_job}/cancel"),
        Some(&bob),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let mut seen = Vec::new();
    let mut next = Some(format!("{printer_jobs}?$top=2"));
    while let Some(url) = next {
        let (s, _, page) = call(&client, Method::GET, &url, Some(&admin), None).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        assert!(page["value"].as_array().unwrap().len() <= 2);
        seen.extend(
            page["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|j| j["id"].as_str().unwrap().to_string()),
        );
        next = page["@odata.nextLink"].as_str().map(str::to_string);
    }
    assert_eq!(seen.len(), 3);
    let filter =
        format!("{printer_jobs}?$filter=createdBy/userPrincipalName eq 'bob@printlab.test'");
    let (_, _, bobs) = call(&client, Method::GET, &filter, Some(&admin), None).await;
    assert_eq!(bobs["value"].as_array().unwrap().len(), 2);
    let (s, _, _) = call(
        &client,
        Method::GET,
        &format!("{printer_jobs}?$filter=id eq '1'"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // $expand and $select on one job, documents list/get.
    let (_, _, got) = call(
        &client,
        Method::GET,
        &format!("{share_jobs}/{alice_job}?$expand=documents,tasks&$select=id,status"),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(got["documents"][0]["id"], doc_id);
    assert_eq!(got["tasks"], json!([]));
    assert!(got.get("configuration").is_none());
    let (_, _, docs) = call(
        &client,
        Method::GET,
        &format!("{share_jobs}/{alice_job}/documents"),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(docs["value"][0]["id"], doc_id);
    let (s, _, _) = call(
        &client,
        Method::GET,
        &format!("{printer_jobs}/{alice_job}/documents/{doc_id}"),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);

    // Start is refused while the document is not uploaded; cancel works and is announced.
    let (s, _, body) = call(
        &client,
        Method::POST,
        &format!("{share_jobs}/{alice_job}/start"),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    let (s, _, _) = call(
        &client,
        Method::POST,
        &format!("{share_jobs}/{alice_job}/cancel"),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(
        run.cloud
            .fetchable_jobs(&printer)
            .unwrap()
            .iter()
            .all(|j| j.job.id != alice_job),
        "a canceled job is not fetchable"
    );
    let (_, _, got) = call(
        &client,
        Method::GET,
        &format!("{printer_jobs}/{alice_job}"),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(got["status"]["state"], "canceled");
    let (s, _, _) = call(
        &client,
        Method::POST,
        &format!("{share_jobs}/{alice_job}/cancel"),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    // Cancel is delegated-only.
    let app = run.app("connector", &["PrintJob.ReadWrite.All"]);
    let (s, _, _) = call(
        &client,
        Method::POST,
        &format!("{printer_jobs}/{alice_job}/cancel"),
        Some(&app),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    run.stop().await;
}

#[tokio::test]
async fn nothing_acknowledged_is_lost_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let run = TestCloud::start_in(dir.path()).await;
    let client = no_redirects();
    let (printer, share) = shared_pdf_printer(&client, &run, true).await;
    let alice = run.user("alice", USER_SCOPES, false);
    let share_jobs = format!("{}/print/shares/{share}/jobs", run.v1());
    let (_, _, first) = call(
        &client,
        Method::POST,
        &share_jobs,
        Some(&alice),
        Some(json!({"configuration": {"copies": 3}})),
    )
    .await;
    let (_, _, second) = call(
        &client,
        Method::POST,
        &share_jobs,
        Some(&alice),
        Some(json!({})),
    )
    .await;
    let second_id = second["id"].as_str().unwrap().to_string();
    let (s, _, _) = call(
        &client,
        Method::POST,
        &format!("{share_jobs}/{second_id}/cancel"),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let ca = run.cloud.ca_certificate_pem().to_string();
    drop(client);
    run.stop().await;

    let run = TestCloud::start_in(dir.path()).await;
    let client = Client::new();
    assert_eq!(run.cloud.ca_certificate_pem(), ca);
    // The old token still verifies: the signing key survived.
    let (s, _, list) = call(
        &client,
        Method::GET,
        &share_jobs.replace(&share_jobs[..share_jobs.find("/print").unwrap()], &run.v1()),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let jobs = list["value"].as_array().unwrap();
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[0]["id"], first["id"]);
    assert_eq!(jobs[0]["configuration"]["copies"], 3);
    assert_eq!(jobs[1]["status"]["state"], "canceled");
    let (_, _, third) = call(
        &client,
        Method::POST,
        &format!("{}/print/shares/{share}/jobs", run.v1()),
        Some(&alice),
        Some(json!({})),
    )
    .await;
    let n = |v: &Value| v["id"].as_str().unwrap().parse::<u64>().unwrap();
    assert!(n(&third) > n(&second), "job numbers never repeat");
    let (s, _, p) = call(
        &client,
        Method::GET,
        &format!("{}/print/printers/{printer}", run.v1()),
        Some(&run.admin()),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(p["isShared"], true);
    run.stop().await;
}

#[tokio::test]
async fn full_lifecycle_create_upload_out_of_order_start_fetchable_download() {
    let run = TestCloud::start().await;
    let client = no_redirects();
    let (printer, share) = shared_pdf_printer(&client, &run, true).await;
    let alice = run.user("alice", USER_SCOPES, false);
    let jobs = format!("{}/print/shares/{share}/jobs", run.v1());
    let (_, _, job) = call(
        &client,
        Method::POST,
        &jobs,
        Some(&alice),
        Some(json!({"configuration": {"copies": 1}})),
    )
    .await;
    let job_id = job["id"].as_str().unwrap().to_string();
    let doc_id = job["documents"][0]["id"].as_str().unwrap().to_string();
    let doc_url = format!("{jobs}/{job_id}/documents/{doc_id}");
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();

    let (s, _, body) = call(&client, Method::POST, &format!("{doc_url}/createUploadSession"), Some(&alice),
        Some(json!({"properties": {"documentName": "t.png", "contentType": "image/png", "size": bytes.len()}}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("image/png")
    );
    let (s, _, session) = call(&client, Method::POST, &format!("{doc_url}/createUploadSession"), Some(&alice),
        Some(json!({"properties": {"documentName": "report.pdf", "contentType": "application/pdf", "size": bytes.len()}}))).await;
    assert_eq!(s, StatusCode::OK, "{session}");
    assert_eq!(
        session["nextExpectedRanges"],
        json!([format!("0-{}", bytes.len() - 1)])
    );
    let upload_url = session["uploadUrl"].as_str().unwrap().to_string();

    // The second half first, then the first: out of order.
    let half = 150_000usize;
    let put = |from: usize, to: usize| {
        client
            .put(&upload_url)
            .header(
                "Content-Range",
                format!("bytes {from}-{}/{}", to - 1, bytes.len()),
            )
            .body(bytes[from..to].to_vec())
            .send()
    };
    let r = put(half, bytes.len()).await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let (s, _, _) = call(
        &client,
        Method::POST,
        &format!("{jobs}/{job_id}/start"),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "start waits for the whole document"
    );
    let r = put(0, half).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);

    let (s, _, status) = call(
        &client,
        Method::POST,
        &format!("{jobs}/{job_id}/start"),
        Some(&alice),
        Some(json!({})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{status}");
    assert_eq!(status["state"], "processing");
    assert_eq!(status["details"], json!(["interpreting"]));
    let fetchable = run.cloud.fetchable_jobs(&printer).unwrap();
    assert_eq!(fetchable.len(), 1);
    assert_eq!(fetchable[0].job.id, job_id);

    let (_, _, got) = call(
        &client,
        Method::GET,
        &format!("{jobs}/{job_id}?$expand=documents"),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(got["isFetchable"], true);
    assert_eq!(got["documents"][0]["size"], bytes.len());
    assert_eq!(got["documents"][0]["displayName"], "report.pdf");
    assert_eq!(got["documents"][0]["contentType"], "application/pdf");
    assert!(got["documents"][0]["uploadedDateTime"].is_string());

    let (s, headers, _) = call(
        &client,
        Method::GET,
        &format!("{doc_url}/$value"),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FOUND);
    let location = headers["location"].to_str().unwrap();
    let downloaded = download(&client, location).await;
    assert_eq!(downloaded, bytes);
    let (s, _, _) = call(
        &client,
        Method::GET,
        &format!("{doc_url}/$value"),
        Some(&run.user("bob", USER_SCOPES, false)),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    run.stop().await;
}

/// Microsoft's msgraph-sdk for Python, unmodified, with a static token (tests/run.sh sets
/// PRINTLAB_GRAPH_SDK_PYTHON to a venv that has it).
#[tokio::test]
async fn msgraph_sdk_python_client_runs_the_whole_flow() {
    let dir = tempfile::tempdir().unwrap();
    let run = TestCloud::start_in(dir.path()).await;
    msgraph_sdk_python_flow(&run, dir.path()).await;
    run.stop().await;
}

/// The same flow over HTTPS, the SDK's HTTP client (httpx) trusting the CA `--tls` creates
/// through `SSL_CERT_FILE`, as a user of the SDK would point it at the lab's CA.
#[tokio::test]
async fn msgraph_sdk_python_client_runs_the_whole_flow_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let run = TestCloud::builder().data(dir.path()).tls().start().await;
    assert!(run.v1().starts_with("https://"), "{}", run.v1());
    msgraph_sdk_python_flow(&run, dir.path()).await;
    run.stop().await;
}

/// Lists printers, creates a job on a share, uploads a multi-chunk document through an upload
/// session, starts the job and reads it back, all through the SDK (`cloud_sdk/graph_client.py`).
async fn msgraph_sdk_python_flow(run: &TestCloud, dir: &std::path::Path) {
    msgraph_sdk_python_flow_with(run, dir, || ()).await;
}

/// The same, with `before_sdk` run once the printer is shared, just before the SDK starts.
pub(super) async fn msgraph_sdk_python_flow_with(
    run: &TestCloud,
    dir: &std::path::Path,
    before_sdk: impl FnOnce(),
) {
    let python = std::env::var("PRINTLAB_GRAPH_SDK_PYTHON").expect(
        "PRINTLAB_GRAPH_SDK_PYTHON must name a Python with msgraph-sdk (tests/run.sh sets it)",
    );
    let client = run.http();
    let (printer, share) = shared_pdf_printer(&client, run, true).await;
    let token = run.user("carol", &["PrintJob.ReadWrite", "Printer.Read.All"], false);
    let file = dir.join("upload.bin");
    let bytes: Vec<u8> = (0..(3 * 327_680 + 1000u32))
        .map(|i| (i % 253) as u8)
        .collect();
    std::fs::write(&file, &bytes).unwrap();
    before_sdk();
    let mut sdk = tokio::process::Command::new(python);
    sdk.arg(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/cloud/cloud_sdk/graph_client.py"
    ))
    .args([&run.v1(), &token, &share, file.to_str().unwrap(), "327680"])
    .env_remove("SSL_CERT_DIR");
    match run.ca_file() {
        Some(ca) => sdk.env("SSL_CERT_FILE", ca),
        None => sdk.env_remove("SSL_CERT_FILE"),
    };
    let out = sdk.output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let seen: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert_eq!(seen["printers"], json!(["Floor 2"]));
    assert_eq!(seen["initial_state"], "paused");
    assert_eq!(seen["started_state"], "processing");
    assert_eq!(seen["document_size"], bytes.len());
    assert_eq!(seen["document_name"], "sdk.pdf");
    assert_eq!(seen["is_fetchable"], true);
    assert_eq!(run.cloud.fetchable_jobs(&printer).unwrap().len(), 1);
}

#[tokio::test]
async fn a_half_finished_upload_continues_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let run = TestCloud::start_in(dir.path()).await;
    let client = Client::new();
    let (printer, share) = shared_pdf_printer(&client, &run, true).await;
    let alice = run.user("alice", USER_SCOPES, false);
    let jobs = format!("{}/print/shares/{share}/jobs", run.v1());
    let (_, _, job) = call(&client, Method::POST, &jobs, Some(&alice), Some(json!({}))).await;
    let job_id = job["id"].as_str().unwrap().to_string();
    let doc_id = job["documents"][0]["id"].as_str().unwrap().to_string();
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 241) as u8).collect();
    let (_, _, session) = call(&client, Method::POST, &format!("{jobs}/{job_id}/documents/{doc_id}/createUploadSession"), Some(&alice),
        Some(json!({"properties": {"documentName": "a.pdf", "contentType": "application/pdf", "size": bytes.len()}}))).await;
    let upload_url = session["uploadUrl"].as_str().unwrap().to_string();
    let r = client
        .put(&upload_url)
        .header("Content-Range", format!("bytes 0-99999/{}", bytes.len()))
        .body(bytes[..100_000].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let old_base = run.v1();
    drop(client);
    run.stop().await;

    // The same folder, on a new port: the public URL changes, the session does not.
    let run = TestCloud::start_in(dir.path()).await;
    let client = Client::new();
    let upload_url = upload_url.replace(
        old_base.trim_end_matches("/v1.0"),
        run.v1().trim_end_matches("/v1.0"),
    );
    let progress: Value = client
        .get(&upload_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        progress["nextExpectedRanges"],
        json!([format!("100000-{}", bytes.len() - 1)])
    );
    let r = client
        .put(&upload_url)
        .header(
            "Content-Range",
            format!("bytes 100000-{}/{}", bytes.len() - 1, bytes.len()),
        )
        .body(bytes[100_000..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let jobs = format!("{}/print/shares/{share}/jobs", run.v1());
    let (s, _, _) = call(
        &client,
        Method::POST,
        &format!("{jobs}/{job_id}/start"),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        run.cloud.fetchable_jobs(&printer).unwrap()[0].document.size,
        bytes.len() as i64
    );
    run.stop().await;
}
