//! The test documents of a run, made as cases need them: cases that ask for the same format,
//! page count and page geometry share one file.

use crate::Finding;
use crate::document::marks::PageGeometry;
use crate::document::{TestDocument, test_document};
use printlab_client::submit::Document;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

type Made = Arc<Result<(TestDocument, Document), Finding>>;

/// Each (content type, pages, geometry) made so far: the written document, or why there is
/// none.
pub(super) struct Documents {
    dir: PathBuf,
    made: Mutex<HashMap<String, Made>>,
}

impl Documents {
    pub(super) fn new(dir: &Path) -> Documents {
        Documents {
            dir: dir.to_owned(),
            made: Mutex::new(HashMap::new()),
        }
    }

    /// The document, made and written the first time it is asked for.
    pub(super) fn get(&self, content_type: &str, pages: u32, geometry: PageGeometry) -> Made {
        let (w, h) = geometry.size;
        let extension = content_type.rsplit(['/', '-']).next().unwrap_or("bin");
        // Sizes and inset to a hundredth of a point name the geometry.
        let name = format!(
            "{pages}-pages-{:.0}x{:.0}-inset{:.0}.{extension}",
            w * 100.0,
            h * 100.0,
            geometry.inset * 100.0
        );
        let mut made = self.made.lock().expect("documents lock poisoned");
        Arc::clone(
            made.entry(name.clone()).or_insert_with(|| {
                Arc::new(make(content_type, pages, geometry, &self.dir.join(name)))
            }),
        )
    }
}

fn make(
    content_type: &str,
    pages: u32,
    geometry: PageGeometry,
    path: &Path,
) -> Result<(TestDocument, Document), Finding> {
    let problem = |observed: String| Finding {
        check: "document".into(),
        expected: format!("a {pages}-page {content_type} test document"),
        observed,
    };
    let doc = test_document(content_type, pages, geometry).map_err(|e| problem(e.to_string()))?;
    (path.parent().map_or(Ok(()), std::fs::create_dir_all))
        .and_then(|()| std::fs::write(path, &doc.bytes))
        .map_err(|e| problem(format!("writing {}: {e}", path.display())))?;
    let upload = Document::inspect(path, content_type).map_err(|e| problem(e.to_string()))?;
    Ok((doc, upload))
}
