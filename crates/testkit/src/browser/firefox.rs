//! Debian's `firefox-esr --headless` over WebDriver BiDi, the W3C protocol Firefox speaks
//! natively (it no longer serves DevTools): `--remote-debugging-port=0` makes it listen, the
//! profile's `WebDriverBiDiServer.json` says on which port, and `ws://…/session` with
//! `session.new` opens a session on its one tab. The profile's `user.js` turns off what a fresh
//! Firefox would fetch from the internet at start (updates, telemetry, remote settings, safe
//! browsing lists), since no traffic may leave the machine.

use super::websocket::ProtocolSocket;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The BiDi session and the browsing context (tab) it drives.
pub(super) struct Bidi {
    pub(super) socket: ProtocolSocket,
    context: String,
}

/// Preferences for a browser that never reaches outside the machine and never asks anything.
const USER_JS: &str = r#"
user_pref("app.update.disabledForTesting", true);
user_pref("app.normandy.enabled", false);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("browser.safebrowsing.update.enabled", false);
user_pref("browser.safebrowsing.malware.enabled", false);
user_pref("browser.safebrowsing.phishing.enabled", false);
user_pref("browser.safebrowsing.downloads.enabled", false);
user_pref("browser.search.update", false);
user_pref("browser.region.network.url", "");
user_pref("browser.topsites.contile.enabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("datareporting.healthreport.uploadEnabled", false);
user_pref("extensions.update.enabled", false);
user_pref("messaging-system.rsexperimentloader.enabled", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("services.settings.server", "data:,#remote-settings-off");
user_pref("toolkit.telemetry.server", "");
"#;

pub(super) fn launch(profile: &Path, width: u32, height: u32) -> (Bidi, Child) {
    std::fs::write(profile.join("user.js"), USER_JS).unwrap();
    let mut child = Command::new("firefox-esr")
        .args(["--headless", "--no-remote", "--remote-debugging-port=0"])
        .arg("--profile")
        .arg(profile)
        .arg("about:blank")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("firefox-esr (Debian's `firefox-esr`, which tests/run.sh installs) starts");
    let port = super::wait_for_listening_port(
        &mut child,
        &profile.join("WebDriverBiDiServer.json"),
        |text| {
            let server: Value = serde_json::from_str(text).ok()?;
            server["ws_port"].as_u64()?.try_into().ok()
        },
    );
    let mut socket = ProtocolSocket::connect(port, "/session");
    socket.call("session.new", json!({"capabilities": {}}));
    let tree = socket.call("browsingContext.getTree", json!({}));
    let context = tree["contexts"][0]["context"]
        .as_str()
        .unwrap_or_else(|| panic!("no browsing context in {tree}"))
        .to_string();
    socket.call(
        "browsingContext.setViewport",
        json!({"context": context, "viewport": {"width": width, "height": height}}),
    );
    (Bidi { socket, context }, child)
}

impl Bidi {
    pub(super) fn navigate(&mut self, url: &str) {
        self.socket.call(
            "browsingContext.navigate",
            json!({"context": self.context, "url": url, "wait": "complete"}),
        );
    }

    /// BiDi answers with its own typed values (`{"type": "number", "value": 1}`); the page
    /// turns the value into JSON text instead, so both engines give the same plain JSON.
    pub(super) fn evaluate(&mut self, expression: &str) -> Value {
        let as_json = format!(
            "Promise.resolve(({expression})).then(v => JSON.stringify(v === undefined ? null : v))"
        );
        let evaluated = self.socket.call(
            "script.evaluate",
            json!({
                "expression": as_json,
                "target": {"context": self.context},
                "awaitPromise": true,
                "resultOwnership": "none",
            }),
        );
        if evaluated["type"] != "success" {
            panic!("{expression} threw: {}", evaluated["exceptionDetails"]);
        }
        let text = evaluated["result"]["value"]
            .as_str()
            .unwrap_or_else(|| panic!("{expression} gave no JSON: {evaluated}"));
        serde_json::from_str(text).unwrap()
    }

    pub(super) fn click_at(&mut self, x: f64, y: f64) {
        self.socket.call(
            "input.performActions",
            json!({
                "context": self.context,
                "actions": [{
                    "type": "pointer",
                    "id": "mouse",
                    "parameters": {"pointerType": "mouse"},
                    "actions": [
                        {"type": "pointerMove", "x": x.round() as i64, "y": y.round() as i64},
                        {"type": "pointerDown", "button": 0},
                        {"type": "pointerUp", "button": 0},
                    ],
                }],
            }),
        );
    }

    pub(super) fn screenshot(&mut self) -> Vec<u8> {
        let shot = self.socket.call(
            "browsingContext.captureScreenshot",
            json!({"context": self.context}),
        );
        super::base64_decode(shot["data"].as_str().expect("screenshot data"))
    }
}
