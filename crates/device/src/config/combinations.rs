//! Combinations a printer entry advertises but could not print: each value may be fine on its
//! own, while together they are not. A fleet file must not advertise what its printer cannot
//! print, so `printlab validate` refuses these like any other mistake.

use super::{Issues, PrinterEntry};
use crate::constraint::{Constraint, Resolution, resolve};
use printlab_graph::{MediaSize, PrintJobConfiguration, PrinterDefaults};

/// Every advertised media size at every advertised resolution must be a sheet the renderer can
/// print (asked of the renderer itself, [`printlab_render::sheet_renderable`], so this check
/// moves with it); and a job that sets nothing, printed at the defaults, must not be refused by
/// the printer's own constraints.
pub(super) fn check_combinations(
    p: &PrinterEntry,
    defaults: &PrinterDefaults,
    constraints: Option<&[Constraint]>,
    issues: &mut Issues,
) {
    let c = p.capabilities.get_ref();
    if let (Some(media), Some(dpis)) = (&c.media, &c.dpis) {
        for entry in media.get_ref() {
            let Some(size) = MediaSize::by_graph_name(entry.get_ref().size.get_ref()) else {
                continue; // named by the rules
            };
            let sheet = printlab_ticket::Media {
                pwg_name: size.pwg_name.to_owned(),
                width: size.width,
                height: size.height,
            };
            for dpi in dpis.get_ref() {
                let Ok(dots) = u32::try_from(*dpi.get_ref()) else {
                    continue; // named by the rules
                };
                if !printlab_render::sheet_renderable(&sheet, dots) {
                    issues.push(
                        entry.span(),
                        format!(
                            "{} at {dots} dpi cannot be printed: the renderer refuses a sheet \
                             that large; drop the size or the resolution, or give this size its \
                             own printer entry",
                            size.graph_name
                        ),
                    );
                }
            }
        }
    }
    if let (Some(constraints), Some(span)) = (constraints, p.defaults.as_ref().map(|d| d.span())) {
        let job = PrintJobConfiguration::default().with_defaults(defaults);
        if let Resolution::Refused(refusal) = resolve(constraints, &job) {
            issues.push(
                span,
                format!(
                    "a job that sets nothing prints at these defaults, and they are refused: \
                     {refusal}"
                ),
            );
        }
    }
}
