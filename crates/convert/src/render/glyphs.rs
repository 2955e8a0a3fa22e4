//! Fonts, loaded once per document, Glyphs elements, and their `Indices` layout.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use krilla::geom::Point;
use krilla::paint::{Fill, LineJoin, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, GlyphId, KrillaGlyph};

use crate::ConvertError;
use crate::font::{self, Metrics};
use crate::geometry::Mat;
use crate::package::resolve;

use super::{El, LoadedFont, R, Renderer, Scope, attr, norm, pop_n};

impl<'p, 'z> Renderer<'p, 'z> {
    pub(super) fn font(&mut self, el: El, uri: &str) -> R<Rc<LoadedFont>> {
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

    pub(super) fn glyphs<'a>(
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
