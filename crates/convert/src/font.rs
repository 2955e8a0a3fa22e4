//! Embedded fonts: obfuscated font parts (ECMA-388 §9.1.7.3 / XPS 1.0 §2.1.7.3) are restored by
//! XORing their first 32 bytes with the GUID in the part's file name; cmap and advance widths
//! for `UnicodeString`-only runs and `Indices` without advances come from skrifa.

use skrifa::MetadataProvider;
use skrifa::instance::{LocationRef, Size};
use skrifa::raw::TableProvider;

/// The 16 key bytes of a GUID file name (`{B0A0C7CA-8D2F-...}.odttf` or without braces), in
/// the order the XOR uses them: the bytes of the 32 hex digits as written, last first.
pub fn guid_key(part_name: &str) -> Option<[u8; 16]> {
    let file = part_name.rsplit('/').next()?;
    let stem = file.split('.').next()?;
    let hex: String = stem.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    let stripped: String = stem
        .chars()
        .filter(|c| !matches!(c, '{' | '}' | '-'))
        .collect();
    if hex.len() != 32 || stripped.len() != 32 {
        return None;
    }
    let mut bytes = [0u8; 16];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).ok()?;
    }
    let mut key = [0u8; 16];
    for (i, k) in key.iter_mut().enumerate() {
        *k = bytes[15 - i];
    }
    Some(key)
}

/// XOR the first 32 bytes with the key (its own inverse: obfuscates and de-obfuscates).
pub fn xor_obfuscation(data: &mut [u8], key: &[u8; 16]) {
    for (i, b) in data.iter_mut().take(32).enumerate() {
        *b ^= key[i % 16];
    }
}

/// Font metrics for laying out glyph runs.
pub struct Metrics {
    pub units_per_em: f32,
    pub num_glyphs: u32,
    data: std::sync::Arc<Vec<u8>>,
    index: u32,
}

impl Metrics {
    pub fn new(data: std::sync::Arc<Vec<u8>>, index: u32) -> Option<Metrics> {
        let f = skrifa::FontRef::from_index(&data, index).ok()?;
        let upem = f.head().ok()?.units_per_em() as f32;
        if upem <= 0.0 {
            return None;
        }
        let num_glyphs = u32::from(f.maxp().ok()?.num_glyphs());
        Some(Metrics {
            units_per_em: upem,
            num_glyphs,
            data,
            index,
        })
    }

    fn font(&self) -> Option<skrifa::FontRef<'_>> {
        skrifa::FontRef::from_index(&self.data, self.index).ok()
    }

    /// Glyph ids for chars (0 = .notdef when unmapped).
    pub fn map_chars(&self, chars: &[char]) -> Vec<u32> {
        let Some(f) = self.font() else {
            return vec![0; chars.len()];
        };
        let cmap = f.charmap();
        chars
            .iter()
            .map(|&c| cmap.map(c).map(|g| g.to_u32()).unwrap_or(0))
            .collect()
    }

    /// Advance widths in em.
    pub fn advances(&self, glyphs: &[u32]) -> Vec<f32> {
        let Some(f) = self.font() else {
            return vec![0.0; glyphs.len()];
        };
        let m = f.glyph_metrics(Size::unscaled(), LocationRef::default());
        glyphs
            .iter()
            .map(|&g| m.advance_width(skrifa::GlyphId::new(g)).unwrap_or(0.0) / self.units_per_em)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_key_reads_the_name_last_byte_first() {
        let k = guid_key("/Resources/{00112233-4455-6677-8899-AABBCCDDEEFF}.odttf").unwrap();
        assert_eq!(k[0], 0xFF);
        assert_eq!(k[15], 0x00);
        assert_eq!(k[5], 0xAA);
        assert_eq!(
            guid_key("/r/00112233-4455-6677-8899-aabbccddeeff.ODTTF"),
            Some(k)
        );
        assert_eq!(guid_key("/r/font.odttf"), None);
        assert_eq!(guid_key("/r/{0011-zz}.odttf"), None);
    }

    #[test]
    fn obfuscation_touches_32_bytes_and_round_trips() {
        let key = guid_key("/{0F0E0D0C-0B0A-0908-0706-050403020100}.odttf").unwrap();
        let plain: Vec<u8> = (0u8..40).collect();
        let mut data = plain.clone();
        xor_obfuscation(&mut data, &key);
        assert_eq!(data[0], key[0]);
        assert_ne!(data[..32], plain[..32]);
        assert_eq!(data[32..], plain[32..]);
        xor_obfuscation(&mut data, &key);
        assert_eq!(data, plain);
    }
}
