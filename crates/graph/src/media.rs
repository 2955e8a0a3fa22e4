//! Media sizes: Graph's friendly names, PWG 5101.1 self-describing names, and dimensions.
//!
//! Graph's `mediaSizes` are friendly strings ("A4", "North America Letter"), IPP devices speak PWG
//! names (`iso_a4_210x297mm`), and the renderer needs millimetres. This one table joins the three
//! so that the cloud's mapping, `printlab validate` and the renderer agree on every size.

/// One media size. Dimensions are portrait, in PWG units (hundredths of a millimetre), the unit
/// of IPP `media-size` (`x-dimension`, `y-dimension`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaSize {
    /// The name Graph uses in `mediaSizes`, `mediaSize`.
    pub graph_name: &'static str,
    /// The PWG 5101.1 self-describing name IPP uses in `media`.
    pub pwg_name: &'static str,
    /// Width in hundredths of a millimetre.
    pub width: u32,
    /// Height in hundredths of a millimetre.
    pub height: u32,
}

const fn mm(width_mm: u32, height_mm: u32) -> (u32, u32) {
    (width_mm * 100, height_mm * 100)
}

/// Inches given in hundredths (850 = 8.5 in), to PWG units; 1 in = 2540 PWG units.
const fn inch(width_centi_in: u32, height_centi_in: u32) -> (u32, u32) {
    (width_centi_in * 254 / 10, height_centi_in * 254 / 10)
}

macro_rules! sizes {
    ($($graph:literal, $pwg:literal, $dims:expr;)+) => {
        /// Every size printlab knows: Graph v1.0's documented `mediaSizes` values first, then
        /// sizes from the beta list that the shipped fleet and the model library use (labels,
        /// photo, large formats), under the beta list's names.
        pub const MEDIA_SIZES: &[MediaSize] = &[$(
            MediaSize { graph_name: $graph, pwg_name: $pwg, width: $dims.0, height: $dims.1 }
        ),+];
    };
}

sizes! {
    "A3", "iso_a3_297x420mm", mm(297, 420);
    "A4", "iso_a4_210x297mm", mm(210, 297);
    "A5", "iso_a5_148x210mm", mm(148, 210);
    "A6", "iso_a6_105x148mm", mm(105, 148);
    "JIS B4", "jis_b4_257x364mm", mm(257, 364);
    "JIS B5", "jis_b5_182x257mm", mm(182, 257);
    "JPN Hagaki", "jpn_hagaki_100x148mm", mm(100, 148);
    "North America 5x7in", "na_5x7_5x7in", inch(500, 700);
    "North America Executive", "na_executive_7.25x10.5in", inch(725, 1050);
    // The v1.0 documentation spells it this way; clients send what the docs say.
    "North America Goverment Letter", "na_govt-letter_8x10in", inch(800, 1000);
    "North America Index 3x5in", "na_index-3x5_3x5in", inch(300, 500);
    "North America Index 4x8in", "na_index-4x8_4x8in", inch(400, 800);
    "North America Index 5x8in", "na_index-5x8_5x8in", inch(500, 800);
    "North America Invoice", "na_invoice_5.5x8.5in", inch(550, 850);
    "North America Ledger", "na_ledger_11x17in", inch(1100, 1700);
    "North America Legal", "na_legal_8.5x14in", inch(850, 1400);
    "North America Letter", "na_letter_8.5x11in", inch(850, 1100);
    "Photo l 3.5x5in", "oe_photo-l_3.5x5in", inch(350, 500);
    "Business Card", "oe_business-card_2x3.5in", inch(200, 350);
    "Photo", "om_small-photo_100x150mm", mm(100, 150);
    "North America Index 4x6in", "na_index-4x6_4x6in", inch(400, 600);
    "A2", "iso_a2_420x594mm", mm(420, 594);
    "DL", "iso_dl_110x220mm", mm(110, 220);
    "North America Number 10 Envelope", "na_number-10_4.125x9.5in", inch(412, 950);
    "Roll 2x1in", "oe_2x1-label_2x1in", inch(200, 100);
    "Roll 4x2in", "oe_4x2-label_4x2in", inch(400, 200);
    // Wide format: ISO A0/A1, the architectural ARCH A–E and the ANSI C–E engineering sizes.
    "A0", "iso_a0_841x1189mm", mm(841, 1189);
    "A1", "iso_a1_594x841mm", mm(594, 841);
    "North America Arch A", "na_arch-a_9x12in", inch(900, 1200);
    "North America Arch B", "na_arch-b_12x18in", inch(1200, 1800);
    "North America Arch C", "na_arch-c_18x24in", inch(1800, 2400);
    "North America Arch D", "na_arch-d_24x36in", inch(2400, 3600);
    "North America Arch E", "na_arch-e_36x48in", inch(3600, 4800);
    "North America C", "na_c_17x22in", inch(1700, 2200);
    "North America D", "na_d_22x34in", inch(2200, 3400);
    "North America E", "na_e_34x44in", inch(3400, 4400);
}

impl MediaSize {
    /// Looks a size up by its Graph name.
    pub fn by_graph_name(name: &str) -> Option<&'static MediaSize> {
        MEDIA_SIZES.iter().find(|m| m.graph_name == name)
    }

    /// Looks a size up by its PWG name.
    pub fn by_pwg_name(name: &str) -> Option<&'static MediaSize> {
        MEDIA_SIZES.iter().find(|m| m.pwg_name == name)
    }

    /// Width and height in PostScript points (1/72 in), the unit PDF page boxes use.
    pub fn points(&self) -> (f64, f64) {
        let to_pt = |v: u32| v as f64 / 2540.0 * 72.0;
        (to_pt(self.width), to_pt(self.height))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_both_ways() {
        for (i, a) in MEDIA_SIZES.iter().enumerate() {
            for b in &MEDIA_SIZES[i + 1..] {
                assert_ne!(a.graph_name, b.graph_name);
                assert_ne!(a.pwg_name, b.pwg_name);
            }
        }
    }

    #[test]
    fn pwg_dimensions_match_the_self_describing_names() {
        let a4 = MediaSize::by_graph_name("A4").unwrap();
        assert_eq!((a4.width, a4.height), (21000, 29700));
        let letter = MediaSize::by_pwg_name("na_letter_8.5x11in").unwrap();
        assert_eq!((letter.width, letter.height), (21590, 27940));
        let (w, h) = letter.points();
        assert!((w - 612.0).abs() < 1e-9 && (h - 792.0).abs() < 1e-9);
        for m in MEDIA_SIZES {
            assert!(
                m.width <= m.height || m.pwg_name.contains("label"),
                "{} not portrait",
                m.pwg_name
            );
        }
    }
}
