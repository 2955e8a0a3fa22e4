//! How much drawing a PDF page asks for once everything it draws through is expanded: form
//! XObjects, tiling patterns, soft masks, Type 3 glyphs and annotation appearances, each
//! counted once per use (inline images, which live inside content, get their filter chains
//! measured here too), so a form that draws the next twice, 45 levels deep, costs 2^45 and is
//! refused before hayro starts on it. Each stream is parsed once (costs are remembered per
//! stream and resource scope), so the check costs one tokenising pass over the document's
//! content, not an interpretation. The same pass measures the edges each page's paths paint
//! (`path_load`), which the renderer bounds once it knows the page's resolution.

use super::filter_chain::{decoded_bytes, filters_with_params};
use super::path_load::{PathLoad, PathTracker, matrix, stretch};
use super::pdf::MAX_STREAM_DECODED;
use hayro::hayro_syntax::Pdf;
use hayro::hayro_syntax::content::UntypedIter;
use hayro::hayro_syntax::object::{Array, Dict, Name, Object, ObjectIdentifier, Stream};
use hayro::hayro_syntax::page::{Page, Resources};
use std::collections::{HashMap, HashSet};

/// Most content operators one page may run after expansion. Far above any real page (the
/// densest in the fidelity corpus is listed in the crate README) and far below what makes
/// hayro and vello run out of memory on paths that fan out.
pub(super) const MAX_PAGE_OPERATORS: u64 = 1_000_000;

/// What drawing one page costs, as the tokenising pass measured it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PageCost {
    /// Content operators the page runs once its forms, patterns and glyph procedures are
    /// expanded: what hayro interprets each time the page is drawn (once per band).
    pub operators: u64,
    /// The edges its paths paint, which the renderer bounds at the job's resolution.
    pub paths: PathLoad,
}

/// Refuses the first page whose expanded drawing passes [`MAX_PAGE_OPERATORS`], or that draws
/// through itself; the error names the page (1-based) and why. Otherwise gives each page's
/// cost.
pub(super) fn check_pages(pdf: &Pdf) -> Result<Vec<PageCost>, String> {
    let mut counter = Counter::default();
    let mut costs = Vec::with_capacity(pdf.pages().len());
    for (index, page) in pdf.pages().iter().enumerate() {
        let number = index + 1;
        let (operators, paths) =
            page_cost(&mut counter, page, index).map_err(|refusal| match refusal {
                Refusal::TooComplex => format!(
                    "page {number} draws more than {MAX_PAGE_OPERATORS} operators once its forms, \
                 patterns and Type 3 glyphs are expanded"
                ),
                Refusal::InlineImageBomb => format!(
                    "page {number} has an inline image that decodes to more than {} MiB (a \
                 decompression bomb)",
                    MAX_STREAM_DECODED >> 20
                ),
                Refusal::DrawsItself(id) => {
                    format!("page {number} draws object {id:?} inside itself (a cycle)")
                }
            })?;
        costs.push(PageCost { operators, paths });
        counter.parsed = 0;
    }
    Ok(costs)
}

fn page_cost(
    counter: &mut Counter,
    page: &Page<'_>,
    index: usize,
) -> Result<(u64, PathLoad), Refusal> {
    let scope = Scope::Page(index);
    let over = |_| Refusal::TooComplex;
    let mut cost = 0u64;
    let mut load = PathLoad::default();
    for content in page_contents(page.raw()) {
        let (drawn, paths) = counter.content(&content, page.resources(), scope)?;
        cost = add(cost, drawn).map_err(over)?;
        load.add_scaled(paths, 1.0);
    }
    if let Some(annotations) = page.raw().get::<Array<'_>>(b"Annots") {
        for annotation in annotations.iter::<Dict<'_>>() {
            for appearance in appearances(&annotation) {
                let (drawn, paths) = counter.form(&appearance, page.resources(), scope)?;
                cost = add(cost, drawn).map_err(over)?;
                load.add_scaled(paths, stretch(form_matrix(&appearance)));
            }
        }
    }
    Ok((cost, load))
}

/// A form's, pattern's or soft-mask group's `Matrix`: its units to those it is drawn in.
fn form_matrix(stream: &Stream<'_>) -> hayro::kurbo::Affine {
    matrix(stream.dict().get::<[f64; 6]>(b"Matrix"))
}

/// The decoded content streams of a page (one, or an array of them).
fn page_contents(page: &Dict<'_>) -> Vec<Vec<u8>> {
    let decode = |s: Stream<'_>| s.decoded().ok().map(|d| d.into_owned());
    if let Some(stream) = page.get::<Stream<'_>>(b"Contents") {
        decode(stream).into_iter().collect()
    } else if let Some(array) = page.get::<Array<'_>>(b"Contents") {
        array.iter::<Stream<'_>>().filter_map(decode).collect()
    } else {
        Vec::new()
    }
}

/// The normal appearance streams of an annotation (all states: which one shows is the
/// annotation's business, each is bounded).
fn appearances<'a>(annotation: &Dict<'a>) -> Vec<Stream<'a>> {
    let Some(ap) = annotation.get::<Dict<'a>>(b"AP") else {
        return Vec::new();
    };
    if let Some(stream) = ap.get::<Stream<'a>>(b"N") {
        return vec![stream];
    }
    ap.get::<Dict<'a>>(b"N")
        .map(|states| {
            states
                .keys()
                .filter_map(|k| states.get::<Stream<'a>>(k.as_ref()))
                .collect()
        })
        .unwrap_or_default()
}

/// Which resources a stream's names are looked up in: the page's, or those of the form (or
/// pattern, or Type 3 font) that declared its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Scope {
    Page(usize),
    Own(ObjectIdentifier),
}

/// Why a page is refused.
enum Refusal {
    TooComplex,
    InlineImageBomb,
    DrawsItself(ObjectIdentifier),
}

/// A cost over the bound: the page is refused.
struct OverBound;

fn add(a: u64, b: u64) -> Result<u64, OverBound> {
    let sum = a.saturating_add(b);
    if sum > MAX_PAGE_OPERATORS {
        Err(OverBound)
    } else {
        Ok(sum)
    }
}

#[derive(Default)]
struct Counter {
    /// Expanded cost and path load of each stream already counted, per scope its names
    /// resolve in.
    known: HashMap<(ObjectIdentifier, Scope), (u64, PathLoad)>,
    /// Streams being counted now: meeting one again is a stream that draws itself. (hayro does
    /// not resolve a reference back into an object it is resolving, so such a cycle reaches us
    /// through inherited resources: a form without its own that draws the page's name for it.)
    open: HashSet<ObjectIdentifier>,
    /// Operators parsed for the current page, memoised streams included once: the pass's own
    /// work, bounded like the page.
    parsed: u64,
}

impl Counter {
    /// Expanded cost and path load (in its own units) of a form-like stream (form XObject,
    /// tiling pattern, soft-mask group, Type 3 glyph, appearance), drawn from a stream whose
    /// scope is `outer`.
    fn form<'a>(
        &mut self,
        stream: &Stream<'a>,
        outer_resources: &Resources<'a>,
        outer: Scope,
    ) -> Result<(u64, PathLoad), Refusal> {
        let id = stream.obj_id();
        let own = stream.dict().get::<Dict<'a>>(b"Resources");
        let scope = if own.is_some() { Scope::Own(id) } else { outer };
        if let Some(&cost) = self.known.get(&(id, scope)) {
            return Ok(cost);
        }
        if !self.open.insert(id) {
            return Err(Refusal::DrawsItself(id));
        }
        let resources = own.map(Resources::new);
        let data = stream.decoded().map(|d| d.into_owned()).unwrap_or_default();
        let cost = self.content(&data, resources.as_ref().unwrap_or(outer_resources), scope);
        self.open.remove(&id);
        let cost = cost?;
        self.known.insert((id, scope), cost);
        Ok(cost)
    }

    /// Expanded cost of one content stream: one per operator, plus what each operator draws
    /// through; and the path load of all it paints, in its own units.
    fn content<'a>(
        &mut self,
        data: &[u8],
        resources: &Resources<'a>,
        scope: Scope,
    ) -> Result<(u64, PathLoad), Refusal> {
        let mut cost = 0u64;
        let mut glyph_cost = 1u64;
        let mut paths = PathTracker::default();
        let mut operators = UntypedIter::new(data);
        while let Some(instruction) = operators.next() {
            self.parsed += 1;
            if self.parsed > MAX_PAGE_OPERATORS {
                return Err(Refusal::TooComplex);
            }
            let operator: &[u8] = instruction.operator;
            paths.instruction(operator, instruction.operands());
            let last_name = || {
                instruction
                    .operands()
                    .last()
                    .and_then(|o| o.clone().into_name())
            };
            let drawn = match operator {
                b"Do" => match last_name().and_then(|name| resources.get_x_object(&name)) {
                    Some(x) if is_name(x.dict(), b"Subtype", b"Form") => {
                        let (drawn, load) = self.form(&x, resources, scope)?;
                        paths.add_drawn(load, paths.ctm() * form_matrix(&x));
                        drawn
                    }
                    _ => 0,
                },
                b"scn" | b"SCN" => match last_name()
                    .and_then(|name| resources.get_pattern(&name))
                    .and_then(|p| p.into_stream())
                {
                    Some(tiling) => {
                        // Pattern space is the stream's own, whatever the CTM.
                        let (drawn, load) = self.form(&tiling, resources, scope)?;
                        paths.add_drawn(load, form_matrix(&tiling));
                        drawn
                    }
                    None => 0,
                },
                b"gs" => match last_name()
                    .and_then(|name| resources.get_ext_g_state(&name))
                    .and_then(|gs| gs.get::<Dict<'a>>(b"SMask"))
                    .and_then(|mask| mask.get::<Stream<'a>>(b"G"))
                {
                    Some(group) => {
                        let (drawn, load) = self.form(&group, resources, scope)?;
                        paths.add_drawn(load, paths.ctm() * form_matrix(&group));
                        drawn
                    }
                    None => 0,
                },
                b"Tf" => {
                    let font = instruction
                        .operands()
                        .next()
                        .and_then(|o| o.clone().into_name())
                        .and_then(|name| resources.get_font(&name));
                    glyph_cost = match font {
                        Some(font) if is_name(&font, b"Subtype", b"Type3") => {
                            self.type3_glyph(&font, resources, scope)?
                        }
                        _ => 1,
                    };
                    0
                }
                b"BI" => {
                    // An inline image's filters are a chain like any stream's.
                    if let Some(Object::Stream(image)) = instruction.operands().next() {
                        let chain = filters_with_params(image.dict());
                        decoded_bytes(&image.raw_data(), &chain, MAX_STREAM_DECODED)
                            .map_err(|_| Refusal::InlineImageBomb)?;
                    }
                    0
                }
                b"Tj" | b"'" | b"\"" | b"TJ" if glyph_cost > 1 => {
                    glyph_cost.saturating_mul(glyph_count(instruction.operands()))
                }
                _ => 0,
            };
            cost = add(cost, 1)
                .and_then(|c| add(c, drawn))
                .map_err(|_| Refusal::TooComplex)?;
        }
        Ok((cost, paths.painted()))
    }

    /// The dearest glyph of a Type 3 font: what each byte shown in it may cost.
    fn type3_glyph<'a>(
        &mut self,
        font: &Dict<'a>,
        outer_resources: &Resources<'a>,
        outer: Scope,
    ) -> Result<u64, Refusal> {
        let Some(procs) = font.get::<Dict<'a>>(b"CharProcs") else {
            return Ok(1);
        };
        let font_resources = font.get::<Dict<'a>>(b"Resources").map(Resources::new);
        let resources = font_resources.as_ref().unwrap_or(outer_resources);
        let mut dearest = 1;
        for key in procs.keys() {
            if let Some(glyph) = procs.get::<Stream<'a>>(key.as_ref()) {
                dearest = dearest.max(self.form(&glyph, resources, outer)?.0);
            }
        }
        Ok(dearest)
    }
}

fn is_name(dict: &Dict<'_>, key: &[u8], value: &[u8]) -> bool {
    dict.get::<Name<'_>>(key).as_deref() == Some(value)
}

/// Bytes of text a show operator draws (an upper bound on its glyphs).
fn glyph_count<'b>(operands: impl Iterator<Item = &'b Object<'b>>) -> u64 {
    operands
        .map(|o| match o {
            Object::String(s) => s.as_bytes().len() as u64,
            Object::Array(a) => a
                .iter::<Object<'_>>()
                .map(|item| match item {
                    Object::String(s) => s.as_bytes().len() as u64,
                    _ => 0,
                })
                .sum(),
            _ => 0,
        })
        .sum()
}
