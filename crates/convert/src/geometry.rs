//! Path geometry: the abbreviated syntax (`F M L H V C Q S A Z`, relative forms, implicit
//! repetition) and `PathGeometry` / `PathFigure` / segment elements, arcs turned into cubics.

use krilla::geom::{Path, PathBuilder};

/// An affine matrix in XPS order: x' = m11 x + m21 y + dx, y' = m12 x + m22 y + dy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mat {
    pub m11: f32,
    pub m12: f32,
    pub m21: f32,
    pub m22: f32,
    pub dx: f32,
    pub dy: f32,
}

impl Mat {
    pub const IDENTITY: Mat = Mat {
        m11: 1.0,
        m12: 0.0,
        m21: 0.0,
        m22: 1.0,
        dx: 0.0,
        dy: 0.0,
    };

    pub fn translate(x: f32, y: f32) -> Mat {
        Mat {
            dx: x,
            dy: y,
            ..Mat::IDENTITY
        }
    }

    pub fn scale(sx: f32, sy: f32) -> Mat {
        Mat {
            m11: sx,
            m22: sy,
            ..Mat::IDENTITY
        }
    }

    pub fn parse(s: &str) -> Option<Mat> {
        let v: Vec<f32> = numbers(s)?;
        match v.as_slice() {
            [a, b, c, d, e, f] => Some(Mat {
                m11: *a,
                m12: *b,
                m21: *c,
                m22: *d,
                dx: *e,
                dy: *f,
            }),
            _ => None,
        }
    }

    pub fn apply(&self, x: f32, y: f32) -> (f32, f32) {
        (
            self.m11 * x + self.m21 * y + self.dx,
            self.m12 * x + self.m22 * y + self.dy,
        )
    }

    /// `self` applied first, then `outer`.
    pub fn then(&self, outer: &Mat) -> Mat {
        Mat {
            m11: self.m11 * outer.m11 + self.m12 * outer.m21,
            m12: self.m11 * outer.m12 + self.m12 * outer.m22,
            m21: self.m21 * outer.m11 + self.m22 * outer.m21,
            m22: self.m21 * outer.m12 + self.m22 * outer.m22,
            dx: self.dx * outer.m11 + self.dy * outer.m21 + outer.dx,
            dy: self.dx * outer.m12 + self.dy * outer.m22 + outer.dy,
        }
    }

    pub fn invert(&self) -> Option<Mat> {
        let det = self.m11 * self.m22 - self.m12 * self.m21;
        if det.abs() < 1e-12 || !det.is_finite() {
            return None;
        }
        let m11 = self.m22 / det;
        let m12 = -self.m12 / det;
        let m21 = -self.m21 / det;
        let m22 = self.m11 / det;
        Some(Mat {
            m11,
            m12,
            m21,
            m22,
            dx: -(self.dx * m11 + self.dy * m21),
            dy: -(self.dx * m12 + self.dy * m22),
        })
    }

    pub fn is_identity(&self) -> bool {
        *self == Mat::IDENTITY
    }

    pub fn is_finite(&self) -> bool {
        [self.m11, self.m12, self.m21, self.m22, self.dx, self.dy]
            .iter()
            .all(|v| v.is_finite())
    }

    pub fn to_krilla(self) -> krilla::geom::Transform {
        krilla::geom::Transform::from_row(self.m11, self.m12, self.m21, self.m22, self.dx, self.dy)
    }
}

pub fn numbers(s: &str) -> Option<Vec<f32>> {
    s.split([',', ' ', '\t', '\n', '\r'])
        .filter(|t| !t.is_empty())
        .map(|t| t.parse::<f32>().ok().filter(|v| v.is_finite()))
        .collect()
}

/// Axis-aligned bounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
}

impl Bounds {
    pub fn empty() -> Bounds {
        Bounds {
            x0: f32::INFINITY,
            y0: f32::INFINITY,
            x1: f32::NEG_INFINITY,
            y1: f32::NEG_INFINITY,
        }
    }
    pub fn add(&mut self, x: f32, y: f32) {
        self.x0 = self.x0.min(x);
        self.y0 = self.y0.min(y);
        self.x1 = self.x1.max(x);
        self.y1 = self.y1.max(y);
    }
    pub fn is_empty(&self) -> bool {
        !(self.x0 <= self.x1 && self.y0 <= self.y1)
    }
    pub fn transform(&self, m: &Mat) -> Bounds {
        let mut b = Bounds::empty();
        for (x, y) in [
            (self.x0, self.y0),
            (self.x1, self.y0),
            (self.x0, self.y1),
            (self.x1, self.y1),
        ] {
            let (tx, ty) = m.apply(x, y);
            b.add(tx, ty);
        }
        b
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FillRule {
    EvenOdd,
    NonZero,
}

impl FillRule {
    pub fn to_krilla(self) -> krilla::paint::FillRule {
        match self {
            FillRule::EvenOdd => krilla::paint::FillRule::EvenOdd,
            FillRule::NonZero => krilla::paint::FillRule::NonZero,
        }
    }
}

/// A geometry being built, in user space after the geometry's own transform.
pub struct Geometry {
    pb: PathBuilder,
    pub rule: FillRule,
    pub bounds: Bounds,
    transform: Mat,
    start: (f32, f32),
    current: (f32, f32),
    /// Last control point, for S (smooth cubic) reflection.
    last_ctrl: Option<(f32, f32)>,
    open: bool,
    pub segments: usize,
}

impl Geometry {
    pub fn new(rule: FillRule, transform: Mat) -> Geometry {
        Geometry {
            pb: PathBuilder::new(),
            rule,
            bounds: Bounds::empty(),
            transform,
            start: (0.0, 0.0),
            current: (0.0, 0.0),
            last_ctrl: None,
            open: false,
            segments: 0,
        }
    }

    fn t(&mut self, x: f32, y: f32) -> (f32, f32) {
        let p = self.transform.apply(x, y);
        self.bounds.add(p.0, p.1);
        p
    }

    pub fn move_to(&mut self, x: f32, y: f32) {
        let p = self.t(x, y);
        self.pb.move_to(p.0, p.1);
        self.start = (x, y);
        self.current = (x, y);
        self.last_ctrl = None;
        self.open = true;
    }

    fn ensure_open(&mut self) {
        if !self.open {
            let (x, y) = self.current;
            self.move_to(x, y);
        }
    }

    pub fn line_to(&mut self, x: f32, y: f32) {
        self.ensure_open();
        let p = self.t(x, y);
        self.pb.line_to(p.0, p.1);
        self.current = (x, y);
        self.last_ctrl = None;
        self.segments += 1;
    }

    pub fn cubic_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        self.ensure_open();
        let a = self.t(x1, y1);
        let b = self.t(x2, y2);
        let c = self.t(x, y);
        self.pb.cubic_to(a.0, a.1, b.0, b.1, c.0, c.1);
        self.current = (x, y);
        self.last_ctrl = Some((x2, y2));
        self.segments += 1;
    }

    pub fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        self.ensure_open();
        let a = self.t(x1, y1);
        let c = self.t(x, y);
        self.pb.quad_to(a.0, a.1, c.0, c.1);
        self.current = (x, y);
        self.last_ctrl = None;
        self.segments += 1;
    }

    pub fn close(&mut self) {
        if self.open {
            self.pb.close();
            self.open = false;
            self.current = self.start;
            self.last_ctrl = None;
        }
    }

    /// Elliptical arc from the current point (SVG / XPS endpoint parameterization).
    #[allow(clippy::too_many_arguments)]
    pub fn arc_to(
        &mut self,
        rx: f32,
        ry: f32,
        angle_deg: f32,
        large: bool,
        sweep: bool,
        x: f32,
        y: f32,
    ) {
        self.ensure_open();
        let (x0, y0) = self.current;
        let (mut rx, mut ry) = (rx.abs(), ry.abs());
        if rx == 0.0 || ry == 0.0 || (x0 == x && y0 == y) {
            self.line_to(x, y);
            return;
        }
        let phi = angle_deg.to_radians();
        let (sin, cos) = phi.sin_cos();
        // Step 1: the midpoint in the ellipse's rotated frame.
        let dx2 = (x0 - x) / 2.0;
        let dy2 = (y0 - y) / 2.0;
        let x1p = cos * dx2 + sin * dy2;
        let y1p = -sin * dx2 + cos * dy2;
        // Step 2: scale radii up when the end point is out of reach.
        let lambda = (x1p * x1p) / (rx * rx) + (y1p * y1p) / (ry * ry);
        if lambda > 1.0 {
            let s = lambda.sqrt();
            rx *= s;
            ry *= s;
        }
        // Step 3: the centre.
        let num = rx * rx * ry * ry - rx * rx * y1p * y1p - ry * ry * x1p * x1p;
        let den = rx * rx * y1p * y1p + ry * ry * x1p * x1p;
        let mut coef = if den == 0.0 {
            0.0
        } else {
            (num / den).max(0.0).sqrt()
        };
        if large == sweep {
            coef = -coef;
        }
        let cxp = coef * rx * y1p / ry;
        let cyp = -coef * ry * x1p / rx;
        let cx = cos * cxp - sin * cyp + (x0 + x) / 2.0;
        let cy = sin * cxp + cos * cyp + (y0 + y) / 2.0;
        // Step 4: start angle and sweep.
        let angle = |ux: f32, uy: f32, vx: f32, vy: f32| {
            let dot = ux * vx + uy * vy;
            let len = (ux * ux + uy * uy).sqrt() * (vx * vx + vy * vy).sqrt();
            let mut a = (dot / len).clamp(-1.0, 1.0).acos();
            if ux * vy - uy * vx < 0.0 {
                a = -a;
            }
            a
        };
        let ux = (x1p - cxp) / rx;
        let uy = (y1p - cyp) / ry;
        let vx = (-x1p - cxp) / rx;
        let vy = (-y1p - cyp) / ry;
        let theta1 = angle(1.0, 0.0, ux, uy);
        let mut delta = angle(ux, uy, vx, vy);
        let tau = std::f32::consts::TAU;
        if !sweep && delta > 0.0 {
            delta -= tau;
        } else if sweep && delta < 0.0 {
            delta += tau;
        }
        // Step 5: at most a quarter turn per cubic.
        let n = (delta.abs() / (tau / 4.0)).ceil().max(1.0) as usize;
        let step = delta / n as f32;
        let k = 4.0 / 3.0 * (step / 4.0).tan();
        let point = |t: f32| {
            let (s, c) = t.sin_cos();
            (
                cx + rx * c * cos - ry * s * sin,
                cy + rx * c * sin + ry * s * cos,
            )
        };
        let deriv = |t: f32| {
            let (s, c) = t.sin_cos();
            (-rx * s * cos - ry * c * sin, -rx * s * sin + ry * c * cos)
        };
        let mut t = theta1;
        for i in 0..n {
            let t2 = t + step;
            let p0 = point(t);
            let d0 = deriv(t);
            let p3 = if i + 1 == n { (x, y) } else { point(t2) };
            let d3 = deriv(t2);
            self.cubic_to(
                p0.0 + k * d0.0,
                p0.1 + k * d0.1,
                p3.0 - k * d3.0,
                p3.1 - k * d3.1,
                p3.0,
                p3.1,
            );
            t = t2;
        }
        self.last_ctrl = None;
    }

    pub fn finish(self) -> Option<Path> {
        self.pb.finish()
    }
}

/// Parse the abbreviated geometry syntax into `g` (its fill rule comes from a leading `F0/F1`).
pub fn parse_abbreviated(data: &str, g: &mut Geometry, max_segments: usize) -> Result<(), String> {
    let mut lx = Lexer {
        s: data.as_bytes(),
        i: 0,
    };
    let mut cmd: Option<u8> = None;
    let mut first = true;
    loop {
        lx.skip_ws();
        if lx.i >= lx.s.len() {
            break;
        }
        let c = lx.s[lx.i];
        if c.is_ascii_alphabetic() {
            lx.i += 1;
            cmd = Some(c);
        } else if cmd.is_none() {
            return Err(format!(
                "path data must start with a command at offset {}",
                lx.i
            ));
        } else if matches!(cmd, Some(b'Z' | b'z' | b'F')) {
            return Err(format!(
                "unexpected number after a command at offset {}",
                lx.i
            ));
        }
        let c = cmd.unwrap_or(b'M');
        if g.segments > max_segments {
            return Err(format!("more than {max_segments} path segments"));
        }
        let (cx, cy) = g.current;
        let rel = c.is_ascii_lowercase();
        let (ox, oy) = if rel { (cx, cy) } else { (0.0, 0.0) };
        match c.to_ascii_uppercase() {
            b'F' => {
                if !first {
                    return Err("F must be the first command".into());
                }
                let v = lx.number()?;
                g.rule = if v == 0.0 {
                    FillRule::EvenOdd
                } else {
                    FillRule::NonZero
                };
            }
            b'M' => {
                let (x, y) = (lx.number()? + ox, lx.number()? + oy);
                g.move_to(x, y);
                // Further pairs after M are implicit L.
                cmd = Some(if rel { b'l' } else { b'L' });
            }
            b'L' => {
                let (x, y) = (lx.number()? + ox, lx.number()? + oy);
                g.line_to(x, y);
            }
            b'H' => {
                let x = lx.number()? + ox;
                g.line_to(x, cy);
            }
            b'V' => {
                let y = lx.number()? + oy;
                g.line_to(cx, y);
            }
            b'C' => {
                let v = lx.numbers::<6>()?;
                g.cubic_to(
                    v[0] + ox,
                    v[1] + oy,
                    v[2] + ox,
                    v[3] + oy,
                    v[4] + ox,
                    v[5] + oy,
                );
            }
            b'Q' => {
                let v = lx.numbers::<4>()?;
                g.quad_to(v[0] + ox, v[1] + oy, v[2] + ox, v[3] + oy);
            }
            b'S' => {
                let v = lx.numbers::<4>()?;
                let (x1, y1) = match g.last_ctrl {
                    Some((px, py)) => (2.0 * cx - px, 2.0 * cy - py),
                    None => (cx, cy),
                };
                g.cubic_to(x1, y1, v[0] + ox, v[1] + oy, v[2] + ox, v[3] + oy);
            }
            b'A' => {
                let v = lx.numbers::<7>()?;
                g.arc_to(
                    v[0],
                    v[1],
                    v[2],
                    v[3] != 0.0,
                    v[4] != 0.0,
                    v[5] + ox,
                    v[6] + oy,
                );
            }
            b'Z' => {
                g.close();
            }
            other => return Err(format!("unknown path command '{}'", other as char)),
        }
        first = false;
    }
    Ok(())
}

struct Lexer<'a> {
    s: &'a [u8],
    i: usize,
}

impl Lexer<'_> {
    fn skip_ws(&mut self) {
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_whitespace() || self.s[self.i] == b',')
        {
            self.i += 1;
        }
    }

    fn number(&mut self) -> Result<f32, String> {
        self.skip_ws();
        let start = self.i;
        let s = self.s;
        let mut i = self.i;
        if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
            i += 1;
        }
        let mut digits = false;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
            digits = true;
        }
        if i < s.len() && s[i] == b'.' {
            i += 1;
            while i < s.len() && s[i].is_ascii_digit() {
                i += 1;
                digits = true;
            }
        }
        if digits && i < s.len() && (s[i] == b'e' || s[i] == b'E') {
            let mut j = i + 1;
            if j < s.len() && (s[j] == b'+' || s[j] == b'-') {
                j += 1;
            }
            if j < s.len() && s[j].is_ascii_digit() {
                while j < s.len() && s[j].is_ascii_digit() {
                    j += 1;
                }
                i = j;
            }
        }
        if !digits {
            return Err(format!("expected a number at offset {start}"));
        }
        self.i = i;
        let text = std::str::from_utf8(&s[start..i]).map_err(|e| e.to_string())?;
        text.parse::<f32>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("bad number '{text}' at offset {start}"))
    }

    fn numbers<const N: usize>(&mut self) -> Result<[f32; N], String> {
        let mut out = [0.0; N];
        for v in &mut out {
            *v = self.number()?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds(d: &str) -> (Bounds, FillRule) {
        let mut g = Geometry::new(FillRule::EvenOdd, Mat::IDENTITY);
        parse_abbreviated(d, &mut g, 10_000).unwrap();
        (g.bounds, g.rule)
    }

    #[test]
    fn abbreviated_commands_and_relative_forms() {
        let (b, rule) = bounds("F1 M 10,10 h 20 v 30 H 5 Z");
        assert_eq!(rule, FillRule::NonZero);
        assert_eq!((b.x0, b.y0, b.x1, b.y1), (5.0, 10.0, 30.0, 40.0));
        // Implicit L after M, scientific notation, no separators before signs.
        let (b, rule) = bounds("M0 0 1e2,0-5-5");
        assert_eq!(rule, FillRule::EvenOdd);
        assert_eq!((b.x0, b.y0, b.x1, b.y1), (-5.0, -5.0, 100.0, 0.0));
    }

    #[test]
    fn curves_and_smooth_reflection() {
        let mut g = Geometry::new(FillRule::EvenOdd, Mat::IDENTITY);
        parse_abbreviated("M0,0 C0,10 10,10 10,0 S20,-10 20,0 Q25,5 30,0", &mut g, 100).unwrap();
        assert_eq!(g.segments, 3);
        // The reflected control point of S is (10,-10).
        assert_eq!(g.bounds.y0, -10.0);
        assert!(g.finish().is_some());
    }

    #[test]
    fn arc_reaches_its_end_and_bulges_by_sweep() {
        // Half circle of radius 10 from (0,0) to (20,0): sweep 1 goes through y = -10 (y down).
        let mut g = Geometry::new(FillRule::EvenOdd, Mat::IDENTITY);
        parse_abbreviated("M0,0 A10,10 0 0 1 20,0", &mut g, 100).unwrap();
        assert_eq!(g.current, (20.0, 0.0));
        assert!(g.bounds.y0 < -9.0 && g.bounds.y1 <= 0.001, "{:?}", g.bounds);
        let mut g = Geometry::new(FillRule::EvenOdd, Mat::IDENTITY);
        parse_abbreviated("M0,0 A10,10 0 0 0 20,0", &mut g, 100).unwrap();
        assert!(g.bounds.y1 > 9.0 && g.bounds.y0 >= -0.001, "{:?}", g.bounds);
        // Radii too small are scaled up; a large arc on a circle is three quarters or more.
        let mut g = Geometry::new(FillRule::EvenOdd, Mat::IDENTITY);
        parse_abbreviated("M0,0 a1,1 0 1 1 20,0", &mut g, 100).unwrap();
        assert!((g.bounds.x1 - 20.0).abs() < 0.01);
    }

    #[test]
    fn bad_data_is_an_error() {
        let mut g = Geometry::new(FillRule::EvenOdd, Mat::IDENTITY);
        assert!(parse_abbreviated("M 1", &mut g, 10).is_err());
        assert!(parse_abbreviated("10 10", &mut g, 10).is_err());
        assert!(parse_abbreviated("M0,0 X1,1", &mut g, 10).is_err());
        assert!(parse_abbreviated("M0,0 L1,1 L1,1 L1,1", &mut g, 1).is_err());
    }

    #[test]
    fn matrix_algebra() {
        let a = Mat::parse("2,0,0,3,10,20").unwrap();
        let inv = a.invert().unwrap();
        let p = a.apply(1.0, 1.0);
        assert_eq!(p, (12.0, 23.0));
        let q = inv.apply(p.0, p.1);
        assert!((q.0 - 1.0).abs() < 1e-5 && (q.1 - 1.0).abs() < 1e-5);
        let t = Mat::translate(5.0, 0.0).then(&Mat::scale(2.0, 2.0));
        assert_eq!(t.apply(0.0, 0.0), (10.0, 0.0));
    }
}
