//! `printlab media`: the media sizes printlab knows, for writing `printers.toml` and job options.

use super::output::outln;
use printlab_graph::MEDIA_SIZES;

/// Prints every known media size: Graph name, PWG name and size in millimetres.
pub fn run(json: bool) -> anyhow::Result<()> {
    if json {
        let rows: Vec<_> = MEDIA_SIZES
            .iter()
            .map(|m| {
                serde_json::json!({
                    "graphName": m.graph_name,
                    "pwgName": m.pwg_name,
                    "widthMm": f64::from(m.width) / 100.0,
                    "heightMm": f64::from(m.height) / 100.0,
                })
            })
            .collect();
        outln!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    outln!(
        "{:<34} {:<28} {:>8} {:>8}",
        "GRAPH NAME",
        "PWG NAME",
        "W mm",
        "H mm"
    );
    for m in MEDIA_SIZES {
        outln!(
            "{:<34} {:<28} {:>8.1} {:>8.1}",
            m.graph_name,
            m.pwg_name,
            f64::from(m.width) / 100.0,
            f64::from(m.height) / 100.0
        );
    }
    Ok(())
}
