//! The document's SHA-256 is computed while its ranges land, whatever their order, so it is
//! recorded when the 201 goes out; the hash state survives a restart of the engine.

use super::upload_engine::{
    MIB, create, document_bytes, put, restart, sha256_hex, start, start_in,
};
use printlab_cloud::upload::UploadLimits;
use serde_json::Value;
use std::sync::Arc;

/// The document record as the store holds it.
fn document_record(db: &sled::Db, document_id: &str) -> Value {
    let documents = db.open_tree("upload.documents").unwrap();
    serde_json::from_slice(&documents.get(document_id).unwrap().unwrap()).unwrap()
}

#[tokio::test]
async fn the_digest_is_recorded_when_the_201_goes_out() {
    let size = 32 * MIB + 5;
    let cloud = start(UploadLimits::default()).await;
    let url = create(&cloud, "doc-digest", size).await;
    let data = Arc::new(document_bytes(size));
    let client = reqwest::Client::new();
    // Ahead of the hash, at it, in parallel, and the one that fills the gap last.
    let order = [(8, 16), (0, 4), (24, 33), (16, 24)];
    for (first, end) in order {
        let last = (end * MIB).min(size) - 1;
        assert_eq!(
            put(&client, &url, &data, first * MIB, last).await.status(),
            202
        );
    }
    let r = put(&client, &url, &data, 4 * MIB, 8 * MIB - 1).await;
    assert_eq!(r.status(), 201);
    // Read straight from the store the moment the 201 is in: no hashing is left for later.
    assert_eq!(
        document_record(&cloud.db, "doc-digest")["sha256"],
        sha256_hex(&data)
    );
    assert_eq!(
        cloud.db.open_tree("upload.prefix_digests").unwrap().len(),
        0,
        "a completed document keeps no hash state"
    );
}

#[tokio::test]
async fn the_hash_goes_on_from_where_a_restart_found_it() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = start_in(dir.path(), UploadLimits::default()).await;
    let size = 3 * MIB + 77;
    let data = document_bytes(size);
    let url = create(&cloud, "doc-restart", size).await;
    let client = reqwest::Client::new();
    assert_eq!(put(&client, &url, &data, 0, MIB - 1).await.status(), 202);
    assert_eq!(
        put(&client, &url, &data, 2 * MIB, size - 1).await.status(),
        202
    );
    let states = cloud.db.open_tree("upload.prefix_digests").unwrap();
    let (_, state) = states.iter().next().unwrap().unwrap();
    assert_eq!(
        u64::from_be_bytes(state[..8].try_into().unwrap()),
        MIB,
        "the first range was hashed, the one stored ahead not yet"
    );

    // A new engine on the same store: what a restarted cloud finds.
    let blob = cloud.data.join("upload-blobs");
    let (restarted, base) = restart(cloud).await;
    // Spoil the first, already hashed, MiB on disk: a restart that went on from the persisted
    // state never reads it again, one that started over would hash the spoiled bytes.
    let file = std::fs::read_dir(&blob).unwrap().next().unwrap().unwrap();
    let spoiled = std::fs::OpenOptions::new()
        .write(true)
        .open(file.path())
        .unwrap();
    std::os::unix::fs::FileExt::write_all_at(&spoiled, &vec![0u8; MIB as usize], 0).unwrap();

    let url = url.replace(&base, &restarted.base);
    assert_eq!(
        put(&client, &url, &data, MIB, 2 * MIB - 1).await.status(),
        201
    );
    assert_eq!(
        restarted
            .service
            .document_sha256("doc-restart")
            .await
            .unwrap(),
        sha256_hex(&data)
    );
    restarted.server.abort();
}
