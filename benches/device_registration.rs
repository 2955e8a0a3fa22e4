//! A fleet of Universal Print–mode devices against the real cloud in the same process: the time
//! for all of them to register (CSR, one pending poll, completion), get a device token and
//! advertise, against the same fleet restarted with its identities in the spool (no
//! registration, tokens reused: advertise only) in the same run. Also the cost of a device key:
//! RSA 2048 against ECDSA P-256 generation.
//!
//! `cargo bench --bench device_registration` (DEVICES=n to change the fleet size, KEY=rsa for
//! RSA 2048 device keys instead of P-256).
//!
//! Targets: the whole fleet registered, with tokens and advertised, in under 30 s (a thousand
//! devices by default); a restart faster than the first start.

use printlab_device::registration::KeyKind;
use printlab_device::runtime::{RunningFleet, fleet_http_client};
use printlab_testkit::TestCloud;
use printlab_testkit::bench_targets::Targets;
use printlab_testkit_fleet::{ONE_PRINTER, TestFleet, universal_print, universal_print_fleet};
use std::time::{Duration, Instant};

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
    let devices = printlab_testkit::env_or("DEVICES", 1000);
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
    let cloud = TestCloud::start_in(&dir.path().join("cloud")).await;
    let admin = cloud.user("admin", &["Printers.Create"], true);
    let printer = ONE_PRINTER
        .replace("dpis = [72]", "dpis = [300]")
        .replace("dpi = 72", "dpi = 300");
    let text = universal_print_fleet(&printer, devices);
    let mut fleet = TestFleet::open(&dir.path().join("spool"));
    fleet.http = fleet_http_client().unwrap();
    let link = || universal_print(&cloud.url, Some(admin.clone()), key);

    let started = Instant::now();
    let first = all_connected(fleet.start(&text, true, link()), started).await;
    fleet.stop().await;
    fleet.spool.flush().unwrap();

    let started = Instant::now();
    let again = all_connected(fleet.start(&text, true, link()), started).await;
    fleet.stop().await;

    println!("devices: {devices}, device keys: {key:?}");
    println!(
        "register + token + advertise, all: {:.2} s",
        first.as_secs_f64()
    );
    println!(
        "restart (identity and tokens from the spool) + advertise, all: {:.2} s",
        again.as_secs_f64()
    );
    let ratio = first.as_secs_f64() / again.as_secs_f64();
    println!("ratio first start / restart: {ratio:.1}");
    let mut targets = Targets::new("device_registration");
    targets.at_most(
        &format!("{devices} devices registered, with tokens, advertised"),
        first.as_secs_f64(),
        30.0,
        " s",
    );
    targets.at_least("first start over restart", ratio, 1.0, "x");
    targets.finish();
}
