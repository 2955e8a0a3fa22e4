//! Geometry properties and their PathFigure/PathGeometry elements, built into krilla paths.

use crate::geometry::{self, Bounds, FillRule, Geometry, Mat};

use super::{El, MAX_SEGMENTS, R, Renderer, Scope, Value, attr, parse_point};

impl<'p, 'z> Renderer<'p, 'z> {
    pub(super) fn geometry<'a>(
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

    pub(super) fn figure(&self, fig: El, g: &mut Geometry) -> R<()> {
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
}
