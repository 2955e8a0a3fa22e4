//! The documents a case prints: made for verification, each page carrying marks the verifier
//! finds again in the output.

use thiserror::Error;

/// A generated test document.
#[derive(Debug, Clone)]
pub struct TestDocument {
    pub content_type: String,
    pub bytes: Vec<u8>,
    pub pages: u32,
}

#[derive(Debug, Error)]
pub enum DocumentError {
    #[error("no test document can be generated for {content_type}")]
    Unsupported { content_type: String },
    #[error("writing the {content_type} test document: {message}")]
    Write {
        content_type: String,
        message: String,
    },
}

/// A document of `pages` A4 pages in `content_type`, pages marked by
/// [`printlab_render::testpage`].
pub fn test_document(content_type: &str, pages: u32) -> Result<TestDocument, DocumentError> {
    let a4 = (595.28, 841.89);
    let bytes = match content_type {
        printlab_render::PDF => printlab_render::testpage::generate(&vec![a4; pages as usize])
            .map_err(|e| DocumentError::Write {
                content_type: content_type.to_owned(),
                message: e.to_string(),
            })?,
        _ => {
            return Err(DocumentError::Unsupported {
                content_type: content_type.to_owned(),
            });
        }
    };
    Ok(TestDocument {
        content_type: content_type.to_owned(),
        bytes,
        pages,
    })
}
