//! How much drawing a PDF page asks for once everything it draws through is expanded: form
//! XObjects, tiling patterns, soft masks, Type 3 glyphs and annotation appearances, each
//! counted once per use (inline images, which live inside content, get their filter chains
//! measured here too), so a form that draws the next twice, 45 levels deep, costs 2^45 and is
//! refused before hayro starts on it. The content bytes hayro decodes and scans are counted the
//! same way, every listing of a page's content streams and every use of a form included, so a
//! stream listed or drawn many times is bounded by what it costs each time, not once. Each stream
//! is parsed once (costs are remembered per stream and resource scope), so the check costs one
//! tokenising pass over the document's content, not an interpretation. The same pass measures the edges each page's paths paint
//! (`path_load`), which the renderer bounds once it knows the page's resolution.

use super::filter_chain::{decoded_bytes, filters_with_params};
use super::path_load::{PathLoad, PathTracker, matrix, stretch};
use super::pdf::{MAX_DOCUMENT_DECODED, MAX_STREAM_DECODED};
use hayro::hayro_syntax::Pdf;
use hayro::hayro_syntax::content::UntypedIter;
use hayro::hayro_syntax::object::{Array, Dict, Name, Object, ObjectIdentifier, Stream};
use hayro::hayro_syntax::page::{Page, Resources};
use std::collections::{HashMap, HashSet};

/// Most content operators one page may run after expansion. Far above any real page (the
/// densest in the fidelity corpus is listed in the crate README) and far below what makes
/// hayro and vello run out of memory on paths that fan out.
pub(super) const MAX_PAGE_OPERATORS: u64 = 1_000_000;

/// Most bytes of decoded content one page may give hayro to scan, counting every listing of
/// its content streams and every use of what it draws through: hayro decodes a stream again
/// each time it is listed or drawn, and whitespace, comments and long strings cost it time
/// (and the listings memory) without costing operators. A page listing one stream of the most
/// a stream may decode to still fits.
pub(super) const MAX_PAGE_CONTENT_BYTES: u64 = MAX_STREAM_DECODED;

/// What each stream of the document decodes to (its last filter's output), measured once by
/// the bomb check, so a listing's cost is known before it is decoded.
pub(super) type ContentSizes = HashMap<ObjectIdentifier, u64>;

/// What drawing one page costs, as the tokenising pass measured it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PageCost {
    /// Content operators the page runs once its forms, patterns and glyph procedures are
    /// expanded: what hayro interprets each time the page is drawn (once per band).
    pub operators: u64,
    /// The edges its paths paint, which the renderer bounds at the job's resolution.
    pub paths: PathLoad,
}

/// Refuses the first page whose expanded drawing passes [`MAX_PAGE_OPERATORS`] or
/// [`MAX_PAGE_CONTENT_BYTES`], or that draws through itself, and a document whose pages list
/// more content than [`MAX_DOCUMENT_DECODED`]; the error names the page (1-based) and why.
/// Otherwise gives each page's cost.
pub(super) fn check_pages(pdf: &Pdf, sizes: &ContentSizes) -> Result<Vec<PageCost>, String> {
    check_listed_content(pdf, sizes)?;
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
                Refusal::TooMuchContent => too_much_content(number),
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

fn too_much_content(number: usize) -> String {
    format!(
        "page {number} has more than {} MiB of content to decode and scan once every listing of \
         its content streams and every use of its forms, patterns and Type 3 glyphs is counted",
        MAX_PAGE_CONTENT_BYTES >> 20
    )
}

/// Refuses, before any page's content is decoded, a page whose listed content streams alone
/// pass [`MAX_PAGE_CONTENT_BYTES`], and a document whose pages list more than
/// [`MAX_DOCUMENT_DECODED`] together: hayro joins each page's listed streams into one buffer
/// that it keeps while the document is open, so a stream listed twice, or by two pages, is
/// decoded and held twice. (The bomb check counts each stream once.)
fn check_listed_content(pdf: &Pdf, sizes: &ContentSizes) -> Result<(), String> {
    let mut document = 0u64;
    for (index, page) in pdf.pages().iter().enumerate() {
        let number = index + 1;
        let listed = content_streams(page.raw())
            .iter()
            .fold(0u64, |sum, stream| {
                sum.saturating_add(content_size(sizes, stream))
            });
        if listed > MAX_PAGE_CONTENT_BYTES {
            return Err(too_much_content(number));
        }
        document += listed;
        if document > MAX_DOCUMENT_DECODED {
            return Err(format!(
                "its pages' content streams decode to more than {} MiB together, counting a \
                 stream once per listing (page {number} passed it)",
                MAX_DOCUMENT_DECODED >> 20
            ));
        }
    }
    Ok(())
}

/// What a stream decodes to: measured by the bomb check, or (for a stream it did not list)
/// streamed through its filters now, never into memory; past the bound if it cannot be.
fn content_size(sizes: &ContentSizes, stream: &Stream<'_>) -> u64 {
    sizes.get(&stream.obj_id()).copied().unwrap_or_else(|| {
        let chain = filters_with_params(stream.dict());
        decoded_bytes(&stream.raw_data(), &chain, MAX_STREAM_DECODED)
            .map_or(u64::MAX, |decoded| decoded.output)
    })
}

fn page_cost(
    counter: &mut Counter,
    page: &Page<'_>,
    index: usize,
) -> Result<(u64, PathLoad), Refusal> {
    let scope = Scope::Page(index);
    let mut cost = Expanded::default();
    let mut load = PathLoad::default();
    // One listing decoded at a time: their sizes were bounded before any was decoded.
    for stream in content_streams(page.raw()) {
        let content = stream.decoded().map(|d| d.into_owned()).unwrap_or_default();
        let drawn = counter.content(&content, page.resources(), scope)?;
        cost = cost.plus(drawn, 1)?;
        load.add_scaled(drawn.paths, 1.0);
    }
    if let Some(annotations) = page.raw().get::<Array<'_>>(b"Annots") {
        for annotation in annotations.iter::<Dict<'_>>() {
            for appearance in appearances(&annotation) {
                let drawn = counter.form(&appearance, page.resources(), scope)?;
                cost = cost.plus(drawn, 1)?;
                load.add_scaled(drawn.paths, stretch(form_matrix(&appearance)));
            }
        }
    }
    Ok((cost.operators, load))
}

/// A form's, pattern's or soft-mask group's `Matrix`: its units to those it is drawn in.
fn form_matrix(stream: &Stream<'_>) -> hayro::kurbo::Affine {
    matrix(stream.dict().get::<[f64; 6]>(b"Matrix"))
}

/// The content streams a page lists (one, or an array of them, a stream as often as it is
/// listed).
fn content_streams<'a>(page: &Dict<'a>) -> Vec<Stream<'a>> {
    if let Some(stream) = page.get::<Stream<'a>>(b"Contents") {
        vec![stream]
    } else if let Some(array) = page.get::<Array<'a>>(b"Contents") {
        array.iter::<Stream<'a>>().collect()
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
    TooMuchContent,
    InlineImageBomb,
    DrawsItself(ObjectIdentifier),
}

/// What drawing a stream costs once everything it draws through is expanded.
#[derive(Debug, Clone, Copy, Default)]
struct Expanded {
    /// Content operators run.
    operators: u64,
    /// Decoded content bytes scanned: its own and those of every stream it draws, per use.
    content_bytes: u64,
    /// Path load of all it paints, in its own units.
    paths: PathLoad,
}

impl Expanded {
    /// This cost plus `drawn`'s operators and content bytes `times` over, or the refusal for
    /// the bound that passes. (Path loads are added by callers, who know the drawn units.)
    fn plus(self, drawn: Expanded, times: u64) -> Result<Expanded, Refusal> {
        let within = |so_far: u64, more: u64, bound: u64| {
            let sum = so_far.saturating_add(more.saturating_mul(times));
            (sum <= bound).then_some(sum)
        };
        Ok(Expanded {
            operators: within(self.operators, drawn.operators, MAX_PAGE_OPERATORS)
                .ok_or(Refusal::TooComplex)?,
            content_bytes: within(
                self.content_bytes,
                drawn.content_bytes,
                MAX_PAGE_CONTENT_BYTES,
            )
            .ok_or(Refusal::TooMuchContent)?,
            paths: self.paths,
        })
    }
}

#[derive(Default)]
struct Counter {
    /// Expanded cost of each stream already counted, per scope its names resolve in.
    known: HashMap<(ObjectIdentifier, Scope), Expanded>,
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
    ) -> Result<Expanded, Refusal> {
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

    /// Expanded cost of one content stream: one per operator and its own bytes, plus what each
    /// operator draws through; and the path load of all it paints, in its own units.
    fn content<'a>(
        &mut self,
        data: &[u8],
        resources: &Resources<'a>,
        scope: Scope,
    ) -> Result<Expanded, Refusal> {
        let own_bytes = Expanded {
            content_bytes: data.len() as u64,
            ..Expanded::default()
        };
        let one_operator = Expanded {
            operators: 1,
            ..Expanded::default()
        };
        let mut cost = Expanded::default().plus(own_bytes, 1)?;
        // The dearest glyph of the current font, if it is a Type 3 font.
        let mut type3_glyph = None;
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
            let (drawn, times) = match operator {
                b"Do" => match last_name().and_then(|name| resources.get_x_object(&name)) {
                    Some(x) if is_name(x.dict(), b"Subtype", b"Form") => {
                        let drawn = self.form(&x, resources, scope)?;
                        paths.add_drawn(drawn.paths, paths.ctm() * form_matrix(&x));
                        (drawn, 1)
                    }
                    _ => (Expanded::default(), 0),
                },
                b"scn" | b"SCN" => match last_name()
                    .and_then(|name| resources.get_pattern(&name))
                    .and_then(|p| p.into_stream())
                {
                    Some(tiling) => {
                        // Pattern space is the stream's own, whatever the CTM.
                        let drawn = self.form(&tiling, resources, scope)?;
                        paths.add_drawn(drawn.paths, form_matrix(&tiling));
                        (drawn, 1)
                    }
                    None => (Expanded::default(), 0),
                },
                b"gs" => match last_name()
                    .and_then(|name| resources.get_ext_g_state(&name))
                    .and_then(|gs| gs.get::<Dict<'a>>(b"SMask"))
                    .and_then(|mask| mask.get::<Stream<'a>>(b"G"))
                {
                    Some(group) => {
                        let drawn = self.form(&group, resources, scope)?;
                        paths.add_drawn(drawn.paths, paths.ctm() * form_matrix(&group));
                        (drawn, 1)
                    }
                    None => (Expanded::default(), 0),
                },
                b"Tf" => {
                    let font = instruction
                        .operands()
                        .next()
                        .and_then(|o| o.clone().into_name())
                        .and_then(|name| resources.get_font(&name));
                    type3_glyph = match font {
                        Some(font) if is_name(&font, b"Subtype", b"Type3") => {
                            Some(self.type3_glyph(&font, resources, scope)?)
                        }
                        _ => None,
                    };
                    (Expanded::default(), 0)
                }
                b"BI" => {
                    // An inline image's filters are a chain like any stream's.
                    if let Some(Object::Stream(image)) = instruction.operands().next() {
                        let chain = filters_with_params(image.dict());
                        decoded_bytes(&image.raw_data(), &chain, MAX_STREAM_DECODED)
                            .map_err(|_| Refusal::InlineImageBomb)?;
                    }
                    (Expanded::default(), 0)
                }
                b"Tj" | b"'" | b"\"" | b"TJ" => match type3_glyph {
                    // A glyph of one operator is counted as the show operator itself.
                    Some(glyph) => (
                        Expanded {
                            operators: if glyph.operators > 1 {
                                glyph.operators
                            } else {
                                0
                            },
                            ..glyph
                        },
                        glyph_count(instruction.operands()),
                    ),
                    None => (Expanded::default(), 0),
                },
                _ => (Expanded::default(), 0),
            };
            cost = cost.plus(one_operator, 1)?.plus(drawn, times)?;
        }
        Ok(Expanded {
            paths: paths.painted(),
            ..cost
        })
    }

    /// The dearest glyph of a Type 3 font, by operators and by content bytes: what each byte
    /// shown in it may cost.
    fn type3_glyph<'a>(
        &mut self,
        font: &Dict<'a>,
        outer_resources: &Resources<'a>,
        outer: Scope,
    ) -> Result<Expanded, Refusal> {
        let mut dearest = Expanded {
            operators: 1,
            ..Expanded::default()
        };
        let Some(procs) = font.get::<Dict<'a>>(b"CharProcs") else {
            return Ok(dearest);
        };
        let font_resources = font.get::<Dict<'a>>(b"Resources").map(Resources::new);
        let resources = font_resources.as_ref().unwrap_or(outer_resources);
        for key in procs.keys() {
            if let Some(glyph) = procs.get::<Stream<'a>>(key.as_ref()) {
                let cost = self.form(&glyph, resources, outer)?;
                dearest.operators = dearest.operators.max(cost.operators);
                dearest.content_bytes = dearest.content_bytes.max(cost.content_bytes);
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
