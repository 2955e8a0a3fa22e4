//! The cloud's data folder holds the token-signing key and the CA's private key (in sled), so
//! neither it nor anything in it is ever readable by other users: a new one is created private,
//! and one left open (by an older printlab, a backup, a careless copy) is repaired at start-up,
//! which the log says.

use printlab_cloud::Cloud;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Every entry under `folder` (and the folder itself) with its permission bits.
fn modes(folder: &Path) -> Vec<(PathBuf, u32)> {
    let mut found = vec![(
        folder.to_path_buf(),
        std::fs::metadata(folder).unwrap().permissions().mode() & 0o7777,
    )];
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(modes(&path));
        } else {
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
            found.push((path, mode));
        }
    }
    found
}

fn world_accessible(folder: &Path) -> Vec<(PathBuf, u32)> {
    modes(folder)
        .into_iter()
        .filter(|(_, mode)| mode & 0o007 != 0)
        .collect()
}

/// The log lines `f` writes, as a file would get them.
fn logged<T>(f: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let result = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    (result, text)
}

#[test]
fn a_new_data_folder_and_its_sled_files_are_not_world_readable() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("new").join("cloud");
    let cloud = Cloud::open(&data, "http://127.0.0.1:9").unwrap();
    let all = modes(&data);
    for expected in [
        "store/db",
        "store/conf",
        "token-signing.key",
        "upload-blobs",
    ] {
        assert!(
            all.iter().any(|(path, _)| path.ends_with(expected)),
            "{expected} in {all:?}"
        );
    }
    assert_eq!(world_accessible(&data), []);
    assert_eq!(
        all[0].1 & 0o077,
        0,
        "a new data folder is the owner's alone"
    );
    drop(cloud);
}

#[test]
fn a_world_readable_data_folder_is_repaired_at_start_and_the_log_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("cloud");
    drop(Cloud::open(&data, "http://127.0.0.1:9").unwrap());
    // As an older printlab left it: folders 0755, files 0644, the group's bits set by an
    // operator (0750 on the folder) kept.
    for (path, _) in modes(&data) {
        let mode = if path.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o2755)).unwrap();
    let opened_up = world_accessible(&data).len();
    assert!(opened_up >= 5, "{opened_up}");

    let (cloud, log) = logged(|| Cloud::open(&data, "http://127.0.0.1:9").unwrap());
    assert_eq!(world_accessible(&data), []);
    let folder_mode = modes(&data)[0].1;
    assert_eq!(folder_mode, 0o2750, "group bits are the operator's");
    let line = log
        .lines()
        .find(|l| l.contains("readable by other users"))
        .unwrap_or_else(|| panic!("no repair in the log:\n{log}"));
    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains(&data.display().to_string()), "{line}");
    assert!(line.contains(&format!("repaired={opened_up}")), "{line}");
    drop(cloud);
}
