//! `/beta` over real HTTP on loopback: the beta aliases of the v1.0 resources and the 2020 beta
//! upload design (`.../documents/{id}/uploadSession`), sharing the upload engine with v1.0.

use printlab_testkit::{Graph, TestCloud, call, download};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

const USER_SCOPES: &[&str] = &["PrintJob.ReadWrite", "Printer.Read.All"];

/// Registers a virtual PDF printer through `{base}/print/printers/create`; gives its id and the
/// `Operation-Location` the registration answered with.
async fn pdf_printer(run: &TestCloud, base: &str, name: &str) -> (String, String) {
    let admin = Graph::new(base, &run.admin());
    let location = admin
        .create_printer_with(json!({
            "displayName": name, "manufacturer": "printlab", "model": "virtual",
            "hasPhysicalDevice": false,
        }))
        .await;
    let (s, op) = admin.get(&location).await;
    assert_eq!(s, StatusCode::OK, "{op}");
    let printer = op["printer"]["id"].as_str().unwrap().to_string();
    let (s, body) = admin
        .with_token(&run.app("connector", &["Printer.ReadWrite.All"]))
        .patch(
            &format!("/print/printers/{printer}"),
            json!({
                "capabilities": {"contentTypes": ["application/pdf"], "mediaSizes": ["A4"],
                                 "colorModes": ["blackAndWhite"], "dpis": [600], "duplexModes": ["oneSided"],
                                 "finishings": ["none"], "copiesPerJob": {"start": 1, "end": 9}},
                "defaults": {"contentType": "application/pdf", "mediaSize": "A4"},
                "isAcceptingJobs": true,
            }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    (printer, location)
}

/// Creates a job through `jobs_url`; gives (job id, document id).
async fn new_job(client: &Client, jobs_url: &str, token: &str) -> (String, String) {
    let (s, _, job) = call(
        client,
        Method::POST,
        jobs_url,
        Some(token),
        Some(json!({"configuration": {}})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{job}");
    (
        job["id"].as_str().unwrap().to_string(),
        job["documents"][0]["id"].as_str().unwrap().to_string(),
    )
}

/// One beta segment: `POST .../uploadSession/$value`.
async fn post_segment(
    client: &Client,
    session_url: &str,
    token: &str,
    if_match: &str,
    bytes: &[u8],
    (from, to): (usize, usize),
) -> (StatusCode, Value) {
    let resp = client
        .post(format!("{session_url}/$value"))
        .bearer_auth(token)
        .header("Content-Type", "application/octet-stream")
        .header("If-Match", if_match)
        .header(
            "Content-Range",
            format!("bytes {from}-{}/{}", to - 1, bytes.len()),
        )
        .body(bytes[from..to].to_vec())
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap())
}

#[tokio::test]
async fn beta_aliases_answer_with_beta_urls() {
    let run = TestCloud::start().await;
    let client = Client::new();
    let (first, location) = pdf_printer(&run, &run.beta(), "Beta 1").await;
    assert!(
        location.starts_with(&format!("{}/print/operations/", run.beta())),
        "{location}"
    );
    pdf_printer(&run, &run.beta(), "Beta 2").await;
    let admin = run.admin();
    let admin_g = run.graph(&admin);
    let at = format!("{}/print/printers?$top=1", run.beta());
    let page = admin_g.expect(Method::GET, &at, None, StatusCode::OK).await;
    assert_eq!(
        page["@odata.context"],
        format!("{}/$metadata#print/printers", run.beta())
    );
    assert_eq!(page["value"].as_array().unwrap().len(), 1);
    let next = page["@odata.nextLink"].as_str().unwrap();
    assert!(
        next.starts_with(&format!("{}/print/printers?", run.beta())),
        "{next}"
    );
    let rest = admin_g
        .expect(Method::GET, next, None, StatusCode::OK)
        .await;
    assert_eq!(rest["value"].as_array().unwrap().len(), 1);

    // The same printer under both versions, each with its own context.
    let (_, _, v1) = call(
        &client,
        Method::GET,
        &format!("{}/print/printers/{first}", run.v1()),
        Some(&admin),
        None,
    )
    .await;
    let (_, _, beta) = call(
        &client,
        Method::GET,
        &format!("{}/print/printers/{first}", run.beta()),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(
        v1["@odata.context"],
        format!("{}/$metadata#print/printers/$entity", run.v1())
    );
    assert_eq!(
        beta["@odata.context"],
        format!("{}/$metadata#print/printers/$entity", run.beta())
    );
    assert_eq!(v1["displayName"], beta["displayName"]);
    // Errors keep the OData shape; unknown segments are 404 under /beta too.
    let at = format!("{}/print/printers/{first}/nothing", run.beta());
    let err = admin_g
        .expect(Method::GET, &at, None, StatusCode::NOT_FOUND)
        .await;
    assert!(err["error"]["code"].is_string());
}

#[tokio::test]
async fn beta_upload_session_out_of_order_then_v1_sees_the_document() {
    let run = TestCloud::start().await;
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (printer, _) = pdf_printer(&run, &run.v1(), "Floor 3").await;
    let alice = run.user("alice", USER_SCOPES, false);
    let alice_g = run.graph(&alice);
    let jobs = format!("{}/print/printers/{printer}/jobs", run.beta());
    let (job_id, doc_id) = new_job(&client, &jobs, &alice).await;
    let session_url = format!("{jobs}/{job_id}/documents/{doc_id}/uploadSession");
    let bytes: Vec<u8> = (0..90_000u32).map(|i| (i * 7 % 253) as u8).collect();

    // Content types the printer does not take are refused, as in createUploadSession.
    let payload =
        Some(json!({"size": bytes.len(), "contentType": "image/png", "documentName": "x.png"}));
    alice_g
        .expect(Method::PUT, &session_url, payload, StatusCode::BAD_REQUEST)
        .await;
    let (s, headers, session) = call(
        &client,
        Method::PUT,
        &session_url,
        Some(&alice),
        Some(json!({"size": bytes.len(), "contentType": "application/pdf", "documentName": "beta.pdf"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{session}");
    let id = session["id"].as_str().unwrap().to_string();
    assert_eq!(headers["etag"].to_str().unwrap(), format!("\"{id}\""));
    assert_eq!(session["size"], bytes.len());
    assert_eq!(session["contentType"], "application/pdf");
    assert_eq!(session["documentName"], "beta.pdf");
    assert!(session["expiryDateTime"].is_string());
    assert_eq!(
        session["createdBy"]["user"]["id"],
        printlab_cloud::auth::object_id("user", "alice@printlab.test")
    );
    assert_eq!(
        session["createdBy"]["application"]["id"],
        printlab_cloud::auth::object_id("app", printlab_cloud::auth::PRINTLAB_CLIENT_APP)
    );
    assert_eq!(
        session["missingRanges"],
        json!([{"start": 0, "end": bytes.len() - 1}])
    );
    assert!(
        session["@odata.context"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/$metadata#", run.beta()))
    );

    // A wrong If-Match is 412 and stores nothing; a wrong content type is 415.
    let (s, err) = post_segment(
        &client,
        &session_url,
        &alice,
        "\"not-it\"",
        &bytes,
        (0, 30_000),
    )
    .await;
    assert_eq!(s, StatusCode::PRECONDITION_FAILED, "{err}");
    let resp = client
        .post(format!("{session_url}/$value"))
        .bearer_auth(&alice)
        .header("Content-Type", "application/pdf")
        .header("If-Match", &id)
        .header("Content-Range", format!("bytes 0-9/{}", bytes.len()))
        .body(bytes[..10].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // Last third, then first, then middle; the session reports the gaps as {start,end}.
    let (s, body) = post_segment(
        &client,
        &session_url,
        &alice,
        &format!("\"{id}\""),
        &bytes,
        (60_000, 90_000),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["missingRanges"], json!([{"start": 0, "end": 59_999}]));
    let (s, body) = post_segment(&client, &session_url, &alice, &id, &bytes, (0, 30_000)).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    let got = alice_g
        .expect(Method::GET, &session_url, None, StatusCode::OK)
        .await;
    assert_eq!(
        got["missingRanges"],
        json!([{"start": 30_000, "end": 59_999}])
    );
    assert_eq!(got["nextExpectedRanges"], got["missingRanges"]);
    // Overlap with stored bytes is refused as in v1.0.
    let (s, _) = post_segment(&client, &session_url, &alice, &id, &bytes, (20_000, 40_000)).await;
    assert_eq!(s, StatusCode::RANGE_NOT_SATISFIABLE);
    let (s, doc) = post_segment(&client, &session_url, &alice, &id, &bytes, (30_000, 60_000)).await;
    assert_eq!(s, StatusCode::CREATED, "{doc}");
    assert_eq!(doc["id"], doc_id);
    assert_eq!(doc["size"], bytes.len());

    // v1.0 sees the same document, and its bytes.
    let v1_job = format!("{}/print/printers/{printer}/jobs/{job_id}", run.v1());
    let at = format!("{v1_job}?$expand=documents");
    let job = alice_g.expect(Method::GET, &at, None, StatusCode::OK).await;
    assert_eq!(job["documents"][0]["id"], doc_id);
    assert_eq!(job["documents"][0]["size"], bytes.len());
    assert_eq!(job["documents"][0]["displayName"], "beta.pdf");
    assert_eq!(job["documents"][0]["contentType"], "application/pdf");
    let (s, headers, _) = call(
        &client,
        Method::GET,
        &format!("{v1_job}/documents/{doc_id}/$value"),
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FOUND);
    let downloaded = download(&client, headers["location"].to_str().unwrap()).await;
    assert_eq!(downloaded, bytes);
    // The completed document has no session any more.
    alice_g
        .expect(Method::GET, &session_url, None, StatusCode::NOT_FOUND)
        .await;
    let at = format!("{jobs}/{job_id}/start");
    let status = alice_g
        .expect(Method::POST, &at, None, StatusCode::OK)
        .await;
    assert_eq!(status["state"], "processing");
}

#[tokio::test]
async fn only_the_creator_deletes_a_beta_session() {
    let run = TestCloud::start().await;
    let client = Client::new();
    let (printer, _) = pdf_printer(&run, &run.beta(), "Floor 4").await;
    let alice = run.user("alice", USER_SCOPES, false);
    let alice_g = run.graph(&alice);
    let jobs = format!("{}/print/printers/{printer}/jobs", run.beta());
    let (job_id, doc_id) = new_job(&client, &jobs, &alice).await;
    let session_url = format!("{jobs}/{job_id}/documents/{doc_id}/uploadSession");
    let payload =
        Some(json!({"size": 1000, "contentType": "application/pdf", "documentName": "a.pdf"}));
    alice_g
        .expect(Method::PUT, &session_url, payload, StatusCode::OK)
        .await;
    // Another user does not even see the job; an admin sees it but did not create the session.
    let bob = run.user("bob", USER_SCOPES, false);
    let bob_g = run.graph(&bob);
    bob_g
        .expect(Method::DELETE, &session_url, None, StatusCode::NOT_FOUND)
        .await;
    let admin = run.admin();
    let admin_g = run.graph(&admin);
    admin_g
        .expect(Method::DELETE, &session_url, None, StatusCode::FORBIDDEN)
        .await;
    // The same user through another client app is another creator.
    let via_other_app = run.user_via("other-client", "alice", &["PrintJob.ReadWrite"], false);
    let via_other_app_g = run.graph(&via_other_app);
    via_other_app_g
        .expect(Method::DELETE, &session_url, None, StatusCode::FORBIDDEN)
        .await;
    alice_g
        .expect(Method::DELETE, &session_url, None, StatusCode::NO_CONTENT)
        .await;
    alice_g
        .expect(Method::GET, &session_url, None, StatusCode::NOT_FOUND)
        .await;
    // A new session can be created after the discard.
    let payload =
        Some(json!({"size": 10, "contentType": "application/pdf", "documentName": "b.pdf"}));
    alice_g
        .expect(Method::PUT, &session_url, payload, StatusCode::OK)
        .await;
    // No token: 401 on every beta session call.
    let resp = client.get(&session_url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn operations_list_and_a_printers_share_under_both_versions() {
    let run = TestCloud::start().await;
    let client = Client::new();
    let (first, _) = pdf_printer(&run, &run.v1(), "Ops 1").await;
    let (second, location) = pdf_printer(&run, &run.beta(), "Ops 2").await;
    let admin = run.admin();
    let admin_g = run.graph(&admin);
    for base in [run.v1(), run.beta()] {
        let at = format!("{base}/print/operations");
        let ops = admin_g.expect(Method::GET, &at, None, StatusCode::OK).await;
        assert_eq!(
            ops["@odata.context"],
            format!("{base}/$metadata#print/operations")
        );
        let listed: Vec<&str> = ops["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["printer"]["id"].as_str().unwrap())
            .collect();
        assert_eq!(listed, [first.as_str(), second.as_str()]);
        assert_eq!(
            ops["value"][1]["@odata.type"],
            "#microsoft.graph.printerCreateOperation"
        );
        assert_eq!(ops["value"][1]["status"]["state"], "succeeded");
        assert!(location.ends_with(ops["value"][1]["id"].as_str().unwrap()));
    }
    // Operations belong to whoever registered the printer.
    let other = run.user("other-admin", printlab_testkit::ADMIN_SCOPES, true);
    let (_, _, ops) = call(
        &client,
        Method::GET,
        &format!("{}/print/operations", run.v1()),
        Some(&other),
        None,
    )
    .await;
    assert_eq!(ops["value"], json!([]));
    let reader = run.user("reader", &["Printer.Read.All"], false);
    let reader_g = run.graph(&reader);
    let at = format!("{}/print/operations", run.v1());
    reader_g
        .expect(Method::GET, &at, None, StatusCode::FORBIDDEN)
        .await;

    // A printer's share under the printer; another printer's share is not there.
    let (s, _, share) = call(
        &client,
        Method::POST,
        &format!("{}/print/shares", run.v1()),
        Some(&admin),
        Some(json!({"displayName": "Ops share", "printer@odata.bind": format!("{}/print/printers/{first}", run.v1())})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{share}");
    let share_id = share["id"].as_str().unwrap();
    for base in [run.v1(), run.beta()] {
        let at = format!("{base}/print/printers/{first}/shares/{share_id}");
        let got = admin_g.expect(Method::GET, &at, None, StatusCode::OK).await;
        assert_eq!(got["displayName"], "Ops share");
        assert_eq!(
            got["@odata.context"],
            format!("{base}/$metadata#print/printers('{first}')/shares/$entity")
        );
        let at = format!("{base}/print/printers/{second}/shares/{share_id}");
        admin_g
            .expect(Method::GET, &at, None, StatusCode::NOT_FOUND)
            .await;
    }
}
