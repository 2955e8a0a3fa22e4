//! `printlab provision NAME`: an admin registers a printer that an existing INFRA proxy
//! (ippsample's ippproxy or any PWG 5100.18 proxy) serves at `/ipp/print/NAME` with HTTP Basic
//! credentials. Goes through Graph `printers/create` like any client would.

use super::connect::ConnectArgs;
use super::output::outln;
use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::Args;
use printlab_client::provision::{CreatePrinter, ProxyCredential};
use printlab_graph::PrintCertificateSigningRequest;

#[derive(Args)]
pub struct ProvisionArgs {
    /// The printer's display name in Graph.
    name: String,
    #[arg(long)]
    manufacturer: String,
    #[arg(long)]
    model: String,
    /// The printer URI name the proxy connects to (`/ipp/print/NAME`); default: the display
    /// name in lower case with spaces as dashes.
    #[arg(long, value_name = "NAME")]
    uri_name: Option<String>,
    /// The HTTP Basic user name the proxy authenticates with.
    #[arg(long, value_name = "USER")]
    proxy_user: String,
    /// The proxy's HTTP Basic password.
    #[arg(
        long,
        env = "PRINTLAB_PROXY_PASSWORD",
        hide_env_values = true,
        value_name = "PASSWORD"
    )]
    proxy_password: String,
    #[command(flatten)]
    connect: ConnectArgs,
}

pub fn run(args: ProvisionArgs) -> anyhow::Result<()> {
    let uri_name = args
        .uri_name
        .clone()
        .unwrap_or_else(|| args.name.trim().to_lowercase().replace(' ', "-"));
    // Graph wants a CSR for every printer; a proxy printer authenticates with its Basic
    // credential, so the key behind this one is not kept.
    let key = rcgen::KeyPair::generate().context("generating the printer's key")?;
    let csr = rcgen::CertificateParams::new(vec![uri_name.clone()])
        .and_then(|params| params.serialize_request(&key))
        .context("writing the certificate signing request")?;
    let request = CreatePrinter {
        display_name: args.name.clone(),
        manufacturer: args.manufacturer.clone(),
        model: args.model.clone(),
        physical_device_id: None,
        has_physical_device: true,
        certificate_signing_request: PrintCertificateSigningRequest {
            content: STANDARD.encode(csr.der()),
            transport_key: STANDARD.encode(key.public_key_raw()),
        },
        proxy_credential: Some(ProxyCredential {
            name: uri_name.clone(),
            username: args.proxy_user.clone(),
            password: args.proxy_password.clone(),
        }),
    };
    let client = args.connect.client()?;
    let printer = super::connect::runtime()?.block_on(async {
        client
            .create_printer(&request)
            .await
            .with_context(|| format!("provisioning printer `{}`", args.name))
    })?;
    let cloud = client.base_url().trim_end_matches("/v1.0");
    let proxy_uri = match cloud.split_once("://") {
        Some(("https", rest)) => format!("ipps://{rest}/ipp/print/{uri_name}"),
        Some((_, rest)) => format!("ipp://{rest}/ipp/print/{uri_name}"),
        None => format!("{cloud}/ipp/print/{uri_name}"),
    };
    outln!("printer  {}", printer.id);
    outln!("name     {}", printer.display_name);
    outln!("proxy    {proxy_uri} (HTTP Basic user {})", args.proxy_user);
    Ok(())
}
