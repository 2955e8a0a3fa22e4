//! `[[printer.constraints]]` checked against the printer's capabilities: every key an option,
//! every value advertised, and a resolver that actually ends the conflict.

use super::{ConstraintEntry, Issues, OptionValues, S};
use crate::constraint::{Constraint, JobOption};
use printlab_graph::PrinterCapabilities;

/// Each option of `values` with its listed values, every mistake reported at its position.
fn options(
    values: &S<OptionValues>,
    caps: &PrinterCapabilities,
    table: &str,
    issues: &mut Issues,
) -> Vec<(JobOption, Vec<String>)> {
    let mut out = Vec::new();
    if values.get_ref().is_empty() {
        issues.push(
            values.span(),
            format!("constraints.{table} must name at least one option"),
        );
    }
    for (key, list) in values.get_ref() {
        let Some(option) = JobOption::from_key(key.get_ref()) else {
            let keys: Vec<_> = JobOption::ALL.iter().map(|o| o.key()).collect();
            issues.push(
                key.span(),
                format!(
                    "constraints.{table}: `{}` is not an option a constraint can name; use one \
                     of: {}",
                    key.get_ref(),
                    keys.join(", ")
                ),
            );
            continue;
        };
        if list.get_ref().is_empty() {
            issues.push(
                list.span(),
                format!(
                    "constraints.{table}.{}: list at least one value",
                    key.get_ref()
                ),
            );
        }
        let supported = option.advertised(caps);
        for value in list.get_ref() {
            if !supported.contains(value.get_ref()) {
                issues.push(
                    value.span(),
                    format!(
                        "constraints.{table}.{}: `{}` is not advertised; supported: {}",
                        key.get_ref(),
                        value.get_ref(),
                        if supported.is_empty() {
                            "none".to_string()
                        } else {
                            supported.join(", ")
                        }
                    ),
                );
            }
        }
        out.push((
            option,
            list.get_ref().iter().map(|v| v.get_ref().clone()).collect(),
        ));
    }
    out
}

pub(super) fn convert_constraints(
    entries: &[S<ConstraintEntry>],
    caps: &PrinterCapabilities,
    issues: &mut Issues,
) -> Option<Vec<Constraint>> {
    let first_issue = issues.0.len();
    let mut constraints = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let c = entry.get_ref();
        let resolver = c.resolver.get_ref();
        if resolver.trim().is_empty() {
            issues.push(
                c.resolver.span(),
                "constraints.resolver must not be blank".into(),
            );
        } else if entries[..i]
            .iter()
            .any(|e| e.get_ref().resolver.get_ref() == resolver)
        {
            issues.push(
                c.resolver.span(),
                format!("constraint resolver `{resolver}` is declared twice"),
            );
        }
        let when = options(&c.when, caps, "when", issues);
        let resolve = match &c.resolve {
            Some(values) => {
                let resolve = options(values, caps, "resolve", issues);
                check_resolution(values, &when, &resolve, issues);
                resolve
            }
            None => Vec::new(),
        };
        constraints.push(Constraint {
            resolver: resolver.clone(),
            when,
            resolve,
        });
    }
    (issues.0.len() == first_issue).then_some(constraints)
}

/// A resolve value must not itself be one the constraint matches, and the resolver must set
/// an option of `when`, or the resolved job would conflict just the same.
fn check_resolution(
    written: &S<OptionValues>,
    when: &[(JobOption, Vec<String>)],
    resolve: &[(JobOption, Vec<String>)],
    issues: &mut Issues,
) {
    if !resolve
        .iter()
        .any(|(option, _)| when.iter().any(|(w, _)| w == option))
    {
        issues.push(
            written.span(),
            "constraints.resolve must set an option named in `when`, or the resolved job still \
             conflicts"
                .into(),
        );
    }
    for (key, list) in written.get_ref() {
        let Some(option) = JobOption::from_key(key.get_ref()) else {
            continue;
        };
        let Some((_, matching)) = when.iter().find(|(w, _)| *w == option) else {
            continue;
        };
        for value in list.get_ref() {
            if matching.contains(value.get_ref()) {
                issues.push(
                    value.span(),
                    format!(
                        "constraints.resolve.{}: `{}` is one of the values the constraint \
                         matches, so it cannot resolve it",
                        key.get_ref(),
                        value.get_ref()
                    ),
                );
            }
        }
    }
}
