//! Subcommands, one file each. Errors reach the user as `anyhow` chains with context, never as a
//! Rust backtrace; exit codes are documented in the README.

use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::process::ExitCode;

mod cloud;
mod connect;
mod demo;
mod devices;
mod faults;
mod job_options;
mod jobs;
mod load;
mod matrix;
mod media;
mod output;
mod print;
mod printers;
mod printers_import;
mod provision;
mod pull;
mod render;
mod spool;
mod stop_signal;
mod testpage;
mod tls;
mod token;
mod up;
mod validate;
mod xps;

/// A virtual printer connector: emulated printers against a Universal Print–style cloud.
#[derive(Parser)]
#[command(name = "printlab", version, about, propagate_version = true)]
struct Cli {
    /// Log filter (tracing EnvFilter syntax), e.g. `info` or `printlab=debug`.
    #[arg(long, global = true, env = "PRINTLAB_LOG", default_value = "info")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The main job: the cloud and the printers of printers.toml on 127.0.0.1, shared and ready.
    Up(up::UpArgs),
    /// Print sample documents to every printer with a spread of options and report the results.
    Demo(demo::DemoArgs),
    /// Submit jobs through Graph at a steady rate across printers, follow them to their end, and
    /// report throughput and latency percentiles (load-test a print path against the fleet).
    Load(load::LoadArgs),
    /// List the media sizes printlab knows (Graph name, PWG name, size).
    Media {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print every planned printer × option case through Graph, verify the output, and report.
    Matrix(matrix::MatrixArgs),
    /// Render a document to PNG sides as a printer would print it (or pages as-is: --native).
    Render(render::RenderArgs),
    /// Write a test PDF with marks at known positions.
    Testpage(testpage::TestpageArgs),
    /// Check printers.toml files and report every mistake with its line and column.
    Validate {
        /// The fleet files (`printlab validate models/*.toml` checks the model library).
        #[arg(default_value = "printers.toml")]
        files: Vec<std::path::PathBuf>,
        /// Print the file's JSON Schema (for editor completion) instead of checking a file.
        #[arg(long)]
        schema: bool,
    },
    /// Run the emulated printers of printers.toml against an INFRA service (or clear a fault).
    Devices(devices::DevicesArgs),
    /// Inspect a device spool: list, show, export or clean up jobs.
    Spool {
        /// The spool folder.
        #[arg(long, default_value = "spool")]
        spool: std::path::PathBuf,
        #[command(subcommand)]
        command: spool::SpoolCommand,
    },
    /// Print documents through the cloud (Graph): create, upload (resumable), start, follow.
    Print(print::PrintArgs),
    /// List your print jobs (or everyone's with --all-users).
    Jobs(jobs::JobsArgs),
    /// Show one job, or follow it to the end with --watch.
    Job(jobs::JobArgs),
    /// Cancel a job.
    Cancel(jobs::CancelArgs),
    /// List the printers you can print to, or import a real printer into printers.toml.
    Printers(printers::PrintersArgs),
    /// Show one printer's capabilities and defaults.
    Printer(printers::PrinterArgs),
    /// Pull printing: hold a printer's jobs for release, list, release, abort or redirect them.
    Pull(pull::PullArgs),
    /// Transport faults on Graph and the upload/download URLs: show, load, clear, log.
    Faults(faults::FaultsArgs),
    /// Register a printer an existing INFRA proxy serves (admin; via Graph printers/create).
    Provision(provision::ProvisionArgs),
    /// Run the Universal Print emulator (Graph API) alone.
    Cloud {
        /// Address to listen on.
        #[arg(long, env = "PRINTLAB_LISTEN", default_value = "127.0.0.1:8443")]
        listen: String,
        /// Data folder (sled store, signing key) [default: $PRINTLAB_DATA/cloud, else spool/cloud].
        #[arg(long)]
        data: Option<std::path::PathBuf>,
        /// Base URL clients reach the cloud at (default: http(s)://<bound address>).
        #[arg(long, env = "PRINTLAB_PUBLIC_URL", value_name = "URL", value_parser = up::parse_base_url)]
        public_url: Option<String>,
        #[command(flatten)]
        tls: tls::TlsArgs,
        /// Transport-fault rules to start with (`printlab faults --help` shows the file).
        #[arg(long, value_name = "FILE")]
        transport_faults: Option<std::path::PathBuf>,
        /// Post Graph change notifications to webhooks that are not on loopback too.
        #[arg(long)]
        allow_remote_webhooks: bool,
    },
    /// Print a bearer token the cloud with the same data folder accepts.
    Token {
        /// A delegated token for this user (UPN, or a name that gets @printlab.test).
        #[arg(long, required_unless_present = "app")]
        user: Option<String>,
        /// An application token for this app; with --user, the user's token signed in through
        /// this app (what creating a pull-printing trigger needs).
        #[arg(long)]
        app: Option<String>,
        /// The user holds the Printer Administrator role.
        #[arg(long, requires = "user")]
        admin: bool,
        #[arg(long, num_args = 1.., value_name = "SCOPE", requires = "user", help = token::scopes_help())]
        scopes: Vec<String>,
        /// Application roles, e.g. Printer.ReadWrite.All (an application token: no --user).
        #[arg(long, num_args = 1.., value_name = "ROLE", requires = "app", conflicts_with = "user")]
        roles: Vec<String>,
        /// Lifetime in hours.
        #[arg(long, default_value_t = 24)]
        hours: i64,
        /// Data folder of the cloud [default: $PRINTLAB_DATA/cloud, else spool/cloud].
        #[arg(long)]
        data: Option<std::path::PathBuf>,
    },
}

/// Logs are coloured only for a person: when stderr is a terminal and `NO_COLOR` is unset or
/// empty (<https://no-color.org>). A log written to a file or a pipe stays plain text.
fn log_colours() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Parses the command line, runs the subcommand, and turns its outcome into an exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&cli.log))
        .with_writer(|| output::LogWriter)
        .with_ansi(log_colours())
        .init();
    let outcome: anyhow::Result<()> = match cli.command {
        Command::Up(args) => up::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Load(args) => load::run(args),
        Command::Media { json } => media::run(json),
        Command::Matrix(args) => matrix::run(args),
        Command::Render(args) => render::run(args),
        Command::Testpage(args) => testpage::run(args),
        Command::Validate { files, schema } => validate::run(&files, schema),
        Command::Spool { spool, command } => spool::run(&spool, command),
        Command::Print(args) => print::run(args),
        Command::Jobs(args) => jobs::run_jobs(args),
        Command::Job(args) => jobs::run_job(args),
        Command::Cancel(args) => jobs::run_cancel(args),
        Command::Printers(args) => printers::run_printers(args),
        Command::Printer(args) => printers::run_printer(args),
        Command::Provision(args) => provision::run(args),
        Command::Pull(args) => pull::run(args),
        Command::Faults(args) => faults::run(args),
        Command::Cloud {
            listen,
            data,
            public_url,
            tls,
            transport_faults,
            allow_remote_webhooks,
        } => faults::load_rules(transport_faults.as_deref()).and_then(|rules| {
            let options = printlab_cloud::CloudOptions {
                transport_faults: rules,
                webhooks: printlab_cloud::webhooks::WebhookOptions {
                    allow_remote: allow_remote_webhooks,
                    ..Default::default()
                },
                ..Default::default()
            };
            cloud::run(
                &listen,
                &connect::lab_cloud_folder(data),
                public_url.as_deref(),
                &tls,
                options,
            )
        }),
        Command::Token {
            user,
            app,
            admin,
            scopes,
            roles,
            hours,
            data,
        } => token::run(
            &connect::lab_cloud_folder(data),
            &token::TokenRequest {
                user: user.as_deref(),
                app: app.as_deref(),
                admin,
                scopes: &scopes,
                roles: &roles,
                hours,
            },
        ),
        Command::Devices(args) => devices::run(args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            output::errln!("printlab: {}", output::error_line(&err));
            if let Some(hint) = connect::hint(&err) {
                output::errln!("hint: {hint}");
            }
            ExitCode::from(connect::exit_code(&err))
        }
    }
}
