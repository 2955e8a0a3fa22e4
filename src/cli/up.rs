//! `printlab up`: the main job. The embedded cloud and the fleet of `printers.toml` on
//! 127.0.0.1, every printer registered and shared, a welcome that says what to type next; Ctrl-C
//! stops cleanly and the next start resumes uploads and jobs in flight.

use super::output::outln;
use super::stop_signal::StopSignals;
use anyhow::Context;
use clap::Args;
use printlab_lab::discovery::DEFAULT_DATA_DIR;
use printlab_lab::{Lab, LabOptions, LabTls};
use std::path::PathBuf;

#[derive(Args)]
pub struct UpArgs {
    /// Where the cloud listens (port 0: any free port).
    #[arg(long, env = "PRINTLAB_LISTEN", default_value = "127.0.0.1:8443")]
    listen: String,
    /// The fleet file, which must exist. Default: printers.toml, or the shipped fleet when there
    /// is none.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data folder: the cloud's store, the devices' spool, the PNGs, and `lab.json` and
    /// `user.token` through which client commands run here (or given the same PRINTLAB_DATA)
    /// find this lab.
    #[arg(long, env = "PRINTLAB_DATA", default_value = DEFAULT_DATA_DIR)]
    data: PathBuf,
    /// Base URL clients reach the lab at, when not the bound address (behind a proxy, under a
    /// host name): Graph links, upload and download URLs and `lab.json` name it. The printers
    /// keep talking to the bound address.
    #[arg(long, env = "PRINTLAB_PUBLIC_URL", value_name = "URL", value_parser = parse_base_url)]
    public_url: Option<String>,
    /// Where the devices' control API listens (clearing faults).
    #[arg(long, default_value = "127.0.0.1:0")]
    control: std::net::SocketAddr,
    /// Where the printers' IPP Everywhere listener binds (one port, a path per printer:
    /// ipp://ADDR/ipp/print/NAME).
    #[arg(
        long,
        env = "PRINTLAB_IPP_LISTEN",
        value_name = "ADDR",
        default_value = "127.0.0.1:8631"
    )]
    ipp_listen: std::net::SocketAddr,
    /// Announce every printer on the network as an IPP Everywhere printer (DNS-SD over mDNS,
    /// `_ipp._tcp` with the `_print` subtype), where --ipp-listen listens.
    #[arg(long)]
    dns_sd: bool,
    /// Print as fast as possible: no warm-up, no pages-per-minute pacing.
    #[arg(long)]
    full_speed: bool,
    /// Lay jobs out to count their sheets but draw no PNGs (for load runs of a big fleet).
    #[arg(long)]
    no_render: bool,
    #[command(flatten)]
    tls: super::tls::TlsArgs,
    /// Transport-fault rules for Graph and the upload/download URLs to start with (`printlab
    /// faults --help` shows the file; `printlab faults load` changes them while the lab runs).
    #[arg(long, value_name = "FILE")]
    transport_faults: Option<PathBuf>,
    /// Post Graph change notifications to webhooks that are not on loopback too.
    #[arg(long)]
    allow_remote_webhooks: bool,
}

pub fn run(args: UpArgs) -> anyhow::Result<()> {
    let fleet = printlab_lab::load_fleet(args.config.as_deref(), args.full_speed)?;
    let transport_faults = super::faults::load_rules(args.transport_faults.as_deref())?;
    let host = super::tls::listen_host(&args.listen);
    let tls = args.tls.https(&args.data, host)?.map(|https| LabTls {
        config: https.config,
        trusted_pem: https.trusted_pem,
        ca_file: https.ca,
    });
    super::connect::runtime()?.block_on(async {
        let mut stop = StopSignals::listen()?;
        let starting = Lab::start(LabOptions {
            listen: args.listen.clone(),
            control: args.control,
            data_dir: args.data.clone(),
            printers: fleet.printers,
            tls,
            public_url: args.public_url.clone(),
            transport_faults,
            allow_remote_webhooks: args.allow_remote_webhooks,
            ipp_listen: Some(args.ipp_listen),
            dns_sd: args.dns_sd,
            render: !args.no_render,
        });
        // A start that waits (printers that cannot register yet) still stops when asked; what it
        // wrote is in the spool and the next start goes on from it.
        let lab = tokio::select! {
            lab = starting => lab.context("starting the lab")?,
            signal = stop.stop_requested() => {
                outln!("\n{signal} during the start, stopping");
                return Ok(());
            }
        };
        lab.write_discovery()
            .context("writing the lab's discovery files")?;
        welcome(&lab).await;
        let signal = stop.stop_requested().await;
        outln!(
            "\n{signal}, stopping: jobs in flight stay in the spool and resume on the next start"
        );
        lab.shutdown().await.context("stopping the lab")
    })
}

/// A base URL given on the command line (`--public-url`): http or https, a host, no query, and a
/// path the cloud's routes can follow (without a trailing slash).
pub fn parse_base_url(text: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(text).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "{text:?} is not an http:// or https:// URL with a host"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{text:?}: a base URL has no query or fragment"));
    }
    Ok(text.trim_end_matches('/').to_string())
}

/// Printers the welcome lists one by one; a bigger fleet is summed up after them.
pub(super) const PRINTERS_LISTED: usize = 20;

async fn welcome(lab: &Lab) {
    let data = lab.data_dir.display();
    outln!(
        "printlab is up: {} printers on {}",
        lab.printers.len(),
        lab.cloud_url
    );
    outln!();
    outln!("  dashboard   {}", lab.dashboard_url());
    outln!("  Graph API   {}", lab.graph_url);
    if let Some(ca) = &lab.ca_file {
        outln!("  HTTPS CA    {}  (trust it in clients)", ca.display());
    }
    outln!("  user token  {data}/user.token  (export PRINTLAB_TOKEN=$(cat {data}/user.token))");
    outln!(
        "  control     {}/control/printers  (bearer token: {data}/control.token)",
        lab.control_url
    );
    outln!("  output      {}", lab.out_dir.display());
    outln!(
        "  IPP user    {} for the cloud IPP printers below (HTTP Basic; its password: ippUser in {data}/lab.json)",
        lab.ipp_user.username
    );
    outln!();
    let width = lab.printers.iter().map(|p| p.name.len()).max().unwrap_or(0);
    for p in lab.printers.iter().take(PRINTERS_LISTED) {
        let state = lab
            .devices()
            .iter()
            .find(|d| d.name == p.name)
            .map(|d| d.snapshot().state.to_string())
            .unwrap_or_default();
        outln!("  {:width$}  {:10}  share {}", p.name, state, p.share_id);
        if let Some(uri) = &p.ipp_uri {
            outln!("  {:width$}  {:10}  {uri}", "", "IPP");
        }
        if let Some(uri) = &p.cloud_ipp_uri {
            outln!("  {:width$}  {:10}  {uri}", "", "cloud IPP");
        }
    }
    if let Some(more) = lab.printers.len().checked_sub(PRINTERS_LISTED)
        && more > 0
    {
        outln!(
            "  … and {more} more: `printlab printers` lists them, {data}/lab.json has their URIs"
        );
    }
    if !lab.dns_sd_services().is_empty() {
        outln!();
        outln!(
            "  DNS-SD      {} printers announced as _ipp._tcp (_print), e.g. {:?}",
            lab.dns_sd_services().len(),
            lab.dns_sd_services()[0]
        );
    }
    let first = lab
        .printers
        .first()
        .map(|p| p.name.as_str())
        .unwrap_or("NAME");
    outln!();
    outln!("Try, in another terminal:");
    outln!("  printlab printers");
    outln!(
        "  printlab testpage -o page.pdf --pages 2 && printlab print page.pdf --printer {first:?} --duplex long --wait"
    );
    outln!("  printlab demo --cloud {}", lab.cloud_url);
    outln!();
    outln!("Ctrl-C stops; the next `printlab up` carries on where this one left off.");
}
