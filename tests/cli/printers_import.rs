//! `printlab printers import`: printers described here through the project's IPP encoder and
//! saved as response bodies, CUPS' `ippeveprinter` asked live, and ipptool's plist of it; each
//! import's mapping report, the entry validating, and an imported printer in a running lab.

use super::KilledOnDrop;
use super::cli_e2e::{printlab, up_with};
use printlab_ipp::{Attribute, GroupTag, Message, StatusCode, Value};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

#[track_caller]
fn succeeded(out: &Output) -> String {
    assert!(
        out.status.success(),
        "printlab failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn kw(values: &[&str]) -> Vec<Value> {
    values.iter().map(|v| Value::keyword(*v)).collect()
}

fn mime(values: &[&str]) -> Vec<Value> {
    values.iter().map(|v| Value::mime_media_type(*v)).collect()
}

fn size(pwg: &str, x: i32, y: i32, margins: [i32; 4]) -> Value {
    let mut col = vec![
        Attribute::new(
            "media-size",
            Value::Collection(vec![
                Attribute::new("x-dimension", Value::Integer(x)),
                Attribute::new("y-dimension", Value::Integer(y)),
            ]),
        ),
        Attribute::new("media-size-name", Value::keyword(pwg)),
    ];
    for (member, m) in [
        "media-top-margin",
        "media-bottom-margin",
        "media-left-margin",
        "media-right-margin",
    ]
    .iter()
    .zip(margins)
    {
        col.push(Attribute::new(*member, Value::Integer(m)));
    }
    Value::Collection(col)
}

/// The attributes every model here shares: identity and the job settings an office printer has.
fn common(name: &str, make_and_model: &str) -> Vec<Attribute> {
    vec![
        Attribute::new("printer-name", Value::name(name)),
        Attribute::new("printer-make-and-model", Value::text(make_and_model)),
        Attribute::new("printer-location", Value::text("Lab bench 3")),
        Attribute::new("printer-info", Value::text(format!("{name}, imported"))),
        Attribute::new(
            "printer-more-info",
            Value::uri("https://printer.example/status"),
        ),
        Attribute::new(
            "copies-supported",
            Value::RangeOfInteger {
                lower: 1,
                upper: 99,
            },
        ),
        Attribute::new("copies-default", Value::Integer(1)),
        Attribute::new("page-ranges-supported", Value::Boolean(true)),
        Attribute::set(
            "orientation-requested-supported",
            [Value::Enum(3), Value::Enum(4)],
        ),
        Attribute::set(
            "number-up-supported",
            [Value::Integer(1), Value::Integer(2)],
        ),
        Attribute::set(
            "presentation-direction-number-up-supported",
            kw(&["toright-tobottom"]),
        ),
        Attribute::set("print-scaling-supported", kw(&["auto", "fit"])),
        Attribute::new("print-scaling-default", Value::keyword("auto")),
    ]
}

/// An A4 mono laser: two sizes with 4.23 mm margins, duplex, one toner.
fn mono_laser() -> Vec<Attribute> {
    let mut attrs = common("Import Mono Laser", "Brother HL-L2350DW series");
    attrs.extend([
        Attribute::set(
            "document-format-supported",
            mime(&["application/pdf", "image/pwg-raster"]),
        ),
        Attribute::new(
            "document-format-default",
            Value::mime_media_type("application/pdf"),
        ),
        Attribute::set(
            "media-supported",
            kw(&["iso_a4_210x297mm", "na_letter_8.5x11in"]),
        ),
        Attribute::set(
            "media-col-database",
            [
                size("iso_a4_210x297mm", 21000, 29700, [423; 4]),
                size("na_letter_8.5x11in", 21590, 27940, [423; 4]),
            ],
        ),
        Attribute::new("media-default", Value::keyword("iso_a4_210x297mm")),
        Attribute::set(
            "printer-resolution-supported",
            [Value::dpi(150), Value::dpi(300)],
        ),
        Attribute::new("printer-resolution-default", Value::dpi(150)),
        Attribute::set("print-color-mode-supported", kw(&["monochrome"])),
        Attribute::new("print-color-mode-default", Value::keyword("monochrome")),
        Attribute::set("sides-supported", kw(&["one-sided", "two-sided-long-edge"])),
        Attribute::new("sides-default", Value::keyword("one-sided")),
        Attribute::set("finishings-supported", [Value::Enum(3)]),
        Attribute::set("print-quality-supported", [Value::Enum(4), Value::Enum(5)]),
        Attribute::set("media-source-supported", kw(&["tray-1"])),
        Attribute::set("output-bin-supported", kw(&["face-down"])),
        Attribute::new("pages-per-minute", Value::Integer(30)),
        Attribute::set("marker-names", [Value::name("Black Toner")]),
        Attribute::set("marker-types", kw(&["toner"])),
        Attribute::set("marker-colors", [Value::name("#000000")]),
        Attribute::set("marker-levels", [Value::Integer(80)]),
        Attribute::set("marker-low-levels", [Value::Integer(10)]),
        Attribute::set("marker-high-levels", [Value::Integer(100)]),
    ]);
    attrs
}

/// A colour MFP with vendor formats, a custom size range, a finishing Graph lacks, two speeds
/// and a constraint.
fn colour_mfp() -> Vec<Attribute> {
    let mut attrs = common("Import Colour MFP", "Konica Minolta bizhub C300i");
    let custom = Value::Collection(vec![Attribute::new(
        "media-size",
        Value::Collection(vec![
            Attribute::new(
                "x-dimension",
                Value::RangeOfInteger {
                    lower: 7620,
                    upper: 21590,
                },
            ),
            Attribute::new(
                "y-dimension",
                Value::RangeOfInteger {
                    lower: 12700,
                    upper: 35560,
                },
            ),
        ]),
    )]);
    attrs.extend([
        Attribute::set(
            "document-format-supported",
            mime(&[
                "application/pdf",
                "image/jpeg",
                "application/vnd.hp-PCL",
                "application/octet-stream",
            ]),
        ),
        Attribute::new(
            "document-format-default",
            Value::mime_media_type("application/octet-stream"),
        ),
        Attribute::set(
            "media-supported",
            kw(&[
                "iso_a4_210x297mm",
                "iso_a5_148x210mm",
                "custom_min_76.2x127mm",
                "custom_max_215.9x355.6mm",
            ]),
        ),
        Attribute::set(
            "media-col-database",
            [
                size("iso_a4_210x297mm", 21000, 29700, [500; 4]),
                size("iso_a5_148x210mm", 14800, 21000, [500; 4]),
                custom,
            ],
        ),
        Attribute::set("media-type-supported", kw(&["stationery", "envelope"])),
        Attribute::set(
            "printer-resolution-supported",
            [Value::dpi(300), Value::dpi(600)],
        ),
        Attribute::set("print-color-mode-supported", kw(&["monochrome", "color"])),
        Attribute::new("print-color-mode-default", Value::keyword("color")),
        Attribute::new("color-supported", Value::Boolean(true)),
        Attribute::set(
            "sides-supported",
            kw(&["one-sided", "two-sided-long-edge", "two-sided-short-edge"]),
        ),
        Attribute::set(
            "finishings-supported",
            [Value::Enum(3), Value::Enum(4), Value::Enum(14)],
        ),
        Attribute::set("media-source-supported", kw(&["tray-1", "tray-2"])),
        Attribute::new("pages-per-minute", Value::Integer(30)),
        Attribute::new("pages-per-minute-color", Value::Integer(25)),
        Attribute::set(
            "job-constraints-supported",
            [Value::Collection(vec![
                Attribute::new("resolver-name", Value::name("no-duplex-on-envelopes")),
                Attribute::new("media-type", Value::keyword("envelope")),
                Attribute::set(
                    "sides",
                    kw(&["two-sided-long-edge", "two-sided-short-edge"]),
                ),
            ])],
        ),
        Attribute::set(
            "job-resolvers-supported",
            [Value::Collection(vec![
                Attribute::new("resolver-name", Value::name("no-duplex-on-envelopes")),
                Attribute::new("sides", Value::keyword("one-sided")),
            ])],
        ),
    ]);
    attrs
}

/// A photo printer whose sizes come bordered and borderless.
fn photo() -> Vec<Attribute> {
    let mut attrs = common("Import Photo", "Canon SELPHY CP1500");
    attrs.extend([
        Attribute::set(
            "document-format-supported",
            mime(&["image/jpeg", "image/png", "application/pdf"]),
        ),
        Attribute::set(
            "media-col-database",
            [
                size("na_index-4x6_4x6in", 10160, 15240, [300; 4]),
                size("na_index-4x6_4x6in", 10160, 15240, [0; 4]),
                size("na_5x7_5x7in", 12700, 17780, [300; 4]),
                size("na_5x7_5x7in", 12700, 17780, [0; 4]),
                size("iso_a4_210x297mm", 21000, 29700, [300, 500, 300, 300]),
            ],
        ),
        Attribute::set("media-type-supported", kw(&["photographic-glossy"])),
        Attribute::set("printer-resolution-supported", [Value::dpi(300)]),
        Attribute::set("print-color-mode-supported", kw(&["color", "monochrome"])),
        Attribute::set("sides-supported", kw(&["one-sided"])),
        Attribute::set("print-quality-supported", [Value::Enum(4), Value::Enum(5)]),
        Attribute::new("print-quality-default", Value::Enum(5)),
        Attribute::new("pages-per-minute", Value::Integer(1)),
    ]);
    attrs
}

fn saved_response(dir: &Path, file: &str, attrs: Vec<Attribute>) -> PathBuf {
    let mut response = Message::response(StatusCode::SUCCESSFUL_OK, 1);
    response.group_mut(GroupTag::PRINTER).attributes = attrs;
    let path = dir.join(file);
    std::fs::write(&path, response.to_bytes().unwrap()).unwrap();
    path
}

/// `printlab printers import SOURCE --json`, parsed.
fn import_json(source: &str) -> serde_json::Value {
    let out = printlab()
        .args(["printers", "import", source, "--json"])
        .output()
        .unwrap();
    serde_json::from_str(&succeeded(&out)).unwrap()
}

/// The report's `(attribute, value)` pairs Graph cannot express, sorted.
fn not_in_graph(report: &serde_json::Value) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = report["notInGraph"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["attribute"].as_str().unwrap().to_owned(),
                u["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    pairs.sort();
    pairs
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = list
        .iter()
        .map(|(a, v)| ((*a).to_owned(), (*v).to_owned()))
        .collect();
    out.sort();
    out
}

/// Appends the import to `fleet` with --out and checks `printlab validate` accepts the file.
fn import_into(source: &str, fleet: &Path) {
    let out = printlab()
        .args(["printers", "import", source, "--out"])
        .arg(fleet)
        .output()
        .unwrap();
    succeeded(&out);
    succeeded(&printlab().arg("validate").arg(fleet).output().unwrap());
}

/// Each of `keys` is written in the entry, on the printer or on one of its media sizes.
fn check_written(report: &serde_json::Value, keys: &[&str]) {
    let entry: toml::Table = toml::from_str(report["entry"].as_str().unwrap()).unwrap();
    let printer = &entry["printer"].as_array().unwrap()[0];
    for key in keys {
        let written = printer.get(*key).is_some()
            || printer["capabilities"]["media"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m.get(*key).is_some());
        assert!(written, "`{key}` must be written: {report:#}");
    }
}

#[test]
fn saved_responses_import_with_an_exact_report_and_validate() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("printers.toml");

    let laser = saved_response(dir.path(), "laser.ipp", mono_laser());
    let report = import_json(laser.to_str().unwrap());
    assert_eq!(not_in_graph(&report), pairs(&[]), "{report:#}");
    let entry = report["entry"].as_str().unwrap();
    let parsed: toml::Table = toml::from_str(entry).unwrap();
    let printer = &parsed["printer"].as_array().unwrap()[0];
    assert_eq!(printer["name"].as_str(), Some("Import Mono Laser"));
    assert_eq!(printer["manufacturer"].as_str(), Some("Brother"));
    assert_eq!(printer["model"].as_str(), Some("HL-L2350DW series"));
    assert_eq!(printer["location"]["site"].as_str(), Some("Lab bench 3"));
    assert_eq!(printer["engine"]["pages_per_minute"].as_integer(), Some(30));
    let caps = &printer["capabilities"];
    assert_eq!(
        caps["color_modes"].as_array().unwrap(),
        &[toml::Value::from("grayscale")]
    );
    assert_eq!(caps["media"][0]["size"].as_str(), Some("A4"));
    assert_eq!(caps["media"][0]["margins"]["top"].as_float(), Some(4.23));
    assert_eq!(printer["defaults"]["dpi"].as_integer(), Some(150));
    check_written(&report, &["info", "more_info", "supplies"]);
    import_into(laser.to_str().unwrap(), &fleet);

    let mfp = saved_response(dir.path(), "mfp.ipp", colour_mfp());
    let report = import_json(mfp.to_str().unwrap());
    assert_eq!(
        not_in_graph(&report),
        pairs(&[
            ("document-format-supported", "application/vnd.hp-PCL"),
            ("document-format-supported", "application/octet-stream"),
            ("media-supported", "custom_min_76.2x127mm"),
            ("media-supported", "custom_max_215.9x355.6mm"),
            (
                "media-col-database",
                "{x-dimension=7620-21590 y-dimension=12700-35560}"
            ),
            ("finishings-supported", "14"),
            ("pages-per-minute-color", "25"),
            ("job-constraints-supported", "no-duplex-on-envelopes"),
        ]),
        "{report:#}"
    );
    let entry = report["entry"].as_str().unwrap();
    assert!(
        entry.contains("Konica Minolta") && entry.contains("bizhub C300i"),
        "{entry}"
    );
    assert!(!entry.contains("vnd.hp-PCL"), "{entry}");
    check_written(&report, &["constraints"]);
    import_into(mfp.to_str().unwrap(), &fleet);

    let photo = saved_response(dir.path(), "photo.ipp", photo());
    let report = import_json(photo.to_str().unwrap());
    assert_eq!(not_in_graph(&report), pairs(&[]), "{report:#}");
    check_written(&report, &["borderless"]);
    import_into(photo.to_str().unwrap(), &fleet);

    // The same printer twice is refused, and the file is left as it was.
    let before = std::fs::read_to_string(&fleet).unwrap();
    let again = printlab()
        .args(["printers", "import", photo.to_str().unwrap(), "--out"])
        .arg(&fleet)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr)
            .contains("already has a printer named `Import Photo`"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(std::fs::read_to_string(&fleet).unwrap(), before);
}

#[test]
fn the_writer_emits_every_section_the_model_has() {
    let mut model = printlab_mapping::printer_model_from_ipp(&colour_mfp()).value;
    model.trays.push(printlab_mapping::Tray {
        name: "tray-1".into(),
        media_size: printlab_graph::MediaSize::by_graph_name("A4").unwrap(),
        media_type: Some("stationery".into()),
        capacity: 250,
        level: Some(100),
    });
    let photo_model = printlab_mapping::printer_model_from_ipp(&photo()).value;
    let laser_model = printlab_mapping::printer_model_from_ipp(&mono_laser()).value;
    let mfp = printlab_device::config::printer_entry(&model, "MFP");
    let photo = printlab_device::config::printer_entry(&photo_model, "Photo");
    let laser = printlab_device::config::printer_entry(&laser_model, "Laser");
    // What the model holds is written, never lost silently.
    for (entry, key) in [
        (&mfp, "constraints"),
        (&mfp, "trays"),
        (&photo, "borderless"),
        (&laser, "supplies"),
        (&laser, "info"),
        (&laser, "more_info"),
    ] {
        let report = serde_json::json!({ "entry": entry });
        check_written(&report, &[key]);
    }
    assert_eq!(model.constraints.len(), 1);
    let c = &model.constraints[0];
    assert_eq!(c.resolver, "no-duplex-on-envelopes");
    assert_eq!(c.when["media_type"], ["envelope"]);
    assert_eq!(c.when["duplex_mode"], ["flipOnLongEdge", "flipOnShortEdge"]);
    assert_eq!(c.resolve.as_ref().unwrap()["duplex_mode"], ["oneSided"]);
    let supply = &laser_model.supplies[0];
    assert_eq!(
        (
            supply.name.as_str(),
            supply.kind.as_str(),
            supply.color.as_deref(),
            supply.level,
            supply.low,
            supply.high
        ),
        ("Black Toner", "toner", Some("#000000"), 80, 10, Some(100))
    );
    let borderless: Vec<(&str, bool)> = photo_model
        .media
        .iter()
        .map(|m| (m.size.graph_name, m.borderless))
        .collect();
    assert_eq!(
        borderless,
        [
            ("North America Index 4x6in", true),
            ("North America 5x7in", true),
            ("A4", false)
        ]
    );
}

#[test]
fn a_bad_source_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let truncated = saved_response(dir.path(), "cut.ipp", mono_laser());
    let bytes = std::fs::read(&truncated).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let refused = dir.path().join("refused.ipp");
    std::fs::write(
        &refused,
        Message::error_response(StatusCode::CLIENT_ERROR_NOT_FOUND, 1, "no such printer")
            .to_bytes()
            .unwrap(),
    )
    .unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "just some notes").unwrap();
    for (path, expected) in [
        (&truncated, "not a whole IPP response: message ends inside"),
        (
            &refused,
            "the printer answered client-error-not-found (0x0406): no such printer",
        ),
        (&text, "neither an IPP response"),
    ] {
        let out = printlab()
            .args(["printers", "import", path.to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert!(stderr.contains(path.to_str().unwrap()), "{stderr}");
    }
}

/// ippeveprinter and the private D-Bus it needs, or `None` (with a message) when CUPS' tools are
/// not installed and `PRINTLAB_REQUIRE_INTEROP` is unset.
fn interop_tools() -> Option<()> {
    let missing: Vec<&str> = ["ippeveprinter", "ipptool", "dbus-daemon"]
        .into_iter()
        .filter(|tool| {
            !Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .collect();
    if missing.is_empty() {
        return Some(());
    }
    let message = format!(
        "{} not installed (Debian packages cups-ipp-utils, dbus; tests/run.sh installs them)",
        missing.join(", ")
    );
    if std::env::var_os("PRINTLAB_REQUIRE_INTEROP").is_some() {
        panic!("{message}, and PRINTLAB_REQUIRE_INTEROP is set");
    }
    eprintln!("skipping: {message}");
    None
}

/// CUPS' ippeveprinter on a loopback port. CUPS 2.4's ippeveprinter will not start without a
/// D-Bus to reach Avahi through, so it gets a private bus of its own (no Avahi answers there,
/// so nothing is advertised); `-n localhost` keeps its listeners on loopback.
struct Ippeveprinter {
    _bus: KilledOnDrop,
    _printer: KilledOnDrop,
    uri: String,
    _spool: tempfile::TempDir,
}

fn ippeveprinter(name: &str, extra: &[&str]) -> Ippeveprinter {
    let spool = tempfile::tempdir().unwrap();
    let mut bus = Command::new("dbus-daemon")
        .args(["--session", "--print-address", "--nofork", "--nopidfile"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut address = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(bus.stdout.take().unwrap()),
        &mut address,
    )
    .unwrap();
    let bus = KilledOnDrop(bus);
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let printer = Command::new("ippeveprinter")
        .env("DBUS_SYSTEM_BUS_ADDRESS", address.trim())
        .args([
            "-r",
            "off",
            "-n",
            "localhost",
            "-p",
            &port.to_string(),
            "-d",
        ])
        .arg(spool.path())
        .args(extra)
        .arg(name)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let printer = KilledOnDrop(printer);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "ippeveprinter did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Ippeveprinter {
        _bus: bus,
        _printer: printer,
        uri: format!("ipp://127.0.0.1:{port}/ipp/print"),
        _spool: spool,
    }
}

#[test]
fn ippeveprinter_imports_live_and_from_its_ipptool_plist() {
    if interop_tools().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let eve = ippeveprinter(
        "Eve Laser",
        &[
            "-M",
            "Acme",
            "-m",
            "Laser 5",
            "-f",
            "application/pdf,image/jpeg",
            "-s",
            "20",
            "-2",
        ],
    );
    let live = import_json(&eve.uri);
    let plist = dir.path().join("eve.plist");
    let ipptool = Command::new("ipptool")
        .arg("-P")
        .arg(&plist)
        .args([&eve.uri, "get-printer-attributes.test"])
        .output()
        .unwrap();
    assert!(
        ipptool.status.success(),
        "{}",
        String::from_utf8_lossy(&ipptool.stdout)
    );
    let saved = import_json(plist.to_str().unwrap());
    // ippeveprinter builds printer-more-info from the host the client named: ipptool names
    // `localhost` where printlab names the address it connected to.
    let without_more_info = |report: &serde_json::Value| {
        let mut entry: toml::Table = toml::from_str(report["entry"].as_str().unwrap()).unwrap();
        let printer = entry["printer"].as_array_mut().unwrap()[0]
            .as_table_mut()
            .unwrap();
        assert!(printer.remove("more_info").is_some(), "{report:#}");
        entry
    };
    assert_eq!(
        without_more_info(&live),
        without_more_info(&saved),
        "the plist reads back as the live printer"
    );
    assert_eq!(not_in_graph(&live), not_in_graph(&saved));
    assert_eq!(not_in_graph(&live), pairs(&EVE_NOT_IN_GRAPH), "{live:#}");
    let entry: toml::Table = toml::from_str(live["entry"].as_str().unwrap()).unwrap();
    let printer = &entry["printer"].as_array().unwrap()[0];
    assert_eq!(printer["name"].as_str(), Some("Eve Laser"));
    assert_eq!(printer["manufacturer"].as_str(), Some("Acme"));
    assert_eq!(printer["model"].as_str(), Some("Laser 5"));
    assert_eq!(printer["engine"]["pages_per_minute"].as_integer(), Some(20));
    let fleet = dir.path().join("printers.toml");
    import_into(&eve.uri, &fleet);
}

/// What ippeveprinter (CUPS 2.4) lists that Graph has no place for.
const EVE_NOT_IN_GRAPH: [(&str, &str); 1] =
    [("document-format-supported", "application/octet-stream")];

/// The `printlab print` options of one job per value of each capability Graph shows for a
/// printer; formats are covered by a document of each.
fn one_job_per_value(caps: &serde_json::Value) -> Vec<Vec<String>> {
    let strings = |p: &str| -> Vec<String> {
        caps[p]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect()
    };
    let mut jobs: Vec<Vec<String>> = Vec::new();
    let mut each = |flag: &str, values: Vec<String>| {
        for v in values {
            jobs.push(vec![flag.to_owned(), v]);
        }
    };
    each("--media", strings("mediaSizes"));
    each("--dpi", strings("dpis"));
    each("--quality", strings("qualities"));
    each("--nup", strings("pagesPerSheet"));
    each("--scaling", strings("scalings"));
    each("--media-type", strings("mediaTypes"));
    each("--input-bin", strings("inputBins"));
    each("--output-bin", strings("outputBins"));
    each("--finishing", strings("finishings"));
    let kebab = |s: &str| {
        s.chars()
            .flat_map(|c| {
                if c.is_ascii_uppercase() {
                    vec!['-', c.to_ascii_lowercase()]
                } else {
                    vec![c]
                }
            })
            .collect::<String>()
    };
    each(
        "--orientation",
        strings("orientations").iter().map(|o| kebab(o)).collect(),
    );
    for duplex in strings("duplexModes") {
        let flag = match duplex.as_str() {
            "oneSided" => "none",
            "flipOnLongEdge" => "long",
            _ => "short",
        };
        jobs.push(vec!["--duplex".into(), flag.into()]);
    }
    for mode in strings("colorModes") {
        let flag = match mode.as_str() {
            "blackAndWhite" => "--mono",
            "grayscale" => "--grayscale",
            _ => "--color",
        };
        jobs.push(vec![flag.into()]);
    }
    jobs
}

#[test]
fn imported_printers_show_in_graph_and_print_every_capability_value_in_a_lab() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("imported.toml");
    let mut sources: Vec<String> = [
        ("laser.ipp", mono_laser()),
        ("mfp.ipp", colour_mfp()),
        ("photo.ipp", photo()),
    ]
    .into_iter()
    .map(|(file, attrs)| {
        saved_response(dir.path(), file, attrs)
            .to_str()
            .unwrap()
            .to_owned()
    })
    .collect();
    let eve = interop_tools().map(|()| {
        [
            ippeveprinter(
                "Eve Lab Laser",
                &[
                    "-M",
                    "Acme",
                    "-m",
                    "Laser 5",
                    "-f",
                    "application/pdf,image/jpeg",
                ],
            ),
            ippeveprinter_with_file(dir.path(), "Eve Lab MFP", &mfp_attribute_file()),
        ]
    });
    sources.extend(eve.iter().flatten().map(|e| e.uri.clone()));
    let mut reports = Vec::new();
    for source in &sources {
        import_into(source, &fleet);
        reports.push(import_json(source));
    }
    let text = std::fs::read_to_string(&fleet).unwrap().replace(
        "[printer.engine]\n",
        "[printer.engine]\nfull_speed = true\n",
    );
    let up = up_with(dir.path(), &text, "127.0.0.1:0", &[]);
    let page = dir.path().join("page.pdf");
    succeeded(
        &printlab()
            .args(["testpage", "-o"])
            .arg(&page)
            .output()
            .unwrap(),
    );
    // One document per format a printer can advertise, each the same page.
    let mut documents = vec![("application/pdf", page)];
    for (content_type, file, bytes) in [
        ("image/pwg-raster", "page.pwg", pwg_raster_page()),
        ("image/urf", "page.urf", urf_page()),
        (
            "image/jpeg",
            "page.jpg",
            image_page(image::ImageFormat::Jpeg),
        ),
        ("image/png", "page.png", image_page(image::ImageFormat::Png)),
    ] {
        let path = dir.path().join(file);
        std::fs::write(&path, bytes).unwrap();
        documents.push((content_type, path));
    }
    for report in &reports {
        let name = report["name"].as_str().unwrap();
        let shown: serde_json::Value =
            serde_json::from_str(&up.ok(&["printer", name, "--json"])).unwrap();
        let caps = &shown["capabilities"];
        for (property, values) in report["capabilities"].as_object().unwrap() {
            if values.is_null() {
                continue;
            }
            assert_eq!(&caps[property], values, "{name}: {property} in Graph");
        }
        let print = |document: &Path, options: &[String]| {
            let mut args = vec![
                "print",
                document.to_str().unwrap(),
                "--printer",
                name,
                "--wait",
            ];
            args.extend(options.iter().map(String::as_str));
            let out = up.ok(&args);
            assert!(out.contains("completed"), "{name} {options:?}: {out}");
        };
        // A job per advertised format, then a job per other value in the first format.
        let formats: Vec<&Path> = caps["contentTypes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|advertised| {
                let (_, path) = documents
                    .iter()
                    .find(|(content_type, _)| advertised == content_type)
                    .unwrap_or_else(|| panic!("{name}: no test document for {advertised}"));
                path.as_path()
            })
            .collect();
        for document in &formats {
            print(document, &[]);
        }
        for options in one_job_per_value(caps) {
            print(formats[0], &options);
        }
    }
}

/// The one page the raster documents carry: 827 × 1169 pixels (A4 at 100 dpi), 8-bit gray,
/// white with a black band across the top quarter.
const RASTER_PAGE: (u32, u32, u32) = (827, 1169, 100);

/// A one-page PWG raster document (PWG 5102.4) of [`RASTER_PAGE`] in sGray.
fn pwg_raster_page() -> Vec<u8> {
    const HEADER_LEN: usize = 1796;
    let (width, height, dpi) = RASTER_PAGE;
    let mut header = vec![0u8; HEADER_LEN];
    header[..9].copy_from_slice(b"PwgRaster");
    let mut put = |offset: usize, value: u32| {
        header[offset..offset + 4].copy_from_slice(&value.to_be_bytes());
    };
    // HWResolution, PageSize (points), cupsWidth, cupsHeight, cupsBitsPerColor,
    // cupsBitsPerPixel, cupsBytesPerLine, cupsColorSpace (sGray), cupsNumColors.
    for (offset, value) in [
        (276, dpi),
        (280, dpi),
        (352, 595),
        (356, 842),
        (372, width),
        (376, height),
        (384, 8),
        (388, 8),
        (392, width),
        (400, 18),
        (420, 1),
    ] {
        put(offset, value);
    }
    let mut page = b"RaS2".to_vec();
    page.extend_from_slice(&header);
    page.extend_from_slice(&raster_lines());
    page
}

/// A one-page Apple raster (URF) document of [`RASTER_PAGE`] in sGray: the file header, the
/// page's 32-byte header (8 bits per pixel, colour space 0, width, height, resolution), then
/// the same run-length lines as PWG raster.
fn urf_page() -> Vec<u8> {
    let (width, height, dpi) = RASTER_PAGE;
    let mut page = b"UNIRAST\0".to_vec();
    page.extend_from_slice(&1u32.to_be_bytes());
    let mut header = [0u8; 32];
    header[0] = 8;
    for (offset, value) in [(12, width), (16, height), (20, dpi)] {
        header[offset..offset + 4].copy_from_slice(&value.to_be_bytes());
    }
    page.extend_from_slice(&header);
    page.extend_from_slice(&raster_lines());
    page
}

/// [`RASTER_PAGE`]'s pixels as JPEG or PNG.
fn image_page(format: image::ImageFormat) -> Vec<u8> {
    let (width, height, _) = RASTER_PAGE;
    let page = image::GrayImage::from_fn(width, height, |_, y| {
        image::Luma([if y < height / 4 { 0 } else { 255 }])
    });
    let mut bytes = std::io::Cursor::new(Vec::new());
    page.write_to(&mut bytes, format).unwrap();
    bytes.into_inner()
}

/// The lines of [`RASTER_PAGE`] in the run-length coding PWG raster and URF share.
fn raster_lines() -> Vec<u8> {
    let (width, height, _) = RASTER_PAGE;
    let mut lines = Vec::new();
    // Per group of up to 256 identical lines: the repeat count less one, then runs of one
    // pixel value (count less one, value); 128 fills the rest of the line with white.
    let black_line: Vec<u8> = {
        let mut runs = Vec::new();
        let mut left = width;
        while left > 0 {
            let run = left.min(128);
            runs.extend_from_slice(&[(run - 1) as u8, 0]);
            left -= run;
        }
        runs
    };
    let mut line = 0;
    while line < height {
        let repeat = (height - line).min(256);
        let repeat = if line < height / 4 {
            repeat.min(height / 4 - line)
        } else {
            repeat
        };
        lines.push((repeat - 1) as u8);
        if line < height / 4 {
            lines.extend_from_slice(&black_line);
        } else {
            lines.push(128);
        }
        line += repeat;
    }
    lines
}

/// One `media-col-database` entry in ipptool's file syntax (`man 5 ipptoolfile`): a size in
/// hundredths of a millimetre with the same margin on every side.
fn media_col_text(x: i32, y: i32, margin: i32) -> String {
    let margins: String = ["top", "bottom", "left", "right"]
        .iter()
        .map(|side| format!("    MEMBER integer media-{side}-margin {margin}\n"))
        .collect();
    format!(
        "{{\n    MEMBER collection media-size {{\n        MEMBER integer x-dimension {x}\n        \
         MEMBER integer y-dimension {y}\n    }}\n{margins}}}"
    )
}

/// An ippeveprinter attribute file (`ippeveprinter -a`): make and model, sizes and their
/// `media-col-database` entries, then `rest` as written. In this mode ippeveprinter takes no
/// `-M`/`-m`/`-f` and serves `application/octet-stream`, PWG raster and URF.
fn attribute_file(make_and_model: &str, media: &[(&str, i32, i32, i32)], rest: &str) -> String {
    let names: Vec<&str> = media.iter().map(|(name, ..)| *name).collect();
    let database: Vec<String> = media
        .iter()
        .map(|(_, x, y, margin)| media_col_text(*x, *y, *margin))
        .collect();
    format!(
        "ATTR text printer-make-and-model \"{make_and_model}\"\n\
         ATTR keyword media-supported {}\n\
         ATTR keyword media-default {}\n\
         ATTR collection media-col-database {}\n{rest}",
        names.join(","),
        names[0],
        database.join(",")
    )
}

/// A colour MFP: three known sizes (A4 also borderless), a vendor size, a custom range, three
/// media types, sources and two bins, a finishing Graph lacks, and six `printer-supply` entries
/// of which one has only "some remaining" and one an unknown level.
fn mfp_attribute_file() -> String {
    let custom = "{\n    MEMBER collection media-size {\n        \
                  MEMBER rangeOfInteger x-dimension 7620-21590\n        \
                  MEMBER rangeOfInteger y-dimension 12700-35560\n    }\n}";
    let supply = |index: i32, class: &str, kind: &str, level: i32, colorant: &str| {
        format!(
            "\"index={index};class={class};type={kind};unit=percent;maxcapacity=100;\
             level={level};colorantname={colorant};\""
        )
    };
    let supplies = [
        supply(1, "supplyThatIsConsumed", "toner", 80, "black"),
        supply(2, "supplyThatIsConsumed", "toner", 55, "cyan"),
        supply(3, "supplyThatIsConsumed", "toner", 30, "magenta"),
        supply(4, "supplyThatIsConsumed", "toner", 5, "yellow"),
        supply(5, "receptacleThatIsFilled", "wasteToner", -3, "unknown"),
        supply(6, "supplyThatIsConsumed", "fuser", -2, "unknown"),
    ];
    let mut file = attribute_file(
        "Acme Colour MFP 9",
        &[
            ("iso_a4_210x297mm", 21000, 29700, 423),
            ("iso_a4_210x297mm", 21000, 29700, 0),
            ("na_letter_8.5x11in", 21590, 27940, 423),
            ("iso_a5_148x210mm", 14800, 21000, 423),
            ("om_acme-card_90x55mm", 9000, 5500, 300),
        ],
        "",
    );
    // media-supported names each size once, and the custom range.
    file = file.replacen("iso_a4_210x297mm,iso_a4_210x297mm,", "iso_a4_210x297mm,", 1);
    file = file.replacen(
        "om_acme-card_90x55mm\n",
        "om_acme-card_90x55mm,custom_min_76.2x127mm,custom_max_215.9x355.6mm\n",
        1,
    );
    file = file.replacen(
        "\nATTR collection media-col-database ",
        &format!("\nATTR collection media-col-database {custom},"),
        1,
    );
    file.push_str(&format!(
        "ATTR keyword media-type-supported stationery,stationery-heavyweight,labels\n\
         ATTR keyword media-source-supported tray-1,tray-2,manual\n\
         ATTR keyword output-bin-supported face-down,face-up\n\
         ATTR enum finishings-supported 3,4,14\n\
         ATTR keyword print-color-mode-supported monochrome,color\n\
         ATTR keyword print-color-mode-default color\n\
         ATTR resolution printer-resolution-supported 300dpi,600dpi\n\
         ATTR resolution printer-resolution-default 600dpi\n\
         ATTR keyword sides-supported one-sided,two-sided-long-edge,two-sided-short-edge\n\
         ATTR octetString printer-supply {}\n\
         ATTR text printer-supply-description \"Black Toner\",\"Cyan Toner\",\"Magenta Toner\",\
         \"Yellow Toner\",\"Waste Toner Box\",\"Fuser\"\n",
        supplies.join(",")
    ));
    file
}

/// A label printer: small sizes (one a vendor size) with 1 mm margins, 203 and 300 dpi, one
/// roll, and a ribbon measured in micrometres plus a print head of a type IPP has no keyword for.
fn label_attribute_file() -> String {
    attribute_file(
        "Acme LabelWriter 4",
        &[
            ("oe_2x1-label_2x1in", 5080, 2540, 100),
            ("oe_4x2-label_4x2in", 10160, 5080, 100),
            ("na_index-4x6_4x6in", 10160, 15240, 100),
            ("oe_acme-tag_2.25x1.25in", 5715, 3175, 100),
        ],
        "ATTR keyword media-type-supported labels\n\
         ATTR keyword media-source-supported main-roll\n\
         ATTR keyword output-bin-supported face-up\n\
         ATTR enum finishings-supported 3\n\
         ATTR keyword print-color-mode-supported monochrome\n\
         ATTR resolution printer-resolution-supported 203dpi,300dpi\n\
         ATTR resolution printer-resolution-default 203dpi\n\
         ATTR keyword sides-supported one-sided\n\
         ATTR octetString printer-supply \"type=inkRibbon;class=supplyThatIsConsumed;\
         unit=micrometers;maxcapacity=74000000;level=18500000;colorantname=black;\",\
         \"type=thermalHead;class=other;unit=percent;maxcapacity=100;level=90;\"\n\
         ATTR text printer-supply-description \"Ribbon\",\"Print Head\"\n",
    )
}

/// ippeveprinter serving the attributes of `file` (written into `dir`).
fn ippeveprinter_with_file(dir: &Path, name: &str, file: &str) -> Ippeveprinter {
    let path = dir.join(format!("{name}.conf"));
    std::fs::write(&path, file).unwrap();
    ippeveprinter(name, &["-a", path.to_str().unwrap()])
}

/// The entry's `(name, kind, color, level, low)` of each supply.
fn written_supplies(report: &serde_json::Value) -> Vec<(String, String, Option<String>, i64, i64)> {
    let entry: toml::Table = toml::from_str(report["entry"].as_str().unwrap()).unwrap();
    entry["printer"][0]["supplies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["kind"].as_str().unwrap().to_owned(),
                s.get("color").map(|c| c.as_str().unwrap().to_owned()),
                s["level"].as_integer().unwrap(),
                s["low"].as_integer().unwrap(),
            )
        })
        .collect()
}

#[test]
fn ippeveprinter_attribute_files_import_live_with_media_bins_and_supplies() {
    if interop_tools().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mfp = ippeveprinter_with_file(dir.path(), "Eve MFP", &mfp_attribute_file());
    let label = ippeveprinter_with_file(dir.path(), "Eve Label", &label_attribute_file());
    let fleet = dir.path().join("printers.toml");

    let report = import_json(&mfp.uri);
    assert_eq!(
        not_in_graph(&report),
        pairs(&[
            ("document-format-supported", "application/octet-stream"),
            ("media-supported", "om_acme-card_90x55mm"),
            ("media-supported", "custom_min_76.2x127mm"),
            ("media-supported", "custom_max_215.9x355.6mm"),
            (
                "media-col-database",
                "{x-dimension=7620-21590 y-dimension=12700-35560}"
            ),
            ("finishings-supported", "14"),
            (
                "printer-supply",
                "index=5;class=receptacleThatIsFilled;type=wasteToner;unit=percent;\
                 maxcapacity=100;level=-3;colorantname=unknown;"
            ),
            (
                "printer-supply",
                "index=6;class=supplyThatIsConsumed;type=fuser;unit=percent;\
                 maxcapacity=100;level=-2;colorantname=unknown;"
            ),
        ]),
        "{report:#}"
    );
    let caps = &report["capabilities"];
    assert_eq!(
        caps["mediaSizes"],
        serde_json::json!(["A4", "North America Letter", "A5"])
    );
    assert_eq!(
        caps["mediaTypes"],
        serde_json::json!(["stationery", "stationery-heavyweight", "labels"])
    );
    assert_eq!(
        caps["inputBins"],
        serde_json::json!(["tray-1", "tray-2", "manual"])
    );
    assert_eq!(
        caps["outputBins"],
        serde_json::json!(["face-down", "face-up"])
    );
    assert_eq!(caps["finishings"], serde_json::json!(["none", "staple"]));
    let entry: toml::Table = toml::from_str(report["entry"].as_str().unwrap()).unwrap();
    let media = entry["printer"][0]["capabilities"]["media"]
        .as_array()
        .unwrap();
    let borderless: Vec<(&str, bool)> = media
        .iter()
        .map(|m| {
            (
                m["size"].as_str().unwrap(),
                m.get("borderless")
                    .is_some_and(|b| b.as_bool() == Some(true)),
            )
        })
        .collect();
    assert_eq!(
        borderless,
        [("A4", true), ("North America Letter", false), ("A5", false)]
    );
    assert_eq!(media[1]["margins"]["left"].as_float(), Some(4.23));
    let supply = |name: &str, kind: &str, color: Option<&str>, level: i64| {
        (
            name.to_owned(),
            kind.to_owned(),
            color.map(str::to_owned),
            level,
            10,
        )
    };
    assert_eq!(
        written_supplies(&report),
        [
            supply("Black Toner", "toner", Some("#000000"), 80),
            supply("Cyan Toner", "toner", Some("#00FFFF"), 55),
            supply("Magenta Toner", "toner", Some("#FF00FF"), 30),
            supply("Yellow Toner", "toner", Some("#FFFF00"), 5),
            supply("Waste Toner Box", "waste-toner", None, 100),
        ]
    );
    import_into(&mfp.uri, &fleet);

    let report = import_json(&label.uri);
    assert_eq!(
        not_in_graph(&report),
        pairs(&[
            ("document-format-supported", "application/octet-stream"),
            ("media-supported", "oe_acme-tag_2.25x1.25in"),
            (
                "printer-supply",
                "type=thermalHead;class=other;unit=percent;maxcapacity=100;level=90;"
            ),
        ]),
        "{report:#}"
    );
    let caps = &report["capabilities"];
    assert_eq!(
        caps["mediaSizes"],
        serde_json::json!(["Roll 2x1in", "Roll 4x2in", "North America Index 4x6in"])
    );
    assert_eq!(caps["dpis"], serde_json::json!([203, 300]));
    assert_eq!(caps["colorModes"], serde_json::json!(["grayscale"]));
    assert_eq!(caps["inputBins"], serde_json::json!(["main-roll"]));
    assert_eq!(caps["outputBins"], serde_json::json!(["face-up"]));
    assert_eq!(report["defaults"]["dpi"], 203);
    assert_eq!(
        written_supplies(&report),
        [
            supply("Ribbon", "ink-ribbon", Some("#000000"), 25),
            supply("Print Head", "other", None, 90),
        ]
    );
    import_into(&label.uri, &fleet);
}
