//! The transport-fault rules file (`faults.toml`, beside printers.toml): which Graph and
//! upload/download requests fail or slow down, and how. The knobs are Microsoft Dev Proxy's
//! (failure rate, status, `Retry-After`, latency, throttling by a request budget per window),
//! plus deterministic triggers (every Nth request, a fixed sequence) so that tests stay exact
//! under concurrency. Every mistake is reported at its line and column.

use serde::{Deserialize, Serialize};
use std::ops::Range;
use toml::Spanned;

/// The statuses a rule may answer with: what Graph and its gateways send when they fail or
/// throttle, the ones clients are expected to handle.
pub const FAULT_STATUSES: [u16; 5] = [429, 500, 502, 503, 504];

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRules {
    /// Seed of the random rules' draws, so a run with `rate` rules can be repeated.
    #[serde(default)]
    pub seed: u64,
    #[serde(default, rename = "rule")]
    pub rules: Vec<FaultRule>,
}

/// One rule: the requests it matches, when it fires, and what it does then.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    pub name: String,
    /// HTTP methods (any when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
    /// A path pattern: `*` stands for one segment, `**` for any number of them
    /// (`/v1.0/print/**`, `/upload/*`).
    pub path: String,
    /// Fire on this fraction of matching requests (0 to 1), drawn from `seed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Fire on every Nth matching request (the Nth, 2Nth, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<u64>,
    /// Fire as this list says, one entry per matching request, cycling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<Vec<bool>>,
    /// Throttle: at most `requests` matching requests per `window_seconds` per token; the
    /// rest get 429 with `Retry-After` set to the rest of the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<Throttle>,
    /// When the rule fires: answer with this status (an OData error) instead of serving.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// `Retry-After` seconds sent with `status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u32>,
    /// Added latency in milliseconds: one number, or `[min, max]` for a uniform draw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<Latency>,
    /// Serve, but cut the connection after this many bytes of the response body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_after_bytes: Option<u64>,
    /// Serve the response body at this many bytes per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_bytes_per_second: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Throttle {
    pub requests: u32,
    pub window_seconds: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Latency {
    Fixed(u64),
    Between([u64; 2]),
}

/// A mistake in a rules file, at its place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct RulesError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// The file as written, each rule with its place, for the checks serde cannot make.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpannedFile {
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    rule: Vec<Spanned<FaultRule>>,
}

impl FaultRules {
    /// Reads a rules file's text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, RulesError> {
        let at = |span: Option<Range<usize>>, message: String| {
            let (line, column) = line_column(text, span.map_or(0, |s| s.start));
            RulesError {
                file: file.to_owned(),
                line,
                column,
                message,
            }
        };
        let parsed: SpannedFile =
            toml::from_str(text).map_err(|e| at(e.span(), e.message().to_owned()))?;
        let mut rules = Vec::with_capacity(parsed.rule.len());
        for rule in parsed.rule {
            let span = rule.span();
            let rule = rule.into_inner();
            rule.check().map_err(|message| {
                at(
                    Some(span.clone()),
                    format!("rule {:?}: {message}", rule.name),
                )
            })?;
            rules.push(rule);
        }
        Ok(Self {
            seed: parsed.seed,
            rules,
        })
    }
}

impl FaultRule {
    /// What serde cannot say: exactly one trigger, an effect, values in range.
    fn check(&self) -> Result<(), String> {
        if !self.path.starts_with('/') {
            return Err(format!("path {:?} must start with /", self.path));
        }
        for method in &self.methods {
            if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(format!(
                    "method {method:?} is not an HTTP method in capitals (GET, PUT, …)"
                ));
            }
        }
        let triggers = [
            self.rate.is_some(),
            self.every.is_some(),
            self.sequence.is_some(),
            self.throttle.is_some(),
        ];
        if triggers.iter().filter(|t| **t).count() > 1 {
            return Err("give one of rate, every, sequence or throttle, not several".into());
        }
        if let Some(rate) = self.rate
            && !(0.0..=1.0).contains(&rate)
        {
            return Err(format!("rate {rate} is not between 0 and 1"));
        }
        if self.every == Some(0) {
            return Err("every must be 1 or more".into());
        }
        if self.sequence.as_ref().is_some_and(Vec::is_empty) {
            return Err("sequence must not be empty".into());
        }
        if let Some(throttle) = self.throttle {
            if throttle.requests == 0 || throttle.window_seconds == 0 {
                return Err("throttle needs requests and window_seconds of 1 or more".into());
            }
            if self.status.is_some_and(|s| s != 429) || self.reset_after_bytes.is_some() {
                return Err(
                    "a throttle answers 429 itself: drop status and reset_after_bytes".into(),
                );
            }
        }
        if let Some(status) = self.status
            && !FAULT_STATUSES.contains(&status)
        {
            return Err(format!("status {status} is not one of {FAULT_STATUSES:?}"));
        }
        if self.retry_after.is_some() && self.status.is_none() {
            return Err("retry_after goes with a status".into());
        }
        if let Some(Latency::Between([min, max])) = self.latency_ms
            && min > max
        {
            return Err(format!(
                "latency_ms [{min}, {max}]: the first must not exceed the second"
            ));
        }
        if self.status.is_some()
            && (self.reset_after_bytes.is_some() || self.body_bytes_per_second.is_some())
        {
            return Err("a status answers without serving: drop reset_after_bytes and body_bytes_per_second".into());
        }
        if self.body_bytes_per_second == Some(0) {
            return Err("body_bytes_per_second must be 1 or more".into());
        }
        let effects = [
            self.throttle.is_some(),
            self.status.is_some(),
            self.latency_ms.is_some(),
            self.reset_after_bytes.is_some(),
            self.body_bytes_per_second.is_some(),
        ];
        if !effects.contains(&true) {
            return Err(
                "the rule does nothing: give status, latency_ms, reset_after_bytes, body_bytes_per_second or throttle"
                    .into(),
            );
        }
        Ok(())
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..text.floor_char_boundary(offset.min(text.len()))];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// The JSON Schema of the rules file, for editors (`printlab faults --schema`).
pub fn rules_schema() -> serde_json::Value {
    serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "printlab transport faults",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "seed": { "type": "integer", "minimum": 0, "description": "Seed of the rate rules' draws." },
            "rule": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["name", "path"],
                    "properties": {
                        "name": { "type": "string" },
                        "methods": { "type": "array", "items": { "type": "string", "pattern": "^[A-Z]+$" } },
                        "path": { "type": "string", "pattern": "^/", "description": "* is one segment, ** any number." },
                        "rate": { "type": "number", "minimum": 0, "maximum": 1 },
                        "every": { "type": "integer", "minimum": 1 },
                        "sequence": { "type": "array", "items": { "type": "boolean" }, "minItems": 1 },
                        "throttle": {
                            "type": "object",
                            "additionalProperties": false,
                            "required": ["requests", "window_seconds"],
                            "properties": {
                                "requests": { "type": "integer", "minimum": 1 },
                                "window_seconds": { "type": "integer", "minimum": 1 }
                            }
                        },
                        "status": { "enum": FAULT_STATUSES },
                        "retry_after": { "type": "integer", "minimum": 0 },
                        "latency_ms": {
                            "oneOf": [
                                { "type": "integer", "minimum": 0 },
                                { "type": "array", "items": { "type": "integer", "minimum": 0 }, "minItems": 2, "maxItems": 2 }
                            ]
                        },
                        "reset_after_bytes": { "type": "integer", "minimum": 0 },
                        "body_bytes_per_second": { "type": "integer", "minimum": 1 }
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_with_every_knob_reads_back() {
        let text = r#"
seed = 7

[[rule]]
name = "every third Graph call"
methods = ["GET", "POST"]
path = "/v1.0/**"
every = 3
status = 503
retry_after = 2

[[rule]]
name = "throttle"
path = "/v1.0/print/**"
throttle = { requests = 5, window_seconds = 10 }

[[rule]]
name = "slow downloads"
path = "/download/*"
rate = 0.5
latency_ms = [10, 50]
body_bytes_per_second = 65536
"#;
        let rules = FaultRules::parse(text, "faults.toml").unwrap();
        assert_eq!(rules.seed, 7);
        assert_eq!(rules.rules.len(), 3);
        assert_eq!(rules.rules[0].every, Some(3));
        assert_eq!(rules.rules[2].latency_ms, Some(Latency::Between([10, 50])));
    }

    #[test]
    fn mistakes_are_reported_at_their_line_and_column() {
        let cases = [
            (
                "[[rule]]\nname = \"x\"\npath = \"/v1.0/**\"\nstatus = 418\n",
                1,
                "status 418",
            ),
            (
                "seed = 1\n[[rule]]\nname = \"x\"\npath = \"v1.0\"\nstatus = 503\n",
                2,
                "must start with /",
            ),
            (
                "[[rule]]\nname = \"x\"\npath = \"/a\"\nevery = 2\nrate = 0.1\nstatus = 500\n",
                1,
                "not several",
            ),
            ("[[rule]]\nname = \"x\"\npath = \"/a\"\n", 1, "does nothing"),
            (
                "[[rule]]\nname = \"x\"\npath = \"/a\"\nstatuss = 500\n",
                4,
                "unknown field",
            ),
            (
                "[[rule]]\nname = \"x\"\npath = \"/a\"\nstatus = \"503\"\n",
                4,
                "invalid type",
            ),
        ];
        for (text, line, words) in cases {
            let error = FaultRules::parse(text, "faults.toml").unwrap_err();
            assert_eq!(error.line, line, "{error}");
            assert!(error.to_string().contains(words), "{error}");
            assert!(error.to_string().starts_with("faults.toml:"), "{error}");
        }
    }

    #[test]
    fn the_schema_names_every_field_of_a_rule() {
        let schema = rules_schema();
        let properties = &schema["properties"]["rule"]["items"]["properties"];
        let rule = serde_json::to_value(FaultRule {
            name: "n".into(),
            methods: vec!["GET".into()],
            path: "/".into(),
            rate: Some(0.5),
            every: Some(1),
            sequence: Some(vec![true]),
            throttle: Some(Throttle {
                requests: 1,
                window_seconds: 1,
            }),
            status: Some(503),
            retry_after: Some(1),
            latency_ms: Some(Latency::Fixed(1)),
            reset_after_bytes: Some(1),
            body_bytes_per_second: Some(1),
        })
        .unwrap();
        for key in rule.as_object().unwrap().keys() {
            assert!(properties.get(key).is_some(), "the schema lacks {key}");
        }
    }
}
