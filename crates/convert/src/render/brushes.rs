//! Brushes: property → `Brush`, gradient stops, colours, and brushes as krilla paints.

use std::collections::HashMap;
use std::rc::Rc;

use krilla::paint::{LinearGradient, Paint, Pattern, RadialGradient, SpreadMethod, Stop};
use krilla::surface::Surface;

use crate::color::{self, Rgba};
use crate::geometry::{Bounds, Mat};

use super::{
    Brush, El, R, Renderer, Scope, TileBrush, TileContent, TileMode, Value, attr, norm,
    parse_point, parse_rect,
};

impl<'p, 'z> Renderer<'p, 'z> {
    /// A krilla paint and its opacity, for brushes that can be one.
    pub(super) fn paint<'a>(
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

    pub(super) fn stops<'a>(&self, el: El<'a>, opacity: f32) -> R<Vec<(f32, Rgba)>> {
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

    pub(super) fn color(&self, el: El, name: &str) -> R<Rgba> {
        let v = attr(el.node, name).ok_or_else(|| self.err(el, format!("missing {name}")))?;
        color::parse(v).ok_or_else(|| self.err(el, format!("{name}=\"{v}\" is not a colour")))
    }

    pub(super) fn brush<'a>(&mut self, v: Value<'a>, scope: &Scope<'a>) -> R<Option<Brush<'a>>> {
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
}
