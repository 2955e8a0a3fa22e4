//! Data folders that are never world-readable: see this crate's `README.md`.

use std::fs::Permissions;
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

/// Removes the "other" bits from `path` and, for a folder, everything under it; symbolic links
/// are left alone (their own mode means nothing, and what they point at is not ours).
fn repair(path: &Path, repaired: &mut Vec<PathBuf>) -> Result<(), (PathBuf, std::io::Error)> {
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
}
