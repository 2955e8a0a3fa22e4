//! One blocking `GET` over a plain socket, for tests and benches that poll a child process's
//! probes and endpoints (`/readyz`, `/metrics`, the control API) from plain `#[test]`s or a
//! bench's main thread, where no runtime runs. HTTP/1.0, so the body ends with the connection.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// What a `GET` answered: the status, the head as text (status line and headers) and the body.
pub struct PlainResponse {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

/// `GET url` (`http://host:port/path`), with `bearer` as the bearer token if given. An error
/// when nothing answers (the process is not listening yet) or the answer is not HTTP.
pub fn get(url: &str, bearer: Option<&str>) -> std::io::Result<PlainResponse> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("not http://: {url}"),
        )
    })?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut stream = TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let authorization = bearer.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {host}\r\n{authorization}\r\n"
    )?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let head_end = (answer.windows(4).position(|w| w == b"\r\n\r\n"))
        .ok_or_else(|| std::io::Error::other("no end of headers"))?;
    let head = String::from_utf8_lossy(&answer[..head_end]).into_owned();
    let status = (head.get(9..12).and_then(|s| s.parse().ok()))
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP status line: {head}")))?;
    Ok(PlainResponse {
        status,
        head,
        body: answer[head_end + 4..].to_vec(),
    })
}
