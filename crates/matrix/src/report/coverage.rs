//! What a run covered: per printer, each option the cases set and the values tried, read from
//! the configurations themselves so that any setting a plan adds is counted without a list here.

use crate::run::CaseResult;
use printlab_graph::PrintJobConfiguration;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One option of one printer and the values the cases sent for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OptionCoverage {
    /// The Graph name, e.g. `mediaSize`, or `contentType` for the document format.
    pub option: String,
    pub values: Vec<String>,
}

/// The settings a configuration sends, by Graph name: what it leaves out (null, or an empty
/// list such as `finishings: []`) takes the printer's default and is not shown.
pub(super) fn sent(
    configuration: &PrintJobConfiguration,
) -> impl Iterator<Item = (String, serde_json::Value)> {
    let fields = match serde_json::to_value(configuration).expect("a configuration serialises") {
        serde_json::Value::Object(fields) => fields,
        _ => serde_json::Map::new(),
    };
    fields
        .into_iter()
        .filter(|(_, v)| !v.is_null() && v.as_array().is_none_or(|list| !list.is_empty()))
}

pub(super) fn of(cases: &[CaseResult]) -> BTreeMap<String, Vec<OptionCoverage>> {
    let mut seen: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for result in cases {
        let options = seen.entry(result.case.printer.clone()).or_default();
        options
            .entry("contentType".into())
            .or_default()
            .insert(result.case.content_type.clone());
        for (option, value) in sent(&result.case.configuration) {
            let shown = match value {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            options.entry(option).or_default().insert(shown);
        }
    }
    seen.into_iter()
        .map(|(printer, options)| {
            let options = options
                .into_iter()
                .map(|(option, values)| OptionCoverage {
                    option,
                    values: values.into_iter().collect(),
                })
                .collect();
            (printer, options)
        })
        .collect()
}
