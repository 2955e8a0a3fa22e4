//! Device registration against the real cloud on loopback: real CSRs, real sled, a restart
//! between POST and poll, and every refusal naming the field. The device library's side of
//! registration and the device token flow are in the fleet tests (`device_registration`), as
//! this binary does not link the devices.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use printlab_testkit::{Graph, TestCloud, call, foreign_token};
use reqwest::Method;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

fn csr_base64(name: &str) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let csr = params.serialize_request(&key).unwrap();
    (
        STANDARD.encode(csr.der()),
        STANDARD.encode(rcgen::PublicKeyData::subject_public_key_info(&key)),
    )
}

fn register_body(name: &str) -> Value {
    let (csr, transport_key) = csr_base64(name);
    json!({
        "name": name,
        "manufacturer": "printlab",
        "model": "Emulated Laser",
        "device_id": uuid::Uuid::new_v4().to_string(),
        "device_type": "printer",
        "certificate_request": {"type": "pkcs10", "data": csr, "transport_key": transport_key},
        "device_capabilities": ["print"],
        "preferred_lang": "en-us",
        "has_physical_device": true
    })
}

/// Posts the registration of a device named `name` as `admin`, which the cloud must accept;
/// gives the answer and the URL that polls it. Both tests of a successful registration start
/// so.
async fn accepted_registration(run: &TestCloud, admin: &Graph, name: &str) -> (Value, String) {
    let register = format!("{}/api/v1.0/register", run.url);
    let body = Some(register_body(name));
    let accepted = admin
        .expect(Method::POST, &register, body, StatusCode::ACCEPTED)
        .await;
    let id = accepted["registration_id"].as_str().unwrap();
    let poll = format!("{register}?registration_id={id}");
    (accepted, poll)
}

#[tokio::test]
async fn registration_polls_then_makes_a_graph_printer_with_a_certificate_naming_it() {
    let run = TestCloud::start().await;
    let admin = run.admin_graph();
    let (accepted, poll) = accepted_registration(&run, &admin, "Lab Laser").await;
    assert!(accepted["interval"].as_u64().unwrap() >= 1);
    // The first poll is pending.
    let pending = admin
        .expect(Method::GET, &poll, None, StatusCode::ACCEPTED)
        .await;
    assert!(pending["interval"].as_u64().is_some());
    let done = admin.get_ok(&poll).await;
    let printer_id = done["cloud_device_id"].as_str().unwrap().to_string();
    assert_eq!(
        done["device_token_url"],
        format!("{}/oauth2/token", run.url)
    );
    assert_eq!(
        done["mcp_svc_resource_id"],
        "https://print.print.microsoft.com"
    );
    assert!(done["printer_client_id"].as_str().unwrap().len() >= 32);
    assert!(done["printer_redirect_uri"].is_string());
    // Polling again answers the same result (a device that lost the answer).
    assert_eq!(admin.get_ok(&poll).await, done);

    let (_, pem) =
        x509_parser::pem::parse_x509_pem(done["certificate"].as_str().unwrap().as_bytes()).unwrap();
    let cert = pem.parse_x509().unwrap();
    let cn = cert.subject().iter_common_name().next().unwrap();
    assert_eq!(cn.as_str().unwrap(), printer_id);
    let (_, ca) =
        x509_parser::pem::parse_x509_pem(run.cloud.ca_certificate_pem().as_bytes()).unwrap();
    cert.verify_signature(Some(ca.parse_x509().unwrap().public_key()))
        .unwrap();

    // The device is a Graph printer an admin lists and shares.
    let printer = admin.get_ok(&format!("/print/printers/{printer_id}")).await;
    assert_eq!(printer["displayName"], "Lab Laser");
    assert_eq!(printer["manufacturer"], "printlab");
    assert_eq!(printer["model"], "Emulated Laser");
    assert_eq!(printer["hasPhysicalDevice"], true);
    assert!(printer["registeredDateTime"].is_string());
    let (_, list) = admin.get("/print/printers").await;
    assert_eq!(list["value"].as_array().unwrap().len(), 1);
    let share = json!({"displayName": "Lab share",
        "printer@odata.bind": format!("{}/print/printers/{printer_id}", run.v1())});
    admin
        .expect(
            Method::POST,
            "/print/shares",
            Some(share),
            StatusCode::CREATED,
        )
        .await;
    run.stop().await;
}

#[tokio::test]
async fn registration_refuses_bad_callers_and_bad_input_naming_the_field() {
    let run = TestCloud::start().await;
    let client = Client::new();
    let register = format!("{}/api/v1.0/register", run.url);
    let post = |token: Option<String>, body: Value| {
        let client = client.clone();
        let register = register.clone();
        async move {
            let (s, _, body) = call(
                &client,
                Method::POST,
                &register,
                token.as_deref(),
                Some(body),
            )
            .await;
            (s, body)
        }
    };
    let (s, _) = post(None, register_body("A")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = post(Some("not-a-jwt".into()), register_body("A")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let foreign = foreign_token("admin", &["Printers.Create"]);
    let (s, _) = post(Some(foreign), register_body("A")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, body) = post(
        Some(run.user("admin", &["PrintJob.Create"], true)),
        register_body("A"),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Printers.Create")
    );
    let (s, body) = post(
        Some(run.user("admin", &["Printers.Create"], false)),
        register_body("A"),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a non-administrator: {body}");

    let admin = run.admin();
    let graph = run.graph(&admin);
    let cases: Vec<(&str, Breakage)> = vec![
        (
            "name",
            Box::new(|b| drop(b.as_object_mut().unwrap().remove("name"))),
        ),
        ("name", Box::new(|b| b["name"] = json!("  "))),
        (
            "device_id",
            Box::new(|b| b["device_id"] = json!("printer-7")),
        ),
        (
            "device_type",
            Box::new(|b| b["device_type"] = json!("scanner")),
        ),
        (
            "certificate_request.type",
            Box::new(|b| b["certificate_request"]["type"] = json!("x509")),
        ),
        (
            "certificate_request.data",
            Box::new(|b| b["certificate_request"]["data"] = json!("aGVsbG8=")),
        ),
        (
            "certificate_request.data",
            Box::new(|b| b["certificate_request"]["data"] = json!("%%%")),
        ),
        (
            "certificate_request.transport_key",
            Box::new(|b| b["certificate_request"]["transport_key"] = json!("%%%")),
        ),
        (
            "certificate_request",
            Box::new(|b| drop(b.as_object_mut().unwrap().remove("certificate_request"))),
        ),
    ];
    for (field, break_it) in cases {
        let mut body = register_body("A");
        break_it(&mut body);
        let (s, answer) = post(Some(admin.clone()), body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{field}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{field} not named in: {message}");
    }
    let answer = graph
        .expect(Method::GET, &register, None, StatusCode::BAD_REQUEST)
        .await;
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("registration_id")
    );
    let nope = format!("{register}?registration_id=nope");
    graph
        .expect(Method::GET, &nope, None, StatusCode::NOT_FOUND)
        .await;
    // Nothing above made a printer.
    let (_, list) = graph.get("/print/printers").await;
    assert_eq!(list["value"], json!([]));
    run.stop().await;
}

#[tokio::test]
async fn a_restart_between_post_and_poll_loses_nothing() {
    let run = TestCloud::start().await;
    let admin = run.admin_graph();
    let (_, poll) = accepted_registration(&run, &admin, "Survivor").await;
    admin
        .expect(Method::GET, &poll, None, StatusCode::ACCEPTED)
        .await;
    let run = run.restart().await;
    let done = admin.get_ok(&poll).await;
    let printer_id = done["cloud_device_id"].as_str().unwrap();
    let printer = admin.get_ok(&format!("/print/printers/{printer_id}")).await;
    assert_eq!(printer["displayName"], "Survivor");
    run.stop().await;
}

/// Spoils one field of a registration body.
type Breakage = Box<dyn Fn(&mut Value)>;
