//! Device registration and the device token flow against the real cloud on loopback: real CSRs
//! and keys (the device library's own), real sled, a restart between POST and poll, and every
//! refusal of the token endpoint.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use printlab_cloud::Cloud;
use printlab_device::registration::{
    DeviceDescription, KeyKind, RegisteredDevice, UniversalPrintAccess, ensure_registered,
    request_device_token,
};
use printlab_device::spool::Spool;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::path::Path;
use tokio::sync::oneshot;

/// A cloud on an ephemeral loopback port, stoppable so its folder can be reopened.
struct Running {
    cloud: Cloud,
    url: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    async fn start(dir: &Path) -> Self {
        Self::start_on(dir, "127.0.0.1:0").await
    }

    async fn start_on(dir: &Path, addr: &str) -> Self {
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let cloud = Cloud::open(dir, &url).unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = cloud.clone();
        let task = tokio::spawn(async move {
            serving
                .serve_until(listener, async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Self {
            cloud,
            url,
            stop: Some(stop),
            task,
        }
    }

    async fn stop(mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        self.task.await.unwrap();
    }

    fn user(&self, scopes: &[&str], admin: bool) -> String {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        self.cloud
            .token_key()
            .mint_user("admin", &scopes, admin, chrono::Duration::hours(1))
            .unwrap()
    }

    fn admin(&self) -> String {
        self.user(
            &[
                "Printers.Create",
                "Printer.FullControl.All",
                "PrinterShare.ReadWrite.All",
            ],
            true,
        )
    }

    fn access(&self, key: KeyKind) -> UniversalPrintAccess {
        UniversalPrintAccess {
            cloud_url: self.url.clone(),
            admin_token: Some(self.admin()),
            key,
        }
    }
}

fn description(name: &str) -> DeviceDescription {
    DeviceDescription {
        name: name.into(),
        manufacturer: "printlab".into(),
        model: "Emulated Laser".into(),
        device_id: uuid::Uuid::new_v4().to_string(),
    }
}

async fn send(
    client: &Client,
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = client.request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn token_form(client: &Client, url: &str, fields: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(fields).unwrap())
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

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

#[tokio::test]
async fn registration_polls_then_makes_a_graph_printer_with_a_certificate_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let run = Running::start(dir.path()).await;
    let client = Client::new();
    let admin = run.admin();
    let register = format!("{}/api/v1.0/register", run.url);
    let (s, accepted) = send(
        &client,
        reqwest::Method::POST,
        &register,
        Some(&admin),
        Some(register_body("Lab Laser")),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{accepted}");
    let id = accepted["registration_id"].as_str().unwrap().to_string();
    assert!(accepted["interval"].as_u64().unwrap() >= 1);
    let poll = format!("{register}?registration_id={id}");
    let (s, pending) = send(&client, reqwest::Method::GET, &poll, Some(&admin), None).await;
    assert_eq!(
        s,
        StatusCode::ACCEPTED,
        "the first poll is pending: {pending}"
    );
    assert!(pending["interval"].as_u64().is_some());
    let (s, done) = send(&client, reqwest::Method::GET, &poll, Some(&admin), None).await;
    assert_eq!(s, StatusCode::OK, "{done}");
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
    let (s, again) = send(&client, reqwest::Method::GET, &poll, Some(&admin), None).await;
    assert_eq!((s, &again), (StatusCode::OK, &done));

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
    let graph = format!("{}/v1.0/print/printers", run.url);
    let (s, printer) = send(
        &client,
        reqwest::Method::GET,
        &format!("{graph}/{printer_id}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{printer}");
    assert_eq!(printer["displayName"], "Lab Laser");
    assert_eq!(printer["manufacturer"], "printlab");
    assert_eq!(printer["model"], "Emulated Laser");
    assert_eq!(printer["hasPhysicalDevice"], true);
    assert!(printer["registeredDateTime"].is_string());
    let (_, list) = send(&client, reqwest::Method::GET, &graph, Some(&admin), None).await;
    assert_eq!(list["value"].as_array().unwrap().len(), 1);
    let (s, share) = send(
        &client,
        reqwest::Method::POST,
        &format!("{}/v1.0/print/shares", run.url),
        Some(&admin),
        Some(json!({"displayName": "Lab share",
            "printer@odata.bind": format!("{graph}/{printer_id}")})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{share}");
    run.stop().await;
}

#[tokio::test]
async fn registration_refuses_bad_callers_and_bad_input_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let run = Running::start(dir.path()).await;
    let client = Client::new();
    let register = format!("{}/api/v1.0/register", run.url);
    let post = |token: Option<String>, body: Value| {
        let client = client.clone();
        let register = register.clone();
        async move {
            send(
                &client,
                reqwest::Method::POST,
                &register,
                token.as_deref(),
                Some(body),
            )
            .await
        }
    };
    let (s, _) = post(None, register_body("A")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = post(Some("not-a-jwt".into()), register_body("A")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let foreign = printlab_cloud::auth::TokenKey::generate()
        .mint_user(
            "admin",
            &["Printers.Create".into()],
            true,
            chrono::Duration::hours(1),
        )
        .unwrap();
    let (s, _) = post(Some(foreign), register_body("A")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, body) = post(
        Some(run.user(&["PrintJob.Create"], true)),
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
        Some(run.user(&["Printers.Create"], false)),
        register_body("A"),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a non-administrator: {body}");

    let admin = run.admin();
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
    let (s, answer) = send(&client, reqwest::Method::GET, &register, Some(&admin), None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("registration_id")
    );
    let (s, _) = send(
        &client,
        reqwest::Method::GET,
        &format!("{register}?registration_id=nope"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Nothing above made a printer.
    let (_, list) = send(
        &client,
        reqwest::Method::GET,
        &format!("{}/v1.0/print/printers", run.url),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(list["value"], json!([]));
    run.stop().await;
}

#[tokio::test]
async fn a_restart_between_post_and_poll_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let run = Running::start(dir.path()).await;
    let addr = run.url.trim_start_matches("http://").to_string();
    let client = Client::new();
    let admin = run.admin();
    let register = format!("{}/api/v1.0/register", run.url);
    let (s, accepted) = send(
        &client,
        reqwest::Method::POST,
        &register,
        Some(&admin),
        Some(register_body("Survivor")),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let poll = format!(
        "{register}?registration_id={}",
        accepted["registration_id"].as_str().unwrap()
    );
    let (s, _) = send(&client, reqwest::Method::GET, &poll, Some(&admin), None).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    run.stop().await;

    let run = Running::start_on(dir.path(), &addr).await;
    let (s, done) = send(&client, reqwest::Method::GET, &poll, Some(&admin), None).await;
    assert_eq!(s, StatusCode::OK, "{done}");
    let printer_id = done["cloud_device_id"].as_str().unwrap();
    let (s, printer) = send(
        &client,
        reqwest::Method::GET,
        &format!("{}/v1.0/print/printers/{printer_id}", run.url),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(printer["displayName"], "Survivor");
    run.stop().await;
}

/// Spoils one field of a registration body.
type Breakage = Box<dyn Fn(&mut Value)>;

/// Registers a device through the device library; returns it with its stored key (PEM).
async fn registered(
    run: &Running,
    spool: &Spool,
    name: &str,
    key: KeyKind,
) -> (RegisteredDevice, String) {
    let device = ensure_registered(&Client::new(), spool, &run.access(key), &description(name))
        .await
        .unwrap();
    let key = spool.identity(name).unwrap().unwrap().private_key_pem;
    (device, key)
}

async fn nonce(client: &Client, url: &str) -> String {
    let (s, body) = token_form(client, url, &[("grant_type", "srv_challenge")]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["Nonce"].as_str().unwrap().to_string()
}

/// A token request signed by `key_pem` (ECDSA P-256, PKCS#8) with `cert_der` in x5c.
fn es256_request(key_pem: &str, cert_der: &[u8], claims: Value) -> String {
    let key = rcgen::KeyPair::from_pem(key_pem).unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.x5c = Some(vec![STANDARD.encode(cert_der)]);
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_ec_der(&key.serialize_der()),
    )
    .unwrap()
}

fn claims(printer: &str, nonce: &str) -> Value {
    json!({"iss": printer, "request_nonce": nonce, "grant_type": "device_token",
           "resource": "https://print.print.microsoft.com", "client_id": "c", "redirect_uri": "r"})
}

async fn jwt_bearer(client: &Client, url: &str, jwt: &str) -> (StatusCode, Value) {
    token_form(
        client,
        url,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("request", jwt),
        ],
    )
    .await
}

#[tokio::test]
async fn device_tokens_are_issued_for_real_proofs_only() {
    let dir = tempfile::tempdir().unwrap();
    let run = Running::start(&dir.path().join("cloud")).await;
    let spool = Spool::open(&dir.path().join("spool")).unwrap();
    let client = Client::new();

    // RS256 with an RSA 2048 key, as Universal Print's devices: the library's whole flow.
    let (laser, _) = registered(&run, &spool, "Laser", KeyKind::Rsa2048).await;
    let token = request_device_token(&client, &laser).await.unwrap();
    assert_eq!(
        run.cloud.token_key().verify_device(&token.access_token),
        Some(laser.printer_id.clone())
    );
    assert!(token.refresh_at < token.expires_at);
    // ES256 too.
    let (inkjet, inkjet_key) = registered(&run, &spool, "Inkjet", KeyKind::EcdsaP256).await;
    let token = request_device_token(&client, &inkjet).await.unwrap();
    assert_eq!(
        run.cloud.token_key().verify_device(&token.access_token),
        Some(inkjet.printer_id.clone())
    );
    let url = inkjet.device_token_url.clone();
    let (_, label_key) = registered(&run, &spool, "Label", KeyKind::EcdsaP256).await;
    let label = spool.identity("Label").unwrap().unwrap();
    let (_, label_cert) =
        x509_parser::pem::parse_x509_pem(label.certificate_pem.unwrap().as_bytes()).unwrap();
    let label_id = label.device_id.unwrap();

    // A hand-made request that is right is accepted (so the refusals below are about the fault).
    let n = nonce(&client, &url).await;
    let good = es256_request(
        &inkjet_key,
        &inkjet.certificate_der,
        claims(&inkjet.printer_id, &n),
    );
    let (s, body) = jwt_bearer(&client, &url, &good).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_i64().unwrap() > 0);

    // The same nonce again: replay.
    let again = es256_request(
        &inkjet_key,
        &inkjet.certificate_der,
        claims(&inkjet.printer_id, &n),
    );
    let (s, body) = jwt_bearer(&client, &url, &again).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    // A nonce the cloud never issued.
    let made_up = es256_request(
        &inkjet_key,
        &inkjet.certificate_der,
        claims(&inkjet.printer_id, "x"),
    );
    let (s, _) = jwt_bearer(&client, &url, &made_up).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Wrong key: the inkjet's certificate, signed by a key that is not its own.
    let stranger = rcgen::KeyPair::generate().unwrap().serialize_pem();
    let n = nonce(&client, &url).await;
    let forged = es256_request(
        &stranger,
        &inkjet.certificate_der,
        claims(&inkjet.printer_id, &n),
    );
    let (s, body) = jwt_bearer(&client, &url, &forged).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client")),
        "{body}"
    );
    // The nonce survived the refusal, so the genuine device can still use it.
    let genuine = es256_request(
        &inkjet_key,
        &inkjet.certificate_der,
        claims(&inkjet.printer_id, &n),
    );
    assert_eq!(jwt_bearer(&client, &url, &genuine).await.0, StatusCode::OK);

    // Another printer's certificate (with its own key) claiming to be the inkjet.
    let n = nonce(&client, &url).await;
    let impostor = es256_request(
        &label_key,
        &label_cert.contents,
        claims(&inkjet.printer_id, &n),
    );
    let (s, body) = jwt_bearer(&client, &url, &impostor).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains(&label_id)
    );

    // A certificate this cloud's CA never issued, though it names the inkjet.
    let own = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, inkjet.printer_id.as_str());
    let self_signed = params.self_signed(&own).unwrap();
    let n = nonce(&client, &url).await;
    let outsider = es256_request(
        &own.serialize_pem(),
        self_signed.der(),
        claims(&inkjet.printer_id, &n),
    );
    let (s, body) = jwt_bearer(&client, &url, &outsider).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");

    // Wrong grant_type claim, wrong resource, no x5c, unknown grant.
    for (field, value) in [
        ("grant_type", "client_credentials"),
        ("resource", "https://graph.microsoft.com"),
    ] {
        let n = nonce(&client, &url).await;
        let mut c = claims(&inkjet.printer_id, &n);
        c[field] = json!(value);
        let (s, body) = jwt_bearer(
            &client,
            &url,
            &es256_request(&inkjet_key, &inkjet.certificate_der, c),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{field}: {body}");
    }
    let (s, body) = token_form(&client, &url, &[("grant_type", "password")]).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unsupported_grant_type"))
    );
    let (s, _) = jwt_bearer(&client, &url, "not.a.jwt").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // An expired nonce.
    run.cloud
        .set_nonce_lifetime(std::time::Duration::from_millis(100));
    let n = nonce(&client, &url).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let late = es256_request(
        &inkjet_key,
        &inkjet.certificate_der,
        claims(&inkjet.printer_id, &n),
    );
    let (s, body) = jwt_bearer(&client, &url, &late).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    run.cloud
        .set_nonce_lifetime(std::time::Duration::from_secs(300));

    // A printer deleted by an admin gets no more tokens, its valid certificate notwithstanding.
    let (s, _) = send(
        &client,
        reqwest::Method::DELETE,
        &format!("{}/v1.0/print/printers/{label_id}", run.url),
        Some(&run.admin()),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let n = nonce(&client, &url).await;
    let gone = es256_request(&label_key, &label_cert.contents, claims(&label_id, &n));
    let (s, body) = jwt_bearer(&client, &url, &gone).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client")),
        "{body}"
    );
    run.stop().await;
}

#[tokio::test]
async fn a_registered_device_keeps_its_identity_and_does_not_register_again() {
    let dir = tempfile::tempdir().unwrap();
    let run = Running::start(&dir.path().join("cloud")).await;
    let spool_dir = dir.path().join("spool");
    let client = Client::new();
    let first = {
        let spool = Spool::open(&spool_dir).unwrap();
        let (device, _) = registered(&run, &spool, "Laser", KeyKind::EcdsaP256).await;
        spool.flush().unwrap();
        device
    };
    let spool = Spool::open(&spool_dir).unwrap();
    // Without an admin token: the spool's identity is enough.
    let access = UniversalPrintAccess {
        admin_token: None,
        ..run.access(KeyKind::EcdsaP256)
    };
    let again = ensure_registered(&client, &spool, &access, &description("Laser"))
        .await
        .unwrap();
    assert_eq!(again.printer_id, first.printer_id);
    assert_eq!(again.certificate_der, first.certificate_der);
    let (_, list) = send(
        &client,
        reqwest::Method::GET,
        &format!("{}/v1.0/print/printers", run.url),
        Some(&run.admin()),
        None,
    )
    .await;
    assert_eq!(list["value"].as_array().unwrap().len(), 1);
    // A printer that never registered needs the token, and says so.
    let err = ensure_registered(&client, &spool, &access, &description("Other"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("PRINTLAB_TOKEN"), "{err}");
    run.stop().await;
}

/// Many devices registering at the same moment: each POST and poll flushes the store, and
/// sled's `flush_async` used to hang the whole cloud once about seven flushes overlapped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_devices_register_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let run = Running::start(&dir.path().join("cloud")).await;
    let spool = Spool::open(&dir.path().join("spool")).unwrap();
    let access = run.access(KeyKind::EcdsaP256);
    let client = Client::new();
    let registrations = (0..32).map(|n| {
        let (client, spool, access) = (client.clone(), spool.clone(), access.clone());
        tokio::spawn(async move {
            ensure_registered(&client, &spool, &access, &description(&format!("P{n}"))).await
        })
    });
    let all = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        futures::future::join_all(registrations),
    )
    .await
    .expect("32 concurrent registrations finish (the cloud does not hang)");
    let mut ids: Vec<String> = all
        .into_iter()
        .map(|r| r.unwrap().unwrap().printer_id)
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 32);
    run.stop().await;
}
