//! `junit.xml`: one testsuite per printer, one testcase per case, so a CI system lists every
//! combination and shows each failure's findings as its message.

use super::Report;
use super::markup::escape;
use crate::run::{CaseResult, Verdict};
use std::fmt::Write;

pub(super) fn render(report: &Report) -> String {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total_seconds = (report.finished - report.started).as_seconds_f64();
    let _ = writeln!(
        xml,
        "<testsuites name=\"printlab matrix\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{total_seconds:.3}\">",
        report.summary.cases, report.summary.failed, report.summary.not_run
    );
    for printer in report.printers() {
        let cases: Vec<&CaseResult> = report
            .cases
            .iter()
            .filter(|c| c.case.printer == printer)
            .collect();
        let failed = cases
            .iter()
            .filter(|c| c.verdict == Verdict::Failed)
            .count();
        let skipped = cases
            .iter()
            .filter(|c| c.verdict == Verdict::NotRun)
            .count();
        let seconds: f64 = cases.iter().map(|c| seconds(c)).sum();
        let _ = writeln!(
            xml,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" skipped=\"{skipped}\" time=\"{seconds:.3}\">",
            escape(printer),
            cases.len()
        );
        for case in cases {
            testcase(&mut xml, case);
        }
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}

fn seconds(result: &CaseResult) -> f64 {
    result.timings.submit + result.timings.print + result.timings.verify
}

fn testcase(xml: &mut String, result: &CaseResult) {
    let _ = write!(
        xml,
        "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3}\">",
        escape(&result.case.id),
        escape(&result.case.printer),
        seconds(result)
    );
    match result.verdict {
        Verdict::Failed => {
            let message: Vec<String> = result
                .findings
                .iter()
                .map(|f| format!("{}: expected {}, got {}", f.check, f.expected, f.observed))
                .collect();
            let _ = write!(
                xml,
                "<failure message=\"{}\" type=\"{}\">{}</failure>",
                escape(&message.join("; ")),
                escape(
                    result
                        .findings
                        .first()
                        .map_or("failed", |f| f.check.as_str())
                ),
                escape(
                    &serde_json::to_string_pretty(&result.case.configuration).unwrap_or_default()
                )
            );
        }
        Verdict::NotRun => xml.push_str("<skipped message=\"the run was interrupted\"/>"),
        Verdict::Passed | Verdict::RefusedAsExpected => {}
    }
    let mut notes = Vec::new();
    if result.verdict == Verdict::RefusedAsExpected {
        notes.push("refused as expected".to_owned());
    }
    if result.state_only {
        notes.push(
            "state only: the output is not visible here, only the job's end state was checked"
                .to_owned(),
        );
    }
    notes.extend(result.faults.iter().map(|f| format!("fault: {f}")));
    if !notes.is_empty() {
        let _ = write!(
            xml,
            "<system-out>{}</system-out>",
            escape(&notes.join("\n"))
        );
    }
    xml.push_str("</testcase>\n");
}
