//! FixedPage markup → krilla drawing calls. XPS units (1/96 inch, y down) are kept inside the
//! page by one scale to PDF points; krilla is y-down too.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use krilla::Document;
use krilla::geom::{PathBuilder, Point, Rect, Size};
use krilla::mask::{Mask, MaskType};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{
    Fill, LineCap, LineJoin, LinearGradient, Paint, Pattern, RadialGradient, SpreadMethod, Stop,
    Stroke, StrokeDash,
};
use krilla::surface::Surface;
use krilla::text::{Font, GlyphId, KrillaGlyph};
use roxmltree::Node;

use crate::color::{self, Rgba};
use crate::font::{self, Metrics};
use crate::geometry::{self, Bounds, FillRule, Geometry, Mat};
use crate::image_part::{self, Decoded};
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

    fn geometry<'a>(
        &self,
        v: Value<'a>,
        scope: &Scope<'a>,
    ) -> R<Option<(krilla::geom::Path, FillRule, Bounds)>> {
        let g = match v {
            Value::Text(t, el) => {
                let mut g = Geometry::new(FillRule::EvenOdd, Mat::IDENTITY);
                geometry::parse_abbreviated(t, &mut g, MAX_SEGMENTS)
                    .map_err(|e| self.err(el, format!("path data: {e}")))?;
                g
            }
            Value::Elem(el) => {
                if el.node.tag_name().name() != "PathGeometry" {
                    return Err(self.err(el, "expected a PathGeometry"));
                }
                let rule = match attr(el.node, "FillRule") {
                    Some("NonZero") => FillRule::NonZero,
                    Some("EvenOdd") | None => FillRule::EvenOdd,
                    Some(o) => return Err(self.err(el, format!("FillRule=\"{o}\""))),
                };
                let transform = self.transform_prop(el, "Transform", scope)?;
                let mut g = Geometry::new(rule, transform);
                if let Some(f) = attr(el.node, "Figures") {
                    geometry::parse_abbreviated(f, &mut g, MAX_SEGMENTS)
                        .map_err(|e| self.err(el, format!("Figures: {e}")))?;
                    g.rule = rule;
                }
                for fig in el
                    .node
                    .children()
                    .filter(|n| n.tag_name().name() == "PathFigure")
                {
                    self.figure(
                        El {
                            node: fig,
                            part: el.part,
                        },
                        &mut g,
                    )?;
                }
                g
            }
        };
        let rule = g.rule;
        let bounds = g.bounds;
        Ok(g.finish().map(|p| (p, rule, bounds)))
    }

    fn figure(&self, fig: El, g: &mut Geometry) -> R<()> {
        let start = attr(fig.node, "StartPoint")
            .and_then(parse_point)
            .ok_or_else(|| self.err(fig, "PathFigure needs StartPoint=\"x,y\""))?;
        g.move_to(start.0, start.1);
        for seg in fig.node.children().filter(|n| n.is_element()) {
            let sel = El {
                node: seg,
                part: fig.part,
            };
            if g.segments > MAX_SEGMENTS {
                return Err(self.err(sel, "too many path segments"));
            }
            let pts = |name: &str| -> R<Vec<f32>> {
                attr(seg, name)
                    .and_then(geometry::numbers)
                    .ok_or_else(|| self.err(sel, format!("bad or missing {name}")))
            };
            match seg.tag_name().name() {
                "PolyLineSegment" => {
                    for p in pts("Points")?.chunks_exact(2) {
                        g.line_to(p[0], p[1]);
                    }
                }
                "PolyBezierSegment" => {
                    for p in pts("Points")?.chunks_exact(6) {
                        g.cubic_to(p[0], p[1], p[2], p[3], p[4], p[5]);
                    }
                }
                "PolyQuadraticBezierSegment" => {
                    for p in pts("Points")?.chunks_exact(4) {
                        g.quad_to(p[0], p[1], p[2], p[3]);
                    }
                }
                "ArcSegment" => {
                    let p = pts("Point")?;
                    let size = pts("Size")?;
                    if p.len() != 2 || size.len() != 2 {
                        return Err(self.err(sel, "ArcSegment needs Point and Size pairs"));
                    }
                    let angle = self.num(sel, "RotationAngle", Some(0.0))?;
                    let large = attr(seg, "IsLargeArc") == Some("true");
                    let sweep = attr(seg, "SweepDirection") == Some("Clockwise");
                    g.arc_to(size[0], size[1], angle, large, sweep, p[0], p[1]);
                }
                other => return Err(self.err(sel, format!("unknown segment {other}"))),
            }
        }
        if attr(fig.node, "IsClosed") == Some("true") {
            g.close();
        }
        Ok(())
    }

    fn children<'a>(
        &mut self,
        s: &mut Surface,
        el: El<'a>,
        remote: &HashMap<&'a str, El<'a>>,
        scope: &mut Scope<'a>,
    ) -> R<()> {
        for c in el.node.children().filter(|n| n.is_element()) {
            self.element(
                s,
                El {
                    node: c,
                    part: el.part,
                },
                remote,
                scope,
            )?;
        }
        Ok(())
    }

    fn element<'a>(
        &mut self,
        s: &mut Surface,
        el: El<'a>,
        remote: &HashMap<&'a str, El<'a>>,
        scope: &mut Scope<'a>,
    ) -> R<()> {
        let name = el.node.tag_name().name();
        match name {
            "Canvas" | "Path" | "Glyphs" => {}
            "AlternateContent" => {
                let pick = el
                    .node
                    .children()
                    .find(|n| n.tag_name().name() == "Fallback")
                    .or_else(|| el.node.children().find(|n| n.tag_name().name() == "Choice"));
                if let Some(p) = pick {
                    return self.children(
                        s,
                        El {
                            node: p,
                            part: el.part,
                        },
                        remote,
                        scope,
                    );
                }
                return Ok(());
            }
            _ => return Ok(()),
        }
        scope.drawn += 1;
        if scope.drawn > self.limits.max_elements_per_page {
            return Err(ConvertError::TooManyElements {
                part: self.pkg.display(scope.page_part),
                limit: self.limits.max_elements_per_page,
            });
        }
        if scope.depth >= self.limits.max_depth {
            return Err(ConvertError::TooDeep {
                part: self.pkg.display(el.part),
                element: name.to_string(),
                line: line(el.node),
                limit: self.limits.max_depth,
            });
        }
        let is_canvas = name == "Canvas";
        if is_canvas {
            self.push_resources(el, "Canvas.Resources", remote, scope)?;
        }
        let saved = (scope.ctm, scope.depth);
        let res = self.element_inner(s, el, remote, scope);
        (scope.ctm, scope.depth) = saved;
        if is_canvas {
            scope.resources.pop();
        }
        res
    }

    fn element_inner<'a>(
        &mut self,
        s: &mut Surface,
        el: El<'a>,
        remote: &HashMap<&'a str, El<'a>>,
        scope: &mut Scope<'a>,
    ) -> R<()> {
        let transform = self.transform_prop(el, "RenderTransform", scope)?;
        let clip = match self.prop(el, "Clip", scope)? {
            Some(v) => Some(self.geometry(v, scope)?),
            None => None,
        };
        let opacity = self.num(el, "Opacity", Some(1.0))?.clamp(0.0, 1.0);
        let mask = match self.prop(el, "OpacityMask", scope)? {
            Some(v) => self.brush(v, scope)?,
            None => None,
        };
        if opacity <= 0.0 {
            return Ok(());
        }
        let mut n = 0;
        if !transform.is_identity() {
            s.push_transform(&transform.to_krilla());
            n += 1;
        }
        scope.ctm = transform.then(&scope.ctm);
        scope.depth += 1;
        match clip {
            Some(Some((path, rule, _))) => {
                s.push_clip_path(&path, &rule.to_krilla());
                n += 1;
            }
            Some(None) => {
                // An empty clip hides everything.
                pop_n(s, n);
                return Ok(());
            }
            None => {}
        }
        if opacity < 1.0 {
            s.push_opacity(norm(opacity));
            n += 1;
        }
        let res = (|| -> R<()> {
            if let Some(mb) = &mask {
                let area = self.local_area(scope);
                let mut sb = s.stream_builder();
                let mut ms = sb.surface();
                let r = self.fill_rect(&mut ms, mb, area, remote, scope);
                ms.finish();
                let stream = sb.finish();
                r?;
                s.push_mask(Mask::new(stream, MaskType::Alpha));
                n += 1;
            }
            match el.node.tag_name().name() {
                "Canvas" => self.children(s, el, remote, scope),
                "Path" => self.path(s, el, remote, scope),
                _ => self.glyphs(s, el, remote, scope),
            }
        })();
        pop_n(s, n);
        res
    }

    /// The page rectangle in the current local coordinates.
    fn local_area(&self, scope: &Scope) -> Bounds {
        match scope.ctm.invert() {
            Some(inv) => scope.page.transform(&inv),
            None => Bounds {
                x0: 0.0,
                y0: 0.0,
                x1: 0.0,
                y1: 0.0,
            },
        }
    }

    fn fill_rect<'a>(
        &mut self,
        s: &mut Surface,
        brush: &Brush<'a>,
        area: Bounds,
        remote: &HashMap<&'a str, El<'a>>,
        scope: &mut Scope<'a>,
    ) -> R<()> {
        if area.is_empty() {
            return Ok(());
        }
        if let Some(path) = rect_path(area.x0, area.y0, area.x1 - area.x0, area.y1 - area.y0) {
            self.fill_path(s, &path, FillRule::NonZero, brush, remote, scope)?;
        }
        Ok(())
    }

    fn fill_path<'a>(
        &mut self,
        s: &mut Surface,
        path: &krilla::geom::Path,
        rule: FillRule,
        brush: &Brush<'a>,
        remote: &HashMap<&'a str, El<'a>>,
        scope: &mut Scope<'a>,
    ) -> R<()> {
        if let Brush::Tile(tb) = brush
            && tb.mode == TileMode::None
        {
            // One tile: clip to the geometry and draw it, no pattern needed.
            s.push_clip_path(path, &rule.to_krilla());
            let r = self.draw_tile_once(s, tb, remote, scope);
            s.pop();
            return r;
        }
        if let Some((paint, opacity)) = self.paint(s, brush, remote, scope)? {
            s.set_stroke(None);
            s.set_fill(Some(Fill {
                paint,
                opacity: norm(opacity),
                rule: rule.to_krilla(),
            }));
            s.draw_path(path);
            s.set_fill(None);
        }
        Ok(())
    }

    fn draw_tile_once<'a>(
        &mut self,
        s: &mut Surface,
        tb: &TileBrush<'a>,
        remote: &HashMap<&'a str, El<'a>>,
        scope: &mut Scope<'a>,
    ) -> R<()> {
        let mut n = 0;
        if !tb.transform.is_identity() {
            s.push_transform(&tb.transform.to_krilla());
            n += 1;
        }
        if tb.opacity < 1.0 {
            s.push_opacity(norm(tb.opacity));
            n += 1;
        }
        let saved = scope.ctm;
        scope.ctm = tb.transform.then(&scope.ctm);
        let r = self.draw_tile_content(s, tb, remote, scope);
        scope.ctm = saved;
        pop_n(s, n);
        r
    }

    /// Draw the brush content mapped from Viewbox to Viewport, clipped to the Viewport.
    fn draw_tile_content<'a>(
        &mut self,
        s: &mut Surface,
        tb: &TileBrush<'a>,
        remote: &HashMap<&'a str, El<'a>>,
        scope: &mut Scope<'a>,
    ) -> R<()> {
        let (vx, vy, vw, vh) = tb.viewport;
        let (bx, by, bw, bh) = tb.viewbox;
        let Some(clip) = rect_path(vx, vy, vw, vh) else {
            return Ok(());
        };
        let m = Mat::translate(-bx, -by)
            .then(&Mat::scale(vw / bw, vh / bh))
            .then(&Mat::translate(vx, vy));
        s.push_clip_path(&clip, &krilla::paint::FillRule::NonZero);
        s.push_transform(&m.to_krilla());
        let saved = scope.ctm;
        scope.ctm = m.then(&scope.ctm);
        let r = match &tb.content {
            TileContent::Image(img) => {
                let (w, h) = img.natural_size();
                if let Some(size) = Size::from_wh(w, h) {
                    s.draw_image(img.image.clone(), size);
                }
                Ok(())
            }
            TileContent::Visual(v) => self.element(s, *v, remote, scope),
        };
        scope.ctm = saved;
        s.pop();
        s.pop();
        r
    }

    /// A krilla paint and its opacity, for brushes that can be one.
    fn paint<'a>(
        &mut self,
        s: &mut Surface,
        brush: &Brush<'a>,
        remote: &HashMap<&'a str, El<'a>>,
        scope: &mut Scope<'a>,
    ) -> R<Option<(Paint, f32)>> {
        let stops = |v: &[(f32, Rgba)]| -> Vec<Stop> {
            v.iter()
                .map(|(o, c)| Stop {
                    offset: norm(*o),
                    color: c.to_krilla().into(),
                    opacity: norm(c.a),
                })
                .collect()
        };
        Ok(match brush {
            Brush::Solid(c) => Some((c.to_krilla().into(), c.a)),
            Brush::Linear {
                start,
                end,
                stops: st,
                spread,
                transform,
            } => Some((
                LinearGradient {
                    x1: start.0,
                    y1: start.1,
                    x2: end.0,
                    y2: end.1,
                    transform: transform.to_krilla(),
                    spread_method: *spread,
                    stops: stops(st),
                    anti_alias: true,
                }
                .into(),
                1.0,
            )),
            Brush::Radial {
                center,
                origin,
                rx,
                ry,
                stops: st,
                spread,
                transform,
            } => {
                // An ellipse is a circle of radius rx squeezed vertically about the centre.
                let k = ry / rx;
                let squeeze = Mat::translate(-center.0, -center.1)
                    .then(&Mat::scale(1.0, k))
                    .then(&Mat::translate(center.0, center.1));
                let fy = center.1 + (origin.1 - center.1) / k;
                let to_user = squeeze.then(transform);
                let (mut cx, mut cy, mut cr) = (center.0, center.1, *rx);
                let mut st = st.clone();
                if *spread != SpreadMethod::Pad
                    && let Some(inv) = to_user.invert()
                {
                    // PDF radial shadings only pad: repeat the stops N times on a circle N times
                    // larger about the focal point (t scales linearly along rays from it), N
                    // enough to reach the farthest corner of the visible area.
                    let area = self.local_area(scope).transform(&inv);
                    let gap = cr - ((cx - origin.0).powi(2) + (cy - fy).powi(2)).sqrt();
                    let far = [
                        (area.x0, area.y0),
                        (area.x1, area.y0),
                        (area.x0, area.y1),
                        (area.x1, area.y1),
                    ]
                    .iter()
                    .map(|(x, y)| ((x - origin.0).powi(2) + (y - fy).powi(2)).sqrt())
                    .fold(0.0f32, f32::max);
                    if gap > 0.0 && !area.is_empty() {
                        let n = (far / gap).ceil().clamp(1.0, 256.0) as usize;
                        let mut rep = Vec::with_capacity(n * st.len());
                        for i in 0..n {
                            let flip = *spread == SpreadMethod::Reflect && i % 2 == 1;
                            let period: Vec<(f32, Rgba)> = if flip {
                                st.iter().rev().map(|(o, c)| (1.0 - o, *c)).collect()
                            } else {
                                st.clone()
                            };
                            rep.extend(
                                period
                                    .into_iter()
                                    .map(|(o, c)| ((i as f32 + o) / n as f32, c)),
                            );
                        }
                        let nf = n as f32;
                        cx = origin.0 + nf * (cx - origin.0);
                        cy = fy + nf * (cy - fy);
                        cr *= nf;
                        st = rep;
                    }
                }
                Some((
                    RadialGradient {
                        fx: origin.0,
                        fy,
                        fr: 0.0,
                        cx,
                        cy,
                        cr,
                        transform: to_user.to_krilla(),
                        spread_method: SpreadMethod::Pad,
                        stops: stops(&st),
                        anti_alias: true,
                    }
                    .into(),
                    1.0,
                ))
            }
            Brush::Tile(tb) => {
                let (vx, vy, vw, vh) = tb.viewport;
                let (fx, fy) = match tb.mode {
                    TileMode::FlipX => (2, 1),
                    TileMode::FlipY => (1, 2),
                    TileMode::FlipXY => (2, 2),
                    _ => (1, 1),
                };
                let mut sb = s.stream_builder();
                let mut ts = sb.surface();
                let saved = (scope.ctm, scope.page);
                scope.ctm = Mat::IDENTITY;
                scope.page = Bounds {
                    x0: vx,
                    y0: vy,
                    x1: vx + vw,
                    y1: vy + vh,
                };
                let mut r = Ok(());
                for j in 0..fy {
                    for i in 0..fx {
                        // Copy (i, j) of the tile; odd copies are mirrored.
                        let mut m = Mat::translate(-vx, -vy);
                        if i == 1 {
                            m = m.then(&Mat {
                                m11: -1.0,
                                dx: 2.0 * vw,
                                ..Mat::IDENTITY
                            });
                        }
                        if j == 1 {
                            m = m.then(&Mat {
                                m22: -1.0,
                                dy: 2.0 * vh,
                                ..Mat::IDENTITY
                            });
                        }
                        ts.push_transform(&m.to_krilla());
                        if r.is_ok() {
                            r = self.draw_tile_content(&mut ts, tb, remote, scope);
                        }
                        ts.pop();
                    }
                }
                (scope.ctm, scope.page) = saved;
                ts.finish();
                let stream = sb.finish();
                r?;
                let pt = Mat::translate(vx, vy).then(&tb.transform);
                Some((
                    Pattern {
                        stream,
                        transform: pt.to_krilla(),
                        width: vw * fx as f32,
                        height: vh * fy as f32,
                    }
                    .into(),
                    tb.opacity,
                ))
            }
        })
    }

    fn stops<'a>(&self, el: El<'a>, opacity: f32) -> R<Vec<(f32, Rgba)>> {
        let mut v: Vec<(f32, Rgba)> = Vec::new();
        for gs in el
            .node
            .descendants()
            .filter(|n| n.tag_name().name() == "GradientStop")
        {
            let gel = El {
                node: gs,
                part: el.part,
            };
            let off = self.num(gel, "Offset", None)?;
            let c = self.color(gel, "Color")?;
            v.push((
                off,
                Rgba {
                    a: c.a * opacity,
                    ..c
                },
            ));
        }
        if v.is_empty() {
            return Err(self.err(el, "a gradient needs GradientStops"));
        }
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        // Offsets outside 0..1 are cut at the ends, with the colour interpolated there.
        let at = |t: f32| -> Rgba {
            let i = v.iter().position(|s| s.0 >= t).unwrap_or(v.len() - 1);
            if i == 0 || v[i].0 == t {
                return v[i].1;
            }
            let (a, b) = (v[i - 1], v[i]);
            if a.0 > t {
                return b.1;
            }
            let f = (t - a.0) / (b.0 - a.0);
            let l = |x: f32, y: f32| x + (y - x) * f;
            Rgba {
                r: l(a.1.r, b.1.r),
                g: l(a.1.g, b.1.g),
                b: l(a.1.b, b.1.b),
                a: l(a.1.a, b.1.a),
            }
        };
        let mut out = Vec::new();
        if v[0].0 < 0.0 {
            out.push((0.0, at(0.0)));
        }
        out.extend(v.iter().filter(|s| (0.0..=1.0).contains(&s.0)).copied());
        if v[v.len() - 1].0 > 1.0 {
            out.push((1.0, at(1.0)));
        }
        if out.is_empty() {
            out.push((0.0, at(0.0)));
        }
        if out.len() == 1 {
            out.push((1.0, out[0].1));
        }
        Ok(out)
    }

    fn color(&self, el: El, name: &str) -> R<Rgba> {
        let v = attr(el.node, name).ok_or_else(|| self.err(el, format!("missing {name}")))?;
        color::parse(v).ok_or_else(|| self.err(el, format!("{name}=\"{v}\" is not a colour")))
    }

    fn brush<'a>(&mut self, v: Value<'a>, scope: &Scope<'a>) -> R<Option<Brush<'a>>> {
        let el = match v {
            Value::Text(t, el) => {
                return color::parse(t)
                    .map(|c| Some(Brush::Solid(c)))
                    .ok_or_else(|| self.err(el, format!("\"{t}\" is not a colour")));
            }
            Value::Elem(el) => el,
        };
        let opacity = self.num(el, "Opacity", Some(1.0))?.clamp(0.0, 1.0);
        let spread = || match attr(el.node, "SpreadMethod") {
            Some("Reflect") => SpreadMethod::Reflect,
            Some("Repeat") => SpreadMethod::Repeat,
            _ => SpreadMethod::Pad,
        };
        let point = |name: &str| {
            attr(el.node, name)
                .and_then(parse_point)
                .ok_or_else(|| self.err(el, format!("bad or missing {name}")))
        };
        Ok(Some(match el.node.tag_name().name() {
            "SolidColorBrush" => {
                let c = self.color(el, "Color")?;
                Brush::Solid(Rgba {
                    a: c.a * opacity,
                    ..c
                })
            }
            "LinearGradientBrush" => Brush::Linear {
                start: point("StartPoint")?,
                end: point("EndPoint")?,
                stops: self.stops(el, opacity)?,
                spread: spread(),
                transform: self.transform_prop(el, "Transform", scope)?,
            },
            "RadialGradientBrush" => {
                let (rx, ry) = (
                    self.num(el, "RadiusX", None)?,
                    self.num(el, "RadiusY", None)?,
                );
                if rx <= 0.0 || ry <= 0.0 {
                    return Ok(None);
                }
                Brush::Radial {
                    center: point("Center")?,
                    origin: point("GradientOrigin")?,
                    rx,
                    ry,
                    stops: self.stops(el, opacity)?,
                    spread: spread(),
                    transform: self.transform_prop(el, "Transform", scope)?,
                }
            }
            "ImageBrush" | "VisualBrush" => {
                let rect = |name: &str| {
                    attr(el.node, name)
                        .and_then(parse_rect)
                        .ok_or_else(|| self.err(el, format!("bad or missing {name}")))
                };
                let viewbox = rect("Viewbox")?;
                let viewport = rect("Viewport")?;
                if viewbox.2 <= 0.0 || viewbox.3 <= 0.0 || viewport.2 <= 0.0 || viewport.3 <= 0.0 {
                    return Ok(None);
                }
                let mode = match attr(el.node, "TileMode") {
                    None | Some("None") => TileMode::None,
                    Some("Tile") => TileMode::Tile,
                    Some("FlipX") => TileMode::FlipX,
                    Some("FlipY") => TileMode::FlipY,
                    Some("FlipXY") => TileMode::FlipXY,
                    Some(o) => return Err(self.err(el, format!("TileMode=\"{o}\""))),
                };
                let content = if el.node.tag_name().name() == "ImageBrush" {
                    let src = attr(el.node, "ImageSource")
                        .ok_or_else(|| self.err(el, "missing ImageSource"))?;
                    TileContent::Image(self.image(el, src)?)
                } else {
                    match self.prop(el, "Visual", scope)? {
                        Some(Value::Elem(v)) => TileContent::Visual(v),
                        _ => return Err(self.err(el, "VisualBrush without a Visual")),
                    }
                };
                Brush::Tile(Rc::new(TileBrush {
                    content,
                    viewbox,
                    viewport,
                    mode,
                    transform: self.transform_prop(el, "Transform", scope)?,
                    opacity,
                }))
            }
            other => return Err(self.err(el, format!("{other} is not a brush"))),
        }))
    }

    fn image(&mut self, el: El, src: &str) -> R<Rc<Decoded>> {
        let src = src.trim();
        // {ColorConvertedBitmap image profile}: the image, without the colour conversion.
        let uri = match src.strip_prefix('{') {
            Some(inner) => inner
                .trim_end_matches('}')
                .split_whitespace()
                .nth(1)
                .ok_or_else(|| self.err(el, format!("ImageSource=\"{src}\"")))?,
            None => src,
        };
        let key = resolve(el.part, uri).0;
        if let Some(d) = self.images.get(&key) {
            return Ok(d.clone());
        }
        let bytes = self.pkg.read(&key, &self.pkg.display(el.part))?;
        let d = Rc::new(image_part::decode(
            &self.pkg.display(&key),
            &bytes,
            self.pkg.content_type(&key),
            self.limits,
        )?);
        self.image_pixels += u64::from(d.width) * u64::from(d.height);
        if self.image_pixels > self.limits.max_total_image_pixels {
            return Err(ConvertError::TooManyImagePixels {
                part: self.pkg.display(&key),
                limit: self.limits.max_total_image_pixels,
            });
        }
        self.images.insert(key, d.clone());
        Ok(d)
    }

    fn path<'a>(
        &mut self,
        s: &mut Surface,
        el: El<'a>,
        remote: &HashMap<&'a str, El<'a>>,
        scope: &mut Scope<'a>,
    ) -> R<()> {
        let Some(data) = self.prop(el, "Data", scope)? else {
            return Ok(());
        };
        let Some((path, rule, _bounds)) = self.geometry(data, scope)? else {
            return Ok(());
        };
        let fill = match self.prop(el, "Fill", scope)? {
            Some(v) => self.brush(v, scope)?,
            None => None,
        };
        let stroke = match self.prop(el, "Stroke", scope)? {
            Some(v) => self.brush(v, scope)?,
            None => None,
        };
        if let Some(b) = &fill {
            self.fill_path(s, &path, rule, b, remote, scope)?;
        }
        if let Some(b) = &stroke {
            let width = self.num(el, "StrokeThickness", Some(1.0))?.max(0.0);
            if width > 0.0
                && let Some((paint, opacity)) = self.paint(s, b, remote, scope)?
            {
                let cap = |name: &str| match attr(el.node, name) {
                    Some("Round") | Some("Triangle") => LineCap::Round,
                    Some("Square") => LineCap::Square,
                    _ => LineCap::Butt,
                };
                let dash = match attr(el.node, "StrokeDashArray").and_then(geometry::numbers) {
                    Some(a)
                        if !a.is_empty()
                            && a.iter().all(|v| *v >= 0.0)
                            && a.iter().sum::<f32>() > 0.0 =>
                    {
                        Some(StrokeDash {
                            array: a.iter().map(|v| v * width).collect(),
                            offset: self.num(el, "StrokeDashOffset", Some(0.0))? * width,
                        })
                    }
                    _ => None,
                };
                let line_cap = if dash.is_some() {
                    cap("StrokeDashCap")
                } else {
                    cap("StrokeStartLineCap")
                };
                let line_join = match attr(el.node, "StrokeLineJoin") {
                    Some("Miter") => LineJoin::Miter,
                    Some("Bevel") => LineJoin::Bevel,
                    _ => LineJoin::Round,
                };
                s.set_fill(None);
                s.set_stroke(Some(Stroke {
                    paint,
                    width,
                    miter_limit: self.num(el, "StrokeMiterLimit", Some(10.0))?.max(1.0),
                    line_cap,
                    line_join,
                    opacity: norm(opacity),
                    dash,
                }));
                s.draw_path(&path);
                s.set_stroke(None);
            }
        }
        Ok(())
    }

    fn font(&mut self, el: El, uri: &str) -> R<Rc<LoadedFont>> {
        let (key, frag) = resolve(el.part, uri);
        let index: u32 = frag.and_then(|f| f.trim().parse().ok()).unwrap_or(0);
        if let Some(f) = self.fonts.get(&(key.clone(), index)) {
            return Ok(f.clone());
        }
        let display = self.pkg.display(&key);
        let bytes = self.pkg.read(&key, &self.pkg.display(el.part))?;
        let mut data = bytes.as_ref().clone();
        let obfuscated = self
            .pkg
            .content_type(&key)
            .is_some_and(|t| t.contains("obfuscated"))
            || key.ends_with(".odttf");
        if obfuscated {
            let k = font::guid_key(&display).ok_or_else(|| ConvertError::Font {
                part: display.clone(),
                reason: "obfuscated font whose name is not a GUID".into(),
            })?;
            font::xor_obfuscation(&mut data, &k);
        }
        let data = Arc::new(data);
        let bad = || ConvertError::Font {
            part: display.clone(),
            reason: if obfuscated {
                "not an OpenType font after de-obfuscation".into()
            } else {
                "not an OpenType font".into()
            },
        };
        let metrics = Metrics::new(data.clone(), index).ok_or_else(bad)?;
        let font = Font::new(data.into(), index).ok_or_else(bad)?;
        let f = Rc::new(LoadedFont { font, metrics });
        self.fonts.insert((key, index), f.clone());
        Ok(f)
    }

    fn glyphs<'a>(
        &mut self,
        s: &mut Surface,
        el: El<'a>,
        remote: &HashMap<&'a str, El<'a>>,
        scope: &mut Scope<'a>,
    ) -> R<()> {
        let Some(fill) = (match self.prop(el, "Fill", scope)? {
            Some(v) => self.brush(v, scope)?,
            None => None,
        }) else {
            return Ok(());
        };
        let uri = attr(el.node, "FontUri").ok_or_else(|| self.err(el, "missing FontUri"))?;
        let size = self.num(el, "FontRenderingEmSize", None)?;
        let ox = self.num(el, "OriginX", None)?;
        let oy = self.num(el, "OriginY", None)?;
        if size.is_nan() || size <= 0.0 {
            return Ok(());
        }
        let lf = self.font(el, uri)?;
        let text = attr(el.node, "UnicodeString").unwrap_or("");
        let text = text.strip_prefix("{}").unwrap_or(text);
        let rtl = attr(el.node, "BidiLevel")
            .and_then(|v| v.trim().parse::<u32>().ok())
            .is_some_and(|l| l % 2 == 1);
        let run = layout(
            text,
            attr(el.node, "Indices").unwrap_or(""),
            &lf.metrics,
            rtl,
        )
        .map_err(|e| self.err(el, format!("Indices: {e}")))?;
        if run.is_empty() {
            return Ok(());
        }
        let sims = attr(el.node, "StyleSimulations").unwrap_or("None");
        let mut n = 0;
        if sims.contains("Italic") {
            // About 20 degrees of slant, about the baseline.
            let k = 0.35;
            s.push_transform(
                &Mat {
                    m21: -k,
                    dx: k * oy,
                    ..Mat::IDENTITY
                }
                .to_krilla(),
            );
            n += 1;
        }
        let r = (|| -> R<()> {
            let Some((paint, opacity)) = self.paint(s, &fill, remote, scope)? else {
                return Ok(());
            };
            s.set_fill(Some(Fill {
                paint: paint.clone(),
                opacity: norm(opacity),
                rule: krilla::paint::FillRule::NonZero,
            }));
            if sims.contains("Bold") {
                s.set_stroke(Some(Stroke {
                    paint,
                    width: size * 0.02,
                    opacity: norm(opacity),
                    line_join: LineJoin::Round,
                    ..Stroke::default()
                }));
            }
            s.draw_glyphs(
                Point::from_xy(ox, oy),
                &run,
                lf.font.clone(),
                text,
                size,
                false,
            );
            s.set_fill(None);
            s.set_stroke(None);
            Ok(())
        })();
        pop_n(s, n);
        r
    }
}

/// Glyph placement from `Indices` and `UnicodeString` (ECMA-388 §5.1.3): entries
/// `[(cluster-chars[:cluster-glyphs])][glyph-id][,advance[,u-offset[,v-offset]]]`, advances and
/// offsets in 1/100 em; chars left after the entries get cmap glyphs and font advances.
pub(crate) fn layout(
    text: &str,
    indices: &str,
    m: &Metrics,
    rtl: bool,
) -> Result<Vec<KrillaGlyph>, String> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    // UTF-16 unit index → byte offset in text (a surrogate's second unit maps past its char).
    let mut unit_byte: Vec<usize> = Vec::with_capacity(text.len() + 1);
    let mut unit_char: Vec<Option<char>> = Vec::new();
    for &(b, c) in &chars {
        unit_byte.push(b);
        unit_char.push(Some(c));
        if c.len_utf16() == 2 {
            unit_byte.push(b + c.len_utf8());
            unit_char.push(None);
        }
    }
    let units = unit_byte.len();
    unit_byte.push(text.len());
    let byte_at = |u: usize| unit_byte[u.min(units)];
    let cmap = |u: usize| -> u32 {
        match unit_char.get(u).copied().flatten() {
            Some(c) => m.map_chars(&[c])[0],
            None => 0,
        }
    };
    struct G {
        gid: Option<u32>,
        adv: Option<f32>,
        u: f32,
        v: f32,
        range: std::ops::Range<usize>,
        unit: usize,
    }
    let mut out: Vec<G> = Vec::new();
    let entries: Vec<&str> = if indices.trim().is_empty() {
        Vec::new()
    } else {
        indices.split(';').collect()
    };
    let field = |s: &str| -> Result<Option<f32>, String> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        s.parse::<f32>()
            .ok()
            .filter(|v| v.is_finite())
            .map(Some)
            .ok_or_else(|| format!("'{s}' is not a number"))
    };
    let mut cu = 0usize;
    let mut i = 0;
    while i < entries.len() {
        let e = entries[i].trim();
        let (mut cc, mut gc, rest) = (1usize, 1usize, e);
        let rest = if let Some(r) = rest.strip_prefix('(') {
            let (spec, after) = r.split_once(')').ok_or("unclosed cluster map")?;
            let (a, b) = spec.split_once(':').unwrap_or((spec, "1"));
            cc = a
                .trim()
                .parse()
                .map_err(|_| format!("bad cluster '{spec}'"))?;
            gc = b
                .trim()
                .parse()
                .map_err(|_| format!("bad cluster '{spec}'"))?;
            if gc == 0 {
                return Err(format!("cluster '{spec}' maps to no glyph"));
            }
            after
        } else {
            rest
        };
        let range = byte_at(cu)..byte_at(cu + cc);
        for k in 0..gc {
            let entry = if k == 0 {
                rest
            } else {
                match entries.get(i + k) {
                    Some(e) => e.trim(),
                    None => "",
                }
            };
            let mut f = entry.split(',');
            let gid = field(f.next().unwrap_or(""))?;
            let adv = field(f.next().unwrap_or(""))?;
            let u = field(f.next().unwrap_or(""))?.unwrap_or(0.0);
            let v = field(f.next().unwrap_or(""))?.unwrap_or(0.0);
            if f.next().is_some() {
                return Err(format!("too many fields in '{entry}'"));
            }
            out.push(G {
                gid: gid.map(|g| g as u32),
                adv,
                u,
                v,
                range: range.clone(),
                unit: if k == 0 && cc > 0 { cu } else { usize::MAX },
            });
        }
        cu += cc;
        i += gc;
    }
    while cu < units {
        if unit_char[cu].is_some() {
            out.push(G {
                gid: None,
                adv: None,
                u: 0.0,
                v: 0.0,
                range: byte_at(cu)..byte_at(cu + unit_char[cu].map_or(1, |c| c.len_utf16())),
                unit: cu,
            });
        }
        cu += 1;
    }
    let gids: Vec<u32> = out
        .iter()
        .map(|g| match g.gid {
            Some(id) if id < m.num_glyphs => id,
            Some(_) => 0,
            None => cmap(g.unit),
        })
        .collect();
    let font_adv = m.advances(&gids);
    Ok(out
        .into_iter()
        .zip(gids)
        .zip(font_adv)
        .map(|((g, gid), fa)| {
            let adv = g.adv.map_or(fa, |a| a / 100.0);
            let (xa, xo) = if rtl {
                (-adv, -adv - g.u / 100.0)
            } else {
                (adv, g.u / 100.0)
            };
            KrillaGlyph::new(GlyphId::new(gid), xa, xo, g.v / 100.0, 0.0, g.range, None)
        })
        .collect())
}
