//! `printlab jobs`, `printlab job ID [--watch]` and `printlab cancel ID`: the print queue as a
//! Graph client sees it, through the shares the caller can print to.

use super::connect::{ConnectArgs, exit, fail, resolve};
use super::output::outln;
use super::output::{describe, print_table};
use anyhow::Context;
use clap::Args;
use printlab_client::follow::follow;
use printlab_client::{GraphClient, JobParent, SharedPrinter};
use printlab_graph::{PrintJob, PrintJobProcessingState};
use serde::Serialize;

#[derive(Args)]
pub struct JobsArgs {
    /// Only this printer's jobs (by name).
    #[arg(long, value_name = "NAME")]
    printer: Option<String>,
    /// Everyone's jobs, not just yours (needs an administrator token).
    #[arg(long)]
    all_users: bool,
    /// Print JSON (an array of jobs; fields in README.md).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

#[derive(Args)]
pub struct JobArgs {
    /// The job id (a decimal number, as `printlab jobs` shows it).
    id: String,
    /// Look only at this printer (by name); otherwise every shared printer is searched.
    #[arg(long, value_name = "NAME")]
    printer: Option<String>,
    /// Follow the job until it ends; exit 6 unless it completed.
    #[arg(long)]
    watch: bool,
    /// Print JSON (one job; fields in README.md).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

#[derive(Args)]
pub struct CancelArgs {
    /// The job id.
    id: String,
    /// Look only at this printer (by name).
    #[arg(long, value_name = "NAME")]
    printer: Option<String>,
    #[command(flatten)]
    connect: ConnectArgs,
}

/// One job in `--json` output. The field set is a stable interface (README.md).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JobJson<'a> {
    id: &'a str,
    printer: &'a str,
    share_id: &'a str,
    state: String,
    details: Vec<String>,
    description: &'a str,
    created_date_time: String,
    created_by: Option<&'a str>,
    document_name: Option<&'a str>,
    content_type: Option<&'a str>,
    size: Option<i64>,
}

fn job_json<'a>(share: &'a SharedPrinter, job: &'a PrintJob) -> JobJson<'a> {
    let doc = job.documents.as_ref().and_then(|d| d.first());
    JobJson {
        id: &job.id,
        printer: &share.display_name,
        share_id: &share.id,
        state: job.status.state.to_string(),
        details: job.status.details.iter().map(|d| d.to_string()).collect(),
        description: &job.status.description,
        created_date_time: job.created_date_time.to_rfc3339(),
        created_by: job
            .created_by
            .as_ref()
            .and_then(|u| u.user_principal_name.as_deref()),
        document_name: doc.and_then(|d| d.display_name.as_deref()),
        content_type: doc.and_then(|d| d.content_type.as_deref()),
        size: doc.map(|d| d.size),
    }
}

/// The shares to look at: one by name, or all.
async fn shares(client: &GraphClient, printer: Option<&str>) -> anyhow::Result<Vec<SharedPrinter>> {
    Ok(match printer {
        Some(name) => vec![resolve(client, Some(name), None).await?.share],
        None => client.shares().await.context("listing shared printers")?,
    })
}

pub fn run_jobs(args: JobsArgs) -> anyhow::Result<()> {
    let client = args.connect.client()?;
    let user = if args.all_users {
        None
    } else {
        args.connect.user_name()
    };
    super::connect::runtime()?.block_on(async {
        let mut rows = Vec::new();
        for share in shares(&client, args.printer.as_deref()).await? {
            let jobs = client
                .jobs(&JobParent::Share(share.id.clone()), user.as_deref())
                .await
                .with_context(|| format!("listing the jobs of {:?}", share.display_name))?;
            rows.extend(jobs.into_iter().map(|job| (share.clone(), job)));
        }
        rows.sort_by_key(|(_, job)| job.created_date_time);
        if args.json {
            let out: Vec<JobJson> = rows.iter().map(|(s, j)| job_json(s, j)).collect();
            outln!("{}", serde_json::to_string_pretty(&out)?);
            return Ok(());
        }
        if rows.is_empty() {
            outln!("no jobs");
            return Ok(());
        }
        let table: Vec<Vec<String>> = rows
            .iter()
            .map(|(share, job)| {
                let j = job_json(share, job);
                vec![
                    j.id.to_string(),
                    j.printer.to_string(),
                    j.state.clone(),
                    j.document_name.unwrap_or("").to_string(),
                    j.size.map(|s| s.to_string()).unwrap_or_default(),
                    j.created_by.unwrap_or("").to_string(),
                    job.created_date_time
                        .format("%Y-%m-%d %H:%M:%S")
                        .to_string(),
                ]
            })
            .collect();
        print_table(
            &[
                "JOB", "PRINTER", "STATE", "DOCUMENT", "BYTES", "OWNER", "CREATED",
            ],
            &table,
        );
        Ok(())
    })
}

/// Finds the share that holds a job: job ids are unique in the cloud, but Graph addresses
/// jobs under their printer or share.
async fn find(
    client: &GraphClient,
    printer: Option<&str>,
    id: &str,
) -> anyhow::Result<(SharedPrinter, PrintJob)> {
    for share in shares(client, printer).await? {
        match client.job(&JobParent::Share(share.id.clone()), id).await {
            Ok(job) => return Ok((share, job)),
            Err(err) if err.status() == Some(reqwest::StatusCode::NOT_FOUND) => {}
            Err(err) => return Err(err.into()),
        }
    }
    Err(fail(
        exit::REFUSED,
        format!("no job {id} that you can see (`printlab jobs` lists yours)"),
    ))
}

pub fn run_job(args: JobArgs) -> anyhow::Result<()> {
    let client = args.connect.client()?;
    super::connect::runtime()?.block_on(async {
        let (share, job) = find(&client, args.printer.as_deref(), &args.id).await?;
        let job = if args.watch {
            outln!("job {}: {}", job.id, describe(&job));
            let mut first = true;
            follow(
                &client,
                &JobParent::Share(share.id.clone()),
                &job.id,
                |now| {
                    if !first {
                        outln!("job {}: {}", job.id, describe(now));
                    }
                    first = false;
                },
            )
            .await?
        } else {
            job
        };
        if args.json {
            outln!("{}", serde_json::to_string_pretty(&job_json(&share, &job))?);
        } else if !args.watch {
            let j = job_json(&share, &job);
            let rows = [
                ("job", j.id.to_string()),
                ("printer", j.printer.to_string()),
                ("state", describe(&job)),
                ("document", j.document_name.unwrap_or("").to_string()),
                ("format", j.content_type.unwrap_or("").to_string()),
                ("bytes", j.size.map(|s| s.to_string()).unwrap_or_default()),
                ("owner", j.created_by.unwrap_or("").to_string()),
                ("created", j.created_date_time.clone()),
                ("configuration", serde_json::to_string(&job.configuration)?),
            ];
            for (k, v) in rows {
                outln!("{k:<14} {v}");
            }
        }
        if args.watch && job.status.state != PrintJobProcessingState::Completed {
            return Err(fail(
                exit::JOB_FAILED,
                format!("job {} ended {}", job.id, describe(&job)),
            ));
        }
        Ok(())
    })
}

pub fn run_cancel(args: CancelArgs) -> anyhow::Result<()> {
    let client = args.connect.client()?;
    super::connect::runtime()?.block_on(async {
        let (share, job) = find(&client, args.printer.as_deref(), &args.id).await?;
        let parent = JobParent::Share(share.id.clone());
        client
            .cancel_job(&parent, &job.id)
            .await
            .with_context(|| format!("canceling job {}", job.id))?;
        let job = client.job(&parent, &job.id).await?;
        outln!("job {}: {}", job.id, describe(&job));
        Ok(())
    })
}
