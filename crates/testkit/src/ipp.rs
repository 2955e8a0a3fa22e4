//! IPP as the tests send it: a device's INFRA requests, and the ipptool reference client.

use printlab_ipp::http::{Credentials, TransportError, post_ipp};
use printlab_ipp::{Attribute, Group, Limits, Message, Operation, Value};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::io::AsyncReadExt;

/// Request ids differ across a test's requests, so an answer cannot be matched to the wrong one.
static REQUEST_ID: AtomicU32 = AtomicU32::new(1);

/// One IPP request to `{root}{path}` with `printer-uri` set to that URL, shaped by `build`;
/// gives the answer and the document it carried.
pub async fn request(
    http: &reqwest::Client,
    root: &str,
    path: &str,
    credentials: &Credentials,
    operation: Operation,
    build: impl FnOnce(&mut Message),
) -> Result<(Message, Vec<u8>), TransportError> {
    let url = format!("{root}{path}");
    let mut request = Message::request(operation, REQUEST_ID.fetch_add(1, Ordering::Relaxed));
    request.groups[0].push(Attribute::new("printer-uri", Value::uri(url.clone())));
    build(&mut request);
    let mut response =
        post_ipp(http, &url, credentials, &request, None, &Limits::default()).await?;
    let mut document = Vec::new();
    response.document.read_to_end(&mut document).await.unwrap();
    Ok((response.message, document))
}

/// `copies-supported` 1–99: what the tests' jobs ask for, as Graph refuses a configuration the
/// printer does not declare.
pub fn copies_supported() -> Value {
    Value::RangeOfInteger {
        lower: 1,
        upper: 99,
    }
}

/// `sides-supported` one-sided and long-edge duplex, likewise.
pub fn one_sided_and_long_edge() -> [Value; 2] {
    ["one-sided", "two-sided-long-edge"].map(Value::keyword)
}

/// A device (bearer `token`) tells the INFRA service at `root` what its printer supports;
/// panics unless the service accepts it.
pub async fn advertise(http: &reqwest::Client, root: &str, token: &str, printer: Group) {
    let (response, _) = request(
        http,
        root,
        "/printers",
        &Credentials::Bearer(token.into()),
        Operation::UPDATE_OUTPUT_DEVICE_ATTRIBUTES,
        |m| {
            m.push_group(printer);
        },
    )
    .await
    .unwrap();
    assert!(response.status().is_success(), "{response:?}");
}

/// Runs Debian's ipptool on `test` against `uri` with `args` before the URI; gives whether it
/// passed and what it printed.
pub async fn ipptool(uri: &str, test: &Path, args: &[String]) -> (bool, String) {
    let output = tokio::process::Command::new("ipptool")
        .args(["-t", "-T", "20"])
        .args(args)
        .arg(uri)
        .arg(test)
        .output()
        .await
        .expect("ipptool (Debian package cups-ipp-utils) must be installed");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), report)
}
