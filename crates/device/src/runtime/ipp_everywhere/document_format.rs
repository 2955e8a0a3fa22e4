//! `document-format application/octet-stream`: the printer tells the format from the first
//! bytes, as IPP Everywhere printers do (PWG 5100.14 §4.2: auto-detection).

/// The format whose signature `head` starts with, if it is one the renderer knows.
pub(super) fn sniff(head: &[u8]) -> Option<&'static str> {
    const SIGNATURES: [(&[u8], &str); 6] = [
        (b"%PDF", "application/pdf"),
        (b"\xFF\xD8\xFF", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"RaS2", "image/pwg-raster"),
        (b"UNIRAST", "image/urf"),
        (b"%!", "application/postscript"),
    ];
    SIGNATURES
        .iter()
        .find(|(signature, _)| head.starts_with(signature))
        .map(|(_, format)| *format)
}

#[cfg(test)]
mod tests {
    use super::sniff;

    #[test]
    fn tells_formats_by_their_signature() {
        assert_eq!(sniff(b"%PDF-1.7\n"), Some("application/pdf"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff(b"RaS2PwgRaster"), Some("image/pwg-raster"));
        assert_eq!(sniff(b"hello"), None);
        assert_eq!(sniff(b""), None);
    }
}
