//! Pull printing, as the release-station app of Graph's pull-printing pages does it: a task
//! definition the app owns, a `jobStarted` trigger that binds it to a printer (created by an
//! administrator signed in through that app), the tasks that hold each job started there, and
//! what the app may then do: complete the task (the job is released), abort it, or redirect the
//! job to another printer.
//!
//! Two tokens take part, as in Graph: an application token for the app (the definition and
//! its tasks, the job actions) and a delegated administrator token issued through the same app
//! (the trigger). Each call below says which it needs.

use super::{ClientError, GraphClient};
use printlab_graph::{
    PrintJob, PrintTask, PrintTaskDefinition, PrintTaskProcessingState, PrintTaskTrigger,
};
use reqwest::Method;

/// The job a task holds, read from its `parentUrl` (`…/print/printers/{printer}/jobs/{job}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldJob {
    pub printer_id: String,
    pub job_id: String,
}

impl HeldJob {
    pub fn of_task(task: &PrintTask) -> Option<Self> {
        let path = task.parent_url.split_once("/print/printers/")?.1;
        let (printer_id, rest) = path.split_once("/jobs/")?;
        let job_id = rest.split(['/', '?']).next()?;
        (!printer_id.is_empty() && !job_id.is_empty()).then(|| Self {
            printer_id: printer_id.to_owned(),
            job_id: job_id.to_owned(),
        })
    }
}

impl GraphClient {
    /// Application token with `PrintTaskDefinition.ReadWrite.All`.
    pub async fn create_task_definition(
        &self,
        display_name: &str,
        app_display_name: &str,
    ) -> Result<PrintTaskDefinition, ClientError> {
        let body = serde_json::json!({
            "displayName": display_name,
            "createdBy": { "displayName": app_display_name },
        });
        self.call(
            Method::POST,
            "print/taskDefinitions",
            Some(&body),
            "a printTaskDefinition",
        )
        .await
    }

    /// Application token: the calling app's definitions.
    pub async fn task_definitions(&self) -> Result<Vec<PrintTaskDefinition>, ClientError> {
        self.list("print/taskDefinitions", "a printTaskDefinition collection")
            .await
    }

    /// Application token; the definition's triggers must be gone first.
    pub async fn delete_task_definition(&self, definition_id: &str) -> Result<(), ClientError> {
        self.send(
            Method::DELETE,
            &format!("print/taskDefinitions/{definition_id}"),
            None,
        )
        .await
        .map(|_| ())
    }

    /// Delegated administrator token (`Printer.FullControl.All`) issued through the app that
    /// owns the definition.
    pub async fn create_task_trigger(
        &self,
        printer_id: &str,
        definition_id: &str,
    ) -> Result<PrintTaskTrigger, ClientError> {
        let body = serde_json::json!({
            "event": "jobStarted",
            "definition@odata.bind": self.url(&format!("print/taskDefinitions/{definition_id}")),
        });
        self.call(
            Method::POST,
            &format!("print/printers/{printer_id}/taskTriggers"),
            Some(&body),
            "a printTaskTrigger",
        )
        .await
    }

    /// Delegated token with a printer scope.
    pub async fn task_triggers(
        &self,
        printer_id: &str,
    ) -> Result<Vec<PrintTaskTrigger>, ClientError> {
        self.list(
            &format!("print/printers/{printer_id}/taskTriggers"),
            "a printTaskTrigger collection",
        )
        .await
    }

    /// Delegated administrator token.
    pub async fn delete_task_trigger(
        &self,
        printer_id: &str,
        trigger_id: &str,
    ) -> Result<(), ClientError> {
        self.send(
            Method::DELETE,
            &format!("print/printers/{printer_id}/taskTriggers/{trigger_id}"),
            None,
        )
        .await
        .map(|_| ())
    }

    /// Application token: the tasks a definition's triggers created.
    pub async fn definition_tasks(
        &self,
        definition_id: &str,
    ) -> Result<Vec<PrintTask>, ClientError> {
        self.list(
            &format!("print/taskDefinitions/{definition_id}/tasks"),
            "a printTask collection",
        )
        .await
    }

    /// Application token: ends a task. `completed` releases the job it holds to the printer,
    /// `aborted` aborts the job.
    pub async fn finish_task(
        &self,
        definition_id: &str,
        task_id: &str,
        state: PrintTaskProcessingState,
        description: &str,
    ) -> Result<PrintTask, ClientError> {
        let body = serde_json::json!({
            "status": { "state": state, "description": description },
        });
        self.call(
            Method::PATCH,
            &format!("print/taskDefinitions/{definition_id}/tasks/{task_id}"),
            Some(&body),
            "a printTask",
        )
        .await
    }

    /// Application token with `PrintJob.Manage.All`: moves a held job to another printer, where
    /// it is released at once; gives the new job.
    pub async fn redirect_job(
        &self,
        printer_id: &str,
        job_id: &str,
        destination_printer_id: &str,
    ) -> Result<PrintJob, ClientError> {
        let body = serde_json::json!({ "destinationPrinterId": destination_printer_id });
        self.call(
            Method::POST,
            &format!("print/printers/{printer_id}/jobs/{job_id}/redirect"),
            Some(&body),
            "a printJob",
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use printlab_graph::PrintTaskStatus;

    fn task(parent_url: &str) -> PrintTask {
        PrintTask {
            id: "t".into(),
            parent_url: parent_url.into(),
            status: PrintTaskStatus {
                state: PrintTaskProcessingState::Processing,
                description: String::new(),
            },
        }
    }

    #[test]
    fn a_task_names_the_job_it_holds() {
        let held = HeldJob::of_task(&task("http://127.0.0.1:9/v1.0/print/printers/p-1/jobs/42"));
        assert_eq!(
            held,
            Some(HeldJob {
                printer_id: "p-1".into(),
                job_id: "42".into()
            })
        );
        assert_eq!(
            HeldJob::of_task(&task("http://x/v1.0/print/shares/s/jobs/1")),
            None
        );
        assert_eq!(
            HeldJob::of_task(&task("http://x/v1.0/print/printers//jobs/1")),
            None
        );
    }
}
