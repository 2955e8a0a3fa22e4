//! The test documents of a plan, generated and written once before anything prints: cases that
//! ask for the same format and page count share one file.

use crate::Finding;
use crate::document::{TestDocument, test_document};
use printlab_client::submit::Document;
use std::collections::HashMap;
use std::path::Path;

/// Each (content type, pages) of a plan: the written document, or why there is none.
pub(super) struct Documents {
    made: HashMap<(String, u32), Result<(TestDocument, Document), Finding>>,
}

impl Documents {
    pub(super) fn write(cases: &[crate::Case], dir: &Path) -> Documents {
        let mut made = HashMap::new();
        for case in cases {
            made.entry((case.content_type.clone(), case.document_pages))
                .or_insert_with(|| make(&case.content_type, case.document_pages, dir));
        }
        Documents { made }
    }

    pub(super) fn get(
        &self,
        content_type: &str,
        pages: u32,
    ) -> &Result<(TestDocument, Document), Finding> {
        &self.made[&(content_type.to_owned(), pages)]
    }
}

fn make(content_type: &str, pages: u32, dir: &Path) -> Result<(TestDocument, Document), Finding> {
    let problem = |observed: String| Finding {
        check: "document".into(),
        expected: format!("a {pages}-page {content_type} test document"),
        observed,
    };
    let doc = test_document(content_type, pages).map_err(|e| problem(e.to_string()))?;
    let extension = content_type.rsplit(['/', '-']).next().unwrap_or("bin");
    let path = dir.join(format!("{pages}-pages.{extension}"));
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&path, &doc.bytes))
        .map_err(|e| problem(format!("writing {}: {e}", path.display())))?;
    let upload = Document::inspect(&path, content_type).map_err(|e| problem(e.to_string()))?;
    Ok((doc, upload))
}
