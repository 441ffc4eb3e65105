//! Vault speed: tokenizations and detokenizations per second and the p99
//! latency of each call, on the database given (SQLite in a temporary
//! directory by default). Run through `bench/vault.sh`, which pins it to
//! one core.
//!
//! ```sh
//! cargo run --release -p vault --example vault_bench -- [--database URL] [--cards N] [--batch B]
//! ```

use std::time::{Duration, Instant};

use vault::{Card, KeySource, Token, Vault, VaultOptions};

fn luhn_card(i: usize) -> Card {
    let body = format!("4{:014}", i * 7919 + 1_000_003);
    let mut sum = 0;
    for (k, c) in body.bytes().rev().enumerate() {
        let mut v = u32::from(c - b'0');
        if k % 2 == 0 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    let check = (10 - sum % 10) % 10;
    Card::parse_line(&format!(
        "{body}{check}|{:02}/{}|Card Holder {i}",
        i % 12 + 1,
        30 + i % 7
    ))
    .unwrap()
}

struct Timing {
    name: String,
    cards: usize,
    elapsed: Duration,
    calls: Vec<Duration>,
}

impl Timing {
    fn print(&mut self) {
        self.calls.sort();
        let p = |q: f64| {
            self.calls
                [((self.calls.len() as f64 * q).ceil() as usize).clamp(1, self.calls.len()) - 1]
        };
        println!(
            "{:<38} {:>9.0} cards/s   calls {:>6}   p50 {:>9.3} ms   p99 {:>9.3} ms",
            self.name,
            self.cards as f64 / self.elapsed.as_secs_f64(),
            self.calls.len(),
            p(0.50).as_secs_f64() * 1e3,
            p(0.99).as_secs_f64() * 1e3,
        );
    }
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let cards_n: usize = arg("--cards")
        .map(|s| s.parse().unwrap())
        .unwrap_or(100_000);
    let batch: usize = arg("--batch").map(|s| s.parse().unwrap()).unwrap_or(500);
    let singles: usize = arg("--singles")
        .map(|s| s.parse().unwrap())
        .unwrap_or(2_000);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("vault.keys");
        vault::keygen(&keys).unwrap();
        let db = match arg("--database") {
            Some(url) => store::Database::connect(&url).await.unwrap(),
            None => store::Database::open_sqlite(&dir.path().join("rampart.sqlite"))
                .await
                .unwrap(),
        };
        println!(
            "backend: {:?}; {cards_n} cards in batches of {batch}; {singles} single calls",
            db.backend()
        );
        let v = Vault::open(db, KeySource::File(keys.clone()), VaultOptions::default())
            .await
            .unwrap();
        let cards: Vec<Card> = (0..cards_n).map(luhn_card).collect();

        // Batches: one transaction (one commit) per batch.
        let mut tokens: Vec<Token> = Vec::with_capacity(cards_n);
        let mut t = Timing {
            name: format!("tokenize, batches of {batch}"),
            cards: cards_n,
            elapsed: Duration::ZERO,
            calls: vec![],
        };
        let start = Instant::now();
        for chunk in cards.chunks(batch) {
            let s = Instant::now();
            tokens.extend(v.tokenize_batch(chunk).await.unwrap());
            t.calls.push(s.elapsed());
        }
        t.elapsed = start.elapsed();
        t.print();

        let mut t = Timing {
            name: format!("detokenize, batches of {batch}"),
            cards: cards_n,
            elapsed: Duration::ZERO,
            calls: vec![],
        };
        let start = Instant::now();
        for chunk in tokens.chunks(batch) {
            let s = Instant::now();
            let back = v.detokenize_batch(chunk).await.unwrap();
            assert_eq!(back.len(), chunk.len());
            t.calls.push(s.elapsed());
        }
        t.elapsed = start.elapsed();
        t.print();

        // One card per call: one commit per tokenization.
        let mut t = Timing {
            name: "tokenize, one card per call".into(),
            cards: singles,
            elapsed: Duration::ZERO,
            calls: vec![],
        };
        let start = Instant::now();
        for card in cards.iter().take(singles) {
            let s = Instant::now();
            v.tokenize(card).await.unwrap();
            t.calls.push(s.elapsed());
        }
        t.elapsed = start.elapsed();
        t.print();

        // One card per call from many concurrent callers (checkout
        // requests), through the group-committing Tokenizer.
        let callers: usize = arg("--callers").map(|s| s.parse().unwrap()).unwrap_or(256);
        let v = std::sync::Arc::new(v);
        let tokenizer = vault::Tokenizer::spawn(v.clone(), 1000);
        let per_caller = cards_n / callers;
        let start = Instant::now();
        let mut tasks = Vec::new();
        for c in 0..callers {
            let tokenizer = tokenizer.clone();
            let mine: Vec<Card> = cards[c * per_caller..(c + 1) * per_caller].to_vec();
            tasks.push(tokio::spawn(async move {
                let mut calls = Vec::with_capacity(mine.len());
                for card in mine {
                    let s = Instant::now();
                    tokenizer.tokenize(card).await.unwrap();
                    calls.push(s.elapsed());
                }
                calls
            }));
        }
        let mut calls = Vec::new();
        for task in tasks {
            calls.extend(task.await.unwrap());
        }
        let mut t = Timing {
            name: format!("tokenize, 1 card/call, {callers} callers"),
            cards: per_caller * callers,
            elapsed: start.elapsed(),
            calls,
        };
        t.print();

        let mut t = Timing {
            name: "detokenize, one token per call".into(),
            cards: singles * 5,
            elapsed: Duration::ZERO,
            calls: vec![],
        };
        let start = Instant::now();
        for i in 0..singles * 5 {
            let token = &tokens[(i * 7919) % tokens.len()];
            let s = Instant::now();
            v.detokenize(token).await.unwrap();
            t.calls.push(s.elapsed());
        }
        t.elapsed = start.elapsed();
        t.print();

        // Rotation: every record re-wrapped under a new key version.
        vault::keygen(&keys).unwrap();
        v.reload_keys().await.unwrap();
        let start = Instant::now();
        let n = v.rotate(batch, |_| {}).await.unwrap();
        let elapsed = start.elapsed();
        println!(
            "{:<38} {:>9.0} cards/s   ({n} cards in {:.2} s, batches of {batch})",
            "rotate (re-wrap)",
            n as f64 / elapsed.as_secs_f64(),
            elapsed.as_secs_f64()
        );
    });
}
