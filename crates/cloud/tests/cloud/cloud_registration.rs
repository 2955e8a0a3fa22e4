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
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn csr_base64(name: &str, key: &rcgen::KeyPair) -> (String, String) {
    let mut params = rcgen::CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let csr = params.serialize_request(key).unwrap();
    (
        STANDARD.encode(csr.der()),
        STANDARD.encode(rcgen::PublicKeyData::subject_public_key_info(key)),
    )
}

fn register_body(name: &str) -> Value {
    register_body_for(name, &rcgen::KeyPair::generate().unwrap())
}

/// The registration body of a device whose key is `key` (ECDSA P-256).
fn register_body_for(name: &str, key: &rcgen::KeyPair) -> Value {
    let (csr, transport_key) = csr_base64(name, key);
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

/// 100,000 anonymous `srv_challenge` requests (which once filled the cloud's table of issued
/// nonces, so every device's token request got 503 for five minutes), then a registered device
/// still gets its nonce and its token, and the nonce works once only.
#[tokio::test]
async fn a_flood_of_anonymous_challenges_locks_no_device_out() {
    let run = TestCloud::start().await;
    let admin = run.admin_graph();
    let key = rcgen::KeyPair::generate().unwrap();
    let register = format!("{}/api/v1.0/register", run.url);
    let accepted = admin
        .expect(
            Method::POST,
            &register,
            Some(register_body_for("Flooded", &key)),
            StatusCode::ACCEPTED,
        )
        .await;
    let poll = format!(
        "{register}?registration_id={}",
        accepted["registration_id"].as_str().unwrap()
    );
    admin
        .expect(Method::GET, &poll, None, StatusCode::ACCEPTED)
        .await;
    let done = admin.get_ok(&poll).await;
    let printer_id = done["cloud_device_id"].as_str().unwrap();
    let (_, certificate) =
        x509_parser::pem::parse_x509_pem(done["certificate"].as_str().unwrap().as_bytes()).unwrap();
    let token_url = done["device_token_url"].as_str().unwrap();

    let answered = flood_challenges(&run.url, 100_000).await;
    assert_eq!(
        answered, 100_000,
        "every anonymous challenge is answered 200"
    );

    let client = Client::new();
    let form = |pairs: &[(&str, &str)]| {
        client
            .post(token_url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(pairs).unwrap())
            .send()
    };
    let r = form(&[("grant_type", "srv_challenge")]).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let nonce = r.json::<Value>().await.unwrap()["Nonce"]
        .as_str()
        .unwrap()
        .to_string();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.x5c = Some(vec![STANDARD.encode(&certificate.contents)]);
    let claims = json!({"iss": printer_id, "request_nonce": nonce, "grant_type": "device_token",
        "resource": "https://print.print.microsoft.com"});
    let request = jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_ec_der(&key.serialize_der()),
    )
    .unwrap();
    let bearer = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
        ("request", request.as_str()),
    ];
    let r = form(&bearer).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let token: Value = r.json().await.unwrap();
    assert_eq!(
        run.cloud
            .token_key()
            .verify_device(token["access_token"].as_str().unwrap()),
        Some(printer_id.to_string())
    );
    let r = form(&bearer).await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let refusal: Value = r.json().await.unwrap();
    assert_eq!(refusal["error"], "invalid_grant");
    assert!(
        refusal["error_description"]
            .as_str()
            .unwrap()
            .contains("used already"),
        "{refusal}"
    );
    run.stop().await;
}

/// Sends `count` anonymous `srv_challenge` requests, pipelined on a few connections (as a
/// flooding client would, and fast enough for a test); gives how many were answered 200.
async fn flood_challenges(base: &str, count: usize) -> usize {
    const CONNECTIONS: usize = 4;
    const BATCH: usize = 1000;
    let body = "grant_type=srv_challenge";
    let request = format!(
        "POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let per_connection = count / CONNECTIONS;
    assert_eq!(per_connection % BATCH, 0);
    let addr = base.trim_start_matches("http://").to_string();
    let connections: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (addr, batch) = (addr.clone(), request.repeat(BATCH));
            tokio::spawn(async move {
                let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                let (mut reader, mut writer) = stream.into_split();
                let writing = tokio::spawn(async move {
                    for _ in 0..per_connection / BATCH {
                        writer.write_all(batch.as_bytes()).await.unwrap();
                    }
                    writer
                });
                let status_line = b"HTTP/1.1 ";
                let (mut answered, mut ok) = (0, 0);
                let mut pending = Vec::new();
                let mut buf = vec![0u8; 64 << 10];
                while answered < per_connection {
                    let n = reader.read(&mut buf).await.unwrap();
                    assert!(n > 0, "the cloud closed a flooding connection");
                    pending.extend_from_slice(&buf[..n]);
                    let mut at = 0;
                    while let Some(found) = pending[at..].iter().position(|b| *b == b'H') {
                        let code = at + found + status_line.len();
                        if code + 3 > pending.len() {
                            break;
                        }
                        if &pending[at + found..code] != status_line {
                            at += found + 1;
                            continue;
                        }
                        answered += 1;
                        ok += usize::from(&pending[code..code + 3] == b"200");
                        at = code + 3;
                    }
                    let keep_from = at.max(pending.len().saturating_sub(status_line.len() + 3));
                    pending.drain(..keep_from);
                }
                drop(writing.await.unwrap());
                ok
            })
        })
        .collect();
    let mut ok = 0;
    for connection in connections {
        ok += connection.await.unwrap();
    }
    ok
}
