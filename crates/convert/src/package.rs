//! The OPC package: ZIP entries (interleaved pieces joined), part names, content types,
//! relationships and the fixed document structure. Reads are bounded while inflating.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::rc::Rc;

use crate::{ConvertError, Limits};

const FIXED_REPRESENTATION: &str = "/fixedrepresentation";

/// A page to render: its part and the size the FixedDocument's PageContent announced.
#[derive(Debug, Clone)]
pub struct PageRef {
    pub part: String,
    pub width: Option<f32>,
    pub height: Option<f32>,
}

pub struct Package<'a> {
    zip: RefCell<zip::ZipArchive<Cursor<&'a [u8]>>>,
    /// Normalized part name → ZIP entry indices (several for an interleaved part).
    parts: HashMap<String, Vec<usize>>,
    /// Original spelling of each part name, for messages.
    display: HashMap<String, String>,
    content_types: ContentTypes,
    cache: RefCell<HashMap<String, Rc<Vec<u8>>>>,
    total: Cell<u64>,
    limits: Limits,
}

#[derive(Default)]
struct ContentTypes {
    defaults: HashMap<String, String>,
    overrides: HashMap<String, String>,
}

/// Normalize a part name for lookup: leading slash, percent-decoded, ASCII case-folded (OPC
/// part names compare case-insensitively).
pub fn normalize(name: &str) -> String {
    let decoded = percent_decode(name);
    let mut s = String::with_capacity(decoded.len() + 1);
    if !decoded.starts_with('/') {
        s.push('/');
    }
    s.push_str(&decoded);
    s.to_ascii_lowercase()
}

fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Resolve a URI found in `source` (a part name) to a normalized part name and an optional
/// fragment (`#1` selects a font in a collection).
pub fn resolve(source: &str, uri: &str) -> (String, Option<String>) {
    let uri = uri.trim();
    let (path, fragment) = match uri.split_once('#') {
        Some((p, f)) => (p, Some(f.to_string())),
        None => (uri, None),
    };
    let path = path.replace('\\', "/");
    let joined = if path.starts_with('/') {
        path
    } else {
        let dir = match source.rfind('/') {
            Some(i) => &source[..=i],
            None => "/",
        };
        format!("{dir}{path}")
    };
    let mut segs: Vec<&str> = Vec::new();
    for seg in joined.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segs.pop();
            }
            s => segs.push(s),
        }
    }
    (normalize(&segs.join("/")), fragment)
}

/// `dir/[3].piece` or `dir/[3].last.piece` → (dir, 3, last).
fn piece(name: &str) -> Option<(&str, u32, bool)> {
    let (dir, file) = name.rsplit_once('/')?;
    let lower = file.to_ascii_lowercase();
    let rest = lower.strip_prefix('[')?;
    let (num, tail) = rest.split_once(']')?;
    let last = match tail {
        ".piece" => false,
        ".last.piece" => true,
        _ => return None,
    };
    Some((dir, num.parse().ok()?, last))
}

impl<'a> Package<'a> {
    pub fn open(bytes: &'a [u8], limits: &Limits) -> Result<Self, ConvertError> {
        let zip = zip::ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| ConvertError::Zip(e.to_string()))?;
        if zip.len() > limits.max_parts {
            return Err(ConvertError::TooManyParts {
                count: zip.len(),
                limit: limits.max_parts,
            });
        }
        let mut parts: HashMap<String, Vec<usize>> = HashMap::new();
        let mut pieces: HashMap<String, Vec<(u32, usize)>> = HashMap::new();
        let mut display = HashMap::new();
        for index in 0..zip.len() {
            let name = match zip.name_for_index(index) {
                Some(Ok(n)) => n.into_owned(),
                Some(Err(e)) => return Err(ConvertError::Zip(e.to_string())),
                None => continue,
            };
            if name.ends_with('/') {
                continue;
            }
            if let Some((dir, n, _last)) = piece(&name) {
                let key = normalize(dir);
                display.insert(key.clone(), format!("/{}", dir.trim_start_matches('/')));
                pieces.entry(key).or_default().push((n, index));
            } else {
                let key = normalize(&name);
                display.insert(key.clone(), format!("/{}", name.trim_start_matches('/')));
                parts.insert(key, vec![index]);
            }
        }
        for (key, mut list) in pieces {
            list.sort_unstable();
            parts.insert(key, list.into_iter().map(|(_, i)| i).collect());
        }
        let mut pkg = Package {
            zip: RefCell::new(zip),
            parts,
            display,
            content_types: ContentTypes::default(),
            cache: RefCell::new(HashMap::new()),
            total: Cell::new(0),
            limits: limits.clone(),
        };
        pkg.content_types = pkg.read_content_types()?;
        Ok(pkg)
    }

    /// The name of a part as spelled in the package (for messages).
    pub fn display(&self, key: &str) -> String {
        self.display
            .get(key)
            .cloned()
            .unwrap_or_else(|| key.to_string())
    }

    pub fn exists(&self, key: &str) -> bool {
        self.parts.contains_key(key)
    }

    /// The decompressed bytes of a part, read at most once.
    pub fn read(&self, key: &str, referenced_from: &str) -> Result<Rc<Vec<u8>>, ConvertError> {
        if let Some(b) = self.cache.borrow().get(key) {
            return Ok(b.clone());
        }
        let Some(indices) = self.parts.get(key) else {
            return Err(ConvertError::MissingPart {
                part: key.to_string(),
                referenced_from: referenced_from.to_string(),
            });
        };
        let display = self.display(key);
        let mut out = Vec::new();
        let mut zip = self.zip.borrow_mut();
        for &index in indices {
            let file = zip.by_index(index).map_err(|e| ConvertError::CorruptPart {
                part: display.clone(),
                reason: e.to_string(),
            })?;
            let part_room = self.limits.max_part_bytes - out.len() as u64;
            let total_room = self.limits.max_total_bytes - self.total.get();
            let room = part_room.min(total_room);
            let before = out.len();
            // Read one byte past the room so an overflow is seen without trusting headers.
            file.take(room + 1)
                .read_to_end(&mut out)
                .map_err(|e| ConvertError::CorruptPart {
                    part: display.clone(),
                    reason: e.to_string(),
                })?;
            let got = (out.len() - before) as u64;
            if got > room {
                return Err(if part_room <= total_room {
                    ConvertError::PartTooLarge {
                        part: display,
                        limit: self.limits.max_part_bytes,
                    }
                } else {
                    ConvertError::PackageTooLarge {
                        part: display,
                        limit: self.limits.max_total_bytes,
                    }
                });
            }
            self.total.set(self.total.get() + got);
        }
        let rc = Rc::new(out);
        self.cache.borrow_mut().insert(key.to_string(), rc.clone());
        Ok(rc)
    }

    /// A part as UTF-8 (or UTF-16 with a byte order mark) text.
    pub fn read_text(&self, key: &str, referenced_from: &str) -> Result<String, ConvertError> {
        let bytes = self.read(key, referenced_from)?;
        decode_text(&bytes).ok_or_else(|| ConvertError::Xml {
            part: self.display(key),
            line: 1,
            column: 1,
            reason: "not UTF-8 or UTF-16 text".into(),
        })
    }

    pub fn content_type(&self, key: &str) -> Option<&str> {
        if let Some(t) = self.content_types.overrides.get(key) {
            return Some(t);
        }
        let file = key.rsplit('/').next()?;
        let ext = file.rsplit_once('.')?.1;
        self.content_types.defaults.get(ext).map(String::as_str)
    }

    fn read_content_types(&self) -> Result<ContentTypes, ConvertError> {
        let key = normalize("[Content_Types].xml");
        let text = self.read_text(&key, "the package")?;
        let doc = parse_xml(self, &key, &text, self.limits.max_xml_nodes)?;
        let mut ct = ContentTypes::default();
        for n in doc.root_element().children().filter(|n| n.is_element()) {
            let ty = n
                .attribute("ContentType")
                .unwrap_or("")
                .to_ascii_lowercase();
            match n.tag_name().name() {
                "Default" => {
                    if let Some(ext) = n.attribute("Extension") {
                        ct.defaults.insert(ext.to_ascii_lowercase(), ty);
                    }
                }
                "Override" => {
                    if let Some(p) = n.attribute("PartName") {
                        ct.overrides.insert(normalize(p), ty);
                    }
                }
                _ => {}
            }
        }
        Ok(ct)
    }

    /// Relationship targets of `source` whose type ends with `type_suffix`.
    fn relationships(&self, source: &str, type_suffix: &str) -> Result<Vec<String>, ConvertError> {
        let (dir, file) = source.rsplit_once('/').unwrap_or(("", source));
        let rels = normalize(&format!("{dir}/_rels/{file}.rels"));
        let text = self.read_text(&rels, "the package root")?;
        let doc = parse_xml(self, &rels, &text, self.limits.max_xml_nodes)?;
        let mut out = Vec::new();
        for n in doc
            .descendants()
            .filter(|n| n.tag_name().name() == "Relationship")
        {
            let ty = n.attribute("Type").unwrap_or("").to_ascii_lowercase();
            if ty.ends_with(type_suffix)
                && n.attribute("TargetMode").is_none_or(|m| m == "Internal")
                && let Some(t) = n.attribute("Target")
            {
                out.push(resolve(source, t).0);
            }
        }
        Ok(out)
    }

    /// Every page of the first fixed document sequence, in order.
    pub fn pages(&self) -> Result<Vec<PageRef>, ConvertError> {
        let roots = self.relationships("/", FIXED_REPRESENTATION)?;
        let Some(fds) = roots.first() else {
            return Err(ConvertError::MissingPart {
                part: "FixedDocumentSequence".into(),
                referenced_from: "/_rels/.rels (no fixedrepresentation relationship)".into(),
            });
        };
        let fds_text = self.read_text(fds, "/_rels/.rels")?;
        let fds_doc = parse_xml(self, fds, &fds_text, self.limits.max_xml_nodes)?;
        let mut pages = Vec::new();
        let root = fds_doc.root_element();
        let docs: Vec<String> = if root.tag_name().name() == "FixedDocument" {
            // Some writers point the root relationship straight at a FixedDocument.
            vec![fds.clone()]
        } else {
            root.children()
                .filter(|n| n.tag_name().name() == "DocumentReference")
                .filter_map(|n| n.attribute("Source").map(|s| resolve(fds, s).0))
                .collect()
        };
        for fd in docs {
            let text = self.read_text(&fd, &self.display(fds))?;
            let doc = parse_xml(self, &fd, &text, self.limits.max_xml_nodes)?;
            for n in doc
                .root_element()
                .children()
                .filter(|n| n.tag_name().name() == "PageContent")
            {
                let Some(src) = n.attribute("Source") else {
                    return Err(invalid(self, &fd, n, "PageContent without Source"));
                };
                if pages.len() >= self.limits.max_pages {
                    return Err(ConvertError::TooManyPages {
                        limit: self.limits.max_pages,
                    });
                }
                let part = resolve(&fd, src).0;
                if !self.exists(&part) {
                    return Err(ConvertError::MissingPart {
                        part: part.clone(),
                        referenced_from: self.display(&fd),
                    });
                }
                pages.push(PageRef {
                    part,
                    width: n.attribute("Width").and_then(|v| v.trim().parse().ok()),
                    height: n.attribute("Height").and_then(|v| v.trim().parse().ok()),
                });
            }
        }
        if pages.is_empty() {
            return Err(ConvertError::NoPages);
        }
        Ok(pages)
    }
}

fn decode_text(bytes: &[u8]) -> Option<String> {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8(rest.to_vec()).ok();
    }
    let utf16 = |rest: &[u8], le: bool| {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| {
                if le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        String::from_utf16(&units).ok()
    };
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, true);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, false);
    }
    String::from_utf8(bytes.to_vec()).ok()
}

pub fn parse_xml<'i>(
    pkg: &Package,
    key: &str,
    text: &'i str,
    nodes_limit: u32,
) -> Result<roxmltree::Document<'i>, ConvertError> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit,
        ..Default::default()
    };
    roxmltree::Document::parse_with_options(text, opts).map_err(|e| {
        let pos = e.pos();
        ConvertError::Xml {
            part: pkg.display(key),
            line: pos.row,
            column: pos.col,
            reason: e.to_string(),
        }
    })
}

pub fn invalid(pkg: &Package, key: &str, node: roxmltree::Node, reason: &str) -> ConvertError {
    ConvertError::Invalid {
        part: pkg.display(key),
        element: node.tag_name().name().to_string(),
        line: node.document().text_pos_at(node.range().start).row,
        reason: reason.to_string(),
    }
}
