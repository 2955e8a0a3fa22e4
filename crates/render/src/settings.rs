//! From a job's ticket and the printer's hardware to the concrete settings the engine applies.
//! Absent values get what a printer would choose; impossible ones are errors that name the
//! option (by its Graph name, the name clients and printers.toml use).

use super::RenderError;
use super::output_limits::OutputLimits;
use printlab_ticket::{
    ColorMode, Media, NupLayout, Orientation, PaperHandling, Quality, Scaling as ScalingRequest,
    Sides, Ticket,
};
use serde::Serialize;

/// What the emulated hardware can do. The device builds it from its `printers.toml` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceProfile {
    /// Unprintable border of the engine, per edge of the portrait sheet, in microns.
    pub hardware_margins: EdgeMicrons,
    /// Resolutions the engine images at; a job asking for another one is refused.
    pub dpis: Vec<u32>,
    pub default_dpi: u32,
    pub color: bool,
    /// MIME types the printer accepts (`document-format-supported`).
    pub content_types: Vec<String>,
    /// The media loaded when the job names none.
    pub default_media: Media,
    /// Resolution used for each `quality` when the job sets no `dpi` (low, medium, high).
    pub quality_dpi: Option<[u32; 3]>,
    /// Most one job may put out; none by default.
    pub output_limits: OutputLimits,
}

impl Default for DeviceProfile {
    /// An office laser printer: A4, 300/600 dpi, colour, 4.2 mm margins, PDF and the IPP
    /// Everywhere raster formats.
    fn default() -> Self {
        Self {
            hardware_margins: EdgeMicrons::uniform(4230),
            dpis: vec![150, 300, 600],
            default_dpi: 300,
            color: true,
            content_types: super::source::SUPPORTED_TYPES
                .iter()
                .map(|t| t.to_string())
                .collect(),
            default_media: Media {
                pwg_name: "iso_a4_210x297mm".into(),
                width: 21000,
                height: 29700,
            },
            quality_dpi: Some([150, 300, 600]),
            output_limits: OutputLimits::default(),
        }
    }
}

/// A length per edge of the portrait sheet, in microns (Graph's margin unit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EdgeMicrons {
    pub top: u32,
    pub bottom: u32,
    pub left: u32,
    pub right: u32,
}

impl EdgeMicrons {
    pub fn uniform(microns: u32) -> Self {
        Self {
            top: microns,
            bottom: microns,
            left: microns,
            right: microns,
        }
    }
}

/// Margins in points.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EdgePoints {
    pub top: f64,
    pub bottom: f64,
    pub left: f64,
    pub right: f64,
}

/// A rotation of content relative to the sheet, counter-clockwise in quarter turns, as IPP's
/// `orientation-requested` defines landscape (+90°) and reverse-landscape (−90°).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuarterTurns {
    None,
    Ccw90,
    Half,
    Cw90,
}

impl QuarterTurns {
    pub(crate) fn swaps_axes(self) -> bool {
        matches!(self, Self::Ccw90 | Self::Cw90)
    }
}

/// What the printed side's pixels are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ColorOutput {
    /// 8-bit RGB.
    Color,
    /// 8-bit gray, Rec. 601 luma.
    Grayscale,
    /// 8-bit gray holding only 0 and 255: luma thresholded at the midpoint. A threshold rather
    /// than a dither, because a lab compares these pages for what is on them: text and lines stay
    /// crisp and pixel-for-pixel reproducible, and no halftone screen of ours would match a given
    /// printer's anyway. The cost: tints lighter than 50 % vanish and darker ones turn solid.
    BlackAndWhite,
}

impl ColorOutput {
    pub fn channels(self) -> usize {
        match self {
            ColorOutput::Color => 3,
            ColorOutput::Grayscale | ColorOutput::BlackAndWhite => 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Scaling {
    Fit,
    Fill,
    ShrinkToFit,
    None,
    /// IPP `print-scaling=auto`, decided per page by `layout::scale_factor`: `none` for a page
    /// no larger than the media, else `fit`, or `fill` when the media is borderless.
    Auto,
}

/// The settings the engine applied, recorded in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppliedSettings {
    #[serde(serialize_with = "media_name")]
    pub media: Media,
    pub dpi: u32,
    pub color: ColorOutput,
    pub antialias: bool,
    pub pages_per_sheet: u32,
    pub layout: NupLayout,
    /// `None`: the printer turns landscape pages itself.
    #[serde(serialize_with = "turn_name")]
    pub orientation: Option<QuarterTurns>,
    pub scaling: Scaling,
    pub margins_pt: EdgePoints,
    pub duplex: Sides,
    pub copies: u32,
    pub collate: bool,
    /// 1-based inclusive ranges; empty means every page.
    pub page_ranges: Vec<(u32, u32)>,
    /// Passed through as asked: nothing here changes the pixels.
    #[serde(flatten)]
    pub paper_handling: PaperHandling,
}

fn media_name<S: serde::Serializer>(m: &Media, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&m.pwg_name)
}

fn turn_name<S: serde::Serializer>(t: &Option<QuarterTurns>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match t {
        None => "auto",
        Some(QuarterTurns::None) => "portrait",
        Some(QuarterTurns::Ccw90) => "landscape",
        Some(QuarterTurns::Half) => "reversePortrait",
        Some(QuarterTurns::Cw90) => "reverseLandscape",
    })
}

const MAX_COPIES: i32 = 999;
const MICRONS_PER_POINT: f64 = 25400.0 / 72.0;

fn invalid(option: &'static str, value: impl ToString, reason: &str) -> RenderError {
    RenderError::InvalidOption {
        option,
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

/// Resolves the job's options against the hardware. `is_pdf` decides what `fitPdfToPage` means.
pub fn resolve(
    ticket: &Ticket,
    profile: &DeviceProfile,
    is_pdf: bool,
) -> Result<AppliedSettings, RenderError> {
    let media = ticket
        .media
        .clone()
        .unwrap_or_else(|| profile.default_media.clone());

    let quality = ticket.quality.unwrap_or(Quality::Medium);
    let dpi = match (ticket.dpi, profile.quality_dpi) {
        (Some(dpi), _) => {
            let dpi = u32::try_from(dpi).map_err(|_| invalid("dpi", dpi, "must be positive"))?;
            if !profile.dpis.is_empty() && !profile.dpis.contains(&dpi) {
                return Err(invalid(
                    "dpi",
                    dpi,
                    &format!("the printer supports {:?}", profile.dpis),
                ));
            }
            dpi
        }
        (None, Some([low, medium, high])) => match quality {
            Quality::Low => low,
            Quality::High => high,
            Quality::Medium => medium,
        },
        (None, None) => profile.default_dpi,
    };
    if !(36..=2400).contains(&dpi) {
        return Err(invalid("dpi", dpi, "outside 36..=2400"));
    }

    let color = match ticket.color.unwrap_or(ColorMode::Auto) {
        ColorMode::BlackAndWhite => ColorOutput::BlackAndWhite,
        ColorMode::Grayscale => ColorOutput::Grayscale,
        // A monochrome engine prints colour jobs in gray, as a real one would.
        _ if !profile.color => ColorOutput::Grayscale,
        _ => ColorOutput::Color,
    };

    let pages_per_sheet = match ticket.pages_per_sheet.unwrap_or(1) {
        n @ (1 | 2 | 4 | 6 | 9 | 16) => n as u32,
        n => return Err(invalid("pagesPerSheet", n, "must be 1, 2, 4, 6, 9 or 16")),
    };

    let orientation = ticket.orientation.map(|o| match o {
        Orientation::Portrait => QuarterTurns::None,
        Orientation::Landscape => QuarterTurns::Ccw90,
        Orientation::ReverseLandscape => QuarterTurns::Cw90,
        Orientation::ReversePortrait => QuarterTurns::Half,
    });

    let fit_pdf = is_pdf && ticket.fit_pdf_to_page == Some(true);
    let scaling = match ticket.scaling.unwrap_or(ScalingRequest::Auto) {
        _ if fit_pdf => Scaling::Fit,
        ScalingRequest::Fit => Scaling::Fit,
        ScalingRequest::Fill => Scaling::Fill,
        ScalingRequest::None => Scaling::None,
        ScalingRequest::ShrinkToFit => Scaling::ShrinkToFit,
        ScalingRequest::Auto => Scaling::Auto,
    };

    let job_margin = ticket.margins;
    let hw = profile.hardware_margins;
    // The job may widen a margin, never print into the engine's unprintable border.
    let edge = |job: Option<i32>, hardware: u32, name: &'static str| {
        let microns = match job {
            Some(v) if v < 0 => return Err(invalid("margin", v, &format!("{name} is negative"))),
            Some(v) => (v as u32).max(hardware),
            None => hardware,
        };
        Ok(microns as f64 / MICRONS_PER_POINT)
    };
    let margins_pt = EdgePoints {
        top: edge(job_margin.top, hw.top, "top")?,
        bottom: edge(job_margin.bottom, hw.bottom, "bottom")?,
        left: edge(job_margin.left, hw.left, "left")?,
        right: edge(job_margin.right, hw.right, "right")?,
    };
    let (w, h) = media.points();
    if margins_pt.left + margins_pt.right >= w - 1.0
        || margins_pt.top + margins_pt.bottom >= h - 1.0
    {
        return Err(invalid(
            "margin",
            format!("{job_margin:?}"),
            "leaves no printable area on the media",
        ));
    }

    let copies = ticket.copies.unwrap_or(1);
    if !(1..=MAX_COPIES).contains(&copies) {
        return Err(invalid("copies", copies, "must be 1..=999"));
    }

    let mut page_ranges = Vec::new();
    for range in &ticket.page_ranges {
        let valid = range.start >= 1 && range.end >= range.start && range.end <= u32::MAX as i64;
        if !valid {
            return Err(invalid(
                "pageRanges",
                format!("{}-{}", range.start, range.end),
                "ranges are 1-based with start <= end",
            ));
        }
        // RFC 8011 §5.2.7: ranges ascend and do not overlap, so a printer prints them in one
        // pass; one that does not is refused, as an IPP printer refuses the job, rather than
        // printed in an order nobody can rely on. (The cloud puts Graph's in order first.)
        if let Some(&(_, previous_end)) = page_ranges.last()
            && range.start <= previous_end as i64
        {
            return Err(invalid(
                "pageRanges",
                format!("{}-{}", range.start, range.end),
                "ranges must ascend without overlapping (RFC 8011 §5.2.7)",
            ));
        }
        page_ranges.push((range.start as u32, range.end as u32));
    }

    Ok(AppliedSettings {
        media,
        dpi,
        color,
        antialias: quality != Quality::Low,
        pages_per_sheet,
        layout: ticket.layout.unwrap_or(NupLayout::ClockwiseFromTopLeft),
        orientation,
        scaling,
        margins_pt,
        duplex: ticket.sides.unwrap_or(Sides::OneSided),
        copies: copies as u32,
        collate: ticket.collate.unwrap_or(true),
        page_ranges,
        paper_handling: ticket.paper_handling.clone(),
    })
}

/// Sheet size in pixels: the media's PWG dimensions (hundredths of mm) at `dpi`, rounded to the
/// nearest pixel as PWG 5102.4 raster headers give them (A4 at 300 dpi is 2480x3508).
pub fn sheet_pixels(media: &Media, dpi: u32) -> (u32, u32) {
    let px = |hmm: u32| ((hmm as f64) * dpi as f64 / 2540.0).round() as u32;
    (px(media.width), px(media.height))
}

#[cfg(test)]
mod tests {
    use super::*;
    use printlab_ticket::Margins;

    #[test]
    fn absent_options_get_printer_choices() {
        let s = resolve(&Ticket::default(), &DeviceProfile::default(), true).unwrap();
        assert_eq!(s.media.pwg_name, "iso_a4_210x297mm");
        assert_eq!(s.dpi, 300);
        assert!(s.color == ColorOutput::Color && s.antialias && s.collate);
        assert_eq!((s.copies, s.pages_per_sheet), (1, 1));
        assert_eq!(s.duplex, Sides::OneSided);
        assert_eq!(s.scaling, Scaling::Auto);
        assert!((s.margins_pt.top - 4230.0 / MICRONS_PER_POINT).abs() < 1e-9);
    }

    #[test]
    fn quality_picks_dpi_and_antialiasing_from_the_table() {
        let config = Ticket {
            quality: Some(Quality::Low),
            ..Default::default()
        };
        let s = resolve(&config, &DeviceProfile::default(), true).unwrap();
        assert_eq!(s.dpi, 150);
        assert!(!s.antialias);
    }

    #[test]
    fn impossible_options_are_named() {
        let profile = DeviceProfile::default();
        let cases = [
            Ticket {
                dpi: Some(301),
                ..Default::default()
            },
            Ticket {
                pages_per_sheet: Some(3),
                ..Default::default()
            },
            Ticket {
                copies: Some(0),
                ..Default::default()
            },
        ];
        for (config, option) in cases.iter().zip(["dpi", "pagesPerSheet", "copies"]) {
            match resolve(config, &profile, true) {
                Err(RenderError::InvalidOption { option: o, .. }) => assert_eq!(o, option),
                other => panic!("{option}: {other:?}"),
            }
        }
    }

    #[test]
    fn job_margins_never_go_inside_the_hardware_border() {
        let config = Ticket {
            margins: Margins {
                top: Some(0),
                left: Some(25400),
                ..Default::default()
            },
            ..Default::default()
        };
        let s = resolve(&config, &DeviceProfile::default(), true).unwrap();
        assert!((s.margins_pt.top - 4230.0 / MICRONS_PER_POINT).abs() < 1e-9);
        assert!((s.margins_pt.left - 72.0).abs() < 1e-9);
    }

    #[test]
    fn fit_pdf_to_page_only_touches_pdf() {
        let config = Ticket {
            fit_pdf_to_page: Some(true),
            scaling: Some(ScalingRequest::None),
            ..Default::default()
        };
        let profile = DeviceProfile::default();
        assert_eq!(
            resolve(&config, &profile, true).unwrap().scaling,
            Scaling::Fit
        );
        assert_eq!(
            resolve(&config, &profile, false).unwrap().scaling,
            Scaling::None
        );
    }

    #[test]
    fn sheet_pixels_round_like_pwg() {
        let a4 = DeviceProfile::default().default_media;
        assert_eq!(sheet_pixels(&a4, 300), (2480, 3508));
        let letter = Media {
            pwg_name: "na_letter_8.5x11in".into(),
            width: 21590,
            height: 27940,
        };
        assert_eq!(sheet_pixels(&letter, 150), (1275, 1650));
    }
}
