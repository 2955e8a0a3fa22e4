//! Graph job configuration → the engine's ticket.
//!
//! The one translation into the engine's vocabulary: the device maps the job it fetched (IPP job
//! template → Graph, [`crate::graph_from_job_template`], which its capability check also reads)
//! and `printlab render` maps its command-line options the same way, so both print alike.

use printlab_graph::{
    GraphEnum, MediaSize, PrintColorMode, PrintDuplexMode, PrintFinishing, PrintJobConfiguration,
    PrintMultipageLayout, PrintOrientation, PrintQuality, PrintScaling, PrinterFeedOrientation,
};
use printlab_ticket::{
    ColorMode, FeedOrientation, Margins, Media, NupLayout, Orientation, PageRange, PaperHandling,
    Quality, Scaling, Sides, Ticket,
};

/// A job option the engine's vocabulary cannot hold (today only an unknown media name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("job option {option} = {value} cannot be applied: {reason}")]
pub struct TicketError {
    /// The Graph property.
    pub option: &'static str,
    pub value: String,
    pub reason: &'static str,
}

/// A media size by its Graph name or its PWG name, in the engine's terms.
pub fn media_by_name(name: &str) -> Option<Media> {
    MediaSize::by_graph_name(name)
        .or_else(|| MediaSize::by_pwg_name(name))
        .map(media_of)
}

/// The engine's view of a known size.
pub fn media_of(size: &MediaSize) -> Media {
    Media {
        pwg_name: size.pwg_name.to_string(),
        width: size.width,
        height: size.height,
    }
}

/// What the job asks the engine to print. `unknownFutureValue` members mean "the printer's
/// choice", as an absent value does.
pub fn ticket_from_graph(config: &PrintJobConfiguration) -> Result<Ticket, TicketError> {
    let media = match config.media_size.as_deref() {
        None => None,
        Some(name) => Some(media_by_name(name).ok_or_else(|| TicketError {
            option: "mediaSize",
            value: name.to_string(),
            reason: "not a known media size",
        })?),
    };
    let margin = config.margin.unwrap_or_default();
    Ok(Ticket {
        media,
        dpi: config.dpi,
        quality: config.quality.map(|q| match q {
            PrintQuality::Low => Quality::Low,
            PrintQuality::High => Quality::High,
            PrintQuality::Medium | PrintQuality::UnknownFutureValue => Quality::Medium,
        }),
        color: config.color_mode.map(|c| match c {
            PrintColorMode::BlackAndWhite => ColorMode::BlackAndWhite,
            PrintColorMode::Grayscale => ColorMode::Grayscale,
            PrintColorMode::Color => ColorMode::Color,
            PrintColorMode::Auto | PrintColorMode::UnknownFutureValue => ColorMode::Auto,
        }),
        pages_per_sheet: config.pages_per_sheet,
        layout: config.multipage_layout.and_then(nup_layout),
        orientation: config.orientation.and_then(|o| match o {
            PrintOrientation::Portrait => Some(Orientation::Portrait),
            PrintOrientation::Landscape => Some(Orientation::Landscape),
            PrintOrientation::ReverseLandscape => Some(Orientation::ReverseLandscape),
            PrintOrientation::ReversePortrait => Some(Orientation::ReversePortrait),
            PrintOrientation::UnknownFutureValue => None,
        }),
        scaling: config.scaling.map(|s| match s {
            PrintScaling::Fit => Scaling::Fit,
            PrintScaling::Fill => Scaling::Fill,
            PrintScaling::None => Scaling::None,
            PrintScaling::ShrinkToFit => Scaling::ShrinkToFit,
            PrintScaling::Auto | PrintScaling::UnknownFutureValue => Scaling::Auto,
        }),
        fit_pdf_to_page: config.fit_pdf_to_page,
        margins: Margins {
            top: margin.top,
            bottom: margin.bottom,
            left: margin.left,
            right: margin.right,
        },
        sides: config.duplex_mode.map(|d| match d {
            PrintDuplexMode::FlipOnLongEdge => Sides::LongEdge,
            PrintDuplexMode::FlipOnShortEdge => Sides::ShortEdge,
            PrintDuplexMode::OneSided | PrintDuplexMode::UnknownFutureValue => Sides::OneSided,
        }),
        copies: config.copies,
        collate: config.collate,
        page_ranges: config
            .page_ranges
            .iter()
            .flatten()
            .map(|r| PageRange {
                start: r.start,
                end: r.end,
            })
            .collect(),
        paper_handling: PaperHandling {
            finishings: config
                .finishings
                .iter()
                .flatten()
                .filter(|f| **f != PrintFinishing::UnknownFutureValue)
                .map(|f| f.as_str().to_string())
                .collect(),
            input_bin: config.input_bin.clone(),
            output_bin: config.output_bin.clone(),
            media_type: config.media_type.clone(),
            feed_orientation: config.feed_orientation.and_then(|f| match f {
                PrinterFeedOrientation::LongEdgeFirst => Some(FeedOrientation::LongEdgeFirst),
                PrinterFeedOrientation::ShortEdgeFirst => Some(FeedOrientation::ShortEdgeFirst),
                PrinterFeedOrientation::UnknownFutureValue => None,
            }),
        },
    })
}

fn nup_layout(layout: PrintMultipageLayout) -> Option<NupLayout> {
    use PrintMultipageLayout as G;
    Some(match layout {
        G::ClockwiseFromTopLeft => NupLayout::ClockwiseFromTopLeft,
        G::CounterclockwiseFromTopLeft => NupLayout::CounterclockwiseFromTopLeft,
        G::CounterclockwiseFromTopRight => NupLayout::CounterclockwiseFromTopRight,
        G::ClockwiseFromTopRight => NupLayout::ClockwiseFromTopRight,
        G::CounterclockwiseFromBottomLeft => NupLayout::CounterclockwiseFromBottomLeft,
        G::ClockwiseFromBottomLeft => NupLayout::ClockwiseFromBottomLeft,
        G::CounterclockwiseFromBottomRight => NupLayout::CounterclockwiseFromBottomRight,
        G::ClockwiseFromBottomRight => NupLayout::ClockwiseFromBottomRight,
        G::UnknownFutureValue => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use printlab_graph::{IntegerRange, PrintMargin};

    #[test]
    fn every_option_crosses_into_the_ticket() {
        let config = PrintJobConfiguration {
            media_size: Some("North America Letter".into()),
            dpi: Some(600),
            quality: Some(PrintQuality::High),
            color_mode: Some(PrintColorMode::Grayscale),
            pages_per_sheet: Some(4),
            multipage_layout: Some(PrintMultipageLayout::ClockwiseFromBottomRight),
            orientation: Some(PrintOrientation::ReverseLandscape),
            scaling: Some(PrintScaling::Fill),
            fit_pdf_to_page: Some(true),
            margin: Some(PrintMargin {
                top: Some(5000),
                ..Default::default()
            }),
            duplex_mode: Some(PrintDuplexMode::FlipOnShortEdge),
            copies: Some(3),
            collate: Some(false),
            page_ranges: Some(vec![IntegerRange { start: 2, end: 5 }]),
            finishings: Some(vec![PrintFinishing::StapleTopLeft, PrintFinishing::Punch]),
            input_bin: Some("tray-2".into()),
            output_bin: Some("face-down".into()),
            media_type: Some("stationery-heavyweight".into()),
            feed_orientation: Some(PrinterFeedOrientation::ShortEdgeFirst),
        };
        let t = ticket_from_graph(&config).unwrap();
        assert_eq!(
            t.paper_handling,
            PaperHandling {
                finishings: vec!["stapleTopLeft".into(), "punch".into()],
                input_bin: Some("tray-2".into()),
                output_bin: Some("face-down".into()),
                media_type: Some("stationery-heavyweight".into()),
                feed_orientation: Some(FeedOrientation::ShortEdgeFirst),
            }
        );
        assert_eq!(t.media.unwrap().pwg_name, "na_letter_8.5x11in");
        assert_eq!((t.dpi, t.quality), (Some(600), Some(Quality::High)));
        assert_eq!(t.color, Some(ColorMode::Grayscale));
        assert_eq!(t.layout, Some(NupLayout::ClockwiseFromBottomRight));
        assert_eq!(t.orientation, Some(Orientation::ReverseLandscape));
        assert_eq!(t.scaling, Some(Scaling::Fill));
        assert_eq!(t.margins.top, Some(5000));
        assert_eq!(t.sides, Some(Sides::ShortEdge));
        assert_eq!((t.copies, t.collate), (Some(3), Some(false)));
        assert_eq!(t.page_ranges, vec![PageRange { start: 2, end: 5 }]);
    }

    #[test]
    fn absent_and_future_values_leave_the_choice_to_the_printer() {
        let config = PrintJobConfiguration {
            orientation: Some(PrintOrientation::UnknownFutureValue),
            multipage_layout: Some(PrintMultipageLayout::UnknownFutureValue),
            ..Default::default()
        };
        assert_eq!(ticket_from_graph(&config).unwrap(), Ticket::default());
    }

    #[test]
    fn an_unknown_media_name_is_named() {
        let config = PrintJobConfiguration {
            media_size: Some("Napkin".into()),
            ..Default::default()
        };
        let err = ticket_from_graph(&config).unwrap_err();
        assert_eq!((err.option, err.value.as_str()), ("mediaSize", "Napkin"));
    }
}
