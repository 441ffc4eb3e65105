//! `rampart vault ...`: the card vault from the command line. Flag parsing
//! and printing only; the vault itself is the `vault` crate.
//!
//! Card lines are `NUMBER|MM/YY|HOLDER NAME` (`|` or a tab between fields;
//! expiry and holder may be empty). Card data is printed only by
//! `detokenize`, to stdout, and never appears in an error message.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use gateway::StateLocation;
use store::Database;
use vault::{Card, KeySource, Token, TokenFormat, Vault, VaultError, VaultOptions};
use zeroize::Zeroizing;

use crate::{usage, Failure, StateArgs};

#[derive(Subcommand)]
pub enum VaultCommand {
    /// Create a key file (a first key-encryption key and a fingerprint
    /// key, mode 0600), or add a new key version to an existing one; the
    /// new version is used for new cards at once (a running gateway picks
    /// it up within a second). Then run `rampart vault rotate`.
    Keygen {
        /// The key file
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Read card lines (NUMBER|MM/YY|HOLDER) on stdin and print one token
    /// per line, each as soon as it is durably stored. Blank lines are
    /// skipped. Stops at the first invalid line (exit status 2), after
    /// storing and printing the tokens of the lines before it.
    Tokenize(VaultArgs),
    /// Print the card line (NUMBER|MM/YY|HOLDER) for each token given as
    /// an argument, or read on stdin one per line. All or nothing: an
    /// unknown token or a damaged record prints no card at all.
    Detokenize {
        #[command(flatten)]
        vault: VaultArgs,
        /// Tokens [default: read from stdin]
        #[arg(value_name = "TOKEN")]
        tokens: Vec<String>,
    },
    /// Re-wrap every record under the newest key version, a batch per
    /// transaction, while the vault stays in use. Safe to interrupt: run
    /// it again and it goes on where it stopped. Prints the running total.
    Rotate {
        #[command(flatten)]
        vault: VaultArgs,
        /// Records per transaction
        #[arg(long, value_name = "N", default_value_t = 500)]
        batch: usize,
    },
    /// Delete cards stored more than AGE ago (e.g. 400d, 12h, 30m).
    Purge {
        #[command(flatten)]
        vault: VaultArgs,
        /// The age: a number and s, m, h, d or w
        #[arg(long, value_name = "AGE")]
        older_than: String,
    },
    /// How many cards the vault holds, by key version.
    Status(VaultArgs),
    /// Make an API key for a service that reads cards back through the
    /// detokenization API ([vault.api]). Prints the key once (give it to
    /// the service; Rampart keeps only its SHA-256) and the lines to add
    /// to rampart.toml.
    ApiKey {
        /// The caller's name, as events will show it (e.g. refund-worker)
        #[arg(value_name = "NAME")]
        name: String,
    },
}

/// Where the vault is and how it behaves.
#[derive(Args)]
pub struct VaultArgs {
    #[command(flatten)]
    state: StateArgs,
    /// The database: sqlite://FILE or postgres://… [default: DATA/rampart.sqlite]
    #[arg(
        long,
        value_name = "URL",
        env = "RAMPART_DATABASE_URL",
        hide_env_values = true
    )]
    database: Option<String>,
    /// The key file (`rampart vault keygen FILE`); or put the file's key
    /// lines, separated by `;`, in RAMPART_VAULT_KEYS
    #[arg(long, value_name = "FILE", env = "RAMPART_VAULT_KEY_FILE")]
    key_file: Option<PathBuf>,
    /// What tokens keep of the card number: bin,last4 | bin | last4 | none
    #[arg(long, value_name = "PARTS", default_value = "bin,last4")]
    keep: String,
    /// Store a keyed-hash fingerprint of each card number
    #[arg(long)]
    fingerprint: bool,
    /// Give a card number already in the vault its existing token
    /// (implies --fingerprint)
    #[arg(long)]
    dedup: bool,
}

fn fail(e: VaultError) -> Failure {
    let code =
        if e.is_config() || matches!(e, VaultError::InvalidToken(_) | VaultError::InvalidCard(_)) {
            2
        } else {
            1
        };
    Failure(code, e.to_string())
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| usage(format!("cannot start the runtime: {e}")))
}

/// The data directory of `args`, if it exists (events are recorded there).
fn data_dir(args: &VaultArgs) -> Option<PathBuf> {
    StateLocation::resolve(args.state.config.as_deref(), args.state.data.as_deref())
        .ok()
        .map(|l| l.data_dir)
        .filter(|d| d.is_dir())
}

/// Records `event` in DATA_DIR/events.sqlite when the data directory
/// exists; a failure to record is said on stderr, and does not change the
/// command's outcome.
fn record(args: &VaultArgs, event: ops::Event) {
    let Some(dir) = data_dir(args) else { return };
    let stored = ops::event_store::EventStore::open(&dir.join("events.sqlite"))
        .and_then(|mut s| s.append(&[event]));
    if let Err(e) = stored {
        eprintln!("rampart: warning: the vault event was not recorded: {e}");
    }
}

/// The event for a failed detokenization (no card data in it).
fn detokenize_failed(e: &VaultError) -> Option<ops::Event> {
    use ops::Severity;
    let (reason, severity, token) = match e {
        VaultError::UnknownToken(t) => ("unknown_token", Severity::Warning, Some(t)),
        VaultError::Tampered(t) => ("tampered", Severity::Critical, Some(t)),
        VaultError::WrongKey { .. } => ("wrong_key", Severity::Error, None),
        VaultError::MissingKey { .. } => ("missing_key", Severity::Error, None),
        VaultError::StaleKeyFile { .. } => ("stale_key_file", Severity::Error, None),
        _ => return None,
    };
    Some(
        ops::Event::new("vault.detokenize_failed", severity)
            .message(e.to_string())
            .data(serde_json::json!({
                "reason": reason,
                "token": token.map(|t| t.as_str().to_string()),
            })),
    )
}

async fn open(args: &VaultArgs, create: bool) -> Result<Vault, Failure> {
    let located = StateLocation::resolve(args.state.config.as_deref(), args.state.data.as_deref())
        .map_err(usage)?;
    let db = match &args.database {
        Some(url) => Database::connect(url).await,
        None => {
            let dir = &located.data_dir;
            if create {
                std::fs::create_dir_all(dir)
                    .map_err(|e| usage(format!("data directory {}: {e}", dir.display())))?;
            } else if !dir.is_dir() {
                return Err(usage(format!(
                    "data directory {} does not exist (pass --data DIR, --config FILE or --database URL)",
                    dir.display()
                )));
            }
            Database::open_sqlite(&dir.join("rampart.sqlite")).await
        }
    }
    .map_err(usage)?;
    let source = match (&args.key_file, std::env::var("RAMPART_VAULT_KEYS")) {
        (Some(file), _) => KeySource::File(file.clone()),
        (None, Ok(text)) => KeySource::Text(Zeroizing::new(text)),
        (None, Err(_)) => {
            return Err(usage(
                "no vault keys: pass --key-file FILE (create one with `rampart vault keygen FILE`) or set RAMPART_VAULT_KEYS",
            ))
        }
    };
    let options = VaultOptions {
        format: TokenFormat::parse(&args.keep).map_err(|e| usage(format!("--keep: {e}")))?,
        fingerprint: args.fingerprint || args.dedup,
        dedup: args.dedup,
        ..VaultOptions::default()
    };
    Vault::open(db, source, options).await.map_err(|e| {
        if matches!(
            e,
            VaultError::WrongKey { .. } | VaultError::StaleKeyFile { .. }
        ) {
            record(
                args,
                ops::Event::new("vault.keys_rejected", ops::Severity::Error).message(e.to_string()),
            );
        }
        fail(e)
    })
}

pub fn run(command: VaultCommand) -> Result<(), Failure> {
    match command {
        VaultCommand::Keygen { file } => {
            let version = vault::keygen(&file).map_err(fail)?;
            println!(
                "{}: key version {version} is active{}",
                file.display(),
                if version > 1 {
                    " (run `rampart vault rotate` to re-wrap older records)"
                } else {
                    ""
                }
            );
            Ok(())
        }
        VaultCommand::Tokenize(args) => runtime()?.block_on(tokenize(&args)),
        VaultCommand::Detokenize { vault, tokens } => {
            runtime()?.block_on(detokenize(&vault, tokens))
        }
        VaultCommand::Rotate { vault, batch } => runtime()?.block_on(async {
            let v = open(&vault, false).await?;
            let active = v.status().await.map_err(fail)?.active_version;
            let total = v
                .rotate(batch, |n| {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "re-wrapped {n}");
                    let _ = out.flush();
                })
                .await
                .map_err(fail)?;
            record(
                &vault,
                ops::Event::new("vault.rotated", ops::Severity::Notice)
                    .message(format!("{total} card(s) re-wrapped under key version {active}"))
                    .data(serde_json::json!({ "rewrapped": total, "key_version": active })),
            );
            println!("rotation complete: {total} record(s) re-wrapped; every record is under key version {active}");
            Ok(())
        }),
        VaultCommand::Purge { vault, older_than } => {
            let age = parse_age(&older_than).map_err(usage)?;
            runtime()?.block_on(async {
                let v = open(&vault, false).await?;
                let n = v.purge_older_than(age).await.map_err(fail)?;
                record(
                    &vault,
                    ops::Event::new("vault.purged", ops::Severity::Notice)
                        .message(format!("{n} card(s) stored more than {older_than} ago deleted"))
                        .data(serde_json::json!({ "purged": n, "older_than_s": age.as_secs() })),
                );
                println!("purged {n} card(s) stored more than {older_than} ago");
                Ok(())
            })
        }
        VaultCommand::ApiKey { name } => {
            let name = name.trim();
            if name.is_empty() || name.contains(['"', '\\', '\n']) {
                return Err(usage(
                    "api-key NAME: give a plain name such as refund-worker",
                ));
            }
            let (key, digest) = gateway::vault_api::new_api_key();
            println!("{key}");
            println!(
                "# Give the key above to {name:?} (Authorization: Bearer KEY); it is not shown again.\n\
                 # Add to rampart.toml, under [vault.api]:\n\
                 [[vault.api.keys]]\nname = {name:?}\nsha256 = \"{digest}\"\nrole = \"payments\""
            );
            Ok(())
        }
        VaultCommand::Status(args) => runtime()?.block_on(async {
            let v = open(&args, false).await?;
            let s = v.status().await.map_err(fail)?;
            println!("{} card(s); active key version {}", s.records, s.active_version);
            for (version, n) in s.by_key_version {
                println!("key version {version}: {n} card(s)");
            }
            Ok(())
        }),
    }
}

/// `30s`, `15m`, `12h`, `400d`, `2w`.
fn parse_age(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("--older-than {text:?}: expected a number and s, m, h, d or w"))?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => {
            return Err(format!(
                "--older-than {text:?}: the unit must be s, m, h, d or w"
            ))
        }
    };
    Ok(Duration::from_secs(n.saturating_mul(secs)))
}

/// Most card lines stored in one transaction.
const BATCH: usize = 1000;

async fn tokenize(args: &VaultArgs) -> Result<(), Failure> {
    let v = open(args, true).await?;
    // Lines are read on their own thread so a batch is whatever has
    // arrived while the previous one was being stored.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<Zeroizing<String>>>(BATCH * 4);
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        loop {
            // Room for a card line, so the buffer is not reallocated (which
            // would leave unwiped copies behind).
            let mut line = Zeroizing::new(String::with_capacity(512));
            match input.read_line(&mut line) {
                Ok(0) => break,
                Ok(_) => {
                    if tx.blocking_send(Ok(line)).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    break;
                }
            }
        }
    });
    let mut line_no = 0usize;
    let mut stop: Option<Failure> = None;
    while stop.is_none() {
        let Some(first) = rx.recv().await else { break };
        let mut lines = vec![first];
        while lines.len() < BATCH {
            match rx.try_recv() {
                Ok(l) => lines.push(l),
                Err(_) => break,
            }
        }
        let mut cards = Vec::with_capacity(lines.len());
        for line in lines {
            let line = match line {
                Ok(l) => l,
                Err(e) => {
                    stop = Some(usage(format!("reading stdin: {e}")));
                    break;
                }
            };
            line_no += 1;
            if line.trim().is_empty() {
                continue;
            }
            match Card::parse_line(line.trim_end_matches(['\n', '\r'])) {
                Ok(c) => cards.push(c),
                Err(e) => {
                    stop = Some(usage(format!("line {line_no}: {e}")));
                    break;
                }
            }
        }
        if cards.is_empty() {
            continue;
        }
        let tokens = v.tokenize_batch(&cards).await.map_err(fail)?;
        let mut out = std::io::stdout().lock();
        let mut text = String::with_capacity(tokens.len() * 20);
        for t in &tokens {
            text.push_str(t.as_str());
            text.push('\n');
        }
        if out
            .write_all(text.as_bytes())
            .and_then(|_| out.flush())
            .is_err()
        {
            // Whoever reads the tokens has gone: stop taking cards.
            return Err(Failure(
                1,
                "stdout closed; tokens stored so far stay stored".into(),
            ));
        }
    }
    match stop {
        Some(f) => Err(f),
        None => Ok(()),
    }
}

async fn detokenize(args: &VaultArgs, given: Vec<String>) -> Result<(), Failure> {
    let texts = if given.is_empty() {
        let mut lines = Vec::new();
        for line in std::io::stdin().lock().lines() {
            let line = line.map_err(|e| usage(format!("reading stdin: {e}")))?;
            if !line.trim().is_empty() {
                lines.push(line);
            }
        }
        lines
    } else {
        given
    };
    let tokens = texts
        .iter()
        .enumerate()
        .map(|(i, t)| Token::parse(t).map_err(|e| usage(format!("token {}: {e}", i + 1))))
        .collect::<Result<Vec<_>, _>>()?;
    let v = open(args, false).await?;
    let cards = match v.detokenize_batch(&tokens).await {
        Ok(c) => c,
        Err(e) => {
            if let Some(event) = detokenize_failed(&e) {
                record(args, event);
            }
            return Err(fail(e));
        }
    };
    record(
        args,
        ops::Event::new("vault.detokenized", ops::Severity::Notice)
            .message(format!(
                "{} card(s) detokenized from the command line",
                cards.len()
            ))
            .data(serde_json::json!({ "count": cards.len(), "by": "cli" })),
    );
    let mut text = Zeroizing::new(String::with_capacity(cards.len() * 48));
    for c in &cards {
        text.push_str(&c.to_line());
        text.push('\n');
    }
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| Failure(1, format!("writing stdout: {e}")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn ages() {
        assert_eq!(super::parse_age("400d").unwrap().as_secs(), 400 * 86_400);
        assert_eq!(super::parse_age("30s").unwrap().as_secs(), 30);
        assert!(super::parse_age("3 days").is_err());
        assert!(super::parse_age("d").is_err());
    }
}
