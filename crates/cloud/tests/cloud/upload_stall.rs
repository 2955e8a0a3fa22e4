//! A range whose writer goes silent: the range is given back after the stall time, so a client
//! whose connection died silently can send it again, and the silent writer's late bytes never
//! reach the document.

use super::upload_engine::{
    MIB, create, document_bytes, missing, path_and_query, put, sha256_hex, start,
};
use printlab_cloud::upload::UploadLimits;
use serde_json::Value;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn a_stalled_range_is_given_back_and_its_late_bytes_are_dropped() {
    let limits = UploadLimits {
        stall_time: Duration::from_millis(300),
        ..UploadLimits::default()
    };
    let chunk = limits.chunk_size as u64;
    let cloud = start(limits).await;
    let size = 2 * MIB;
    let data = document_bytes(size);
    let url = create(&cloud, "doc-stall", size).await;
    let client = reqwest::Client::new();

    // Headers and more than two chunks of the first range, then silence on a live socket.
    let (first, last) = (0, MIB - 1);
    let mut silent = tokio::net::TcpStream::connect(cloud.base.trim_start_matches("http://"))
        .await
        .unwrap();
    let head = format!(
        "PUT {} HTTP/1.1\r\nHost: x\r\nContent-Range: bytes {first}-{last}/{size}\r\nContent-Length: {MIB}\r\n\r\n",
        path_and_query(&url)
    );
    silent.write_all(head.as_bytes()).await.unwrap();
    silent
        .write_all(&data[..(2 * chunk + 1000) as usize])
        .await
        .unwrap();
    silent.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let taken = put(&client, &url, &data, first, last).await;
    assert_eq!(
        taken.status(),
        416,
        "while its writer is sending, a range is taken"
    );
    let refusal: Value = taken.json().await.unwrap();
    let message = refusal["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("another request is uploading") && !message.contains("existing data"),
        "the range is still missing, not stored: {message}"
    );

    tokio::time::sleep(Duration::from_millis(600)).await;
    let progress: Value = client.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(missing(&progress), [format!("0-{}", size - 1)]);
    // The other half, then the whole stalled range again from another connection.
    assert_eq!(put(&client, &url, &data, MIB, size - 1).await.status(), 202);
    assert_eq!(put(&client, &url, &data, first, last).await.status(), 201);

    // The silent writer wakes up and sends the rest of its range, wrong bytes at that: they
    // must not land in the document.
    let garbage = vec![0xA5u8; (MIB - 2 * chunk - 1000) as usize];
    let _ = silent.write_all(&garbage).await;
    let _ = silent.flush().await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let download = cloud.service.download_url("doc-stall").unwrap();
    let body = client
        .get(&download)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(sha256_hex(&body), sha256_hex(&data));
    assert_eq!(
        cloud.service.document_sha256("doc-stall").await.unwrap(),
        sha256_hex(&data)
    );
}
