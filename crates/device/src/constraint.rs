//! Job constraints (`[[printer.constraints]]`, IPP `job-constraints-supported` and
//! `job-resolvers-supported`): option values a printer cannot combine, and how it resolves them.
//!
//! Options are named by their `[printer.defaults]` keys and compared in Graph vocabulary (the
//! strings `printlab validate` accepts), so a constraint reads like the printer's defaults.

use printlab_graph::{GraphEnum, PrintJobConfiguration, PrinterCapabilities};
use std::fmt;

/// One option a constraint can name: a single-valued job setting (and `finishings`, which
/// matches when any of the job's finishings is listed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum JobOption {
    ColorMode,
    Dpi,
    DuplexMode,
    Finishings,
    InputBin,
    MediaSize,
    MediaType,
    MultipageLayout,
    Orientation,
    OutputBin,
    PagesPerSheet,
    Quality,
    Scaling,
}

impl JobOption {
    pub const ALL: [JobOption; 13] = [
        JobOption::ColorMode,
        JobOption::Dpi,
        JobOption::DuplexMode,
        JobOption::Finishings,
        JobOption::InputBin,
        JobOption::MediaSize,
        JobOption::MediaType,
        JobOption::MultipageLayout,
        JobOption::Orientation,
        JobOption::OutputBin,
        JobOption::PagesPerSheet,
        JobOption::Quality,
        JobOption::Scaling,
    ];

    /// The `[printer.defaults]` key.
    pub fn key(self) -> &'static str {
        match self {
            JobOption::ColorMode => "color_mode",
            JobOption::Dpi => "dpi",
            JobOption::DuplexMode => "duplex_mode",
            JobOption::Finishings => "finishings",
            JobOption::InputBin => "input_bin",
            JobOption::MediaSize => "media_size",
            JobOption::MediaType => "media_type",
            JobOption::MultipageLayout => "multipage_layout",
            JobOption::Orientation => "orientation",
            JobOption::OutputBin => "output_bin",
            JobOption::PagesPerSheet => "pages_per_sheet",
            JobOption::Quality => "quality",
            JobOption::Scaling => "scaling",
        }
    }

    /// The `printJobConfiguration` property the option sets, as Graph names it: how clients
    /// that plan around a printer's constraints (`printlab matrix`) name the option.
    pub fn graph_property(self) -> &'static str {
        match self {
            JobOption::ColorMode => "colorMode",
            JobOption::Dpi => "dpi",
            JobOption::DuplexMode => "duplexMode",
            JobOption::Finishings => "finishings",
            JobOption::InputBin => "inputBin",
            JobOption::MediaSize => "mediaSize",
            JobOption::MediaType => "mediaType",
            JobOption::MultipageLayout => "multipageLayout",
            JobOption::Orientation => "orientation",
            JobOption::OutputBin => "outputBin",
            JobOption::PagesPerSheet => "pagesPerSheet",
            JobOption::Quality => "quality",
            JobOption::Scaling => "scaling",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.key() == key)
    }

    /// The values the printer advertises for this option.
    pub fn advertised(self, caps: &PrinterCapabilities) -> Vec<String> {
        fn names<E: GraphEnum>(list: &Option<Vec<E>>) -> Vec<String> {
            list.iter()
                .flatten()
                .map(|e| e.as_str().to_string())
                .collect()
        }
        let numbers = |l: &Option<Vec<i32>>| l.iter().flatten().map(i32::to_string).collect();
        let strings = |l: &Option<Vec<String>>| l.clone().unwrap_or_default();
        match self {
            JobOption::ColorMode => names(&caps.color_modes),
            JobOption::Dpi => numbers(&caps.dpis),
            JobOption::DuplexMode => names(&caps.duplex_modes),
            JobOption::Finishings => names(&caps.finishings),
            JobOption::InputBin => strings(&caps.input_bins),
            JobOption::MediaSize => strings(&caps.media_sizes),
            JobOption::MediaType => strings(&caps.media_types),
            JobOption::MultipageLayout => names(&caps.multipage_layouts),
            JobOption::Orientation => names(&caps.orientations),
            JobOption::OutputBin => strings(&caps.output_bins),
            JobOption::PagesPerSheet => numbers(&caps.pages_per_sheet),
            JobOption::Quality => names(&caps.qualities),
            JobOption::Scaling => names(&caps.scalings),
        }
    }

    /// The job's value(s) of this option, as strings.
    fn job_values(self, job: &PrintJobConfiguration) -> Vec<String> {
        fn name<E: GraphEnum>(v: &Option<E>) -> Vec<String> {
            v.iter().map(|e| e.as_str().to_string()).collect()
        }
        let number = |v: &Option<i32>| v.iter().map(i32::to_string).collect();
        let string = |v: &Option<String>| v.iter().cloned().collect();
        match self {
            JobOption::ColorMode => name(&job.color_mode),
            JobOption::Dpi => number(&job.dpi),
            JobOption::DuplexMode => name(&job.duplex_mode),
            JobOption::Finishings => job
                .finishings
                .iter()
                .flatten()
                .map(|f| f.as_str().to_string())
                .collect(),
            JobOption::InputBin => string(&job.input_bin),
            JobOption::MediaSize => string(&job.media_size),
            JobOption::MediaType => string(&job.media_type),
            JobOption::MultipageLayout => name(&job.multipage_layout),
            JobOption::Orientation => name(&job.orientation),
            JobOption::OutputBin => string(&job.output_bin),
            JobOption::PagesPerSheet => number(&job.pages_per_sheet),
            JobOption::Quality => name(&job.quality),
            JobOption::Scaling => name(&job.scaling),
        }
    }

    /// Sets the job's option to `value`, one of [`JobOption::advertised`] (checked when the
    /// configuration was read, so a value that does not parse leaves the job unchanged).
    fn set(self, job: &mut PrintJobConfiguration, value: &str) {
        fn parse<E: GraphEnum>(slot: &mut Option<E>, value: &str) {
            if let Some(v) = E::from_name(value) {
                *slot = Some(v);
            }
        }
        let number = |slot: &mut Option<i32>| {
            if let Ok(n) = value.parse() {
                *slot = Some(n);
            }
        };
        let string = |slot: &mut Option<String>| *slot = Some(value.to_string());
        match self {
            JobOption::ColorMode => parse(&mut job.color_mode, value),
            JobOption::Dpi => number(&mut job.dpi),
            JobOption::DuplexMode => parse(&mut job.duplex_mode, value),
            JobOption::Finishings => {
                if let Some(f) = GraphEnum::from_name(value) {
                    job.finishings = Some(vec![f]);
                }
            }
            JobOption::InputBin => string(&mut job.input_bin),
            JobOption::MediaSize => string(&mut job.media_size),
            JobOption::MediaType => string(&mut job.media_type),
            JobOption::MultipageLayout => parse(&mut job.multipage_layout, value),
            JobOption::Orientation => parse(&mut job.orientation, value),
            JobOption::OutputBin => string(&mut job.output_bin),
            JobOption::PagesPerSheet => number(&mut job.pages_per_sheet),
            JobOption::Quality => parse(&mut job.quality, value),
            JobOption::Scaling => parse(&mut job.scaling, value),
        }
    }
}

/// One declared constraint: a job conflicts when, for every option in `when`, its value is one
/// of the listed values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    /// IPP `resolver-name`.
    pub resolver: String,
    pub when: Vec<(JobOption, Vec<String>)>,
    /// Values tried in order until no constraint matches; empty: the printer refuses the job.
    pub resolve: Vec<(JobOption, Vec<String>)>,
}

impl Constraint {
    pub fn matches(&self, job: &PrintJobConfiguration) -> bool {
        self.when.iter().all(|(option, values)| {
            option
                .job_values(job)
                .iter()
                .any(|v| values.iter().any(|listed| listed == v))
        })
    }

    /// The job with the resolver's `index`-th values (an option with fewer values keeps its last).
    fn resolved(&self, job: &PrintJobConfiguration, index: usize) -> PrintJobConfiguration {
        let mut out = job.clone();
        for (option, values) in &self.resolve {
            if let Some(value) = values.get(index).or(values.last()) {
                option.set(&mut out, value);
            }
        }
        out
    }
}

/// What the constraints make of a job.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    /// No constraint matched.
    Unchanged,
    /// Resolved by these resolvers (in the order applied) into this configuration.
    Resolved {
        resolvers: Vec<String>,
        job: PrintJobConfiguration,
    },
    /// A constraint without a resolver matched (or resolving went round in circles).
    Refused(Refusal),
}

/// A job the printer will not print as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub resolver: String,
    pub when: Vec<(JobOption, Vec<String>)>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let conditions: Vec<String> = self
            .when
            .iter()
            .map(|(option, values)| format!("{} {}", option.key(), values.join(" or ")))
            .collect();
        write!(
            f,
            "This printer cannot print {} (constraint `{}`)",
            conditions.join(" with "),
            self.resolver
        )
    }
}

/// Applies the printer's constraints to a job (printer defaults already applied): the first
/// matching constraint is resolved with its values, tried in order until no constraint matches
/// (else the first, which at least ends this constraint); a constraint without a resolver
/// refuses the job. Each constraint is resolved at most once, so resolvers that undo each
/// other end in a refusal rather than a loop.
pub fn resolve(constraints: &[Constraint], job: &PrintJobConfiguration) -> Resolution {
    let mut job = job.clone();
    let mut resolvers: Vec<String> = Vec::new();
    while let Some(constraint) = constraints.iter().find(|c| c.matches(&job)) {
        let refusal = || {
            Resolution::Refused(Refusal {
                resolver: constraint.resolver.clone(),
                when: constraint.when.clone(),
            })
        };
        if constraint.resolve.is_empty() || resolvers.contains(&constraint.resolver) {
            return refusal();
        }
        let tries = constraint
            .resolve
            .iter()
            .map(|(_, values)| values.len())
            .max()
            .unwrap_or(0);
        let candidates: Vec<_> = (0..tries).map(|i| constraint.resolved(&job, i)).collect();
        let Some(first) = candidates.iter().find(|c| !constraint.matches(c)) else {
            return refusal();
        };
        job = candidates
            .iter()
            .find(|c| !constraints.iter().any(|other| other.matches(c)))
            .unwrap_or(first)
            .clone();
        resolvers.push(constraint.resolver.clone());
    }
    if resolvers.is_empty() {
        Resolution::Unchanged
    } else {
        Resolution::Resolved { resolvers, job }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use printlab_graph::{PrintColorMode, PrintDuplexMode};

    fn envelopes_one_sided() -> Constraint {
        Constraint {
            resolver: "no-duplex-on-envelopes".into(),
            when: vec![
                (JobOption::MediaType, vec!["envelope".into()]),
                (
                    JobOption::DuplexMode,
                    vec!["flipOnLongEdge".into(), "flipOnShortEdge".into()],
                ),
            ],
            resolve: vec![(JobOption::DuplexMode, vec!["oneSided".into()])],
        }
    }

    fn job(media_type: &str, duplex: PrintDuplexMode) -> PrintJobConfiguration {
        PrintJobConfiguration {
            media_type: Some(media_type.into()),
            duplex_mode: Some(duplex),
            color_mode: Some(PrintColorMode::Color),
            ..Default::default()
        }
    }

    #[test]
    fn a_job_matching_every_key_is_resolved_and_others_are_left_alone() {
        let constraints = [envelopes_one_sided()];
        let duplex_envelope = job("envelope", PrintDuplexMode::FlipOnLongEdge);
        let Resolution::Resolved {
            resolvers,
            job: resolved,
        } = resolve(&constraints, &duplex_envelope)
        else {
            panic!("a duplex envelope job must be resolved");
        };
        assert_eq!(resolvers, ["no-duplex-on-envelopes"]);
        assert_eq!(resolved.duplex_mode, Some(PrintDuplexMode::OneSided));
        assert_eq!(resolved.color_mode, Some(PrintColorMode::Color));
        for untouched in [
            job("stationery", PrintDuplexMode::FlipOnLongEdge),
            job("envelope", PrintDuplexMode::OneSided),
        ] {
            assert_eq!(resolve(&constraints, &untouched), Resolution::Unchanged);
        }
    }

    #[test]
    fn without_a_resolver_or_when_resolvers_undo_each_other_the_job_is_refused() {
        let mut refusing = envelopes_one_sided();
        refusing.resolve.clear();
        let Resolution::Refused(refusal) = resolve(
            &[refusing],
            &job("envelope", PrintDuplexMode::FlipOnShortEdge),
        ) else {
            panic!("a constraint without a resolver must refuse");
        };
        assert_eq!(
            refusal.to_string(),
            "This printer cannot print media_type envelope with duplex_mode flipOnLongEdge or \
             flipOnShortEdge (constraint `no-duplex-on-envelopes`)"
        );
        let back_to_duplex = Constraint {
            resolver: "one-sided-needs-stationery".into(),
            when: vec![(JobOption::DuplexMode, vec!["oneSided".into()])],
            resolve: vec![(JobOption::DuplexMode, vec!["flipOnLongEdge".into()])],
        };
        assert!(matches!(
            resolve(
                &[envelopes_one_sided(), back_to_duplex],
                &job("envelope", PrintDuplexMode::FlipOnLongEdge)
            ),
            Resolution::Refused(_)
        ));
    }
}
