//! ipptool's plist output (`ipptool -P FILE`) read back into an IPP response.
//!
//! The plist keeps values but not their IPP syntax, so the syntax is restored from the shape:
//! `{lower, upper}` is a rangeOfInteger, `{xres, yres, units}` a resolution, any other dict a
//! collection, an array a 1setOf, `<data>` an octetString. An integer is an enum for the
//! attributes RFC 8011 and PWG 5100 define as enums (`finishings`, `orientation-requested`,
//! `print-quality`, …), and a string is a keyword when it is written like one (lower-case
//! letters, digits, `-`, `_`, `.`), text otherwise; the typed look-ups read both alike.

use crate::codes::StatusCode;
use crate::model::{Attribute, DateTime, Group, GroupTag, Message, UNITS_DOTS_PER_CM, Value};
use base64::Engine;
use roxmltree::{Document, Node, ParsingOptions};

#[derive(Debug, thiserror::Error)]
pub enum PlistError {
    #[error("not well-formed XML: {0}")]
    Xml(roxmltree::Error),
    #[error("ipptool could not run the test: {0}")]
    IpptoolFailed(String),
    #[error("no test in it has a Get-Printer-Attributes response (`ResponseAttributes`)")]
    NoResponse,
    #[error("line {line}: {message}")]
    Value { line: u32, message: String },
}

/// The first test's response in an ipptool plist, as the IPP message it was.
pub(crate) fn response_of_plist(bytes: &[u8]) -> Result<Message, PlistError> {
    let text = std::str::from_utf8(bytes).map_err(|e| PlistError::Value {
        line: 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u32,
        message: "bytes that are not UTF-8".to_owned(),
    })?;
    // ipptool writes Apple's plist DOCTYPE; roxmltree bounds entity expansion, so a hostile
    // DTD cannot blow the document up.
    let options = ParsingOptions {
        allow_dtd: true,
        ..ParsingOptions::default()
    };
    let document = Document::parse_with_options(text, options).map_err(PlistError::Xml)?;
    let top = element_children(document.root_element())
        .next()
        .filter(|n| n.has_tag_name("dict"))
        .ok_or(PlistError::NoResponse)?;
    let Some(tests) = dict_get(top, "Tests") else {
        return Err(PlistError::NoResponse);
    };
    for test in element_children(tests) {
        let Some(groups) = dict_get(test, "ResponseAttributes") else {
            continue;
        };
        let status = dict_get(test, "StatusCode")
            .and_then(|n| n.text())
            .and_then(StatusCode::from_name)
            .unwrap_or(StatusCode::SUCCESSFUL_OK);
        let mut message = Message::response(status, 1);
        message.groups.clear();
        for (index, group) in element_children(groups).enumerate() {
            let tag = if index == 0 {
                GroupTag::OPERATION
            } else {
                GroupTag::PRINTER
            };
            let mut out = Group::new(tag);
            out.attributes = attributes_of_dict(group)?;
            message.push_group(out);
        }
        return Ok(message);
    }
    match dict_get(top, "ErrorMessage").and_then(|n| n.text()) {
        Some(error) => Err(PlistError::IpptoolFailed(error.to_owned())),
        None => Err(PlistError::NoResponse),
    }
}

fn element_children<'a, 'i>(node: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(Node::is_element)
}

/// The value node after `<key>name</key>` in a dict.
fn dict_get<'a, 'i>(dict: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    let mut children = element_children(dict);
    while let Some(key) = children.next() {
        let value = children.next()?;
        if key.has_tag_name("key") && key.text() == Some(name) {
            return Some(value);
        }
    }
    None
}

fn error(node: Node, message: impl Into<String>) -> PlistError {
    PlistError::Value {
        line: node.document().text_pos_at(node.range().start).row,
        message: message.into(),
    }
}

fn attributes_of_dict(dict: Node) -> Result<Vec<Attribute>, PlistError> {
    if !dict.has_tag_name("dict") {
        return Err(error(
            dict,
            format!(
                "<{}> where a <dict> of attributes belongs",
                dict.tag_name().name()
            ),
        ));
    }
    let mut out = Vec::new();
    let mut children = element_children(dict);
    while let Some(key) = children.next() {
        let name = key
            .text()
            .filter(|_| key.has_tag_name("key"))
            .ok_or_else(|| error(key, "a dict entry without its <key>"))?;
        let value = children
            .next()
            .ok_or_else(|| error(key, format!("`{name}` has no value")))?;
        let values = if value.has_tag_name("array") {
            element_children(value)
                .map(|v| value_of(name, v))
                .collect::<Result<Vec<_>, _>>()?
        } else {
            vec![value_of(name, value)?]
        };
        out.push(Attribute::set(name, values));
    }
    Ok(out)
}

/// Attributes whose integers are IPP enums (RFC 8011, PWG 5100.1, 5100.13).
fn is_enum_attribute(name: &str) -> bool {
    const ENUMS: &[&str] = &[
        "finishings",
        "orientation-requested",
        "print-quality",
        "printer-state",
        "operations-supported",
        "job-state",
        "document-state",
        "landscape-orientation-requested-preferred",
        "input-orientation-requested",
        "input-quality",
    ];
    let base = ["-default", "-supported", "-ready", "-actual"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .unwrap_or(name);
    ENUMS.contains(&base) || ENUMS.contains(&name)
}

fn is_keyword_shaped(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
}

fn value_of(name: &str, node: Node) -> Result<Value, PlistError> {
    let text = node.text().unwrap_or("");
    Ok(match node.tag_name().name() {
        "integer" => {
            let n: i32 = text
                .trim()
                .parse()
                .map_err(|_| error(node, format!("`{name}`: `{text}` is not a 32-bit integer")))?;
            if is_enum_attribute(name) {
                Value::Enum(n)
            } else {
                Value::Integer(n)
            }
        }
        "true" => Value::Boolean(true),
        "false" => Value::Boolean(false),
        "string" if is_keyword_shaped(text) => Value::keyword(text),
        "string" => Value::text(text),
        "data" => {
            let packed: String = text.split_ascii_whitespace().collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(packed)
                .map_err(|e| error(node, format!("`{name}`: <data> is not base64: {e}")))?;
            Value::OctetString(bytes.into())
        }
        "date" => {
            let instant = chrono::DateTime::parse_from_rfc3339(text.trim())
                .map_err(|e| error(node, format!("`{name}`: <date> `{text}`: {e}")))?;
            Value::DateTime(DateTime::from_chrono(instant.to_utc()))
        }
        "dict" => dict_value(name, node)?,
        other => {
            return Err(error(
                node,
                format!("`{name}`: <{other}> is not an IPP value"),
            ));
        }
    })
}

/// A range, a resolution or a collection, by the dict's keys.
fn dict_value(name: &str, node: Node) -> Result<Value, PlistError> {
    let members = attributes_of_dict(node)?;
    let keys: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
    let integer = |key: &str| {
        members
            .iter()
            .find(|m| m.name == key)
            .and_then(|m| m.first())
            .and_then(Value::as_integer)
            .ok_or_else(|| error(node, format!("`{name}`: `{key}` is not an integer")))
    };
    Ok(match keys.as_slice() {
        ["lower", "upper"] => Value::RangeOfInteger {
            lower: integer("lower")?,
            upper: integer("upper")?,
        },
        ["xres", "yres", "units"] => {
            let units = members[2].first().and_then(Value::as_str);
            Value::Resolution {
                cross_feed: integer("xres")?,
                feed: integer("yres")?,
                units: match units {
                    Some("dpi") => crate::model::UNITS_DOTS_PER_INCH,
                    Some("dpcm") => UNITS_DOTS_PER_CM,
                    _ => {
                        return Err(error(
                            node,
                            format!(
                                "`{name}`: resolution units `{}` are neither dpi nor dpcm",
                                units.unwrap_or("")
                            ),
                        ));
                    }
                },
            }
        }
        _ => Value::Collection(members),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AttributeLookup;

    const PLIST: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple Computer//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
<key>Tests</key>
<array>
<dict>
<key>StatusCode</key><string>successful-ok</string>
<key>ResponseAttributes</key>
<array>
<dict><key>attributes-charset</key><string>utf-8</string></dict>
<dict>
<key>copies-supported</key>
<dict><key>lower</key><integer>1</integer><key>upper</key><integer>999</integer></dict>
<key>finishings-supported</key><array><integer>3</integer><integer>4</integer></array>
<key>printer-name</key><string>Acme Test</string>
<key>printer-resolution-default</key>
<dict><key>xres</key><integer>600</integer><key>yres</key><integer>600</integer><key>units</key><string>dpi</string></dict>
<key>media-col-default</key>
<dict><key>media-source</key><string>main</string><key>media-top-margin</key><integer>423</integer></dict>
<key>printer-input-tray</key><array><data>dHlwZT1v</data></array>
</dict>
</array>
</dict>
</array>
</dict>
</plist>"#;

    #[test]
    fn plist_values_come_back_with_their_ipp_syntax() {
        let message = response_of_plist(PLIST.as_bytes()).unwrap();
        let attrs = &message.group(GroupTag::PRINTER).unwrap().attributes;
        assert_eq!(attrs.range("copies-supported"), Some((1, 999)));
        assert_eq!(
            attrs
                .attr("finishings-supported")
                .unwrap()
                .enums()
                .collect::<Vec<_>>(),
            [3, 4]
        );
        assert_eq!(attrs.string("printer-name"), Some("Acme Test"));
        assert_eq!(
            attrs.first_value("printer-resolution-default"),
            Some(&Value::dpi(600))
        );
        let col = attrs.collection("media-col-default").unwrap();
        assert_eq!(col.keyword("media-source"), Some("main"));
        assert_eq!(col.integer("media-top-margin"), Some(423));
        assert_eq!(
            attrs.first_value("printer-input-tray"),
            Some(&Value::OctetString(b"type=o".to_vec().into()))
        );
    }

    #[test]
    fn broken_plists_name_the_line() {
        let bad = PLIST.replace("<integer>999</integer>", "<integer>lots</integer>");
        let err = response_of_plist(bad.as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 14: `upper`: `lots` is not a 32-bit integer"
        );
        let cut = &PLIST[..PLIST.len() / 2];
        assert!(
            response_of_plist(cut.as_bytes())
                .unwrap_err()
                .to_string()
                .starts_with("not well-formed XML")
        );
        let failed = r#"<?xml version="1.0"?><plist><dict><key>Tests</key><array></array><key>ErrorMessage</key><string>Unable to connect</string></dict></plist>"#;
        assert_eq!(
            response_of_plist(failed.as_bytes())
                .unwrap_err()
                .to_string(),
            "ipptool could not run the test: Unable to connect"
        );
    }
}
