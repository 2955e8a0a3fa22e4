//! A real headless browser for the dashboard's tests and its load benchmark: Debian's Chromium
//! driven over the DevTools protocol (`chromium.rs`) or Firefox ESR driven over WebDriver BiDi
//! (`firefox.rs`), each with a profile of its own, on one page. The tests speak to
//! [`Browser`] and never to a protocol, so one walk through the page runs in both. Everything
//! is blocking: the tests are plain `#[test]`s (a benchmark calls it from `spawn_blocking`).

mod chromium;
mod firefox;
mod websocket;

use serde_json::Value;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

/// Which browser to launch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Debian's `chromium`, over the DevTools protocol.
    Chromium,
    /// Debian's `firefox-esr`, over WebDriver BiDi.
    Firefox,
}

impl Engine {
    /// The lowercase name, for folders and messages.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Chromium => "chromium",
            Engine::Firefox => "firefox",
        }
    }
}

/// The browser's process, killed when the browser is dropped, pass or fail.
struct KilledOnDrop(Child);

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The connection to one page, in the engine's own protocol.
enum Page {
    Chromium(chromium::DevTools),
    Firefox(firefox::Bidi),
}

/// A running browser and its one page; killed when dropped.
pub struct Browser {
    page: Page,
    child: KilledOnDrop,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts `engine` headless with a `width`×`height` viewport on `about:blank`.
    pub fn launch(engine: Engine, width: u32, height: u32) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let (page, child) = match engine {
            Engine::Chromium => {
                let (devtools, child) = chromium::launch(profile.path(), width, height);
                (Page::Chromium(devtools), child)
            }
            Engine::Firefox => {
                let (bidi, child) = firefox::launch(profile.path(), width, height);
                (Page::Firefox(bidi), child)
            }
        };
        Browser {
            page,
            child: KilledOnDrop(child),
            _profile: profile,
        }
    }

    /// The browser's process id: its helpers (renderer, GPU, …) are its descendants, so a
    /// benchmark can count the CPU the whole browser used.
    pub fn pid(&self) -> u32 {
        self.child.0.id()
    }

    /// Sends a command of the engine's own protocol (DevTools for Chromium, WebDriver BiDi
    /// for Firefox) and gives its result; for what [`Browser`] has no method for, such as
    /// Chromium's `Performance.getMetrics`. Panics on a protocol error.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let socket = match &mut self.page {
            Page::Chromium(devtools) => &mut devtools.socket,
            Page::Firefox(bidi) => &mut bidi.socket,
        };
        socket.call(method, params)
    }

    /// Loads `url` and waits for the document to be complete.
    pub fn navigate(&mut self, url: &str) {
        match &mut self.page {
            Page::Chromium(devtools) => devtools.navigate(url),
            Page::Firefox(bidi) => bidi.navigate(url),
        }
        self.wait_for(
            "the page to load",
            "document.readyState === 'complete' && location.href !== 'about:blank'",
            Duration::from_secs(30),
        );
    }

    /// The value of a JavaScript expression as JSON (promises awaited; `undefined` is null).
    pub fn eval(&mut self, expression: &str) -> Value {
        match &mut self.page {
            Page::Chromium(devtools) => devtools.evaluate(expression),
            Page::Firefox(bidi) => bidi.evaluate(expression),
        }
    }

    /// Evaluates `expression` every 100 ms until it is truthy, and gives that value.
    #[track_caller]
    pub fn wait_for(&mut self, what: &str, expression: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let value = self.eval(expression);
            let truthy = match &value {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return value;
            }
            if Instant::now() > deadline {
                let status = self.eval("document.getElementById('connection')?.textContent");
                panic!("waited {timeout:?} for {what} ({expression}); the page says {status}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A real mouse click (pressed and released) in the middle of the element `selector`
    /// matches, scrolled into view first.
    pub fn click(&mut self, selector: &str) {
        let selector_js = serde_json::to_string(selector).unwrap();
        let at = self.eval(&format!(
            "(() => {{ const e = document.querySelector({selector_js}); if (!e) return null; \
             e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect(); \
             return [r.x + r.width / 2, r.y + r.height / 2]; }})()"
        ));
        let (x, y) = match &at {
            Value::Array(xy) => (xy[0].as_f64().unwrap(), xy[1].as_f64().unwrap()),
            _ => panic!("nothing on the page matches {selector}"),
        };
        match &mut self.page {
            Page::Chromium(devtools) => devtools.click_at(x, y),
            Page::Firefox(bidi) => bidi.click_at(x, y),
        }
    }

    /// Writes a PNG of the viewport to `path`.
    pub fn screenshot(&mut self, path: &Path) {
        let png = match &mut self.page {
            Page::Chromium(devtools) => devtools.screenshot(),
            Page::Firefox(bidi) => bidi.screenshot(),
        };
        std::fs::write(path, png).unwrap();
    }
}

/// Reads the port a browser writes into a file of its profile once it listens (`port_of` finds
/// it in the file's text), failing early if the browser ends first.
fn wait_for_listening_port(
    child: &mut Child,
    file: &Path,
    port_of: impl Fn(&str) -> Option<u16>,
) -> u16 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(port) = std::fs::read_to_string(file).ok().and_then(|t| port_of(&t)) {
            return port;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the browser ended before it listened: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "the browser wrote no {}",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64 screenshot")
}
