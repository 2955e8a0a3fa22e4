//! The same 4-page document printed 4-up through both doors a printer has: a Graph job with each
//! `multipageLayout` (through the real cloud to a real device), and the IPP job template the
//! device applies (`presentation-direction-number-up`, mapped and rendered as the device does).
//! Both must put page 1–4 in the cells PWG 5100.3 names for the keyword that corresponds to the
//! Graph member, so a job reads the same whichever door it came through.

use printlab_ipp::{Attribute, Value};
use printlab_mapping::{graph_from_job_template, ticket_from_graph};
use printlab_render::testpage::page_rgb;
use printlab_render::{DeviceProfile, EdgeMicrons, JobRequest};
use printlab_testkit::TestCloud;
use printlab_testkit_fleet::{TestFleet, device_cloud, lab_proxy, pdf, proxied_printer};
use serde_json::json;
use std::path::Path;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A colour A4 printer at 72 dpi that prints 4-up in every order and page ranges.
pub(super) const NUP_PRINTER: &str = r#"
[[printer]]
name = "Lab"
manufacturer = "printlab"
model = "Emulated Colour Laser"
[printer.capabilities]
document_formats = ["application/pdf"]
media = [{ size = "A4", margins = { top = 4, bottom = 4, left = 4, right = 4 } }]
dpis = [72]
color_modes = ["color", "grayscale"]
duplex_modes = ["oneSided"]
finishings = ["none"]
pages_per_sheet = [1, 4]
multipage_layouts = ["clockwiseFromTopLeft", "counterclockwiseFromTopLeft", "counterclockwiseFromTopRight", "clockwiseFromTopRight", "counterclockwiseFromBottomLeft", "clockwiseFromBottomLeft", "counterclockwiseFromBottomRight", "clockwiseFromBottomRight"]
copies = { min = 1, max = 9 }
page_ranges = true
[printer.defaults]
document_format = "application/pdf"
media_size = "A4"
color_mode = "color"
duplex_mode = "oneSided"
dpi = 72
copies = 1
[printer.engine]
pages_per_minute = 600
warm_up_seconds = 0
"#;

/// Graph member ↔ PWG keyword: the first move from the named corner, clockwise or not,
/// is the PWG keyword's first direction.
const DOORS: [(&str, &str); 8] = [
    ("clockwiseFromTopLeft", "toright-tobottom"),
    ("counterclockwiseFromTopLeft", "tobottom-toright"),
    ("counterclockwiseFromTopRight", "toleft-tobottom"),
    ("clockwiseFromTopRight", "tobottom-toleft"),
    ("counterclockwiseFromBottomLeft", "toright-totop"),
    ("clockwiseFromBottomLeft", "totop-toright"),
    ("counterclockwiseFromBottomRight", "totop-toleft"),
    ("clockwiseFromBottomRight", "toleft-totop"),
];

/// (column, row) of pages 1–4 on a 2×2 grid, straight from PWG 5100.3: the first word is the
/// direction pages follow within a row (or column), the second the way rows (columns) advance.
fn pwg_cells(keyword: &str) -> Vec<(u32, u32)> {
    let (within, advance) = keyword.split_once('-').unwrap();
    let start = |word: &str| match word {
        "toright" | "tobottom" => 0,
        _ => 1,
    };
    (0..4u32)
        .map(|i| {
            let (along, across) = (i % 2, i / 2);
            let step = |word: &str, n: u32| if start(word) == 0 { n } else { 1 - n };
            let horizontal = matches!(within, "toright" | "toleft");
            if horizontal {
                (step(within, along), step(advance, across))
            } else {
                (step(advance, across), step(within, along))
            }
        })
        .collect()
}

/// The 2×2 cell each of pages 1–4 landed in, from where its centre block's colour sits.
fn printed_cells(png: &Path) -> Vec<(u32, u32)> {
    let img = image::open(png).unwrap().into_rgb8();
    let (w, h) = (img.width() as f64, img.height() as f64);
    (1..=4)
        .map(|page| {
            let colour = page_rgb(page);
            let (mut sx, mut sy, mut n) = (0.0, 0.0, 0.0);
            for (x, y, p) in img.enumerate_pixels() {
                if p.0
                    .iter()
                    .zip(colour)
                    .all(|(&a, b)| (a as i32 - b as i32).abs() <= 8)
                {
                    sx += x as f64;
                    sy += y as f64;
                    n += 1.0;
                }
            }
            assert!(n > 16.0, "page {page} not found in {}", png.display());
            (u32::from(sx / n > w / 2.0), u32::from(sy / n > h / 2.0))
        })
        .collect()
}

/// The IPP door: the job template the device would fetch, mapped and rendered the device's way.
fn print_ipp_job_template(keyword: &str, document: &[u8], out: &Path) -> Vec<(u32, u32)> {
    let attrs = vec![
        Attribute::new("number-up", Value::Integer(4)),
        Attribute::new("presentation-direction-number-up", Value::keyword(keyword)),
    ];
    let mapped = graph_from_job_template(&attrs);
    assert_eq!(mapped.unmapped, vec![], "{keyword}");
    let ticket = ticket_from_graph(&mapped.value).unwrap();
    let profile = DeviceProfile {
        hardware_margins: EdgeMicrons::uniform(4000),
        dpis: vec![72],
        default_dpi: 72,
        ..DeviceProfile::default()
    };
    let manifest = printlab_render::render_job(&JobRequest {
        document,
        content_type: printlab_render::PDF,
        ticket: &ticket,
        profile: &profile,
        out_dir: out,
        cancel: &CancellationToken::new(),
        on_sheet: &|_| {},
    })
    .unwrap();
    assert_eq!(manifest.sides.len(), 1);
    printed_cells(&out.join(&manifest.sides[0].file))
}

/// The Graph printer "Lab", served through INFRA by a device running [`NUP_PRINTER`] that
/// has advertised itself; gives the printer's id.
pub(super) async fn colour_printer(cloud: &TestCloud, fleet: &mut TestFleet) -> String {
    let admin = cloud.admin_graph();
    let printer = proxied_printer(cloud).await;
    fleet.start(NUP_PRINTER, true, lab_proxy(cloud));
    admin
        .wait(
            &format!("/print/printers/{printer}?$select=capabilities"),
            "the device to advertise",
            Duration::from_secs(10),
            |view| view["capabilities"]["pagesPerSheet"] == json!([1, 4]),
        )
        .await;
    printer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_up_cells_agree_through_graph_and_ipp() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = device_cloud(&dir.path().join("cloud")).await;
    let mut fleet = TestFleet::open(&dir.path().join("spool"));
    let printer = colour_printer(&cloud, &mut fleet).await;
    let document = pdf(4);
    for (graph_layout, ipp_keyword) in DOORS {
        let expected = pwg_cells(ipp_keyword);

        let ipp_out = dir.path().join(ipp_keyword);
        let through_ipp = print_ipp_job_template(ipp_keyword, &document, &ipp_out);
        assert_eq!(
            through_ipp, expected,
            "IPP presentation-direction-number-up = {ipp_keyword}"
        );

        let jobs = format!("/print/printers/{printer}/jobs");
        let job = cloud
            .admin_graph()
            .submit(
                &jobs,
                "application/pdf",
                document.clone(),
                json!({"pagesPerSheet": 4, "multipageLayout": graph_layout}),
            )
            .await;
        cloud
            .admin_graph()
            .wait(
                &format!("{jobs}/{job}"),
                "the job to complete",
                Duration::from_secs(30),
                |j| j["status"]["state"] == "completed",
            )
            .await;
        let record = fleet
            .spool
            .job("Lab", job.parse().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(record.outputs.len(), 1);
        let through_graph = printed_cells(Path::new(&record.outputs[0].path));
        assert_eq!(
            through_graph, expected,
            "Graph multipageLayout = {graph_layout} (PWG {ipp_keyword})"
        );
    }
    fleet.stop().await;
    cloud.stop().await;
}
