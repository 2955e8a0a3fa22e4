//! Data folders that are never world-readable, the syncs their writers share, and the index of
//! unfinished jobs their job stores keep: see this crate's `README.md`.

mod group_sync;
mod unfinished_jobs;
pub use group_sync::GroupSync;
pub use unfinished_jobs::UnfinishedJobs;

use std::fs::Permissions;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The permission bits of "other" users.
const OTHER: u32 = 0o007;
/// The permission bits of the group.
const GROUP: u32 = 0o070;
/// How many repaired entries the warning names.
const NAMED_IN_LOG: usize = 5;

#[derive(Debug, thiserror::Error)]
#[error("cannot make the data folder {} private: {}: {source}", folder.display(), path.display())]
pub struct DataDirError {
    pub folder: PathBuf,
    /// The entry that failed (the folder itself or something under it).
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// Makes `folder` a private data folder: creates it 0700 if it is missing, else removes the
/// "other" permission bits from it and everything under it (keeping group bits), logging what
/// it changed; then tightens the process umask so that what is created in it later is not
/// world-accessible either. Returns the entries it repaired.
pub fn ensure_private(folder: &Path) -> Result<Vec<PathBuf>, DataDirError> {
    let fail = |path: &Path, source| DataDirError {
        folder: folder.to_path_buf(),
        path: path.to_path_buf(),
        source,
    };
    let mut repaired = Vec::new();
    match std::fs::symlink_metadata(folder) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(folder)
                .map_err(|e| fail(folder, e))?;
        }
        Err(e) => return Err(fail(folder, e)),
        Ok(_) => repair(folder, &mut repaired).map_err(|(path, e)| fail(&path, e))?,
    }
    let folder_mode = std::fs::metadata(folder)
        .map_err(|e| fail(folder, e))?
        .permissions()
        .mode();
    tighten_umask(OTHER | (GROUP & !folder_mode));
    if !repaired.is_empty() {
        let named: Vec<_> = repaired.iter().take(NAMED_IN_LOG).collect();
        tracing::warn!(
            folder = %folder.display(),
            repaired = repaired.len(),
            first = ?named,
            "the data folder was readable by other users; removed their permissions"
        );
    }
    Ok(repaired)
}

/// The suffix of the temporary files [`replace_file`] writes before renaming them into place.
const TEMPORARY_SUFFIX: &str = ".tmp";

/// Replaces the file at `path` with `bytes` so that a reader sees either the old file or the new
/// one, never a part: the bytes go to a temporary file in the same folder (owner-only, as the
/// files of a data folder hold secrets, unless the file it replaces had group bits an operator
/// gave it: those are kept), are synced, and the file is renamed over `path`, then
/// the folder is synced so the rename survives a power loss. The temporary file is
/// `.<name>.<random>.tmp`, a name no reader of `<name>` looks at; ones a crash left behind for
/// the same `path` are removed first, which is safe because each file has one writer (a lab's
/// `lab.json`, a print run's resume record under its lock).
pub fn replace_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| std::io::Error::other(format!("{} names no file", path.display())))?;
    let mode = match std::fs::metadata(path) {
        Ok(replaced) => replaced.permissions().mode() & 0o777 & !OTHER | 0o600,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0o600,
        Err(e) => return Err(e),
    };
    let prefix = format!(".{name}.");
    remove_leftovers(folder, &prefix)?;
    let mut temporary = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(TEMPORARY_SUFFIX)
        .permissions(Permissions::from_mode(0o600))
        .tempfile_in(folder)?;
    // Set after creating, so the umask (which may hide group bits) does not take them again.
    temporary
        .as_file()
        .set_permissions(Permissions::from_mode(mode))?;
    temporary.write_all(bytes)?;
    temporary.as_file().sync_all()?;
    temporary.persist(path).map_err(|e| e.error)?;
    std::fs::File::open(folder)?.sync_all()
}

/// Removes the temporary files of an interrupted [`replace_file`] (those starting with `prefix`).
fn remove_leftovers(folder: &Path, prefix: &str) -> std::io::Result<()> {
    for entry in std::fs::read_dir(folder)? {
        let path = entry?.path();
        let leftover = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(prefix) && n.ends_with(TEMPORARY_SUFFIX));
        if leftover {
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => tracing::debug!(file = %path.display(), "removed an interrupted write"),
            }
        }
    }
    Ok(())
}

/// Removes the "other" bits from `path` and, for a folder, everything under it; symbolic links
/// are left alone (their own mode means nothing, and what they point at is not ours). An entry
/// that vanishes during the walk is skipped: other processes sharing the folder (parallel
/// `print` runs renaming their resume records into place) create and remove files meanwhile.
fn repair(path: &Path, repaired: &mut Vec<PathBuf>) -> Result<(), (PathBuf, std::io::Error)> {
    match repair_entry(path, repaired) {
        Err((_, e)) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

fn repair_entry(path: &Path, repaired: &mut Vec<PathBuf>) -> Result<(), (PathBuf, std::io::Error)> {
    let at = |e| (path.to_path_buf(), e);
    let metadata = std::fs::symlink_metadata(path).map_err(at)?;
    if metadata.file_type().is_symlink() {
        return Ok(());
    }
    let mode = metadata.permissions().mode();
    if mode & OTHER != 0 {
        std::fs::set_permissions(path, Permissions::from_mode(mode & !OTHER & 0o7777))
            .map_err(at)?;
        repaired.push(path.to_path_buf());
    }
    if metadata.is_dir() {
        for entry in std::fs::read_dir(path).map_err(at)? {
            repair(&entry.map_err(at)?.path(), repaired)?;
        }
    }
    Ok(())
}

/// Adds `mask` to the process umask (never loosens it).
fn tighten_umask(mask: u32) {
    // SAFETY: umask only swaps the process's file creation mask and cannot fail. Between the two
    // calls the mask is the strictest one, so a file another thread creates then is only more
    // private.
    unsafe {
        let old = libc::umask(0o077);
        libc::umask(old | mask as libc::mode_t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path)
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    }

    #[test]
    fn a_new_folder_is_private_and_so_is_what_is_created_in_it() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("a/b");
        assert!(ensure_private(&folder).unwrap().is_empty());
        assert_eq!(mode(&folder), 0o700);
        std::fs::write(folder.join("new"), b"x").unwrap();
        assert_eq!(mode(&folder.join("new")) & OTHER, 0);
    }

    #[test]
    fn an_open_folder_loses_other_bits_and_keeps_group_bits() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("data");
        std::fs::create_dir_all(folder.join("store")).unwrap();
        std::fs::write(folder.join("store/db"), b"secret").unwrap();
        std::fs::write(folder.join("key"), b"secret").unwrap();
        let set = |p: &Path, m| std::fs::set_permissions(p, Permissions::from_mode(m)).unwrap();
        set(&folder, 0o2775);
        set(&folder.join("store"), 0o755);
        set(&folder.join("store/db"), 0o664);
        set(&folder.join("key"), 0o600);
        std::os::unix::fs::symlink("/etc/hostname", folder.join("link")).unwrap();

        let mut repaired = ensure_private(&folder).unwrap();
        repaired.sort();
        assert_eq!(
            repaired,
            [
                folder.clone(),
                folder.join("store"),
                folder.join("store/db")
            ]
        );
        assert_eq!(mode(&folder), 0o2770);
        assert_eq!(mode(&folder.join("store")), 0o750);
        assert_eq!(mode(&folder.join("store/db")), 0o660);
        assert_eq!(mode(&folder.join("key")), 0o600);
        assert!(ensure_private(&folder).unwrap().is_empty(), "nothing left");
    }

    #[test]
    fn a_replaced_file_keeps_the_group_bits_an_operator_gave_it_and_never_others() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("user.token");
        replace_file(&path, b"old").unwrap();
        std::fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        replace_file(&path, b"new").unwrap();
        assert_eq!(mode(&path), 0o640);
        std::fs::set_permissions(&path, Permissions::from_mode(0o400)).unwrap();
        replace_file(&path, b"newer").unwrap();
        assert_eq!(mode(&path), 0o600, "the owner keeps writing it");
        assert_eq!(std::fs::read(&path).unwrap(), b"newer");
    }

    #[test]
    fn a_replaced_file_is_never_seen_in_part_and_leftovers_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lab.json");
        let old = vec![b'a'; 64 * 1024];
        let new = vec![b'b'; 256 * 1024];
        replace_file(&path, &old).unwrap();
        assert_eq!(mode(&path), 0o600);
        let leftover = dir.path().join(".lab.json.x1y2z3.tmp");
        std::fs::write(&leftover, b"half").unwrap();
        let other = dir.path().join(".other.json.x1y2z3.tmp");
        std::fs::write(&other, b"not ours").unwrap();

        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            let reader = scope.spawn(|| {
                let mut reads = 0;
                while !done.load(std::sync::atomic::Ordering::Acquire) {
                    let seen = std::fs::read(&path).unwrap();
                    assert!(seen == old || seen == new, "read {} bytes", seen.len());
                    reads += 1;
                }
                reads
            });
            for round in 0..200 {
                replace_file(&path, if round % 2 == 0 { &new } else { &old }).unwrap();
            }
            done.store(true, std::sync::atomic::Ordering::Release);
            assert!(reader.join().unwrap() > 0);
        });
        assert!(!leftover.exists(), "the interrupted write was not cleaned");
        assert!(other.exists(), "another file's temporary was removed");
        assert_eq!(mode(&path), 0o600);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }
}
