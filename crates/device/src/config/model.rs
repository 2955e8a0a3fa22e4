//! The fleet as the device runs it: each printer checked, with its Graph capabilities, hardware,
//! engine and faults.

use super::ConfigError;
use crate::constraint::Constraint;
use crate::engine::{EngineSpec, FaultSpec, Supply, Tray};
use crate::misprint::Misprint;
use printlab_graph::{MediaSize, PrinterCapabilities, PrinterDefaults, PrinterLocation};
use std::fmt;
use std::str::FromStr;

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
    /// The size can also be printed with all margins 0.
    pub borderless: bool,
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

/// Most one job may put out on this printer (`[printer.limits]`). A job stops before the first
/// sheet that would pass one and ends aborted, saying which. The page and sheet defaults admit
/// the most copies a printer may advertise (999) of a ten-page document, so a job a printer
/// advertises is never cut by them; the byte limit stops a hostile job (a small PDF of ten
/// thousand pages) from filling the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobLimits {
    /// Page images printed, copies included.
    pub max_pages: u64,
    pub max_sheets: u64,
    /// Bytes of PNG output written for the job.
    pub max_output_bytes: u64,
}

impl Default for JobLimits {
    fn default() -> Self {
        JobLimits {
            max_pages: 10_000,
            max_sheets: 10_000,
            max_output_bytes: 2 << 30,
        }
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
    pub limits: JobLimits,
    /// IPP `printer-info`.
    pub info: Option<String>,
    /// IPP `printer-more-info`.
    pub more_info: Option<String>,
    pub trays: Vec<Tray>,
    pub supplies: Vec<Supply>,
    pub constraints: Vec<Constraint>,
    /// Defects planted on purpose (`[printer.misprint]`); none by default.
    pub misprint: Misprint,
}

impl PrinterConfig {
    /// The Graph media size a job that names none prints on: the declared default, else the
    /// first size the hardware lists, else A4.
    pub fn default_media_size(&self) -> String {
        (self.defaults.media_size.clone())
            .or_else(|| (self.hardware.media.first()).map(|m| m.size.graph_name.to_string()))
            .unwrap_or_else(|| "A4".into())
    }
}

/// The whole fleet, in file order.
#[derive(Debug, Clone)]
pub struct Fleet {
    pub printers: Vec<PrinterConfig>,
}

/// One slice of a fleet: `--shard i/n` takes printers i, i+n, i+2n, … (1-based, file order), so
/// n processes with the same `printers.toml` split it without overlap. `--shard ordinal=k/n`
/// names the same slice by a 0-based index (shard k+1), because that is what a Kubernetes
/// StatefulSet gives each pod (its ordinal, through the `apps.kubernetes.io/pod-index` label)
/// and a manifest cannot add one to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based.
    pub index: usize,
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "`{s}` is not a shard: write i/n with 1 ≤ i ≤ n (e.g. 2/4), or ordinal=k/n with \
                 0 ≤ k < n (a StatefulSet pod's ordinal, e.g. ordinal=1/4)"
            )
        };
        let (ordinal, slice) = match s.trim().strip_prefix("ordinal=") {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (i, n) = slice.split_once('/').ok_or_else(bad)?;
        let given: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        let index = if ordinal { given + 1 } else { given };
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
