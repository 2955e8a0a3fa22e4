//! The job options a printer can advertise and only flags can ask for: finishings, input tray,
//! output bin, media type, feed orientation and colour `auto`. `print` puts them in the Graph
//! job configuration, the real device receives them over INFRA and its renderer records them in
//! `manifest.json`; `render` records them the same way; a value outside Graph's enum is a usage
//! error naming the flag and what it accepts.

use super::cli_e2e::{job_id_of, print_args, printlab, up_with};
use serde_json::{Value as Json, json};
use std::path::Path;

/// A colour printer with a finisher, trays, bins and stock to choose from.
const FINISHER: &str = r#"
[fleet]
connection = { mode = "universal-print" }

[[printer]]
name = "Finisher"
manufacturer = "printlab"
model = "Finisher 1"
[printer.capabilities]
document_formats = ["application/pdf"]
media = [{ size = "A4", margins = { top = 4, bottom = 4, left = 4, right = 4 } }]
dpis = [72]
color_modes = ["color", "grayscale", "auto"]
duplex_modes = ["oneSided"]
finishings = ["none", "staple", "punch", "stapleTopLeft"]
input_bins = ["auto", "tray-1", "tray-2"]
output_bins = ["top", "face-down"]
media_types = ["stationery", "stationery-heavyweight"]
feed_orientations = ["longEdgeFirst", "shortEdgeFirst"]
copies = { min = 1, max = 9 }
[printer.defaults]
document_format = "application/pdf"
media_size = "A4"
color_mode = "grayscale"
duplex_mode = "oneSided"
dpi = 72
copies = 1
[printer.engine]
pages_per_minute = 600
full_speed = true
"#;

const FLAGS: &[&str] = &[
    "--finishing",
    "staple,punch",
    "--finishing",
    "stapleTopLeft",
    "--input-bin",
    "tray-2",
    "--output-bin",
    "face-down",
    "--media-type",
    "stationery-heavyweight",
    "--feed-orientation",
    "short-edge-first",
    "--auto-color",
];

/// What the flags above must become in Graph's `printJobConfiguration`.
fn asked() -> Json {
    json!({
        "finishings": ["staple", "punch", "stapleTopLeft"],
        "inputBin": "tray-2",
        "outputBin": "face-down",
        "mediaType": "stationery-heavyweight",
        "feedOrientation": "shortEdgeFirst",
        "colorMode": "auto",
    })
}

/// The renderer's record of the same options.
fn assert_manifest_records_them(out_dir: &Path) {
    let manifest: Json =
        serde_json::from_slice(&std::fs::read(out_dir.join("manifest.json")).unwrap()).unwrap();
    let settings = &manifest["settings"];
    assert_eq!(
        settings["finishings"],
        json!(["staple", "punch", "stapleTopLeft"]),
        "{settings}"
    );
    assert_eq!(settings["inputBin"], "tray-2", "{settings}");
    assert_eq!(settings["outputBin"], "face-down", "{settings}");
    assert_eq!(
        settings["mediaType"], "stationery-heavyweight",
        "{settings}"
    );
    assert_eq!(settings["feedOrientation"], "shortEdgeFirst", "{settings}");
    // colour `auto` on a colour engine prints colour, whatever the printer's default says.
    assert_eq!(settings["color"], "color", "{settings}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_advertised_option_reaches_graph_and_the_device() {
    let dir = tempfile::tempdir().unwrap();
    let up = up_with(dir.path(), FINISHER, "127.0.0.1:0", &[]);
    let page = dir.path().join("page.pdf");
    up.ok(&["testpage", "-o", page.to_str().unwrap(), "--pages", "1"]);
    let mut args = print_args(&page, "Finisher", FLAGS);
    args.push("--wait");
    let printed = up.ok(&args);
    assert!(printed.contains("completed"), "{printed}");
    let job = job_id_of(&printed);

    let jobs: Json = serde_json::from_str(&up.ok(&["jobs", "--json"])).unwrap();
    let share = jobs
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"] == job.as_str())
        .map(|j| j["shareId"].as_str().unwrap().to_string())
        .unwrap();
    let graph: Json = reqwest::Client::new()
        .get(format!("{}/v1.0/print/shares/{share}/jobs/{job}", up.url))
        .bearer_auth(&up.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let configuration = &graph["configuration"];
    for (key, value) in asked().as_object().unwrap() {
        assert_eq!(&configuration[key], value, "{key} in {configuration}");
    }

    let png = printed
        .lines()
        .map(str::trim)
        .find(|l| l.ends_with(".png"))
        .unwrap_or_else(|| panic!("no PNG in {printed}"));
    assert_manifest_records_them(Path::new(png).parent().unwrap());
}

#[test]
fn render_records_the_options_and_bad_values_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("page.pdf");
    std::fs::write(
        &page,
        printlab_render::testpage::generate(&[(595.0, 842.0)]).unwrap(),
    )
    .unwrap();
    let out = dir.path().join("out");
    let rendered = printlab()
        .args([
            "render",
            page.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ])
        .args(["--dpi", "150"])
        .args(FLAGS)
        .output()
        .unwrap();
    assert!(rendered.status.success(), "{rendered:?}");
    assert_manifest_records_them(&out);

    for (args, names) in [
        (
            &["--finishing", "staple,stapel"][..],
            &["--finishing", "`stapel`", "stapleTopLeft"][..],
        ),
        (
            &["--feed-orientation", "sideways"],
            &["--feed-orientation", "short-edge-first"],
        ),
        (&["--input-bin", "tray 2"], &["--input-bin", "one word"]),
        (&["--auto-color", "--mono"], &["--auto-color", "--mono"]),
    ] {
        for command in ["render", "print"] {
            let mut run = printlab();
            run.args([command, page.to_str().unwrap()]);
            if command == "render" {
                run.args(["-o", out.to_str().unwrap()]);
            } else {
                run.args(["--printer", "Finisher"]);
            }
            let refused = run.args(args).output().unwrap();
            let stderr = String::from_utf8_lossy(&refused.stderr);
            assert_eq!(
                refused.status.code(),
                Some(2),
                "{command} {args:?}: {stderr}"
            );
            for name in names {
                assert!(
                    stderr.contains(name),
                    "{command} {args:?} lacks {name}: {stderr}"
                );
            }
        }
    }
}
