//! Expected refusals: combinations a printer was configured to refuse, which Graph does not show.
//!
//! Graph's `printerCapabilities` cannot say "this printer's interpreter fails on URF" or "this
//! printer refuses Legal at 1200 dpi": IPP's `job-constraints-supported` has no Graph
//! counterpart, and a failing format is advertised like any other. So the plan takes them as an
//! input, [`Expectations`]: for each printer (by the name Graph lists it under), the combinations
//! it refuses and why. For printlab's own lab the run command fills it from `printers.toml`
//! (`faults.failing_formats` → `contentType`; a `[[printer.constraints]]` without `resolve` →
//! its `when`, keys in Graph's camelCase); against any other endpoint it is a file the user
//! writes, or nothing. A case that matches is planned as [`Expectation::Refused`]; everything
//! else is expected to print.

use super::Plan;
use super::options::{OptionName, Setting};
use crate::{Case, Expectation};
use printlab_graph::PrinterDefaults;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Printer name → the combinations it refuses.
pub type Expectations = BTreeMap<String, Vec<RefusalRule>>;

/// A combination a printer refuses: a case matches when, for every option named, the value it
/// prints with (its own, else the printer's default) is one of the listed values, written as
/// Graph writes them (`"image/urf"`, `"North America Legal"`, `1200` as `"1200"`; a finishing matches when any
/// of the job's finishings is listed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefusalRule {
    /// Why the printer refuses, as the report shows it.
    pub reason: String,
    pub when: BTreeMap<OptionName, Vec<String>>,
}

impl RefusalRule {
    pub fn matches(&self, case: &Case, defaults: &PrinterDefaults) -> bool {
        let effective = Case {
            configuration: case.configuration.clone().with_defaults(defaults),
            ..case.clone()
        };
        self.when.iter().all(|(option, listed)| {
            Setting::read(&effective, *option).is_some_and(|setting| {
                setting
                    .graph_words()
                    .iter()
                    .any(|word| listed.contains(word))
            })
        })
    }
}

impl Plan {
    /// Marks every case a printer's rules match as an expected refusal, with the first matching
    /// rule's reason.
    pub fn expect_refusals(&mut self, expectations: &Expectations) {
        for case in &mut self.cases {
            let Some(rules) = expectations.get(&case.printer) else {
                continue;
            };
            let Some(printer) = self.printers.iter().find(|p| p.name == case.printer) else {
                continue;
            };
            if let Some(rule) = rules.iter().find(|r| r.matches(case, &printer.defaults)) {
                case.expect = Expectation::Refused {
                    reason: rule.reason.clone(),
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::office;
    use super::super::{Strategy, make_plan};
    use super::*;

    #[test]
    fn a_rule_marks_exactly_the_cases_it_names_even_through_defaults() {
        let printer = office();
        let mut plan = make_plan(std::slice::from_ref(&printer), &Strategy::Single, 1).unwrap();
        let expectations: Expectations = serde_json::from_str(
            r#"{"Office": [{"reason": "constraint legal-1200",
                            "when": {"mediaSize": ["North America Legal"], "dpi": ["1200"]}}]}"#,
        )
        .unwrap();
        plan.expect_refusals(&expectations);
        let refused: Vec<&Case> = plan
            .cases
            .iter()
            .filter(|c| matches!(c.expect, Expectation::Refused { .. }))
            .collect();
        // Single: the legal case prints at the default 600 dpi, the 1200-dpi case on the default
        // A4; with the default changed to 1200, the legal case (only) is refused.
        assert!(refused.is_empty(), "{refused:?}");
        let mut at_1200 = printer.clone();
        at_1200.defaults.dpi = Some(1200);
        let mut plan = make_plan(&[at_1200], &Strategy::Single, 1).unwrap();
        plan.expect_refusals(&expectations);
        let refused: Vec<String> = plan
            .cases
            .iter()
            .filter(|c| matches!(c.expect, Expectation::Refused { .. }))
            .map(|c| c.configuration.media_size.clone().unwrap_or_default())
            .collect();
        assert_eq!(refused, ["North America Legal"]);
    }
}
