//! A small stroke font embedded in the test page as a Type 3 font, so the page's text is drawn
//! from the document itself and renders the same in every rasterizer (a non-embedded base-14
//! font is substituted differently by each one, which is noise in fidelity comparisons).
//! Written here rather than embedding a TrueType file because a few dozen polylines are all a
//! test page needs and carry no licence.
//!
//! Glyphs are polylines on a grid 4 units wide and 6 high (one unit = 100 glyph-space units,
//! origin at the baseline); lowercase letters share the capitals' outlines.

use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, ObjectId, Stream, dictionary};

type Stroke = &'static [(i8, i8)];

/// Advance width of every glyph, in 1/1000 em.
const ADVANCE: i64 = 600;
/// Stroke width, in 1/1000 em.
const WEIGHT: f32 = 70.0;

/// The glyph name and strokes of each character the font draws.
#[rustfmt::skip]
const GLYPHS: &[(char, &str, &[Stroke])] = &[
    ('A', "A", &[&[(0, 0), (0, 4), (2, 6), (4, 4), (4, 0)], &[(0, 3), (4, 3)]]),
    ('B', "B", &[&[(0, 0), (0, 6), (3, 6), (4, 5), (3, 3), (0, 3)], &[(3, 3), (4, 2), (4, 1), (3, 0), (0, 0)]]),
    ('C', "C", &[&[(4, 5), (3, 6), (1, 6), (0, 5), (0, 1), (1, 0), (3, 0), (4, 1)]]),
    ('D', "D", &[&[(0, 0), (0, 6), (2, 6), (4, 4), (4, 2), (2, 0), (0, 0)]]),
    ('E', "E", &[&[(4, 6), (0, 6), (0, 0), (4, 0)], &[(0, 3), (3, 3)]]),
    ('F', "F", &[&[(4, 6), (0, 6), (0, 0)], &[(0, 3), (3, 3)]]),
    ('G', "G", &[&[(4, 5), (3, 6), (1, 6), (0, 5), (0, 1), (1, 0), (3, 0), (4, 1), (4, 3), (2, 3)]]),
    ('H', "H", &[&[(0, 0), (0, 6)], &[(4, 0), (4, 6)], &[(0, 3), (4, 3)]]),
    ('I', "I", &[&[(1, 6), (3, 6)], &[(2, 6), (2, 0)], &[(1, 0), (3, 0)]]),
    ('J', "J", &[&[(4, 6), (4, 1), (3, 0), (1, 0), (0, 1)]]),
    ('K', "K", &[&[(0, 0), (0, 6)], &[(4, 6), (0, 2)], &[(1, 3), (4, 0)]]),
    ('L', "L", &[&[(0, 6), (0, 0), (4, 0)]]),
    ('M', "M", &[&[(0, 0), (0, 6), (2, 3), (4, 6), (4, 0)]]),
    ('N', "N", &[&[(0, 0), (0, 6), (4, 0), (4, 6)]]),
    ('O', "O", &[&[(1, 0), (0, 1), (0, 5), (1, 6), (3, 6), (4, 5), (4, 1), (3, 0), (1, 0)]]),
    ('P', "P", &[&[(0, 0), (0, 6), (3, 6), (4, 5), (4, 4), (3, 3), (0, 3)]]),
    ('Q', "Q", &[&[(1, 0), (0, 1), (0, 5), (1, 6), (3, 6), (4, 5), (4, 1), (3, 0), (1, 0)], &[(2, 2), (4, 0)]]),
    ('R', "R", &[&[(0, 0), (0, 6), (3, 6), (4, 5), (4, 4), (3, 3), (0, 3)], &[(2, 3), (4, 0)]]),
    ('S', "S", &[&[(4, 5), (3, 6), (1, 6), (0, 5), (0, 4), (1, 3), (3, 3), (4, 2), (4, 1), (3, 0), (1, 0), (0, 1)]]),
    ('T', "T", &[&[(0, 6), (4, 6)], &[(2, 6), (2, 0)]]),
    ('U', "U", &[&[(0, 6), (0, 1), (1, 0), (3, 0), (4, 1), (4, 6)]]),
    ('V', "V", &[&[(0, 6), (2, 0), (4, 6)]]),
    ('W', "W", &[&[(0, 6), (1, 0), (2, 4), (3, 0), (4, 6)]]),
    ('X', "X", &[&[(0, 0), (4, 6)], &[(0, 6), (4, 0)]]),
    ('Y', "Y", &[&[(0, 6), (2, 3), (4, 6)], &[(2, 3), (2, 0)]]),
    ('Z', "Z", &[&[(0, 6), (4, 6), (0, 0), (4, 0)]]),
    ('0', "zero", &[&[(1, 0), (0, 1), (0, 5), (1, 6), (3, 6), (4, 5), (4, 1), (3, 0), (1, 0)], &[(0, 1), (4, 5)]]),
    ('1', "one", &[&[(1, 5), (2, 6), (2, 0)], &[(1, 0), (3, 0)]]),
    ('2', "two", &[&[(0, 5), (1, 6), (3, 6), (4, 5), (4, 4), (0, 0), (4, 0)]]),
    ('3', "three", &[&[(0, 5), (1, 6), (3, 6), (4, 5), (4, 4), (3, 3), (4, 2), (4, 1), (3, 0), (1, 0), (0, 1)], &[(1, 3), (3, 3)]]),
    ('4', "four", &[&[(3, 0), (3, 6), (0, 2), (4, 2)]]),
    ('5', "five", &[&[(4, 6), (0, 6), (0, 3), (3, 3), (4, 2), (4, 1), (3, 0), (0, 0)]]),
    ('6', "six", &[&[(4, 5), (3, 6), (1, 6), (0, 5), (0, 1), (1, 0), (3, 0), (4, 1), (4, 2), (3, 3), (0, 3)]]),
    ('7', "seven", &[&[(0, 6), (4, 6), (1, 0)]]),
    ('8', "eight", &[&[(1, 3), (0, 4), (0, 5), (1, 6), (3, 6), (4, 5), (4, 4), (3, 3), (1, 3), (0, 2), (0, 1), (1, 0), (3, 0), (4, 1), (4, 2), (3, 3)]]),
    ('9', "nine", &[&[(0, 1), (1, 0), (3, 0), (4, 1), (4, 5), (3, 6), (1, 6), (0, 5), (0, 4), (1, 3), (4, 3)]]),
    ('.', "period", &[&[(2, 0), (2, 0)]]),
    (',', "comma", &[&[(2, 1), (1, -1)]]),
    (':', "colon", &[&[(2, 1), (2, 1)], &[(2, 4), (2, 4)]]),
    ('-', "hyphen", &[&[(1, 3), (3, 3)]]),
    ('/', "slash", &[&[(0, 0), (4, 6)]]),
    ('(', "parenleft", &[&[(3, 6), (2, 5), (2, 1), (3, 0)]]),
    (')', "parenright", &[&[(1, 6), (2, 5), (2, 1), (1, 0)]]),
    (' ', "space", &[]),
];

/// Grid unit, in 1/1000 em; the grid starts one unit in from the glyph's left edge.
const UNIT: f32 = 100.0;

/// Adds the font to `doc` and returns its dictionary's id, for a page's `/Font` resources.
pub fn add_to(doc: &mut Document) -> Result<ObjectId, lopdf::Error> {
    let mut procs = lopdf::Dictionary::new();
    let mut differences = Vec::new();
    for &(ch, name, strokes) in GLYPHS {
        let stream = Stream::new(lopdf::Dictionary::new(), glyph_program(strokes).encode()?);
        procs.set(name, doc.add_object(stream));
        let codes = [ch, ch.to_ascii_lowercase()];
        for (i, code) in codes.iter().enumerate() {
            if i == 1 && *code == ch {
                break;
            }
            differences.push(Object::Integer(*code as i64));
            differences.push(Object::Name(name.as_bytes().to_vec()));
        }
    }
    let (first, last) = (32_i64, 122_i64);
    let widths: Vec<Object> = (first..=last).map(|_| Object::Integer(ADVANCE)).collect();
    let reals = |v: &[f32]| -> Vec<Object> { v.iter().map(|&x| Object::Real(x)).collect() };
    Ok(doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type3",
        "FontBBox" => reals(&[0.0, -150.0, ADVANCE as f32, 650.0]),
        "FontMatrix" => reals(&[0.001, 0.0, 0.0, 0.001, 0.0, 0.0]),
        "CharProcs" => procs,
        "Encoding" => dictionary! { "Type" => "Encoding", "Differences" => differences },
        "FirstChar" => first,
        "LastChar" => last,
        "Widths" => widths,
        "Resources" => lopdf::Dictionary::new(),
    }))
}

/// One glyph's content stream: its width (`d0`), then the strokes with round caps and joins; a
/// stroke that stays on one point is a dot, drawn as a filled square of the stroke's width.
fn glyph_program(strokes: &[Stroke]) -> Content {
    let at = |(x, y): (i8, i8)| (UNIT + x as f32 * UNIT, y as f32 * UNIT);
    let mut ops = vec![
        Operation::new("d0", vec![Object::Integer(ADVANCE), Object::Integer(0)]),
        Operation::new("w", vec![Object::Real(WEIGHT)]),
        Operation::new("J", vec![Object::Integer(1)]),
        Operation::new("j", vec![Object::Integer(1)]),
    ];
    for stroke in strokes {
        let points: Vec<(f32, f32)> = stroke.iter().map(|&p| at(p)).collect();
        if points.windows(2).all(|w| w[0] == w[1]) {
            let (x, y) = points[0];
            let half = WEIGHT / 2.0;
            ops.push(Operation::new(
                "re",
                vec![
                    Object::Real(x - half),
                    Object::Real(y - half),
                    Object::Real(WEIGHT),
                    Object::Real(WEIGHT),
                ],
            ));
            ops.push(Operation::new("f", vec![]));
            continue;
        }
        for (i, (x, y)) in points.iter().enumerate() {
            let verb = if i == 0 { "m" } else { "l" };
            ops.push(Operation::new(
                verb,
                vec![Object::Real(*x), Object::Real(*y)],
            ));
        }
        ops.push(Operation::new("S", vec![]));
    }
    Content { operations: ops }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_glyph_has_a_unique_name_and_stays_on_its_grid() {
        let mut names: Vec<&str> = GLYPHS.iter().map(|g| g.1).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), GLYPHS.len());
        for (ch, _, strokes) in GLYPHS {
            for &(x, y) in strokes.iter().flat_map(|s| s.iter()) {
                assert!(
                    (0..=4).contains(&x) && (-1..=6).contains(&y),
                    "{ch}: ({x},{y})"
                );
            }
        }
    }
}
