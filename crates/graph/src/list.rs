//! Collection-valued properties on the wire: Graph never sends a collection as `null`, an empty
//! one is `[]`. In memory such a property is an `Option<Vec<T>>` whose `None` means "nothing
//! listed"; this module writes `None` as `[]` and reads both `null` and `[]` back as `None`, so
//! a list that went through the wire (or the stores, which keep these types as JSON) is either
//! absent or non-empty, and code never has to tell two spellings of "nothing" apart.
//!
//! Used as `#[serde(default, with = "crate::list")]` on every collection property of
//! [`crate::resources`] (navigation properties aside: those are absent unless expanded).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub fn serialize<S: Serializer, T: Serialize>(
    value: &Option<Vec<T>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(items) => items.serialize(serializer),
        None => serializer.collect_seq(std::iter::empty::<&T>()),
    }
}

pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Vec<T>>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.filter(|items| !items.is_empty()))
}

#[cfg(test)]
mod tests {
    use crate::{PrintJobConfiguration, PrinterCapabilities, PrinterLocation};
    use serde_json::{Value, json};

    /// Every collection of a default (empty) value is `[]`, none is `null`.
    fn collections_are_arrays(value: &Value, names: &[&str]) {
        for name in names {
            assert_eq!(value[name], json!([]), "{name} in {value}");
        }
    }

    #[test]
    fn empty_collections_are_written_as_empty_arrays() {
        let caps = serde_json::to_value(PrinterCapabilities::default()).unwrap();
        collections_are_arrays(
            &caps,
            &[
                "bottomMargins",
                "colorModes",
                "contentTypes",
                "dpis",
                "duplexModes",
                "feedOrientations",
                "finishings",
                "inputBins",
                "leftMargins",
                "mediaColors",
                "mediaSizes",
                "mediaTypes",
                "multipageLayouts",
                "orientations",
                "outputBins",
                "pagesPerSheet",
                "qualities",
                "rightMargins",
                "scalings",
                "topMargins",
            ],
        );
        assert!(caps["copiesPerJob"].is_null(), "single values stay null");
        let config = serde_json::to_value(PrintJobConfiguration::default()).unwrap();
        collections_are_arrays(&config, &["finishings", "pageRanges"]);
        let location = serde_json::to_value(PrinterLocation::default()).unwrap();
        collections_are_arrays(&location, &["organization", "subdivision", "subunit"]);
    }

    #[test]
    fn null_empty_and_missing_collections_read_as_none() {
        for body in [
            json!({"finishings": null}),
            json!({"finishings": []}),
            json!({}),
        ] {
            let config: PrintJobConfiguration = serde_json::from_value(body.clone()).unwrap();
            assert_eq!(config.finishings, None, "{body}");
        }
        let config: PrintJobConfiguration =
            serde_json::from_value(json!({"pageRanges": [{"start": 1, "end": 2}]})).unwrap();
        assert_eq!(config.page_ranges.unwrap().len(), 1);
    }
}
