//! `[printer.misprint]` checked against the printer's capabilities: a defect must be one the
//! printer could show (a back side to leave unturned needs short-edge duplex, colour to print
//! needs a colour engine, a size to refuse must be advertised), or a test that plants it would
//! pass without ever meeting it.

use super::{Issues, MisprintEntry};
use crate::misprint::Misprint;
use printlab_graph::{PrintColorMode, PrintDuplexMode, PrinterCapabilities, PrinterDefaults};

pub(super) fn convert_misprint(
    entry: &MisprintEntry,
    caps: &PrinterCapabilities,
    defaults: &PrinterDefaults,
    issues: &mut Issues,
) -> Option<Misprint> {
    let first_issue = issues.0.len();
    let on = |flag: &Option<super::S<bool>>| flag.as_ref().is_some_and(|f| *f.get_ref());

    if let Some(flag) = entry.back_side_upright.as_ref().filter(|f| *f.get_ref()) {
        let duplex = caps.duplex_modes.as_deref().unwrap_or_default();
        if !duplex.contains(&PrintDuplexMode::FlipOnShortEdge) {
            issues.push(
                flag.span(),
                "misprint.back_side_upright needs flipOnShortEdge among \
                 capabilities.duplex_modes: only a short-edge back side is turned"
                    .into(),
            );
        }
    }
    if let Some(flag) = entry.ignores_color_mode.as_ref().filter(|f| *f.get_ref()) {
        let modes = caps.color_modes.as_deref().unwrap_or_default();
        if !modes.contains(&PrintColorMode::Color) {
            issues.push(
                flag.span(),
                "misprint.ignores_color_mode needs color among capabilities.color_modes: a \
                 monochrome engine has no colour to print"
                    .into(),
            );
        }
    }
    let mut refused = Vec::new();
    if let Some(list) = &entry.refuses_media_sizes {
        let advertised = caps.media_sizes.as_deref().unwrap_or_default();
        for size in list.get_ref() {
            let name = size.get_ref();
            if !advertised.contains(name) {
                issues.push(
                    size.span(),
                    format!(
                        "misprint.refuses_media_sizes: `{name}` is not among capabilities.media \
                         ({}): the defect is refusing a size the printer advertises",
                        advertised.join(", ")
                    ),
                );
            } else if defaults.media_size.as_deref() == Some(name.as_str()) {
                issues.push(
                    size.span(),
                    format!(
                        "misprint.refuses_media_sizes: `{name}` is defaults.media_size, so \
                         every job that names no size would be refused"
                    ),
                );
            }
            refused.push(name.clone());
        }
    }
    (issues.0.len() == first_issue).then(|| Misprint {
        back_side_upright: on(&entry.back_side_upright),
        drops_last_sheet: on(&entry.drops_last_sheet),
        ignores_color_mode: on(&entry.ignores_color_mode),
        refuses_media_sizes: refused,
    })
}
