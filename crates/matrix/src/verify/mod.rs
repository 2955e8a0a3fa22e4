//! Verifying what a printer put out against what the case asked for, from the pixels: the
//! manifest only names the files (a mis-printing device writes down what it did, so it is
//! cross-checked, never believed). Each side is averaged down to a small view
//! ([`side_view`]), the test pages on it are found by their corner marks and read
//! ([`page_find`]), and the result is compared with the verifier's own model of a correct
//! print ([`expected`]).

pub(crate) mod expected;
mod page_find;
mod side_view;

use crate::Finding;
use crate::document::TestDocument;
use crate::document::marks::PageGeometry;
use expected::{AreaTurn, ExpectedSide};
use page_find::{Direction, FoundPage};
use printlab_graph::{MediaSize, PrintColorMode, PrintJobConfiguration};
use serde::Deserialize;
use side_view::SideView;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use thiserror::Error;

pub use side_view::ViewError;

#[derive(Debug, Error)]
pub enum VerifyError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a render manifest: {source}")]
    Manifest {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("the manifest names {file:?}, which is not a file in the output folder")]
    SideFile { file: String },
    #[error("the configuration cannot be verified: {0}")]
    Configuration(String),
    #[error(transparent)]
    Side(#[from] ViewError),
}

/// The part of the renderer's `manifest.json` the verifier reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    sides: Vec<ManifestSide>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManifestSide {
    file: String,
    back: bool,
    source_pages: Vec<u32>,
}

/// Findings of one check are kept to this many, then counted, so one systematic fault does not
/// bury the report.
const FINDINGS_PER_CHECK: usize = 4;

#[derive(Default)]
struct Findings(Vec<Finding>);

impl Findings {
    fn add(&mut self, check: &str, expected: impl Into<String>, observed: impl Into<String>) {
        let same = self.0.iter().filter(|f| f.check == check).count();
        if same < FINDINGS_PER_CHECK {
            self.0.push(Finding {
                check: check.into(),
                expected: expected.into(),
                observed: observed.into(),
            });
        } else if same == FINDINGS_PER_CHECK {
            self.0.push(Finding {
                check: check.into(),
                expected: "(more findings of this check left out)".into(),
                observed: String::new(),
            });
        }
    }
}

/// Sides already read, by their bytes: copies of a side are the same PNG, and a job of 999
/// copies would otherwise decode the same few sides thousands of times. Equal bytes are
/// confirmed byte for byte before a reading is reused, so a side that only hashes alike is
/// still read on its own.
#[derive(Default)]
struct SeenSides {
    /// (length, hash) → the sides read with those bytes: where, and what was read.
    by_hash: HashMap<(usize, u64), Vec<(PathBuf, Reading)>>,
}

/// A side as read: its view and the pages found on it.
type Reading = Rc<(SideView, Vec<FoundPage>)>;

impl SeenSides {
    fn side(
        &mut self,
        path: &Path,
        dpi: u32,
        geometry: &PageGeometry,
    ) -> Result<Reading, VerifyError> {
        let bytes = side_view::read(path)?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        bytes.hash(&mut hasher);
        let same_hash = self
            .by_hash
            .entry((bytes.len(), hasher.finish()))
            .or_default();
        for (earlier, reading) in same_hash.iter() {
            if side_view::read(earlier)? == bytes {
                return Ok(Rc::clone(reading));
            }
        }
        let view = side_view::decode(&bytes, path, dpi)?;
        let pages = page_find::find_pages(&view, geometry);
        let reading = Rc::new((view, pages));
        same_hash.push((path.to_owned(), Rc::clone(&reading)));
        Ok(reading)
    }
}

/// Checks the output folder of a finished job against `effective`: the case's configuration
/// with every omitted setting filled from the printer's defaults. No findings means it passed.
pub fn verify_output(
    effective: &PrintJobConfiguration,
    document: &TestDocument,
    output_dir: &Path,
) -> Result<Vec<Finding>, VerifyError> {
    let path = output_dir.join("manifest.json");
    let text = std::fs::read(&path).map_err(|source| VerifyError::Read {
        path: path.clone(),
        source,
    })?;
    let manifest: Manifest =
        serde_json::from_slice(&text).map_err(|source| VerifyError::Manifest { path, source })?;
    let media = effective
        .media_size
        .as_deref()
        .and_then(MediaSize::by_graph_name)
        .ok_or_else(|| {
            VerifyError::Configuration(format!(
                "media size {:?} is not one the verifier knows",
                effective.media_size
            ))
        })?;
    let dpi = effective
        .dpi
        .filter(|&d| d > 0)
        .ok_or_else(|| VerifyError::Configuration("no dpi".into()))? as u32;
    let pixels = |hmm: u32| ((hmm as f64) * dpi as f64 / 2540.0).round() as u32;
    let sheet_px = (pixels(media.width), pixels(media.height));
    let sheet_pt = (
        media.width as f64 * 72.0 / 2540.0,
        media.height as f64 * 72.0 / 2540.0,
    );

    let mut findings = Findings::default();
    let selected = expected::selected_pages(effective, document.pages);
    let collate = effective.collate.unwrap_or(true);
    let expected_sides = expected::sides(effective, &selected, collate);
    let mut read = SeenSides::default();
    let mut observed = Vec::with_capacity(manifest.sides.len());
    for side in &manifest.sides {
        if side.file.contains(['/', '\\']) || side.file.starts_with('.') {
            return Err(VerifyError::SideFile {
                file: side.file.clone(),
            });
        }
        observed.push(read.side(&output_dir.join(&side.file), dpi, &document.geometry)?);
    }
    let observed: Vec<&(SideView, Vec<FoundPage>)> = observed.iter().map(Rc::as_ref).collect();
    let duplex = expected::duplex(effective);
    let per_sheet = if duplex { 2 } else { 1 };
    if observed.len() != expected_sides.len() {
        findings.add(
            "sides",
            format!(
                "{} sides on {} sheets ({} pages × {} copies, {} per side{})",
                expected_sides.len(),
                expected_sides.len() / per_sheet,
                selected.len(),
                effective.copies.unwrap_or(1),
                expected::pages_per_sheet(effective),
                if duplex { ", two-sided" } else { "" }
            ),
            format!(
                "{} sides on {} sheets",
                observed.len(),
                observed.len().div_ceil(per_sheet)
            ),
        );
    }
    for (index, (view, _)) in observed.iter().enumerate() {
        if view.full_size != sheet_px {
            findings.add(
                "pixelSize",
                format!(
                    "{}x{} ({} at {dpi} dpi)",
                    sheet_px.0, sheet_px.1, media.graph_name
                ),
                format!(
                    "{}x{} on side {}",
                    view.full_size.0,
                    view.full_size.1,
                    index + 1
                ),
            );
        }
    }
    check_page_sequence(
        &mut findings,
        &observed,
        &expected_sides,
        effective,
        &selected,
    );
    let mut colour_checked = false;
    for (index, ((view, pages), manifest_side)) in observed.iter().zip(&manifest.sides).enumerate()
    {
        let Some(expected_side) = expected_sides.get(index) else {
            continue;
        };
        let place = side_name(index, expected_side);
        if manifest_side.back != expected_side.back
            || manifest_side.source_pages != expected_side.pages
        {
            findings.add(
                "manifest",
                format!(
                    "{place} recorded as holding pages {:?}",
                    expected_side.pages
                ),
                format!(
                    "the manifest records {} pages {:?}",
                    if manifest_side.back {
                        "back,"
                    } else {
                        "front,"
                    },
                    manifest_side.source_pages
                ),
            );
        }
        colour_checked |= check_colour(&mut findings, effective, view, pages, &place);
        check_placement(
            &mut findings,
            effective,
            document,
            (view, pages.as_slice()),
            expected_side,
            &place,
            (sheet_pt, dpi),
        );
    }
    if !colour_checked
        && matches!(effective.color_mode, Some(PrintColorMode::Color))
        && observed.iter().any(|(_, pages)| !pages.is_empty())
    {
        findings.add(
            "colorMode",
            "colour marks keep their hue",
            "no page's colour marks could be read",
        );
    }
    Ok(findings.0)
}

fn side_name(index: usize, side: &ExpectedSide) -> String {
    format!(
        "side {} ({} of copy {})",
        index + 1,
        if side.back { "back" } else { "front" },
        side.copy
    )
}

fn page_list(pages: &[u32]) -> String {
    if pages.is_empty() {
        return "blank".into();
    }
    let list: Vec<String> = pages.iter().map(u32::to_string).collect();
    format!("pages {}", list.join(", "))
}

/// The pages found on a side, sorted (cell order is checked separately).
fn sorted_numbers(pages: &[FoundPage]) -> Vec<u32> {
    let mut numbers: Vec<u32> = pages.iter().map(|p| p.number).collect();
    numbers.sort_unstable();
    numbers
}

/// Which pages, how many times, in what order: page ranges, copies, collation, then side by
/// side.
fn check_page_sequence(
    findings: &mut Findings,
    observed: &[&(SideView, Vec<FoundPage>)],
    expected_sides: &[ExpectedSide],
    effective: &PrintJobConfiguration,
    selected: &[u32],
) {
    let seen: Vec<Vec<u32>> = observed.iter().map(|(_, p)| sorted_numbers(p)).collect();
    let want = |sides: &[ExpectedSide]| -> Vec<Vec<u32>> {
        sides
            .iter()
            .map(|s| {
                let mut pages = s.pages.clone();
                pages.sort_unstable();
                pages
            })
            .collect()
    };
    let mut distinct: Vec<u32> = seen.iter().flatten().copied().collect();
    distinct.sort_unstable();
    distinct.dedup();
    let mut wanted: Vec<u32> = selected.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    if distinct != wanted {
        findings.add(
            "pageRanges",
            format!("{} printed", page_list(&wanted)),
            format!("{} found on the sides", page_list(&distinct)),
        );
        return;
    }
    let copies = effective.copies.unwrap_or(1).max(1) as usize;
    for page in &wanted {
        let times = seen.iter().flatten().filter(|p| *p == page).count();
        let expected_times = copies * selected.iter().filter(|p| *p == page).count();
        if times != expected_times {
            findings.add(
                "copies",
                format!("page {page} printed {expected_times} times"),
                format!("{times} times"),
            );
        }
    }
    if seen == want(expected_sides) {
        return;
    }
    let collate = effective.collate.unwrap_or(true);
    if seen == want(&expected::sides(effective, selected, !collate)) {
        findings.add(
            "collation",
            if collate {
                "collated: each copy's sheets in page order"
            } else {
                "uncollated: every copy of a sheet before the next sheet"
            },
            if collate { "uncollated" } else { "collated" },
        );
        return;
    }
    for (index, (got, side)) in seen.iter().zip(expected_sides).enumerate() {
        let mut wanted = side.pages.clone();
        wanted.sort_unstable();
        if *got != wanted {
            findings.add(
                "pageOrder",
                format!("{}: {}", side_name(index, side), page_list(&side.pages)),
                page_list(got),
            );
        }
    }
}

/// Colour mode from the pixels; returns whether a page's colour marks were read.
fn check_colour(
    findings: &mut Findings,
    effective: &PrintJobConfiguration,
    view: &SideView,
    pages: &[FoundPage],
    place: &str,
) -> bool {
    match effective.color_mode {
        Some(PrintColorMode::BlackAndWhite) => {
            if view.intermediate_pixels > 0 {
                findings.add(
                    "colorMode",
                    format!("{place}: black and white pixels only (monochrome)"),
                    format!("{} pixels of other values", view.intermediate_pixels),
                );
            }
            false
        }
        Some(PrintColorMode::Grayscale) => {
            if view.chroma_pixels > 0 {
                findings.add(
                    "colorMode",
                    format!("{place}: no colour (grayscale)"),
                    format!("{} coloured pixels", view.chroma_pixels),
                );
            }
            false
        }
        Some(PrintColorMode::Color) => {
            let hue_kept = |[r, g, b]: [u8; 3], channel: usize| {
                let c = [r as i32, g as i32, b as i32];
                (0..3).all(|other| other == channel || c[channel] > c[other] + 40)
            };
            for page in pages {
                // Top-left red, top-right blue, bottom-left green.
                let kept = hue_kept(page.corner_rgb[0], 0)
                    && hue_kept(page.corner_rgb[1], 2)
                    && hue_kept(page.corner_rgb[2], 1);
                if !kept {
                    findings.add(
                        "colorMode",
                        format!(
                            "{place}, page {}: red, blue and green corner marks",
                            page.number
                        ),
                        format!(
                            "corner marks {:?}, {:?}, {:?}{}",
                            page.corner_rgb[0],
                            page.corner_rgb[1],
                            page.corner_rgb[2],
                            if view.stores_colour {
                                ""
                            } else {
                                " (the side is stored as gray)"
                            }
                        ),
                    );
                }
            }
            !pages.is_empty()
        }
        _ => false,
    }
}

/// Where each page landed, which way up, at what scale.
fn check_placement(
    findings: &mut Findings,
    effective: &PrintJobConfiguration,
    document: &TestDocument,
    (view, pages): (&SideView, &[FoundPage]),
    side: &ExpectedSide,
    place: &str,
    (sheet_pt, dpi): ((f64, f64), u32),
) {
    let page = document.geometry.size;
    let turn = expected::area_turn(effective, sheet_pt, page);
    let turned_half = side.back && expected::back_turned_half(effective);
    let expected_up = {
        let up = match turn {
            AreaTurn::None => Direction::Up,
            AreaTurn::Ccw90 => Direction::Left,
            AreaTurn::Half => Direction::Down,
            AreaTurn::Cw90 => Direction::Right,
        };
        if turned_half { up.turned_half() } else { up }
    };
    let (w, h) = (view.full_size.0 as f64, view.full_size.1 as f64);
    // The content area's own frame: undo the back side's half turn, then the area's turn.
    let in_area = |(x, y): (f64, f64)| {
        let (x, y) = if turned_half { (w - x, h - y) } else { (x, y) };
        match turn {
            AreaTurn::None => ((x, y), (w, h)),
            AreaTurn::Ccw90 => ((h - y, x), (h, w)),
            AreaTurn::Half => ((w - x, h - y), (w, h)),
            AreaTurn::Cw90 => ((y, w - x), (h, w)),
        }
    };
    let per_sheet = expected::pages_per_sheet(effective);
    let layout = effective
        .multipage_layout
        .unwrap_or(printlab_graph::PrintMultipageLayout::ClockwiseFromTopLeft);
    let (_, area_size) = in_area((0.0, 0.0));
    let grid = expected::grid(per_sheet, area_size.0 > area_size.1);
    let fit_pdf =
        document.content_type == printlab_render::PDF && effective.fit_pdf_to_page == Some(true);
    let (low, high) = expected::scale_range(effective, (sheet_pt, page), turn, fit_pdf);
    for page in pages {
        if page.mirrored {
            findings.add(
                "orientation",
                format!("{place}, page {}: printed as is", page.number),
                "a mirror image",
            );
        }
        if page.up != expected_up {
            let check = if turned_half {
                "duplexBackSide"
            } else {
                "orientation"
            };
            findings.add(
                check,
                format!("{place}, page {}: {}", page.number, expected_up.describe()),
                page.up.describe(),
            );
        }
        if let Some(index) = side.pages.iter().position(|&p| p == page.number) {
            let want = expected::cell(index as u32, grid, layout);
            let ((x, y), (aw, ah)) = in_area(page.centre);
            let got = (
                (x / (aw / grid.0 as f64))
                    .floor()
                    .clamp(0.0, grid.0 as f64 - 1.0) as u32,
                (y / (ah / grid.1 as f64))
                    .floor()
                    .clamp(0.0, grid.1 as f64 - 1.0) as u32,
            );
            if per_sheet > 1 && got != want {
                findings.add(
                    "nupLayout",
                    format!(
                        "{place}, page {} in column {}, row {} of {}x{} ({layout:?})",
                        page.number,
                        want.0 + 1,
                        want.1 + 1,
                        grid.0,
                        grid.1
                    ),
                    format!("column {}, row {}", got.0 + 1, got.1 + 1),
                );
            }
        }
        let scale = page.scale * 72.0 / dpi as f64;
        let tolerance = 0.03;
        if scale < low * (1.0 - tolerance) || scale > high * (1.0 + tolerance) {
            findings.add(
                "scaling",
                format!(
                    "{place}, page {}: printed at {:.0}–{:.0} % ({:?})",
                    page.number,
                    low * 100.0,
                    high * 100.0,
                    effective.scaling
                ),
                format!("{:.0} %", scale * 100.0),
            );
        }
    }
}

#[cfg(test)]
mod tests;
