//! The vault end to end on a real database: SQLite in a temporary
//! directory, and the PostgreSQL that `RAMPART_TEST_POSTGRES` names (each
//! test in a schema of its own; skipped with a note when unset).

use std::path::{Path, PathBuf};
use std::time::Duration;

use store::sqlx::{self, Row};
use store::Database;
use vault::{Card, Cvv, KeySource, Token, TokenFormat, Vault, VaultError, VaultOptions};

struct Place {
    db: Database,
    dir: tempfile::TempDir,
    /// PostgreSQL: (admin connection, schema) to drop afterwards.
    pg: Option<(Database, String)>,
}

impl Place {
    fn keys(&self) -> PathBuf {
        self.dir.path().join("vault.keys")
    }

    async fn reconnect(&self) -> Database {
        match &self.pg {
            None => Database::open_sqlite(&self.dir.path().join("rampart.sqlite"))
                .await
                .unwrap(),
            Some((_, schema)) => Database::connect(&scoped_url(schema)).await.unwrap(),
        }
    }

    async fn done(self) {
        if let Some((admin, schema)) = &self.pg {
            self.db.pool().close().await;
            sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(admin.pool())
                .await
                .unwrap();
        }
    }
}

fn pg_url() -> Option<String> {
    std::env::var("RAMPART_TEST_POSTGRES").ok()
}

fn scoped_url(schema: &str) -> String {
    let url = pg_url().unwrap();
    format!(
        "{url}{}options=-csearch_path%3D{schema}",
        if url.contains('?') { "&" } else { "?" }
    )
}

async fn sqlite() -> Place {
    let dir = tempfile::tempdir().unwrap();
    vault::keygen(&dir.path().join("vault.keys")).unwrap();
    let db = Database::open_sqlite(&dir.path().join("rampart.sqlite"))
        .await
        .unwrap();
    Place { db, dir, pg: None }
}

async fn postgres(name: &str) -> Option<Place> {
    let Some(url) = pg_url() else {
        eprintln!(
            "note: RAMPART_TEST_POSTGRES is not set; the PostgreSQL half of {name} is skipped"
        );
        return None;
    };
    let admin = Database::connect(&url).await.unwrap();
    let schema = format!("vault_{name}_{}", std::process::id());
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .execute(admin.pool())
        .await
        .unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(admin.pool())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    vault::keygen(&dir.path().join("vault.keys")).unwrap();
    let db = Database::connect(&scoped_url(&schema)).await.unwrap();
    Some(Place {
        db,
        dir,
        pg: Some((admin, schema)),
    })
}

/// Runs `body` on SQLite and on PostgreSQL.
macro_rules! on_both {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let place = super::sqlite().await;
                super::$body(&place).await;
                place.done().await;
            }
            #[tokio::test]
            async fn postgres() {
                if let Some(place) = super::postgres(stringify!($name)).await {
                    super::$body(&place).await;
                    place.done().await;
                }
            }
        }
    };
}

async fn open(place: &Place, options: VaultOptions) -> Vault {
    Vault::open(place.db.clone(), KeySource::File(place.keys()), options)
        .await
        .unwrap()
}

const PANS: &[&str] = &[
    "4111111111111111",
    "5555555555554444",
    "378282246310005",
    "6011111111111117",
    "3530111333300000",
    "30569309025904",
    "4222222222222",
    "6200000000000005",
];

fn cards(n: usize) -> Vec<Card> {
    (0..n)
        .map(|i| {
            Card::parse_line(&format!(
                "{}|{:02}/{}|Holder {i}",
                PANS[i % PANS.len()],
                i % 12 + 1,
                30 + i % 5
            ))
            .unwrap()
        })
        .collect()
}

fn luhn_ok(s: &str) -> bool {
    vault::card::luhn_valid(s.as_bytes())
}

async fn round_trip(place: &Place) {
    let vault = open(place, VaultOptions::default()).await;
    let cards = cards(300);
    let tokens = vault.tokenize_batch(&cards).await.unwrap();
    assert_eq!(tokens.len(), cards.len());
    let distinct: std::collections::HashSet<&Token> = tokens.iter().collect();
    assert_eq!(distinct.len(), tokens.len());
    for (card, token) in cards.iter().zip(&tokens) {
        let (p, t) = (card.pan.digits(), token.as_str());
        assert_eq!(t.len(), p.len());
        assert_eq!(&t[..6], &p[..6]);
        assert_eq!(&t[t.len() - 4..], &p[p.len() - 4..]);
        assert!(!luhn_ok(t));
    }
    let back = vault.detokenize_batch(&tokens).await.unwrap();
    for (a, b) in cards.iter().zip(&back) {
        assert_eq!(a.to_line().as_str(), b.to_line().as_str());
    }
    // One at a time too, after reopening (another process would).
    let again = Vault::open(
        place.reconnect().await,
        KeySource::File(place.keys()),
        VaultOptions::default(),
    )
    .await
    .unwrap();
    let one = again.detokenize(&tokens[7]).await.unwrap();
    assert_eq!(one.to_line().as_str(), cards[7].to_line().as_str());
}
on_both!(round_trip_both, round_trip);

async fn unknown_and_tampered(place: &Place) {
    let vault = open(place, VaultOptions::default()).await;
    let tokens = vault.tokenize_batch(&cards(3)).await.unwrap();
    let unknown = Token::parse("4111110000001112").unwrap();
    match vault.detokenize(&unknown).await {
        Err(VaultError::UnknownToken(t)) => assert_eq!(t, unknown),
        other => panic!("{other:?}"),
    }
    // A batch with one unknown token gives nothing back.
    let mixed = vec![tokens[0].clone(), unknown.clone(), tokens[1].clone()];
    assert!(matches!(
        vault.detokenize_batch(&mixed).await,
        Err(VaultError::UnknownToken(_))
    ));

    // Flip one byte of one record's ciphertext.
    let row = sqlx::query("SELECT sealed FROM vault_cards WHERE token = $1")
        .bind(tokens[1].as_str())
        .fetch_one(place.db.pool())
        .await
        .unwrap();
    let mut sealed: Vec<u8> = row.get(0);
    sealed[20] ^= 0x04;
    sqlx::query("UPDATE vault_cards SET sealed = $1 WHERE token = $2")
        .bind(sealed.as_slice())
        .bind(tokens[1].as_str())
        .execute(place.db.pool())
        .await
        .unwrap();
    let e = vault.detokenize(&tokens[1]).await.unwrap_err();
    assert!(
        matches!(e, VaultError::Tampered(ref t) if *t == tokens[1]),
        "{e}"
    );
    assert!(e.to_string().contains("tampered"), "{e}");
    assert!(vault.detokenize_batch(&tokens).await.is_err());
    // Swapping two records' ciphertexts is caught too.
    let row = sqlx::query("SELECT wrapped_key, sealed FROM vault_cards WHERE token = $1")
        .bind(tokens[0].as_str())
        .fetch_one(place.db.pool())
        .await
        .unwrap();
    let (w, s): (Vec<u8>, Vec<u8>) = (row.get(0), row.get(1));
    sqlx::query("UPDATE vault_cards SET wrapped_key = $1, sealed = $2 WHERE token = $3")
        .bind(w.as_slice())
        .bind(s.as_slice())
        .bind(tokens[2].as_str())
        .execute(place.db.pool())
        .await
        .unwrap();
    assert!(matches!(
        vault.detokenize(&tokens[2]).await,
        Err(VaultError::Tampered(_))
    ));
    // The untouched record still opens.
    assert_eq!(
        vault.detokenize(&tokens[0]).await.unwrap().pan.digits(),
        "4111111111111111"
    );
}
on_both!(unknown_and_tampered_both, unknown_and_tampered);

async fn wrong_key(place: &Place) {
    let vault = open(place, VaultOptions::default()).await;
    vault.tokenize(&cards(1)[0]).await.unwrap();
    let other = place.dir.path().join("other.keys");
    vault::keygen(&other).unwrap();
    let e = Vault::open(
        place.db.clone(),
        KeySource::File(other),
        VaultOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, VaultError::WrongKey { version: 1 }), "{e}");
    assert!(e.is_config());
    // The same key given as text (an environment variable) works.
    let text: String = std::fs::read_to_string(place.keys())
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join(";");
    Vault::open(
        place.db.clone(),
        KeySource::Text(text.into()),
        VaultOptions::default(),
    )
    .await
    .unwrap();
}
on_both!(wrong_key_both, wrong_key);

fn drop_kek_line(path: &Path, version: u32) {
    let text = std::fs::read_to_string(path).unwrap();
    let kept: String = text
        .lines()
        .filter(|l| !l.starts_with(&format!("kek {version} ")))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(path, kept).unwrap();
}

async fn rotation(place: &Place) {
    let vault = open(place, VaultOptions::default()).await;
    let cards = cards(250);
    let tokens = vault.tokenize_batch(&cards).await.unwrap();
    assert_eq!(vault::keygen(&place.keys()).unwrap(), 2);
    vault.reload_keys().await.unwrap();
    // Halfway: one batch, then "crash" (drop the vault).
    assert_eq!(vault.rotate_batch(100).await.unwrap(), 100);
    let status = vault.status().await.unwrap();
    assert_eq!(status.by_key_version, vec![(1, 150), (2, 100)]);
    // Tokenization goes on meanwhile, under the new key.
    let late = vault.tokenize(&cards[0]).await.unwrap();
    drop(vault);
    let resumed = Vault::open(
        place.reconnect().await,
        KeySource::File(place.keys()),
        VaultOptions::default(),
    )
    .await
    .unwrap();
    // Records still under version 1 need it until rotation is done.
    let mut seen = Vec::new();
    assert_eq!(resumed.rotate(64, |n| seen.push(n)).await.unwrap(), 150);
    assert_eq!(seen, vec![64, 128, 150]);
    assert_eq!(
        resumed.status().await.unwrap().by_key_version,
        vec![(2, 251)]
    );
    drop_kek_line(&place.keys(), 1);
    let after = Vault::open(
        place.reconnect().await,
        KeySource::File(place.keys()),
        VaultOptions::default(),
    )
    .await
    .unwrap();
    let back = after.detokenize_batch(&tokens).await.unwrap();
    for (a, b) in cards.iter().zip(&back) {
        assert_eq!(a.to_line().as_str(), b.to_line().as_str());
    }
    assert_eq!(
        after.detokenize(&late).await.unwrap().pan.digits(),
        cards[0].pan.digits()
    );
}
on_both!(rotation_both, rotation);

async fn missing_key_version(place: &Place) {
    let vault = open(place, VaultOptions::default()).await;
    let token = vault.tokenize(&cards(1)[0]).await.unwrap();
    vault::keygen(&place.keys()).unwrap();
    drop_kek_line(&place.keys(), 1);
    let v = open(place, VaultOptions::default()).await;
    let e = v.detokenize(&token).await.unwrap_err();
    assert!(matches!(e, VaultError::MissingKey { version: 1 }), "{e}");
    assert!(matches!(
        v.rotate(10, |_| {}).await,
        Err(VaultError::MissingKey { version: 1 })
    ));
    // An older key file than the vault's newest key is refused.
    let old = place.dir.path().join("old.keys");
    let text = std::fs::read_to_string(place.keys()).unwrap();
    std::fs::write(&old, text.replace("kek 2 ", "kek 1 ")).unwrap();
    std::fs::set_permissions(&old, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let e = Vault::open(
        place.db.clone(),
        KeySource::File(old),
        VaultOptions::default(),
    )
    .await
    .unwrap_err();
    // Version 1 there is the version-2 key: a wrong key for version 1.
    assert!(matches!(e, VaultError::WrongKey { version: 1 }), "{e}");
}
on_both!(missing_key_version_both, missing_key_version);

async fn key_file_change_reaches_a_running_vault(place: &Place) {
    let vault = open(place, VaultOptions::default()).await;
    vault.tokenize(&cards(1)[0]).await.unwrap();
    vault::keygen(&place.keys()).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        vault.tokenize(&cards(1)[0]).await.unwrap();
        let s = vault.status().await.unwrap();
        if s.active_version == 2 {
            assert!(
                s.by_key_version.contains(&(2, 1)) || s.by_key_version.iter().any(|(v, _)| *v == 2)
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the new key was not picked up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
on_both!(
    key_file_change_both,
    key_file_change_reaches_a_running_vault
);

/// A key file replaced by one the vault was not written with stops the
/// vault on every call (not every other second), until the right file is
/// back.
async fn foreign_key_file_stops_the_vault_until_restored(place: &Place) {
    let vault = open(place, VaultOptions::default()).await;
    vault.tokenize(&cards(1)[0]).await.unwrap();
    let good = std::fs::read(place.keys()).unwrap();
    std::fs::remove_file(place.keys()).unwrap();
    vault::keygen(&place.keys()).unwrap();
    vault.reload_keys().await.unwrap_err();
    for _ in 0..15 {
        let e = vault.tokenize(&cards(1)[0]).await.unwrap_err();
        assert!(e.is_config(), "{e}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    std::fs::write(place.keys(), good).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while vault.tokenize(&cards(1)[0]).await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the restored key file was not taken"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
on_both!(
    foreign_key_file_both,
    foreign_key_file_stops_the_vault_until_restored
);

async fn dedup(place: &Place) {
    let options = VaultOptions {
        fingerprint: true,
        dedup: true,
        ..VaultOptions::default()
    };
    let vault = open(place, options).await;
    let a = Card::parse_line("4111111111111111|12/29|Jane Doe").unwrap();
    let b = Card::parse_line("4111 1111 1111 1111|01/31|Jane Q Doe").unwrap();
    let c = Card::parse_line("5555555555554444|01/31|").unwrap();
    let t1 = vault.tokenize(&a).await.unwrap();
    let last = Card::parse_line("4111111111111111|02/32|Last Seen").unwrap();
    let batch = vault
        .tokenize_batch(&[b.clone(), c.clone(), last.clone()])
        .await
        .unwrap();
    assert_eq!(batch[0], t1);
    assert_eq!(batch[2], t1);
    assert_ne!(batch[1], t1);
    // The record took the newest expiry and name.
    assert_eq!(
        vault.detokenize(&t1).await.unwrap().to_line().as_str(),
        "4111111111111111|02/32|Last Seen"
    );
    // A new card twice in one batch: one token, the later details.
    let x1 = Card::parse_line("6011111111111117|01/30|First").unwrap();
    let x2 = Card::parse_line("6011111111111117|02/31|Second").unwrap();
    let xs = vault.tokenize_batch(&[x1, b.clone(), x2]).await.unwrap();
    assert_eq!((&xs[0], &xs[1]), (&xs[2], &t1));
    assert_eq!(
        vault.detokenize(&xs[0]).await.unwrap().to_line().as_str(),
        "6011111111111117|02/31|Second"
    );
    assert_eq!(
        vault.detokenize(&t1).await.unwrap().to_line().as_str(),
        "4111111111111111|01/31|Jane Q Doe"
    );
    assert_eq!(vault.status().await.unwrap().records, 3);
    // Fingerprints are keyed hashes, not plain hashes of the number.
    let fp: String = sqlx::query("SELECT fingerprint FROM vault_cards WHERE token = $1")
        .bind(t1.as_str())
        .fetch_one(place.db.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(fp.len(), 64);
    // Without de-duplication the same card gets a new token each time.
    let plain = open(place, VaultOptions::default()).await;
    assert_ne!(
        plain.tokenize(&a).await.unwrap(),
        plain.tokenize(&a).await.unwrap()
    );
}
on_both!(dedup_both, dedup);

async fn token_space(place: &Place) {
    // A 13-digit card keeping BIN and last four leaves 3 random digits:
    // collisions are certain, and every token must still be distinct.
    let vault = open(place, VaultOptions::default()).await;
    let card = Card::parse_line("4222222222222|12/29|").unwrap();
    let mut all = std::collections::HashSet::new();
    for _ in 0..10 {
        let tokens = vault.tokenize_batch(&vec![card.clone(); 30]).await.unwrap();
        for t in tokens {
            assert!(all.insert(t.clone()), "token {t} given twice");
        }
    }
    assert_eq!(all.len(), 300);
    // Exhausting the space fails the whole batch: nothing is stored.
    let before = vault.status().await.unwrap().records;
    let e = vault
        .tokenize_batch(&vec![card.clone(); 1000])
        .await
        .unwrap_err();
    assert!(matches!(e, VaultError::TokenSpaceExhausted(_)), "{e}");
    assert_eq!(vault.status().await.unwrap().records, before);
    // Keeping nothing gives full-length random tokens.
    let none = open(
        place,
        VaultOptions {
            format: TokenFormat {
                keep_bin: false,
                keep_last4: false,
            },
            ..VaultOptions::default()
        },
    )
    .await;
    let t = none.tokenize(&card).await.unwrap();
    assert_eq!(t.as_str().len(), 13);
    assert_eq!(
        none.detokenize(&t).await.unwrap().pan.digits(),
        "4222222222222"
    );
}
on_both!(token_space_both, token_space);

async fn purge(place: &Place) {
    let vault = open(place, VaultOptions::default()).await;
    let tokens = vault.tokenize_batch(&cards(10)).await.unwrap();
    let old = 60 * 60 * 24 * 400;
    for t in &tokens[..4] {
        sqlx::query("UPDATE vault_cards SET created_at = created_at - $1 WHERE token = $2")
            .bind(old as i64)
            .bind(t.as_str())
            .execute(place.db.pool())
            .await
            .unwrap();
    }
    assert_eq!(
        vault
            .purge_older_than(Duration::from_secs(60 * 60 * 24 * 365))
            .await
            .unwrap(),
        4
    );
    for t in &tokens[..4] {
        assert!(matches!(
            vault.detokenize(t).await,
            Err(VaultError::UnknownToken(_))
        ));
    }
    assert_eq!(vault.detokenize_batch(&tokens[4..]).await.unwrap().len(), 6);
}
on_both!(purge_both, purge);

async fn cvv_held_once(place: &Place) {
    let options = VaultOptions {
        cvv_ttl: Duration::from_secs(1),
        ..VaultOptions::default()
    };
    let vault = open(place, options).await;
    let card = &cards(1)[0];
    let token = vault
        .tokenize_with_cvv(card, Cvv::parse("737").unwrap())
        .await
        .unwrap();
    let (back, cvv) = vault.detokenize_for_forward(&token).await.unwrap();
    assert_eq!(back.pan.digits(), card.pan.digits());
    assert_eq!(cvv.unwrap().digits(), "737");
    let (_, again) = vault.detokenize_for_forward(&token).await.unwrap();
    assert!(again.is_none());
    let token = vault.tokenize(card).await.unwrap();
    vault.hold_cvv(&token, Cvv::parse("1234").unwrap());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(vault.take_cvv(&token).is_none());
    // Two cards stored, nothing else (a record has no room for a code).
    let rows = sqlx::query("SELECT COUNT(*) FROM vault_cards")
        .fetch_one(place.db.pool())
        .await
        .unwrap();
    assert_eq!(rows.get::<i64, _>(0), 2);
}
on_both!(cvv_both, cvv_held_once);

/// Every form a card number could be written in.
fn forms(pan: &str) -> Vec<Vec<u8>> {
    use base64::Engine;
    let groups: Vec<&str> = pan
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let mut out = vec![
        pan.as_bytes().to_vec(),
        groups.join(" ").into_bytes(),
        groups.join("-").into_bytes(),
    ];
    for engine in [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE,
    ] {
        // base64 at each of the three alignments, minus the partial ends.
        for shift in 0..3 {
            let mut padded = vec![b'x'; shift];
            padded.extend_from_slice(pan.as_bytes());
            let enc = engine.encode(&padded);
            let start = (shift * 4).div_ceil(3) + 1;
            let end = enc.trim_end_matches('=').len().saturating_sub(2);
            if end > start {
                out.push(enc.as_bytes()[start..end].to_vec());
            }
        }
    }
    out
}

/// Looks for every test card number in every form in every file under
/// `dir`; returns how many files it read.
fn scan_for_cards(dir: &Path) -> usize {
    let mut files = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let Ok(bytes) = std::fs::read(&path) else {
            continue; // removed meanwhile (SQLite's -shm / -wal on close)
        };
        files += 1;
        for pan in PANS {
            for form in forms(pan) {
                assert!(
                    !bytes.windows(form.len()).any(|w| w == form.as_slice()),
                    "{} holds a card number as {:?}",
                    path.display(),
                    String::from_utf8_lossy(&form)
                );
            }
        }
    }
    files
}

#[tokio::test]
async fn no_card_number_on_disk_in_any_form() {
    let place = sqlite().await;
    let vault = open(
        &place,
        VaultOptions {
            fingerprint: true,
            ..VaultOptions::default()
        },
    )
    .await;
    let cards = cards(64);
    vault.tokenize_batch(&cards).await.unwrap();
    // While the database is open (write-ahead log present), and after.
    let mut files = scan_for_cards(place.dir.path());
    drop(vault);
    place.db.pool().close().await;
    files += scan_for_cards(place.dir.path());
    assert!(files >= 4, "{files}");
    // The check can fail: it finds a number that is there.
    let probe = place.dir.path().join("probe");
    std::fs::write(&probe, "x 4111-1111-1111-1111 y").unwrap();
    let bytes = std::fs::read(&probe).unwrap();
    assert!(forms("4111111111111111")
        .iter()
        .any(|f| bytes.windows(f.len()).any(|w| w == f.as_slice())));
    use base64::Engine;
    for prefix in ["", "a", "ab", "{\"pan\":\""] {
        let b64 = base64::engine::general_purpose::STANDARD
            .encode(format!("{prefix}4111111111111111\"}}"));
        assert!(
            forms("4111111111111111")
                .iter()
                .any(|f| b64.as_bytes().windows(f.len()).any(|w| w == f.as_slice())),
            "{prefix}"
        );
    }
}

async fn group_commit(place: &Place) {
    let vault = std::sync::Arc::new(open(place, VaultOptions::default()).await);
    let tokenizer = vault::Tokenizer::spawn(vault.clone(), 64);
    let cards = cards(300);
    let mut tasks = Vec::new();
    for card in cards.clone() {
        let t = tokenizer.clone();
        tasks.push(tokio::spawn(async move { t.tokenize(card).await }));
    }
    let mut tokens = Vec::new();
    for task in tasks {
        tokens.push(task.await.unwrap().unwrap());
    }
    let back = vault.detokenize_batch(&tokens).await.unwrap();
    for (a, b) in cards.iter().zip(&back) {
        assert_eq!(a.to_line().as_str(), b.to_line().as_str());
    }
    // A batch that cannot be stored whole: each caller gets its own
    // answer, and every token given out is real and distinct.
    let small = Card::parse_line("4222222222222|12/29|").unwrap();
    let mut tasks = Vec::new();
    for _ in 0..1200 {
        let t = tokenizer.clone();
        let c = small.clone();
        tasks.push(tokio::spawn(async move { t.tokenize(c).await }));
    }
    let (mut ok, mut exhausted) = (std::collections::HashSet::new(), 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(t) => assert!(ok.insert(t)),
            Err(VaultError::TokenSpaceExhausted(_)) => exhausted += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(exhausted > 0 && ok.len() > 300, "{} {exhausted}", ok.len());
    let ok: Vec<Token> = ok.into_iter().collect();
    assert_eq!(vault.detokenize_batch(&ok).await.unwrap().len(), ok.len());
}
on_both!(group_commit_both, group_commit);
