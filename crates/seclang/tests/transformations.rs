//! Data-driven tests for every registered transformation.
//!
//! 1. ModSecurity's own vectors (`<shared>/secrules-language-tests/
//!    transformations/*.json`), read the way libmodsecurity's unit-test
//!    runner reads them (see [`modsec_test_bytes`]), must all pass.
//! 2. The same vectors with embedded NULs kept must pass too, except the
//!    ones listed, with a reason, in `testdata/transformations/
//!    known-differences.json`.
//! 3. Our own files, `testdata/transformations/<name>.json`, Coraza style
//!    (`[{"input": …, "output": …, "comment": …}]`), where every JSON
//!    character U+0000..U+00FF stands for one byte, must all pass, and
//!    every registered transformation must have one.
//! 4. Random bytes through every transformation: no panic, and
//!    `Cow::Borrowed` exactly when the output equals the input.
//!
//! `shared` is the directory next to the repository root; the tests fail,
//! never skip, when it is missing.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use seclang::transformations::{lookup, Transformation, REGISTRY};
use serde_json::Value;

/// Spellings that are aliases of another registered transformation.
const ALIASES: &[(&str, &str)] = &[
    ("normalizePath", "normalisePath"),
    ("normalizePathWin", "normalisePathWin"),
];

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shared_dir() -> PathBuf {
    let dir = crate_dir().join("../../../shared");
    assert!(
        dir.is_dir(),
        "shared test data not found at {}: it must sit next to the repository root",
        dir.display()
    );
    dir
}

fn data_dir() -> PathBuf {
    crate_dir().join("testdata/transformations")
}

/// `*.json` files of `dir`, sorted.
fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no JSON files in {}", dir.display());
    files
}

fn read_json(path: &Path) -> Value {
    let text =
        fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: invalid JSON: {e}", path.display()))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// Bytes shown as a Rust byte string body: printable ASCII as is, the rest
/// escaped; long values are cut.
fn show(bytes: &[u8]) -> String {
    let mut s = String::new();
    for &b in bytes.iter().take(300) {
        match b {
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            0x20..=0x7e => s.push(b as char),
            _ => {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
    }
    if bytes.len() > 300 {
        let _ = write!(s, "… ({} bytes)", bytes.len());
    }
    s
}

/// Runs `t` and checks the registry contract; returns the output or a
/// description of the broken contract.
fn run(t: Transformation, input: &[u8]) -> Result<Vec<u8>, String> {
    let out = (t.apply)(input);
    match out {
        Cow::Borrowed(b) if b.as_ptr() != input.as_ptr() || b.len() != input.len() => {
            Err("returned a borrowed slice that is not the whole input".into())
        }
        Cow::Owned(ref v) if v == input => Err("returned Owned although nothing changed".into()),
        out => Ok(out.into_owned()),
    }
}

// ---------------------------------------------------------------------
// ModSecurity's vectors, read as libmodsecurity's unit-test runner does.
// ---------------------------------------------------------------------

/// Index of the first `\` `marker` followed by `digits` ASCII letters or
/// digits: the runner's regexes `\\x([a-z0-9A-Z]{2})` and
/// `\\u([a-z0-9A-Z]{4})`.
fn find_text_escape(s: &[u8], marker: u8, digits: usize) -> Option<usize> {
    (0..s.len()).find(|&i| {
        s[i] == b'\\'
            && s.get(i + 1) == Some(&marker)
            && s.get(i + 2..i + 2 + digits)
                .is_some_and(|d| d.iter().all(u8::is_ascii_alphanumeric))
    })
}

/// `sscanf(digits, "%x")`: the leading hex digits' value, `None` when
/// there is none (the runner then keeps its previous, stale value).
fn scan_hex(digits: &[u8]) -> Option<u32> {
    let n = digits.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if n == 0 {
        return None;
    }
    let text = std::str::from_utf8(&digits[..n]).ok()?;
    u32::from_str_radix(text, 16).ok()
}

/// The runner's `replaceAll`: every occurrence of `search` becomes `byte`,
/// searching again from the inserted byte.
fn replace_all(s: &mut Vec<u8>, search: &[u8], byte: u8) {
    let mut pos = 0;
    while let Some(k) = s
        .get(pos..)
        .and_then(|rest| rest.windows(search.len()).position(|w| w == search))
    {
        let at = pos + k;
        s.splice(at..at + search.len(), [byte]);
        pos = at;
    }
}

/// The runner's `json2bin`: first every `\xHH`, then every `\uHHHH` text
/// escape becomes one byte (the low byte of the value).
fn json2bin(s: &mut Vec<u8>) {
    let mut value: u32 = 0;
    for (marker, digits) in [(b'x', 2), (b'u', 4)] {
        while let Some(at) = find_text_escape(s, marker, digits) {
            let matched = s[at..at + 2 + digits].to_vec();
            value = scan_hex(&matched[2..]).unwrap_or(value);
            replace_all(s, &matched, value as u8);
        }
    }
}

/// The bytes libmodsecurity's unit-test runner hands to a transformation
/// for a JSON string of the vectors: YAJL gives UTF-8 bytes as a C string
/// (so a raw NUL, JSON `\u0000`, ends the value), then `json2bin` turns
/// the text escapes `\xHH` and `\uHHHH` into bytes. With `keep_nuls`, the
/// value is not cut at a raw NUL.
fn modsec_test_bytes(text: &str, keep_nuls: bool) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    if !keep_nuls {
        if let Some(nul) = bytes.iter().position(|&b| b == 0) {
            bytes.truncate(nul);
        }
    }
    json2bin(&mut bytes);
    bytes
}

/// Registered name for a vector's `name` (the runner also accepts
/// ModSecurity's internal spellings).
fn registered_name(vector_name: &str) -> &str {
    match vector_name {
        "cmd_line" => "cmdLine",
        "compress_whitespace" => "compressWhitespace",
        other => other,
    }
}

/// Runs every vector of the shared suite; returns `(file, index)` and a
/// message for each failure.
fn run_modsec_vectors(keep_nuls: bool) -> Vec<((String, usize), String)> {
    let dir = shared_dir().join("secrules-language-tests/transformations");
    let mut failures = Vec::new();
    let mut count = 0;
    for path in json_files(&dir) {
        let file = file_name(&path);
        let Value::Array(vectors) = read_json(&path) else {
            panic!("{file}: expected an array of vectors");
        };
        for (index, v) in vectors.iter().enumerate() {
            let field = |k: &str| {
                v.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_else(|| panic!("{file}[{index}]: missing string field {k:?}"))
            };
            let name = field("name");
            let Some(t) = lookup(registered_name(name)) else {
                failures.push((
                    (file.clone(), index),
                    format!("{file}[{index}]: no transformation {name:?}"),
                ));
                continue;
            };
            let input = modsec_test_bytes(field("input"), keep_nuls);
            let expected = modsec_test_bytes(field("output"), keep_nuls);
            count += 1;
            match run(t, &input) {
                Ok(got) if got == expected => {}
                Ok(got) => failures.push((
                    (file.clone(), index),
                    format!(
                        "{file}[{index}] t:{name}\n   input: b\"{}\"\n  expect: b\"{}\"\n     got: b\"{}\"",
                        show(&input),
                        show(&expected),
                        show(&got)
                    ),
                )),
                Err(contract) => failures.push((
                    (file.clone(), index),
                    format!("{file}[{index}] t:{name}: {contract}; input b\"{}\"", show(&input)),
                )),
            }
        }
    }
    assert!(
        count > 250,
        "only {count} vectors found in {}",
        dir.display()
    );
    failures
}

#[test]
fn modsecurity_vectors_pass_as_libmodsecurity_reads_them() {
    let failures = run_modsec_vectors(false);
    assert!(
        failures.is_empty(),
        "{} ModSecurity vector(s) failed:\n{}",
        failures.len(),
        failures
            .iter()
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// `(file, index)` of every vector listed in known-differences.json.
fn known_differences() -> BTreeSet<(String, usize)> {
    let path = data_dir().join("known-differences.json");
    let Value::Array(entries) = read_json(&path) else {
        panic!("{}: expected an array", path.display());
    };
    entries
        .iter()
        .map(|e| {
            let file = e.get("file").and_then(Value::as_str);
            let index = e.get("index").and_then(Value::as_u64);
            let reason = e.get("reason").and_then(Value::as_str);
            match (file, index, reason) {
                (Some(f), Some(i), Some(r)) if !r.trim().is_empty() => (f.to_string(), i as usize),
                _ => panic!(
                    "{}: each entry needs file, index and a reason: {e}",
                    path.display()
                ),
            }
        })
        .collect()
}

#[test]
fn modsecurity_vectors_pass_with_embedded_nuls_kept() {
    let known = known_differences();
    let failures = run_modsec_vectors(true);
    let failed: BTreeSet<(String, usize)> = failures.iter().map(|(k, _)| k.clone()).collect();
    let unexpected: Vec<&str> = failures
        .iter()
        .filter(|(k, _)| !known.contains(k))
        .map(|(_, m)| m.as_str())
        .collect();
    let stale: Vec<String> = known
        .difference(&failed)
        .map(|(f, i)| format!("{f}[{i}]"))
        .collect();
    assert!(
        unexpected.is_empty() && stale.is_empty(),
        "unexpected failures:\n{}\nlisted in known-differences.json but passing: {stale:?}",
        unexpected.join("\n")
    );
}

// ---------------------------------------------------------------------
// Our own data files.
// ---------------------------------------------------------------------

/// A JSON string of our data files as bytes: each character must be
/// U+0000..U+00FF and is one byte.
fn latin1_bytes(text: &str, what: &str) -> Vec<u8> {
    text.chars()
        .map(|c| {
            u8::try_from(u32::from(c)).unwrap_or_else(|_| {
                panic!("{what}: character {c:?} is above U+00FF; write bytes as \\u00XX")
            })
        })
        .collect()
}

#[test]
fn own_data_files_pass() {
    let mut failures = Vec::new();
    let mut covered = BTreeSet::new();
    let mut count = 0;
    for path in json_files(&data_dir()) {
        let file = file_name(&path);
        if file == "known-differences.json" {
            continue;
        }
        let name = file.trim_end_matches(".json");
        let t = REGISTRY
            .iter()
            .find(|t| t.name == name)
            .copied()
            .unwrap_or_else(|| panic!("{file}: no registered transformation named {name:?}"));
        covered.insert(t.name);
        let Value::Array(cases) = read_json(&path) else {
            panic!("{file}: expected an array of cases");
        };
        assert!(!cases.is_empty(), "{file}: no cases");
        for (index, case) in cases.iter().enumerate() {
            let what = format!("{file}[{index}]");
            let field = |k: &str| {
                case.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_else(|| panic!("{what}: missing string field {k:?}"))
            };
            let input = latin1_bytes(field("input"), &what);
            let expected = latin1_bytes(field("output"), &what);
            count += 1;
            match run(t, &input) {
                Ok(got) if got == expected => {}
                Ok(got) => failures.push(format!(
                    "{what} t:{name} ({})\n   input: b\"{}\"\n  expect: b\"{}\"\n     got: b\"{}\"",
                    case.get("comment").and_then(Value::as_str).unwrap_or(""),
                    show(&input),
                    show(&expected),
                    show(&got)
                )),
                Err(contract) => failures.push(format!("{what} t:{name}: {contract}")),
            }
            for &(alias, canonical) in ALIASES {
                if canonical == name {
                    let a = lookup(alias).unwrap_or_else(|| panic!("alias {alias} missing"));
                    if (a.apply)(&input) != (t.apply)(&input) {
                        failures.push(format!("{what}: t:{alias} differs from t:{canonical}"));
                    }
                }
            }
        }
    }
    let missing: Vec<&str> = REGISTRY
        .iter()
        .map(|t| t.name)
        .filter(|n| !covered.contains(n) && !ALIASES.iter().any(|(a, _)| a == n))
        .collect();
    assert!(count > 0, "no cases in {}", data_dir().display());
    assert!(
        failures.is_empty() && missing.is_empty(),
        "{} case(s) failed:\n{}\ntransformations without a data file: {missing:?}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_shared_vector_file_names_a_registered_transformation() {
    let dir = shared_dir().join("secrules-language-tests/transformations");
    for path in json_files(&dir) {
        let file = file_name(&path);
        let stem = file.trim_end_matches(".json");
        assert!(
            lookup(registered_name(stem)).is_some(),
            "{file}: t:{stem} is not implemented"
        );
    }
}

// ---------------------------------------------------------------------
// Totality and the Borrowed/Owned contract on random bytes.
// ---------------------------------------------------------------------

/// Bytes that the decoders react to, so random inputs reach deep paths.
const INTERESTING: &[u8] = b"%+uUxX\\&#;/.*-!<>\0\n\r\t \"'^,0123456789abcdefABCDEFfF=[]";

fn byte_soup() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        3 => proptest::sample::select(INTERESTING),
        1 => any::<u8>(),
        1 => 0x80u8..=0xff,
    ];
    proptest::collection::vec(byte, 0..600)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2500))]

    #[test]
    fn every_transformation_is_total_and_keeps_the_cow_contract(input in byte_soup()) {
        for t in REGISTRY {
            if let Err(contract) = run(*t, &input) {
                prop_assert!(false, "t:{}: {contract}; input b\"{}\"", t.name, show(&input));
            }
        }
    }
}

#[test]
fn long_inputs_are_handled() {
    let mut input = Vec::new();
    for i in 0..200_000u32 {
        input.push(INTERESTING[(i as usize * 7919) % INTERESTING.len()]);
        input.push((i % 256) as u8);
    }
    for t in REGISTRY {
        if let Err(contract) = run(*t, &input) {
            panic!("t:{}: {contract} on a {} byte input", t.name, input.len());
        }
    }
}
