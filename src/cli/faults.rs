//! `printlab faults`: the cloud's transport faults (Graph and the upload and download URLs
//! failing, throttling, slowing down) shown, replaced, cleared and their log read, through the
//! control endpoint of whichever process serves Graph; and `--transport-faults FILE` of `up`
//! and `cloud`, which start with a rules file.

use super::connect::{exit, fail, lab_cloud_folder, lab_folder, runtime};
use super::output::{error_line, outln};
use anyhow::Context;
use clap::{Args, Subcommand};
use printlab_cloud::auth::TokenKey;
use printlab_cloud::transport_faults::{FaultRules, rules_schema};
use printlab_lab::discovery;
use std::path::{Path, PathBuf};

/// A rules file read and checked (every mistake at its line and column); none: no faults.
pub fn load_rules(path: Option<&Path>) -> anyhow::Result<FaultRules> {
    let Some(path) = path else {
        return Ok(FaultRules::default());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the transport-fault rules {}", path.display()))?;
    FaultRules::parse(&text, &path.display().to_string())
        .map_err(|mistake| fail(exit::USAGE, mistake.to_string()))
}

#[derive(Args)]
#[command(after_long_help = "\
Example faults.toml (`printlab faults schema` prints its JSON Schema):
  seed = 7                              # the draws of `rate` rules repeat with the seed

  [[rule]]
  name = \"every third Graph call fails\"
  path = \"/v1.0/**\"                     # * is one path segment, ** any number
  every = 3                             # or: rate = 0.1, or: sequence = [false, true]
  status = 503                          # 429, 500, 502, 503 or 504, as an OData error
  retry_after = 2

  [[rule]]
  name = \"throttle each caller\"
  path = \"/v1.0/print/**\"
  throttle = { requests = 10, window_seconds = 5 }   # the rest: 429 + Retry-After

  [[rule]]
  name = \"slow, broken uploads\"
  methods = [\"PUT\"]
  path = \"/upload/**\"
  rate = 0.2
  latency_ms = [100, 400]               # or one number
  reset_after_bytes = 65536             # or: body_bytes_per_second = 32768

Start with it (`printlab up --transport-faults faults.toml`) or load it into a running lab
(`printlab faults load faults.toml`); `printlab faults log` shows every request a rule matched.")]
pub struct FaultsArgs {
    #[command(subcommand)]
    command: FaultsCommand,
    /// A Printer Administrator's token (default: minted from the cloud's signing key in --data).
    #[arg(
        long,
        global = true,
        env = "PRINTLAB_ADMIN_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    admin_token: Option<String>,
    /// The cloud's data folder, whose signing key mints the administrator's token [default:
    /// $PRINTLAB_DATA/cloud, else spool/cloud].
    #[arg(long, global = true)]
    data: Option<PathBuf>,
    /// The cloud's base URL. Default: the lab in spool/lab.json, else http://127.0.0.1:8443.
    #[arg(long, global = true, env = "PRINTLAB_CLOUD", value_name = "URL")]
    cloud: Option<String>,
}

#[derive(Subcommand)]
enum FaultsCommand {
    /// The rules in force and how often each matched and fired.
    Show,
    /// Replace the rules with a file's (checked first; a mistake names its line and column).
    Load { file: PathBuf },
    /// Remove every rule.
    Clear,
    /// Every request a rule matched: when, who, what, and what was done to it.
    Log {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print the rules file's JSON Schema (for editor completion).
    Schema,
}

pub fn run(args: FaultsArgs) -> anyhow::Result<()> {
    if let FaultsCommand::Schema = args.command {
        outln!("{:#}", rules_schema());
        return Ok(());
    }
    // A file is checked here first, so a mistake is reported against its own name.
    let body = match &args.command {
        FaultsCommand::Load { file } => {
            load_rules(Some(file))?;
            Some(std::fs::read_to_string(file).context("reading the rules")?)
        }
        _ => None,
    };
    let token = match &args.admin_token {
        Some(token) => token.clone(),
        None => {
            let data = lab_cloud_folder(args.data.clone());
            TokenKey::read_from_data_dir(&data)
                .with_context(|| {
                    format!(
                        "no signing key in {}: run this where `printlab up` runs, set PRINTLAB_DATA, pass --data, or give --admin-token",
                        data.display()
                    )
                })?
                .mint_user("admin", &[], true, chrono::Duration::minutes(10))?
        }
    };
    let cloud = discovery::cloud_url(args.cloud.as_deref(), &lab_folder())
        .context("finding the cloud (--cloud URL or PRINTLAB_CLOUD skips lab.json)")?;
    let control = format!(
        "{}/control/transport-faults",
        cloud.trim_end_matches('/').trim_end_matches("/v1.0")
    );
    runtime()?.block_on(async {
        let http = reqwest::Client::new();
        let request = match &args.command {
            FaultsCommand::Show => http.get(&control),
            FaultsCommand::Load { .. } => http.put(&control).body(body.unwrap_or_default()),
            FaultsCommand::Clear => http.delete(&control),
            FaultsCommand::Log { .. } => http.get(format!("{control}/log")),
            FaultsCommand::Schema => unreachable!("answered above"),
        };
        let response = request
            .bearer_auth(&token)
            .send()
            .await
            .with_context(|| format!("reaching {control}"))
            .map_err(|e| fail(exit::UNREACHABLE, error_line(&e)))?;
        let status = response.status();
        let text = response.text().await.context("reading the answer")?;
        if !status.is_success() {
            let message = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
                .unwrap_or(text);
            return Err(fail(exit::REFUSED, format!("{status}: {message}")));
        }
        match &args.command {
            FaultsCommand::Clear => outln!("no transport faults"),
            FaultsCommand::Log { json: false } => print_log(&text)?,
            FaultsCommand::Log { json: true } => outln!("{text}"),
            _ => print_rules(&text)?,
        }
        Ok(())
    })
}

fn print_rules(text: &str) -> anyhow::Result<()> {
    let shown: serde_json::Value = serde_json::from_str(text).context("the cloud's answer")?;
    let counters = shown["counters"].as_array().cloned().unwrap_or_default();
    if counters.is_empty() {
        outln!("no transport faults");
    }
    for counter in counters {
        outln!(
            "{:<40} matched {:>6}  fired {:>6}",
            counter["rule"].as_str().unwrap_or_default(),
            counter["matched"],
            counter["fired"]
        );
    }
    Ok(())
}

fn print_log(text: &str) -> anyhow::Result<()> {
    let log: serde_json::Value = serde_json::from_str(text).context("the cloud's answer")?;
    for record in log["records"].as_array().cloned().unwrap_or_default() {
        let text = |key: &str| record[key].as_str().unwrap_or("-").to_owned();
        let detail = match (record["status"].as_u64(), record["retryAfter"].as_u64()) {
            (Some(status), Some(wait)) => format!("{status}, Retry-After {wait} s"),
            (Some(status), None) => status.to_string(),
            _ => String::new(),
        };
        outln!(
            "{} {:<9} {:<6} {} {} by {} {}",
            text("at"),
            text("outcome"),
            text("method"),
            text("path"),
            detail,
            text("caller"),
            text("rule"),
        );
    }
    Ok(())
}
