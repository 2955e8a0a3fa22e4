//! Debian's `chromium --headless --no-sandbox` over the DevTools protocol: the port comes from
//! the profile's `DevToolsActivePort` (`--remote-debugging-port=0`), and the page's WebSocket
//! from `GET /json/list`.

use super::websocket::ProtocolSocket;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The DevTools connection to Chromium's one page.
pub(super) struct DevTools {
    pub(super) socket: ProtocolSocket,
}

pub(super) fn launch(profile: &Path, width: u32, height: u32) -> (DevTools, Child) {
    let mut child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
            "--remote-debugging-port=0",
            &format!("--window-size={width},{height}"),
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("about:blank")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium (Debian's `chromium`, which tests/run.sh installs) starts");
    let port =
        super::wait_for_listening_port(&mut child, &profile.join("DevToolsActivePort"), |text| {
            text.lines().next()?.parse().ok()
        });
    let socket = ProtocolSocket::connect(port, &page_socket_path(port));
    (DevTools { socket }, child)
}

impl DevTools {
    pub(super) fn navigate(&mut self, url: &str) {
        self.socket.call("Page.navigate", json!({"url": url}));
    }

    pub(super) fn evaluate(&mut self, expression: &str) -> Value {
        let result = self.socket.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(thrown) = result.get("exceptionDetails") {
            panic!("{expression} threw: {thrown}");
        }
        result["result"]["value"].clone()
    }

    pub(super) fn click_at(&mut self, x: f64, y: f64) {
        for kind in ["mousePressed", "mouseReleased"] {
            self.socket.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            );
        }
    }

    pub(super) fn screenshot(&mut self) -> Vec<u8> {
        let shot = self
            .socket
            .call("Page.captureScreenshot", json!({"format": "png"}));
        super::base64_decode(shot["data"].as_str().expect("screenshot data"))
    }
}

/// The WebSocket path of the browser's first page (`GET /json/list`).
fn page_socket_path(port: u16) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "GET /json/list HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    // DevTools keeps the connection open: read the head, then exactly Content-Length bytes.
    let mut reader = BufReader::new(stream);
    let mut length = None;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse::<usize>().ok();
        }
    }
    let mut body = vec![0u8; length.expect("a Content-Length")];
    reader.read_exact(&mut body).unwrap();
    let targets: Value = serde_json::from_slice(&body).expect("the target list is JSON");
    let url = (targets.as_array().unwrap().iter())
        .find(|t| t["type"] == "page")
        .and_then(|t| t["webSocketDebuggerUrl"].as_str())
        .unwrap_or_else(|| panic!("no page target in {targets}"));
    let after_host = url.split_once("://").unwrap().1;
    after_host[after_host.find('/').unwrap()..].to_string()
}
