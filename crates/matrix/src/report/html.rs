//! `report.html`: one page a person reads, standing alone (styles inline, pictures as `data:`
//! URIs, no script). Failures first, each with what came out next to what was expected; then a
//! table per printer, the static checks, and what the plan covered.

use super::markup::escape;
use super::{Report, coverage, thumbnail};
use crate::run::{CaseResult, Verdict};
use std::fmt::Write;
use std::path::Path;

/// Sides shown per failure; the rest are listed by path in report.json.
const SIDES_SHOWN: usize = 4;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1a1a1a;background:#fff}\
table{border-collapse:collapse;margin:0.5rem 0 1.5rem}\
th,td{border:1px solid #999;padding:0.3rem 0.5rem;text-align:left;vertical-align:top}\
th{background:#eee}caption{text-align:left;font-weight:bold;padding:0.3rem 0}\
.failed{background:#fde2e2}.passed,.refusedAsExpected{background:#e3f4e1}.notRun{background:#f1f1f1}\
figure{display:inline-block;margin:0 0.5rem 0.5rem 0}figcaption{font-size:0.8rem}\
img{border:1px solid #666;image-rendering:auto}ul{margin:0;padding-left:1.2rem}\
code{font-size:0.85rem}";

pub(super) fn render(report: &Report, expected_cache: &Path) -> String {
    let s = &report.summary;
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>printlab matrix: {} of {} cases failed</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <header><h1>Capability matrix</h1>\n<p id=\"summary\">{} cases through <code>{}</code>, \
         {} to {}: <strong>{} passed</strong>, {} refused as expected, <strong>{} failed</strong>, \
         {} not run; {} checked on the job state only; {} met a device fault.{}</p></header>\n<main>\n",
        s.failed,
        s.cases,
        s.cases,
        escape(&report.graph),
        report.started.format("%Y-%m-%d %H:%M:%S UTC"),
        report.finished.format("%H:%M:%S UTC"),
        s.passed,
        s.refused_as_expected,
        s.failed,
        s.not_run,
        s.state_only,
        s.with_faults,
        if report.interrupted {
            " <strong>The run was interrupted.</strong>"
        } else {
            ""
        }
    );
    failures(&mut html, report, expected_cache);
    static_checks(&mut html, report);
    for printer in report.printers() {
        printer_table(&mut html, report, printer);
    }
    coverage(&mut html, report);
    html.push_str("</main>\n</body>\n</html>\n");
    html
}

fn failures(html: &mut String, report: &Report, expected_cache: &Path) {
    let failed: Vec<&CaseResult> = report
        .cases
        .iter()
        .filter(|c| c.verdict == Verdict::Failed)
        .collect();
    let _ = writeln!(
        html,
        "<section aria-labelledby=\"failures-title\">\n<h2 id=\"failures-title\">Failures ({})</h2>",
        failed.len()
    );
    if failed.is_empty() {
        html.push_str("<p id=\"no-failures\">Every case passed.</p>\n</section>\n");
        return;
    }
    html.push_str(
        "<table id=\"failures\">\n<caption>Cases whose job or output did not match</caption>\n\
         <thead><tr><th scope=\"col\">Case</th><th scope=\"col\">Options</th>\
         <th scope=\"col\">Findings</th><th scope=\"col\">Printed</th><th scope=\"col\">Expected</th></tr></thead>\n<tbody>\n",
    );
    for result in failed {
        let _ = write!(
            html,
            "<tr class=\"failed\"><th scope=\"row\">{}<br>{}</th><td>{}</td><td><ul>",
            escape(&result.case.id),
            escape(&result.case.printer),
            options(result)
        );
        for f in &result.findings {
            let _ = write!(
                html,
                "<li><strong>{}</strong>: expected {}, got {}</li>",
                escape(&f.check),
                escape(&f.expected),
                escape(&f.observed)
            );
        }
        html.push_str("</ul></td><td>");
        printed(html, result);
        html.push_str("</td><td>");
        expected(html, result, expected_cache);
        html.push_str("</td></tr>\n");
    }
    html.push_str("</tbody>\n</table>\n</section>\n");
}

fn printed(html: &mut String, result: &CaseResult) {
    if result.outputs.is_empty() {
        html.push_str("nothing came out");
        return;
    }
    for (n, side) in result.outputs.iter().take(SIDES_SHOWN).enumerate() {
        let alt = format!("printed side {} of {}", n + 1, result.outputs.len());
        figure(html, thumbnail::of_side(side), &alt);
    }
    if result.outputs.len() > SIDES_SHOWN {
        let _ = write!(
            html,
            "<p>and {} more sides</p>",
            result.outputs.len() - SIDES_SHOWN
        );
    }
}

fn expected(html: &mut String, result: &CaseResult, expected_cache: &Path) {
    let _ = write!(
        html,
        "<p>{}-page {} test document, {}</p>",
        result.case.document_pages,
        escape(&result.case.content_type),
        escape(&result.case.expect.describe())
    );
    if let Some(document) = &result.document {
        let picture = thumbnail::of_document(document, &result.case.content_type, expected_cache);
        figure(html, picture, "the test document's first page");
    }
}

fn figure(html: &mut String, picture: Result<String, String>, alt: &str) {
    match picture {
        Ok(uri) => {
            let _ = write!(
                html,
                "<figure><img src=\"{uri}\" alt=\"{}\"><figcaption>{}</figcaption></figure>",
                escape(alt),
                escape(alt)
            );
        }
        Err(why) => {
            let _ = write!(
                html,
                "<p>{}: no picture ({})</p>",
                escape(alt),
                escape(&why)
            );
        }
    }
}

/// The settings a case sent, one per line; options left out are the printer's defaults.
fn options(result: &CaseResult) -> String {
    let mut lines = vec![format!(
        "contentType: {}, {} pages",
        result.case.content_type, result.case.document_pages
    )];
    lines.extend(
        coverage::sent(&result.case.configuration)
            .map(|(option, value)| format!("{option}: {value}")),
    );
    lines
        .iter()
        .map(|l| escape(l))
        .collect::<Vec<_>>()
        .join("<br>")
}

fn static_checks(html: &mut String, report: &Report) {
    if report.static_checks.values().all(Vec::is_empty) {
        return;
    }
    html.push_str("<section aria-labelledby=\"static-title\">\n<h2 id=\"static-title\">Static checks</h2>\n<ul>\n");
    for (printer, findings) in &report.static_checks {
        for f in findings {
            let _ = writeln!(
                html,
                "<li>{}: <strong>{}</strong>: expected {}, got {}</li>",
                escape(printer),
                escape(&f.check),
                escape(&f.expected),
                escape(&f.observed)
            );
        }
    }
    html.push_str("</ul>\n</section>\n");
}

/// A printer's cases, failures first.
fn printer_table(html: &mut String, report: &Report, printer: &str) {
    let mut cases: Vec<&CaseResult> = report
        .cases
        .iter()
        .filter(|c| c.case.printer == printer)
        .collect();
    cases.sort_by_key(|c| match c.verdict {
        Verdict::Failed => 0,
        Verdict::NotRun => 1,
        Verdict::Passed | Verdict::RefusedAsExpected => 2,
    });
    let _ = write!(
        html,
        "<section>\n<h2>{0}</h2>\n<table class=\"printer\">\n<caption>{0}: options × verdict</caption>\n\
         <thead><tr><th scope=\"col\">Case</th><th scope=\"col\">Options</th><th scope=\"col\">Verdict</th>\
         <th scope=\"col\">Seconds</th><th scope=\"col\">Notes</th></tr></thead>\n<tbody>\n",
        escape(printer)
    );
    for result in cases {
        let mut notes: Vec<String> = result
            .faults
            .iter()
            .map(|f| format!("fault: {f}"))
            .collect();
        if result.state_only {
            notes.insert(0, "state only: output not visible".into());
        }
        let seconds = result.timings.submit + result.timings.print + result.timings.verify;
        let _ = writeln!(
            html,
            "<tr class=\"{}\"><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{seconds:.2}</td><td>{}</td></tr>",
            verdict_class(result.verdict),
            escape(&result.case.id),
            options(result),
            result.verdict.label(),
            notes
                .iter()
                .map(|n| escape(n))
                .collect::<Vec<_>>()
                .join("<br>")
        );
    }
    html.push_str("</tbody>\n</table>\n</section>\n");
}

fn verdict_class(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Passed => "passed",
        Verdict::RefusedAsExpected => "refusedAsExpected",
        Verdict::Failed => "failed",
        Verdict::NotRun => "notRun",
    }
}

fn coverage(html: &mut String, report: &Report) {
    html.push_str(
        "<section aria-labelledby=\"coverage-title\">\n<h2 id=\"coverage-title\">Coverage</h2>\n",
    );
    if !report.pair_coverage.is_empty() {
        html.push_str(
            "<table class=\"pairs\">\n<caption>Pairs of option values covered by the plan</caption>\n\
             <thead><tr><th scope=\"col\">Printer</th><th scope=\"col\">Cases</th>\
             <th scope=\"col\">Pairs covered</th><th scope=\"col\">Of</th><th scope=\"col\">Share</th></tr></thead>\n<tbody>\n",
        );
        for printer in &report.pair_coverage {
            let c = &printer.coverage;
            let _ = writeln!(
                html,
                "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{:.1} %</td></tr>",
                escape(&printer.printer),
                printer.cases,
                c.pairs_covered,
                c.pairs_possible,
                if c.pairs_possible == 0 {
                    100.0
                } else {
                    100.0 * c.pairs_covered as f64 / c.pairs_possible as f64
                }
            );
        }
        html.push_str("</tbody>\n</table>\n");
    }
    for (printer, options) in &report.coverage {
        let _ = write!(
            html,
            "<table class=\"coverage\">\n<caption>{}: values tried per option</caption>\n\
             <thead><tr><th scope=\"col\">Option</th><th scope=\"col\">Values</th></tr></thead>\n<tbody>\n",
            escape(printer)
        );
        for option in options {
            let _ = writeln!(
                html,
                "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
                escape(&option.option),
                escape(&option.values.join(", "))
            );
        }
        html.push_str("</tbody>\n</table>\n");
    }
    html.push_str("</section>\n");
}
