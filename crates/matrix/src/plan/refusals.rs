//! Expected refusals: combinations a printer was configured to refuse or to change, which Graph
//! does not show.
//!
//! Graph's `printerCapabilities` cannot say "this printer's interpreter fails on URF" or "this
//! printer refuses Legal at 1200 dpi": IPP's `job-constraints-supported` has no Graph
//! counterpart, and a failing format is advertised like any other. So the plan takes them as an
//! input, [`Expectations`]: for each printer (by the name Graph lists it under), the combinations
//! it refuses, resolves or sometimes fails, and why. For printlab's own lab the run command reads
//! them from `lab.json`, where the lab writes what each printer's `printers.toml` entry implies;
//! against any other endpoint it is a file the user writes, or nothing. A case that matches is
//! planned as [`Expectation::Refused`], [`Expectation::PrintsResolved`] or
//! [`Expectation::MayRefuse`]; everything else is expected to print as asked.
//!
//! Resolving follows IPP's `job-resolvers-supported` (PWG 5100.13): the first matching rule's
//! values are tried in order until no rule matches, each rule resolves at most once, and a rule
//! without values refuses.

use super::Plan;
use super::options::{OptionName, Setting};
use crate::{Case, Expectation};
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
    /// Every job matches a rule whose `when` is empty.
    pub when: BTreeMap<OptionName, Vec<String>>,
    /// The printer resolves instead of refusing: each option takes its listed values in turn
    /// (an option with fewer keeps its last).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resolve: BTreeMap<OptionName, Vec<String>>,
    /// The printer refuses only some matching jobs, at random.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sometimes: bool,
}

impl RefusalRule {
    /// Whether `case` (its omitted settings already filled from the printer's defaults)
    /// matches.
    fn matches(&self, case: &Case) -> bool {
        self.when.iter().all(|(option, listed)| {
            Setting::read(case, *option).is_some_and(|setting| {
                setting
                    .graph_words()
                    .iter()
                    .any(|word| listed.contains(word))
            })
        })
    }

    /// `case` with this rule's `index`-th resolving values set.
    fn resolved(&self, case: &Case, index: usize) -> Case {
        let mut out = case.clone();
        for (option, values) in &self.resolve {
            if let Some(word) = values.get(index).or(values.last()) {
                set_graph_word(&mut out, *option, word);
            }
        }
        out
    }
}

/// Sets `option` from the word Graph writes for it. A word that does not read as a value of the
/// option leaves the case as it was (the case then matches the rule again, and the resolution
/// ends refused, as on the printer).
fn set_graph_word(case: &mut Case, option: OptionName, word: &str) {
    if option == OptionName::ContentType {
        case.content_type = word.to_owned();
        return;
    }
    let value = match option {
        OptionName::Finishings => serde_json::json!([word]),
        _ => serde_json::from_str(word)
            .ok()
            .filter(|v: &serde_json::Value| !v.is_string())
            .unwrap_or_else(|| serde_json::Value::String(word.to_owned())),
    };
    let Ok(serde_json::Value::Object(mut settings)) = serde_json::to_value(&case.configuration)
    else {
        return;
    };
    settings.insert(option.to_string(), value);
    if let Ok(configuration) = serde_json::from_value(serde_json::Value::Object(settings)) {
        case.configuration = configuration;
    }
}

/// What a printer with `rules` makes of a case whose settings are `effective` (defaults filled).
fn expectation(rules: &[RefusalRule], effective: &Case) -> Expectation {
    let (always, sometimes): (Vec<&RefusalRule>, Vec<&RefusalRule>) =
        rules.iter().partition(|r| !r.sometimes);
    let mut case = effective.clone();
    let mut resolved_by: Vec<&RefusalRule> = Vec::new();
    while let Some(rule) = always.iter().find(|r| r.matches(&case)) {
        let refused = Expectation::Refused {
            reason: rule.reason.clone(),
        };
        if rule.resolve.is_empty() || resolved_by.iter().any(|r| std::ptr::eq(*r, *rule)) {
            return refused;
        }
        let tries = rule.resolve.values().map(Vec::len).max().unwrap_or(0);
        let candidates: Vec<Case> = (0..tries).map(|i| rule.resolved(&case, i)).collect();
        let Some(first) = candidates.iter().find(|c| !rule.matches(c)) else {
            return refused;
        };
        case = candidates
            .iter()
            .find(|c| !always.iter().any(|other| other.matches(c)))
            .unwrap_or(first)
            .clone();
        resolved_by.push(rule);
    }
    if let Some(rule) = sometimes.iter().find(|r| r.matches(&case)) {
        return Expectation::MayRefuse {
            reason: rule.reason.clone(),
        };
    }
    if resolved_by.is_empty() {
        return Expectation::Prints;
    }
    Expectation::PrintsResolved {
        reason: (resolved_by.iter().map(|r| r.reason.as_str()))
            .collect::<Vec<_>>()
            .join("; "),
        resolved: Box::new(case.configuration),
    }
}

impl Plan {
    /// Sets each case's expectation from its printer's rules: refused, printed with settings
    /// changed, or perhaps refused; a case no rule matches prints as asked.
    pub fn expect_refusals(&mut self, expectations: &Expectations) {
        for case in &mut self.cases {
            let Some(rules) = expectations.get(&case.printer) else {
                continue;
            };
            let Some(printer) = self.printers.iter().find(|p| p.name == case.printer) else {
                continue;
            };
            let effective = Case {
                configuration: case.configuration.clone().with_defaults(&printer.defaults),
                ..case.clone()
            };
            case.expect = expectation(rules, &effective);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::office;
    use super::super::{Strategy, make_plan};
    use super::*;
    use printlab_graph::PrintDuplexMode;

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

    fn case(configuration: serde_json::Value) -> Case {
        Case {
            id: "Office#1".into(),
            printer: "Office".into(),
            share_id: "share-1".into(),
            content_type: "application/pdf".into(),
            document_pages: 4,
            configuration: serde_json::from_value(configuration).unwrap(),
            expect: Expectation::Prints,
        }
    }

    #[test]
    fn a_resolving_rule_expects_the_resolved_settings_and_random_failures_may_refuse() {
        let rules: Vec<RefusalRule> = serde_json::from_str(
            r#"[{"reason": "resolved by one-sided-legal",
                 "when": {"mediaSize": ["North America Legal"], "duplexMode": ["flipOnLongEdge"]},
                 "resolve": {"duplexMode": ["flipOnShortEdge", "oneSided"], "dpi": ["300"]}},
                {"reason": "no short edge on legal",
                 "when": {"mediaSize": ["North America Legal"], "duplexMode": ["flipOnShortEdge"]}},
                {"reason": "fails at random", "when": {}, "sometimes": true}]"#,
        )
        .unwrap();
        let legal_long = case(serde_json::json!({
            "mediaSize": "North America Legal", "duplexMode": "flipOnLongEdge", "dpi": 600
        }));
        // The first values (short edge) meet the refusing rule, so the second are taken.
        match expectation(&rules[..2], &legal_long) {
            Expectation::PrintsResolved { reason, resolved } => {
                assert_eq!(reason, "resolved by one-sided-legal");
                assert_eq!(resolved.duplex_mode, Some(PrintDuplexMode::OneSided));
                assert_eq!(resolved.dpi, Some(300));
                assert_eq!(resolved.media_size.as_deref(), Some("North America Legal"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            expectation(&rules, &case(serde_json::json!({"mediaSize": "ISO A4"}))),
            Expectation::MayRefuse {
                reason: "fails at random".into()
            }
        );
        let legal_short = case(serde_json::json!({
            "mediaSize": "North America Legal", "duplexMode": "flipOnShortEdge"
        }));
        assert_eq!(
            expectation(&rules, &legal_short),
            Expectation::Refused {
                reason: "no short edge on legal".into()
            }
        );
        assert_eq!(
            expectation(
                &rules[..2],
                &case(serde_json::json!({"mediaSize": "ISO A4"}))
            ),
            Expectation::Prints
        );
    }
}
