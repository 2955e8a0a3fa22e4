//! `printlab up`: the main job. The embedded cloud and the fleet of `printers.toml` on
//! 127.0.0.1, every printer registered and shared, a welcome that says what to type next; Ctrl-C
//! stops cleanly and the next start resumes uploads and jobs in flight.

use anyhow::Context;
use clap::Args;
use printlab_lab::{Lab, LabOptions, LabTls};
use std::path::PathBuf;

#[derive(Args)]
pub struct UpArgs {
    /// Where the cloud listens (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: String,
    /// The fleet file; the shipped fleet is used when it does not exist.
    #[arg(long, default_value = "printers.toml")]
    config: PathBuf,
    /// Data folder: the cloud's store, the devices' spool and the PNGs.
    #[arg(long, default_value = "spool")]
    data: PathBuf,
    /// Where the devices' control API listens (clearing faults).
    #[arg(long, default_value = "127.0.0.1:0")]
    control: std::net::SocketAddr,
    /// Print as fast as possible: no warm-up, no pages-per-minute pacing.
    #[arg(long)]
    full_speed: bool,
    #[command(flatten)]
    tls: super::tls::TlsArgs,
}

pub fn run(args: UpArgs) -> anyhow::Result<()> {
    let fleet = printlab_lab::load_fleet(&args.config, args.full_speed)?;
    let host = super::tls::listen_host(&args.listen);
    let tls = args.tls.https(&args.data, host)?.map(|https| LabTls {
        config: https.config,
        trusted_pem: https.trusted_pem,
        ca_file: https.ca,
    });
    super::connect::runtime()?.block_on(async {
        let lab = Lab::start(LabOptions {
            listen: args.listen.clone(),
            control: args.control,
            data_dir: args.data.clone(),
            printers: fleet.printers,
            tls,
        })
        .await
        .context("starting the lab")?;
        lab.write_discovery()
            .context("writing the lab's discovery files")?;
        welcome(&lab).await;
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
        println!("\nstopping: jobs in flight stay in the spool and resume on the next start");
        lab.shutdown().await.context("stopping the lab")
    })
}

async fn welcome(lab: &Lab) {
    let data = lab.data_dir.display();
    println!(
        "printlab is up: {} printers on {}",
        lab.printers.len(),
        lab.cloud_url
    );
    println!();
    println!("  Graph API   {}", lab.graph_url);
    if let Some(ca) = &lab.ca_file {
        println!("  HTTPS CA    {}  (trust it in clients)", ca.display());
    }
    println!("  user token  {data}/user.token  (export PRINTLAB_TOKEN=$(cat {data}/user.token))");
    println!("  control     {}/control/printers", lab.control_url);
    println!("  output      {}", lab.out_dir.display());
    println!();
    let width = lab.printers.iter().map(|p| p.name.len()).max().unwrap_or(0);
    for p in &lab.printers {
        let state = lab
            .devices()
            .iter()
            .find(|d| d.name == p.name)
            .map(|d| d.snapshot().state.to_string())
            .unwrap_or_default();
        println!("  {:width$}  {:10}  share {}", p.name, state, p.share_id);
    }
    let first = lab
        .printers
        .first()
        .map(|p| p.name.as_str())
        .unwrap_or("NAME");
    println!();
    println!("Try, in another terminal:");
    println!("  printlab printers");
    println!(
        "  printlab testpage -o page.pdf --pages 2 && printlab print page.pdf --printer {first:?} --duplex long --wait"
    );
    println!("  printlab demo --cloud {}", lab.cloud_url);
    println!();
    println!("Ctrl-C stops; the next `printlab up` carries on where this one left off.");
}
