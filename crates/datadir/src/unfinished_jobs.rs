//! Which of a printer's jobs have not ended, kept in memory beside a job store, so the questions
//! asked on every job's path (which jobs are fetchable, which local jobs wait, how many are
//! queued) read those few jobs instead of decoding the printer's whole history, which made every
//! job slower the more jobs the printer had printed before. The store decides what counts as
//! unfinished (the devices' spool keeps an ended job in until the service heard its end).
//!
//! The index is rebuilt when the store opens (one pass over its jobs) and follows every write
//! through [`UnfinishedJobs::write`], which holds the index's lock across the store's commit:
//! two writers of one job then update the index in the order they committed, so it says what
//! the later commit left.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

/// The unfinished jobs of every printer of one store, by printer name or id.
pub struct UnfinishedJobs<Id> {
    by_printer: Mutex<HashMap<String, BTreeSet<Id>>>,
}

impl<Id: Ord + Copy> UnfinishedJobs<Id> {
    /// The index of a store whose jobs are `jobs`: (printer, job, whether it is unfinished).
    pub fn from_jobs(jobs: impl IntoIterator<Item = (String, Id, bool)>) -> Self {
        let mut by_printer: HashMap<String, BTreeSet<Id>> = HashMap::new();
        for (printer, job, unfinished) in jobs {
            if unfinished {
                by_printer.entry(printer).or_default().insert(job);
            }
        }
        Self {
            by_printer: Mutex::new(by_printer),
        }
    }

    /// Commits one write of `printer`'s job `job` and records what it left: `commit` gives its
    /// result and whether the job is unfinished afterwards (false when the job was removed).
    /// Nothing is recorded when `commit` fails.
    pub fn write<T, E>(
        &self,
        printer: &str,
        job: Id,
        commit: impl FnOnce() -> Result<(T, bool), E>,
    ) -> Result<T, E> {
        let mut by_printer = self.lock();
        let (result, unfinished) = commit()?;
        if unfinished {
            (by_printer.entry(printer.to_owned()).or_default()).insert(job);
        } else if let Some(jobs) = by_printer.get_mut(printer) {
            jobs.remove(&job);
            if jobs.is_empty() {
                by_printer.remove(printer);
            }
        }
        Ok(result)
    }

    /// The printer's unfinished jobs, in id order.
    pub fn of(&self, printer: &str) -> Vec<Id> {
        (self.lock().get(printer)).map_or_else(Vec::new, |jobs| jobs.iter().copied().collect())
    }

    /// A writer that panicked left the index as it was before its commit or after it; either
    /// is a set of job ids, so the poison is ignored.
    fn lock(&self) -> MutexGuard<'_, HashMap<String, BTreeSet<Id>>> {
        self.by_printer.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_writes_per_printer() {
        let index = UnfinishedJobs::from_jobs([
            ("A".to_owned(), 3, true),
            ("A".to_owned(), 1, true),
            ("A".to_owned(), 2, false),
            ("B".to_owned(), 1, false),
        ]);
        assert_eq!(index.of("A"), vec![1, 3]);
        assert_eq!(index.of("B"), Vec::<u32>::new());
        index.write("B", 7, || Ok::<_, ()>(((), true))).unwrap();
        index.write("A", 1, || Ok::<_, ()>(((), false))).unwrap();
        assert_eq!(index.of("A"), vec![3]);
        assert_eq!(index.of("B"), vec![7]);
        // A failed commit changes nothing.
        assert_eq!(
            index.write("A", 3, || Err::<((), bool), _>("refused")),
            Err("refused")
        );
        assert_eq!(index.of("A"), vec![3]);
    }
}
