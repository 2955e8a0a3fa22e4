//! A fleet of Universal Print–mode devices against the real cloud in the same process: the time
//! for all of them to register (CSR, one pending poll, completion), get a device token and
//! advertise, against the same fleet restarted with its identities in the spool (no
//! registration, tokens reused: advertise only) in the same run. Also the cost of a device key:
//! RSA 2048 against ECDSA P-256 generation.
//!
//! `cargo bench --bench device_registration` (DEVICES=n to change the fleet size, KEY=rsa for
//! RSA 2048 device keys instead of P-256).

use printlab_cloud::Cloud;
use printlab_device::config;
use printlab_device::registration::{KeyKind, UniversalPrintAccess};
use printlab_device::runtime::{
    FleetOptions, Link, RunningFleet, fleet_http_client, out_root, start_fleet,
};
use printlab_device::spool::Spool;
use std::path::Path;
use std::time::{Duration, Instant};

const PRINTER: &str = r#"
[[printer]]
name = "P{n}"
connection = { mode = "universal-print" }
[printer.capabilities]
document_formats = ["application/pdf"]
media = [{ size = "A4", margins = { top = 4, bottom = 4, left = 4, right = 4 } }]
dpis = [300]
color_modes = ["blackAndWhite"]
duplex_modes = ["oneSided"]
finishings = ["none"]
copies = { min = 1, max = 9 }
[printer.defaults]
document_format = "application/pdf"
media_size = "A4"
color_mode = "blackAndWhite"
duplex_mode = "oneSided"
dpi = 300
copies = 1
"#;

fn start(
    fleet: &config::Fleet,
    spool: &Spool,
    dir: &Path,
    access: &UniversalPrintAccess,
) -> RunningFleet {
    start_fleet(
        &fleet.printers,
        |printer| Link::from_config(printer, Some(access)),
        FleetOptions {
            spool: spool.clone(),
            out_root: out_root(dir),
            http: fleet_http_client().unwrap(),
            render: true,
        },
    )
    .unwrap()
}

/// Waits until every printer has advertised to the service; returns how long that took.
async fn all_connected(running: &RunningFleet, started: Instant) -> Duration {
    for printer in &running.printers {
        tokio::time::timeout(Duration::from_secs(170), printer.wait_for(|s| s.connected))
            .await
            .expect("every device connects within the benchmark's limit");
    }
    started.elapsed()
}

fn key_generation(kind: &'static rcgen::SignatureAlgorithm, keys: u32) -> Duration {
    let started = Instant::now();
    for _ in 0..keys {
        rcgen::KeyPair::generate_for(kind).unwrap();
    }
    started.elapsed() / keys
}

#[tokio::main]
async fn main() {
    let devices: usize = std::env::var("DEVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let key = match std::env::var("KEY").as_deref() {
        Ok("rsa") => KeyKind::Rsa2048,
        _ => KeyKind::EcdsaP256,
    };
    let rsa = key_generation(&rcgen::PKCS_RSA_SHA256, 10);
    let p256 = key_generation(&rcgen::PKCS_ECDSA_P256_SHA256, 100);
    println!(
        "key generation: RSA 2048 {:.1} ms, ECDSA P-256 {:.3} ms ({:.0}x)",
        rsa.as_secs_f64() * 1e3,
        p256.as_secs_f64() * 1e3,
        rsa.as_secs_f64() / p256.as_secs_f64()
    );

    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let cloud = Cloud::open(&dir.path().join("cloud"), &base).unwrap();
    let admin = cloud
        .token_key()
        .mint_user(
            "admin",
            &["Printers.Create".to_string()],
            true,
            chrono::Duration::hours(1),
        )
        .unwrap();
    tokio::spawn(cloud.clone().serve(listener));
    let text: String = (0..devices)
        .map(|n| PRINTER.replace("{n}", &n.to_string()))
        .collect();
    let fleet = config::parse(&text, "bench.toml").unwrap();
    let spool = Spool::open(&dir.path().join("spool")).unwrap();
    let access = UniversalPrintAccess {
        cloud_url: base,
        admin_token: Some(admin),
        key,
    };

    let started = Instant::now();
    let running = start(&fleet, &spool, dir.path(), &access);
    let first = all_connected(&running, started).await;
    running.shutdown().await;
    spool.flush().unwrap();

    let started = Instant::now();
    let running = start(&fleet, &spool, dir.path(), &access);
    let again = all_connected(&running, started).await;
    running.shutdown().await;

    println!("devices: {devices}, device keys: {key:?}");
    println!(
        "register + token + advertise, all: {:.2} s",
        first.as_secs_f64()
    );
    println!(
        "restart (identity and tokens from the spool) + advertise, all: {:.2} s",
        again.as_secs_f64()
    );
    println!(
        "ratio first start / restart: {:.1}",
        first.as_secs_f64() / again.as_secs_f64()
    );
}
