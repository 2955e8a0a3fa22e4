//! The printer attributes of a saved Get-Printer-Attributes response, whichever way it was saved:
//! the raw `application/ipp` body, or ipptool's XML plist (`ipptool -P FILE … get-printer-attributes.test`).
//!
//! The format is told from the first bytes (an IPP response starts with its version, 1.x or
//! 2.x; a plist with `<?xml` or `<plist`), so a file needs no extension or flag.

use crate::codes::StatusCode;
use crate::decode::{DecodeError, Limits, decode};
use crate::ipptool_plist::{PlistError, response_of_plist};
use crate::model::{Attribute, AttributeLookup, GroupTag, Message};

#[derive(Debug, thiserror::Error)]
pub enum PrinterResponseError {
    #[error(
        "neither an IPP response (it would start with version bytes 1.x or 2.x) nor an ipptool plist (`<?xml` or `<plist`): it starts with {0}"
    )]
    UnknownFormat(String),
    #[error("not a whole IPP response: {0}")]
    Decode(DecodeError),
    #[error("ipptool plist: {0}")]
    Plist(PlistError),
    #[error("the printer answered {status}{}", message.as_ref().map(|m| format!(": {m}")).unwrap_or_default())]
    IppError {
        status: StatusCode,
        message: Option<String>,
    },
    #[error("the response carries no printer attributes group")]
    NoPrinterAttributes,
}

/// The printer attributes of a decoded Get-Printer-Attributes response, or the printer's
/// refusal as an error.
pub fn printer_attributes_of_response(
    message: &Message,
) -> Result<Vec<Attribute>, PrinterResponseError> {
    if !message.status().is_success() {
        return Err(PrinterResponseError::IppError {
            status: message.status(),
            message: message
                .operation_attributes()
                .string("status-message")
                .map(str::to_owned),
        });
    }
    message
        .group(GroupTag::PRINTER)
        .map(|group| group.attributes.clone())
        .ok_or(PrinterResponseError::NoPrinterAttributes)
}

/// The printer attributes in a saved response: IPP bytes or an ipptool plist.
pub fn printer_attributes_from_saved(bytes: &[u8]) -> Result<Vec<Attribute>, PrinterResponseError> {
    let text_start = bytes
        .strip_prefix("\u{feff}".as_bytes())
        .unwrap_or(bytes)
        .trim_ascii_start();
    let message = if text_start.starts_with(b"<?xml") || text_start.starts_with(b"<plist") {
        response_of_plist(bytes).map_err(PrinterResponseError::Plist)?
    } else if matches!(bytes.first(), Some(1 | 2)) {
        decode(bytes, &Limits::default())
            .map_err(PrinterResponseError::Decode)?
            .0
    } else {
        let shown: String = bytes
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ");
        return Err(PrinterResponseError::UnknownFormat(if shown.is_empty() {
            "nothing (the file is empty)".to_owned()
        } else {
            format!("bytes {shown}")
        }));
    };
    printer_attributes_of_response(&message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Value;

    fn response(status: StatusCode) -> Message {
        let mut m = Message::response(status, 7);
        m.group_mut(GroupTag::PRINTER)
            .push(Attribute::new("printer-name", Value::name("Lab")));
        m
    }

    #[test]
    fn a_saved_response_yields_its_printer_attributes() {
        let bytes = response(StatusCode::SUCCESSFUL_OK).to_bytes().unwrap();
        let attrs = printer_attributes_from_saved(&bytes).unwrap();
        assert_eq!(attrs.string("printer-name"), Some("Lab"));
    }

    #[test]
    fn bad_saved_responses_say_what_is_wrong() {
        let bytes = response(StatusCode::SUCCESSFUL_OK).to_bytes().unwrap();
        let truncated = printer_attributes_from_saved(&bytes[..bytes.len() - 3]).unwrap_err();
        assert!(
            truncated
                .to_string()
                .starts_with("not a whole IPP response: message ends inside"),
            "{truncated}"
        );
        assert!(truncated.to_string().contains(" at byte "), "{truncated}");

        let refused =
            Message::error_response(StatusCode::CLIENT_ERROR_NOT_FOUND, 7, "no such printer");
        let refused = printer_attributes_from_saved(&refused.to_bytes().unwrap()).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "the printer answered client-error-not-found (0x0406): no such printer"
        );

        let neither = printer_attributes_from_saved(b"%PDF-1.7").unwrap_err();
        assert!(
            neither
                .to_string()
                .ends_with("it starts with bytes 25 50 44 46 2d 31 2e 37"),
            "{neither}"
        );
        let empty = printer_attributes_from_saved(b"").unwrap_err();
        assert!(empty.to_string().ends_with("nothing (the file is empty)"));
    }
}
