//! A printer that mis-prints on purpose (`[printer.misprint]`): defects planted for testing the
//! tools that check printers' output, such as `printlab matrix`, which must find each one from
//! what came out.
//!
//! Each defect is a real change in what the device puts out, made by the device as a faulty
//! printer would make it: the engine is handed a different ticket than the job asked for (the
//! back side not turned, colour instead of gray), a finished sheet never reaches the output
//! tray, or an advertised size is refused. The renderer knows nothing of it. The manifest is the
//! printer's own record, so it says what the printer believes: the settings the job asked for
//! and the sheets it thinks it printed; only the sides that came out are listed, since they are
//! the files in the folder. The pixels show what it did.

use printlab_graph::PrintJobConfiguration;
use printlab_render::{ColorOutput, Manifest, RenderError};
use printlab_ticket::{ColorMode, Sides, Ticket};
use std::path::Path;

/// The defects one printer is given; the default has none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Misprint {
    /// A short-edge duplex back side prints as a long-edge one would: upright, where short-edge
    /// duplex turns it 180°.
    pub back_side_upright: bool,
    /// The last sheet of a job of two or more sheets never comes out (a one-sheet job prints).
    pub drops_last_sheet: bool,
    /// Monochrome and grayscale jobs print in colour.
    pub ignores_color_mode: bool,
    /// Media sizes (Graph names) the printer advertises but refuses: a job asking for one ends
    /// aborted, for no reason the printer was configured with.
    pub refuses_media_sizes: Vec<String>,
}

impl Misprint {
    /// Whether the printer has any defect at all.
    pub fn is_none(&self) -> bool {
        *self == Misprint::default()
    }

    /// What the printer says when it refuses the job (`configuration` as resolved), if it does.
    pub fn refusal(&self, configuration: &PrintJobConfiguration) -> Option<String> {
        let size = configuration.media_size.as_deref()?;
        self.refuses_media_sizes
            .iter()
            .any(|refused| refused == size)
            .then(|| format!("This printer cannot print media size {size}"))
    }

    /// The ticket the printer hands its engine for a job that asked for `asked`.
    pub fn engine_ticket(&self, asked: &Ticket) -> Ticket {
        let mut ticket = asked.clone();
        if self.back_side_upright && ticket.sides == Some(Sides::ShortEdge) {
            ticket.sides = Some(Sides::LongEdge);
        }
        if self.ignores_color_mode
            && matches!(
                ticket.color,
                Some(ColorMode::BlackAndWhite | ColorMode::Grayscale)
            )
        {
            ticket.color = Some(ColorMode::Color);
        }
        ticket
    }

    /// Turns what the engine rendered into `out_dir` into what comes out of this printer: the
    /// last sheet's sides removed when it drops it, and the manifest (rewritten when anything
    /// changed) naming the settings the job asked for rather than the ones the engine was
    /// given. Sheet and impression counts stay the engine's: the printer believes it printed
    /// them.
    pub fn finish_output(
        &self,
        asked: &Ticket,
        manifest: &mut Manifest,
        out_dir: &Path,
    ) -> Result<(), RenderError> {
        let mut changed = false;
        if let Some(settings) = &mut manifest.settings {
            let engine = self.engine_ticket(asked);
            if engine.sides != asked.sides
                && let Some(sides) = asked.sides
            {
                settings.duplex = sides;
                changed = true;
            }
            if engine.color != asked.color {
                settings.color = match asked.color {
                    Some(ColorMode::BlackAndWhite) => ColorOutput::BlackAndWhite,
                    Some(ColorMode::Grayscale) => ColorOutput::Grayscale,
                    _ => settings.color,
                };
                changed = true;
            }
        }
        if self.drops_last_sheet
            && let Some(last) = manifest.sides.last().map(|s| s.sheet)
            && manifest.sides.iter().any(|s| s.sheet != last)
        {
            for side in manifest.sides.iter().filter(|s| s.sheet == last) {
                let path = out_dir.join(&side.file);
                std::fs::remove_file(&path).map_err(|source| RenderError::Io { path, source })?;
            }
            manifest.sides.retain(|s| s.sheet != last);
            changed = true;
        }
        if changed {
            let path = out_dir.join("manifest.json");
            let json = serde_json::to_vec_pretty(&*manifest).expect("a manifest serialises");
            std::fs::write(&path, json).map_err(|source| RenderError::Io { path, source })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use printlab_render::{DeviceProfile, JobRequest, URF, render_job, samples};
    use tokio_util::sync::CancellationToken;

    fn every_defect() -> Misprint {
        Misprint {
            back_side_upright: true,
            drops_last_sheet: true,
            ignores_color_mode: true,
            refuses_media_sizes: vec!["North America Letter".into()],
        }
    }

    /// PNG colour type from the IHDR chunk: 0 gray, 2 RGB.
    fn png_colour_type(path: &Path) -> u8 {
        std::fs::read(path).unwrap()[25]
    }

    #[test]
    fn the_engine_gets_an_unturned_back_and_colour_only_where_the_defects_apply() {
        let asked = Ticket {
            sides: Some(Sides::ShortEdge),
            color: Some(ColorMode::Grayscale),
            ..Ticket::default()
        };
        let engine = every_defect().engine_ticket(&asked);
        assert_eq!(engine.sides, Some(Sides::LongEdge));
        assert_eq!(engine.color, Some(ColorMode::Color));
        assert_eq!(Misprint::default().engine_ticket(&asked), asked);
        let long_edge_colour = Ticket {
            sides: Some(Sides::LongEdge),
            color: Some(ColorMode::Color),
            ..Ticket::default()
        };
        assert_eq!(
            every_defect().engine_ticket(&long_edge_colour),
            long_edge_colour
        );
    }

    #[test]
    fn only_the_listed_sizes_are_refused() {
        let job = |size: &str| PrintJobConfiguration {
            media_size: Some(size.into()),
            ..PrintJobConfiguration::default()
        };
        assert_eq!(
            every_defect().refusal(&job("North America Letter")),
            Some("This printer cannot print media size North America Letter".into())
        );
        assert_eq!(every_defect().refusal(&job("A4")), None);
        assert_eq!(
            every_defect().refusal(&PrintJobConfiguration::default()),
            None
        );
    }

    /// A 3-page two-sided job on the real renderer: the second sheet never comes out, the
    /// first is RGB although gray was asked, and the manifest says what the job asked.
    #[test]
    fn the_output_loses_its_last_sheet_and_the_manifest_says_what_was_asked() {
        let dir = tempfile::tempdir().unwrap();
        let document = samples::urf_gray(3, 210, 297, 36);
        let asked = Ticket {
            dpi: Some(72),
            sides: Some(Sides::ShortEdge),
            color: Some(ColorMode::Grayscale),
            ..Ticket::default()
        };
        let misprint = every_defect();
        let engine = misprint.engine_ticket(&asked);
        let profile = DeviceProfile {
            dpis: vec![72],
            default_dpi: 72,
            ..DeviceProfile::default()
        };
        let mut manifest = render_job(&JobRequest {
            document: &document,
            content_type: URF,
            ticket: &engine,
            profile: &profile,
            out_dir: dir.path(),
            cancel: &CancellationToken::new(),
            on_sheet: &|_| {},
        })
        .unwrap();
        assert_eq!(manifest.media_sheets, 2);
        let rendered: Vec<String> = manifest.sides.iter().map(|s| s.file.clone()).collect();
        misprint
            .finish_output(&asked, &mut manifest, dir.path())
            .unwrap();

        assert!(manifest.sides.iter().all(|s| s.sheet == 1), "{manifest:?}");
        assert_eq!(manifest.sides.len(), 2);
        assert_eq!(
            manifest.media_sheets, 2,
            "the printer believes it printed both"
        );
        for file in &rendered {
            let kept = manifest.sides.iter().any(|s| &s.file == file);
            assert_eq!(dir.path().join(file).is_file(), kept, "{file}");
        }
        assert_eq!(
            png_colour_type(&dir.path().join(&manifest.sides[0].file)),
            2
        );
        let on_disk: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap())
                .unwrap();
        assert_eq!(on_disk["settings"]["duplex"], "shortEdge", "{on_disk}");
        assert_eq!(on_disk["settings"]["color"], "grayscale", "{on_disk}");
        assert_eq!(on_disk["sides"].as_array().unwrap().len(), 2, "{on_disk}");
    }

    #[test]
    fn a_one_sheet_job_keeps_its_sheet_and_a_printer_without_defects_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let document = samples::urf_gray(1, 210, 297, 36);
        let ticket = Ticket {
            dpi: Some(72),
            ..Ticket::default()
        };
        let profile = DeviceProfile {
            dpis: vec![72],
            default_dpi: 72,
            ..DeviceProfile::default()
        };
        let mut manifest = render_job(&JobRequest {
            document: &document,
            content_type: URF,
            ticket: &ticket,
            profile: &profile,
            out_dir: dir.path(),
            cancel: &CancellationToken::new(),
            on_sheet: &|_| {},
        })
        .unwrap();
        let written = std::fs::read(dir.path().join("manifest.json")).unwrap();
        for misprint in [every_defect(), Misprint::default()] {
            misprint
                .finish_output(&ticket, &mut manifest, dir.path())
                .unwrap();
            assert_eq!(manifest.sides.len(), 1);
            assert!(dir.path().join(&manifest.sides[0].file).is_file());
            assert_eq!(
                std::fs::read(dir.path().join("manifest.json")).unwrap(),
                written
            );
        }
    }
}
