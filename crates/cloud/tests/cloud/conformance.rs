//! Graph v1.0 conformance over real HTTP on loopback: what the metadata and the print docs
//! promise beyond each endpoint's own behaviour. `printerShare.viewPoint`, `$expand=shares` on
//! printers, collections that are `[]` and never `null`, the query options of the pull-printing
//! routes, read-only properties ignored in bodies, server-side paging of every collection, the
//! OData error body on every error (405, 413, 414, 431 included), `request-id` and
//! `client-request-id`, one casing of error codes, and `@odata.context` naming the path read.

use printlab_cloud::auth::object_id;
use printlab_testkit::{Graph, TestCloud, call};
use reqwest::header::HeaderMap;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeSet;

const USER_SCOPES: &[&str] = &[
    "PrintJob.ReadWrite",
    "Printer.Read.All",
    "PrinterShare.Read.All",
];
const BADGE_ROLES: &[&str] = &[
    "PrintTaskDefinition.ReadWrite.All",
    "PrintJob.Manage.All",
    "Printer.Read.All",
];

/// A virtual printer with capabilities that leave several collections empty (no media colours,
/// feed orientations, layouts, qualities…), shared with every user; gives (printer, share).
async fn shared_printer(run: &TestCloud, name: &str) -> (String, String) {
    let admin = run.admin_graph();
    let printer = admin.create_virtual_printer(name).await;
    run.graph(&run.app("connector", &["Printer.ReadWrite.All"]))
        .expect(
            Method::PATCH,
            &format!("/print/printers/{printer}"),
            Some(json!({
                "capabilities": {"contentTypes": ["application/pdf"], "mediaSizes": ["A4"],
                                 "colorModes": ["blackAndWhite"], "dpis": [300],
                                 "duplexModes": ["oneSided"], "finishings": ["none"],
                                 "copiesPerJob": {"start": 1, "end": 9}},
                "defaults": {"contentType": "application/pdf", "mediaSize": "A4"},
                "isAcceptingJobs": true,
            })),
            StatusCode::OK,
        )
        .await;
    let share = admin.share(&printer, name).await;
    (printer, share)
}

/// Every member of a collection, following `@odata.nextLink`; gives the members and how many
/// pages they came in.
async fn all_pages(graph: &Graph, first: &str) -> (Vec<Value>, usize) {
    let (mut members, mut pages) = (Vec::new(), 0);
    let mut next = Some(first.to_string());
    while let Some(url) = next {
        let page = graph.get_ok(&url).await;
        pages += 1;
        members.extend(page["value"].as_array().unwrap().iter().cloned());
        next = page["@odata.nextLink"].as_str().map(str::to_string);
        assert!(pages < 100, "paging never ends at {url}");
    }
    (members, pages)
}

/// The error body's shape, with its ids equal to the response headers'.
fn assert_odata_error(status: StatusCode, headers: &HeaderMap, body: &Value, code: &str) {
    let error = &body["error"];
    assert_eq!(error["code"], code, "{status}: {body}");
    assert!(
        !error["message"].as_str().unwrap_or("").is_empty(),
        "{body}"
    );
    let inner = &error["innerError"];
    assert!(inner["date"].is_string(), "{body}");
    for id in ["request-id", "client-request-id"] {
        let header = headers
            .get(id)
            .unwrap_or_else(|| panic!("{status}: no {id} header"));
        assert_eq!(inner[id], header.to_str().unwrap(), "{id} in {body}");
    }
    assert_eq!(
        headers["content-type"].to_str().unwrap(),
        "application/json",
        "{status}"
    );
}

/// One raw request, for what the test helpers do not send (huge URLs and headers, bodies that
/// are not JSON); gives status, headers and the JSON body.
async fn raw(request: reqwest::RequestBuilder) -> (StatusCode, HeaderMap, Value) {
    let response = request.send().await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = response.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {bytes:?}"));
    (status, headers, body)
}

#[tokio::test]
async fn a_share_shows_when_the_signed_in_user_last_printed_to_it() {
    let run = TestCloud::start().await;
    let (_, share) = shared_printer(&run, "Viewpoint").await;
    let alice = run.graph(&run.user("alice", USER_SCOPES, false));
    let bob = run.graph(&run.user("bob", USER_SCOPES, false));
    let path = format!("/print/shares/{share}");
    let before = alice.get_ok(&path).await;
    assert_eq!(before["viewPoint"], json!({"lastUsedDateTime": null}));
    let jobs = format!("/print/shares/{share}/jobs");
    alice.create_job(&jobs, json!({})).await;
    let last = alice.create_job(&jobs, json!({})).await;
    let after = alice.get_ok(&path).await;
    assert_eq!(
        after["viewPoint"]["lastUsedDateTime"], last["createdDateTime"],
        "{after}"
    );
    // Per signed-in user: Bob has not printed there.
    assert_eq!(
        bob.get_ok(&path).await["viewPoint"]["lastUsedDateTime"],
        Value::Null
    );
    let selected = alice.get_ok(&format!("{path}?$select=viewPoint")).await;
    assert_eq!(selected["viewPoint"], after["viewPoint"]);
}

/// Graph's List shares gives a user who is not a Printer Administrator only id, displayName,
/// manufacturer, model and location of each share; selecting another real property (the
/// caller's own `viewPoint`) is refused as not available in that listing, never as a property
/// the share does not have, and the share's own read still gives it.
#[tokio::test]
async fn a_users_share_listing_refuses_what_it_leaves_out_as_unavailable_not_unknown() {
    let run = TestCloud::start().await;
    let (_, share) = shared_printer(&run, "Listed").await;
    let alice = run.graph(&run.user("alice", USER_SCOPES, false));
    let admin = run.admin_graph();
    let listed = admin
        .get_ok("/print/shares?$select=viewPoint,displayName")
        .await;
    assert_eq!(
        listed["value"][0]["viewPoint"],
        json!({"lastUsedDateTime": null})
    );

    for path in [
        "/print/shares?$select=viewPoint,displayName",
        "/print/shares?$select=displayName,defaults",
    ] {
        let refused = alice
            .expect(Method::GET, path, None, StatusCode::BAD_REQUEST)
            .await;
        let message = refused["error"]["message"].as_str().unwrap();
        assert!(!message.contains("not a property"), "{path}: {message}");
        assert!(message.contains("not available"), "{path}: {message}");
        assert!(
            message.contains("id, displayName, manufacturer, model, location"),
            "{path}: {message}"
        );
    }
    let unknown = alice
        .expect(
            Method::GET,
            "/print/shares?$select=colour",
            None,
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(
        unknown["error"]["message"]
            .as_str()
            .unwrap()
            .contains("'colour' is not a property"),
        "{unknown}"
    );
    let basic = alice.get_ok("/print/shares?$select=id,displayName").await;
    assert_eq!(basic["value"][0]["displayName"], "Listed");
    let read = alice
        .get_ok(&format!("/print/shares/{share}?$select=viewPoint"))
        .await;
    assert_eq!(read["viewPoint"], json!({"lastUsedDateTime": null}));
}

#[tokio::test]
async fn printers_expand_their_shares_in_lists_and_reads() {
    let run = TestCloud::start().await;
    let admin = run.admin_graph();
    let (printer, share) = shared_printer(&run, "Shared").await;
    let lone = admin.create_printer("Not shared").await;

    let one = admin
        .get_ok(&format!("/print/printers/{printer}?$expand=shares"))
        .await;
    assert_eq!(one["shares"].as_array().unwrap().len(), 1, "{one}");
    assert_eq!(one["shares"][0]["id"], share.as_str());
    assert_eq!(one["shares"][0]["displayName"], "Shared");
    let none = admin
        .get_ok(&format!("/print/printers/{lone}?$expand=shares"))
        .await;
    assert_eq!(none["shares"], json!([]));

    let list = admin.get_ok("/print/printers?$expand=shares").await;
    for p in list["value"].as_array().unwrap() {
        let expected = if p["id"] == printer.as_str() { 1 } else { 0 };
        assert_eq!(p["shares"].as_array().unwrap().len(), expected, "{p}");
    }
    // $select keeps what was expanded beside what was selected.
    let selected = admin
        .get_ok(&format!(
            "/print/printers/{printer}?$select=id,displayName&$expand=shares"
        ))
        .await;
    assert_eq!(
        property_names(&selected),
        BTreeSet::from(["@odata.context", "displayName", "id", "shares"])
    );
    // Without $expand there is no shares property; an unknown navigation is a 400.
    assert!(
        admin
            .get_ok(&format!("/print/printers/{printer}"))
            .await
            .get("shares")
            .is_none()
    );
    admin
        .expect(
            Method::GET,
            "/print/printers?$expand=jobs",
            None,
            StatusCode::BAD_REQUEST,
        )
        .await;
}

#[tokio::test]
async fn shares_expand_their_printer_and_allowed_users_in_lists_and_reads() {
    let run = TestCloud::start().await;
    let admin = run.admin_graph();
    let (printer, share) = shared_printer(&run, "Expanded").await;
    let alice_id = object_id("user", "alice@printlab.test");
    admin
        .expect(
            Method::POST,
            &format!("/print/shares/{share}/allowedUsers/$ref"),
            Some(
                json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/users/{alice_id}")}),
            ),
            StatusCode::NO_CONTENT,
        )
        .await;

    for path in [
        format!("/print/shares/{share}?$expand=printer,allowedUsers"),
        format!("/print/printers/{printer}/shares/{share}?$expand=printer,allowedUsers"),
    ] {
        let one = admin.get_ok(&path).await;
        assert_eq!(one["printer"]["id"], printer.as_str(), "{path}: {one}");
        assert_eq!(one["allowedUsers"], json!([{"id": alice_id}]), "{path}");
    }
    for path in [
        "/print/shares?$expand=printer".to_string(),
        format!("/print/printers/{printer}/shares?$expand=printer"),
    ] {
        let list = admin.get_ok(&path).await;
        assert_eq!(
            list["value"][0]["printer"]["id"],
            printer.as_str(),
            "{path}"
        );
    }
    // A user who is not an administrator sees the expansion beside the basic properties.
    let alice = run.graph(&run.user("alice", USER_SCOPES, false));
    let listed = alice.get_ok("/print/shares?$expand=allowedUsers").await;
    assert_eq!(
        listed["value"][0]["allowedUsers"],
        json!([{"id": alice_id}])
    );

    // $select keeps what was expanded beside what was selected.
    let selected = admin
        .get_ok(&format!(
            "/print/shares/{share}?$select=id,displayName&$expand=printer"
        ))
        .await;
    assert_eq!(
        property_names(&selected),
        BTreeSet::from(["@odata.context", "displayName", "id", "printer"])
    );
    // Without $expand there is no printer property; an unmodelled navigation is a 400 that
    // names the ones a share expands.
    assert!(
        admin
            .get_ok(&format!("/print/shares/{share}"))
            .await
            .get("printer")
            .is_none()
    );
    let refused = admin
        .expect(
            Method::GET,
            &format!("/print/shares/{share}?$expand=allowedGroups"),
            None,
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("printer, allowedUsers"),
        "{refused}"
    );
    // The printer is read with the printer permissions its own path needs.
    let share_only = run.graph(&run.user("carol", &["PrinterShare.Read.All"], false));
    share_only
        .expect(
            Method::GET,
            &format!("/print/shares/{share}?$expand=printer"),
            None,
            StatusCode::FORBIDDEN,
        )
        .await;
}

/// Every collection-valued property in `value` at any depth, named `parent.name` (the
/// property holding it, then its own name), must be an array.
fn no_null_collections(value: &Value, collections: &[&str], at: &str) {
    let parent = at.rsplit('.').next().unwrap_or(at);
    match value {
        Value::Object(map) => {
            for (key, member) in map {
                if collections.contains(&format!("{parent}.{key}").as_str()) {
                    assert!(member.is_array(), "{at}.{key} is {member}");
                }
                no_null_collections(member, collections, &format!("{at}.{key}"));
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|item| no_null_collections(item, collections, at)),
        _ => {}
    }
}

#[tokio::test]
async fn empty_collections_are_empty_arrays_not_null() {
    let run = TestCloud::start().await;
    let (printer, share) = shared_printer(&run, "Sparse").await;
    let admin = run.admin_graph();
    let collections = [
        "capabilities.bottomMargins",
        "capabilities.colorModes",
        "capabilities.contentTypes",
        "capabilities.dpis",
        "capabilities.duplexModes",
        "capabilities.feedOrientations",
        "capabilities.finishings",
        "capabilities.inputBins",
        "capabilities.leftMargins",
        "capabilities.mediaColors",
        "capabilities.mediaSizes",
        "capabilities.mediaTypes",
        "capabilities.multipageLayouts",
        "capabilities.orientations",
        "capabilities.outputBins",
        "capabilities.pagesPerSheet",
        "capabilities.qualities",
        "capabilities.rightMargins",
        "capabilities.scalings",
        "capabilities.topMargins",
        "defaults.finishings",
        "configuration.finishings",
        "configuration.pageRanges",
        "location.organization",
        "location.subdivision",
        "location.subunit",
        "status.details",
    ];
    let read = admin
        .get_ok(&format!(
            "/print/printers/{printer}?$select=capabilities,defaults,location,status"
        ))
        .await;
    let caps = &read["capabilities"];
    for name in [
        "feedOrientations",
        "mediaColors",
        "multipageLayouts",
        "qualities",
    ] {
        assert_eq!(caps[name], json!([]), "capabilities.{name}: {caps}");
    }
    no_null_collections(&read, &collections, "printer");
    let shared = admin
        .get_ok(&format!(
            "/print/shares/{share}?$select=capabilities,defaults"
        ))
        .await;
    no_null_collections(&shared, &collections, "share");
    let job = admin
        .create_job(&format!("/print/shares/{share}/jobs"), json!({}))
        .await;
    assert_eq!(job["configuration"]["pageRanges"], json!([]), "{job}");
    assert_eq!(job["configuration"]["finishings"], json!([]), "{job}");
    no_null_collections(&job, &collections, "job");
}

/// A held job on a printer with a trigger of the app `badge`: gives (printer, definition id,
/// trigger id, job id, task id).
async fn held_job(run: &TestCloud) -> (String, String, String, String, String) {
    let (printer, _) = shared_printer(run, "Pull queue").await;
    let badge = run.graph(&run.app("badge", BADGE_ROLES));
    let definition = badge
        .expect(
            Method::POST,
            "/print/taskDefinitions",
            Some(json!({"displayName": "Badge release"})),
            StatusCode::CREATED,
        )
        .await;
    let definition = definition["id"].as_str().unwrap().to_string();
    let trigger = run
        .graph(&run.admin_via("badge"))
        .expect(
            Method::POST,
            &format!("/print/printers/{printer}/taskTriggers"),
            Some(json!({"event": "jobStarted",
                "definition@odata.bind": format!("{}/print/taskDefinitions/{definition}", run.v1())})),
            StatusCode::CREATED,
        )
        .await;
    let trigger = trigger["id"].as_str().unwrap().to_string();
    let admin = run.admin_graph();
    let jobs = format!("/print/printers/{printer}/jobs");
    let job = admin
        .submit(
            &jobs,
            "application/pdf",
            b"%PDF-1.4 held".to_vec(),
            json!({}),
        )
        .await;
    let tasks = admin.get_ok(&format!("{jobs}/{job}/tasks")).await;
    let task = tasks["value"][0]["id"].as_str().unwrap().to_string();
    (printer, definition, trigger, job, task)
}

#[tokio::test]
async fn pull_printing_routes_apply_select_expand_and_top_or_refuse_them() {
    let run = TestCloud::start().await;
    let (printer, definition, trigger, job, task) = held_job(&run).await;
    let badge = run.graph(&run.app("badge", BADGE_ROLES));
    let admin = run.graph(&run.admin_via("badge"));
    let owner = run.admin_graph();
    badge
        .expect(
            Method::POST,
            "/print/taskDefinitions",
            Some(json!({"displayName": "Second"})),
            StatusCode::CREATED,
        )
        .await;
    let keys = |v: &Value| -> BTreeSet<String> {
        v.as_object()
            .unwrap()
            .keys()
            .filter(|k| !k.starts_with('@'))
            .cloned()
            .collect()
    };
    let only =
        |names: &[&str]| -> BTreeSet<String> { names.iter().map(|n| n.to_string()).collect() };

    // Task definitions: $select, $top with a next link, $expand=tasks.
    let page = badge
        .get_ok("/print/taskDefinitions?$select=displayName&$top=1")
        .await;
    assert_eq!(page["value"].as_array().unwrap().len(), 1, "{page}");
    assert_eq!(keys(&page["value"][0]), only(&["displayName"]));
    let (all, pages) = all_pages(&badge, "/print/taskDefinitions?$top=1").await;
    assert_eq!((all.len(), pages), (2, 2));
    let expanded = badge
        .get_ok(&format!(
            "/print/taskDefinitions/{definition}?$expand=tasks&$select=id"
        ))
        .await;
    assert_eq!(keys(&expanded), only(&["id", "tasks"]));
    assert_eq!(expanded["tasks"][0]["id"], task.as_str());

    // Tasks, under their definition and under their job.
    let tasks = badge
        .get_ok(&format!(
            "/print/taskDefinitions/{definition}/tasks?$select=status&$top=5"
        ))
        .await;
    assert_eq!(keys(&tasks["value"][0]), only(&["status"]));
    let one = badge
        .get_ok(&format!(
            "/print/taskDefinitions/{definition}/tasks/{task}?$expand=definition,trigger"
        ))
        .await;
    assert_eq!(one["definition"]["id"], definition.as_str());
    assert_eq!(one["trigger"]["id"], trigger.as_str());
    let job_tasks = format!("/print/printers/{printer}/jobs/{job}/tasks");
    let through_job = owner
        .get_ok(&format!("{job_tasks}/{task}?$select=parentUrl"))
        .await;
    assert_eq!(keys(&through_job), only(&["parentUrl"]));

    // Triggers.
    let triggers = admin
        .get_ok(&format!(
            "/print/printers/{printer}/taskTriggers?$select=event&$expand=definition"
        ))
        .await;
    assert_eq!(keys(&triggers["value"][0]), only(&["event", "definition"]));
    assert_eq!(
        triggers["value"][0]["definition"]["id"],
        definition.as_str()
    );

    // What a route cannot apply is a 400 OData error, as on the job routes.
    let client = Client::new();
    for (graph, path) in [
        (&badge, "/print/taskDefinitions?$expand=printer".to_string()),
        (&badge, "/print/taskDefinitions?$count=true".to_string()),
        (
            &badge,
            format!("/print/taskDefinitions/{definition}?$top=1"),
        ),
        (
            &badge,
            format!("/print/taskDefinitions/{definition}/tasks?$select=colour"),
        ),
        (
            &badge,
            format!("/print/taskDefinitions/{definition}/tasks/{task}?$expand=tasks"),
        ),
        (
            &admin,
            format!("/print/printers/{printer}/taskTriggers?$expand=tasks"),
        ),
        (
            &admin,
            format!("/print/printers/{printer}/taskTriggers/{trigger}?$top=2"),
        ),
        (&owner, format!("{job_tasks}?$filter=id eq 'x'")),
        (&owner, format!("{job_tasks}/{task}/definition?$top=1")),
    ] {
        let (status, headers, body) = call(
            &client,
            Method::GET,
            &graph.url(&path),
            Some(&graph.token),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_odata_error(status, &headers, &body, "badRequest");
    }
    // The same on a job route, for comparison.
    let (status, _, _) = call(
        &client,
        Method::GET,
        &owner.url(&format!("/print/printers/{printer}/jobs/{job}?$top=1")),
        Some(&owner.token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn read_only_properties_in_bodies_are_ignored() {
    let run = TestCloud::start().await;
    let badge = run.graph(&run.app("badge", BADGE_ROLES));
    let created = badge
        .expect(
            Method::POST,
            "/print/taskDefinitions",
            Some(json!({"id": "chosen-by-client", "displayName": "Badge",
                        "createdBy": {"appId": "forged", "displayName": "Badge app"}})),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(created["createdBy"]["appId"], object_id("app", "badge"));
    assert_eq!(created["createdBy"]["displayName"], "Badge app");
    assert_ne!(created["id"], "chosen-by-client");
    // A definition read, changed and sent back whole.
    let mut whole = created.clone();
    whole.as_object_mut().unwrap().remove("@odata.context");
    whole["displayName"] = json!("Badge 2");
    let path = format!("/print/taskDefinitions/{}", created["id"].as_str().unwrap());
    let patched = badge
        .expect(Method::PATCH, &path, Some(whole), StatusCode::OK)
        .await;
    assert_eq!(patched["displayName"], "Badge 2");
    assert_eq!(patched["id"], created["id"]);

    // A job created with the status and ids of another job.
    let (printer, share) = shared_printer(&run, "Read-only").await;
    let admin = run.admin_graph();
    let job = admin
        .expect(
            Method::POST,
            &format!("/print/shares/{share}/jobs"),
            Some(
                json!({"id": "9999", "isFetchable": true, "status": {"state": "completed"},
                        "configuration": {"copies": 2}}),
            ),
            StatusCode::CREATED,
        )
        .await;
    assert_ne!(job["id"], "9999");
    assert_eq!(job["isFetchable"], false);
    assert_eq!(job["configuration"]["copies"], 2);
    // A printer PATCH with its read-only members; a property that is not there is still named.
    admin
        .expect(
            Method::PATCH,
            &format!("/print/printers/{printer}"),
            Some(json!({"id": printer, "isShared": false, "displayName": "Renamed"})),
            StatusCode::OK,
        )
        .await;
    let err = admin
        .expect(
            Method::PATCH,
            &format!("/print/printers/{printer}"),
            Some(json!({"colour": "red"})),
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert!(
        err["error"]["message"].as_str().unwrap().contains("colour"),
        "{err}"
    );
}

#[tokio::test]
async fn every_collection_is_paged_server_side_and_links_follow_skip_and_top() {
    let run = TestCloud::builder().page_size(3).start().await;
    let (printer, share) = shared_printer(&run, "Paged").await;
    let admin = run.admin_graph();
    let jobs = format!("/print/printers/{printer}/jobs");
    let mut ids = BTreeSet::new();
    for _ in 0..7 {
        let job = admin.create_job(&jobs, json!({})).await;
        ids.insert(job["id"].as_str().unwrap().to_string());
    }
    let first = admin.get_ok(&jobs).await;
    assert_eq!(first["value"].as_array().unwrap().len(), 3, "{first}");
    let link = first["@odata.nextLink"].as_str().unwrap();
    assert!(link.starts_with(&run.v1()), "{link}");
    let (all, pages) = all_pages(&admin, &jobs).await;
    let seen: BTreeSet<String> = all
        .iter()
        .map(|j| j["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!((seen, pages), (ids.clone(), 3));
    // $top sets the page size; $skip starts later; both carry into the link.
    let (all, pages) = all_pages(&admin, &format!("{jobs}?$top=2&$select=id")).await;
    assert_eq!((all.len(), pages), (7, 4));
    assert!(all.iter().all(|j| j.as_object().unwrap().len() == 1));
    let (rest, _) = all_pages(&admin, &format!("{jobs}?$skip=5")).await;
    assert_eq!(rest.len(), 2);
    admin
        .expect(
            Method::GET,
            &format!("{jobs}?$skip=1&$skiptoken=2"),
            None,
            StatusCode::BAD_REQUEST,
        )
        .await;
    // The share's jobs, printers and shares page the same way.
    let (all, pages) = all_pages(&admin, &format!("/print/shares/{share}/jobs")).await;
    assert_eq!((all.len(), pages), (7, 3));
    for _ in 0..3 {
        admin.create_printer("More").await;
    }
    let (all, pages) = all_pages(&admin, "/print/printers").await;
    assert_eq!((all.len(), pages), (4, 2));
}

#[tokio::test]
async fn a_top_beyond_the_maximum_page_size_gets_full_pages_and_a_next_link() {
    let run = TestCloud::builder()
        .page_size(2)
        .max_page_size(4)
        .start()
        .await;
    let (printer, _) = shared_printer(&run, "Capped").await;
    let admin = run.admin_graph();
    let jobs = format!("/print/printers/{printer}/jobs");
    for _ in 0..7 {
        admin.create_job(&jobs, json!({})).await;
    }
    let huge = format!("{jobs}?$top=1000000");
    let first = admin.get_ok(&huge).await;
    assert_eq!(first["value"].as_array().unwrap().len(), 4, "{first}");
    let link = first["@odata.nextLink"]
        .as_str()
        .expect("a capped page links on");
    assert!(link.contains("skiptoken=4"), "{link}");
    let (all, pages) = all_pages(&admin, &huge).await;
    assert_eq!((all.len(), pages), (7, 2));
    // A $top within the cap is still honoured exactly.
    let (all, pages) = all_pages(&admin, &format!("{jobs}?$top=3")).await;
    assert_eq!((all.len(), pages), (7, 3));
}

#[tokio::test]
async fn every_error_is_an_odata_error_with_the_requests_ids() {
    let run = TestCloud::start().await;
    let (printer, _) = shared_printer(&run, "Errors").await;
    let client = Client::new();
    let admin = run.admin();
    let v1 = run.v1();

    // 405: a method the route does not take.
    let (status, headers, body) = raw(client
        .delete(format!("{v1}/print/printers"))
        .bearer_auth(&admin))
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_odata_error(status, &headers, &body, "notAllowed");
    assert!(headers.contains_key("allow"), "{headers:?}");
    // 413: a body over the limit.
    let (status, headers, body) = raw(client
        .post(format!("{v1}/print/shares"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body(vec![b' '; (2 << 20) + 1024]))
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_odata_error(status, &headers, &body, "invalidRequest");
    // 414 and 431, over HTTP/1.1 and HTTP/2 alike (h2's own header-list limit is under them).
    let http2 = Client::builder().http2_prior_knowledge().build().unwrap();
    for client in [&client, &http2] {
        // 414: a request line over the cloud's limit (under hyper's own).
        let long = "x".repeat(20 * 1024);
        let (status, headers, body) = raw(client
            .get(format!("{v1}/print/printers/{printer}?$select={long}"))
            .bearer_auth(&admin))
        .await;
        assert_eq!(status, StatusCode::URI_TOO_LONG, "{client:?}");
        assert_odata_error(status, &headers, &body, "invalidRequest");
        // 431: a header section over the cloud's limit (under hyper's own).
        let (status, headers, body) = raw(client
            .get(format!("{v1}/print/printers/{printer}"))
            .bearer_auth(&admin)
            .header("x-padding", "y".repeat(40 * 1024)))
        .await;
        assert_eq!(
            status,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "{client:?}"
        );
        assert_odata_error(status, &headers, &body, "invalidRequest");
    }
    // Unknown segment, an unparsable path, no token, a wrong scope, a conflict.
    let checks: [(Method, String, Option<&str>, StatusCode, &str); 5] = [
        (
            Method::GET,
            format!("{v1}/print/nothing"),
            Some(&admin),
            StatusCode::NOT_FOUND,
            "itemNotFound",
        ),
        (
            Method::GET,
            format!("{v1}/print/printers/{printer}/jobs?$top=0"),
            Some(&admin),
            StatusCode::BAD_REQUEST,
            "badRequest",
        ),
        (
            Method::GET,
            format!("{v1}/print/printers"),
            None,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        ),
        (
            Method::DELETE,
            format!("{v1}/print/printers/{printer}"),
            Some(&admin),
            StatusCode::CONFLICT,
            "conflict",
        ),
        (
            Method::GET,
            format!("{}/print/printers", run.beta()),
            None,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        ),
    ];
    for (method, url, token, expected, code) in checks {
        let (status, headers, body) = call(&client, method, &url, token, None).await;
        assert_eq!(status, expected, "{url}: {body}");
        assert_odata_error(status, &headers, &body, code);
    }
    // The upload URL answers through the same layer.
    let (status, headers, body) = raw(client.get(format!(
        "{}/uploadSessions/00000000-0000-0000-0000-000000000000?tempauthtoken=x",
        run.url
    )))
    .await;
    assert!(status.is_client_error(), "{status}");
    let code = body["error"]["code"].as_str().unwrap().to_string();
    assert_odata_error(status, &headers, &body, &code);
}

#[tokio::test]
async fn every_response_carries_request_id_and_echoes_client_request_id() {
    let run = TestCloud::start().await;
    let client = Client::new();
    let url = format!("{}/print/printers", run.v1());
    let is_guid = |v: &str| uuid::Uuid::parse_str(v).is_ok();

    let sent = "7c1e1b46-4e6e-4f3c-9d0d-0c3d3f1f2a11";
    let response = client
        .get(&url)
        .bearer_auth(run.admin())
        .header("client-request-id", sent)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    assert_eq!(headers["client-request-id"], sent);
    let first = headers["request-id"].to_str().unwrap().to_string();
    assert!(is_guid(&first), "{first}");

    // Without a client-request-id the service makes one; every request gets its own id.
    let (_, headers, _) = call(&client, Method::GET, &url, Some(&run.admin()), None).await;
    let second = headers["request-id"].to_str().unwrap();
    assert!(is_guid(second) && second != first);
    assert!(is_guid(headers["client-request-id"].to_str().unwrap()));

    // An error echoes the client's id in the header and the body.
    let response = client
        .get(format!("{}/print/shares/none", run.v1()))
        .bearer_auth(run.admin())
        .header("client-request-id", sent)
        .send()
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["innerError"]["client-request-id"], sent);
    assert_odata_error(status, &headers, &body, "itemNotFound");
}

#[tokio::test]
async fn error_codes_have_one_casing() {
    let run = TestCloud::start().await;
    let (printer, share) = shared_printer(&run, "Codes").await;
    let client = Client::new();
    let v1 = run.v1();
    let reader = run.user("reader", &["Printer.Read.All"], false);
    let admin = run.admin();
    let cases: Vec<(Method, String, Option<&str>, Option<Value>)> = vec![
        (Method::GET, format!("{v1}/print/printers"), None, None),
        (
            Method::GET,
            format!("{v1}/print/printers"),
            Some("not-a-jwt"),
            None,
        ),
        (
            Method::POST,
            format!("{v1}/print/shares"),
            Some(&reader),
            Some(json!({})),
        ),
        (
            Method::GET,
            format!("{v1}/print/printers/nope"),
            Some(&admin),
            None,
        ),
        (
            Method::GET,
            format!("{v1}/nothing/here"),
            Some(&admin),
            None,
        ),
        (
            Method::PATCH,
            format!("{v1}/print/printers"),
            Some(&admin),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("{v1}/print/shares"),
            Some(&admin),
            Some(json!({"x": 1})),
        ),
        (
            Method::DELETE,
            format!("{v1}/print/printers/{printer}"),
            Some(&admin),
            None,
        ),
        (
            Method::POST,
            format!("{v1}/print/shares/{share}/jobs/1/start"),
            Some(&admin),
            None,
        ),
    ];
    for (method, url, token, body) in cases {
        let (status, _, answer) = call(&client, method.clone(), &url, token, body).await;
        assert!(status.is_client_error(), "{method} {url}: {status}");
        let code = answer["error"]["code"].as_str().unwrap();
        assert!(
            code.starts_with(|c: char| c.is_ascii_lowercase())
                && code.chars().all(|c| c.is_ascii_alphanumeric()),
            "{method} {url}: code {code:?} is not lower camelCase"
        );
    }
}

#[tokio::test]
async fn odata_context_names_the_path_read() {
    let run = TestCloud::start().await;
    let (printer, definition, trigger, job, task) = held_job(&run).await;
    let owner = run.admin_graph();
    let meta = format!("{}/$metadata#", run.v1());
    let context = |v: &Value| v["@odata.context"].as_str().unwrap().to_string();
    let job_path = format!("/print/printers/{printer}/jobs/{job}");

    let through_job = owner.get_ok(&format!("{job_path}/tasks/{task}")).await;
    assert_eq!(
        context(&through_job),
        format!("{meta}print/printers('{printer}')/jobs('{job}')/tasks/$entity")
    );
    let definition_read = owner
        .get_ok(&format!("{job_path}/tasks/{task}/definition"))
        .await;
    assert_eq!(definition_read["id"], definition.as_str());
    assert_eq!(
        context(&definition_read),
        format!(
            "{meta}print/printers('{printer}')/jobs('{job}')/tasks('{task}')/definition/$entity"
        )
    );
    let trigger_read = owner
        .get_ok(&format!("{job_path}/tasks/{task}/trigger"))
        .await;
    assert_eq!(trigger_read["id"], trigger.as_str());
    assert_eq!(
        context(&trigger_read),
        format!("{meta}print/printers('{printer}')/jobs('{job}')/tasks('{task}')/trigger/$entity")
    );
    let badge = run.graph(&run.app("badge", BADGE_ROLES));
    let through_definition = badge
        .get_ok(&format!("/print/taskDefinitions/{definition}/tasks/{task}"))
        .await;
    assert_eq!(
        context(&through_definition),
        format!("{meta}print/taskDefinitions('{definition}')/tasks/$entity")
    );

    // Printers and shares read through each other, and a job created under a printer.
    let share = owner
        .share(&owner.create_printer("Other").await, "Other")
        .await;
    let shared = owner.get_ok(&format!("/print/shares/{share}")).await;
    assert_eq!(context(&shared), format!("{meta}print/shares/$entity"));
    let printer_of_share = owner
        .get_ok(&format!("/print/shares/{share}/printer"))
        .await;
    assert_eq!(
        context(&printer_of_share),
        format!("{meta}print/shares('{share}')/printer/$entity")
    );
    let created = owner
        .create_job(&format!("/print/printers/{printer}/jobs"), json!({}))
        .await;
    assert_eq!(
        context(&created),
        format!("{meta}print/printers('{printer}')/jobs/$entity")
    );
    let users = owner
        .get_ok(&format!("/print/shares/{share}/allowedUsers"))
        .await;
    assert_eq!(
        context(&users),
        format!("{meta}print/shares('{share}')/allowedUsers")
    );
}

/// The property names of a JSON object.
fn property_names(value: &Value) -> BTreeSet<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}
