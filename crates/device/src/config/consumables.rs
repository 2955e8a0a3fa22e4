//! `[[printer.trays]]` and `[[printer.supplies]]` checked against the printer's capabilities,
//! each mistake at its value.

use super::{Issues, S, SupplyEntry, TrayEntry};
use crate::engine::{Supply, Tray};
use printlab_graph::PrinterCapabilities;
use printlab_mapping::MARKER_TYPES;

/// A count in `range`, or the issue at its position.
fn count_in(
    v: &S<i64>,
    what: &str,
    range: std::ops::RangeInclusive<u64>,
    issues: &mut Issues,
) -> Option<u64> {
    match u64::try_from(*v.get_ref()) {
        Ok(n) if range.contains(&n) => Some(n),
        _ => {
            issues.push(
                v.span(),
                format!(
                    "{what} must be between {} and {}, not {}",
                    range.start(),
                    range.end(),
                    v.get_ref()
                ),
            );
            None
        }
    }
}

/// `value` is one of `advertised` (named by `list` in messages), or the issue at its position.
fn advertised(value: &S<String>, list: &str, advertised: Option<&[String]>, issues: &mut Issues) {
    let advertised = advertised.unwrap_or_default();
    if !advertised.contains(value.get_ref()) {
        issues.push(
            value.span(),
            format!(
                "`{}` is not among capabilities.{list} ({})",
                value.get_ref(),
                advertised.join(", ")
            ),
        );
    }
}

fn unique_name(name: &S<String>, earlier: &[&S<String>], what: &str, issues: &mut Issues) {
    if name.get_ref().trim().is_empty() {
        issues.push(name.span(), format!("a {what} name must not be blank"));
    } else if earlier.iter().any(|e| e.get_ref() == name.get_ref()) {
        issues.push(
            name.span(),
            format!("{what} `{}` is declared twice", name.get_ref()),
        );
    }
}

pub(super) fn convert_trays(
    entries: &[S<TrayEntry>],
    caps: &PrinterCapabilities,
    issues: &mut Issues,
) -> Option<Vec<Tray>> {
    let mut trays = Vec::new();
    let mut ok = true;
    let first_issue = issues.0.len();
    for (i, entry) in entries.iter().enumerate() {
        let t = entry.get_ref();
        let earlier: Vec<_> = entries[..i].iter().map(|e| &e.get_ref().name).collect();
        unique_name(&t.name, &earlier, "tray", issues);
        if t.name.get_ref() == "auto" {
            issues.push(
                t.name.span(),
                "`auto` picks a tray, it is not one: name the tray by its input bin".into(),
            );
        }
        advertised(&t.name, "input_bins", caps.input_bins.as_deref(), issues);
        advertised(&t.media_size, "media", caps.media_sizes.as_deref(), issues);
        if let Some(media_type) = &t.media_type {
            advertised(
                media_type,
                "media_types",
                caps.media_types.as_deref(),
                issues,
            );
        }
        let capacity = count_in(&t.capacity, "trays.capacity", 1..=1_000_000, issues);
        let level = match (&t.level, capacity) {
            (Some(level), Some(capacity)) => {
                count_in(level, "trays.level (sheets loaded)", 0..=capacity, issues).map(Some)
            }
            (Some(_), None) => None,
            (None, _) => Some(None),
        };
        match (capacity, level) {
            (Some(capacity), Some(level)) => trays.push(Tray {
                name: t.name.get_ref().clone(),
                media_size: t.media_size.get_ref().clone(),
                media_type: t.media_type.as_ref().map(|m| m.get_ref().clone()),
                capacity,
                level,
            }),
            _ => ok = false,
        }
    }
    (ok && issues.0.len() == first_issue).then_some(trays)
}

fn is_marker_color(color: &str) -> bool {
    color == "none"
        || (!color.is_empty()
            && color.len().is_multiple_of(7)
            && color
                .as_bytes()
                .chunks(7)
                .all(|c| c[0] == b'#' && c[1..].iter().all(u8::is_ascii_hexdigit)))
}

pub(super) fn convert_supplies(
    entries: &[S<SupplyEntry>],
    issues: &mut Issues,
) -> Option<Vec<Supply>> {
    let mut supplies = Vec::new();
    let first_issue = issues.0.len();
    for (i, entry) in entries.iter().enumerate() {
        let s = entry.get_ref();
        let earlier: Vec<_> = entries[..i].iter().map(|e| &e.get_ref().name).collect();
        unique_name(&s.name, &earlier, "supply", issues);
        if !MARKER_TYPES.contains(&s.kind.get_ref().as_str()) {
            issues.push(
                s.kind.span(),
                format!(
                    "`{}` is not an IPP marker-types keyword; expected one of: {}",
                    s.kind.get_ref(),
                    MARKER_TYPES.join(", ")
                ),
            );
        }
        if let Some(color) = &s.color
            && !is_marker_color(color.get_ref())
        {
            issues.push(
                color.span(),
                format!(
                    "`{}` is not a marker colour: write \"#RRGGBB\" (several for a multi-colour \
                     supply) or \"none\"",
                    color.get_ref()
                ),
            );
        }
        let percent = |v: &S<i64>, what: &str, issues: &mut Issues| {
            count_in(v, what, 0..=100, issues).map(|n| n as u8)
        };
        let level = percent(&s.level, "supplies.level (percent)", issues);
        let low = percent(&s.low, "supplies.low (percent)", issues);
        let high = match &s.high {
            Some(high) => percent(high, "supplies.high (percent)", issues),
            None => Some(100),
        };
        if let (Some(low), Some(high)) = (low, high)
            && low >= high
        {
            issues.push(
                s.low.span(),
                format!("supplies.low ({low}) must be below supplies.high ({high})"),
            );
        }
        let sheets_per_percent = match &s.sheets_per_percent {
            Some(v) => count_in(
                v,
                "supplies.sheets_per_percent",
                1..=u32::MAX as u64,
                issues,
            )
            .map(Some),
            None => Some(None),
        };
        if let (Some(level), Some(low), Some(high), Some(sheets_per_percent)) =
            (level, low, high, sheets_per_percent)
        {
            supplies.push(Supply {
                name: s.name.get_ref().clone(),
                kind: s.kind.get_ref().clone(),
                color: s.color.as_ref().map(|c| c.get_ref().clone()),
                level,
                low,
                high,
                sheets_per_percent,
            });
        }
    }
    (issues.0.len() == first_issue).then_some(supplies)
}
