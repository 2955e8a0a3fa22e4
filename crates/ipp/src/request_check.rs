//! The checks RFC 8011 asks of every request before its operation is looked at, so that each
//! IPP server of ours (the cloud's printers, the emulated devices' IPP Everywhere printers)
//! refuses a malformed request the same way, with the status the RFC names and a message that
//! says what was wrong.
//!
//! The version is checked by the decoder already ([`crate::DecodeErrorKind::UnsupportedVersion`]).

use crate::model::{Attribute, GroupTag, Message, StringKind, Value};
use crate::{AttributeLookup, StatusCode};

/// Why a request was refused before its operation ran: the status to answer with and the
/// `status-message` for whoever reads it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} ({})", status.name().unwrap_or("unknown status"))]
pub struct RequestRefusal {
    pub status: StatusCode,
    pub message: String,
}

impl RequestRefusal {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CLIENT_ERROR_BAD_REQUEST, message)
    }

    /// The error response to `request` that carries this refusal.
    pub fn response_to(&self, request: &Message) -> Message {
        let mut response =
            Message::error_response(self.status, request.request_id, self.message.clone());
        response.version = request.version;
        response
    }
}

/// The charsets a printer of ours accepts in `attributes-charset` (RFC 8011 §4.1.4.1: UTF-8
/// must be supported; US-ASCII is a subset of it).
pub const CHARSETS_SUPPORTED: [&str; 2] = ["utf-8", "us-ascii"];

/// The envelope every request shares (RFC 8011 §4.1.1, §4.1.4): a request-id other than 0, an
/// operation attributes group first, whose first attribute is `attributes-charset` and second
/// `attributes-natural-language`, each with one value of its own syntax, and a charset we take.
pub fn check_request(request: &Message) -> Result<(), RequestRefusal> {
    if request.request_id == 0 {
        return Err(RequestRefusal::bad_request(
            "request-id 0 is not allowed (RFC 8011 section 4.1.1: 1 to 2^31-1)",
        ));
    }
    let Some(first_group) = request.groups.first() else {
        return Err(RequestRefusal::bad_request(
            "the request has no operation attributes group",
        ));
    };
    if first_group.tag != GroupTag::OPERATION {
        return Err(RequestRefusal::bad_request(format!(
            "the first group is tag 0x{:02x}, not operation-attributes-tag",
            first_group.tag.0
        )));
    }
    let attributes = first_group.attributes();
    let charset = single_string(
        attributes.first(),
        1,
        "attributes-charset",
        StringKind::Charset,
    )?;
    single_string(
        attributes.get(1),
        2,
        "attributes-natural-language",
        StringKind::NaturalLanguage,
    )?;
    if !CHARSETS_SUPPORTED
        .iter()
        .any(|supported| supported.eq_ignore_ascii_case(charset))
    {
        return Err(RequestRefusal::new(
            StatusCode::CLIENT_ERROR_CHARSET_NOT_SUPPORTED,
            format!("attributes-charset {charset:?} is not supported (utf-8 is)"),
        ));
    }
    Ok(())
}

/// The operation attribute `name` as a URI, refused as a bad request when it is missing
/// (RFC 8011 §4.1.5: every request names its target).
pub fn required_uri<'a>(request: &'a Message, name: &str) -> Result<&'a str, RequestRefusal> {
    match request.operation_attributes().first_value(name) {
        Some(Value::String {
            kind: StringKind::Uri,
            value,
        }) => Ok(value),
        Some(_) => Err(RequestRefusal::bad_request(format!(
            "operation attribute {name} is not a uri"
        ))),
        None => Err(RequestRefusal::bad_request(format!(
            "the request has no {name} operation attribute"
        ))),
    }
}

fn single_string<'a>(
    attribute: Option<&'a Attribute>,
    position: usize,
    name: &str,
    kind: StringKind,
) -> Result<&'a str, RequestRefusal> {
    let ordinal = if position == 1 { "first" } else { "second" };
    let Some(attribute) = attribute.filter(|a| a.name == name) else {
        return Err(RequestRefusal::bad_request(format!(
            "{name} must be the {ordinal} operation attribute (RFC 8011 section 4.1.4)"
        )));
    };
    match attribute.values.as_slice() {
        [Value::String { kind: found, value }] if *found == kind => Ok(value),
        _ => Err(RequestRefusal::bad_request(format!(
            "{name} must have exactly one value of its own syntax"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Operation;
    use crate::model::Group;

    fn get_printer_attributes() -> Message {
        let mut request = Message::request(Operation::GET_PRINTER_ATTRIBUTES, 7);
        request.groups[0].push(Attribute::new(
            "printer-uri",
            Value::uri("ipp://localhost/ipp/print"),
        ));
        request
    }

    fn operation_group(attributes: Vec<Attribute>) -> Group {
        let mut group = Group::new(GroupTag::OPERATION);
        for attribute in attributes {
            group.push(attribute);
        }
        group
    }

    #[test]
    fn a_well_formed_request_passes() {
        let request = get_printer_attributes();
        assert_eq!(check_request(&request), Ok(()));
        assert_eq!(
            required_uri(&request, "printer-uri"),
            Ok("ipp://localhost/ipp/print")
        );
    }

    #[test]
    fn request_id_zero_is_a_bad_request() {
        let mut request = get_printer_attributes();
        request.request_id = 0;
        let refusal = check_request(&request).unwrap_err();
        assert_eq!(refusal.status, StatusCode::CLIENT_ERROR_BAD_REQUEST);
        assert!(refusal.message.contains("request-id 0"), "{refusal}");
    }

    #[test]
    fn charset_and_language_must_come_first_in_that_order() {
        let charset = Attribute::new("attributes-charset", Value::charset("utf-8"));
        let language = Attribute::new("attributes-natural-language", Value::natural_language("en"));
        let uri = Attribute::new("printer-uri", Value::uri("ipp://localhost/ipp/print"));
        let cases = [
            (vec![], "attributes-charset must be the first"),
            (
                vec![charset.clone(), uri.clone()],
                "attributes-natural-language must be the second",
            ),
            (
                vec![language.clone(), uri.clone()],
                "attributes-charset must be the first",
            ),
            (
                vec![language.clone(), charset.clone(), uri.clone()],
                "attributes-charset must be the first",
            ),
        ];
        for (attributes, expected) in cases {
            let mut request = get_printer_attributes();
            request.groups = vec![operation_group(attributes)];
            let refusal = check_request(&request).unwrap_err();
            assert_eq!(refusal.status, StatusCode::CLIENT_ERROR_BAD_REQUEST);
            assert!(refusal.message.contains(expected), "{refusal}");
        }
    }

    #[test]
    fn no_groups_or_a_wrong_first_group_is_a_bad_request() {
        let mut request = get_printer_attributes();
        request.groups.clear();
        assert!(
            check_request(&request)
                .unwrap_err()
                .message
                .contains("no operation")
        );
        request.groups.push(Group::new(GroupTag::JOB));
        assert!(
            check_request(&request)
                .unwrap_err()
                .message
                .contains("first group")
        );
    }

    #[test]
    fn an_unknown_charset_is_refused_as_such() {
        let mut request = get_printer_attributes();
        request.groups[0].attributes[0] =
            Attribute::new("attributes-charset", Value::charset("koi8-r"));
        let refusal = check_request(&request).unwrap_err();
        assert_eq!(
            refusal.status,
            StatusCode::CLIENT_ERROR_CHARSET_NOT_SUPPORTED
        );
    }

    #[test]
    fn a_charset_of_the_wrong_syntax_is_a_bad_request() {
        let mut request = get_printer_attributes();
        request.groups[0].attributes[0] =
            Attribute::new("attributes-charset", Value::keyword("utf-8"));
        assert_eq!(
            check_request(&request).unwrap_err().status,
            StatusCode::CLIENT_ERROR_BAD_REQUEST
        );
    }

    #[test]
    fn a_missing_target_uri_is_a_bad_request() {
        let request = Message::request(Operation::GET_PRINTER_ATTRIBUTES, 7);
        let refusal = required_uri(&request, "printer-uri").unwrap_err();
        assert_eq!(refusal.status, StatusCode::CLIENT_ERROR_BAD_REQUEST);
        assert!(refusal.message.contains("printer-uri"));
        let response = refusal.response_to(&request);
        assert_eq!(response.status(), StatusCode::CLIENT_ERROR_BAD_REQUEST);
        assert_eq!(response.request_id, 7);
    }
}
