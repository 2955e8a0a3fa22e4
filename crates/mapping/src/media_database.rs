//! What follows from a printer's `media-col-database` (PWG 5100.13): `media-size-supported` and
//! each side's `media-*-margin-supported` (the distinct values of its entries), and the entry
//! of a size, which `media-col-default` and `media-col-ready` repeat; with them the members of
//! `media-col-supported` and the defaults that are a printer's first supported value. The cloud fills these in
//! for an output device that sends only the database; the devices' own IPP Everywhere printers
//! derive them the same way.

use printlab_ipp::{Attribute, Value};

/// `media-size-supported` and `media-{bottom,left,right,top}-margin-supported` of `attrs`'s
/// `media-col-database` (a margin no entry gives is 0).
pub fn media_database_attributes(attrs: &[Attribute]) -> Vec<Attribute> {
    let mut derived = vec![Attribute::set(
        "media-size-supported",
        database_members(attrs, "media-size"),
    )];
    for side in ["bottom", "left", "right", "top"] {
        let member = format!("media-{side}-margin");
        let mut margins = database_members(attrs, &member);
        if margins.is_empty() {
            margins.push(Value::Integer(0));
        }
        derived.push(Attribute::set(format!("{member}-supported"), margins));
    }
    derived
}

/// `media-col-supported`: the size and margin members, and the source and type where their
/// `-supported` values are given (a printer without a media database lists no size).
pub fn media_col_supported(attrs: &[Attribute]) -> Attribute {
    let members = [
        "media-size",
        "media-bottom-margin",
        "media-left-margin",
        "media-right-margin",
        "media-top-margin",
        "media-source",
        "media-type",
    ];
    let given = |member: &&str| {
        let supported = format!("{member}-supported");
        attrs.iter().any(|a| a.name == supported)
    };
    Attribute::set(
        "media-col-supported",
        members.into_iter().filter(given).map(Value::keyword),
    )
}

/// The defaults a client reads before it prints, where the printer declares none: the first
/// supported value of each (media, output bin, source, type, scaling, feed orientation).
pub fn first_supported_defaults(attrs: &[Attribute]) -> Vec<Attribute> {
    [
        "media",
        "output-bin",
        "media-source",
        "media-type",
        "print-scaling",
        "feed-orientation",
    ]
    .into_iter()
    .filter_map(|base| {
        let supported = format!("{base}-supported");
        let first = attrs.iter().find(|a| a.name == supported)?.first()?.clone();
        Some(Attribute::new(format!("{base}-default"), first))
    })
    .collect()
}

/// The `media-col-database` entry whose `media-size-name` is `media`.
pub fn media_database_entry(attrs: &[Attribute], media: &Value) -> Option<Value> {
    database(attrs)
        .find(|members| {
            (members.iter()).any(|m| m.name == "media-size-name" && m.first() == Some(media))
        })
        .map(|members| Value::Collection(members.to_vec()))
}

fn database(attrs: &[Attribute]) -> impl Iterator<Item = &[Attribute]> {
    (attrs.iter())
        .filter(|a| a.name == "media-col-database")
        .flat_map(|a| a.collections())
}

/// The distinct values of one member across the database's entries.
fn database_members(attrs: &[Attribute], member: &str) -> Vec<Value> {
    let mut values: Vec<Value> = Vec::new();
    for entry in database(attrs) {
        if let Some(value) = entry
            .iter()
            .find(|m| m.name == member)
            .and_then(|m| m.first())
            && !values.contains(value)
        {
            values.push(value.clone());
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(size: &str, x: i32, y: i32, margin: i32) -> Value {
        let dimensions = Value::Collection(vec![
            Attribute::new("x-dimension", Value::Integer(x)),
            Attribute::new("y-dimension", Value::Integer(y)),
        ]);
        Value::Collection(vec![
            Attribute::new("media-size", dimensions),
            Attribute::new("media-size-name", Value::keyword(size)),
            Attribute::new("media-top-margin", Value::Integer(margin)),
        ])
    }

    #[test]
    fn sizes_and_margins_are_the_distinct_values_of_the_database() {
        let attrs = vec![Attribute::set(
            "media-col-database",
            [
                entry("iso_a4_210x297mm", 21000, 29700, 400),
                entry("iso_a4_210x297mm", 21000, 29700, 0),
                entry("iso_a5_148x210mm", 14800, 21000, 400),
            ],
        )];
        let derived = media_database_attributes(&attrs);
        let named = |name: &str| {
            derived
                .iter()
                .find(|a| a.name == name)
                .unwrap()
                .values
                .len()
        };
        assert_eq!(named("media-size-supported"), 2);
        assert_eq!(named("media-top-margin-supported"), 2);
        let bottom = derived
            .iter()
            .find(|a| a.name == "media-bottom-margin-supported");
        assert_eq!(bottom.unwrap().values, [Value::Integer(0)]);
        let a5 = media_database_entry(&attrs, &Value::keyword("iso_a5_148x210mm"));
        assert_eq!(a5, Some(entry("iso_a5_148x210mm", 14800, 21000, 400)));
        assert_eq!(
            media_database_entry(&attrs, &Value::keyword("na_letter_8.5x11in")),
            None
        );
    }
}
