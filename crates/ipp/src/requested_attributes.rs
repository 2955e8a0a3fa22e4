//! `requested-attributes` (RFC 8011 §4.2.5.1, §4.3.4.1): which printer or job attributes an
//! answer carries, named one by one or by group (`all`, `printer-description`, `job-template`,
//! `job-description`), so that each IPP server of ours selects them alike.

use crate::model::{AttributeLookup, Message};

/// Job template attributes (RFC 8011 §5.2, PWG 5100.7 and 5100.13): in a job they are the
/// `job-template` group; in a printer, their `-default`, `-supported`, `-ready` and `-database`
/// attributes are.
pub const JOB_TEMPLATE: &[&str] = &[
    "copies",
    "feed-orientation",
    "finishings",
    "finishings-col",
    "job-account-id",
    "job-accounting-user-id",
    "job-hold-until",
    "job-priority",
    "job-sheets",
    "media",
    "media-col",
    "media-color",
    "media-source",
    "media-type",
    "multiple-document-handling",
    "number-up",
    "orientation-requested",
    "output-bin",
    "page-ranges",
    "pages-per-subset",
    "pdf-fit-to-page",
    "presentation-direction-number-up",
    "print-color-mode",
    "print-content-optimize",
    "print-quality",
    "print-rendering-intent",
    "print-scaling",
    "printer-resolution",
    "sides",
];

/// Whether a printer attribute belongs to the `job-template` group.
pub fn is_job_template_printer_attribute(name: &str) -> bool {
    ["-default", "-supported", "-ready", "-database"]
        .iter()
        .filter_map(|suffix| name.strip_suffix(suffix))
        .any(|base| JOB_TEMPLATE.contains(&base))
}

/// What a request asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestedAttributes {
    All,
    /// Attribute and group names.
    Named(Vec<String>),
}

impl RequestedAttributes {
    /// The request's `requested-attributes`, or `when_absent` when it has none (`all` for most
    /// operations; Get-Jobs answers `job-id` and `job-uri` only).
    pub fn of(request: &Message, when_absent: Self) -> Self {
        match request.operation_attributes().attr("requested-attributes") {
            None => when_absent,
            Some(asked) if asked.keywords().any(|k| k == "all") => Self::All,
            Some(asked) => Self::Named(asked.keywords().map(str::to_owned).collect()),
        }
    }

    /// Only these names (an operation's own default set).
    pub fn named(names: &[&str]) -> Self {
        Self::Named(names.iter().map(|n| (*n).to_owned()).collect())
    }

    /// Whether a printer attribute is asked for.
    pub fn printer(&self, name: &str) -> bool {
        let Self::Named(names) = self else {
            return true;
        };
        let template = is_job_template_printer_attribute(name);
        names.iter().any(|n| match n.as_str() {
            "job-template" => template,
            "printer-description" => !template,
            other => other == name,
        })
    }

    /// Whether a job attribute is asked for.
    pub fn job(&self, name: &str) -> bool {
        let Self::Named(names) = self else {
            return true;
        };
        let template = JOB_TEMPLATE.contains(&name);
        names.iter().any(|n| match n.as_str() {
            "job-template" => template,
            "job-description" => !template,
            other => other == name,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Attribute, Operation, Value};

    fn asking(names: &[&str]) -> Message {
        let mut request = Message::request(Operation::GET_PRINTER_ATTRIBUTES, 1);
        request.groups[0].push(Attribute::set(
            "requested-attributes",
            names.iter().map(|n| Value::keyword(*n)),
        ));
        request
    }

    #[test]
    fn groups_and_names_select_printer_attributes() {
        let template =
            RequestedAttributes::of(&asking(&["job-template"]), RequestedAttributes::All);
        assert!(template.printer("copies-supported"));
        assert!(template.printer("media-col-database"));
        assert!(!template.printer("printer-name"));
        let description = RequestedAttributes::of(
            &asking(&["printer-description", "sides-default"]),
            RequestedAttributes::All,
        );
        assert!(description.printer("printer-name"));
        assert!(description.printer("sides-default"));
        assert!(!description.printer("media-col-database"));
        let all =
            RequestedAttributes::of(&asking(&["printer-name", "all"]), RequestedAttributes::All);
        assert_eq!(all, RequestedAttributes::All);
    }

    #[test]
    fn job_groups_and_the_default_when_absent() {
        let absent = Message::request(Operation::GET_JOBS, 1);
        let defaults =
            RequestedAttributes::of(&absent, RequestedAttributes::named(&["job-id", "job-uri"]));
        assert!(defaults.job("job-id") && !defaults.job("job-state"));
        let template =
            RequestedAttributes::of(&asking(&["job-template"]), RequestedAttributes::All);
        assert!(template.job("copies") && !template.job("job-state"));
        let description =
            RequestedAttributes::of(&asking(&["job-description"]), RequestedAttributes::All);
        assert!(description.job("job-state") && !description.job("sides"));
    }
}
