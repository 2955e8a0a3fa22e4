//! The plan: which cases to print, chosen from what Graph shows of each printer (never from
//! `printers.toml`: the matrix validates what clients see). A plan is JSON, so it can be saved,
//! edited and replayed.

mod options;
mod pairwise;
mod refusals;
mod static_checks;
mod strategy;

pub use options::{
    DOCUMENT_PAGES, Dimension, OptionName, PAGE_RANGES_DOCUMENT_PAGES, Requirement, Setting,
    dimensions,
};
pub use refusals::{Expectations, RefusalRule};
pub use static_checks::static_checks;
pub use strategy::Strategy;

use crate::{Case, Expectation};
use pairwise::{Factor, Row, pairs_of, required_pairs};
use printlab_graph::{PrintJobConfiguration, PrinterCapabilities, PrinterDefaults};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt::Write;
use thiserror::Error;

/// A printer as Graph shows it (`GET /print/shares/{id}/printer`, or a share with
/// `$expand=printer`): its capabilities and defaults are all the plan reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrinterUnderTest {
    /// The share's display name; case ids start with it.
    pub name: String,
    pub share_id: String,
    pub capabilities: PrinterCapabilities,
    pub defaults: PrinterDefaults,
}

/// How much of the all-pairs space a printer's cases cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Coverage {
    pub pairs_covered: usize,
    pub pairs_possible: usize,
}

/// One printer's part of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrinterCoverage {
    pub printer: String,
    pub cases: usize,
    #[serde(flatten)]
    pub coverage: Coverage,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Plan {
    pub strategy: Strategy,
    pub seed: u64,
    /// Each printer as Graph showed it when the plan was made, so a replayed plan knows the
    /// defaults its cases print with.
    pub printers: Vec<PrinterUnderTest>,
    pub cases: Vec<Case>,
    /// Per printer, in `printers` order.
    pub coverage: Vec<PrinterCoverage>,
}

#[derive(Debug, Error)]
pub enum PlanError {
    #[error(
        "{printer}: every combination is {size} cases, more than the budget of {budget}; \
         raise the budget or use pairwise"
    )]
    OverBudget {
        printer: String,
        size: u128,
        budget: usize,
    },
    #[error("{printer}: Graph shows no contentTypes, so no document can be planned for it")]
    NoContentTypes { printer: String },
    #[error("{printer} is listed twice")]
    DuplicatePrinter { printer: String },
    #[error("plan line {line}, column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("plan case {case}: {message}")]
    Case { case: String, message: String },
}

/// Plans cases for every printer with `strategy`; `seed` makes pairwise and random plans
/// repeat. Case ids are `{printer}#{n}`, n counting from 1 per printer.
pub fn make_plan(
    printers: &[PrinterUnderTest],
    strategy: &Strategy,
    seed: u64,
) -> Result<Plan, PlanError> {
    let mut cases = Vec::new();
    let mut coverage = Vec::new();
    for (index, printer) in printers.iter().enumerate() {
        if printers[..index].iter().any(|p| p.name == printer.name) {
            return Err(PlanError::DuplicatePrinter {
                printer: printer.name.clone(),
            });
        }
        if printer
            .capabilities
            .content_types
            .as_ref()
            .is_none_or(Vec::is_empty)
        {
            return Err(PlanError::NoContentTypes {
                printer: printer.name.clone(),
            });
        }
        let dims = dimensions(&printer.capabilities, &printer.defaults);
        let rows = strategy.rows(&printer.name, &factors(&dims), seed)?;
        let printer_cases: Vec<Case> = rows
            .iter()
            .enumerate()
            .map(|(n, row)| case_of(printer, &dims, row, n + 1))
            .collect();
        coverage.push(PrinterCoverage {
            printer: printer.name.clone(),
            cases: printer_cases.len(),
            coverage: self::coverage(&printer_cases, &dims),
        });
        cases.extend(printer_cases);
    }
    Ok(Plan {
        strategy: strategy.clone(),
        seed,
        printers: printers.to_vec(),
        cases,
        coverage,
    })
}

/// Pairs of option values the cases cover, of all the pairs that can occur together (a
/// dependent option counts only under the parent values that enable it). A case's value for an
/// option is the one it sets, else the printer's default.
pub fn coverage(cases: &[Case], dims: &[Dimension]) -> Coverage {
    let factors = factors(dims);
    let possible = required_pairs(&factors);
    let mut covered = BTreeSet::new();
    for case in cases {
        let mut row: Row = Vec::with_capacity(dims.len());
        for dim in dims {
            let applies = match &dim.requires {
                Some(req) => row[req.parent].is_some_and(|p| req.enabling.contains(&p)),
                None => true,
            };
            row.push(if applies { dim.value_of(case) } else { None });
        }
        covered.extend(pairs_of(&factors, &row));
    }
    Coverage {
        pairs_covered: covered.len(),
        pairs_possible: possible.len(),
    }
}

fn factors(dims: &[Dimension]) -> Vec<Factor> {
    dims.iter()
        .map(|d| Factor {
            size: d.values.len(),
            requires: d.requires.clone().map(|r| (r.parent, r.enabling)),
        })
        .collect()
}

/// The case a row stands for: the row's values set, every other option left out; a case that
/// leaves the format out sends the printer's default format (else its first).
fn case_of(printer: &PrinterUnderTest, dims: &[Dimension], row: &Row, n: usize) -> Case {
    let content_types = printer.capabilities.content_types.as_deref().unwrap_or(&[]);
    let content_type = printer
        .defaults
        .content_type
        .clone()
        .filter(|t| content_types.contains(t))
        .or_else(|| content_types.first().cloned())
        .unwrap_or_default();
    let mut case = Case {
        id: format!("{}#{n}", printer.name),
        printer: printer.name.clone(),
        share_id: printer.share_id.clone(),
        content_type,
        document_pages: DOCUMENT_PAGES,
        configuration: PrintJobConfiguration::default(),
        expect: Expectation::Prints,
    };
    for (dim, value) in dims.iter().zip(row) {
        if let Some(v) = value {
            dim.values[*v].apply(&mut case);
        }
    }
    if crate::document::holds_one_page(&case.content_type) {
        case.document_pages = 1;
    } else if case.configuration.page_ranges.is_some() {
        case.document_pages = PAGE_RANGES_DOCUMENT_PAGES;
    }
    case
}

impl Plan {
    /// Per printer: its cases and the pairs they cover, then the total.
    pub fn summary(&self) -> String {
        let mut out = format!("{} plan, seed {}\n", self.strategy, self.seed);
        for c in &self.coverage {
            let _ = writeln!(
                out,
                "  {}: {} cases, {} of {} pairs covered",
                c.printer, c.cases, c.coverage.pairs_covered, c.coverage.pairs_possible
            );
        }
        let _ = writeln!(
            out,
            "{} cases on {} printers",
            self.cases.len(),
            self.printers.len()
        );
        out
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads a saved (perhaps edited) plan; a mistake is reported at its line and column, and
    /// a case that names no planned printer, repeats an id or sends a format its printer does
    /// not advertise is refused by id.
    pub fn from_json(text: &str) -> Result<Plan, PlanError> {
        let plan: Plan = serde_json::from_str(text).map_err(|e| PlanError::Json {
            line: e.line(),
            column: e.column(),
            message: e
                .to_string()
                .split(" at line ")
                .next()
                .unwrap_or_default()
                .to_owned(),
        })?;
        let mut ids = BTreeSet::new();
        for case in &plan.cases {
            let refuse = |message: String| PlanError::Case {
                case: case.id.clone(),
                message,
            };
            if !ids.insert(case.id.as_str()) {
                return Err(refuse("the id is used by an earlier case".into()));
            }
            let printer = plan
                .printers
                .iter()
                .find(|p| p.name == case.printer)
                .ok_or_else(|| refuse(format!("printer {:?} is not in the plan", case.printer)))?;
            let advertised = printer.capabilities.content_types.as_deref().unwrap_or(&[]);
            if !advertised.contains(&case.content_type) {
                return Err(refuse(format!(
                    "{} is not among {}'s contentTypes ({})",
                    case.content_type,
                    printer.name,
                    advertised.join(", ")
                )));
            }
            if case.document_pages == 0 {
                return Err(refuse("documentPages must be at least 1".into()));
            }
        }
        Ok(plan)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use printlab_graph::{
        IntegerRange, PrintColorMode, PrintDuplexMode, PrintFinishing, PrintMultipageLayout,
        PrintOrientation, PrintQuality, PrintScaling,
    };

    /// A printer as Graph would show an office laser.
    pub(crate) fn office() -> PrinterUnderTest {
        PrinterUnderTest {
            name: "Office".into(),
            share_id: "share-1".into(),
            capabilities: PrinterCapabilities {
                content_types: Some(vec!["application/pdf".into(), "image/jpeg".into()]),
                media_sizes: Some(vec![
                    "A4".into(),
                    "North America Letter".into(),
                    "North America Legal".into(),
                ]),
                color_modes: Some(vec![
                    PrintColorMode::BlackAndWhite,
                    PrintColorMode::Grayscale,
                ]),
                duplex_modes: Some(vec![
                    PrintDuplexMode::OneSided,
                    PrintDuplexMode::FlipOnLongEdge,
                    PrintDuplexMode::FlipOnShortEdge,
                ]),
                dpis: Some(vec![300, 600, 1200]),
                qualities: Some(vec![PrintQuality::Medium, PrintQuality::High]),
                orientations: Some(vec![
                    PrintOrientation::Portrait,
                    PrintOrientation::Landscape,
                ]),
                pages_per_sheet: Some(vec![1, 2, 4]),
                multipage_layouts: Some(vec![
                    PrintMultipageLayout::ClockwiseFromTopLeft,
                    PrintMultipageLayout::CounterclockwiseFromTopRight,
                ]),
                scalings: Some(vec![PrintScaling::Fit, PrintScaling::Fill]),
                copies_per_job: Some(IntegerRange { start: 1, end: 99 }),
                collation: Some(true),
                is_page_range_supported: Some(true),
                finishings: Some(vec![PrintFinishing::None, PrintFinishing::Staple]),
                supports_fit_pdf_to_page: Some(true),
                is_color_printing_supported: Some(false),
                ..Default::default()
            },
            defaults: PrinterDefaults {
                content_type: Some("application/pdf".into()),
                media_size: Some("A4".into()),
                dpi: Some(600),
                color_mode: Some(PrintColorMode::BlackAndWhite),
                duplex_mode: Some(PrintDuplexMode::OneSided),
                pages_per_sheet: Some(1),
                copies_per_job: Some(1),
                quality: Some(PrintQuality::Medium),
                ..Default::default()
            },
        }
    }

    fn dims() -> Vec<Dimension> {
        let p = office();
        dimensions(&p.capabilities, &p.defaults)
    }

    #[test]
    fn dimensions_take_boundaries_and_dependencies_from_graph() {
        let dims = dims();
        let names: Vec<String> = dims.iter().map(|d| d.option.to_string()).collect();
        assert_eq!(
            names,
            [
                "contentType",
                "mediaSize",
                "colorMode",
                "duplexMode",
                "dpi",
                "quality",
                "orientation",
                "pagesPerSheet",
                "multipageLayout",
                "scaling",
                "copies",
                "collate",
                "pageRanges",
                "finishings",
                "fitPdfToPage",
            ]
        );
        let copies = &dims[10];
        assert_eq!(
            copies.values,
            [Setting::Copies(1), Setting::Copies(2), Setting::Copies(99)]
        );
        assert_eq!(copies.default, Some(0));
        let collate = dims[11].requires.clone().unwrap();
        assert_eq!((collate.parent, collate.enabling), (10, vec![1, 2]));
        let layout = dims[8].requires.clone().unwrap();
        assert_eq!((layout.parent, layout.enabling), (7, vec![1, 2]));
        let fit = dims[14].requires.clone().unwrap();
        assert_eq!((fit.parent, fit.enabling), (0, vec![0]));
    }

    #[test]
    fn single_sets_each_value_once_and_the_rest_not_at_all() {
        let plan = make_plan(&[office()], &Strategy::Single, 0).unwrap();
        let dims = dims();
        let values: usize = dims.iter().map(|d| d.values.len()).sum();
        assert_eq!(plan.cases.len(), values);
        for dim in &dims {
            for value in &dim.values {
                let setting_it: Vec<&Case> = plan
                    .cases
                    .iter()
                    .filter(|c| Setting::read(c, dim.option).as_ref() == Some(value))
                    .collect();
                assert!(!setting_it.is_empty(), "{value:?} never set");
            }
        }
        let layout = plan
            .cases
            .iter()
            .find(|c| c.configuration.multipage_layout.is_some())
            .unwrap();
        assert_eq!(
            layout.configuration.pages_per_sheet,
            Some(2),
            "layout needs n-up"
        );
        let collate = plan
            .cases
            .iter()
            .find(|c| c.configuration.collate.is_some())
            .unwrap();
        assert_eq!(
            collate.configuration.copies,
            Some(2),
            "collation needs copies"
        );
        let ranged = plan
            .cases
            .iter()
            .find(|c| c.configuration.page_ranges.is_some())
            .unwrap();
        assert_eq!(ranged.document_pages, PAGE_RANGES_DOCUMENT_PAGES);
        assert_eq!(plan.cases[0].id, "Office#1");
        assert_eq!(plan.cases.last().unwrap().id, format!("Office#{values}"));
    }

    #[test]
    fn pairwise_plan_covers_every_pair_and_repeats_for_a_seed() {
        let plan = make_plan(&[office()], &Strategy::Pairwise, 42).unwrap();
        let c = plan.coverage[0].coverage;
        assert_eq!(c.pairs_covered, c.pairs_possible);
        let images: Vec<&Case> = plan
            .cases
            .iter()
            .filter(|c| c.content_type == "image/jpeg")
            .collect();
        assert!(!images.is_empty());
        for image in images {
            assert_eq!(
                image.document_pages, 1,
                "{} prints a one-page image",
                image.id
            );
            assert_eq!(image.configuration.page_ranges, None, "{}", image.id);
        }
        assert_eq!(coverage(&plan.cases, &dims()), c);
        assert!(plan.cases.len() < 60, "{} cases", plan.cases.len());
        assert_eq!(
            make_plan(&[office()], &Strategy::Pairwise, 42).unwrap(),
            plan
        );
        for case in &plan.cases {
            let cfg = &case.configuration;
            assert_eq!(
                cfg.multipage_layout.is_some(),
                cfg.pages_per_sheet.unwrap() > 1,
                "{}",
                case.id
            );
            assert_eq!(
                cfg.collate.is_some(),
                cfg.copies.unwrap() > 1,
                "{}",
                case.id
            );
            assert_eq!(
                cfg.fit_pdf_to_page.is_some(),
                case.content_type == "application/pdf",
                "{}",
                case.id
            );
        }
        let single = make_plan(&[office()], &Strategy::Single, 42).unwrap();
        let s = single.coverage[0].coverage;
        assert!(s.pairs_covered < s.pairs_possible, "{s:?}");
        assert!(plan.summary().contains("Office: "), "{}", plan.summary());
    }

    /// The shipped fleet as Graph shows it: `printers.toml` read through the device's own
    /// config (a dev-dependency only; the plan itself never reads it).
    fn shipped_fleet() -> Vec<PrinterUnderTest> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../printers.toml");
        let fleet = printlab_device::config::load(&path).unwrap();
        fleet
            .printers
            .into_iter()
            .enumerate()
            .map(|(i, p)| PrinterUnderTest {
                name: p.name,
                share_id: format!("share-{i}"),
                capabilities: p.capabilities,
                defaults: p.defaults,
            })
            .collect()
    }

    #[test]
    fn plan_sizes_for_the_shipped_fleet() {
        let fleet = shipped_fleet();
        for printer in &fleet {
            assert_eq!(static_checks(printer), [], "{}", printer.name);
        }
        let single = make_plan(&fleet, &Strategy::Single, 1).unwrap();
        let pairwise = make_plan(&fleet, &Strategy::Pairwise, 1).unwrap();
        for c in &pairwise.coverage {
            assert_eq!(c.coverage.pairs_covered, c.coverage.pairs_possible, "{c:?}");
        }
        let over = make_plan(&fleet, &Strategy::Exhaustive { budget: 1_000_000 }, 1);
        println!("{}{}", single.summary(), pairwise.summary());
        println!("exhaustive: {}", over.unwrap_err());
        assert!(pairwise.cases.len() < 10 * single.cases.len());
    }

    #[test]
    fn plan_json_round_trips() {
        let plan = make_plan(&[office()], &Strategy::Pairwise, 3).unwrap();
        assert_eq!(Plan::from_json(&plan.to_json()).unwrap(), plan);
    }

    #[test]
    fn edited_plan_mistakes_are_refused_with_their_position() {
        let plan = make_plan(&[office()], &Strategy::Single, 3).unwrap();
        let json = plan.to_json();
        // A single value: serde_json places a mistake inside a list at the list's end.
        let colour = "\"colorMode\": \"blackAndWhite\"";
        let bad_enum = json.replacen(colour, "\"colorMode\": \"rainbow\"", 1);
        let err = Plan::from_json(&bad_enum).unwrap_err().to_string();
        let line = json.lines().position(|l| l.contains(colour)).unwrap() + 1;
        assert!(
            err.starts_with(&format!("plan line {line}, column ")),
            "{err}, expected line {line}"
        );
        assert!(err.contains("rainbow"), "{err}");

        let typo = json.replacen("\"copies\":", "\"copys\":", 1);
        let line = json
            .lines()
            .position(|l| l.contains("\"copies\":"))
            .unwrap()
            + 1;
        let err = Plan::from_json(&typo).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("plan line {line}, column ")),
            "{err}, expected line {line}"
        );
        assert!(err.contains("unknown field `copys`"), "{err}");

        let (printers, cases) = json.split_once("\"cases\"").unwrap();
        let cases = cases.replacen(
            "\"contentType\": \"application/pdf\"",
            "\"contentType\": \"image/urf\"",
            1,
        );
        let wrong_format = format!("{printers}\"cases\"{cases}");
        let err = Plan::from_json(&wrong_format).unwrap_err().to_string();
        assert_eq!(
            err,
            "plan case Office#1: image/urf is not among Office's contentTypes \
             (application/pdf, image/jpeg)"
        );
    }
}
