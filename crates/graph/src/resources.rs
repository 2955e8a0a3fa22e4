//! Graph print resources and complex types (v1.0 CSDL).
//!
//! Nullable properties are `Option` and serialise as `null`, as Graph does; collections are
//! never null on the wire but `[]` when empty ([`crate::list`]). Navigation properties
//! (`documents`, `tasks`, `printer`) are only present when expanded, so they are skipped when
//! `None`. Request bodies are parsed with `deny_unknown_fields` where Graph rejects
//! unknown properties, so the error names the offending field.

use super::enums::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `integerRange`: an inclusive range, e.g. page range `{"start":1,"end":1}` is page 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegerRange {
    pub start: i64,
    pub end: i64,
}

impl IntegerRange {
    /// Page ranges in ascending order with overlapping ones merged (`5,1` → `1,5`; `1-3,2-4` →
    /// `1-4`). IPP (RFC 8011 §5.2.7) lets a printer refuse ranges out of order or overlapping, so
    /// a non-spooling printer can print in one pass; Universal Print's clients send whatever
    /// their user typed, so the service puts them in order before a printer sees them: the
    /// pages printed are the pages asked for, each once, in document order. A list holding
    /// something that is not a range of pages (start < 1, end < start) is returned as sent, so
    /// the rules name the bad range where the client put it.
    pub fn in_page_order(mut ranges: Vec<IntegerRange>) -> Vec<IntegerRange> {
        if ranges.iter().any(|r| r.start < 1 || r.end < r.start) {
            return ranges;
        }
        ranges.sort_by_key(|r| (r.start, r.end));
        let mut merged: Vec<IntegerRange> = Vec::with_capacity(ranges.len());
        for range in ranges {
            match merged.last_mut() {
                Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
                _ => merged.push(range),
            }
        }
        merged
    }
}

/// `printMargin`, in microns like the capability margins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrintMargin {
    pub top: Option<i32>,
    pub bottom: Option<i32>,
    pub left: Option<i32>,
    pub right: Option<i32>,
}

/// `userIdentity`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    pub id: Option<String>,
    pub display_name: Option<String>,
    pub ip_address: Option<String>,
    pub user_principal_name: Option<String>,
}

/// `appIdentity`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppIdentity {
    pub app_id: Option<String>,
    pub display_name: Option<String>,
    pub service_principal_id: Option<String>,
    pub service_principal_name: Option<String>,
}

/// `printerCapabilities`: what a printer can do. Margins are in microns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrinterCapabilities {
    #[serde(default, with = "crate::list")]
    pub bottom_margins: Option<Vec<i32>>,
    pub collation: Option<bool>,
    #[serde(default, with = "crate::list")]
    pub color_modes: Option<Vec<PrintColorMode>>,
    #[serde(default, with = "crate::list")]
    pub content_types: Option<Vec<String>>,
    pub copies_per_job: Option<IntegerRange>,
    #[serde(default, with = "crate::list")]
    pub dpis: Option<Vec<i32>>,
    #[serde(default, with = "crate::list")]
    pub duplex_modes: Option<Vec<PrintDuplexMode>>,
    #[serde(default, with = "crate::list")]
    pub feed_orientations: Option<Vec<PrinterFeedOrientation>>,
    #[serde(default, with = "crate::list")]
    pub finishings: Option<Vec<PrintFinishing>>,
    #[serde(default, with = "crate::list")]
    pub input_bins: Option<Vec<String>>,
    pub is_color_printing_supported: Option<bool>,
    pub is_page_range_supported: Option<bool>,
    #[serde(default, with = "crate::list")]
    pub left_margins: Option<Vec<i32>>,
    #[serde(default, with = "crate::list")]
    pub media_colors: Option<Vec<String>>,
    #[serde(default, with = "crate::list")]
    pub media_sizes: Option<Vec<String>>,
    #[serde(default, with = "crate::list")]
    pub media_types: Option<Vec<String>>,
    #[serde(default, with = "crate::list")]
    pub multipage_layouts: Option<Vec<PrintMultipageLayout>>,
    #[serde(default, with = "crate::list")]
    pub orientations: Option<Vec<PrintOrientation>>,
    #[serde(default, with = "crate::list")]
    pub output_bins: Option<Vec<String>>,
    #[serde(default, with = "crate::list")]
    pub pages_per_sheet: Option<Vec<i32>>,
    #[serde(default, with = "crate::list")]
    pub qualities: Option<Vec<PrintQuality>>,
    #[serde(default, with = "crate::list")]
    pub right_margins: Option<Vec<i32>>,
    #[serde(default, with = "crate::list")]
    pub scalings: Option<Vec<PrintScaling>>,
    pub supports_fit_pdf_to_page: Option<bool>,
    #[serde(default, with = "crate::list")]
    pub top_margins: Option<Vec<i32>>,
}

/// `printerDefaults`: what a job gets when its configuration leaves a setting out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrinterDefaults {
    pub color_mode: Option<PrintColorMode>,
    pub content_type: Option<String>,
    pub copies_per_job: Option<i32>,
    pub dpi: Option<i32>,
    pub duplex_mode: Option<PrintDuplexMode>,
    #[serde(default, with = "crate::list")]
    pub finishings: Option<Vec<PrintFinishing>>,
    pub fit_pdf_to_page: Option<bool>,
    pub input_bin: Option<String>,
    pub media_color: Option<String>,
    pub media_size: Option<String>,
    pub media_type: Option<String>,
    pub multipage_layout: Option<PrintMultipageLayout>,
    pub orientation: Option<PrintOrientation>,
    pub output_bin: Option<String>,
    pub pages_per_sheet: Option<i32>,
    pub quality: Option<PrintQuality>,
    pub scaling: Option<PrintScaling>,
}

/// `printerStatus`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrinterStatus {
    pub state: PrinterProcessingState,
    pub details: Vec<PrinterProcessingStateDetail>,
    pub description: Option<String>,
}

impl Default for PrinterStatus {
    fn default() -> Self {
        Self {
            state: PrinterProcessingState::Unknown,
            details: Vec::new(),
            description: Some(String::new()),
        }
    }
}

/// `printerLocation`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrinterLocation {
    pub altitude_in_meters: Option<i32>,
    pub building: Option<String>,
    pub city: Option<String>,
    pub country_or_region: Option<String>,
    pub floor: Option<String>,
    pub floor_description: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    #[serde(default, with = "crate::list")]
    pub organization: Option<Vec<String>>,
    pub postal_code: Option<String>,
    pub room_description: Option<String>,
    pub room_name: Option<String>,
    pub site: Option<String>,
    pub state_or_province: Option<String>,
    pub street_address: Option<String>,
    #[serde(default, with = "crate::list")]
    pub subdivision: Option<Vec<String>>,
    #[serde(default, with = "crate::list")]
    pub subunit: Option<Vec<String>>,
}

/// `printer` (derived from printerBase).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Printer {
    pub id: String,
    pub display_name: String,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub is_accepting_jobs: Option<bool>,
    pub status: PrinterStatus,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub capabilities: Option<PrinterCapabilities>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub defaults: Option<PrinterDefaults>,
    pub location: Option<PrinterLocation>,
    pub has_physical_device: bool,
    pub is_shared: bool,
    pub last_seen_date_time: Option<DateTime<Utc>>,
    pub registered_date_time: DateTime<Utc>,
}

/// `printerShare` (derived from printerBase).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrinterShare {
    pub id: String,
    pub display_name: String,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub is_accepting_jobs: Option<bool>,
    pub status: PrinterStatus,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub capabilities: Option<PrinterCapabilities>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub defaults: Option<PrinterDefaults>,
    pub location: Option<PrinterLocation>,
    pub allow_all_users: bool,
    pub created_date_time: DateTime<Utc>,
    /// The share as the signed-in user sees it; null for application callers.
    pub view_point: Option<PrinterShareViewpoint>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub printer: Option<Box<Printer>>,
}

/// `printerShareViewpoint`: what a share is to the signed-in user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrinterShareViewpoint {
    /// When the user last printed to the share's printer; null if never.
    pub last_used_date_time: Option<DateTime<Utc>>,
}

/// `printJobConfiguration`: every setting a client may ask of a job; all nullable.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrintJobConfiguration {
    pub collate: Option<bool>,
    pub color_mode: Option<PrintColorMode>,
    pub copies: Option<i32>,
    pub dpi: Option<i32>,
    pub duplex_mode: Option<PrintDuplexMode>,
    pub feed_orientation: Option<PrinterFeedOrientation>,
    #[serde(default, with = "crate::list")]
    pub finishings: Option<Vec<PrintFinishing>>,
    pub fit_pdf_to_page: Option<bool>,
    pub input_bin: Option<String>,
    pub margin: Option<PrintMargin>,
    pub media_size: Option<String>,
    pub media_type: Option<String>,
    pub multipage_layout: Option<PrintMultipageLayout>,
    pub orientation: Option<PrintOrientation>,
    pub output_bin: Option<String>,
    #[serde(default, with = "crate::list")]
    pub page_ranges: Option<Vec<IntegerRange>>,
    pub pages_per_sheet: Option<i32>,
    pub quality: Option<PrintQuality>,
    pub scaling: Option<PrintScaling>,
}

impl PrintJobConfiguration {
    /// The configuration with its `pageRanges` in ascending order, overlaps merged
    /// ([`IntegerRange::in_page_order`]): what the cloud stores and hands the printer.
    pub fn with_page_ranges_in_order(mut self) -> Self {
        self.page_ranges = self.page_ranges.map(IntegerRange::in_page_order);
        self
    }

    /// The configuration a printer actually prints with: every setting the job left out takes
    /// the printer's default, as a real device applies its own defaults to a job.
    pub fn with_defaults(mut self, defaults: &PrinterDefaults) -> Self {
        fn fill<T: Clone>(slot: &mut Option<T>, default: &Option<T>) {
            if slot.is_none() {
                slot.clone_from(default);
            }
        }
        fill(&mut self.color_mode, &defaults.color_mode);
        fill(&mut self.copies, &defaults.copies_per_job);
        fill(&mut self.dpi, &defaults.dpi);
        fill(&mut self.duplex_mode, &defaults.duplex_mode);
        fill(&mut self.finishings, &defaults.finishings);
        fill(&mut self.fit_pdf_to_page, &defaults.fit_pdf_to_page);
        fill(&mut self.input_bin, &defaults.input_bin);
        fill(&mut self.media_size, &defaults.media_size);
        fill(&mut self.media_type, &defaults.media_type);
        fill(&mut self.multipage_layout, &defaults.multipage_layout);
        fill(&mut self.orientation, &defaults.orientation);
        fill(&mut self.output_bin, &defaults.output_bin);
        fill(&mut self.pages_per_sheet, &defaults.pages_per_sheet);
        fill(&mut self.quality, &defaults.quality);
        fill(&mut self.scaling, &defaults.scaling);
        self
    }
}

/// `printJobStatus`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrintJobStatus {
    pub state: PrintJobProcessingState,
    pub details: Vec<PrintJobStateDetail>,
    pub description: String,
    pub is_acquired_by_printer: bool,
}

/// `printDocument`. The bytes are its media stream (`$value`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrintDocument {
    pub id: String,
    pub display_name: Option<String>,
    pub content_type: Option<String>,
    pub size: i64,
    pub uploaded_date_time: Option<DateTime<Utc>>,
    pub downloaded_date_time: Option<DateTime<Utc>>,
}

/// `printTaskStatus`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrintTaskStatus {
    pub state: PrintTaskProcessingState,
    pub description: String,
}

/// `printTask`: one run of a task definition, triggered by a job event (pull printing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrintTask {
    pub id: String,
    pub parent_url: String,
    pub status: PrintTaskStatus,
}

/// `printTaskDefinition`: what a pull-printing app runs when one of its triggers fires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrintTaskDefinition {
    pub id: String,
    pub display_name: String,
    pub created_by: AppIdentity,
}

/// `printTaskTrigger`: binds a task definition to a printer event (`definition@odata.bind`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrintTaskTrigger {
    pub id: String,
    pub event: PrintEvent,
}

/// `printJob`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrintJob {
    /// A decimal string: it is also the IPP `job-id` the device sees.
    pub id: String,
    pub created_date_time: DateTime<Utc>,
    pub created_by: Option<UserIdentity>,
    pub configuration: PrintJobConfiguration,
    pub status: PrintJobStatus,
    pub is_fetchable: bool,
    pub redirected_from: Option<String>,
    pub redirected_to: Option<String>,
    pub error_code: Option<i32>,
    pub acknowledged_date_time: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub documents: Option<Vec<PrintDocument>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tasks: Option<Vec<PrintTask>>,
}

/// `uploadSession` as returned by `createUploadSession`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadSession {
    pub upload_url: Option<String>,
    pub expiration_date_time: Option<DateTime<Utc>>,
    #[serde(default, with = "crate::list")]
    pub next_expected_ranges: Option<Vec<String>>,
}

/// `printDocumentUploadProperties`, the body of `createUploadSession` (`{"properties": …}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrintDocumentUploadProperties {
    pub document_name: String,
    pub content_type: String,
    pub size: i64,
}

/// `printCertificateSigningRequest`: base64 PKCS#10 plus the base64 public transport key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrintCertificateSigningRequest {
    pub content: String,
    pub transport_key: String,
}

/// `printOperationStatus`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrintOperationStatus {
    pub state: PrintOperationProcessingState,
    pub description: String,
}

/// The OData error body every failing Graph call returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ODataErrorBody {
    pub error: ODataError,
}

/// `{"code","message","innerError":{"date","request-id","client-request-id"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ODataError {
    pub code: String,
    pub message: String,
    pub inner_error: ODataInnerError,
}

/// The `innerError` of an OData error: which request failed, and when. The same ids come back
/// as the response's `request-id` and `client-request-id` headers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ODataInnerError {
    pub date: DateTime<Utc>,
    #[serde(rename = "request-id")]
    pub request_id: String,
    /// Absent only from services that do not echo the client's id.
    #[serde(
        rename = "client-request-id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub client_request_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_ranges_are_put_in_order_and_overlaps_merged() {
        let r = |start, end| IntegerRange { start, end };
        assert_eq!(
            IntegerRange::in_page_order(vec![r(5, 5), r(1, 1)]),
            [r(1, 1), r(5, 5)]
        );
        assert_eq!(
            IntegerRange::in_page_order(vec![r(1, 3), r(2, 4), r(9, 9), r(4, 6)]),
            [r(1, 6), r(9, 9)]
        );
        // Adjacent ranges are already valid IPP and stay as sent.
        assert_eq!(
            IntegerRange::in_page_order(vec![r(1, 2), r(3, 4)]),
            [r(1, 2), r(3, 4)]
        );
        // Not a range of pages: left for the rules to name at its index.
        assert_eq!(
            IntegerRange::in_page_order(vec![r(5, 5), r(3, 1)]),
            [r(5, 5), r(3, 1)]
        );
    }

    #[test]
    fn printer_defaults_fill_only_what_the_job_left_out() {
        let job = PrintJobConfiguration {
            copies: Some(3),
            ..Default::default()
        };
        let defaults = PrinterDefaults {
            copies_per_job: Some(1),
            duplex_mode: Some(PrintDuplexMode::FlipOnLongEdge),
            color_mode: Some(PrintColorMode::BlackAndWhite),
            ..Default::default()
        };
        let effective = job.with_defaults(&defaults);
        assert_eq!(effective.copies, Some(3));
        assert_eq!(effective.duplex_mode, Some(PrintDuplexMode::FlipOnLongEdge));
        assert_eq!(effective.color_mode, Some(PrintColorMode::BlackAndWhite));
        assert_eq!(effective.pages_per_sheet, None);
    }

    #[test]
    fn job_configuration_rejects_unknown_fields_by_name() {
        let err = serde_json::from_str::<PrintJobConfiguration>(r#"{"copies":2,"colour":"color"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `colour`"), "{err}");
    }

    #[test]
    fn nullable_properties_serialise_as_null_and_navigation_is_omitted() {
        let job = PrintJob {
            id: "1825".into(),
            created_date_time: DateTime::UNIX_EPOCH,
            created_by: None,
            configuration: PrintJobConfiguration::default(),
            status: PrintJobStatus {
                state: PrintJobProcessingState::Paused,
                details: vec![PrintJobStateDetail::UploadPending],
                description: "The job is not a candidate for processing yet.".into(),
                is_acquired_by_printer: false,
            },
            is_fetchable: false,
            redirected_from: None,
            redirected_to: None,
            error_code: None,
            acknowledged_date_time: None,
            documents: None,
            tasks: None,
        };
        let v = serde_json::to_value(&job).unwrap();
        assert_eq!(v["status"]["details"][0], "uploadPending");
        assert!(v["configuration"]["copies"].is_null());
        assert!(v.get("documents").is_none());
        assert!(v["acknowledgedDateTime"].is_null());
    }
}
