//! `rampart vault` through the real binary: round trips, errors and exit
//! codes, `kill -9` in the middle of a tokenization storm and of a
//! rotation, and no card number in any form on disk or in a PostgreSQL
//! dump.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;

mod common;
use common::pan_scan::{assert_no_card, scan_dir};

const BIN: &str = env!("CARGO_BIN_EXE_rampart");

/// Runs `rampart ARGS` with `stdin`; returns (status, stdout, stderr).
fn rampart(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("RAMPART_VAULT_KEYS")
        .env_remove("RAMPART_VAULT_KEY_FILE")
        .env_remove("RAMPART_DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let text = stdin.to_string();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(text.as_bytes());
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn luhn_check_digit(body: &str) -> char {
    let mut sum = 0;
    for (i, c) in body.bytes().rev().enumerate() {
        let mut v = u32::from(c - b'0');
        if i % 2 == 0 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    char::from(b'0' + ((10 - sum % 10) % 10) as u8)
}

/// A distinct Luhn-valid card number for each `i`.
fn pan(i: usize) -> String {
    let body = format!("4{:014}", i * 7919 + 1_000_003);
    format!("{body}{}", luhn_check_digit(&body))
}

fn card_line(i: usize) -> String {
    format!("{}|{:02}/{}|Holder {i}", pan(i), i % 12 + 1, 30 + i % 7)
}

fn keys_and_data(dir: &Path) -> (String, String) {
    let keys = dir.join("vault.keys");
    let (code, out, err) = rampart(&["vault", "keygen", keys.to_str().unwrap()], "");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("key version 1 is active"), "{out}");
    (
        keys.to_str().unwrap().to_string(),
        dir.join("data").to_str().unwrap().to_string(),
    )
}

/// The forms a card number can take in a file: plain, spaced, dashed,
/// hex, and base64 at each alignment.
#[test]
fn the_scan_finds_what_is_there() {
    let p = pan(5);
    let spaced: String = p
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    for text in [
        format!("x{p}y"),
        format!("card: {spaced}."),
        base64::engine::general_purpose::STANDARD.encode(format!("{{\"pan\":\"{p}\"}}")),
        base64::engine::general_purpose::STANDARD.encode(format!("a{p}")),
    ] {
        let found = std::panic::catch_unwind(|| {
            assert_no_card("probe", text.as_bytes(), std::slice::from_ref(&p))
        });
        assert!(found.is_err(), "missed {text}");
    }
}

#[test]
fn round_trip_and_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, data) = keys_and_data(dir.path());
    let v = |cmd: &'static str| vec!["vault", cmd, "--data", &data, "--key-file", &keys];

    let input =
        "4111 1111 1111 1111|12/29|Jane Doe\n\n5555-5555-5555-4444\t01/31\t\n378282246310005\n";
    let (code, out, err) = rampart(&v("tokenize"), input);
    assert_eq!(code, 0, "{err}");
    let tokens: Vec<&str> = out.lines().collect();
    assert_eq!(tokens.len(), 3, "{out}");
    assert!(
        tokens[0].starts_with("411111") && tokens[0].ends_with("1111") && tokens[0].len() == 16
    );
    assert!(
        tokens[2].starts_with("378282") && tokens[2].ends_with("0005") && tokens[2].len() == 15
    );

    let mut args = v("detokenize");
    args.extend(tokens.iter().copied());
    let (code, out, err) = rampart(&args, "");
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "4111111111111111|12/29|Jane Doe\n5555555555554444|01/31|\n378282246310005||\n"
    );
    // From stdin too.
    let (code, out2, _) = rampart(&v("detokenize"), &format!("{}\n", tokens.join("\n")));
    assert_eq!((code, out2), (0, out));

    // A bad line: the lines before it are stored and printed, then a one-
    // line error without the number, exit 2.
    let (code, out, err) = rampart(
        &v("tokenize"),
        "6011111111111117|02/30|A\n6011111111111118|02/30|B\n4111111111111111\n",
    );
    assert_eq!(code, 2);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert_eq!(
        err.trim(),
        "rampart: line 2: invalid card: the card number fails the Luhn check"
    );
    let (code, back, _) = rampart(&[&v("detokenize")[..], &[out.trim()]].concat(), "");
    assert_eq!((code, back.as_str()), (0, "6011111111111117|02/30|A\n"));

    // Unknown token: exit 1, nothing printed even for the good ones.
    let (code, out, err) = rampart(
        &[&v("detokenize")[..], &[tokens[0], "4111110000001112"]].concat(),
        "",
    );
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err.trim(), "rampart: unknown token 4111110000001112");
    // A card number where a token belongs: exit 2, not echoed.
    let (code, _, err) = rampart(&[&v("detokenize")[..], &["4111111111111111"]].concat(), "");
    assert_eq!(code, 2);
    assert!(
        err.contains("card number, not a token") && !err.contains("4111111111111111"),
        "{err}"
    );

    // Wrong key file: exit 2, a clear line.
    let other = dir.path().join("other.keys");
    rampart(&["vault", "keygen", other.to_str().unwrap()], "");
    let (code, out, err) = rampart(
        &[
            "vault",
            "detokenize",
            "--data",
            &data,
            "--key-file",
            other.to_str().unwrap(),
            tokens[0],
        ],
        "",
    );
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(
        err.contains("wrong key") && err.lines().count() == 1,
        "{err}"
    );
    // Each refusal and each detokenization is an event.
    let (code, out, err) = rampart(
        &[
            "events", "query", "--data", &data, "--kind", "vault", "--json",
        ],
        "",
    );
    assert_eq!(code, 0, "{err}");
    let kinds: Vec<String> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "vault.detokenized",
            "vault.detokenized",
            "vault.detokenized",
            "vault.detokenize_failed",
            "vault.keys_rejected"
        ],
        "{out}"
    );
    assert!(
        out.contains("\"reason\":\"unknown_token\"") && out.contains("4111110000001112"),
        "{out}"
    );
    assert!(
        !out.contains("4111111111111111") && !out.contains("Jane"),
        "{out}"
    );
    // No keys at all.
    let (code, _, err) = rampart(&["vault", "status", "--data", &data], "");
    assert_eq!(code, 2);
    assert!(err.contains("--key-file"), "{err}");
    // Keys from the environment.
    let text: String = std::fs::read_to_string(&keys)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join(";");
    let out = Command::new(BIN)
        .args(["vault", "status", "--data", &data])
        .env("RAMPART_VAULT_KEYS", text)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("4 card(s); active key version 1"));
    // With --dedup the same card number keeps its token (the record takes
    // the newest expiry and name); without, each tokenization is new.
    let d = |cmd: &'static str| {
        vec![
            "vault",
            cmd,
            "--data",
            &data,
            "--key-file",
            &keys,
            "--dedup",
        ]
    };
    let (code, a, err) = rampart(&d("tokenize"), "4012888888881881|01/30|A\n");
    assert_eq!(code, 0, "{err}");
    let (_, b, _) = rampart(
        &d("tokenize"),
        "4012 8888 8888 1881|02/31|B\n4012888888881881|03/32|C\n",
    );
    assert_eq!(b, format!("{a}{a}"));
    let (_, c, _) = rampart(&v("tokenize"), "4012888888881881|01/30|A\n");
    assert_ne!(c, a);
    let (_, back, _) = rampart(&[&v("detokenize")[..], &[a.trim()]].concat(), "");
    assert_eq!(back, "4012888888881881|03/32|C\n");
    // After all of it, no card number in any form under the data
    // directory (vault database, its write-ahead log, events).
    let used: Vec<String> = [
        "4111111111111111",
        "5555555555554444",
        "378282246310005",
        "6011111111111117",
        "4012888888881881",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert!(scan_dir(Path::new(&data), &used) >= 2);
    // A bad age is a usage error.
    assert!(Path::new(&data).join("rampart.sqlite").is_file());
    let (code, _, err) = rampart(
        &[
            "vault",
            "purge",
            "--data",
            &data,
            "--key-file",
            &keys,
            "--older-than",
            "soon",
        ],
        "",
    );
    assert_eq!(code, 2, "{err}");
}

/// Starts `rampart vault tokenize` on `place` (the flags that say where
/// the vault is), pours card lines into it, `kill -9`s it once 5,000
/// tokens were acknowledged, then checks that every acknowledged token
/// detokenizes to its card after the restart. Returns how many there were.
fn storm_and_kill(place: &[&str], keys: &str) -> usize {
    let with = |cmd: &'static str| {
        let mut a = vec!["vault", cmd, "--key-file", keys];
        a.extend_from_slice(place);
        a
    };
    let mut child = Command::new(BIN)
        .args(with("tokenize"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        for i in 0..400_000 {
            if writeln!(stdin, "{}", card_line(i)).is_err() {
                break; // killed
            }
        }
    });
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut tokens = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            tokens.push(line);
            if tokens.len() == 5000 {
                let _ = tx.send(());
            }
        }
        tokens
    });
    // Kill it mid-storm: once 5,000 tokens were acknowledged (or after
    // 20 s), with lines still pouring in.
    let _ = rx.recv_timeout(Duration::from_secs(20));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let acknowledged = reader.join().unwrap();
    writer.join().unwrap();
    assert!(
        acknowledged.len() >= 100,
        "only {} tokens before the kill",
        acknowledged.len()
    );
    assert!(
        acknowledged.len() < 400_000,
        "the storm ended before the kill"
    );

    // After the restart every acknowledged token gives back its card.
    let (code, out, err) = rampart(
        &with("detokenize"),
        &format!("{}\n", acknowledged.join("\n")),
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), acknowledged.len());
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(*line, card_line(i), "token {i}");
    }
    // The vault still takes cards.
    let (code, out, err) = rampart(&with("tokenize"), &format!("{}\n", card_line(999_999)));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 1);
    acknowledged.len()
}

#[test]
fn kill_9_during_a_tokenization_storm_loses_no_acknowledged_token() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, data) = keys_and_data(dir.path());
    let acknowledged = storm_and_kill(&["--data", &data], &keys);
    let pans: Vec<String> = (0..acknowledged + 2000).step_by(97).map(pan).collect();
    assert!(scan_dir(Path::new(&data), &pans) >= 1);
}

#[test]
fn kill_9_during_a_tokenization_storm_on_postgres() {
    let Ok(url) = std::env::var("RAMPART_TEST_POSTGRES") else {
        eprintln!("note: RAMPART_TEST_POSTGRES is not set; the PostgreSQL storm test is skipped");
        return;
    };
    let schema = format!("vault_storm_{}", std::process::id());
    let psql = |sql: &str| {
        let out = Command::new("psql")
            .args([url.as_str(), "-Atqc", sql])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    psql(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
    ));
    let scoped = format!(
        "{url}{}options=-csearch_path%3D{schema}",
        if url.contains('?') { "&" } else { "?" }
    );
    let dir = tempfile::tempdir().unwrap();
    let (keys, _) = keys_and_data(dir.path());
    storm_and_kill(&["--database", &scoped], &keys);
    psql(&format!("DROP SCHEMA {schema} CASCADE"));
}

fn status(data: &str, keys: &str) -> String {
    let (code, out, err) = rampart(&["vault", "status", "--data", data, "--key-file", keys], "");
    assert_eq!(code, 0, "{err}");
    out
}

#[test]
fn rotation_killed_halfway_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, data) = keys_and_data(dir.path());
    let n = 12_000;
    let input: String = (0..n).map(|i| card_line(i) + "\n").collect();
    let (code, out, err) = rampart(
        &["vault", "tokenize", "--data", &data, "--key-file", &keys],
        &input,
    );
    assert_eq!(code, 0, "{err}");
    let tokens: Vec<&str> = out.lines().collect();
    assert_eq!(tokens.len(), n);

    let (code, out, _) = rampart(&["vault", "keygen", &keys], "");
    assert_eq!(code, 0);
    assert!(out.contains("key version 2 is active"), "{out}");

    let mut child = Command::new(BIN)
        .args([
            "vault",
            "rotate",
            "--batch",
            "10",
            "--data",
            &data,
            "--key-file",
            &keys,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert_eq!(first, "re-wrapped 10");
    let second = lines.next().unwrap().unwrap();
    assert_eq!(second, "re-wrapped 20");
    child.kill().unwrap();
    child.wait().unwrap();
    let mid = status(&data, &keys);
    let v1: usize = mid
        .lines()
        .find_map(|l| l.strip_prefix("key version 1: "))
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{mid}"));
    assert!(v1 > 0 && v1 <= n - 20, "{mid}");

    // Every card reads back in the middle of the rotation.
    let (code, out, err) = rampart(
        &["vault", "detokenize", "--data", &data, "--key-file", &keys],
        &format!("{}\n", tokens.join("\n")),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), n);

    let started = Instant::now();
    let (code, out, err) = rampart(
        &["vault", "rotate", "--data", &data, "--key-file", &keys],
        "",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.ends_with(&format!(
            "rotation complete: {v1} record(s) re-wrapped; every record is under key version 2\n"
        )),
        "{out}"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(
        status(&data, &keys),
        format!("{n} card(s); active key version 2\nkey version 2: {n} card(s)\n")
    );

    // Version 1 can now go: every card still reads back.
    let text = std::fs::read_to_string(&keys).unwrap();
    let kept: String = text
        .lines()
        .filter(|l| !l.starts_with("kek 1 "))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&keys, kept).unwrap();
    let (code, out, err) = rampart(
        &["vault", "detokenize", "--data", &data, "--key-file", &keys],
        &format!("{}\n", tokens.join("\n")),
    );
    assert_eq!(code, 0, "{err}");
    for (i, line) in out.lines().enumerate() {
        assert_eq!(line, card_line(i));
    }
}

#[test]
fn purge_forgets_old_cards() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, data) = keys_and_data(dir.path());
    let v = |cmd: &'static str| vec!["vault", cmd, "--data", &data, "--key-file", &keys];
    let (_, old, _) = rampart(&v("tokenize"), &format!("{}\n", card_line(1)));
    std::thread::sleep(Duration::from_millis(4100));
    let (_, new, _) = rampart(&v("tokenize"), &format!("{}\n", card_line(2)));
    let (code, out, err) = rampart(&[&v("purge")[..], &["--older-than", "3s"]].concat(), "");
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "purged 1 card(s) stored more than 3s ago");
    let (code, _, err) = rampart(&[&v("detokenize")[..], &[old.trim()]].concat(), "");
    assert_eq!(code, 1);
    assert!(err.contains("unknown token"), "{err}");
    let (code, out, _) = rampart(&[&v("detokenize")[..], &[new.trim()]].concat(), "");
    assert_eq!((code, out), (0, card_line(2) + "\n"));
}

#[test]
fn postgres_round_trip_rotation_and_dump_without_card_numbers() {
    let Ok(url) = std::env::var("RAMPART_TEST_POSTGRES") else {
        eprintln!("note: RAMPART_TEST_POSTGRES is not set; the PostgreSQL vault test is skipped");
        return;
    };
    let schema = format!("vault_cli_{}", std::process::id());
    let psql = |sql: &str| {
        let out = Command::new("psql")
            .args([url.as_str(), "-Atqc", sql])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    psql(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
    ));
    let scoped = format!(
        "{url}{}options=-csearch_path%3D{schema}",
        if url.contains('?') { "&" } else { "?" }
    );
    let dir = tempfile::tempdir().unwrap();
    let (keys, _) = keys_and_data(dir.path());
    let v = |cmd: &'static str| {
        vec![
            "vault",
            cmd,
            "--database",
            &scoped,
            "--key-file",
            &keys,
            "--fingerprint",
        ]
    };
    let n = 500;
    let input: String = (0..n).map(|i| card_line(i) + "\n").collect();
    let (code, out, err) = rampart(&v("tokenize"), &input);
    assert_eq!(code, 0, "{err}");
    let tokens = out.clone();
    rampart(&["vault", "keygen", &keys], "");
    let (code, out, err) = rampart(&v("rotate"), "");
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("rotation complete: {n} record(s)")),
        "{out}"
    );
    let (code, out, err) = rampart(&v("detokenize"), &tokens);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, input);

    let dump = Command::new("pg_dump")
        .args([url.as_str(), "--schema", &schema])
        .output()
        .unwrap();
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    assert!(String::from_utf8_lossy(&dump.stdout).contains("vault_cards"));
    let pans: Vec<String> = (0..n).map(pan).collect();
    assert_no_card("pg_dump", &dump.stdout, &pans);
    psql(&format!("DROP SCHEMA {schema} CASCADE"));
}

#[test]
fn rotation_while_cards_keep_coming() {
    let dir = tempfile::tempdir().unwrap();
    let (keys, data) = keys_and_data(dir.path());
    let mut child = Command::new(BIN)
        .args(["vault", "tokenize", "--data", &data, "--key-file", &keys])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop_writer = stop.clone();
    let writer = std::thread::spawn(move || {
        let mut i = 0;
        while !stop_writer.load(std::sync::atomic::Ordering::Relaxed) && i < 2_000_000 {
            if writeln!(stdin, "{}", card_line(i)).is_err() {
                break;
            }
            i += 1;
            if i % 20 == 0 {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        // Dropping stdin ends the tokenize command.
    });
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<String>>()
    });
    std::thread::sleep(Duration::from_millis(500));
    // A new key version: the running tokenizer switches to it within a
    // second; rotation re-wraps what was written before.
    let (code, _, _) = rampart(&["vault", "keygen", &keys], "");
    assert_eq!(code, 0);
    // Wait until the running tokenizer writes under version 2 (only it
    // does, before rotation starts).
    let deadline = Instant::now() + Duration::from_secs(20);
    while !status(&data, &keys).contains("key version 2:") {
        assert!(
            Instant::now() < deadline,
            "the running tokenizer never took the new key"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (code, out, err) = rampart(
        &["vault", "rotate", "--data", &data, "--key-file", &keys],
        "",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("every record is under key version 2"), "{out}");
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    let status_code = child.wait().unwrap();
    let tokens = reader.join().unwrap();
    assert!(status_code.success());
    assert!(tokens.len() > 1000, "{}", tokens.len());

    // Everything, before and after the new key, is under version 2 now and
    // reads back.
    let s = status(&data, &keys);
    assert_eq!(
        s,
        format!(
            "{} card(s); active key version 2\nkey version 2: {} card(s)\n",
            tokens.len(),
            tokens.len()
        )
    );
    let (code, out, err) = rampart(
        &["vault", "detokenize", "--data", &data, "--key-file", &keys],
        &format!("{}\n", tokens.join("\n")),
    );
    assert_eq!(code, 0, "{err}");
    for (i, line) in out.lines().enumerate() {
        assert_eq!(line, card_line(i));
    }
}
