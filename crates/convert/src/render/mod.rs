//! FixedPage markup → krilla drawing calls. XPS units (1/96 inch, y down) are kept inside the
//! page by one scale to PDF points; krilla is y-down too.

mod brushes;
mod elements;
mod figures;
mod glyphs;
mod images;

#[cfg(test)]
pub(crate) use glyphs::layout;

use std::collections::HashMap;
use std::rc::Rc;

use krilla::Document;
use krilla::geom::{PathBuilder, Rect};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::SpreadMethod;
use krilla::surface::Surface;
use krilla::text::Font;
use roxmltree::Node;

use crate::color::Rgba;
use crate::font::Metrics;
use crate::geometry::{self, Bounds, Mat};
use crate::image_part::Decoded;
use crate::package::{Package, PageRef, invalid, parse_xml, resolve};
use crate::{ConvertError, Limits, Pdf};

type R<T> = Result<T, ConvertError>;

/// Path segments allowed in one geometry (bounded by part size anyway; this bounds time).
const MAX_SEGMENTS: usize = 5_000_000;

pub fn render_document(pkg: &Package, pages: &[PageRef], limits: &Limits) -> R<Pdf> {
    let mut doc = Document::new();
    let mut r = Renderer {
        pkg,
        limits,
        fonts: HashMap::new(),
        images: HashMap::new(),
        image_pixels: 0,
    };
    for p in pages {
        r.page(&mut doc, p)?;
    }
    let bytes = doc
        .finish()
        .map_err(|e| ConvertError::Pdf(format!("{e:?}")))?;
    Ok(Pdf {
        bytes,
        pages: pages.len(),
    })
}

struct LoadedFont {
    font: Font,
    metrics: Metrics,
}

struct Renderer<'p, 'z> {
    pkg: &'p Package<'z>,
    limits: &'p Limits,
    fonts: HashMap<(String, u32), Rc<LoadedFont>>,
    images: HashMap<String, Rc<Decoded>>,
    /// Pixels of the images decoded so far.
    image_pixels: u64,
}

/// An element and the part whose URIs it resolves against.
#[derive(Clone, Copy)]
struct El<'a> {
    node: Node<'a, 'a>,
    part: &'a str,
}

struct Scope<'a> {
    resources: Vec<HashMap<&'a str, El<'a>>>,
    /// Local → page (XPS units).
    ctm: Mat,
    /// The page rectangle in page coordinates.
    page: Bounds,
    depth: usize,
    /// Elements drawn so far on this page.
    drawn: u64,
    /// The page part, for messages.
    page_part: &'a str,
}

/// A property given as an attribute string or as a property element's content.
enum Value<'a> {
    Text(&'a str, El<'a>),
    Elem(El<'a>),
}

#[derive(Clone)]
enum Brush<'a> {
    Solid(Rgba),
    Linear {
        start: (f32, f32),
        end: (f32, f32),
        stops: Vec<(f32, Rgba)>,
        spread: SpreadMethod,
        transform: Mat,
    },
    Radial {
        center: (f32, f32),
        origin: (f32, f32),
        rx: f32,
        ry: f32,
        stops: Vec<(f32, Rgba)>,
        spread: SpreadMethod,
        transform: Mat,
    },
    Tile(Rc<TileBrush<'a>>),
}

enum TileContent<'a> {
    Image(Rc<Decoded>),
    Visual(El<'a>),
}

#[derive(Clone, Copy, PartialEq)]
enum TileMode {
    None,
    Tile,
    FlipX,
    FlipY,
    FlipXY,
}

struct TileBrush<'a> {
    content: TileContent<'a>,
    viewbox: (f32, f32, f32, f32),
    viewport: (f32, f32, f32, f32),
    mode: TileMode,
    transform: Mat,
    opacity: f32,
}

fn pop_n(s: &mut Surface, n: usize) {
    for _ in 0..n {
        s.pop();
    }
}

fn norm(v: f32) -> NormalizedF32 {
    NormalizedF32::new(v.clamp(0.0, 1.0)).unwrap_or(NormalizedF32::ONE)
}

fn attr<'a>(n: Node<'a, 'a>, name: &str) -> Option<&'a str> {
    n.attributes()
        .find(|a| a.name() == name && a.namespace().is_none())
        .map(|a| a.value())
}

fn line(n: Node) -> u32 {
    n.document().text_pos_at(n.range().start).row
}

fn rect_path(x: f32, y: f32, w: f32, h: f32) -> Option<krilla::geom::Path> {
    let mut pb = PathBuilder::new();
    pb.push_rect(Rect::from_xywh(x, y, w, h)?);
    pb.finish()
}

fn parse_point(s: &str) -> Option<(f32, f32)> {
    match geometry::numbers(s)?.as_slice() {
        [x, y] => Some((*x, *y)),
        _ => None,
    }
}

fn parse_rect(s: &str) -> Option<(f32, f32, f32, f32)> {
    match geometry::numbers(s)?.as_slice() {
        [x, y, w, h] if *w >= 0.0 && *h >= 0.0 => Some((*x, *y, *w, *h)),
        _ => None,
    }
}

impl<'p, 'z> Renderer<'p, 'z> {
    fn err(&self, el: El, reason: impl AsRef<str>) -> ConvertError {
        invalid(self.pkg, el.part, el.node, reason.as_ref())
    }

    fn num(&self, el: El, name: &str, default: Option<f32>) -> R<f32> {
        match attr(el.node, name) {
            Some(v) => v
                .trim()
                .parse::<f32>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| self.err(el, format!("{name}=\"{v}\" is not a number"))),
            None => default.ok_or_else(|| self.err(el, format!("missing {name}"))),
        }
    }

    fn page(&mut self, doc: &mut Document, p: &PageRef) -> R<()> {
        let pkg = self.pkg;
        let text = pkg.read_text(&p.part, "its FixedDocument")?;
        let xml = parse_xml(pkg, &p.part, &text, self.limits.max_xml_nodes)?;
        let root = xml.root_element();
        let el = El {
            node: root,
            part: &p.part,
        };
        if root.tag_name().name() != "FixedPage" {
            return Err(self.err(el, "a page part must hold a FixedPage"));
        }
        let width = match attr(root, "Width") {
            Some(_) => self.num(el, "Width", None)?,
            None => p.width.ok_or_else(|| self.err(el, "missing Width"))?,
        };
        let height = match attr(root, "Height") {
            Some(_) => self.num(el, "Height", None)?,
            None => p.height.ok_or_else(|| self.err(el, "missing Height"))?,
        };
        if !(width >= 1.0 && height >= 1.0 && width <= 1e6 && height <= 1e6) {
            return Err(self.err(el, format!("page size {width}x{height} is out of range")));
        }
        // Remote resource dictionaries are parsed up front so nodes can borrow them.
        let mut dict_keys: Vec<String> = Vec::new();
        for n in root.descendants() {
            if n.tag_name().name() == "ResourceDictionary"
                && let Some(src) = attr(n, "Source")
            {
                let key = resolve(&p.part, src).0;
                if !dict_keys.contains(&key) {
                    dict_keys.push(key);
                }
            }
        }
        let mut dict_texts = Vec::with_capacity(dict_keys.len());
        for k in &dict_keys {
            dict_texts.push(pkg.read_text(k, &pkg.display(&p.part))?);
        }
        let mut dict_docs = Vec::with_capacity(dict_keys.len());
        for (k, t) in dict_keys.iter().zip(&dict_texts) {
            dict_docs.push(parse_xml(pkg, k, t, self.limits.max_xml_nodes)?);
        }
        let remote: HashMap<&str, El> = dict_keys
            .iter()
            .zip(&dict_docs)
            .map(|(k, d)| {
                (
                    k.as_str(),
                    El {
                        node: d.root_element(),
                        part: k.as_str(),
                    },
                )
            })
            .collect();

        let pt = 0.75;
        let media = Rect::from_xywh(0.0, 0.0, width * pt, height * pt);
        let pdf_box = |s: Option<&str>| -> Option<Rect> {
            let (x, y, w, h) = parse_rect(s?)?;
            // krilla takes boxes y-down like XPS; in points, cut to the media box.
            let x0 = x.max(0.0) * pt;
            let y0 = y.max(0.0) * pt;
            let x1 = (x + w).min(width) * pt;
            let y1 = (y + h).min(height) * pt;
            Rect::from_ltrb(x0, y0, x1, y1)
        };
        let settings = PageSettings::from_wh(width * pt, height * pt)
            .ok_or_else(|| self.err(el, "bad page size"))?
            .with_media_box(media)
            .with_bleed_box(pdf_box(attr(root, "BleedBox")))
            .with_art_box(pdf_box(attr(root, "ContentBox")));
        let mut page = doc.start_page_with(settings);
        let mut s = page.surface();
        s.push_transform(&krilla::geom::Transform::from_scale(pt, pt));
        let mut scope = Scope {
            resources: Vec::new(),
            ctm: Mat::IDENTITY,
            page: Bounds {
                x0: 0.0,
                y0: 0.0,
                x1: width,
                y1: height,
            },
            depth: 0,
            drawn: 0,
            page_part: &p.part,
        };
        let res = self
            .push_resources(el, "FixedPage.Resources", &remote, &mut scope)
            .and_then(|()| self.children(&mut s, el, &remote, &mut scope));
        s.pop();
        s.finish();
        page.finish();
        res
    }

    fn push_resources<'a>(
        &self,
        el: El<'a>,
        prop: &str,
        remote: &HashMap<&'a str, El<'a>>,
        scope: &mut Scope<'a>,
    ) -> R<()> {
        let mut map = HashMap::new();
        for pe in el.node.children().filter(|n| n.tag_name().name() == prop) {
            for dict in pe.children().filter(|n| n.is_element()) {
                let dict_el = El {
                    node: dict,
                    part: el.part,
                };
                let source = match attr(dict, "Source") {
                    Some(src) => {
                        let key = resolve(el.part, src).0;
                        *remote.get(key.as_str()).ok_or_else(|| {
                            self.err(dict_el, format!("remote dictionary {src} not loaded"))
                        })?
                    }
                    None => dict_el,
                };
                for r in source.node.children().filter(|n| n.is_element()) {
                    if let Some(k) = r
                        .attributes()
                        .find(|a| a.name() == "Key" && a.namespace().is_some())
                    {
                        map.insert(
                            k.value(),
                            El {
                                node: r,
                                part: source.part,
                            },
                        );
                    }
                }
            }
        }
        scope.resources.push(map);
        Ok(())
    }

    fn lookup<'a>(&self, scope: &Scope<'a>, key: &str) -> Option<El<'a>> {
        scope
            .resources
            .iter()
            .rev()
            .find_map(|m| m.get(key).copied())
    }

    /// `{StaticResource key}` → the resource; other text stays text.
    fn resolve_value<'a>(&self, v: Value<'a>, scope: &Scope<'a>) -> R<Value<'a>> {
        if let Value::Text(t, el) = v {
            let t2 = t.trim();
            if let Some(inner) = t2.strip_prefix('{').and_then(|x| x.strip_suffix('}'))
                && let Some(key) = inner.trim().strip_prefix("StaticResource")
            {
                let key = key.trim();
                return self
                    .lookup(scope, key)
                    .map(Value::Elem)
                    .ok_or_else(|| self.err(el, format!("no resource named '{key}'")));
            }
        }
        Ok(v)
    }

    fn prop<'a>(&self, el: El<'a>, name: &str, scope: &Scope<'a>) -> R<Option<Value<'a>>> {
        if let Some(v) = attr(el.node, name) {
            return self.resolve_value(Value::Text(v, el), scope).map(Some);
        }
        let tag = el.node.tag_name().name();
        for c in el.node.children().filter(|n| n.is_element()) {
            let cn = c.tag_name().name();
            if let Some((owner, p)) = cn.split_once('.')
                && p == name
                && owner == tag
            {
                return Ok(c.children().find(|n| n.is_element()).map(|n| {
                    Value::Elem(El {
                        node: n,
                        part: el.part,
                    })
                }));
            }
        }
        Ok(None)
    }

    fn transform_prop<'a>(&self, el: El<'a>, name: &str, scope: &Scope<'a>) -> R<Mat> {
        let m = match self.prop(el, name, scope)? {
            None => return Ok(Mat::IDENTITY),
            Some(Value::Text(t, _)) => Mat::parse(t),
            Some(Value::Elem(e)) => match e.node.tag_name().name() {
                "MatrixTransform" => attr(e.node, "Matrix").and_then(Mat::parse),
                other => return Err(self.err(e, format!("{other} is not a transform"))),
            },
        };
        m.filter(Mat::is_finite)
            .ok_or_else(|| self.err(el, format!("{name} is not a matrix of six numbers")))
    }
}
