//! `printlab devices`: run the fleet of `printers.toml` against an INFRA service, with the
//! control API on loopback; `printlab devices clear NAME` clears a printer's faults through it.

use super::connect::{exit, fail};
use super::output::{out, outln};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use printlab_cloud::serve::{Readiness, ServeLimits, health_router, serve};
use printlab_device::config::{self, Shard};
use printlab_device::registration::{KeyKind, UniversalPrintAccess};
use printlab_device::runtime::{self, FleetOptions, Link};
use printlab_device::spool::Spool;
use printlab_lab::discovery::{self, DEFAULT_DATA_DIR, DISCOVERY_FILE};
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DevicesArgs {
    #[command(subcommand)]
    action: Option<DevicesAction>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Args)]
struct RunArgs {
    /// The service's base URL (Universal Print printers register there).
    #[arg(long)]
    cloud: Option<String>,
    /// A Printer Administrator's token with Printers.Create, for Universal Print printers that
    /// have not registered yet (registered ones reuse the identity in their spool). With
    /// printlab's cloud: `printlab token --user admin --admin --scopes Printers.Create`.
    #[arg(long, env = "PRINTLAB_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// The fleet file.
    #[arg(long, default_value = "printers.toml")]
    config: PathBuf,
    /// The spool folder (one per device process).
    #[arg(long, default_value = "spool")]
    spool: PathBuf,
    /// Run printers i, i+n, i+2n, … of the file (1-based).
    #[arg(long)]
    shard: Option<Shard>,
    /// Where the control API listens.
    #[arg(long, default_value = "127.0.0.1:0")]
    control: std::net::SocketAddr,
    /// Lay jobs out to count their sheets but draw no PNGs (for throughput runs).
    #[arg(long)]
    no_render: bool,
}

#[derive(Subcommand)]
enum DevicesAction {
    /// Clear a printer's faults (jam, empty tray, open cover) through the control API.
    Clear {
        printer: String,
        /// The control API's URL, as `printlab devices` printed it. Default: the one `printlab
        /// up` wrote in spool/lab.json.
        #[arg(long, env = "PRINTLAB_CONTROL", value_name = "URL")]
        control: Option<String>,
    },
}

pub fn run(args: DevicesArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    match args.action {
        Some(DevicesAction::Clear { printer, control }) => {
            let data = Path::new(DEFAULT_DATA_DIR);
            let control = discovery::control_url(control.as_deref(), data)?.ok_or_else(|| {
                fail(
                    exit::USAGE,
                    format!(
                        "no control API: pass --control URL (as `printlab devices` printed it) or run this where `printlab up` keeps {}",
                        data.join(DISCOVERY_FILE).display()
                    ),
                )
            })?;
            runtime.block_on(clear(&control, &printer))
        }
        None => runtime.block_on(run_fleet(args.run)),
    }
}

async fn clear(control: &str, printer: &str) -> anyhow::Result<()> {
    let url = format!(
        "{}/control/printers/{}/clear",
        control.trim_end_matches('/'),
        percent_encode(printer)
    );
    let answer = reqwest::Client::new()
        .post(&url)
        .send()
        .await
        .with_context(|| format!("reaching the control API at {url}"))?;
    let status = answer.status();
    let body = answer.text().await.unwrap_or_default();
    if !status.is_success() {
        bail!("{url} answered {status}: {}", body.trim());
    }
    out!("{body}");
    Ok(())
}

fn percent_encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn run_fleet(args: RunArgs) -> anyhow::Result<()> {
    let mut fleet =
        config::load(&args.config).with_context(|| format!("reading {}", args.config.display()))?;
    if let Some(shard) = args.shard {
        fleet = fleet.shard(shard);
    }
    if fleet.printers.is_empty() {
        bail!(
            "{} declares no printers for this shard",
            args.config.display()
        );
    }
    printlab_datadir::ensure_private(&args.spool)?;
    let spool = Spool::open(&args.spool.join("db"))
        .with_context(|| format!("opening the spool in {}", args.spool.display()))?;
    let access = args.cloud.map(|cloud_url| UniversalPrintAccess {
        cloud_url,
        admin_token: args.admin_token,
        key: KeyKind::Rsa2048,
    });
    let running = runtime::start_fleet(
        &fleet.printers,
        |printer| Link::from_config(printer, access.as_ref()),
        FleetOptions {
            spool: spool.clone(),
            out_root: runtime::out_root(&args.spool),
            http: runtime::fleet_http_client()?,
            render: !args.no_render,
        },
    )?;
    let listener = tokio::net::TcpListener::bind(args.control)
        .await
        .with_context(|| format!("binding the control API to {}", args.control))?;
    let control_url = format!("http://{}", listener.local_addr()?);
    let readiness = Readiness::default();
    let devices = running.printers.clone();
    readiness.add_check("printers", move || printlab_lab::fleet_not_ready(&devices));
    let router = runtime::control_router(&running.printers).merge(health_router(readiness));
    let stop = CancellationToken::new();
    tokio::spawn(serve(
        listener,
        router,
        ServeLimits::default(),
        None,
        stop.clone(),
    ));
    outln!("control API: {control_url}/control/printers");
    outln!("readiness:   {control_url}/readyz");
    for p in &running.printers {
        outln!("  {}", p.name);
    }
    outln!("clear a fault: printlab devices clear NAME --control {control_url}");
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    outln!("shutting down");
    stop.cancel();
    running.shutdown().await;
    spool.flush().context("flushing the spool")?;
    Ok(())
}
