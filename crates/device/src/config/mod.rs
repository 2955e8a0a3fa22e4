//! `printers.toml`: the declared fleet, parsed with spans so every mistake can be shown at its
//! line and column.
//!
//! Enum values are read as plain strings and converted afterwards (instead of by serde), so a
//! file with three misspelt colour modes gets three messages rather than one stop at the first.
//! The capability and default rules themselves live in [`printlab_graph::rules`], shared with the
//! cloud; this module maps their Graph-named violations back to the TOML value they came from.

mod combinations;
mod constraints;
mod consumables;
mod convert;
mod import_entry;
mod misprint;
mod model;
mod origins;
mod recover;

pub use import_entry::{AppendError, append_entry, printer_entry};
pub use model::{
    Connection, Fleet, HardwareProfile, JobLimits, Margins, MediaProfile, PrinterConfig, Secret,
    Shard,
};

use convert::{convert_connection, convert_printer};
use serde::Deserialize;
use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

type S<T> = Spanned<T>;
type SList = Spanned<Vec<Spanned<String>>>;
/// Option name (a `[printer.defaults]` key) → values, as `when` and `resolve` write them.
type OptionValues = std::collections::BTreeMap<Spanned<String>, SList>;

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
    /// This many identical printers, named `{name} 1` … `{name} N` (numbers zero-padded to
    /// the width of N, so they sort in order): a big fleet in a few lines, small enough for a
    /// Kubernetes ConfigMap (1 MiB) at 100,000 printers.
    count: Option<S<i64>>,
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
    #[serde(default)]
    limits: LimitsEntry,
    /// IPP `printer-info`.
    info: Option<String>,
    /// IPP `printer-more-info`.
    more_info: Option<S<String>>,
    #[serde(default)]
    trays: Vec<S<TrayEntry>>,
    #[serde(default)]
    supplies: Vec<S<SupplyEntry>>,
    #[serde(default)]
    constraints: Vec<S<ConstraintEntry>>,
    #[serde(default)]
    misprint: MisprintEntry,
}

/// `[[printer.trays]]`: one loaded input tray.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrayEntry {
    name: S<String>,
    media_size: S<String>,
    media_type: Option<S<String>>,
    capacity: S<i64>,
    level: Option<S<i64>>,
}

/// `[[printer.supplies]]`: one marker supply, levels in percent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SupplyEntry {
    name: S<String>,
    kind: S<String>,
    color: Option<S<String>>,
    level: S<i64>,
    low: S<i64>,
    high: Option<S<i64>>,
    sheets_per_percent: Option<S<i64>>,
}

/// `[[printer.constraints]]`: option values that conflict, and how the printer resolves them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConstraintEntry {
    resolver: S<String>,
    when: S<OptionValues>,
    resolve: Option<S<OptionValues>>,
}

/// `[printer.misprint]`: defects planted on purpose, for testing tools that check printers'
/// output (`crate::misprint`). An unknown key is an unknown defect, refused at its position.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MisprintEntry {
    back_side_upright: Option<S<bool>>,
    drops_last_sheet: Option<S<bool>>,
    ignores_color_mode: Option<S<bool>>,
    refuses_media_sizes: Option<SList>,
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
    /// The size can also be printed with all margins 0.
    #[serde(default)]
    borderless: bool,
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

/// `[printer.limits]`: most one job may put out; each left out takes its default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsEntry {
    max_pages: Option<S<i64>>,
    max_sheets: Option<S<i64>>,
    max_output_bytes: Option<S<i64>>,
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
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let file = path.display().to_string();
    match std::str::from_utf8(&bytes) {
        Ok(text) => parse(text, &file),
        Err(_) => Err(not_utf8(&bytes, &file)),
    }
}

/// Every byte sequence that is not UTF-8, located as the other mistakes are (in the text as an
/// editor shows it, each bad sequence one replacement character).
fn not_utf8(bytes: &[u8], file: &str) -> ConfigError {
    let mut shown = String::with_capacity(bytes.len());
    let mut issues = Issues::default();
    for chunk in bytes.utf8_chunks() {
        shown.push_str(chunk.valid());
        let invalid = chunk.invalid();
        if !invalid.is_empty() {
            let at = shown.len();
            shown.push(char::REPLACEMENT_CHARACTER);
            let hex: Vec<String> = invalid.iter().map(|b| format!("{b:#04x}")).collect();
            issues.push(
                at..shown.len(),
                format!(
                    "not UTF-8 (bytes {}): printers.toml must be UTF-8 text",
                    hex.join(" ")
                ),
            );
        }
    }
    issues.into_error(&shown, file)
}

/// The most printers one entry's `count` declares.
const MAX_COUNT: i64 = 1_000_000;

/// `n` copies of `printer` named `{name} 1` … `{name} n`, zero-padded to the width of `n`.
fn numbered_copies(printer: PrinterConfig, n: usize) -> Vec<PrinterConfig> {
    let width = n.to_string().len();
    (1..=n)
        .map(|i| PrinterConfig {
            name: format!("{} {i:0width$}", printer.name),
            ..printer.clone()
        })
        .collect()
}

/// Parses and checks `printers.toml` text; `file` names it in messages. Every mistake is
/// reported; type mistakes (a string where a number belongs, an unknown key) are reported before
/// the rules are checked, since the rules cannot be checked on entries that are not there.
pub fn parse(text: &str, file: &str) -> Result<Fleet, ConfigError> {
    let mut issues = Issues::default();
    let Some(fleet) = recover::read_typed::<FleetFile>(text, &mut issues) else {
        return Err(issues.into_error(text, file));
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
    // Each name, with where the entry that declared it first starts. Its line is counted only
    // for a duplicate: counting it for every entry read the file from the start each time,
    // quadratic in the fleet (seconds at 10,000 printers).
    let mut declared: HashMap<String, usize> = HashMap::new();
    for entry in &fleet.printer {
        let entry = entry.get_ref();
        let name_span = entry.name.span();
        let count = entry.count.as_ref().and_then(|count| {
            let n = *count.get_ref();
            if (1..=MAX_COUNT).contains(&n) {
                Some(n as usize)
            } else {
                issues.push(
                    count.span(),
                    format!("count must be between 1 and {MAX_COUNT}, not {n}"),
                );
                None
            }
        });
        let Some(printer) = convert_printer(entry, fleet_connection.clone().flatten(), &mut issues)
        else {
            continue;
        };
        let copies = match count {
            Some(_) if matches!(printer.connection, Connection::Infra { .. }) => {
                issues.push(
                    name_span.clone(),
                    format!(
                        "printer `{}`: count needs a Universal Print connection (copies of one \
                         INFRA printer URI would all be the same printer)",
                        printer.name
                    ),
                );
                continue;
            }
            Some(n) => numbered_copies(printer, n),
            None => vec![printer],
        };
        for copy in copies {
            if let Some(&first) = declared.get(&copy.name) {
                let (first_line, _) = line_column(text, first);
                issues.push(
                    name_span.clone(),
                    format!(
                        "printer name `{}` is already used on line {first_line}",
                        copy.name
                    ),
                );
                break;
            }
            declared.insert(copy.name.clone(), name_span.start);
            printers.push(copy);
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

#[cfg(test)]
mod tests {
    use super::convert::DEFAULT_PPM;
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
    fn a_size_and_resolution_the_renderer_cannot_print_together_are_located() {
        // A4 at 9600 dpi is 112 244 pixels tall, past any side the rasteriser can hold.
        let text = MINIMAL.replace("dpis = [600]", "dpis = [600, 9600]");
        let found: Vec<(usize, String)> = problems(&text)
            .into_iter()
            .map(|p| (p.line, p.message))
            .collect();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, 6, "at the media entry: {found:?}");
        assert!(
            found[0]
                .1
                .starts_with("printer `Laser`: A4 at 9600 dpi cannot be printed: "),
            "{found:?}"
        );
    }

    #[test]
    fn defaults_refused_by_the_printers_own_constraint_are_located() {
        let text = with_trays_and_constraints(
            r#"[printer.defaults]
media_type = "envelope"
duplex_mode = "flipOnLongEdge"
[[printer.constraints]]
resolver = "no-duplex-on-envelopes"
when = { media_type = ["envelope"], duplex_mode = ["flipOnLongEdge"] }
"#,
        );
        let defaults_line = text
            .lines()
            .position(|l| l == "[printer.defaults]")
            .unwrap()
            + 1;
        let found: Vec<(usize, String)> = problems(&text)
            .into_iter()
            .map(|p| (p.line, p.message))
            .collect();
        assert_eq!(
            found,
            [(
                defaults_line,
                "printer `Laser`: a job that sets nothing prints at these defaults, and they \
                 are refused: This printer cannot print duplex_mode flipOnLongEdge with \
                 media_type envelope (constraint `no-duplex-on-envelopes`)"
                    .to_string()
            )]
        );
        let resolvable = text.replace(
            "duplex_mode = [\"flipOnLongEdge\"] }\n",
            "duplex_mode = [\"flipOnLongEdge\"] }\nresolve = { duplex_mode = [\"oneSided\"] }\n",
        );
        parse(&resolvable, "t.toml").unwrap();
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
    fn every_type_mistake_is_located_not_only_the_first() {
        let text = MINIMAL
            .replace("dpis = [600]", r#"dpis = ["600", 300, true]"#)
            .replace(
                "copies = { min = 1, max = 99 }",
                "copies = { min = 1, max = \"99\" }",
            )
            .replace(
                "[printer.capabilities]",
                "colour = true\n[printer.capabilities]",
            )
            + "[printer.engine]\npages_per_minute = \"fast\"\n";
        let p = problems(&text);
        let found: Vec<_> = p.iter().map(|p| (p.line, p.column)).collect();
        assert_eq!(
            found,
            vec![(4, 1), (8, 9), (8, 21), (12, 27), (14, 20)],
            "{p:#?}"
        );
        assert!(p[0].message.contains("colour"), "{}", p[0].message);
        assert!(p[1].message.contains("string"), "{}", p[1].message);
        assert!(p[4].message.contains("string"), "{}", p[4].message);
    }

    #[test]
    fn invalid_utf8_is_located() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        let mut bytes = MINIMAL.replace("Laser", "Laser X").into_bytes();
        let at = bytes.windows(1).position(|w| w == b"X").unwrap();
        bytes[at] = 0xff;
        bytes.extend_from_slice(b"# caf\xc3\n");
        std::fs::write(&path, &bytes).unwrap();
        let Err(ConfigError::Invalid { problems, .. }) = load(&path) else {
            panic!("invalid UTF-8 must be refused with its position");
        };
        let found: Vec<_> = problems.iter().map(|p| (p.line, p.column)).collect();
        assert_eq!(found, vec![(3, 15), (12, 6)], "{problems:#?}");
        assert!(
            problems[0].message.contains("0xff"),
            "{}",
            problems[0].message
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
    fn limits_take_defaults_and_each_bad_one_is_located() {
        let fleet = parse(
            &format!("{MINIMAL}[printer.limits]\nmax_sheets = 40\n"),
            "t",
        )
        .unwrap();
        let limits = fleet.printers[0].limits;
        assert_eq!(
            limits,
            JobLimits {
                max_sheets: 40,
                ..JobLimits::default()
            }
        );
        let text = format!(
            "{MINIMAL}[printer.limits]\nmax_pages = 0\nmax_sheets = -3\nmax_output_bytes = 0\n"
        );
        let p = problems(&text);
        let found: Vec<_> = p.iter().map(|p| (p.line, p.message.as_str())).collect();
        assert_eq!(
            found,
            [
                (13, "printer `Laser`: limits.max_pages must be 1 or more"),
                (14, "printer `Laser`: limits.max_sheets must be 1 or more"),
                (
                    15,
                    "printer `Laser`: limits.max_output_bytes must be 1 or more"
                ),
            ]
        );
        assert!(
            problems(&format!("{MINIMAL}[printer.limits]\nmax_copies = 2\n"))[0]
                .message
                .contains("max_copies")
        );
    }

    #[test]
    fn misprint_defects_load_and_default_to_none() {
        use crate::misprint::Misprint;
        assert!(parse(MINIMAL, "t").unwrap().printers[0].misprint.is_none());
        let text = MINIMAL
            .replace(
                r#"color_modes = ["blackAndWhite"]"#,
                r#"color_modes = ["blackAndWhite", "color"]"#,
            )
            .replace(
                r#"duplex_modes = ["oneSided"]"#,
                r#"duplex_modes = ["oneSided", "flipOnShortEdge"]"#,
            )
            .replace(
                "media = [{ size = \"A4\", margins = { top = 4.2, bottom = 4.2, left = 4, right = 4 } }]",
                "media = [\n  { size = \"A4\", margins = { top = 4, bottom = 4, left = 4, right = 4 } },\n  { size = \"A5\", margins = { top = 4, bottom = 4, left = 4, right = 4 } },\n]",
            )
            + "[printer.misprint]\nback_side_upright = true\ndrops_last_sheet = true\n\
               ignores_color_mode = true\nrefuses_media_sizes = [\"A5\"]\n";
        let fleet = parse(&text, "t").unwrap();
        assert_eq!(
            fleet.printers[0].misprint,
            Misprint {
                back_side_upright: true,
                drops_last_sheet: true,
                ignores_color_mode: true,
                refuses_media_sizes: vec!["A5".into()],
            }
        );
        let off = text.replace("drops_last_sheet = true", "drops_last_sheet = false");
        assert!(
            !parse(&off, "t").unwrap().printers[0]
                .misprint
                .drops_last_sheet
        );
    }

    #[test]
    fn an_unknown_defect_is_located_and_the_known_ones_named() {
        let text = format!("{MINIMAL}[printer.misprint]\nprints_upside_down = true\n");
        let p = problems(&text);
        assert_eq!(p.len(), 1, "{p:#?}");
        assert_eq!((p[0].line, p[0].column), (13, 1), "{p:#?}");
        for named in [
            "prints_upside_down",
            "back_side_upright",
            "drops_last_sheet",
            "ignores_color_mode",
            "refuses_media_sizes",
        ] {
            assert!(p[0].message.contains(named), "{}", p[0].message);
        }
        let p = problems(&format!(
            "{MINIMAL}[printer.misprint]\ndrops_last_sheet = 1\n"
        ));
        assert_eq!((p.len(), p[0].line), (1, 13), "{p:#?}");
    }

    #[test]
    fn a_defect_the_printer_could_never_show_is_located() {
        let text = format!(
            "{MINIMAL}[printer.defaults]\nmedia_size = \"A4\"\n[printer.misprint]\n\
             back_side_upright = true\nignores_color_mode = true\n\
             refuses_media_sizes = [\"A3\", \"A4\"]\n"
        );
        let found: Vec<(usize, usize, String)> = problems(&text)
            .into_iter()
            .map(|p| (p.line, p.column, p.message))
            .collect();
        let expected = [
            (
                15,
                21,
                "printer `Laser`: misprint.back_side_upright needs flipOnShortEdge among \
                 capabilities.duplex_modes: only a short-edge back side is turned",
            ),
            (
                16,
                22,
                "printer `Laser`: misprint.ignores_color_mode needs color among \
                 capabilities.color_modes: a monochrome engine has no colour to print",
            ),
            (
                17,
                24,
                "printer `Laser`: misprint.refuses_media_sizes: `A3` is not among \
                 capabilities.media (A4): the defect is refusing a size the printer advertises",
            ),
            (
                17,
                30,
                "printer `Laser`: misprint.refuses_media_sizes: `A4` is defaults.media_size, \
                 so every job that names no size would be refused",
            ),
        ];
        let expected: Vec<(usize, usize, String)> = expected
            .into_iter()
            .map(|(l, c, m)| (l, c, m.to_string()))
            .collect();
        assert_eq!(found, expected);
    }

    /// MINIMAL with bins, media types and duplex to declare trays and constraints against.
    fn with_trays_and_constraints(extra: &str) -> String {
        MINIMAL
            .replace(
                r#"duplex_modes = ["oneSided"]"#,
                "duplex_modes = [\"oneSided\", \"flipOnLongEdge\"]\ninput_bins = [\"auto\", \"tray-1\"]\nmedia_types = [\"stationery\", \"envelope\"]",
            )
            .replace("left = 4, right = 4 } }", "left = 4, right = 4 }, borderless = true }")
            .replace("name = \"Laser\"\n", "name = \"Laser\"\ninfo = \"By the door\"\nmore_info = \"https://example.net/laser\"\n")
            + extra
    }

    const WAVE_TWO: &str = r##"[[printer.trays]]
name = "tray-1"
media_size = "A4"
media_type = "stationery"
capacity = 250
level = 3
[[printer.supplies]]
name = "Black Toner"
kind = "toner"
color = "#000000"
level = 80
low = 10
sheets_per_percent = 40
[[printer.constraints]]
resolver = "no-duplex-on-envelopes"
when = { media_type = ["envelope"], duplex_mode = ["flipOnLongEdge"] }
resolve = { duplex_mode = ["oneSided"] }
"##;

    #[test]
    fn trays_supplies_constraints_info_and_borderless_load() {
        use crate::constraint::JobOption;
        let fleet = parse(&with_trays_and_constraints(WAVE_TWO), "t").unwrap();
        let p = &fleet.printers[0];
        assert_eq!(p.info.as_deref(), Some("By the door"));
        assert_eq!(p.more_info.as_deref(), Some("https://example.net/laser"));
        assert!(p.hardware.media("A4").unwrap().borderless);
        assert_eq!(p.capabilities.top_margins, Some(vec![4200, 0]));
        assert_eq!(
            (
                p.trays[0].name.as_str(),
                p.trays[0].capacity,
                p.trays[0].level
            ),
            ("tray-1", 250, Some(3))
        );
        let toner = &p.supplies[0];
        assert_eq!((toner.level, toner.low, toner.high), (80, 10, 100));
        assert_eq!(toner.sheets_per_percent, Some(40));
        assert_eq!(p.constraints[0].resolver, "no-duplex-on-envelopes");
        assert_eq!(
            p.constraints[0].resolve,
            [(JobOption::DuplexMode, vec!["oneSided".to_string()])]
        );
    }

    #[test]
    fn every_tray_supply_and_constraint_mistake_is_located() {
        let broken = WAVE_TWO
            .replace("name = \"tray-1\"", "name = \"tray-9\"")
            .replace("media_size = \"A4\"", "media_size = \"A3\"")
            .replace("media_type = \"stationery\"", "media_type = \"film\"")
            .replace("level = 3", "level = 300")
            .replace("level = 80", "level = 101")
            .replace("low = 10", "low = 100")
            .replace("color = \"#000000\"", "color = \"black\"")
            .replace("kind = \"toner\"", "kind = \"tonner\"")
            .replace("media_type = [\"envelope\"]", "media_typ = [\"envelope\"]")
            .replace(
                "duplex_mode = [\"flipOnLongEdge\"] }",
                "duplex_mode = [\"flipOnShortEdge\"] }",
            )
            .replace(
                "resolve = { duplex_mode = [\"oneSided\"] }",
                "resolve = { duplex_mode = [\"flipOnShortEdge\"] }",
            );
        let text = with_trays_and_constraints(&broken);
        let p = problems(&text);
        let found: Vec<_> = p
            .iter()
            .map(|p| (p.line, p.column, p.message.as_str()))
            .collect();
        let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
        let expected = [
            (
                line_of("tray-9"),
                "`tray-9` is not among capabilities.input_bins (auto, tray-1)",
            ),
            (
                line_of("\"A3\""),
                "`A3` is not among capabilities.media (A4)",
            ),
            (
                line_of("\"film\""),
                "`film` is not among capabilities.media_types",
            ),
            (
                line_of("level = 300"),
                "trays.level (sheets loaded) must be between 0 and 250, not 300",
            ),
            (
                line_of("tonner"),
                "`tonner` is not an IPP marker-types keyword",
            ),
            (line_of("\"black\""), "`black` is not a marker colour"),
            (
                line_of("level = 101"),
                "supplies.level (percent) must be between 0 and 100, not 101",
            ),
            (
                line_of("low = 100"),
                "supplies.low (100) must be below supplies.high (100)",
            ),
            (
                line_of("media_typ ="),
                "`media_typ` is not an option a constraint can name",
            ),
            (
                line_of("when ="),
                "constraints.when.duplex_mode: `flipOnShortEdge` is not advertised; supported: oneSided, flipOnLongEdge",
            ),
            (
                line_of("resolve ="),
                "constraints.resolve.duplex_mode: `flipOnShortEdge` is not advertised",
            ),
            (
                line_of("resolve ="),
                "constraints.resolve.duplex_mode: `flipOnShortEdge` is one of the values the constraint matches",
            ),
        ];
        assert_eq!(found.len(), expected.len(), "{found:#?}");
        for ((line, _, message), (want_line, want)) in found.iter().zip(expected) {
            assert_eq!(*line, want_line, "{message}");
            assert!(message.contains(want), "{message} lacks {want}");
            assert!(message.starts_with("printer `Laser`: "), "{message}");
        }
        let at = |needle: &str| {
            let offset = text.find(needle).unwrap();
            line_column(&text, offset)
        };
        assert_eq!((found[0].0, found[0].1), at("\"tray-9\""));
        assert_eq!((found[9].0, found[9].1), at("\"flipOnShortEdge\""));
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
        // A StatefulSet's 0-based pod ordinal names the same slices.
        assert_eq!(names("ordinal=0/2"), names("1/2"));
        assert_eq!(names("ordinal=1/2"), names("2/2"));
        assert!("ordinal=2/2".parse::<Shard>().is_err());
    }

    #[test]
    fn count_declares_numbered_printers_and_its_mistakes_are_named() {
        let many = MINIMAL.replace("name = \"Laser\"", "name = \"Laser\"\ncount = 12");
        let fleet = parse(&many, "t").unwrap();
        let names: Vec<_> = fleet.printers.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names.len(), 12);
        assert_eq!(
            (names[0], names[9], names[11]),
            ("Laser 01", "Laser 10", "Laser 12")
        );

        let zero = MINIMAL.replace("name = \"Laser\"", "name = \"Laser\"\ncount = 0");
        assert!(
            problems(&zero)[0]
                .message
                .contains("count must be between 1 and 1000000, not 0")
        );

        let clash = format!("{many}{}", MINIMAL.replace("\"Laser\"", "\"Laser 07\""));
        let p = problems(&clash);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].message
                .contains("printer name `Laser 07` is already used on line")
        );

        let infra = format!(
            "[fleet]\nconnection = {{ mode = \"infra\", printer_uri = \"ipp://cloud:8631/ipp/print\" }}\n{many}"
        );
        assert!(
            problems(&infra)[0]
                .message
                .contains("count needs a Universal Print connection")
        );
    }
}
