//! Telling an XPS package from other ZIP files, for `printlab print` (which must declare
//! `application/oxps` so the cloud converts it for a PDF-only printer) and `printlab render`
//! (which converts it before rendering, as the cloud would). It lives here rather than in the
//! renderer's `sniff` because a ZIP is recognised by its central directory at the end of the
//! file, not by its first bytes, and the renderer must not depend on the converter.

use std::io::{Read, Seek};

pub const OXPS: &str = "application/oxps";
pub const MS_XPS: &str = "application/vnd.ms-xpsdocument";

/// The package relationships part, where a package names its FixedDocumentSequence.
const ROOT_RELS: &str = "_rels/.rels";
/// More than any real `_rels/.rels`; a larger one is not read.
const MAX_RELS: u64 = 1 << 20;

/// Whether a content type names an XPS package (either flavour).
pub fn is_xps_type(content_type: &str) -> bool {
    let base = content_type.split(';').next().unwrap_or("").trim();
    base.eq_ignore_ascii_case(OXPS) || base.eq_ignore_ascii_case(MS_XPS)
}

/// `application/oxps` or `application/vnd.ms-xpsdocument` when `package` is a ZIP whose root
/// relationships point at a FixedDocumentSequence (ECMA-388 / Microsoft XPS), else `None`.
pub fn detect(package: impl Read + Seek) -> Option<&'static str> {
    let mut zip = zip::ZipArchive::new(package).ok()?;
    let rels = zip.by_name(ROOT_RELS).ok()?;
    let mut text = String::new();
    rels.take(MAX_RELS).read_to_string(&mut text).ok()?;
    let text = text.to_ascii_lowercase();
    if text.contains("schemas.openxps.org/oxps/v1.0/fixedrepresentation") {
        Some(OXPS)
    } else if text.contains("schemas.microsoft.com/xps/2005/06/fixedrepresentation") {
        Some(MS_XPS)
    } else {
        None
    }
}

/// Whether `head` (a file's first bytes) starts like a ZIP, so [`detect`] is worth a look.
pub fn looks_like_zip(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};

    #[test]
    fn an_openxps_package_is_told_from_other_zips() {
        let package = printlab_testkit::xps::oxps_package(1);
        assert!(looks_like_zip(&package));
        assert_eq!(detect(Cursor::new(&package)), Some(OXPS));

        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        zip.start_file("_rels/.rels", zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(b"<Relationships/>").unwrap();
        let other = zip.finish().unwrap().into_inner();
        assert_eq!(detect(Cursor::new(&other)), None, "a ZIP that is not XPS");
        assert_eq!(detect(Cursor::new(b"%PDF-1.7")), None);
        assert!(is_xps_type("Application/OXPS; charset=binary"));
        assert!(is_xps_type(MS_XPS));
        assert!(!is_xps_type("application/pdf"));
    }
}
