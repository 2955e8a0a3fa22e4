//! `printlab up --dns-sd` inside a network namespace the test makes (`unshare -rn`: a loopback
//! of its own, so no multicast leaves the test). python-zeroconf, an mDNS/DNS-SD implementation
//! of its own, browses for driverless printers as a desktop does and must find every printer
//! with the TXT keys IPP Everywhere names; ipptool then asks one it found for its attributes,
//! at the address, port and path the announcement gave.

use super::cli_e2e::fleet;
use serde_json::Value;
use std::process::Command;

#[test]
fn up_announces_every_printer_over_dns_sd_and_a_desktop_reaches_them() {
    let python = std::env::var("PRINTLAB_ZEROCONF_PYTHON").expect(
        "PRINTLAB_ZEROCONF_PYTHON must name a Python with zeroconf installed (tests/run.sh sets it)",
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("printers.toml"), fleet()).unwrap();
    let browse = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cli/dns_sd_browse.py");
    // Everything that needs the namespace's loopback runs in it: the lab, the browser and
    // ipptool. `kill -INT` stops the lab as Ctrl-C does (its goodbyes go out).
    let script = format!(
        r#"set -eu
ip link set lo up
ip link set lo multicast on
ip route add 224.0.0.0/4 dev lo
'{printlab}' up --listen 127.0.0.1:0 --ipp-listen 127.0.0.1:0 --dns-sd --log warn > up.out 2> up.err &
lab=$!
trap 'kill -INT $lab 2>/dev/null; wait $lab 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do grep -q "DNS-SD" up.out && break; sleep 0.1; done
grep -q "DNS-SD" up.out || {{ cat up.out up.err; exit 1; }}
'{python}' '{browse}' 2 20 > browse.json
'{python}' -c 'import json; s = json.load(open("browse.json"))[0]; print("ipp://%s:%d/%s" % (s["addresses"][0], s["port"], s["txt"]["rp"]))' > found.uri
ipptool -T 10 -t "$(cat found.uri)" /usr/share/cups/ipptool/get-printer-attributes.test > ipptool.out
"#,
        printlab = env!("CARGO_BIN_EXE_printlab"),
    );
    let run = Command::new("unshare")
        .args(["-rn", "bash", "-c", &script])
        .current_dir(dir.path())
        .output()
        .expect("unshare (util-linux) runs");
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap_or_default();
    assert!(
        run.status.success(),
        "the namespace run failed ({}):\n{}\n{}\nup: {}\n{}\nipptool: {}",
        run.status,
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr),
        read("up.out"),
        read("up.err"),
        read("ipptool.out"),
    );

    let lab: Value = serde_json::from_str(&read("spool/lab.json")).unwrap();
    let found: Value = serde_json::from_str(&read("browse.json")).unwrap();
    let found = found.as_array().unwrap();
    let names: Vec<&str> = found.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["Mono Test._ipp._tcp.local.", "Slow Test._ipp._tcp.local."],
        "{found:?}"
    );
    for service in found {
        let name = service["name"]
            .as_str()
            .unwrap()
            .trim_end_matches("._ipp._tcp.local.");
        let printer = (lab["printers"].as_array().unwrap().iter())
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name} is not in lab.json"));
        let uri = reqwest::Url::parse(printer["ippUri"].as_str().unwrap()).unwrap();
        assert_eq!(service["port"], uri.port().unwrap(), "{service}");
        assert!(
            service["addresses"]
                .as_array()
                .unwrap()
                .contains(&"127.0.0.1".into()),
            "{service}"
        );
        let txt = &service["txt"];
        assert_eq!(txt["rp"], uri.path().trim_start_matches('/'), "{service}");
        assert_eq!(txt["txtvers"], "1");
        assert!(
            txt["pdl"].as_str().unwrap().contains("application/pdf"),
            "{service}"
        );
        assert_eq!(txt["Color"], "F", "{service}");
        assert!(!txt["UUID"].as_str().unwrap().is_empty(), "{service}");
        assert!(
            txt["ty"].as_str().is_some_and(|ty| !ty.is_empty()),
            "{service}"
        );
    }
    let mono = found
        .iter()
        .find(|s| s["name"] == "Mono Test._ipp._tcp.local.")
        .unwrap();
    assert_eq!(mono["txt"]["Duplex"], "T", "{mono}");
    // It takes Apple raster: its urf-supported keywords, 150 and 300 dpi among them.
    let urf = mono["txt"]["URF"].as_str().unwrap_or_default();
    assert!(
        urf.starts_with("V1.4,W8") && urf.contains("RS150-300"),
        "{mono}"
    );
    let report = read("ipptool.out");
    assert!(
        report.contains("[PASS]") && !report.contains("[FAIL]"),
        "{report}"
    );
}
