//! End-to-end tests of the operator registry against real data:
//!
//! 1. ModSecurity's operator vectors (`<shared>/secrules-language-tests/
//!    operators/*.json`), decoded the way ModSecurity's own unit runner
//!    decodes them, with documented differences in
//!    `testdata/operators/known-differences.json`;
//! 2. our own vectors, `testdata/operators/<operator>.json`;
//! 3. every operator of the OWASP CRS 4.28.0 rules, built from the rule
//!    files, and every phrase of every CRS data file.
//!
//! Third-party data is read from `shared/` next to the repository, never
//! copied into it; a missing `shared/` fails loudly.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use seclang::macros::MacroSource;
use seclang::operators::{self, BuildContext, Captures, OpContext, Operator};
use serde_json::Value;

/// Operators that Rampart deliberately does not implement; the rule parser
/// reports them as unsupported.
const NOT_IMPLEMENTED: &[&str] = &[
    "rbl",
    "geolookup",
    "inspectfile",
    "fuzzyhash",
    "validatedtd",
    "validateschema",
];

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `shared/`, the sibling of the repository root (two levels above the
/// crate).
fn shared_dir() -> PathBuf {
    let dir = crate_dir().join("../../../shared");
    assert!(
        dir.is_dir(),
        "third-party test data missing: expected {} (the `shared` directory next to the repository)",
        dir.display()
    );
    dir
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: bad JSON: {e}", path.display()))
}

/// Values for macros, keyed `COLLECTION` or `COLLECTION.key` (collection
/// upper-case, key lower-case: lookups are case-insensitive on keys).
#[derive(Default)]
struct Macros(BTreeMap<String, Vec<u8>>);

impl MacroSource for Macros {
    fn lookup(&self, collection: &str, key: Option<&str>) -> Option<Cow<'_, [u8]>> {
        let name = match key {
            Some(key) => format!("{collection}.{}", key.to_ascii_lowercase()),
            None => collection.to_string(),
        };
        self.0.get(&name).map(|v| Cow::Borrowed(v.as_slice()))
    }
}

/// Evaluates once without and once with capturing; both must agree on the
/// result. Returns the result and the captures of the capturing run.
fn run(op: &dyn Operator, macros: &Macros, input: &[u8]) -> (bool, Captures) {
    let plain = op.evaluate(
        &mut OpContext {
            macros,
            captures: None,
        },
        input,
    );
    let mut captures = Captures::default();
    let capturing = op.evaluate(
        &mut OpContext {
            macros,
            captures: Some(&mut captures),
        },
        input,
    );
    assert_eq!(
        plain, capturing,
        "{op:?}: result differs with and without capture on {input:?}"
    );
    (plain, captures)
}

fn show(bytes: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(bytes))
}

// ---------------------------------------------------------------------------
// 1. ModSecurity's vectors
// ---------------------------------------------------------------------------

/// The input as ModSecurity's unit runner sees it: YAJL hands it over as a
/// C string (so it ends at the first NUL), then `json2bin` turns each
/// literal `\xHH` and `\uHHHH` escape into one byte.
fn modsecurity_input(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let bytes = &bytes[..bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len())];
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escape = |len: usize| {
            let digits = bytes.get(i + 2..i + 2 + len)?;
            if bytes[i + 1] != if len == 2 { b'x' } else { b'u' } {
                return None;
            }
            let digits = std::str::from_utf8(digits).ok()?;
            u32::from_str_radix(digits, 16)
                .ok()
                .map(|v| (v & 0xFF) as u8)
        };
        if bytes[i] == b'\\' && i + 1 < bytes.len() {
            if let Some(byte) = escape(2) {
                out.push(byte);
                i += 4;
                continue;
            }
            if let Some(byte) = escape(4) {
                out.push(byte);
                i += 6;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// A documented difference from a ModSecurity vector.
struct KnownDifference {
    file: String,
    name: String,
    param: String,
    input: String,
    /// What Rampart does instead: `build_error`, `ret`, or `re_groups`.
    expect: Value,
    used: std::cell::Cell<bool>,
}

fn known_differences() -> Vec<KnownDifference> {
    let path = crate_dir().join("testdata/operators/known-differences.json");
    let Value::Array(entries) = read_json(&path) else {
        panic!("{}: expected an array", path.display());
    };
    entries
        .iter()
        .map(|e| {
            let field = |k: &str| {
                e[k].as_str()
                    .unwrap_or_else(|| panic!("entry without {k}: {e}"))
            };
            assert!(
                !field("reason").is_empty(),
                "known difference without a reason: {e}"
            );
            KnownDifference {
                file: field("file").to_string(),
                name: field("name").to_string(),
                param: field("param").to_string(),
                input: field("input").to_string(),
                expect: e["expect"].clone(),
                used: std::cell::Cell::new(false),
            }
        })
        .collect()
}

#[test]
fn modsecurity_operator_vectors() {
    let dir = shared_dir().join("secrules-language-tests/operators");
    assert!(dir.is_dir(), "missing {}", dir.display());
    let cx = BuildContext {
        base_dir: dir.clone(),
    };
    let differences = known_differences();
    let macros = Macros::default();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read operators dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() > 20,
        "too few vector files in {}",
        dir.display()
    );

    let (mut checked, mut skipped) = (0, 0);
    let mut failures = Vec::new();
    for path in &files {
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let Value::Array(vectors) = read_json(path) else {
            panic!("{file}: expected an array");
        };
        for vector in &vectors {
            let name = vector["name"].as_str().expect("name");
            if NOT_IMPLEMENTED.contains(&name.to_ascii_lowercase().as_str()) {
                skipped += 1;
                continue;
            }
            let raw_param = vector["param"].as_str().unwrap_or("");
            let param = raw_param
                .strip_prefix("test-cases/secrules-language-tests/operators/")
                .unwrap_or(raw_param);
            let raw_input = vector["input"].as_str().expect("input");
            let input = modsecurity_input(raw_input);
            let want_ret = vector["ret"].as_i64().expect("ret") == 1;
            let want_groups: Option<Vec<Vec<u8>>> = vector.get("re_groups").map(|g| {
                g.as_array()
                    .expect("re_groups array")
                    .iter()
                    .map(|s| s.as_str().expect("group").as_bytes().to_vec())
                    .collect()
            });
            let label = format!("{file}: @{name} {raw_param:?} on {raw_input:?}");
            checked += 1;

            let difference = differences.iter().find(|d| {
                d.file == file && d.name == name && d.param == raw_param && d.input == raw_input
            });
            let built = operators::build(name, param, &cx);
            if let Some(difference) = difference {
                difference.used.set(true);
                let expect = &difference.expect;
                if expect.get("build_error").is_some() {
                    if built.is_ok() {
                        failures.push(format!("{label}: documented as a load error, but it built"));
                    }
                    continue;
                }
                let op = match built {
                    Ok(op) => op,
                    Err(e) => {
                        failures.push(format!("{label}: failed to build: {e}"));
                        continue;
                    }
                };
                let (got, captures) = run(op.as_ref(), &macros, &input);
                if let Some(ret) = expect.get("ret") {
                    if got != (ret.as_i64() == Some(1)) {
                        failures.push(format!("{label}: documented ret {ret}, got {got}"));
                    }
                }
                if let Some(groups) = expect.get("re_groups") {
                    let groups: Vec<Vec<u8>> = groups
                        .as_array()
                        .expect("re_groups")
                        .iter()
                        .map(|s| s.as_str().expect("group").as_bytes().to_vec())
                        .collect();
                    if captures.groups != groups {
                        failures.push(format!(
                            "{label}: documented groups {groups:?}, got {:?}",
                            captures.groups
                        ));
                    }
                }
                continue;
            }

            let op = match built {
                Ok(op) => op,
                Err(e) => {
                    failures.push(format!("{label}: failed to build: {e}"));
                    continue;
                }
            };
            let (got, captures) = run(op.as_ref(), &macros, &input);
            if got != want_ret {
                failures.push(format!("{label}: want {want_ret}, got {got}"));
            }
            if let Some(groups) = want_groups {
                if captures.groups != groups {
                    failures.push(format!(
                        "{label}: want groups {:?}, got {:?}",
                        groups.iter().map(|g| show(g)).collect::<Vec<_>>(),
                        captures.groups.iter().map(|g| show(g)).collect::<Vec<_>>()
                    ));
                }
            }
        }
    }
    for difference in &differences {
        if !difference.used.get() {
            failures.push(format!(
                "stale known difference (no such vector): {} @{} {:?} on {:?}",
                difference.file, difference.name, difference.param, difference.input
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} ModSecurity vectors failed ({skipped} skipped as not implemented):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 3000, "only {checked} vectors checked");
}

// ---------------------------------------------------------------------------
// 2. Our own vectors
// ---------------------------------------------------------------------------

/// One case of `testdata/operators/<operator>.json`.
///
/// Fields: `param`; `input` (text) or `input_hex` (raw bytes); `ret` (0/1);
/// optional `name` (overrides the file's operator, for aliases), `macros`
/// (`{"TX.allowed_methods": "GET POST"}`), `captures` (expected `TX.0`..,
/// text or `{"hex": ".."}`), `build_error` (a substring of the expected
/// load error, instead of `input`/`ret`), `note`.
#[test]
fn rampart_operator_vectors() {
    let dir = crate_dir().join("testdata/operators");
    let cx = BuildContext {
        base_dir: dir.join("data"),
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read testdata/operators")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "json")
                && p.file_stem().is_some_and(|s| s != "known-differences")
        })
        .collect();
    files.sort();

    let mut covered = BTreeSet::new();
    let mut failures = Vec::new();
    let mut checked = 0;
    for path in &files {
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let Value::Array(cases) = read_json(path) else {
            panic!("{stem}.json: expected an array");
        };
        for (index, case) in cases.iter().enumerate() {
            checked += 1;
            let name = case["name"].as_str().unwrap_or(&stem);
            covered.insert(name.to_ascii_lowercase());
            let param = case["param"].as_str().unwrap_or("");
            let label = format!("{stem}.json #{index}: @{name} {param:?}");
            let built = operators::build(name, param, &cx);
            if let Some(expected) = case.get("build_error") {
                let expected = expected.as_str().expect("build_error text");
                match built {
                    Ok(_) => failures.push(format!("{label}: built, want error {expected:?}")),
                    Err(e) => {
                        if !e.contains(expected) {
                            failures.push(format!("{label}: error {e:?} lacks {expected:?}"));
                        }
                        if e.contains('\n') {
                            failures.push(format!("{label}: error is not one line: {e:?}"));
                        }
                    }
                }
                continue;
            }
            let op = match built {
                Ok(op) => op,
                Err(e) => {
                    failures.push(format!("{label}: failed to build: {e}"));
                    continue;
                }
            };
            let input = match (case.get("input"), case.get("input_hex")) {
                (Some(text), None) => text.as_str().expect("input text").as_bytes().to_vec(),
                (None, Some(hex)) => decode_hex(hex.as_str().expect("input_hex text")),
                _ => panic!("{label}: give exactly one of input / input_hex"),
            };
            let mut macros = Macros::default();
            if let Some(Value::Object(values)) = case.get("macros") {
                for (key, value) in values {
                    let (collection, key) = match key.split_once('.') {
                        Some((c, k)) => (c.to_ascii_uppercase(), Some(k.to_ascii_lowercase())),
                        None => (key.to_ascii_uppercase(), None),
                    };
                    let name = key.map_or(collection.clone(), |k| format!("{collection}.{k}"));
                    macros.0.insert(
                        name,
                        value.as_str().expect("macro value").as_bytes().to_vec(),
                    );
                }
            }
            let want = case["ret"]
                .as_i64()
                .unwrap_or_else(|| panic!("{label}: no ret"))
                == 1;
            let (got, captures) = run(op.as_ref(), &macros, &input);
            if got != want {
                failures.push(format!(
                    "{label} on {}: want {want}, got {got}",
                    show(&input)
                ));
            }
            if let Some(Value::Array(expected)) = case.get("captures") {
                let expected: Vec<Vec<u8>> = expected
                    .iter()
                    .map(|v| match v {
                        Value::String(s) => s.as_bytes().to_vec(),
                        Value::Object(o) => decode_hex(o["hex"].as_str().expect("hex")),
                        other => panic!("{label}: bad capture {other}"),
                    })
                    .collect();
                if captures.groups != expected {
                    failures.push(format!(
                        "{label} on {}: want captures {:?}, got {:?}",
                        show(&input),
                        expected.iter().map(|g| show(g)).collect::<Vec<_>>(),
                        captures.groups.iter().map(|g| show(g)).collect::<Vec<_>>()
                    ));
                }
            }
        }
    }
    let registered: BTreeSet<String> = operators::REGISTRY
        .iter()
        .map(|e| e.name.to_ascii_lowercase())
        .collect();
    let uncovered: Vec<_> = registered.difference(&covered).collect();
    if !uncovered.is_empty() {
        failures.push(format!("operators without own vectors: {uncovered:?}"));
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} Rampart vectors failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn decode_hex(hex: &str) -> Vec<u8> {
    let hex: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert!(matches!(hex.len() % 2, 0), "odd hex length: {hex:?}");
    hex.chunks(2)
        .map(|pair| {
            u8::from_str_radix(std::str::from_utf8(pair).expect("hex"), 16).expect("hex digit")
        })
        .collect()
}

#[test]
fn unknown_operator_is_a_one_line_error() {
    let err = operators::build("nosuchop", "x", &BuildContext::default()).unwrap_err();
    assert_eq!(err, "unknown operator @nosuchop");
    let err = operators::build("rx", "(unclosed", &BuildContext::default()).unwrap_err();
    assert!(err.starts_with("@rx: ") && !err.contains('\n'), "{err}");
}

// ---------------------------------------------------------------------------
// 3. The OWASP CRS
// ---------------------------------------------------------------------------

fn crs_rules_dir() -> PathBuf {
    let dir = shared_dir().join("crs-4.28.0/rules");
    assert!(dir.is_dir(), "missing {}", dir.display());
    dir
}

/// One `SecRule`'s operator, as written in a CRS file.
struct CrsOperator {
    file: String,
    /// The rule's `id:` (0 for a chained rule, which has none).
    id: u32,
    name: String,
    param: String,
}

/// Scans the CRS rule files for `SecRule TARGETS "OPERATOR" ...`: joins
/// continuation lines, takes the first double-quoted argument after the
/// targets, and splits it into `@name` and parameter (ModSecurity keeps
/// `\"` and other escapes in the parameter as written).
fn crs_operators() -> Vec<CrsOperator> {
    let mut found = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(crs_rules_dir())
        .expect("read CRS rules")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    paths.sort();
    for path in paths {
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&path).expect("read conf");
        let joined = text.replace("\\\r\n", "").replace("\\\n", "");
        for line in joined.lines() {
            let line = line.trim_start();
            let Some(rest) = line.strip_prefix("SecRule ") else {
                continue;
            };
            let rest = rest.trim_start();
            // Targets end at the first unquoted space.
            let Some(space) = rest.find(' ') else {
                continue;
            };
            let rest = rest[space..].trim_start();
            let Some(body) = rest.strip_prefix('"') else {
                panic!("{file}: unquoted operator in: {line}");
            };
            let mut operator = String::new();
            let mut chars = body.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        operator.push(c);
                        if let Some(next) = chars.next() {
                            operator.push(next);
                        }
                    }
                    '"' => break,
                    _ => operator.push(c),
                }
            }
            let actions = chars.as_str();
            let id = actions
                .find("id:")
                .map(|at| {
                    let digits: String = actions[at + 3..]
                        .chars()
                        .take_while(char::is_ascii_digit)
                        .collect();
                    digits.parse().unwrap_or(0)
                })
                .unwrap_or(0);
            let operator = operator.strip_prefix('!').unwrap_or(&operator);
            let (name, param) = match operator.strip_prefix('@') {
                Some(spec) => match spec.split_once(' ') {
                    Some((name, param)) => (name.to_string(), param.to_string()),
                    None => (spec.to_string(), String::new()),
                },
                None => ("rx".to_string(), operator.to_string()),
            };
            found.push(CrsOperator {
                file: file.clone(),
                id,
                name,
                param,
            });
        }
    }
    found
}

#[test]
fn every_crs_operator_builds_and_every_regex_is_linear_time() {
    let operators = crs_operators();
    let cx = BuildContext {
        base_dir: crs_rules_dir(),
    };
    let mut counts = BTreeMap::<String, usize>::new();
    let mut failures = Vec::new();
    for op in &operators {
        *counts.entry(op.name.clone()).or_default() += 1;
        if NOT_IMPLEMENTED.contains(&op.name.to_ascii_lowercase().as_str()) {
            continue;
        }
        if op.name == "rx" {
            match seclang::operators::rx::Rx::new(&op.param, &cx) {
                Ok(rx) => {
                    if rx.pattern() != Some(op.param.as_str()) {
                        failures.push(format!("{}: pattern text not kept", op.file));
                    }
                    if rx.compiled().is_some_and(|p| !p.is_linear_time()) {
                        failures.push(format!(
                            "{}: @rx needs the backtracking engine: {}",
                            op.file, op.param
                        ));
                    }
                }
                Err(e) => failures.push(format!("{}: @rx {}: {e}", op.file, op.param)),
            }
        }
        if let Err(e) = operators::build(&op.name, &op.param, &cx) {
            failures.push(format!("{}: @{} {}: {e}", op.file, op.name, op.param));
        }
    }
    assert!(
        failures.is_empty(),
        "CRS operators failed:\n{}",
        failures.join("\n")
    );
    assert!(
        counts.get("rx").copied().unwrap_or(0) > 300,
        "too few @rx: {counts:?}"
    );
    assert!(
        counts.get("pmFromFile").copied().unwrap_or(0) >= 20,
        "{counts:?}"
    );
    assert!(counts.get("pm").copied().unwrap_or(0) >= 10, "{counts:?}");
}

#[test]
fn crs_rules_match_what_they_are_written_for() {
    // A few CRS rules, each with an attack and a benign value (after the
    // rule's transformations), through the registry, as written in the
    // rule files.
    let operators = crs_operators();
    let cx = BuildContext {
        base_dir: crs_rules_dir(),
    };
    let mut macros = Macros::default();
    macros.0.insert(
        "TX.allowed_methods".into(),
        b"GET HEAD POST OPTIONS".to_vec(),
    );
    let cases: &[(u32, &[u8], &[u8])] = &[
        // @rx (?i:sleep\s*?\(.*?\)|benchmark...)
        (942160, b"1 and sleep(5)", b"good night"),
        // @rx with \x{bc}/\x{be}: single bytes, not UTF-8 characters.
        (941310, b"\xbcscript\xbealert(1)", "\u{bc}script".as_bytes()),
        // @pmFromFile lfi-os-files.data
        (930120, b"/etc/passwd", b"/about/us"),
        // @detectSQLi and @detectXSS
        (942100, b"1' or '1'='1", b"O'Reilly"),
        (941100, b"<script>alert(1)</script>", b"a < b"),
        // @validateByteRange 1-255
        (920270, b"a\x00b", b"caf\xc3\xa9"),
        // @within %{tx.allowed_methods}, negated in the rule: a listed
        // method is within the list.
        (911100, b"GET", b"DELETE"),
        // @ipMatch 127.0.0.1,::1
        (905110, b"::1", b"10.0.0.1"),
    ];
    for (id, hit, miss) in cases {
        let spec = operators
            .iter()
            .find(|op| op.id == *id)
            .unwrap_or_else(|| panic!("no CRS rule {id}"));
        let op =
            operators::build(&spec.name, &spec.param, &cx).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert!(
            run(op.as_ref(), &macros, hit).0,
            "{id} @{}: {} not matched",
            spec.name,
            show(hit)
        );
        assert!(
            !run(op.as_ref(), &macros, miss).0,
            "{id} @{}: {} matched",
            spec.name,
            show(miss)
        );
    }
}

#[test]
fn every_crs_data_file_builds_and_each_phrase_matches_itself() {
    let dir = crs_rules_dir();
    let cx = BuildContext {
        base_dir: dir.clone(),
    };
    let used: BTreeSet<String> = crs_operators()
        .into_iter()
        .filter(|op| op.name == "pmFromFile")
        .map(|op| op.param)
        .collect();
    assert!(used.len() >= 15, "too few CRS data files: {used:?}");
    let macros = Macros::default();
    for file in used {
        let op = operators::pm_from_file::PmFromFile::new(&file, &cx)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let phrases = op.phrases().phrases().to_vec();
        assert!(!phrases.is_empty(), "{file}: no phrases");
        let text = std::fs::read(dir.join(&file)).expect("data file");
        let lines = text
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty() && !l.trim_ascii_start().starts_with(b"#"))
            .count();
        assert_eq!(phrases.len(), lines, "{file}: phrase count");
        for phrase in &phrases {
            let wrapped = [b"xx ".as_slice(), phrase, b" yy"].concat();
            let (hit, captures) = run(&op, &macros, &wrapped);
            assert!(hit, "{file}: {} does not match itself", show(phrase));
            assert_eq!(captures.groups.len(), 1, "{file}: TX.0 not set");
            let upper = wrapped.to_ascii_uppercase();
            assert!(
                run(&op, &macros, &upper).0,
                "{file}: {} upper-case",
                show(phrase)
            );
        }
    }
}
