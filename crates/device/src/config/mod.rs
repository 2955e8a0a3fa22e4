//! `printers.toml`: the declared fleet, parsed with spans so every mistake can be shown at its
//! line and column.
//!
//! Enum values are read as plain strings and converted afterwards (instead of by serde), so a
//! file with three misspelt colour modes gets three messages rather than one stop at the first.
//! The capability and default rules themselves live in [`printlab_graph::rules`], shared with the
//! cloud; this module maps their Graph-named violations back to the TOML value they came from.

use super::engine::{EngineSpec, FaultSpec, OfflineWindow, RandomFaults};
use printlab_graph::rules::{self, Subject, Violation};
use printlab_graph::{
    GraphEnum, IntegerRange, MediaSize, PrintColorMode, PrintDuplexMode, PrinterCapabilities,
    PrinterDefaults, PrinterLocation,
};
use serde::Deserialize;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;
use toml::Spanned;

type S<T> = Spanned<T>;
type SList = Spanned<Vec<Spanned<String>>>;

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FleetFile {
    #[serde(default)]
    fleet: Option<FleetSection>,
    #[serde(default)]
    printer: Vec<Spanned<PrinterEntry>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FleetSection {
    connection: Option<S<ConnectionEntry>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PrinterEntry {
    name: S<String>,
    manufacturer: Option<String>,
    model: Option<String>,
    #[serde(default)]
    location: LocationEntry,
    connection: Option<S<ConnectionEntry>>,
    capabilities: S<CapabilitiesEntry>,
    #[serde(default)]
    defaults: Option<S<DefaultsEntry>>,
    engine: Option<EngineEntry>,
    #[serde(default)]
    faults: FaultsEntry,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LocationEntry {
    building: Option<String>,
    floor: Option<String>,
    room: Option<String>,
    street_address: Option<String>,
    city: Option<String>,
    postal_code: Option<String>,
    state_or_province: Option<String>,
    country_or_region: Option<String>,
    site: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectionEntry {
    mode: S<String>,
    printer_uri: Option<S<String>>,
    username: Option<String>,
    password: Option<String>,
    password_env: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MediaEntry {
    size: S<String>,
    /// Hardware margins in millimetres.
    margins: S<MarginsEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MarginsEntry {
    top: f64,
    bottom: f64,
    left: f64,
    right: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CopiesEntry {
    min: i64,
    max: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CapabilitiesEntry {
    document_formats: Option<SList>,
    media: Option<S<Vec<S<MediaEntry>>>>,
    dpis: Option<S<Vec<S<i64>>>>,
    color_modes: Option<SList>,
    duplex_modes: Option<SList>,
    pages_per_sheet: Option<S<Vec<S<i64>>>>,
    multipage_layouts: Option<SList>,
    orientations: Option<SList>,
    scalings: Option<SList>,
    qualities: Option<SList>,
    finishings: Option<SList>,
    feed_orientations: Option<SList>,
    input_bins: Option<SList>,
    output_bins: Option<SList>,
    media_types: Option<SList>,
    media_colors: Option<SList>,
    copies: Option<S<CopiesEntry>>,
    collation: Option<bool>,
    page_ranges: Option<bool>,
    fit_to_page: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DefaultsEntry {
    color_mode: Option<S<String>>,
    document_format: Option<S<String>>,
    copies: Option<S<i64>>,
    dpi: Option<S<i64>>,
    duplex_mode: Option<S<String>>,
    finishings: Option<SList>,
    fit_to_page: Option<S<bool>>,
    input_bin: Option<S<String>>,
    media_color: Option<S<String>>,
    media_size: Option<S<String>>,
    media_type: Option<S<String>>,
    multipage_layout: Option<S<String>>,
    orientation: Option<S<String>>,
    output_bin: Option<S<String>>,
    pages_per_sheet: Option<S<i64>>,
    quality: Option<S<String>>,
    scaling: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EngineEntry {
    pages_per_minute: S<i64>,
    #[serde(default)]
    warm_up_seconds: Option<S<f64>>,
    #[serde(default)]
    cool_down_seconds: Option<S<f64>>,
    #[serde(default)]
    full_speed: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultsEntry {
    jam_every_sheets: Option<S<i64>>,
    out_of_paper_after_sheets: Option<S<i64>>,
    cover_open_after_sheets: Option<S<i64>>,
    #[serde(default)]
    offline: Vec<S<OfflineEntry>>,
    failing_formats: Option<SList>,
    extra_latency_ms: Option<S<i64>>,
    random: Option<S<RandomEntry>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OfflineEntry {
    after_seconds: f64,
    for_seconds: f64,
    every_seconds: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RandomEntry {
    seed: u64,
    jam: Option<S<f64>>,
    cover_open: Option<S<f64>>,
    media_empty: Option<S<f64>>,
    interpret_failure: Option<S<f64>>,
}

/// Defaults used when `[printer.engine]` is left out: an ordinary office laser.
const DEFAULT_PPM: u32 = 30;
const DEFAULT_WARM_UP: Duration = Duration::from_secs(8);
const DEFAULT_COOL_DOWN: Duration = Duration::from_secs(300);

/// How a device reaches the service that gives it jobs.
#[derive(Clone, PartialEq, Eq)]
pub enum Connection {
    /// Universal Print: register (CSR in, certificate out), then use device tokens.
    UniversalPrint,
    /// A plain INFRA printer URI at any PWG 5100.18 service, with HTTP Basic credentials.
    Infra {
        printer_uri: String,
        username: Option<String>,
        password: Option<Secret>,
    },
}

/// Where the password comes from; `Debug` never shows a literal password.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    Literal(String),
    Env(String),
}

impl Secret {
    /// The password, reading the environment variable if that is where it lives.
    pub fn reveal(&self) -> Result<String, ConfigError> {
        match self {
            Secret::Literal(s) => Ok(s.clone()),
            Secret::Env(var) => {
                std::env::var(var).map_err(|_| ConfigError::MissingEnv(var.clone()))
            }
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Literal(_) => f.write_str("<literal>"),
            Secret::Env(v) => write!(f, "${v}"),
        }
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Connection::UniversalPrint => f.write_str("UniversalPrint"),
            Connection::Infra {
                printer_uri,
                username,
                password,
            } => f
                .debug_struct("Infra")
                .field("printer_uri", printer_uri)
                .field("username", username)
                .field("password", password)
                .finish(),
        }
    }
}

/// Hardware margins of one media size, in microns (Graph's unit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Margins {
    pub top: u32,
    pub bottom: u32,
    pub left: u32,
    pub right: u32,
}

/// One loaded media size with its margins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaProfile {
    pub size: &'static MediaSize,
    pub margins: Margins,
}

/// What the renderer needs to know about the physical printer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HardwareProfile {
    pub media: Vec<MediaProfile>,
    pub dpis: Vec<u32>,
    pub color: bool,
    pub duplex: bool,
}

impl HardwareProfile {
    /// The loaded media of this Graph size name.
    pub fn media(&self, graph_name: &str) -> Option<&MediaProfile> {
        self.media.iter().find(|m| m.size.graph_name == graph_name)
    }
}

/// One printer of the fleet, checked and ready to run.
#[derive(Debug, Clone)]
pub struct PrinterConfig {
    pub name: String,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub location: PrinterLocation,
    pub connection: Connection,
    pub capabilities: PrinterCapabilities,
    pub defaults: PrinterDefaults,
    pub hardware: HardwareProfile,
    pub engine: EngineSpec,
    pub faults: FaultSpec,
}

/// The whole fleet, in file order.
#[derive(Debug, Clone)]
pub struct Fleet {
    pub printers: Vec<PrinterConfig>,
}

/// One slice of a fleet: `--shard i/n` takes printers i, i+n, i+2n, … (1-based, file order), so
/// n processes with the same `printers.toml` split it without overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a shard: write i/n with 1 ≤ i ≤ n, e.g. 2/4");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl Fleet {
    /// The printers of one shard.
    pub fn shard(self, shard: Shard) -> Fleet {
        Fleet {
            printers: self
                .printers
                .into_iter()
                .enumerate()
                .filter(|(i, _)| i % shard.count == shard.index - 1)
                .map(|(_, p)| p)
                .collect(),
        }
    }
}

/// One mistake in the file, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub column: usize,
    pub span: Range<usize>,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}", format_problems(file, problems))]
    Invalid {
        file: String,
        problems: Vec<Problem>,
    },
    #[error("environment variable {0} (named by password_env) is not set")]
    MissingEnv(String),
}

fn format_problems(file: &str, problems: &[Problem]) -> String {
    let mut out = format!("{file}: {} mistake(s)", problems.len());
    for p in problems {
        out.push_str(&format!("\n{file}:{}:{}: {}", p.line, p.column, p.message));
    }
    out
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Reads and checks a `printers.toml`.
pub fn load(path: &Path) -> Result<Fleet, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(&text, &path.display().to_string())
}

/// Parses and checks `printers.toml` text; `file` names it in messages.
pub fn parse(text: &str, file: &str) -> Result<Fleet, ConfigError> {
    let mut issues = Issues::default();
    let fleet = match toml::from_str::<FleetFile>(text) {
        Ok(f) => f,
        Err(e) => {
            issues.push(e.span().unwrap_or(0..0), e.message().trim_end().to_string());
            return Err(issues.into_error(text, file));
        }
    };
    let fleet_connection = fleet
        .fleet
        .as_ref()
        .and_then(|f| f.connection.as_ref())
        .map(|c| convert_connection(c, &mut issues));
    if fleet.printer.is_empty() {
        issues.push(0..0, "no printers: declare at least one [[printer]]".into());
    }
    let mut printers = Vec::new();
    for (i, entry) in fleet.printer.iter().enumerate() {
        let name = entry.get_ref().name.get_ref();
        if let Some(first) = fleet.printer[..i]
            .iter()
            .find(|p| p.get_ref().name.get_ref() == name)
        {
            let (line, _) = line_column(text, first.get_ref().name.span().start);
            issues.push(
                entry.get_ref().name.span(),
                format!("printer name `{name}` is already used on line {line}"),
            );
        }
        if let Some(p) = convert_printer(
            entry.get_ref(),
            fleet_connection.clone().flatten(),
            &mut issues,
        ) {
            printers.push(p);
        }
    }
    if issues.0.is_empty() {
        Ok(Fleet { printers })
    } else {
        Err(issues.into_error(text, file))
    }
}

#[derive(Default)]
struct Issues(Vec<(Range<usize>, String)>);

impl Issues {
    fn push(&mut self, span: Range<usize>, message: String) {
        self.0.push((span, message));
    }

    fn into_error(mut self, text: &str, file: &str) -> ConfigError {
        self.0.sort_by_key(|(span, _)| span.start);
        let problems = self
            .0
            .into_iter()
            .map(|(span, message)| {
                let (line, column) = line_column(text, span.start);
                Problem {
                    line,
                    column,
                    span,
                    message,
                }
            })
            .collect();
        ConfigError::Invalid {
            file: file.to_string(),
            problems,
        }
    }
}

fn convert_connection(c: &S<ConnectionEntry>, issues: &mut Issues) -> Option<Connection> {
    let entry = c.get_ref();
    let secret = match (&entry.password, &entry.password_env) {
        (Some(_), Some(_)) => {
            issues.push(
                c.span(),
                "give either password or password_env, not both".into(),
            );
            None
        }
        (Some(p), None) => Some(Secret::Literal(p.clone())),
        (None, Some(v)) => Some(Secret::Env(v.clone())),
        (None, None) => None,
    };
    match entry.mode.get_ref().as_str() {
        "universal-print" => {
            if entry.printer_uri.is_some() || entry.username.is_some() || secret.is_some() {
                issues.push(
                    c.span(),
                    "universal-print registers with the cloud and uses device tokens; printer_uri, username and password belong to mode = \"infra\"".into(),
                );
            }
            Some(Connection::UniversalPrint)
        }
        "infra" => {
            let Some(uri) = &entry.printer_uri else {
                issues.push(c.span(), "mode = \"infra\" needs printer_uri".into());
                return None;
            };
            match reqwest::Url::parse(uri.get_ref()) {
                Ok(url) if matches!(url.scheme(), "ipp" | "ipps" | "http" | "https") => {}
                Ok(url) => issues.push(
                    uri.span(),
                    format!(
                        "printer_uri scheme `{}` is not ipp, ipps, http or https",
                        url.scheme()
                    ),
                ),
                Err(e) => issues.push(uri.span(), format!("printer_uri is not a URI: {e}")),
            }
            if secret.is_some() && entry.username.is_none() {
                issues.push(c.span(), "a password needs a username (HTTP Basic)".into());
            }
            Some(Connection::Infra {
                printer_uri: uri.get_ref().clone(),
                username: entry.username.clone(),
                password: secret,
            })
        }
        other => {
            issues.push(
                entry.mode.span(),
                format!(
                    "connection mode `{other}` is unknown; use \"universal-print\" or \"infra\""
                ),
            );
            None
        }
    }
}

/// Converts a list of enum names, reporting each unknown one at its own position.
fn enum_list<E: GraphEnum>(list: &Option<SList>, issues: &mut Issues) -> Option<Vec<E>> {
    let list = list.as_ref()?;
    Some(
        list.get_ref()
            .iter()
            .filter_map(|v| enum_value(v, issues))
            .collect(),
    )
}

fn enum_value<E: GraphEnum>(v: &S<String>, issues: &mut Issues) -> Option<E> {
    let found = E::from_name(v.get_ref());
    if found.is_none() {
        let names: Vec<_> = E::ALL
            .iter()
            .map(|m| m.as_str())
            .filter(|m| *m != "unknownFutureValue")
            .collect();
        let suggestion = names
            .iter()
            .find(|n| n.eq_ignore_ascii_case(v.get_ref()))
            .map(|n| format!("did you mean `{n}`? "))
            .unwrap_or_default();
        issues.push(
            v.span(),
            format!(
                "`{}` is not a valid value; {suggestion}expected one of: {}",
                v.get_ref(),
                names.join(", ")
            ),
        );
    }
    found
}

fn strings(list: &Option<SList>) -> Option<Vec<String>> {
    list.as_ref()
        .map(|l| l.get_ref().iter().map(|s| s.get_ref().clone()).collect())
}

fn int32(v: &S<i64>, issues: &mut Issues) -> Option<i32> {
    let out = i32::try_from(*v.get_ref()).ok();
    if out.is_none() {
        issues.push(v.span(), format!("{} is out of range", v.get_ref()));
    }
    out
}

fn int_list(list: &Option<S<Vec<S<i64>>>>, issues: &mut Issues) -> Option<Vec<i32>> {
    list.as_ref().map(|l| {
        l.get_ref()
            .iter()
            .filter_map(|v| int32(v, issues))
            .collect()
    })
}

fn mm_to_microns(mm: f64) -> i64 {
    (mm * 1000.0).round() as i64
}

/// Where each Graph property of the converted printer came from, for mapping violations back.
struct Origins<'a> {
    printer: &'a PrinterEntry,
    /// For each Graph margin list (top, bottom, left, right), the media entry of each value.
    margin_media: [Vec<usize>; 4],
}

impl Origins<'_> {
    fn capability(&self, field: &str, index: Option<usize>) -> Range<usize> {
        let caps = &self.printer.capabilities;
        let c = caps.get_ref();
        let list = |l: &Option<SList>| -> Option<Range<usize>> {
            let l = l.as_ref()?;
            Some(match index.and_then(|i| l.get_ref().get(i)) {
                Some(item) => item.span(),
                None => l.span(),
            })
        };
        let ints = |l: &Option<S<Vec<S<i64>>>>| -> Option<Range<usize>> {
            let l = l.as_ref()?;
            Some(match index.and_then(|i| l.get_ref().get(i)) {
                Some(item) => item.span(),
                None => l.span(),
            })
        };
        let media = |pick: &dyn Fn(&MediaEntry) -> Range<usize>, i: Option<usize>| {
            let m = c.media.as_ref()?;
            Some(match i.and_then(|i| m.get_ref().get(i)) {
                Some(entry) => pick(entry.get_ref()),
                None => m.span(),
            })
        };
        let margin = |side: usize| {
            let entry = index.and_then(|i| self.margin_media[side].get(i).copied());
            media(&|e: &MediaEntry| e.margins.span(), entry)
        };
        let span = match field {
            "contentTypes" => list(&c.document_formats),
            "colorModes" | "isColorPrintingSupported" => list(&c.color_modes),
            "mediaSizes" => media(&|e: &MediaEntry| e.size.span(), index),
            "topMargins" => margin(0),
            "bottomMargins" => margin(1),
            "leftMargins" => margin(2),
            "rightMargins" => margin(3),
            "dpis" => ints(&c.dpis),
            "duplexModes" => list(&c.duplex_modes),
            "finishings" => list(&c.finishings),
            "pagesPerSheet" => ints(&c.pages_per_sheet),
            "multipageLayouts" => list(&c.multipage_layouts),
            "orientations" => list(&c.orientations),
            "scalings" => list(&c.scalings),
            "qualities" => list(&c.qualities),
            "feedOrientations" => list(&c.feed_orientations),
            "inputBins" => list(&c.input_bins),
            "outputBins" => list(&c.output_bins),
            "mediaTypes" => list(&c.media_types),
            "mediaColors" => list(&c.media_colors),
            "copiesPerJob" => c.copies.as_ref().map(|c| c.span()),
            _ => None,
        };
        span.unwrap_or_else(|| caps.span())
    }

    fn default(&self, field: &str, index: Option<usize>) -> Range<usize> {
        let Some(defaults) = &self.printer.defaults else {
            return self.printer.capabilities.span();
        };
        let d = defaults.get_ref();
        let one = |v: &Option<S<String>>| v.as_ref().map(|v| v.span());
        let int = |v: &Option<S<i64>>| v.as_ref().map(|v| v.span());
        let span = match field {
            "colorMode" => one(&d.color_mode),
            "contentType" => one(&d.document_format),
            "copiesPerJob" => int(&d.copies),
            "dpi" => int(&d.dpi),
            "duplexMode" => one(&d.duplex_mode),
            "finishings" => d.finishings.as_ref().map(|l| {
                index
                    .and_then(|i| l.get_ref().get(i))
                    .map_or(l.span(), |v| v.span())
            }),
            "fitPdfToPage" => d.fit_to_page.as_ref().map(|v| v.span()),
            "inputBin" => one(&d.input_bin),
            "mediaColor" => one(&d.media_color),
            "mediaSize" => one(&d.media_size),
            "mediaType" => one(&d.media_type),
            "multipageLayout" => one(&d.multipage_layout),
            "orientation" => one(&d.orientation),
            "outputBin" => one(&d.output_bin),
            "pagesPerSheet" => int(&d.pages_per_sheet),
            "quality" => one(&d.quality),
            "scaling" => one(&d.scaling),
            _ => None,
        };
        span.unwrap_or_else(|| defaults.span())
    }

    fn violation(&self, v: &Violation) -> Range<usize> {
        match v.subject {
            Subject::Capabilities => self.capability(v.field, v.index),
            Subject::Defaults | Subject::Job => self.default(v.field, v.index),
        }
    }
}

/// The TOML key a Graph property is written as, so messages speak the file's language.
fn toml_key(subject: Subject, field: &str) -> &str {
    match (subject, field) {
        (Subject::Capabilities, "contentTypes") => "document_formats",
        (Subject::Capabilities, "mediaSizes") => "media",
        (
            Subject::Capabilities,
            "topMargins" | "bottomMargins" | "leftMargins" | "rightMargins",
        ) => "margins",
        (Subject::Capabilities, "copiesPerJob") => "copies",
        (Subject::Capabilities, "isColorPrintingSupported") => "color_modes",
        (Subject::Defaults, "contentType") => "document_format",
        (Subject::Defaults, "copiesPerJob") => "copies",
        (_, "fitPdfToPage") => "fit_to_page",
        (_, "colorModes") => "color_modes",
        (_, "duplexModes") => "duplex_modes",
        (_, "pagesPerSheet") => "pages_per_sheet",
        (_, "multipageLayouts") => "multipage_layouts",
        (_, "feedOrientations") => "feed_orientations",
        (_, "inputBins") => "input_bins",
        (_, "outputBins") => "output_bins",
        (_, "mediaTypes") => "media_types",
        (_, "mediaColors") => "media_colors",
        (_, "colorMode") => "color_mode",
        (_, "duplexMode") => "duplex_mode",
        (_, "inputBin") => "input_bin",
        (_, "mediaColor") => "media_color",
        (_, "mediaSize") => "media_size",
        (_, "mediaType") => "media_type",
        (_, "multipageLayout") => "multipage_layout",
        (_, "outputBin") => "output_bin",
        _ => field,
    }
}

fn convert_printer(
    p: &PrinterEntry,
    fleet_connection: Option<Connection>,
    issues: &mut Issues,
) -> Option<PrinterConfig> {
    let name = p.name.get_ref();
    let first_issue = issues.0.len();
    let printer = convert_printer_checked(p, name, fleet_connection, issues);
    // Messages found while converting values do not know their printer yet.
    for (_, message) in &mut issues.0[first_issue..] {
        if !message.starts_with("printer `") {
            *message = format!("printer `{name}`: {message}");
        }
    }
    printer
}

fn convert_printer_checked(
    p: &PrinterEntry,
    name: &str,
    fleet_connection: Option<Connection>,
    issues: &mut Issues,
) -> Option<PrinterConfig> {
    if name.trim().is_empty() || name.chars().any(char::is_control) {
        issues.push(
            p.name.span(),
            "a printer name must be non-blank without control characters".into(),
        );
    }
    let connection = match &p.connection {
        Some(c) => convert_connection(c, issues),
        None => Some(fleet_connection.unwrap_or(Connection::UniversalPrint)),
    };

    let c = p.capabilities.get_ref();
    let mut media = Vec::new();
    let mut margins: [Vec<i32>; 4] = Default::default();
    let mut margin_media: [Vec<usize>; 4] = Default::default();
    let mut media_names = None;
    if let Some(list) = &c.media {
        let mut names = Vec::new();
        for (i, entry) in list.get_ref().iter().enumerate() {
            let e = entry.get_ref();
            names.push(e.size.get_ref().clone());
            let m = e.margins.get_ref();
            let microns = [m.top, m.bottom, m.left, m.right].map(mm_to_microns);
            for (side, value) in microns.iter().enumerate() {
                let value = (*value).clamp(i32::MIN as i64, i32::MAX as i64) as i32;
                if !margins[side].contains(&value) {
                    margins[side].push(value);
                    margin_media[side].push(i);
                }
            }
            let Some(size) = MediaSize::by_graph_name(e.size.get_ref()) else {
                continue; // named by the rules, at the size's span
            };
            if microns.iter().any(|v| *v < 0) {
                continue; // named by the rules
            }
            let [top, bottom, left, right] = microns.map(|v| v as u32);
            // 1 PWG unit = 10 µm
            if top + bottom >= size.height * 10 || left + right >= size.width * 10 {
                issues.push(
                    e.margins.span(),
                    format!(
                        "these margins leave nothing printable on {}",
                        size.graph_name
                    ),
                );
            }
            media.push(MediaProfile {
                size,
                margins: Margins {
                    top,
                    bottom,
                    left,
                    right,
                },
            });
        }
        media_names = Some(names);
    }
    let [top, bottom, left, right] = margins;
    let has_media = media_names.is_some();
    let color_modes = enum_list::<PrintColorMode>(&c.color_modes, issues);
    let duplex_modes = enum_list::<PrintDuplexMode>(&c.duplex_modes, issues);
    let capabilities = PrinterCapabilities {
        bottom_margins: has_media.then_some(bottom),
        collation: c.collation,
        is_color_printing_supported: color_modes
            .as_ref()
            .map(|m| m.contains(&PrintColorMode::Color)),
        color_modes,
        content_types: strings(&c.document_formats),
        copies_per_job: c.copies.as_ref().map(|r| IntegerRange {
            start: r.get_ref().min,
            end: r.get_ref().max,
        }),
        dpis: int_list(&c.dpis, issues),
        duplex_modes,
        feed_orientations: enum_list(&c.feed_orientations, issues),
        finishings: enum_list(&c.finishings, issues),
        input_bins: strings(&c.input_bins),
        is_page_range_supported: c.page_ranges,
        left_margins: has_media.then_some(left),
        media_colors: strings(&c.media_colors),
        media_sizes: media_names,
        media_types: strings(&c.media_types),
        multipage_layouts: enum_list(&c.multipage_layouts, issues),
        orientations: enum_list(&c.orientations, issues),
        output_bins: strings(&c.output_bins),
        pages_per_sheet: int_list(&c.pages_per_sheet, issues),
        qualities: enum_list(&c.qualities, issues),
        right_margins: has_media.then_some(right),
        scalings: enum_list(&c.scalings, issues),
        supports_fit_pdf_to_page: c.fit_to_page,
        top_margins: has_media.then_some(top),
    };

    let empty = DefaultsEntry::default();
    let d = p.defaults.as_ref().map_or(&empty, |d| d.get_ref());
    let one = |v: &Option<S<String>>| v.as_ref().map(|v| v.get_ref().clone());
    let defaults = PrinterDefaults {
        color_mode: d.color_mode.as_ref().and_then(|v| enum_value(v, issues)),
        content_type: one(&d.document_format),
        copies_per_job: d.copies.as_ref().and_then(|v| int32(v, issues)),
        dpi: d.dpi.as_ref().and_then(|v| int32(v, issues)),
        duplex_mode: d.duplex_mode.as_ref().and_then(|v| enum_value(v, issues)),
        finishings: enum_list(&d.finishings, issues),
        fit_pdf_to_page: d.fit_to_page.as_ref().map(|v| *v.get_ref()),
        input_bin: one(&d.input_bin),
        media_color: one(&d.media_color),
        media_size: one(&d.media_size),
        media_type: one(&d.media_type),
        multipage_layout: d
            .multipage_layout
            .as_ref()
            .and_then(|v| enum_value(v, issues)),
        orientation: d.orientation.as_ref().and_then(|v| enum_value(v, issues)),
        output_bin: one(&d.output_bin),
        pages_per_sheet: d.pages_per_sheet.as_ref().and_then(|v| int32(v, issues)),
        quality: d.quality.as_ref().and_then(|v| enum_value(v, issues)),
        scaling: d.scaling.as_ref().and_then(|v| enum_value(v, issues)),
    };

    let origins = Origins {
        printer: p,
        margin_media,
    };
    for v in rules::check_printer(&capabilities, &defaults) {
        issues.push(
            origins.violation(&v),
            format!(
                "{}.{}: {}",
                v.subject,
                toml_key(v.subject, v.field),
                v.message
            ),
        );
    }

    let engine = convert_engine(p.engine.as_ref(), issues);
    let faults = convert_faults(&p.faults, capabilities.content_types.as_deref(), issues);

    let dpis = capabilities
        .dpis
        .iter()
        .flatten()
        .filter_map(|d| u32::try_from(*d).ok())
        .collect();
    let hardware = HardwareProfile {
        media,
        dpis,
        color: capabilities.is_color_printing_supported == Some(true),
        duplex: capabilities
            .duplex_modes
            .iter()
            .flatten()
            .any(|m| *m != PrintDuplexMode::OneSided),
    };
    let l = &p.location;
    let location = PrinterLocation {
        building: l.building.clone(),
        floor: l.floor.clone(),
        room_name: l.room.clone(),
        street_address: l.street_address.clone(),
        city: l.city.clone(),
        postal_code: l.postal_code.clone(),
        state_or_province: l.state_or_province.clone(),
        country_or_region: l.country_or_region.clone(),
        site: l.site.clone(),
        ..Default::default()
    };
    Some(PrinterConfig {
        name: name.to_string(),
        manufacturer: p.manufacturer.clone(),
        model: p.model.clone(),
        location,
        connection: connection?,
        capabilities,
        defaults,
        hardware,
        engine: engine?,
        faults: faults?,
    })
}

fn seconds(v: &S<f64>, what: &str, issues: &mut Issues) -> Option<Duration> {
    let secs = *v.get_ref();
    match Duration::try_from_secs_f64(secs) {
        Ok(d) => Some(d),
        Err(_) => {
            issues.push(
                v.span(),
                format!("{what} must be a non-negative number of seconds"),
            );
            None
        }
    }
}

fn convert_engine(e: Option<&EngineEntry>, issues: &mut Issues) -> Option<EngineSpec> {
    let Some(e) = e else {
        return Some(EngineSpec {
            pages_per_minute: DEFAULT_PPM,
            warm_up: DEFAULT_WARM_UP,
            cool_down: DEFAULT_COOL_DOWN,
            full_speed: false,
        });
    };
    let ppm = match u32::try_from(*e.pages_per_minute.get_ref()) {
        Ok(p) if (1..=1000).contains(&p) => Some(p),
        _ => {
            issues.push(
                e.pages_per_minute.span(),
                "pages_per_minute must be between 1 and 1000".into(),
            );
            None
        }
    };
    let warm_up = match &e.warm_up_seconds {
        Some(v) => seconds(v, "warm_up_seconds", issues),
        None => Some(DEFAULT_WARM_UP),
    };
    let cool_down = match &e.cool_down_seconds {
        Some(v) => seconds(v, "cool_down_seconds", issues),
        None => Some(DEFAULT_COOL_DOWN),
    };
    Some(EngineSpec {
        pages_per_minute: ppm?,
        warm_up: warm_up?,
        cool_down: cool_down?,
        full_speed: e.full_speed,
    })
}

fn sheets(
    v: &Option<S<i64>>,
    what: &str,
    least: u64,
    issues: &mut Issues,
) -> Result<Option<u64>, ()> {
    let Some(v) = v else { return Ok(None) };
    match u64::try_from(*v.get_ref()) {
        Ok(n) if n >= least => Ok(Some(n)),
        _ => {
            issues.push(v.span(), format!("{what} must be {least} or more"));
            Err(())
        }
    }
}

fn convert_faults(
    f: &FaultsEntry,
    formats: Option<&[String]>,
    issues: &mut Issues,
) -> Option<FaultSpec> {
    // Every pick jamming would jam the reprint too: the printer could never print.
    let jam = sheets(&f.jam_every_sheets, "jam_every_sheets", 2, issues);
    let paper = sheets(
        &f.out_of_paper_after_sheets,
        "out_of_paper_after_sheets",
        1,
        issues,
    );
    let cover = sheets(
        &f.cover_open_after_sheets,
        "cover_open_after_sheets",
        1,
        issues,
    );
    let mut ok = jam.is_ok() && paper.is_ok() && cover.is_ok();

    let mut offline = Vec::new();
    for w in &f.offline {
        let e = w.get_ref();
        let parse = |s: f64| Duration::try_from_secs_f64(s).ok();
        match (
            parse(e.after_seconds),
            parse(e.for_seconds),
            e.every_seconds.map(parse),
        ) {
            (Some(start), Some(duration), every) if !duration.is_zero() => {
                let every = match every {
                    None => None,
                    Some(Some(p)) if p > duration => Some(p),
                    Some(_) => {
                        issues.push(
                            w.span(),
                            "every_seconds must be longer than for_seconds, or the printer never comes back".into(),
                        );
                        ok = false;
                        None
                    }
                };
                offline.push(OfflineWindow {
                    start,
                    duration,
                    every,
                });
            }
            _ => {
                issues.push(
                    w.span(),
                    "an offline window needs after_seconds ≥ 0 and for_seconds > 0".into(),
                );
                ok = false;
            }
        }
    }

    let failing_formats = strings(&f.failing_formats).unwrap_or_default();
    if let Some(list) = &f.failing_formats {
        for v in list.get_ref() {
            if !formats.unwrap_or_default().contains(v.get_ref()) {
                issues.push(
                    v.span(),
                    format!(
                        "`{}` is not among document_formats, so no job of that format would reach the interpreter",
                        v.get_ref()
                    ),
                );
                ok = false;
            }
        }
    }

    let extra_latency = match &f.extra_latency_ms {
        None => Duration::ZERO,
        Some(v) => match u64::try_from(*v.get_ref()) {
            Ok(ms) if ms <= 60_000 => Duration::from_millis(ms),
            _ => {
                issues.push(
                    v.span(),
                    "extra_latency_ms must be between 0 and 60000".into(),
                );
                ok = false;
                Duration::ZERO
            }
        },
    };

    let random = f.random.as_ref().map(|r| {
        let e = r.get_ref();
        // A per-sheet fault that always happens would stop the printer on every retry.
        let mut probability = |value: &Option<S<f64>>, what: &str, per_sheet: bool| {
            let Some(v) = value else { return 0.0 };
            let p = *v.get_ref();
            if !(0.0..=1.0).contains(&p) {
                issues.push(
                    v.span(),
                    format!("{what} is a probability: between 0 and 1"),
                );
                ok = false;
            } else if per_sheet && p >= 1.0 {
                issues.push(
                    v.span(),
                    format!("{what} must be below 1, or the printer could never print a sheet"),
                );
                ok = false;
            }
            p
        };
        RandomFaults {
            seed: e.seed,
            jam: probability(&e.jam, "jam", true),
            cover_open: probability(&e.cover_open, "cover_open", true),
            media_empty: probability(&e.media_empty, "media_empty", true),
            interpret_failure: probability(&e.interpret_failure, "interpret_failure", false),
        }
    });

    ok.then(|| FaultSpec {
        jam_every_sheets: jam.ok().flatten(),
        out_of_paper_after_sheets: paper.ok().flatten(),
        cover_open_after_sheets: cover.ok().flatten(),
        offline,
        failing_formats,
        extra_latency,
        random,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[[printer]]
name = "Laser"
[printer.capabilities]
document_formats = ["application/pdf"]
media = [{ size = "A4", margins = { top = 4.2, bottom = 4.2, left = 4, right = 4 } }]
dpis = [600]
color_modes = ["blackAndWhite"]
duplex_modes = ["oneSided"]
finishings = ["none"]
copies = { min = 1, max = 99 }
"#;

    fn problems(text: &str) -> Vec<Problem> {
        match parse(text, "t.toml") {
            Err(ConfigError::Invalid { problems, .. }) => problems,
            other => panic!("expected problems, got {other:?}"),
        }
    }

    #[test]
    fn a_minimal_printer_loads_with_graph_capabilities_and_hardware() {
        let fleet = parse(MINIMAL, "t.toml").unwrap();
        let p = &fleet.printers[0];
        assert_eq!(p.capabilities.top_margins, Some(vec![4200]));
        assert_eq!(p.capabilities.left_margins, Some(vec![4000]));
        assert_eq!(p.capabilities.is_color_printing_supported, Some(false));
        assert_eq!(p.connection, Connection::UniversalPrint);
        assert_eq!(p.engine.pages_per_minute, DEFAULT_PPM);
        let a4 = p.hardware.media("A4").unwrap();
        assert_eq!(a4.margins.top, 4200);
        assert!(!p.hardware.color && !p.hardware.duplex);
    }

    #[test]
    fn line_and_column_count_characters() {
        let text = "ab\nçd = 1\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 3), (2, 1));
        assert_eq!(line_column(text, 6), (2, 3));
    }

    #[test]
    fn every_mistake_is_located() {
        let text = MINIMAL
            .replace(r#"["blackAndWhite"]"#, r#"["color", "colour"]"#)
            .replace(r#"finishings = ["none"]"#, r#"finishings = ["staple"]"#)
            .replace(r#"size = "A4""#, r#"size = "A44""#)
            + "[printer.defaults]\ndpi = 300\n";
        let p = problems(&text);
        let msgs: Vec<_> = p
            .iter()
            .map(|p| (p.line, p.column, p.message.as_str()))
            .collect();
        assert_eq!(p.len(), 5, "{msgs:#?}");
        assert_eq!((p[0].line, p[0].column), (6, 19));
        assert!(p[0].message.contains("`A44` is not a known media size"));
        assert_eq!((p[1].line, p[1].column), (8, 15));
        assert!(p[1].message.contains("monochrome"), "{}", p[1].message);
        assert_eq!((p[2].line, p[2].column), (8, 25));
        assert!(p[2].message.contains("`colour` is not a valid value"));
        assert_eq!(p[3].line, 10);
        assert!(p[3].message.contains("finishings"), "{}", p[3].message);
        assert_eq!((p[4].line, p[4].column), (13, 7));
        assert!(
            p[4].message
                .contains("defaults.dpi: `300` is not supported; supported: `600`")
        );
    }

    #[test]
    fn syntax_and_unknown_keys_are_located() {
        let p = problems(&MINIMAL.replace("dpis", "dpiz"));
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].line, 7);
        assert!(p[0].message.contains("dpiz"), "{}", p[0].message);
        let p = problems("[[printer]\n");
        assert_eq!(p[0].line, 1);
    }

    #[test]
    fn connections_faults_and_names_are_checked() {
        let text = format!(
            "[fleet]\nconnection = {{ mode = \"infra\", printer_uri = \"ipp://cloud:8631/ipp/print\", username = \"u\", password_env = \"PW\" }}\n{MINIMAL}{}",
            r#"[printer.faults]
jam_every_sheets = 0
failing_formats = ["image/urf"]
random = { seed = 1, jam = 1.5, cover_open = 1.0, interpret_failure = 1.0 }
offline = [{ after_seconds = 1, for_seconds = 5, every_seconds = 2 }]
"#
        );
        let p = problems(&text);
        let msgs: Vec<_> = p.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(p.len(), 5, "{msgs:#?}");
        assert!(msgs[0].contains("jam_every_sheets must be 2 or more"));
        assert!(msgs[1].contains("image/urf"));
        assert!(msgs[2].contains("probability"));
        assert!(msgs[3].contains("cover_open must be below 1"));
        assert!(msgs[4].contains("every_seconds"));

        let two = format!("{MINIMAL}{MINIMAL}");
        let p = problems(&two);
        assert_eq!(p.len(), 1);
        assert!(p[0].message.contains("already used on line 3"));

        let infra = format!(
            "[fleet]\nconnection = {{ mode = \"infra\", printer_uri = \"ipp://cloud:8631/ipp/print\", username = \"u\", password_env = \"PW\" }}\n{MINIMAL}"
        );
        let fleet = parse(&infra, "t").unwrap();
        let Connection::Infra { password, .. } = &fleet.printers[0].connection else {
            panic!("fleet connection not inherited")
        };
        assert_eq!(password, &Some(Secret::Env("PW".into())));
        assert!(!format!("{:?}", fleet.printers[0].connection).contains("u\", password: \"PW"));
    }

    #[test]
    fn shards_split_without_overlap() {
        let mut text = String::new();
        for i in 0..5 {
            text.push_str(&MINIMAL.replace("\"Laser\"", &format!("\"P{i}\"")));
        }
        let fleet = parse(&text, "t").unwrap();
        let names = |s: &str| -> Vec<String> {
            fleet
                .clone()
                .shard(s.parse().unwrap())
                .printers
                .into_iter()
                .map(|p| p.name)
                .collect()
        };
        assert_eq!(names("1/2"), vec!["P0", "P2", "P4"]);
        assert_eq!(names("2/2"), vec!["P1", "P3"]);
        assert_eq!(names("1/1").len(), 5);
        assert!("0/2".parse::<Shard>().is_err());
        assert!("3/2".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
    }
}
