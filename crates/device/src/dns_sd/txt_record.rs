//! The TXT record of an IPP Everywhere printer's `_ipp._tcp` service (PWG 5100.14 §4.2,
//! Bonjour Printing 1.2), read off the same IPP printer attributes the printer answers
//! Get-Printer-Attributes with, so that what a desktop sees while browsing never disagrees with
//! what it is told when it asks.

use printlab_ipp::{Attribute, AttributeLookup, Value};

/// One DNS-SD TXT string holds at most 255 bytes, `key=value` together (RFC 6763 §6.1).
const TXT_STRING_MAX: usize = 255;

/// The key/value pairs, in the order Bonjour Printing lists them. `resource_path` is the path of
/// the printer's URI (`/ipp/print/office`); `attributes` its printer description.
pub fn txt_record(resource_path: &str, attributes: &[Attribute]) -> Vec<(String, String)> {
    let group = Described(attributes);
    let mut txt = vec![
        ("txtvers".to_owned(), "1".to_owned()),
        ("qtotal".to_owned(), "1".to_owned()),
        (
            "rp".to_owned(),
            resource_path.trim_start_matches('/').to_owned(),
        ),
    ];
    let make_and_model = group
        .string("printer-make-and-model")
        .or_else(|| group.string("printer-name"));
    if let Some(model) = make_and_model {
        txt.push(("ty".to_owned(), model.to_owned()));
        txt.push(("product".to_owned(), format!("({model})")));
    }
    if let Some(more_info) = group.string("printer-more-info") {
        txt.push(("adminurl".to_owned(), more_info.to_owned()));
    }
    if let Some(location) = group.string("printer-location") {
        txt.push(("note".to_owned(), location.to_owned()));
    }
    let formats: Vec<&str> = group
        .strings("document-format-supported")
        .filter(|format| *format != "application/octet-stream")
        .collect();
    txt.push(("pdl".to_owned(), joined_within("pdl", &formats)));
    txt.push(("Color".to_owned(), flag(group.boolean("color-supported"))));
    let duplex = group
        .strings("sides-supported")
        .any(|side| side.starts_with("two-sided"));
    txt.push(("Duplex".to_owned(), flag(duplex)));
    if let Some(uuid) = group.string("printer-uuid") {
        txt.push((
            "UUID".to_owned(),
            uuid.trim_start_matches("urn:uuid:").to_owned(),
        ));
    }
    let urf: Vec<&str> = group.strings("urf-supported").collect();
    if !urf.is_empty() {
        txt.push(("URF".to_owned(), joined_within("URF", &urf)));
    }
    let kinds: Vec<&str> = group.strings("printer-kind").collect();
    if !kinds.is_empty() {
        txt.push(("kind".to_owned(), joined_within("kind", &kinds)));
    }
    if let Some(paper_max) = paper_max(attributes) {
        txt.push(("PaperMax".to_owned(), paper_max.to_owned()));
    }
    // No authentication: the emulated printers take any job, as a printer on a lab bench does.
    txt.push(("air".to_owned(), "none".to_owned()));
    txt
}

fn flag(on: bool) -> String {
    if on { "T" } else { "F" }.to_owned()
}

/// `values` joined by commas, dropping the ones that would not fit in one TXT string (a list
/// cut in the middle of a value would name a format the printer does not have).
fn joined_within(key: &str, values: &[&str]) -> String {
    let budget = TXT_STRING_MAX - key.len() - 1;
    let mut joined = String::new();
    for value in values {
        let extra = value.len() + usize::from(!joined.is_empty());
        if joined.len() + extra > budget {
            break;
        }
        if !joined.is_empty() {
            joined.push(',');
        }
        joined.push_str(value);
    }
    joined
}

/// Bonjour Printing's size class of the largest medium, from `media-size-supported` (hundredths
/// of millimetres; a custom range counts at its upper bound).
fn paper_max(attributes: &[Attribute]) -> Option<&'static str> {
    let sizes = Described(attributes)
        .0
        .iter()
        .find(|a| a.name == "media-size-supported")?;
    let (short, long) = sizes
        .collections()
        .filter_map(|members| {
            let x = dimension(members, "x-dimension")?;
            let y = dimension(members, "y-dimension")?;
            Some((x.min(y), x.max(y)))
        })
        .fold((0, 0), |(short, long), (s, l)| (short.max(s), long.max(l)));
    if short == 0 {
        return None;
    }
    // A4 210×297 mm, Letter 215.9×279.4, Legal 215.9×355.6, A3 297×420, Tabloid 279.4×431.8,
    // C2 458×648.
    Some(match (short, long) {
        (s, l) if s < 21_000 && l < 27_940 => "<legal-A4",
        (s, l) if s <= 21_590 && l <= 35_560 => "legal-A4",
        (s, l) if s <= 29_700 && l <= 43_180 => "tabloid-A3",
        (s, l) if s <= 45_800 && l <= 64_800 => "isoC-A2",
        _ => ">isoC-A2",
    })
}

fn dimension(members: &[Attribute], name: &str) -> Option<i32> {
    match members.iter().find(|m| m.name == name)?.first()? {
        Value::Integer(value) => Some(*value),
        Value::RangeOfInteger { upper, .. } => Some(*upper),
        _ => None,
    }
}

/// A printer description read by attribute name.
struct Described<'a>(&'a [Attribute]);

impl AttributeLookup for Described<'_> {
    fn attributes(&self) -> &[Attribute] {
        self.0
    }
}

impl Described<'_> {
    fn string(&self, name: &str) -> Option<&str> {
        self.first_value(name)
            .and_then(Value::as_str)
            .filter(|value| !value.is_empty())
    }

    fn strings(&self, name: &str) -> impl Iterator<Item = &str> {
        self.attr(name)
            .into_iter()
            .flat_map(|attribute| attribute.values.iter().filter_map(Value::as_str))
    }

    fn boolean(&self, name: &str) -> bool {
        self.first_value(name)
            .and_then(Value::as_boolean)
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(x: i32, y: i32) -> Value {
        Value::Collection(vec![
            Attribute::new("x-dimension", Value::Integer(x)),
            Attribute::new("y-dimension", Value::Integer(y)),
        ])
    }

    fn office_laser() -> Vec<Attribute> {
        vec![
            Attribute::new(
                "printer-make-and-model",
                Value::text("printlab Office Laser"),
            ),
            Attribute::new("printer-location", Value::text("2nd floor")),
            Attribute::new(
                "printer-uuid",
                Value::uri("urn:uuid:2c7a3a55-0000-4000-8000-0000000000aa"),
            ),
            Attribute::set(
                "document-format-supported",
                [
                    Value::mime_media_type("application/octet-stream"),
                    Value::mime_media_type("application/pdf"),
                    Value::mime_media_type("image/pwg-raster"),
                    Value::mime_media_type("image/jpeg"),
                ],
            ),
            Attribute::new("color-supported", Value::Boolean(false)),
            Attribute::set(
                "sides-supported",
                [
                    Value::keyword("one-sided"),
                    Value::keyword("two-sided-long-edge"),
                ],
            ),
            Attribute::set(
                "urf-supported",
                [Value::keyword("V1.4"), Value::keyword("W8")],
            ),
            Attribute::set(
                "media-size-supported",
                [size(21_000, 29_700), size(21_590, 35_560)],
            ),
        ]
    }

    fn value<'a>(txt: &'a [(String, String)], key: &str) -> Option<&'a str> {
        txt.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    #[test]
    fn the_record_says_what_the_description_says() {
        let txt = txt_record("/ipp/print/office-laser-2f", &office_laser());
        assert_eq!(value(&txt, "rp"), Some("ipp/print/office-laser-2f"));
        assert_eq!(value(&txt, "ty"), Some("printlab Office Laser"));
        assert_eq!(value(&txt, "product"), Some("(printlab Office Laser)"));
        assert_eq!(value(&txt, "note"), Some("2nd floor"));
        assert_eq!(
            value(&txt, "pdl"),
            Some("application/pdf,image/pwg-raster,image/jpeg")
        );
        assert_eq!(value(&txt, "Color"), Some("F"));
        assert_eq!(value(&txt, "Duplex"), Some("T"));
        assert_eq!(
            value(&txt, "UUID"),
            Some("2c7a3a55-0000-4000-8000-0000000000aa")
        );
        assert_eq!(value(&txt, "URF"), Some("V1.4,W8"));
        assert_eq!(value(&txt, "PaperMax"), Some("legal-A4"));
        assert_eq!(value(&txt, "adminurl"), None);
        assert_eq!(value(&txt, "txtvers"), Some("1"));
    }

    #[test]
    fn paper_max_follows_the_largest_medium() {
        let class = |sizes: Vec<Value>| paper_max(&[Attribute::set("media-size-supported", sizes)]);
        assert_eq!(class(vec![size(5_080, 2_540)]), Some("<legal-A4"));
        assert_eq!(
            class(vec![size(10_160, 15_240), size(21_000, 29_700)]),
            Some("legal-A4")
        );
        assert_eq!(class(vec![size(29_700, 42_000)]), Some("tabloid-A3"));
        assert_eq!(class(vec![size(42_000, 59_400)]), Some("isoC-A2"));
        assert_eq!(class(vec![size(84_100, 118_900)]), Some(">isoC-A2"));
        let custom = Value::Collection(vec![
            Attribute::new(
                "x-dimension",
                Value::RangeOfInteger {
                    lower: 2_540,
                    upper: 21_590,
                },
            ),
            Attribute::new(
                "y-dimension",
                Value::RangeOfInteger {
                    lower: 2_540,
                    upper: 35_560,
                },
            ),
        ]);
        assert_eq!(class(vec![custom]), Some("legal-A4"));
        assert_eq!(paper_max(&[]), None);
    }

    #[test]
    fn every_string_fits_in_a_txt_string_without_a_cut_value() {
        let formats: Vec<Value> = (0..40)
            .map(|i| Value::mime_media_type(format!("application/vnd.printlab-format-{i}")))
            .collect();
        let txt = txt_record(
            "/ipp/print/x",
            &[Attribute::set("document-format-supported", formats)],
        );
        for (key, value) in &txt {
            assert!(key.len() + 1 + value.len() <= TXT_STRING_MAX, "{key}");
        }
        let pdl = value(&txt, "pdl").unwrap();
        assert!(
            pdl.split(',')
                .all(|f| f.starts_with("application/vnd.printlab-format-"))
        );
        assert!(pdl.split(',').count() > 5);
    }
}
