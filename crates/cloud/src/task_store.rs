//! Pull-printing state in sled: task definitions, the one trigger a printer may have, and the
//! tasks triggers create, each a self-contained JSON record like the rest of the cloud's store
//! (and flushed by the caller before it answers).

use super::store::StoreError;
use chrono::{DateTime, Utc};
use printlab_graph::{PrintEvent, PrintTaskStatus};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// A `printTaskDefinition` and the application that owns it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DefinitionRecord {
    pub id: String,
    pub display_name: String,
    /// `createdBy.displayName`, as the creating app chose it.
    pub app_display_name: Option<String>,
    /// `createdBy.appId`: the app that created it; only it may bind triggers to it and act on
    /// the jobs its tasks hold.
    pub app_id: String,
    pub created_date_time: DateTime<Utc>,
}

/// A `printTaskTrigger`; a printer has at most one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TriggerRecord {
    pub id: String,
    pub printer_id: String,
    pub event: PrintEvent,
    pub definition_id: String,
}

/// A `printTask`: one run of a definition for one job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskRecord {
    pub id: String,
    pub definition_id: String,
    pub trigger_id: String,
    pub printer_id: String,
    pub job_number: u64,
    pub parent_url: String,
    pub status: PrintTaskStatus,
}

#[derive(Clone)]
pub struct TaskStore {
    definitions: sled::Tree,
    /// Keyed by printer id: one trigger per printer.
    triggers: sled::Tree,
    /// Keyed by definition id + task id (tasks are contained in their definition).
    tasks: sled::Tree,
    /// printer id + job number + task id → definition id: a job's tasks in one prefix scan.
    job_tasks: sled::Tree,
}

fn decode<T: DeserializeOwned>(tree: &'static str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Corrupt { tree, source })
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("store records always serialise")
}

fn task_key(definition_id: &str, task_id: &str) -> Vec<u8> {
    format!("{definition_id}/{task_id}").into_bytes()
}

fn job_prefix(printer_id: &str, job_number: u64) -> Vec<u8> {
    let mut key = printer_id.as_bytes().to_vec();
    key.push(b'/');
    key.extend_from_slice(&job_number.to_be_bytes());
    key.push(b'/');
    key
}

impl TaskStore {
    pub fn open(db: &sled::Db) -> Result<Self, StoreError> {
        Ok(Self {
            definitions: db.open_tree("task-definitions")?,
            triggers: db.open_tree("task-triggers")?,
            tasks: db.open_tree("tasks")?,
            job_tasks: db.open_tree("job-tasks")?,
        })
    }

    pub fn definition(&self, id: &str) -> Result<Option<DefinitionRecord>, StoreError> {
        self.definitions
            .get(id)?
            .map(|b| decode("task-definitions", &b))
            .transpose()
    }

    /// All definitions, oldest first.
    pub fn definitions(&self) -> Result<Vec<DefinitionRecord>, StoreError> {
        let mut all: Vec<DefinitionRecord> = self
            .definitions
            .iter()
            .values()
            .map(|b| decode("task-definitions", &b?))
            .collect::<Result<_, _>>()?;
        all.sort_by_key(|d| d.created_date_time);
        Ok(all)
    }

    pub fn put_definition(&self, record: &DefinitionRecord) -> Result<(), StoreError> {
        self.definitions
            .insert(record.id.as_bytes(), encode(record))?;
        Ok(())
    }

    /// Removes a definition with its tasks (they are contained in it).
    pub fn delete_definition(&self, id: &str) -> Result<(), StoreError> {
        for task in self.tasks_of_definition(id)? {
            let mut index = job_prefix(&task.printer_id, task.job_number);
            index.extend_from_slice(task.id.as_bytes());
            self.job_tasks.remove(index)?;
            self.tasks.remove(task_key(id, &task.id))?;
        }
        self.definitions.remove(id)?;
        Ok(())
    }

    pub fn trigger_of(&self, printer_id: &str) -> Result<Option<TriggerRecord>, StoreError> {
        self.triggers
            .get(printer_id)?
            .map(|b| decode("task-triggers", &b))
            .transpose()
    }

    /// The triggers bound to a definition.
    pub fn triggers_of_definition(
        &self,
        definition_id: &str,
    ) -> Result<Vec<TriggerRecord>, StoreError> {
        self.triggers
            .iter()
            .values()
            .map(|b| decode::<TriggerRecord>("task-triggers", &b?))
            .filter(|t| {
                t.as_ref()
                    .map_or(true, |t| t.definition_id == definition_id)
            })
            .collect()
    }

    pub fn put_trigger(&self, record: &TriggerRecord) -> Result<(), StoreError> {
        self.triggers
            .insert(record.printer_id.as_bytes(), encode(record))?;
        Ok(())
    }

    pub fn delete_trigger(&self, printer_id: &str) -> Result<(), StoreError> {
        self.triggers.remove(printer_id)?;
        Ok(())
    }

    pub fn task(
        &self,
        definition_id: &str,
        task_id: &str,
    ) -> Result<Option<TaskRecord>, StoreError> {
        self.tasks
            .get(task_key(definition_id, task_id))?
            .map(|b| decode("tasks", &b))
            .transpose()
    }

    pub fn tasks_of_definition(&self, definition_id: &str) -> Result<Vec<TaskRecord>, StoreError> {
        self.tasks
            .scan_prefix(format!("{definition_id}/"))
            .values()
            .map(|b| decode("tasks", &b?))
            .collect()
    }

    /// The tasks a job triggered.
    pub fn tasks_of_job(
        &self,
        printer_id: &str,
        job_number: u64,
    ) -> Result<Vec<TaskRecord>, StoreError> {
        let mut tasks = Vec::new();
        for entry in self
            .job_tasks
            .scan_prefix(job_prefix(printer_id, job_number))
        {
            let (key, definition) = entry?;
            let task_id = String::from_utf8_lossy(&key[job_prefix(printer_id, job_number).len()..])
                .into_owned();
            let definition = String::from_utf8_lossy(&definition).into_owned();
            if let Some(task) = self.task(&definition, &task_id)? {
                tasks.push(task);
            }
        }
        Ok(tasks)
    }

    pub fn put_task(&self, record: &TaskRecord) -> Result<(), StoreError> {
        self.tasks
            .insert(task_key(&record.definition_id, &record.id), encode(record))?;
        let mut index = job_prefix(&record.printer_id, record.job_number);
        index.extend_from_slice(record.id.as_bytes());
        self.job_tasks
            .insert(index, record.definition_id.as_bytes())?;
        Ok(())
    }
}
