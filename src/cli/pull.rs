//! `printlab pull`: pull printing as a release station does it. `setup` makes jobs started on a
//! printer wait (a task definition for the app, a `jobStarted` trigger on the printer); `held`
//! lists the waiting jobs; `release`, `abort` and `redirect` end one; `teardown` removes the
//! trigger. The Graph calls are `printlab_client::pull`'s.

use super::connect::{ConnectArgs, exit, fail, lab_cloud_folder, runtime};
use super::output::outln;
use anyhow::Context;
use clap::{Args, Subcommand};
use printlab_client::GraphClient;
use printlab_client::pull::HeldJob;
use printlab_cloud::auth::TokenKey;
use printlab_graph::{PrintTaskDefinition, PrintTaskProcessingState, Printer};
use std::path::PathBuf;

/// What the app's own token may do: its definitions and tasks, and the held jobs' actions.
pub const APP_ROLES: [&str; 3] = [
    "PrintTaskDefinition.ReadWrite.All",
    "PrintJob.Manage.All",
    "Printer.Read.All",
];
/// What the administrator signed in through the app needs: the trigger, the printer list and
/// the held jobs' details.
pub const ADMIN_SCOPES: [&str; 2] = ["Printer.FullControl.All", "PrintJob.Read.All"];
const ADMIN_USER: &str = "admin";
const TOKEN_HOURS: i64 = 1;

#[derive(Args)]
#[command(after_long_help = "\
Example, in the folder where `printlab up` runs:
  printlab pull setup --printer \"Office Laser 2F\"    # jobs there now wait for release
  printlab print report.pdf --printer \"Office Laser 2F\"
  printlab pull held                                 # the waiting jobs, by job id
  printlab pull release 12                           # job 12 prints
  printlab pull abort 13 --reason \"left the building\"
  printlab pull redirect 14 --to \"Colour MFP 3F\"     # job 14 prints on another printer
  printlab pull teardown --printer \"Office Laser 2F\"

The app's tokens are minted from the cloud's signing key in --data (default: the lab's, as
PRINTLAB_DATA or ./spool names it). Against another cloud, pass them instead:
  export PRINTLAB_APP_TOKEN=$(printlab token --app printlab-release-station \\
      --roles PrintTaskDefinition.ReadWrite.All PrintJob.Manage.All Printer.Read.All)
  export PRINTLAB_ADMIN_TOKEN=$(printlab token --user admin --admin --app printlab-release-station \\
      --scopes Printer.FullControl.All PrintJob.Read.All)")]
pub struct PullArgs {
    #[command(subcommand)]
    command: PullCommand,
    /// The pull-printing app that owns the task definition and releases the jobs.
    #[arg(long, global = true, default_value = "printlab-release-station")]
    app: String,
    /// The app's application token (default: minted from --data).
    #[arg(
        long,
        global = true,
        env = "PRINTLAB_APP_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    app_token: Option<String>,
    /// A Printer Administrator's delegated token issued through the app (default: minted from
    /// --data).
    #[arg(
        long,
        global = true,
        env = "PRINTLAB_ADMIN_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    admin_token: Option<String>,
    /// The cloud's data folder, whose signing key mints the tokens not given [default:
    /// $PRINTLAB_DATA/cloud, else spool/cloud].
    #[arg(long, global = true)]
    data: Option<PathBuf>,
    /// The cloud's base URL. Default: the lab in spool/lab.json, else http://127.0.0.1:8443.
    #[arg(long, global = true, env = "PRINTLAB_CLOUD", value_name = "URL")]
    cloud: Option<String>,
    /// A CA certificate (PEM) to trust for an HTTPS cloud.
    #[arg(long, global = true, env = "PRINTLAB_CA", value_name = "FILE")]
    ca: Option<PathBuf>,
}

#[derive(Subcommand)]
enum PullCommand {
    /// Hold every job started on a printer until the app releases it.
    Setup {
        /// The printer, by name.
        #[arg(long, value_name = "NAME")]
        printer: String,
        /// The task definition's name (one per app and name; made if missing).
        #[arg(long, default_value = "Release station")]
        definition: String,
    },
    /// List the jobs waiting for the app.
    Held {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print a held job: its task is completed.
    Release {
        /// The job's id (`printlab pull held` lists them).
        job: String,
    },
    /// Abort a held job: its task is aborted.
    Abort {
        job: String,
        /// Why, shown in the job's status.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Move a held job to another printer, where it prints at once.
    Redirect {
        job: String,
        /// The destination printer, by name.
        #[arg(long, value_name = "NAME")]
        to: String,
    },
    /// Stop holding jobs on a printer: its trigger is deleted.
    Teardown {
        #[arg(long, value_name = "NAME")]
        printer: String,
    },
}

/// The two callers of pull printing.
struct Callers {
    app: GraphClient,
    admin: GraphClient,
}

impl PullArgs {
    fn callers(&self) -> anyhow::Result<Callers> {
        let key = || {
            let data = lab_cloud_folder(self.data.clone());
            TokenKey::read_from_data_dir(&data).with_context(|| {
                format!(
                    "no signing key in {} to mint the app's tokens: run this where `printlab up` runs, set PRINTLAB_DATA, pass --data, or give --app-token and --admin-token",
                    data.display()
                )
            })
        };
        let lifetime = chrono::Duration::hours(TOKEN_HOURS);
        let app_token = match &self.app_token {
            Some(token) => token.clone(),
            None => key()?.mint_app(&self.app, &APP_ROLES.map(String::from), lifetime)?,
        };
        let admin_token = match &self.admin_token {
            Some(token) => token.clone(),
            None => key()?.mint_user_via_app(
                &self.app,
                ADMIN_USER,
                &ADMIN_SCOPES.map(String::from),
                true,
                lifetime,
            )?,
        };
        let client = |token: String| {
            ConnectArgs {
                cloud: self.cloud.clone(),
                token: Some(token),
                ca: self.ca.clone(),
            }
            .client()
        };
        Ok(Callers {
            app: client(app_token)?,
            admin: client(admin_token)?,
        })
    }
}

pub fn run(args: PullArgs) -> anyhow::Result<()> {
    let callers = args.callers()?;
    runtime()?.block_on(async {
        match &args.command {
            PullCommand::Setup {
                printer,
                definition,
            } => setup(&callers, &args.app, printer, definition).await,
            PullCommand::Held { json } => held(&callers, *json).await,
            PullCommand::Release { job } => {
                finish(&callers, job, PrintTaskProcessingState::Completed, None).await
            }
            PullCommand::Abort { job, reason } => {
                finish(
                    &callers,
                    job,
                    PrintTaskProcessingState::Aborted,
                    reason.as_deref(),
                )
                .await
            }
            PullCommand::Redirect { job, to } => redirect(&callers, job, to).await,
            PullCommand::Teardown { printer } => teardown(&callers, printer).await,
        }
    })
}

async fn printer_named(callers: &Callers, name: &str) -> anyhow::Result<Printer> {
    let printers = callers.admin.printers().await?;
    let names: Vec<String> = printers.iter().map(|p| p.display_name.clone()).collect();
    printers
        .into_iter()
        .find(|p| p.display_name == name)
        .ok_or_else(|| {
            fail(
                exit::REFUSED,
                format!("no printer named {name:?}; printers: {}", names.join(", ")),
            )
        })
}

async fn setup(
    callers: &Callers,
    app: &str,
    printer_name: &str,
    definition_name: &str,
) -> anyhow::Result<()> {
    let printer = printer_named(callers, printer_name).await?;
    let existing = callers.app.task_definitions().await?;
    let definition = match existing
        .into_iter()
        .find(|d| d.display_name == definition_name)
    {
        Some(definition) => definition,
        None => {
            callers
                .app
                .create_task_definition(definition_name, app)
                .await?
        }
    };
    if !callers.admin.task_triggers(&printer.id).await?.is_empty() {
        return Err(fail(
            exit::REFUSED,
            format!(
                "{printer_name:?} already holds its jobs for a task (a printer takes one trigger); `printlab pull teardown --printer {printer_name:?}` removes it"
            ),
        ));
    }
    let trigger = callers
        .admin
        .create_task_trigger(&printer.id, &definition.id)
        .await?;
    outln!(
        "jobs started on {printer_name} now wait for {app}: task definition {} ({definition_name}), trigger {}",
        definition.id,
        trigger.id
    );
    Ok(())
}

/// A job waiting for the app: its task, and where it is.
struct Waiting {
    definition: PrintTaskDefinition,
    task_id: String,
    job: HeldJob,
}

async fn waiting(callers: &Callers) -> anyhow::Result<Vec<Waiting>> {
    let mut out = Vec::new();
    for definition in callers.app.task_definitions().await? {
        for task in callers.app.definition_tasks(&definition.id).await? {
            if task.status.state != PrintTaskProcessingState::Processing {
                continue;
            }
            let job = HeldJob::of_task(&task).with_context(|| {
                format!("task {} names no printer job: {}", task.id, task.parent_url)
            })?;
            out.push(Waiting {
                definition: definition.clone(),
                task_id: task.id,
                job,
            });
        }
    }
    Ok(out)
}

async fn waiting_job(callers: &Callers, job_id: &str) -> anyhow::Result<Waiting> {
    let mut all = waiting(callers).await?;
    let listed: Vec<String> = all.iter().map(|w| w.job.job_id.clone()).collect();
    match all.iter().position(|w| w.job.job_id == job_id) {
        Some(at) => Ok(all.swap_remove(at)),
        None if listed.is_empty() => Err(fail(
            exit::REFUSED,
            format!("job {job_id} is not waiting for release: no job is"),
        )),
        None => Err(fail(
            exit::REFUSED,
            format!(
                "job {job_id} is not waiting for release; waiting: {}",
                listed.join(", ")
            ),
        )),
    }
}

async fn held(callers: &Callers, json: bool) -> anyhow::Result<()> {
    let printers = callers.admin.printers().await?;
    let name_of = |id: &str| {
        printers
            .iter()
            .find(|p| p.id == id)
            .map_or_else(|| id.to_owned(), |p| p.display_name.clone())
    };
    let mut rows = Vec::new();
    for waiting in waiting(callers).await? {
        let parent = printlab_client::JobParent::Printer(waiting.job.printer_id.clone());
        let job = callers.admin.job(&parent, &waiting.job.job_id).await?;
        let owner = job
            .created_by
            .and_then(|who| who.user_principal_name)
            .unwrap_or_default();
        let document = (job.documents.unwrap_or_default().into_iter())
            .filter_map(|d| d.display_name)
            .collect::<Vec<_>>()
            .join(", ");
        rows.push(serde_json::json!({
            "job": waiting.job.job_id,
            "printer": name_of(&waiting.job.printer_id),
            "owner": owner,
            "document": document,
            "task": waiting.task_id,
            "definition": waiting.definition.display_name,
        }));
    }
    if json {
        outln!("{}", serde_json::Value::Array(rows));
        return Ok(());
    }
    if rows.is_empty() {
        outln!("no job is waiting for release");
        return Ok(());
    }
    outln!("{:<8} {:<24} {:<28} document", "job", "printer", "owner");
    for row in rows {
        let text = |key: &str| row[key].as_str().unwrap_or_default().to_owned();
        outln!(
            "{:<8} {:<24} {:<28} {}",
            text("job"),
            text("printer"),
            text("owner"),
            text("document")
        );
    }
    Ok(())
}

async fn finish(
    callers: &Callers,
    job_id: &str,
    state: PrintTaskProcessingState,
    reason: Option<&str>,
) -> anyhow::Result<()> {
    let waiting = waiting_job(callers, job_id).await?;
    let description = match (state, reason) {
        (PrintTaskProcessingState::Completed, _) => "Released at the release station.".to_owned(),
        (_, Some(reason)) => reason.to_owned(),
        (_, None) => "Aborted at the release station.".to_owned(),
    };
    callers
        .app
        .finish_task(
            &waiting.definition.id,
            &waiting.task_id,
            state,
            &description,
        )
        .await?;
    let verb = if state == PrintTaskProcessingState::Completed {
        "released"
    } else {
        "aborted"
    };
    outln!("job {job_id} {verb}");
    Ok(())
}

async fn redirect(callers: &Callers, job_id: &str, to: &str) -> anyhow::Result<()> {
    let waiting = waiting_job(callers, job_id).await?;
    let destination = printer_named(callers, to).await?;
    let moved = callers
        .app
        .redirect_job(&waiting.job.printer_id, job_id, &destination.id)
        .await?;
    outln!("job {job_id} redirected to {to} as job {}", moved.id);
    Ok(())
}

async fn teardown(callers: &Callers, printer_name: &str) -> anyhow::Result<()> {
    let printer = printer_named(callers, printer_name).await?;
    let triggers = callers.admin.task_triggers(&printer.id).await?;
    if triggers.is_empty() {
        outln!("{printer_name} holds no jobs for a task");
        return Ok(());
    }
    for trigger in triggers {
        callers
            .admin
            .delete_task_trigger(&printer.id, &trigger.id)
            .await?;
    }
    outln!("jobs started on {printer_name} print at once again");
    Ok(())
}
