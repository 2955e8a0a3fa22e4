//! A printer's limits on what one job may put out: pages, sheets and bytes of output. The job
//! prints whole sheets, in output order, until the next one would cross a limit; there it stops,
//! and the output holds exactly the sheets before it (the manifest lists them and says which
//! limit stopped the job).

use crate::layout::JobLayout;
use serde::Serialize;
use std::fmt;

/// Most a job may put out on this printer; `None` is no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutputLimits {
    /// Page images printed, copies included (the manifest's `pagesPrinted`).
    pub pages: Option<u64>,
    /// Media sheets (`job-media-sheets`).
    pub sheets: Option<u64>,
    /// Bytes of PNG written for the job's sides. A further copy of a side is a link to the
    /// side's file and adds none.
    pub output_bytes: Option<u64>,
}

/// Which limit stopped a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum OutputLimit {
    Pages,
    Sheets,
    OutputBytes,
}

/// A job stopped at a limit: which one, its value and the sheets printed before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LimitExceeded {
    pub limit: OutputLimit,
    pub maximum: u64,
    pub sheets_printed: u64,
}

impl fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, unit) = match self.limit {
            OutputLimit::Pages => ("pages", "page(s)"),
            OutputLimit::Sheets => ("sheets", "sheet(s)"),
            OutputLimit::OutputBytes => ("output_bytes", "bytes of output"),
        };
        write!(
            f,
            "the job needs more than this printer's limit of {} {unit} per job \
             (limits.max_{what}); it stopped after {} sheet(s)",
            self.maximum, self.sheets_printed
        )
    }
}

/// Counts printed sides in output order against the limits, a sheet at a time.
#[derive(Debug)]
pub(crate) struct OutputBudget {
    limits: OutputLimits,
    /// Whether the last side seen left its sheet open (a front whose back is to come).
    in_sheet: bool,
    /// Totals of the sheets accepted so far.
    accepted: Totals,
    /// Totals including the sheet in progress.
    running: Totals,
    /// Printed sides in the accepted sheets.
    accepted_sides: usize,
    sides_seen: usize,
}

#[derive(Debug, Clone, Copy, Default)]
struct Totals {
    pages: u64,
    sheets: u64,
    bytes: u64,
}

impl OutputBudget {
    pub(crate) fn new(limits: OutputLimits) -> Self {
        OutputBudget {
            limits,
            in_sheet: false,
            accepted: Totals::default(),
            running: Totals::default(),
            accepted_sides: 0,
            sides_seen: 0,
        }
    }

    /// The next printed side, with its pages, PNG bytes and whether it completes its sheet.
    /// Fails when its sheet would cross a limit: the job then ends after
    /// [`Self::accepted_sides`].
    pub(crate) fn side(
        &mut self,
        pages: u64,
        bytes: u64,
        ends_sheet: bool,
    ) -> Result<(), LimitExceeded> {
        self.sides_seen += 1;
        if !self.in_sheet {
            self.running.sheets += 1;
        }
        self.running.pages += pages;
        self.running.bytes += bytes;
        let crossed = [
            (OutputLimit::Sheets, self.limits.sheets, self.running.sheets),
            (OutputLimit::Pages, self.limits.pages, self.running.pages),
            (
                OutputLimit::OutputBytes,
                self.limits.output_bytes,
                self.running.bytes,
            ),
        ]
        .into_iter()
        .find_map(|(limit, maximum, value)| maximum.filter(|&m| value > m).map(|m| (limit, m)));
        if let Some((limit, maximum)) = crossed {
            return Err(LimitExceeded {
                limit,
                maximum,
                sheets_printed: self.accepted.sheets,
            });
        }
        self.in_sheet = !ends_sheet;
        if ends_sheet {
            self.accepted = self.running;
            self.accepted_sides = self.sides_seen;
        }
        Ok(())
    }

    /// Printed sides in whole sheets within the limits.
    pub(crate) fn accepted_sides(&self) -> usize {
        self.accepted_sides
    }
}

/// Cuts a job's layout at the first sheet that crosses the page or sheet limit (bytes are not
/// known until sides are written), dropping the sides only the cut sheets used.
pub(crate) fn cut_layout(job: &mut JobLayout, limits: OutputLimits) -> Option<LimitExceeded> {
    let duplex = job.sides.iter().any(|s| s.back);
    let mut budget = OutputBudget::new(limits);
    let stopped = job.printed.iter().find_map(|printed| {
        let side = &job.sides[printed.layout_index];
        let pages = side.placements.len() as u64;
        budget.side(pages, 0, side.back || !duplex).err()
    })?;
    job.printed.truncate(budget.accepted_sides());
    let used = job.printed.iter().map(|p| p.layout_index + 1).max();
    job.sides.truncate(used.unwrap_or(0));
    Some(stopped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_stops_before_the_sheet_that_crosses_a_limit() {
        let limits = OutputLimits {
            sheets: Some(2),
            ..OutputLimits::default()
        };
        let mut simplex = OutputBudget::new(limits);
        assert!(simplex.side(1, 0, true).is_ok() && simplex.side(1, 0, true).is_ok());
        let stop = simplex.side(1, 0, true).unwrap_err();
        assert_eq!(
            (stop.limit, stop.maximum, stop.sheets_printed),
            (OutputLimit::Sheets, 2, 2)
        );
        assert_eq!(simplex.accepted_sides(), 2);

        // Duplex: the back that crosses the byte limit takes its front with it.
        let limits = OutputLimits {
            output_bytes: Some(200),
            ..OutputLimits::default()
        };
        let mut duplex = OutputBudget::new(limits);
        for back in [false, true, false] {
            duplex.side(1, 50, back).unwrap();
        }
        let stop = duplex.side(1, 51, true).unwrap_err();
        assert_eq!(stop.limit, OutputLimit::OutputBytes);
        assert_eq!((stop.sheets_printed, duplex.accepted_sides()), (1, 2));
        assert!(
            stop.to_string().contains("limits.max_output_bytes"),
            "{stop}"
        );
    }

    fn render_limited(
        pdf: &[u8],
        limits: OutputLimits,
        out_dir: &std::path::Path,
    ) -> crate::Manifest {
        render_copies(pdf, limits, None, out_dir)
    }

    fn render_copies(
        pdf: &[u8],
        limits: OutputLimits,
        copies: Option<i32>,
        out_dir: &std::path::Path,
    ) -> crate::Manifest {
        let profile = crate::DeviceProfile {
            dpis: vec![72],
            default_dpi: 72,
            quality_dpi: None,
            output_limits: limits,
            ..crate::DeviceProfile::default()
        };
        crate::render_job(&crate::JobRequest {
            document: pdf,
            content_type: crate::PDF,
            ticket: &crate::ticket::Ticket {
                copies,
                ..crate::ticket::Ticket::default()
            },
            profile: &profile,
            out_dir,
            cancel: &tokio_util::sync::CancellationToken::new(),
            on_sheet: &|_| {},
        })
        .unwrap()
    }

    fn pngs(dir: &std::path::Path) -> Vec<u64> {
        let mut files: Vec<(String, u64)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".png"))
            .map(|e| {
                (
                    e.file_name().into_string().unwrap(),
                    e.metadata().unwrap().len(),
                )
            })
            .collect();
        files.sort();
        files.into_iter().map(|(_, len)| len).collect()
    }

    /// The byte limit is met in output order while the workers write in parallel: the sheets
    /// before the crossing stay, every file after it is gone, and the manifest lists exactly
    /// what is on disk.
    #[test]
    fn a_render_stops_at_the_byte_limit_with_only_the_sheets_before_it_on_disk() {
        let pdf = crate::testpage::generate(&[(595.0, 842.0); 12]).unwrap();
        let whole = tempfile::tempdir().unwrap();
        render_limited(&pdf, OutputLimits::default(), whole.path());
        let sizes = pngs(whole.path());
        assert_eq!(sizes.len(), 12);
        let limit = sizes[..3].iter().sum::<u64>() + sizes[3] / 2;

        let dir = tempfile::tempdir().unwrap();
        let limits = OutputLimits {
            output_bytes: Some(limit),
            ..OutputLimits::default()
        };
        let manifest = render_limited(&pdf, limits, dir.path());
        assert_eq!(pngs(dir.path()), sizes[..3]);
        assert_eq!((manifest.sides.len(), manifest.media_sheets), (3, 3));
        assert_eq!(
            manifest.stopped_at_limit,
            Some(LimitExceeded {
                limit: OutputLimit::OutputBytes,
                maximum: limit,
                sheets_printed: 3
            })
        );

        // Pages are known from the layout: counting the job stops at the same place.
        let limits = OutputLimits {
            pages: Some(5),
            ..OutputLimits::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let manifest = render_limited(&pdf, limits, dir.path());
        assert_eq!((pngs(dir.path()).len(), manifest.pages_printed), (5, 5));
        assert_eq!(
            manifest.stopped_at_limit.map(|s| s.limit),
            Some(OutputLimit::Pages)
        );
    }

    /// Copies are links to their side's file, so a byte limit one copy fits under admits any
    /// number of copies, and they take no more disk than one.
    #[test]
    fn copies_are_links_to_their_side_and_cost_no_output_bytes() {
        use std::os::unix::fs::MetadataExt;
        let pdf = crate::testpage::generate(&[(595.0, 842.0); 2]).unwrap();
        let one = tempfile::tempdir().unwrap();
        render_limited(&pdf, OutputLimits::default(), one.path());
        let limits = OutputLimits {
            output_bytes: Some(pngs(one.path()).iter().sum::<u64>()),
            ..OutputLimits::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let manifest = render_copies(&pdf, limits, Some(50), dir.path());
        assert_eq!(
            (manifest.sides.len(), manifest.stopped_at_limit),
            (100, None)
        );
        let inodes: std::collections::HashSet<u64> = (manifest.sides.iter())
            .map(|side| {
                std::fs::metadata(dir.path().join(&side.file))
                    .unwrap()
                    .ino()
            })
            .collect();
        assert_eq!(inodes.len(), 2, "two distinct sides, each linked 50 times");
    }
}
