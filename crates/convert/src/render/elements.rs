//! Element dispatch (Canvas, Path, Glyphs), Path drawing, and filling areas with brushes,
//! tiles included.

use std::collections::HashMap;

use krilla::geom::Size;
use krilla::mask::{Mask, MaskType};
use krilla::paint::{Fill, LineCap, LineJoin, Stroke, StrokeDash};
use krilla::surface::Surface;

use crate::ConvertError;
use crate::geometry::{self, Bounds, FillRule, Mat};

use super::{
    Brush, El, R, Renderer, Scope, TileBrush, TileContent, TileMode, attr, line, norm, pop_n,
    rect_path,
};

impl<'p, 'z> Renderer<'p, 'z> {
    pub(super) fn children<'a>(
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

    pub(super) fn element<'a>(
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

    pub(super) fn element_inner<'a>(
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
    pub(super) fn local_area(&self, scope: &Scope) -> Bounds {
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

    pub(super) fn fill_rect<'a>(
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

    pub(super) fn fill_path<'a>(
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

    pub(super) fn draw_tile_once<'a>(
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
    pub(super) fn draw_tile_content<'a>(
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

    pub(super) fn path<'a>(
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
}
