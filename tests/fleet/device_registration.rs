//! The device library's registration and device token flow against the real cloud on loopback:
//! real CSRs and keys (the device library's own), real sled, and every refusal of the token
//! endpoint.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use printlab_device::registration::{
    DeviceDescription, KeyKind, RegisteredDevice, UniversalPrintAccess, ensure_registered,
    request_device_token,
};
use printlab_device::spool::Spool;
use printlab_testkit::TestCloud;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

fn access(run: &TestCloud, key: KeyKind) -> UniversalPrintAccess {
    UniversalPrintAccess {
        cloud_url: run.url.clone(),
        admin_token: Some(run.admin()),
        key,
    }
}

fn description(name: &str) -> DeviceDescription {
    DeviceDescription {
        name: name.into(),
        manufacturer: "printlab".into(),
        model: "Emulated Laser".into(),
        device_id: uuid::Uuid::new_v4().to_string(),
        location: Default::default(),
    }
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

/// Registers a device through the device library; returns it with its stored key (PEM).
async fn registered(
    run: &TestCloud,
    spool: &Spool,
    name: &str,
    key: KeyKind,
) -> (RegisteredDevice, String) {
    let device = ensure_registered(&Client::new(), spool, &access(run, key), &description(name))
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
    let run = TestCloud::start_in(&dir.path().join("cloud")).await;
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

    // A request with the nonce `n` that claims to be the inkjet, signed by `key` and carrying
    // `cert`; `inkjet_request` is the inkjet's own.
    let claiming_inkjet =
        |key: &str, cert: &[u8], n: &str| es256_request(key, cert, claims(&inkjet.printer_id, n));
    let inkjet_request = |n: &str| claiming_inkjet(&inkjet_key, &inkjet.certificate_der, n);
    // A hand-made request that is right is accepted (so the refusals below are about the fault).
    let n = nonce(&client, &url).await;
    let good = inkjet_request(&n);
    let (s, body) = jwt_bearer(&client, &url, &good).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_i64().unwrap() > 0);

    // The same nonce again: replay.
    let again = inkjet_request(&n);
    let (s, body) = jwt_bearer(&client, &url, &again).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    // A nonce the cloud never issued.
    let made_up = inkjet_request("x");
    let (s, _) = jwt_bearer(&client, &url, &made_up).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Wrong key: the inkjet's certificate, signed by a key that is not its own.
    let stranger = rcgen::KeyPair::generate().unwrap().serialize_pem();
    let n = nonce(&client, &url).await;
    let forged = claiming_inkjet(&stranger, &inkjet.certificate_der, &n);
    let (s, body) = jwt_bearer(&client, &url, &forged).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client")),
        "{body}"
    );
    // The nonce survived the refusal, so the genuine device can still use it.
    let genuine = inkjet_request(&n);
    assert_eq!(jwt_bearer(&client, &url, &genuine).await.0, StatusCode::OK);

    // Another printer's certificate (with its own key) claiming to be the inkjet.
    let n = nonce(&client, &url).await;
    let impostor = claiming_inkjet(&label_key, &label_cert.contents, &n);
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
    let outsider = claiming_inkjet(&own.serialize_pem(), self_signed.der(), &n);
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
    let late = inkjet_request(&n);
    let (s, body) = jwt_bearer(&client, &url, &late).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    run.cloud
        .set_nonce_lifetime(std::time::Duration::from_secs(300));

    // A printer deleted by an admin gets no more tokens, its valid certificate notwithstanding.
    let label = format!("/print/printers/{label_id}");
    run.admin_graph()
        .expect(Method::DELETE, &label, None, StatusCode::NO_CONTENT)
        .await;
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
    let run = TestCloud::start_in(&dir.path().join("cloud")).await;
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
        ..access(&run, KeyKind::EcdsaP256)
    };
    let again = ensure_registered(&client, &spool, &access, &description("Laser"))
        .await
        .unwrap();
    assert_eq!(again.printer_id, first.printer_id);
    assert_eq!(again.certificate_der, first.certificate_der);
    let (_, list) = run.admin_graph().get("/print/printers").await;
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
    let run = TestCloud::start_in(&dir.path().join("cloud")).await;
    let spool = Spool::open(&dir.path().join("spool")).unwrap();
    let access = access(&run, KeyKind::EcdsaP256);
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
