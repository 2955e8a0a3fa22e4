//! What each printer of the lab was configured to refuse or to change, in Graph's words.
//!
//! Graph's `printerCapabilities` cannot say "this printer's interpreter fails on URF" or "this
//! printer refuses staples on transparencies": IPP's `job-constraints-supported` has no Graph
//! counterpart, and a failing format is advertised like any other. A client that plans around
//! the printers (`printlab matrix`) would otherwise count every such job as a capability
//! mismatch, so `lab.json` carries these rules beside each printer, written as a Graph client
//! writes a job: options as `printJobConfiguration` properties (`contentType` for the format),
//! values as Graph writes them.

use printlab_device::config::PrinterConfig;
use printlab_device::constraint::JobOption;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One combination a printer refuses or changes. A job matches when, for every option in
/// `when`, the value it prints with is one of the listed values (every job, when `when` is
/// empty).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfiguredRule {
    /// Why, as a report shows it.
    pub reason: String,
    pub when: BTreeMap<String, Vec<String>>,
    /// The printer resolves instead of refusing: each option takes its listed values in turn
    /// (an option with fewer keeps its last) until no rule of the printer matches.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resolve: BTreeMap<String, Vec<String>>,
    /// The printer refuses only some of the matching jobs (seeded random faults): a refusal is
    /// expected, a printed job is still checked.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sometimes: bool,
}

fn graph_options(options: &[(JobOption, Vec<String>)]) -> BTreeMap<String, Vec<String>> {
    options
        .iter()
        .map(|(option, values)| (option.graph_property().to_owned(), values.clone()))
        .collect()
}

/// The rules `printer`'s configuration implies: its constraints (refusing or resolving), its
/// failing formats, and its seeded interpreter failures.
pub fn configured_rules(printer: &PrinterConfig) -> Vec<ConfiguredRule> {
    let mut rules: Vec<ConfiguredRule> = (printer.constraints.iter())
        .map(|c| ConfiguredRule {
            reason: if c.resolve.is_empty() {
                format!("refused by its constraint {:?}", c.resolver)
            } else {
                format!("resolved by its constraint {:?}", c.resolver)
            },
            when: graph_options(&c.when),
            resolve: graph_options(&c.resolve),
            sometimes: false,
        })
        .collect();
    rules.extend(
        (printer.faults.failing_formats.iter()).map(|format| ConfiguredRule {
            reason: format!(
                "its interpreter is configured to fail on {format} (faults.failing_formats)"
            ),
            when: BTreeMap::from([("contentType".to_owned(), vec![format.clone()])]),
            resolve: BTreeMap::new(),
            sometimes: false,
        }),
    );
    if let Some(random) = printer
        .faults
        .random
        .as_ref()
        .filter(|r| r.interpret_failure > 0.0)
    {
        rules.push(ConfiguredRule {
            reason: format!(
                "its interpreter fails on {:.1} % of documents at random (faults.random.interpret_failure)",
                random.interpret_failure * 100.0
            ),
            when: BTreeMap::new(),
            resolve: BTreeMap::new(),
            sometimes: true,
        });
    }
    rules
}

#[cfg(test)]
mod tests {
    use super::*;
    use printlab_device::config;

    #[test]
    fn constraints_failing_formats_and_random_failures_become_rules_in_graph_words() {
        let fleet = config::parse(
            r#"
[[printer]]
name = "Flaky"
[printer.capabilities]
document_formats = ["application/pdf", "image/urf"]
media = [
    { size = "A4", margins = { top = 4, bottom = 4, left = 4, right = 4 } },
    { size = "North America Letter", margins = { top = 4, bottom = 4, left = 4, right = 4 } },
]
duplex_modes = ["oneSided", "flipOnLongEdge"]
dpis = [300, 600]
color_modes = ["blackAndWhite"]
finishings = ["none"]
copies = { min = 1, max = 9 }
[printer.defaults]
media_size = "A4"
dpi = 300
[printer.faults]
failing_formats = ["image/urf"]
random = { seed = 1, interpret_failure = 0.03 }
[[printer.constraints]]
resolver = "no-letter-at-600"
when = { media_size = ["North America Letter"], dpi = ["600"] }
[[printer.constraints]]
resolver = "one-sided-letter"
when = { media_size = ["North America Letter"], duplex_mode = ["flipOnLongEdge"] }
resolve = { duplex_mode = ["oneSided"] }
"#,
            "printers.toml",
        );
        let fleet = match fleet {
            Ok(fleet) => fleet,
            Err(e) => panic!("{e}"),
        };
        let rules = configured_rules(&fleet.printers[0]);
        let json = serde_json::to_value(&rules).unwrap();
        assert_eq!(
            json,
            serde_json::json!([
                {"reason": "refused by its constraint \"no-letter-at-600\"",
                 "when": {"dpi": ["600"], "mediaSize": ["North America Letter"]}},
                {"reason": "resolved by its constraint \"one-sided-letter\"",
                 "when": {"duplexMode": ["flipOnLongEdge"], "mediaSize": ["North America Letter"]},
                 "resolve": {"duplexMode": ["oneSided"]}},
                {"reason": "its interpreter is configured to fail on image/urf (faults.failing_formats)",
                 "when": {"contentType": ["image/urf"]}},
                {"reason": "its interpreter fails on 3.0 % of documents at random (faults.random.interpret_failure)",
                 "when": {}, "sometimes": true},
            ])
        );
    }
}
