//! A printer's supplies, from the `marker-*` attributes (RFC 3805 through IPP) and from PWG
//! 5100.13 `printer-supply` (one `key=value;` octetString per supply, named by the same index of
//! `printer-supply-description`), each supply once.

use crate::printer_model::Supply;
use crate::tables::MARKER_TYPES;
use crate::values::Notes;
use printlab_ipp::{Attribute, AttributeLookup, Value};
use std::collections::BTreeMap;

/// The low threshold of a supply whose printer gives none (`printer-supply` has no such field,
/// and `marker-low-levels` is optional): 10 %, where printers commonly start warning.
pub(crate) const DEFAULT_LOW_PERCENT: i32 = 10;

const UNREADABLE: &str = "not a PWG 5100.13 supply (`type=…;maxcapacity=…;level=…;` with \
     whole numbers); the supply is left out";
const LEVEL_UNKNOWN: &str = "the printer does not know this supply's level (-1 or -2) and printers.toml needs one; the \
     supply is left out";
const SOME_REMAINING: &str = "the level is only \"some remaining\" (-3); written as 100 %";
const CAPACITY_UNKNOWN: &str = "the maximum capacity is unknown and the unit is not percent, so \
     the level cannot be a percentage; the supply is left out";
const UNKNOWN_TYPE: &str = "not an IPP marker-types keyword; written as `other`";
const SAME_NAME: &str = "a second supply with this name; the first is kept";

/// PWG 5101.1 colorant names with one colour (`no-color`, `unknown` and vendor names have none).
const COLORANTS: &[(&str, &str)] = &[
    ("black", "#000000"),
    ("photo-black", "#000000"),
    ("matte-black", "#000000"),
    ("cyan", "#00FFFF"),
    ("light-cyan", "#E0FFFF"),
    ("magenta", "#FF00FF"),
    ("light-magenta", "#FF80FF"),
    ("yellow", "#FFFF00"),
    ("red", "#FF0000"),
    ("green", "#00FF00"),
    ("blue", "#0000FF"),
    ("orange", "#FFA500"),
    ("violet", "#EE82EE"),
    ("white", "#FFFFFF"),
    ("gray", "#808080"),
    ("grey", "#808080"),
    ("light-gray", "#D3D3D3"),
    ("light-grey", "#D3D3D3"),
    ("dark-gray", "#404040"),
    ("dark-grey", "#404040"),
];

/// Supplies from `printer-supply` and from `marker-*`, each once. `printer-supply` wins where
/// both name a supply: it is the PWG 5100.13 description of every supply, with its level
/// against its own capacity, while `marker-*` is the older per-marker summary that printers
/// often trim to the markers alone. A marker of the same name still lends what
/// `printer-supply` lacks (its low and high levels) and its exact `#RRGGBB`; markers that
/// `printer-supply` does not name follow.
pub(crate) fn supplies(attrs: &[Attribute], n: &mut Notes) -> Vec<Supply> {
    let markers = marker_supplies(attrs);
    let mut out = printer_supplies(attrs, n);
    for supply in &mut out {
        if let Some(marker) = markers.iter().find(|m| m.name == supply.name) {
            supply.low = marker.low;
            supply.high = marker.high;
            supply.color = marker.color.clone().or(supply.color.take());
        }
    }
    let unnamed: Vec<Supply> = markers
        .into_iter()
        .filter(|m| !out.iter().any(|s| s.name == m.name))
        .collect();
    out.extend(unnamed);
    out
}

/// `marker-names`, `-types`, `-colors`, `-levels`, `-low-levels`, `-high-levels`, index by
/// index; a marker without a known level (negative) is left out.
fn marker_supplies(attrs: &[Attribute]) -> Vec<Supply> {
    let strings = |name: &str| -> Vec<String> {
        attrs
            .attr(name)
            .map(|a| {
                a.values
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let integers = |name: &str| -> Vec<i32> {
        attrs
            .attr(name)
            .map(|a| a.integers().collect())
            .unwrap_or_default()
    };
    let (names, kinds, colors) = (
        strings("marker-names"),
        strings("marker-types"),
        strings("marker-colors"),
    );
    let (levels, lows, highs) = (
        integers("marker-levels"),
        integers("marker-low-levels"),
        integers("marker-high-levels"),
    );
    names
        .iter()
        .enumerate()
        .filter_map(|(i, name)| {
            let level = *levels.get(i).filter(|l| (0..=100).contains(*l))?;
            Some(Supply {
                name: name.clone(),
                kind: kinds.get(i)?.clone(),
                color: colors
                    .get(i)
                    .filter(|c| c.len() == 7 && c.starts_with('#'))
                    .cloned(),
                level,
                low: lows
                    .get(i)
                    .copied()
                    .filter(|l| (0..=100).contains(l))
                    .unwrap_or(DEFAULT_LOW_PERCENT),
                high: highs.get(i).copied().filter(|h| (0..=100).contains(h)),
            })
        })
        .collect()
}

/// Every readable `printer-supply` value as a supply; each one left out is noted with why.
fn printer_supplies(attrs: &[Attribute], n: &mut Notes) -> Vec<Supply> {
    let descriptions: Vec<&str> = attrs
        .attr("printer-supply-description")
        .map(|a| a.values.iter().map(|v| v.as_str().unwrap_or("")).collect())
        .unwrap_or_default();
    let mut out: Vec<Supply> = Vec::new();
    for (i, value) in attrs
        .attr("printer-supply")
        .into_iter()
        .flat_map(|a| &a.values)
        .enumerate()
    {
        let text = match value {
            Value::OctetString(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            other => other
                .as_str()
                .map_or_else(|| other.to_string(), str::to_owned),
        };
        let description = descriptions.get(i).map(|d| d.trim()).unwrap_or("");
        match supply_of(&text, description, i + 1, n) {
            Ok(Some(supply)) if out.iter().any(|s| s.name == supply.name) => {
                n.add("printer-supply", &text, SAME_NAME);
            }
            Ok(Some(supply)) => out.push(supply),
            Ok(None) => {}
            Err(reason) => n.add("printer-supply", &text, reason),
        }
    }
    out
}

/// One `printer-supply` value as a supply named `description` (else its type and position);
/// `Ok(None)` for a supply left out with its note already taken.
fn supply_of(
    text: &str,
    description: &str,
    position: usize,
    n: &mut Notes,
) -> Result<Option<Supply>, &'static str> {
    let fields: BTreeMap<&str, &str> = text
        .split(';')
        .filter(|pair| !pair.trim().is_empty())
        .map(|pair| pair.split_once('=').map(|(k, v)| (k.trim(), v.trim())))
        .collect::<Option<_>>()
        .ok_or(UNREADABLE)?;
    let number = |key: &str| -> Result<i32, &'static str> {
        fields
            .get(key)
            .ok_or(UNREADABLE)?
            .parse::<i32>()
            .map_err(|_| UNREADABLE)
    };
    let pwg_type = fields
        .get("type")
        .filter(|t| !t.is_empty())
        .ok_or(UNREADABLE)?;
    let (level, capacity) = (number("level")?, number("maxcapacity")?);
    let capacity = match capacity {
        c if c > 0 => c,
        _ if fields.get("unit") == Some(&"percent") => 100,
        _ => return Err(CAPACITY_UNKNOWN),
    };
    let percent = match level {
        -3 => {
            n.add("printer-supply", text, SOME_REMAINING);
            100
        }
        -2 | -1 => {
            n.add("printer-supply", text, LEVEL_UNKNOWN);
            return Ok(None);
        }
        l if l < 0 => return Err(UNREADABLE),
        l => {
            let rounded = (i64::from(l) * 100 + i64::from(capacity) / 2) / i64::from(capacity);
            rounded.min(100) as i32
        }
    };
    let mut kind = marker_type_of(pwg_type);
    if !MARKER_TYPES.contains(&kind.as_str()) {
        n.add("printer-supply", text, UNKNOWN_TYPE);
        kind = "other".to_owned();
    }
    let color = fields.get("colorantname").and_then(|name| {
        COLORANTS
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|(_, rgb)| (*rgb).to_owned())
    });
    let name = if description.is_empty() {
        format!("{kind} {position}")
    } else {
        description.to_owned()
    };
    Ok(Some(Supply {
        name,
        kind,
        color,
        level: percent,
        low: DEFAULT_LOW_PERCENT,
        high: None,
    }))
}

/// RFC 3805's `PrtMarkerSuppliesTypeTC` name as `printer-supply` spells it (`wasteToner`) →
/// as `marker-types` spells it (`waste-toner`).
fn marker_type_of(pwg_type: &str) -> String {
    let mut keyword = String::with_capacity(pwg_type.len() + 4);
    for c in pwg_type.chars() {
        if c.is_ascii_uppercase() {
            if !keyword.is_empty() {
                keyword.push('-');
            }
            keyword.push(c.to_ascii_lowercase());
        } else {
            keyword.push(c);
        }
    }
    keyword
}

#[cfg(test)]
mod tests {
    use super::*;

    fn printer_with(supplies: &[&[u8]], descriptions: &[&str]) -> Vec<Attribute> {
        let mut attrs = vec![Attribute::set(
            "printer-supply",
            supplies
                .iter()
                .map(|s| Value::OctetString(s.to_vec().into())),
        )];
        if !descriptions.is_empty() {
            attrs.push(Attribute::set(
                "printer-supply-description",
                descriptions.iter().map(|d| Value::text(*d)),
            ));
        }
        attrs
    }

    fn read(attrs: &[Attribute]) -> (Vec<Supply>, Vec<(String, String, &'static str)>) {
        let mut notes = Notes(Vec::new());
        let out = supplies(attrs, &mut notes);
        let notes = notes
            .0
            .into_iter()
            .map(|u| (u.attribute, u.value, u.reason))
            .collect();
        (out, notes)
    }

    #[test]
    fn a_pwg_supply_reads_with_its_description_colour_and_percentage() {
        let (out, notes) = read(&printer_with(
            &[
                b"type=toner;maxcapacity=100;level=80;index=1;markerindex=1;\
                  class=supplyThatIsConsumed;unit=percent;colorantname=black;",
                b"index=2;class=receptacleThatIsFilled;type=wasteToner;unit=percent;\
                  maxcapacity=400;level=101;colorantname=unknown;",
                b"type=inkCartridge;maxcapacity=-2;level=37;unit=percent;colorantname=Light-Cyan",
            ],
            &["Black Toner", "Toner Waste Tank"],
        ));
        assert_eq!(notes, []);
        assert_eq!(
            out,
            [
                Supply {
                    name: "Black Toner".into(),
                    kind: "toner".into(),
                    color: Some("#000000".into()),
                    level: 80,
                    low: DEFAULT_LOW_PERCENT,
                    high: None,
                },
                Supply {
                    name: "Toner Waste Tank".into(),
                    kind: "waste-toner".into(),
                    color: None,
                    level: 25,
                    low: DEFAULT_LOW_PERCENT,
                    high: None,
                },
                Supply {
                    name: "ink-cartridge 3".into(),
                    kind: "ink-cartridge".into(),
                    color: Some("#E0FFFF".into()),
                    level: 37,
                    low: DEFAULT_LOW_PERCENT,
                    high: None,
                },
            ]
        );
    }

    #[test]
    fn special_levels_are_kept_or_left_out_with_a_note() {
        let some = "type=ink;maxcapacity=100;level=-3;unit=percent;colorantname=cyan;";
        let unknown = "type=ink;maxcapacity=100;level=-2;unit=percent;colorantname=magenta;";
        let other = "type=ink;maxcapacity=100;level=-1;unit=percent;colorantname=yellow;";
        let (out, notes) = read(&printer_with(
            &[some.as_bytes(), unknown.as_bytes(), other.as_bytes()],
            &["Cyan", "Magenta", "Yellow"],
        ));
        let levels: Vec<(&str, i32)> = out.iter().map(|s| (s.name.as_str(), s.level)).collect();
        assert_eq!(levels, [("Cyan", 100)]);
        assert_eq!(
            notes,
            [
                ("printer-supply".into(), some.into(), SOME_REMAINING),
                ("printer-supply".into(), unknown.into(), LEVEL_UNKNOWN),
                ("printer-supply".into(), other.into(), LEVEL_UNKNOWN),
            ]
        );
    }

    #[test]
    fn hostile_supplies_are_noted_never_panic() {
        let hostile: &[(&[u8], &str)] = &[
            (b"", UNREADABLE),
            (b";;;", UNREADABLE),
            (b"toner", UNREADABLE),
            (b"=;=;", UNREADABLE),
            (b"type=toner;maxcapacity=100;level=lots;", UNREADABLE),
            (b"type=toner;maxcapacity=100;level=99999999999;", UNREADABLE),
            (b"type=toner;maxcapacity=100;level=-2147483648;", UNREADABLE),
            (b"type=toner;maxcapacity=100;", UNREADABLE),
            (b"maxcapacity=100;level=5;", UNREADABLE),
            (b"type=;maxcapacity=100;level=5;", UNREADABLE),
            (
                b"type=toner;maxcapacity=0;level=5;unit=sheets;",
                CAPACITY_UNKNOWN,
            ),
            (b"type=toner;maxcapacity=-2;level=5;", CAPACITY_UNKNOWN),
            (b"type=\xff\xfe;maxcapacity=\x00;level=5;", UNREADABLE),
            (
                b"type=\xe2\x98\x83;maxcapacity=2147483647;level=2147483647;",
                UNKNOWN_TYPE,
            ),
        ];
        let values: Vec<&[u8]> = hostile.iter().map(|(v, _)| *v).collect();
        let (out, notes) = read(&printer_with(&values, &[]));
        let reasons: Vec<&str> = notes.iter().map(|(_, _, r)| *r).collect();
        let expected: Vec<&str> = hostile.iter().map(|(_, r)| *r).collect();
        assert_eq!(reasons, expected, "{notes:#?}");
        assert!(notes.iter().all(|(a, _, _)| a == "printer-supply"));
        assert_eq!(notes[2].1, "toner", "the note shows the value as sent");
        // The one with a snowman for a type is still a full supply, written as `other`.
        let kept: Vec<(&str, &str, i32)> = out
            .iter()
            .map(|s| (s.name.as_str(), s.kind.as_str(), s.level))
            .collect();
        assert_eq!(kept, [("other 14", "other", 100)]);
    }

    #[test]
    fn markers_of_the_same_supply_lend_their_thresholds_and_are_not_written_twice() {
        let mut attrs = printer_with(
            &[
                b"type=toner;maxcapacity=1000;level=450;unit=percent;colorantname=black;",
                b"type=toner;maxcapacity=100;level=60;unit=percent;colorantname=cyan;",
                b"type=toner;maxcapacity=100;level=70;unit=percent;colorantname=black;",
            ],
            &["Black Toner", "Cyan Toner", "Black Toner"],
        );
        attrs.extend([
            Attribute::set(
                "marker-names",
                [Value::name("Black Toner"), Value::name("Drum")],
            ),
            Attribute::set(
                "marker-types",
                [Value::keyword("toner"), Value::keyword("opc")],
            ),
            Attribute::set(
                "marker-colors",
                [Value::name("#111111"), Value::name("none")],
            ),
            Attribute::set("marker-levels", [Value::Integer(44), Value::Integer(90)]),
            Attribute::set("marker-low-levels", [Value::Integer(5)]),
            Attribute::set("marker-high-levels", [Value::Integer(95)]),
        ]);
        let (out, notes) = read(&attrs);
        let supply = |name: &str, kind: &str, color: Option<&str>, level, low, high| Supply {
            name: name.into(),
            kind: kind.into(),
            color: color.map(str::to_owned),
            level,
            low,
            high,
        };
        assert_eq!(
            out,
            [
                supply("Black Toner", "toner", Some("#111111"), 45, 5, Some(95)),
                supply(
                    "Cyan Toner",
                    "toner",
                    Some("#00FFFF"),
                    60,
                    DEFAULT_LOW_PERCENT,
                    None
                ),
                supply("Drum", "opc", None, 90, DEFAULT_LOW_PERCENT, None),
            ]
        );
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].2, SAME_NAME);
    }
}
