use thiserror::Error;

/// Why a package could not be converted; each names the part (and element, line) at fault.
#[derive(Debug, Error)]
pub enum ConvertError {
    #[error("not a readable ZIP package: {0}")]
    Zip(String),
    #[error("the package has {count} parts, more than the limit of {limit}")]
    TooManyParts { count: usize, limit: usize },
    #[error("part {part} decompresses to more than the per-part limit of {limit} bytes")]
    PartTooLarge { part: String, limit: u64 },
    #[error("the package decompresses to more than {limit} bytes in total (reached in {part})")]
    PackageTooLarge { part: String, limit: u64 },
    #[error("part {part} is missing (referenced from {referenced_from})")]
    MissingPart {
        part: String,
        referenced_from: String,
    },
    #[error("part {part} is corrupt in the ZIP: {reason}")]
    CorruptPart { part: String, reason: String },
    #[error("{part}:{line}:{column}: malformed XML: {reason}")]
    Xml {
        part: String,
        line: u32,
        column: u32,
        reason: String,
    },
    #[error("{part}:{line}: <{element}>: {reason}")]
    Invalid {
        part: String,
        element: String,
        line: u32,
        reason: String,
    },
    #[error("{part}:{line}: <{element}> nests deeper than the limit of {limit}")]
    TooDeep {
        part: String,
        element: String,
        line: u32,
        limit: usize,
    },
    #[error("page {part} draws more than {limit} elements (nested visual brushes?)")]
    TooManyElements { part: String, limit: u64 },
    #[error("the document has more than {limit} pages")]
    TooManyPages { limit: usize },
    #[error("the document has no pages")]
    NoPages,
    #[error("image {part} is {width}x{height} pixels, more than the limit of {limit}")]
    ImageTooLarge {
        part: String,
        width: u32,
        height: u32,
        limit: u64,
    },
    #[error("image {part} brings the document's images past {limit} pixels together")]
    TooManyImagePixels { part: String, limit: u64 },
    #[error("image {part}: {reason}")]
    Image { part: String, reason: String },
    #[error("font {part}: {reason}")]
    Font { part: String, reason: String },
    #[error("{part}: unsupported: {reason}")]
    Unsupported { part: String, reason: String },
    #[error("writing the PDF failed: {0}")]
    Pdf(String),
}
