//! Job options as command-line flags, shared by the commands that print (`render` and
//! `print`): one flag for each `printJobConfiguration` property a job can set (Graph has no
//! job-level media colour: `mediaColor` is a printer default only). They convert to Graph's
//! `PrintJobConfiguration`, the one vocabulary the rest of the code speaks; unset flags stay
//! `None` so that printer defaults apply.

use clap::{Args, ValueEnum};
use printlab_graph::{
    GraphEnum, IntegerRange, PrintColorMode, PrintDuplexMode, PrintFinishing,
    PrintJobConfiguration, PrintMargin, PrintMultipageLayout, PrintOrientation, PrintQuality,
    PrintScaling, PrinterFeedOrientation,
};

#[derive(Clone, Copy, ValueEnum)]
pub enum Duplex {
    Long,
    Short,
    None,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Layout {
    ClockwiseFromTopLeft,
    CounterclockwiseFromTopLeft,
    CounterclockwiseFromTopRight,
    ClockwiseFromTopRight,
    CounterclockwiseFromBottomLeft,
    ClockwiseFromBottomLeft,
    CounterclockwiseFromBottomRight,
    ClockwiseFromBottomRight,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Orientation {
    Portrait,
    Landscape,
    ReverseLandscape,
    ReversePortrait,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Scaling {
    Auto,
    ShrinkToFit,
    Fit,
    Fill,
    None,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum FeedOrientation {
    LongEdgeFirst,
    ShortEdgeFirst,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Quality {
    Low,
    Medium,
    High,
}

/// Print job options (each maps to one `printJobConfiguration` property).
#[derive(Args, Default)]
pub struct JobOptions {
    /// Number of copies.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(1..))]
    pub copies: Option<i32>,
    /// Two-sided printing: flip on the long edge, the short edge, or one-sided.
    #[arg(long, value_enum)]
    pub duplex: Option<Duplex>,
    /// Print in colour.
    #[arg(long, group = "colour")]
    pub color: bool,
    /// Print in shades of gray.
    #[arg(long, group = "colour")]
    pub grayscale: bool,
    /// Print black and white.
    #[arg(long, group = "colour")]
    pub mono: bool,
    /// Let the printer choose colour or gray (Graph colorMode `auto`): sent explicitly, so it
    /// overrides the printer's default colour mode; a colour printer then prints colour, a
    /// monochrome one gray. Leave every colour flag out to get the printer's default instead.
    #[arg(long, group = "colour")]
    pub auto_color: bool,
    /// Media size, by Graph name ("A4", "North America Letter") or PWG name.
    #[arg(long, value_name = "NAME")]
    pub media: Option<String>,
    /// Resolution in dots per inch.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(1..))]
    pub dpi: Option<i32>,
    /// Pages to print, e.g. `1-3,7`.
    #[arg(long, value_name = "RANGES", value_parser = parse_ranges)]
    pub pages: Option<PageRanges>,
    /// Pages per sheet: 1, 2, 4, 6, 9 or 16.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(1..))]
    pub nup: Option<i32>,
    /// Order of pages on an n-up sheet.
    #[arg(long, value_enum)]
    pub layout: Option<Layout>,
    #[arg(long, value_enum)]
    pub orientation: Option<Orientation>,
    #[arg(long, value_enum)]
    pub scaling: Option<Scaling>,
    #[arg(long, value_enum)]
    pub quality: Option<Quality>,
    /// Keep copies of a multi-page document together (default).
    #[arg(long, overrides_with = "no_collate")]
    pub collate: bool,
    /// Print all copies of each sheet before the next sheet.
    #[arg(long)]
    pub no_collate: bool,
    /// Fit PDF pages to the media.
    #[arg(long)]
    pub fit_pdf: bool,
    /// Margins in millimetres: one value for all edges, or top,bottom,left,right.
    #[arg(long, value_name = "MM", value_parser = parse_margin)]
    pub margin: Option<PrintMargin>,
    /// Finishing, by Graph printFinishing name (staple, punch, stapleTopLeft, foldHalf, …):
    /// repeat the flag or give a comma list.
    #[arg(long, value_name = "NAME", value_delimiter = ',', value_parser = graph_member::<PrintFinishing>)]
    pub finishing: Vec<PrintFinishing>,
    /// Input tray (media source) by the printer's name for it, e.g. `tray-1`, `by-pass-tray`,
    /// `auto` (`printlab printer NAME` lists its inputBins).
    #[arg(long, value_name = "NAME", value_parser = printer_name)]
    pub input_bin: Option<String>,
    /// Output bin by the printer's name for it, e.g. `face-down`, `top`.
    #[arg(long, value_name = "NAME", value_parser = printer_name)]
    pub output_bin: Option<String>,
    /// Media type by the printer's name for it, e.g. `stationery`, `photographic-glossy`.
    #[arg(long, value_name = "NAME", value_parser = printer_name)]
    pub media_type: Option<String>,
    /// Which edge of the sheet feeds first.
    #[arg(long, value_enum)]
    pub feed_orientation: Option<FeedOrientation>,
}

/// A member of a Graph enum by its JSON name. `unknownFutureValue` is Graph's placeholder for
/// members a client does not know, never something to ask for, so it is refused too.
fn graph_member<T: GraphEnum>(text: &str) -> Result<T, String> {
    let name = text.trim();
    T::from_name(name)
        .filter(|m| m.as_str() != "unknownFutureValue")
        .ok_or_else(|| {
            let accepted: Vec<&str> = T::ALL
                .iter()
                .map(|m| m.as_str())
                .filter(|m| *m != "unknownFutureValue")
                .collect();
            format!("`{name}` is not one of: {}", accepted.join(", "))
        })
}

/// Trays, bins and media types are the printer's own names (Graph sends them as strings, IPP
/// as keywords), so only their form is checked here; the printer's capabilities decide the rest.
fn printer_name(text: &str) -> Result<String, String> {
    let name = text.trim();
    if name.is_empty() || name.chars().any(char::is_whitespace) {
        return Err(format!(
            "`{text}` is not a name: one word, as the printer lists it"
        ));
    }
    Ok(name.to_string())
}

/// `--pages`: 1-based inclusive ranges, put in ascending order with overlaps merged as the cloud
/// does for any Graph client (`5,1` prints page 1 then 5). Checked while the command line is
/// parsed, so a wrong value is a usage error (exit 2) like any other.
#[derive(Clone, Debug, PartialEq)]
pub struct PageRanges(pub Vec<IntegerRange>);

/// Parses `1-3,7` into 1-based inclusive ranges.
fn parse_ranges(text: &str) -> Result<PageRanges, String> {
    text.split(',')
        .map(|part| {
            let part = part.trim();
            let (start, end) = part.split_once('-').unwrap_or((part, part));
            let page = |n: &str| {
                n.trim()
                    .parse::<i64>()
                    .map_err(|e| format!("page range `{part}`: `{}` {e}", n.trim()))
            };
            let (start, end) = (page(start)?, page(end)?);
            if start < 1 || end < start {
                return Err(format!(
                    "page range `{part}`: pages count from 1 and a range may not run backwards"
                ));
            }
            Ok(IntegerRange { start, end })
        })
        .collect::<Result<_, _>>()
        .map(IntegerRange::in_page_order)
        .map(PageRanges)
}

fn parse_margin(text: &str) -> Result<PrintMargin, String> {
    let microns = |v: &str| -> Result<Option<i32>, String> {
        let mm: f64 = v
            .trim()
            .parse()
            .map_err(|_| format!("margin `{v}` is not millimetres"))?;
        if !(0.0..=1000.0).contains(&mm) {
            return Err(format!("margin `{v}` must be 0..=1000 mm"));
        }
        Ok(Some((mm * 1000.0).round() as i32))
    };
    let parts: Vec<&str> = text.split(',').collect();
    match parts.as_slice() {
        [all] => {
            let m = microns(all)?;
            Ok(PrintMargin {
                top: m,
                bottom: m,
                left: m,
                right: m,
            })
        }
        [top, bottom, left, right] => Ok(PrintMargin {
            top: microns(top)?,
            bottom: microns(bottom)?,
            left: microns(left)?,
            right: microns(right)?,
        }),
        _ => Err("one value, or four (top,bottom,left,right)".into()),
    }
}

impl JobOptions {
    pub fn to_configuration(&self) -> PrintJobConfiguration {
        let color_mode = if self.color {
            Some(PrintColorMode::Color)
        } else if self.grayscale {
            Some(PrintColorMode::Grayscale)
        } else if self.mono {
            Some(PrintColorMode::BlackAndWhite)
        } else if self.auto_color {
            Some(PrintColorMode::Auto)
        } else {
            None
        };
        PrintJobConfiguration {
            copies: self.copies,
            duplex_mode: self.duplex.map(|d| match d {
                Duplex::Long => PrintDuplexMode::FlipOnLongEdge,
                Duplex::Short => PrintDuplexMode::FlipOnShortEdge,
                Duplex::None => PrintDuplexMode::OneSided,
            }),
            color_mode,
            media_size: self.media.clone(),
            dpi: self.dpi,
            page_ranges: self.pages.clone().map(|p| p.0),
            pages_per_sheet: self.nup,
            multipage_layout: self.layout.map(|l| match l {
                Layout::ClockwiseFromTopLeft => PrintMultipageLayout::ClockwiseFromTopLeft,
                Layout::CounterclockwiseFromTopLeft => {
                    PrintMultipageLayout::CounterclockwiseFromTopLeft
                }
                Layout::CounterclockwiseFromTopRight => {
                    PrintMultipageLayout::CounterclockwiseFromTopRight
                }
                Layout::ClockwiseFromTopRight => PrintMultipageLayout::ClockwiseFromTopRight,
                Layout::CounterclockwiseFromBottomLeft => {
                    PrintMultipageLayout::CounterclockwiseFromBottomLeft
                }
                Layout::ClockwiseFromBottomLeft => PrintMultipageLayout::ClockwiseFromBottomLeft,
                Layout::CounterclockwiseFromBottomRight => {
                    PrintMultipageLayout::CounterclockwiseFromBottomRight
                }
                Layout::ClockwiseFromBottomRight => PrintMultipageLayout::ClockwiseFromBottomRight,
            }),
            orientation: self.orientation.map(|o| match o {
                Orientation::Portrait => PrintOrientation::Portrait,
                Orientation::Landscape => PrintOrientation::Landscape,
                Orientation::ReverseLandscape => PrintOrientation::ReverseLandscape,
                Orientation::ReversePortrait => PrintOrientation::ReversePortrait,
            }),
            scaling: self.scaling.map(|s| match s {
                Scaling::Auto => PrintScaling::Auto,
                Scaling::ShrinkToFit => PrintScaling::ShrinkToFit,
                Scaling::Fit => PrintScaling::Fit,
                Scaling::Fill => PrintScaling::Fill,
                Scaling::None => PrintScaling::None,
            }),
            quality: self.quality.map(|q| match q {
                Quality::Low => PrintQuality::Low,
                Quality::Medium => PrintQuality::Medium,
                Quality::High => PrintQuality::High,
            }),
            collate: if self.no_collate {
                Some(false)
            } else if self.collate {
                Some(true)
            } else {
                None
            },
            fit_pdf_to_page: self.fit_pdf.then_some(true),
            margin: self.margin,
            finishings: (!self.finishing.is_empty()).then(|| self.finishing.clone()),
            input_bin: self.input_bin.clone(),
            output_bin: self.output_bin.clone(),
            media_type: self.media_type.clone(),
            feed_orientation: self.feed_orientation.map(|f| match f {
                FeedOrientation::LongEdgeFirst => PrinterFeedOrientation::LongEdgeFirst,
                FeedOrientation::ShortEdgeFirst => PrinterFeedOrientation::ShortEdgeFirst,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_and_reject_nonsense() {
        let r = parse_ranges("1-3, 7").unwrap().0;
        assert_eq!((r[0].start, r[0].end, r[1].start, r[1].end), (1, 3, 7, 7));
        assert!(parse_ranges("0-2").is_err());
        assert!(parse_ranges("5-2").is_err());
        assert!(parse_ranges("a").is_err());
        let sorted = parse_ranges("5,1-3,2-4").unwrap().0;
        assert_eq!(
            sorted,
            [
                IntegerRange { start: 1, end: 4 },
                IntegerRange { start: 5, end: 5 }
            ]
        );
    }

    #[test]
    fn graph_enum_flags_name_every_accepted_value() {
        assert_eq!(
            graph_member::<PrintFinishing>("stapleTopLeft"),
            Ok(PrintFinishing::StapleTopLeft)
        );
        let refused = graph_member::<PrintFinishing>("stapel").unwrap_err();
        assert!(
            refused.contains("`stapel`") && refused.contains("staple, punch"),
            "{refused}"
        );
        assert!(!refused.contains("unknownFutureValue"), "{refused}");
        assert!(graph_member::<PrintFinishing>("unknownFutureValue").is_err());
        assert!(printer_name("tray 2").is_err());
    }

    #[test]
    fn unset_flags_leave_printer_defaults() {
        let c = JobOptions::default().to_configuration();
        assert_eq!(c, PrintJobConfiguration::default());
        let m = parse_margin("10,0,5,5").unwrap();
        assert_eq!(
            (m.top, m.bottom, m.left),
            (Some(10000), Some(0), Some(5000))
        );
    }
}
