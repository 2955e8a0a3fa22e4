//! `printlab devices`: run the fleet of `printers.toml` against an INFRA service, with the
//! control API on loopback; `printlab devices fault NAME KIND` raises and clears faults through
//! it, `printlab devices pause|resume NAME` pauses and resumes a printer, `media`, `supply`
//! and `sample-page` press the front panel's other buttons.

use super::connect::ControlArgs;
use super::output::{out, outln};
use super::stop_signal::StopSignals;
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use printlab_device::config::{self, Shard};
use printlab_device::registration::{KeyKind, UniversalPrintAccess};
use printlab_device::runtime::{self, FleetOptions, Link};
use printlab_device::spool::Spool;
use printlab_lab::discovery;
use printlab_serve::{Readiness, ServeLimits, health_router, metrics_router, serve};
use std::path::PathBuf;
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
    /// Run printers i, i+n, i+2n, … of the file (i/n, 1-based); `ordinal=k/n` is shard k+1 of
    /// n, for a StatefulSet pod's 0-based ordinal.
    #[arg(long)]
    shard: Option<Shard>,
    /// Where the control API listens.
    #[arg(long, default_value = "127.0.0.1:0")]
    control: std::net::SocketAddr,
    /// The control API's bearer token. Default: the one kept in the spool folder
    /// (`control.token`), generated at the first start. Required to listen on an address other
    /// than loopback.
    #[arg(
        long,
        env = "PRINTLAB_CONTROL_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    control_token: Option<String>,
    /// Lay jobs out to count their sheets but draw no PNGs (for throughput runs).
    #[arg(long)]
    no_render: bool,
    /// The key each Universal Print printer makes to register: RSA 2048, as Universal Print
    /// documents, or P-256, a thousandth of the generation time (fleets of thousands).
    #[arg(long, value_enum, default_value = "rsa2048")]
    key: RegistrationKey,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum RegistrationKey {
    Rsa2048,
    P256,
}

#[derive(Subcommand)]
enum DevicesAction {
    /// Raise a fault on a running printer, or clear its faults, through the control API:
    /// `fault NAME jam`, `fault NAME paper-out --tray tray-1`, `fault NAME offline --for 30s`,
    /// `fault NAME network-latency --ms 300`, `fault NAME jam --clear`, `fault NAME clear`
    /// (every fault).
    Fault {
        printer: String,
        /// jam, paper-out, cover-open, toner-empty, marker-supply-empty, offline,
        /// network-latency, or clear.
        kind: String,
        /// For paper-out: the tray that runs out.
        #[arg(long)]
        tray: Option<String>,
        /// For offline: how long (30s, 500ms, 2m, 1h); else until cleared.
        #[arg(long = "for", value_name = "DURATION")]
        duration: Option<String>,
        /// For network-latency: the milliseconds added to every exchange with the service.
        #[arg(long)]
        ms: Option<u64>,
        /// Clear this fault instead of raising it.
        #[arg(long)]
        clear: bool,
        #[command(flatten)]
        control: ControlArgs,
    },
    /// Pause a running printer: the sheet in the engine comes out, the next one waits (its job
    /// shows `stopped` in Graph) until `resume`.
    Pause {
        printer: String,
        #[command(flatten)]
        control: ControlArgs,
    },
    /// Resume a paused printer.
    Resume {
        printer: String,
        #[command(flatten)]
        control: ControlArgs,
    },
    /// Load a full stack of another paper into a tray: `media NAME tray-1 iso_a4_210x297mm`
    /// (Graph or PWG name of a size the printer prints).
    Media {
        printer: String,
        tray: String,
        media_size: String,
        #[command(flatten)]
        control: ControlArgs,
    },
    /// Set a supply's level in percent: `supply NAME "Black Toner" 5` (at or under its low mark
    /// the printer warns, at 0 it stops).
    Supply {
        printer: String,
        supply: String,
        percent: u8,
        #[command(flatten)]
        control: ControlArgs,
    },
    /// Print the printer's sample page (one of its own jobs, never sent to the service).
    SamplePage {
        printer: String,
        #[command(flatten)]
        control: ControlArgs,
    },
}

pub fn run(args: DevicesArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    match args.action {
        Some(DevicesAction::Fault {
            printer,
            kind,
            tray,
            duration,
            ms,
            clear,
            control,
        }) => {
            let access = control.access()?;
            let printer = percent_encode(&printer);
            let (method, path) = match (kind.as_str(), clear) {
                ("clear", _) => (reqwest::Method::POST, format!("{printer}/clear")),
                (kind, true) => (
                    reqwest::Method::DELETE,
                    format!("{printer}/faults/{}", percent_encode(kind)),
                ),
                (kind, false) => {
                    let query: Vec<String> = (tray.map(|t| format!("tray={}", percent_encode(&t))))
                        .into_iter()
                        .chain(duration.map(|d| format!("for={}", percent_encode(&d))))
                        .chain(ms.map(|ms| format!("ms={ms}")))
                        .collect();
                    let query = if query.is_empty() {
                        String::new()
                    } else {
                        format!("?{}", query.join("&"))
                    };
                    let kind = percent_encode(kind);
                    (
                        reqwest::Method::POST,
                        format!("{printer}/faults/{kind}{query}"),
                    )
                }
            };
            runtime.block_on(send_control(&access, method, &path, None))
        }
        Some(DevicesAction::Pause { printer, control }) => {
            let path = format!("{}/pause", percent_encode(&printer));
            runtime.block_on(send_control(
                &control.access()?,
                reqwest::Method::POST,
                &path,
                None,
            ))
        }
        Some(DevicesAction::Resume { printer, control }) => {
            let path = format!("{}/resume", percent_encode(&printer));
            runtime.block_on(send_control(
                &control.access()?,
                reqwest::Method::POST,
                &path,
                None,
            ))
        }
        Some(DevicesAction::Media {
            printer,
            tray,
            media_size,
            control,
        }) => {
            let path = format!(
                "{}/trays/{}",
                percent_encode(&printer),
                percent_encode(&tray)
            );
            let body = serde_json::json!({ "mediaSize": media_size });
            runtime.block_on(send_control(
                &control.access()?,
                reqwest::Method::PUT,
                &path,
                Some(body),
            ))
        }
        Some(DevicesAction::Supply {
            printer,
            supply,
            percent,
            control,
        }) => {
            let path = format!(
                "{}/supplies/{}",
                percent_encode(&printer),
                percent_encode(&supply)
            );
            let body = serde_json::json!({ "level": percent });
            runtime.block_on(send_control(
                &control.access()?,
                reqwest::Method::PUT,
                &path,
                Some(body),
            ))
        }
        Some(DevicesAction::SamplePage { printer, control }) => {
            let path = format!("{}/sample-page", percent_encode(&printer));
            runtime.block_on(send_control(
                &control.access()?,
                reqwest::Method::POST,
                &path,
                None,
            ))
        }
        None => runtime.block_on(run_fleet(args.run)),
    }
}

/// Sends one request to `/control/printers/{path}` (with `body` as JSON) and prints the answer.
async fn send_control(
    access: &discovery::ControlAccess,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> anyhow::Result<()> {
    let url = format!(
        "{}/control/printers/{path}",
        access.url.trim_end_matches('/')
    );
    let mut request = (reqwest::Client::new().request(method, &url)).bearer_auth(&access.token);
    if let Some(body) = &body {
        request = request.json(body);
    }
    let answer = request
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
    let mut stop_signals = StopSignals::listen()?;
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
    let control_token = control_token(&args)?;
    let spool = Spool::open(&args.spool.join("db"))
        .with_context(|| format!("opening the spool in {}", args.spool.display()))?;
    let access = args.cloud.map(|cloud_url| UniversalPrintAccess {
        cloud_url,
        admin_token: args.admin_token,
        key: match args.key {
            RegistrationKey::Rsa2048 => KeyKind::Rsa2048,
            RegistrationKey::P256 => KeyKind::EcdsaP256,
        },
    });
    let metrics = prometheus::Registry::new();
    let services = runtime::service_urls(
        &fleet.printers,
        access.as_ref().map(|a| a.cloud_url.as_str()),
    );
    let http = runtime::fleet_http_client_for(&services, None).await?;
    let running = runtime::start_fleet(
        &fleet.printers,
        |printer| Link::from_config(printer, access.as_ref()),
        FleetOptions {
            spool: spool.clone(),
            out_root: runtime::out_root(&args.spool),
            http,
            render: !args.no_render,
            ipp_listen: None,
            metrics: runtime::FleetMetrics::register(&metrics)
                .context("registering the fleet's metrics")?,
        },
    )?;
    let listener = tokio::net::TcpListener::bind(args.control)
        .await
        .with_context(|| format!("binding the control API to {}", args.control))?;
    let control_url = format!("http://{}", listener.local_addr()?);
    let readiness = Readiness::default();
    let devices = running.printers.clone();
    readiness.add_check("printers", move || printlab_lab::fleet_not_ready(&devices));
    let router = runtime::control_router(
        &running.printers,
        runtime::JobOutputs {
            spool: spool.clone(),
            out_root: runtime::out_root(&args.spool),
        },
        &control_token,
    )
    .merge(health_router(readiness))
    .merge(metrics_router(metrics));
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
    outln!("metrics:     {control_url}/metrics");
    for p in running.printers.iter().take(super::up::PRINTERS_LISTED) {
        outln!("  {}", p.name);
    }
    if let Some(more) = (running.printers.len()).checked_sub(super::up::PRINTERS_LISTED)
        && more > 0
    {
        outln!("  … and {more} more: GET {control_url}/control/printers lists them");
    }
    outln!(
        "control token: {}",
        args.spool.join(discovery::CONTROL_TOKEN_FILE).display()
    );
    outln!("raise a fault: printlab devices fault NAME jam --control {control_url}");
    let signal = stop_signals.stop_requested().await;
    outln!("{signal}, shutting down");
    stop.cancel();
    running.shutdown().await;
    spool.flush().context("flushing the spool")?;
    Ok(())
}

/// The control API's token: the one given (kept in the spool folder, so `printlab devices fault`
/// run there finds it), else the one kept there, else a new one. Off loopback only a given
/// token will do: a generated one would be known only on this machine.
fn control_token(args: &RunArgs) -> anyhow::Result<String> {
    if let Some(token) = &args.control_token {
        discovery::write_control_token(&args.spool, token)
            .context("keeping the control token in the spool folder")?;
        return Ok(token.clone());
    }
    if !args.control.ip().is_loopback() {
        bail!(
            "the control API may listen on {} only with --control-token (or PRINTLAB_CONTROL_TOKEN): it raises faults on the printers",
            args.control
        );
    }
    if let Some(token) = discovery::control_token(&args.spool) {
        return Ok(token);
    }
    let token = runtime::generate_control_token();
    discovery::write_control_token(&args.spool, &token)
        .context("keeping the control token in the spool folder")?;
    Ok(token)
}
