//! The WebSocket both browsers' remote protocols run on, written here (RFC 6455 text frames,
//! client masking, no extensions) so the tests need no WebSocket dependency; and the one
//! request/answer exchange DevTools and WebDriver BiDi share: `{"id", "method", "params"}` out,
//! the message with that `id` back, events in between skipped.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// How long one protocol answer may take.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// A browser's remote-protocol connection.
pub(super) struct ProtocolSocket {
    stream: TcpStream,
    next_id: u64,
}

impl ProtocolSocket {
    /// Opens the WebSocket at `path` on the browser's loopback `port`.
    pub(super) fn connect(port: u16, path: &str) -> ProtocolSocket {
        ProtocolSocket {
            stream: websocket_connect(port, path),
            next_id: 0,
        }
    }

    /// Sends `method` and gives the answer's `result`; panics on an error answer (DevTools and
    /// BiDi both put an `error` member in it).
    pub(super) fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let message = json!({"id": id, "method": method, "params": params}).to_string();
        send_text(&mut self.stream, message.as_bytes());
        loop {
            let answer: Value = serde_json::from_slice(&read_message(&mut self.stream))
                .expect("the browser sends JSON");
            if answer["id"] != id {
                continue; // an event, or the answer to nothing we wait for
            }
            if answer.get("error").is_some() {
                panic!("{method} failed: {answer}");
            }
            return answer["result"].clone();
        }
    }
}

/// Opens a WebSocket to `path` on the browser's port (RFC 6455 handshake, no extensions).
fn websocket_connect(port: u16, path: &str) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(ANSWER_TIMEOUT)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: cHJpbnRsYWIgZGV2dG9vbHM=\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    // Byte by byte up to the blank line, so no frame byte is read into a buffer and lost.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let status = BufReader::new(head.as_slice())
        .lines()
        .next()
        .unwrap()
        .unwrap();
    assert!(status.contains(" 101 "), "WebSocket refused: {status}");
    stream
}

/// One masked text frame (a client must mask).
fn send_text(stream: &mut TcpStream, payload: &[u8]) {
    let mut frame = vec![0x81u8];
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n if n <= 0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    let mask: [u8; 4] = rand_mask();
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    stream.write_all(&frame).unwrap();
}

fn rand_mask() -> [u8; 4] {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    nanos.to_le_bytes()
}

/// The next whole message (continuation frames joined; control frames skipped).
fn read_message(stream: &mut TcpStream) -> Vec<u8> {
    let mut message = Vec::new();
    loop {
        let mut head = [0u8; 2];
        stream.read_exact(&mut head).expect("a WebSocket frame");
        let fin = head[0] & 0x80 != 0;
        let opcode = head[0] & 0x0f;
        let len = match head[1] & 0x7f {
            126 => {
                let mut n = [0u8; 2];
                stream.read_exact(&mut n).unwrap();
                u64::from(u16::from_be_bytes(n))
            }
            127 => {
                let mut n = [0u8; 8];
                stream.read_exact(&mut n).unwrap();
                u64::from_be_bytes(n)
            }
            n => u64::from(n),
        };
        let mut mask = [0u8; 4];
        if head[1] & 0x80 != 0 {
            stream.read_exact(&mut mask).unwrap();
        }
        let mut payload = vec![0u8; usize::try_from(len).unwrap()];
        stream.read_exact(&mut payload).unwrap();
        if head[1] & 0x80 != 0 {
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= mask[i % 4];
            }
        }
        match opcode {
            0x8 => panic!("the browser closed the WebSocket"),
            0x9 | 0xA => continue,
            _ => message.extend_from_slice(&payload),
        }
        if fin {
            return message;
        }
    }
}
