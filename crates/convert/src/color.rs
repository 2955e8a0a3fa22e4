//! XPS colour syntax: `#RRGGBB`, `#AARRGGBB`, `sc#R,G,B`, `sc#A,R,G,B` (scRGB, linear) and
//! `ContextColor uri A,c1,...` (ICC). ICC profiles are not applied: one channel is read as gray,
//! three as sRGB, four as CMYK converted naively (`r = (1-c)(1-k)`), other counts as gray of the
//! mean — the documented approximation.

/// Non-premultiplied sRGB with alpha, each 0..=1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rgba {
    pub r: f32,
    pub g: f32,
    pub b: f32,
    pub a: f32,
}

impl Rgba {
    pub fn to_krilla(self) -> krilla::color::rgb::Color {
        let q = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
        krilla::color::rgb::Color::new(q(self.r), q(self.g), q(self.b))
    }
}

fn linear_to_srgb(v: f32) -> f32 {
    let v = v.clamp(0.0, 1.0);
    if v <= 0.003_130_8 {
        v * 12.92
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    }
}

fn floats(s: &str) -> Option<Vec<f32>> {
    s.split([',', ' '])
        .filter(|t| !t.is_empty())
        .map(|t| t.trim().parse::<f32>().ok().filter(|v| v.is_finite()))
        .collect()
}

pub fn parse(s: &str) -> Option<Rgba> {
    let s = s.trim();
    if let Some(hex) = s.strip_prefix('#') {
        let v = u32::from_str_radix(hex, 16).ok()?;
        let ch = |shift: u32| ((v >> shift) & 0xff) as f32 / 255.0;
        return match hex.len() {
            6 => Some(Rgba {
                r: ch(16),
                g: ch(8),
                b: ch(0),
                a: 1.0,
            }),
            8 => Some(Rgba {
                a: ch(24),
                r: ch(16),
                g: ch(8),
                b: ch(0),
            }),
            _ => None,
        };
    }
    if let Some(rest) = s.strip_prefix("sc#") {
        let v = floats(rest)?;
        let (a, r, g, b) = match v.as_slice() {
            [r, g, b] => (1.0, *r, *g, *b),
            [a, r, g, b] => (*a, *r, *g, *b),
            _ => return None,
        };
        return Some(Rgba {
            r: linear_to_srgb(r),
            g: linear_to_srgb(g),
            b: linear_to_srgb(b),
            a: a.clamp(0.0, 1.0),
        });
    }
    if let Some(rest) = s.strip_prefix("ContextColor") {
        let rest = rest.trim_start();
        let (_profile, values) = rest.split_once(char::is_whitespace)?;
        let v = floats(values)?;
        let (a, c) = v.split_first()?;
        let (r, g, b) = match c {
            [k] => (*k, *k, *k),
            [r, g, b] => (*r, *g, *b),
            [c, m, y, k] => (
                (1.0 - c) * (1.0 - k),
                (1.0 - m) * (1.0 - k),
                (1.0 - y) * (1.0 - k),
            ),
            [] => return None,
            more => {
                let mean = more.iter().sum::<f32>() / more.len() as f32;
                (mean, mean, mean)
            }
        };
        return Some(Rgba {
            r: r.clamp(0.0, 1.0),
            g: g.clamp(0.0, 1.0),
            b: b.clamp(0.0, 1.0),
            a: a.clamp(0.0, 1.0),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_forms() {
        assert_eq!(
            parse("#FF0000"),
            Some(Rgba {
                r: 1.0,
                g: 0.0,
                b: 0.0,
                a: 1.0
            })
        );
        let c = parse("#8000FF00").unwrap();
        assert!((c.a - 128.0 / 255.0).abs() < 1e-6 && c.g == 1.0 && c.r == 0.0);
        assert_eq!(parse("#12345"), None);
    }

    #[test]
    fn scrgb_is_linear() {
        let c = parse("sc#1,0.214,0.214,0.214").unwrap();
        // linear 0.214 is about sRGB 0.5
        assert!((c.r - 0.5).abs() < 0.01, "{c:?}");
        let c = parse("sc#0.5, 1.0, 0.0, 0.0").unwrap();
        assert_eq!(c.a, 0.5);
        assert!((c.r - 1.0).abs() < 1e-4 && c.g == 0.0);
    }

    #[test]
    fn context_color_approximations() {
        let c = parse("ContextColor /Resources/p.icc 1.0,0.0,1.0,0.0,0.0").unwrap();
        assert_eq!((c.r, c.g, c.b), (1.0, 0.0, 1.0));
        let c = parse("ContextColor /x.icc 0.5,1,0,0").unwrap();
        assert_eq!((c.a, c.r, c.g, c.b), (0.5, 1.0, 0.0, 0.0));
        let g = parse("ContextColor /g.icc 1,0.25").unwrap();
        assert_eq!((g.r, g.g, g.b), (0.25, 0.25, 0.25));
        assert_eq!(parse("ContextColor /g.icc"), None);
    }
}
