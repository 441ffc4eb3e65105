//! The go-ftw test format (coreruleset/ftw-tests-schema) and how go-ftw
//! turns a stage's input into bytes on the wire.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize;

/// One YAML file: the tests of one rule.
#[derive(Debug, Clone, Deserialize)]
pub struct TestFile {
    #[serde(default)]
    pub rule_id: u32,
    #[serde(default)]
    pub tests: Vec<Test>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Test {
    pub test_id: u32,
    #[serde(default)]
    pub desc: Option<String>,
    pub stages: Vec<Stage>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Stage {
    pub input: Input,
    pub output: Output,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct Input {
    #[serde(default)]
    pub dest_addr: Option<String>,
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub uri: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    /// Header name → value; go-ftw writes them sorted by name.
    #[serde(default)]
    pub headers: Option<serde_yaml::Mapping>,
    #[serde(default)]
    pub data: Option<String>,
    #[serde(default)]
    pub encoded_request: Option<String>,
    #[serde(default)]
    pub autocomplete_headers: Option<bool>,
    #[serde(default)]
    pub save_cookie: Option<bool>,
}

/// Expected status: one code or any of several.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum StatusSpec {
    One(u16),
    Many(Vec<u16>),
}

impl StatusSpec {
    pub fn accepts(&self, status: u16) -> bool {
        match self {
            StatusSpec::One(s) => *s == status,
            StatusSpec::Many(v) => v.contains(&status),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct LogSpec {
    #[serde(default)]
    pub expect_ids: Vec<u32>,
    #[serde(default)]
    pub no_expect_ids: Vec<u32>,
    #[serde(default)]
    pub match_regex: Option<String>,
    #[serde(default)]
    pub no_match_regex: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct Output {
    #[serde(default)]
    pub status: Option<StatusSpec>,
    #[serde(default)]
    pub log: Option<LogSpec>,
    #[serde(default)]
    pub response_contains: Option<String>,
    #[serde(default)]
    pub expect_error: Option<bool>,
    #[serde(default)]
    pub retry_once: Option<bool>,
    /// Older form of `log.expect_ids`.
    #[serde(default)]
    pub log_contains: Option<String>,
    #[serde(default)]
    pub no_log_contains: Option<String>,
}

/// A test with where it came from.
#[derive(Debug, Clone)]
pub struct Case {
    pub rule_id: u32,
    pub file: PathBuf,
    pub test: Test,
}

/// Reads every `*.yaml` under `dir`, sorted by path.
pub fn load_suite(dir: &Path) -> Result<Vec<Case>, String> {
    let mut files = Vec::new();
    collect_yaml(dir, &mut files).map_err(|e| format!("{}: {e}", dir.display()))?;
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        // A file whose content is all comments holds no tests.
        if text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            continue;
        }
        let tf: TestFile =
            serde_yaml::from_str(&text).map_err(|e| format!("{}: {e}", f.display()))?;
        for t in tf.tests {
            out.push(Case {
                rule_id: tf.rule_id,
                file: f.clone(),
                test: t,
            });
        }
    }
    Ok(out)
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            collect_yaml(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
    Ok(())
}

fn scalar(v: &serde_yaml::Value) -> String {
    match v {
        serde_yaml::Value::String(s) => s.clone(),
        serde_yaml::Value::Number(n) => n.to_string(),
        serde_yaml::Value::Bool(b) => b.to_string(),
        serde_yaml::Value::Null => String::new(),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// The bytes go-ftw sends for `input`.
pub fn build_request(input: &Input) -> Result<Vec<u8>, String> {
    if let Some(enc) = &input.encoded_request {
        let cleaned: String = enc.chars().filter(|c| !c.is_whitespace()).collect();
        return base64::engine::general_purpose::STANDARD
            .decode(cleaned)
            .map_err(|e| format!("encoded_request is not base64: {e}"));
    }
    let method = input.method.clone().unwrap_or_else(|| "GET".into());
    let uri = input.uri.clone().unwrap_or_else(|| "/".into());
    let version = input.version.clone().unwrap_or_else(|| "HTTP/1.1".into());
    let autocomplete = input.autocomplete_headers.unwrap_or(true);
    // go-ftw keeps one value per exact (case-sensitive) name.
    let mut headers: Vec<(String, String)> = Vec::new();
    if let Some(map) = &input.headers {
        for (k, v) in map {
            let k = scalar(k);
            let v = scalar(v);
            if let Some(slot) = headers.iter_mut().find(|(n, _)| *n == k) {
                slot.1 = v;
            } else {
                headers.push((k, v));
            }
        }
    }
    let get = |h: &Vec<(String, String)>, name: &str| {
        h.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    };
    let add = |h: &mut Vec<(String, String)>, name: &str, value: String| {
        if get(h, name).is_none_or(|v| v.is_empty()) {
            h.retain(|(k, _)| k != name);
            h.push((name.to_string(), value));
        }
    };
    let mut data: Vec<u8> = expand_repeat(&input.data.clone().unwrap_or_default()).into_bytes();
    if !data.is_empty() && autocomplete {
        add(
            &mut headers,
            "Content-Type",
            "application/x-www-form-urlencoded".into(),
        );
        if get(&headers, "Content-Type").as_deref() == Some("application/x-www-form-urlencoded") {
            data = encode_form(&data);
        }
    }
    if get(&headers, "Content-Type").is_some_and(|ct| ct.starts_with("multipart/form-data;")) {
        let mut crlf = Vec::with_capacity(data.len() + 16);
        for b in data {
            if b == b'\n' {
                crlf.extend_from_slice(b"\r\n");
            } else {
                crlf.push(b);
            }
        }
        data = crlf;
    }
    if autocomplete {
        add(&mut headers, "Connection", "close".into());
        let body_method = method.starts_with("POST")
            || method.contains("PUT")
            || method.contains("PATCH")
            || method.ends_with("DELETE");
        if !data.is_empty() || body_method {
            add(&mut headers, "Content-Length", data.len().to_string());
        }
    }
    headers.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = format!("{method} {uri} {version}\r\n").into_bytes();
    for (k, v) in &headers {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&data);
    Ok(out)
}

/// go-ftw's form encoding: when the data is not already percent-encoded
/// (unescaping changes nothing), each key and value is query-escaped.
/// go-ftw runs `data` through Go templates with sprig; the suite uses
/// one function, `{{ "S" | repeat N }}`, to build large bodies. Only that
/// exact form is expanded: anything else in braces is payload.
fn expand_repeat(data: &str) -> String {
    let mut out = String::with_capacity(data.len());
    let mut rest = data;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        let inner = rest[start + 2..start + len].trim();
        let parsed = inner
            .strip_prefix('"')
            .and_then(|s| s.split_once('"'))
            .and_then(|(text, tail)| {
                let n = tail
                    .trim()
                    .strip_prefix('|')?
                    .trim()
                    .strip_prefix("repeat")?;
                Some((text, n.trim().parse::<usize>().ok()?))
            });
        out.push_str(&rest[..start]);
        match parsed {
            Some((text, n)) => out.push_str(&text.repeat(n)),
            None => out.push_str(&rest[start..start + len + 2]),
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

fn encode_form(data: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(data);
    match query_unescape(&text) {
        Some(u) if u == text => {}
        _ => return data.to_vec(),
    }
    let mut parts = Vec::new();
    for token in text.split('&') {
        match token.split_once('=') {
            Some((k, v)) => parts.push(format!("{}={}", query_escape(k), query_escape(v))),
            None => parts.push(query_escape(token)),
        }
    }
    parts.join("&").into_bytes()
}

/// Go's `url.QueryUnescape`: `None` on a malformed escape.
fn query_unescape(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let h = b.get(i + 1).and_then(|c| (*c as char).to_digit(16))?;
                let l = b.get(i + 2).and_then(|c| (*c as char).to_digit(16))?;
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Go's `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(c as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{c:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeat_templates_expand_and_payloads_stay() {
        assert_eq!(expand_repeat("a{{ \"1\" | repeat 3 }}b"), "a111b");
        assert_eq!(
            expand_repeat("{{constructor.constructor('alert(1)')()}}"),
            "{{constructor.constructor('alert(1)')()}}"
        );
        assert_eq!(expand_repeat("x{{"), "x{{");
    }

    #[test]
    fn builds_like_go_ftw() {
        let input: Input = serde_yaml::from_str(
            "method: POST\nuri: /x\nheaders:\n  Host: localhost\n  User-Agent: t\ndata: a=b c&d=<e>\n",
        )
        .unwrap();
        let raw = String::from_utf8(build_request(&input).unwrap()).unwrap();
        assert_eq!(
            raw,
            "POST /x HTTP/1.1\r\nConnection: close\r\nContent-Length: 15\r\nContent-Type: application/x-www-form-urlencoded\r\nHost: localhost\r\nUser-Agent: t\r\n\r\na=b+c&d=%3Ce%3E"
        );
        let input: Input =
            serde_yaml::from_str("encoded_request: R0VUIC8gSFRUUC8xLjENCg0K\n").unwrap();
        assert_eq!(build_request(&input).unwrap(), b"GET / HTTP/1.1\r\n\r\n");
    }
}
