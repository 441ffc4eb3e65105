//! `vault`: Rampart's card vault.
//!
//! It turns a card (number, expiry, holder name) into a [`Token`] that a
//! shop can keep in place of the card number, stores the card encrypted
//! (envelope encryption: a random AES-256-GCM data key per record, wrapped
//! by a versioned key-encryption key), and gives the card back for a
//! token. It also owns key versions and online rotation, keyed-hash
//! fingerprints for de-duplication, retention and purge, the in-memory
//! hold for security codes, and [`leak`] detection of card numbers in
//! text. Storage goes through [`store::Database`] (SQLite or PostgreSQL).
//!
//! It knows nothing about HTTP: the gateway's stages and the CLI call it.
//! Card data never leaves this crate in clear except as the return value
//! of [`Vault::detokenize`]; every secret-holding type wipes itself on drop
//! and prints redacted through `Debug`.
//!
//! How the request path uses it:
//! - inline tokenization (checkout POST): one `Arc<Vault>` per process and
//!   a [`Tokenizer`] (group commit), `tokenizer.tokenize(card)` per card
//!   field found, then [`Vault::hold_cvv`] for its security code, which is
//!   held in memory for one use and never stored;
//! - outbound detokenization: [`Vault::detokenize_for_forward`] gives the
//!   card and takes the held security code (once);
//! - the outbound proxy asks [`policy::DetokenizePolicy`] whether a token
//!   may be swapped back for a destination and field;
//! - leak prevention: [`leak::mask_cards_in_bytes`] on response bodies and
//!   log lines;
//! - every [`VaultError`] is one line without card data, fit for an event;
//!   [`VaultError::is_config`] tells configuration faults from bad input.

#![forbid(unsafe_code)]

pub mod card;
pub mod cvv;
mod envelope;
pub mod keys;
pub mod leak;
pub mod policy;
pub mod token;
pub mod tokenizer;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use store::sqlx::{self, Row};
use store::{Backend, Database, StoreError};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

pub use card::{Card, Cvv, Expiry, Pan};
pub use cvv::CvvHold;
pub use keys::{keygen, KeyRing};
pub use token::{Token, TokenFormat};
pub use tokenizer::Tokenizer;

use envelope::Entropy;

/// What went wrong, in one line. No message ever quotes card data.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("invalid card: {0}")]
    InvalidCard(&'static str),
    #[error("invalid token: {0}")]
    InvalidToken(String),
    #[error("unknown token {0}")]
    UnknownToken(Token),
    #[error("the record for token {0} is damaged or was tampered with (it fails authentication)")]
    Tampered(Token),
    #[error("wrong key: key version {version} in the key file is not the key this vault was written with")]
    WrongKey { version: u32 },
    #[error("key version {version} is not in the key file (records still use it: keep it until `rampart vault rotate` has finished)")]
    MissingKey { version: u32 },
    #[error("the key file is out of date: its newest key is version {active} but the vault already uses version {newest}")]
    StaleKeyFile { newest: u32, active: u32 },
    #[error("vault keys: {0}")]
    KeyFile(String),
    #[error("fingerprints are enabled but the key file has no `fingerprint` line")]
    NoFingerprintKey,
    #[error("no free token for this card's BIN and last four digits after {0} draws")]
    TokenSpaceExhausted(usize),
    #[error("the vault's committing task has stopped")]
    Stopped,
    #[error("cryptography: {0}")]
    Crypto(&'static str),
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for VaultError {
    fn from(e: sqlx::Error) -> Self {
        VaultError::Store(StoreError::Query(e))
    }
}

impl VaultError {
    /// True for errors in configuration (keys, database URL) rather than in
    /// the data asked about.
    pub fn is_config(&self) -> bool {
        matches!(
            self,
            VaultError::WrongKey { .. }
                | VaultError::MissingKey { .. }
                | VaultError::StaleKeyFile { .. }
                | VaultError::KeyFile(_)
                | VaultError::NoFingerprintKey
                | VaultError::Store(StoreError::Connect { .. })
                | VaultError::Store(StoreError::Migration { .. })
        )
    }
}

/// Where the key-encryption keys come from.
pub enum KeySource {
    /// A key file, re-read when it changes (checked at most once a second),
    /// so a new key version reaches a running gateway without a restart.
    File(PathBuf),
    /// Key file text held elsewhere (an environment variable).
    Text(Zeroizing<String>),
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::File(p) => write!(f, "KeySource::File({})", p.display()),
            KeySource::Text(_) => f.write_str("KeySource::Text([redacted])"),
        }
    }
}

/// How the vault behaves.
#[derive(Debug, Clone)]
pub struct VaultOptions {
    /// Which parts of the card number tokens keep.
    pub format: TokenFormat,
    /// Store a keyed-hash (HMAC-SHA256) fingerprint of each card number.
    pub fingerprint: bool,
    /// With fingerprints: tokenizing a card number already in the vault
    /// returns its existing token (the record takes the new expiry and
    /// holder name).
    pub dedup: bool,
    /// How long a security code is held in memory for its one use.
    pub cvv_ttl: Duration,
    /// How many security codes are held at most.
    pub cvv_capacity: usize,
}

impl Default for VaultOptions {
    fn default() -> Self {
        VaultOptions {
            format: TokenFormat::default(),
            fingerprint: false,
            dedup: false,
            cvv_ttl: Duration::from_secs(120),
            cvv_capacity: 10_000,
        }
    }
}

const MIGRATIONS: &[&str] = &[
    "CREATE TABLE vault_keys (version BIGINT PRIMARY KEY, check_value TEXT NOT NULL, created_at BIGINT NOT NULL);
     CREATE TABLE vault_cards (token TEXT PRIMARY KEY, key_version BIGINT NOT NULL, wrapped_key {blob} NOT NULL, sealed {blob} NOT NULL, fingerprint TEXT, created_at BIGINT NOT NULL);
     CREATE INDEX vault_cards_key_version ON vault_cards (key_version);
     CREATE INDEX vault_cards_created_at ON vault_cards (created_at);
     CREATE INDEX vault_cards_fingerprint ON vault_cards (fingerprint)",
];

/// Rows per multi-row statement.
const CHUNK: usize = 64;

struct Keys {
    ring: Arc<KeyRing>,
    checked: Instant,
    modified: Option<SystemTime>,
    /// Why the last re-read of a changed key file failed: until a re-read
    /// succeeds, the vault refuses to work (rather than go on writing under
    /// keys the operator has replaced).
    failed: Option<String>,
}

/// The card vault.
pub struct Vault {
    db: Database,
    source: KeySource,
    options: VaultOptions,
    keys: Mutex<Keys>,
    entropy: Mutex<Entropy>,
    cvv: CvvHold,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("db", &self.db)
            .field("source", &self.source)
            .field("options", &self.options)
            .finish()
    }
}

/// How many records each key version wraps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultStatus {
    pub records: u64,
    pub by_key_version: Vec<(u32, u64)>,
    pub active_version: u32,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn placeholders(rows: usize, cols: usize, first: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            s.push(',');
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push(',');
            }
            s.push_str(&format!("${}", first + r * cols + c));
        }
        s.push(')');
    }
    s
}

fn list(n: usize, first: usize) -> String {
    (0..n)
        .map(|i| format!("${}", first + i))
        .collect::<Vec<_>>()
        .join(",")
}

/// A record about to be inserted.
struct Pending {
    index: usize,
    token: Token,
    wrapped_key: Vec<u8>,
    sealed: Vec<u8>,
}

impl Vault {
    /// Opens the vault in `db` (creating its tables), with keys from
    /// `source`. Fails with [`VaultError::WrongKey`] when a key version
    /// differs from the one the vault was written with.
    pub async fn open(
        db: Database,
        source: KeySource,
        options: VaultOptions,
    ) -> Result<Vault, VaultError> {
        db.migrate("vault", MIGRATIONS).await?;
        let (ring, modified) = Self::read_keys(&source)?;
        if options.fingerprint && ring.fingerprint_key().is_none() {
            return Err(VaultError::NoFingerprintKey);
        }
        let vault = Vault {
            cvv: CvvHold::new(options.cvv_ttl, options.cvv_capacity),
            db,
            source,
            options,
            keys: Mutex::new(Keys {
                ring: Arc::new(ring),
                checked: Instant::now(),
                modified,
                failed: None,
            }),
            entropy: Mutex::new(Entropy::new()),
        };
        let ring = lock(&vault.keys).ring.clone();
        vault.register(&ring).await?;
        Ok(vault)
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    pub fn options(&self) -> &VaultOptions {
        &self.options
    }

    fn read_keys(source: &KeySource) -> Result<(KeyRing, Option<SystemTime>), VaultError> {
        match source {
            KeySource::File(path) => {
                let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
                Ok((KeyRing::load(path)?, modified))
            }
            KeySource::Text(text) => Ok((KeyRing::parse(text)?, None)),
        }
    }

    /// Checks `ring` against the key check values the database holds and
    /// records the versions it does not know yet.
    async fn register(&self, ring: &KeyRing) -> Result<(), VaultError> {
        let rows = sqlx::query("SELECT version, check_value FROM vault_keys")
            .fetch_all(self.db.pool())
            .await?;
        let mut known = HashMap::new();
        for row in rows {
            known.insert(
                row.try_get::<i64, _>(0)? as u32,
                row.try_get::<String, _>(1)?,
            );
        }
        for kek in ring.keks() {
            match known.get(&kek.version) {
                Some(check) => {
                    if !bool::from(check.as_bytes().ct_eq(kek.check_value().as_bytes())) {
                        return Err(VaultError::WrongKey {
                            version: kek.version,
                        });
                    }
                }
                None => {
                    sqlx::query(
                        "INSERT INTO vault_keys (version, check_value, created_at) VALUES ($1, $2, $3) ON CONFLICT (version) DO NOTHING",
                    )
                    .bind(i64::from(kek.version))
                    .bind(kek.check_value())
                    .bind(unix_now())
                    .execute(self.db.pool())
                    .await?;
                    // Another process may have registered a different key
                    // under this version meanwhile.
                    let row = sqlx::query("SELECT check_value FROM vault_keys WHERE version = $1")
                        .bind(i64::from(kek.version))
                        .fetch_one(self.db.pool())
                        .await?;
                    let check: String = row.try_get(0)?;
                    if !bool::from(check.as_bytes().ct_eq(kek.check_value().as_bytes())) {
                        return Err(VaultError::WrongKey {
                            version: kek.version,
                        });
                    }
                }
            }
        }
        let active = ring.active().version;
        if let Some(newest) = known.keys().copied().max() {
            if newest > active {
                return Err(VaultError::StaleKeyFile { newest, active });
            }
        }
        Ok(())
    }

    /// The current key ring, re-reading the key file if it changed (looked
    /// at no more than once a second).
    async fn keys(&self) -> Result<Arc<KeyRing>, VaultError> {
        let KeySource::File(path) = &self.source else {
            return Ok(lock(&self.keys).ring.clone());
        };
        let (ring, stale) = {
            let mut keys = lock(&self.keys);
            if keys.checked.elapsed() < Duration::from_secs(1) {
                if let Some(why) = &keys.failed {
                    return Err(VaultError::KeyFile(why.clone()));
                }
                (keys.ring.clone(), false)
            } else {
                keys.checked = Instant::now();
                let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
                (
                    keys.ring.clone(),
                    modified != keys.modified || keys.failed.is_some(),
                )
            }
        };
        if !stale {
            return Ok(ring);
        }
        let read = match Self::read_keys(&self.source) {
            Ok((fresh, modified)) => self.register(&fresh).await.map(|()| (fresh, modified)),
            Err(e) => Err(e),
        };
        let mut keys = lock(&self.keys);
        match read {
            Ok((fresh, modified)) => {
                let fresh = Arc::new(fresh);
                keys.ring = fresh.clone();
                keys.modified = modified;
                keys.failed = None;
                Ok(fresh)
            }
            Err(e) => {
                keys.failed = Some(format!("the changed key file cannot be used: {e}"));
                Err(e)
            }
        }
    }

    /// Re-reads the key file now (after `keygen` added a version).
    pub async fn reload_keys(&self) -> Result<(), VaultError> {
        lock(&self.keys).checked = Instant::now()
            .checked_sub(Duration::from_secs(2))
            .unwrap_or_else(Instant::now);
        lock(&self.keys).modified = None;
        self.keys().await.map(|_| ())
    }

    fn fingerprint(&self, ring: &KeyRing, pan: &Pan) -> Result<Option<String>, VaultError> {
        if !self.options.fingerprint {
            return Ok(None);
        }
        let key = ring.fingerprint_key().ok_or(VaultError::NoFingerprintKey)?;
        let tag = ring::hmac::sign(key, pan.digits().as_bytes());
        Ok(Some(
            tag.as_ref().iter().map(|b| format!("{b:02x}")).collect(),
        ))
    }

    /// Tokenizes one card.
    pub async fn tokenize(&self, card: &Card) -> Result<Token, VaultError> {
        let mut tokens = self.tokenize_batch(std::slice::from_ref(card)).await?;
        Ok(tokens.pop().expect("one token per card"))
    }

    /// Tokenizes one card and holds its security code in memory for one
    /// use within the configured time to live (never stored).
    pub async fn tokenize_with_cvv(&self, card: &Card, cvv: Cvv) -> Result<Token, VaultError> {
        let token = self.tokenize(card).await?;
        self.hold_cvv(&token, cvv);
        Ok(token)
    }

    /// Holds a security code for `token` in memory for one use within the
    /// configured time to live (never stored); for cards tokenized through
    /// a [`Tokenizer`].
    pub fn hold_cvv(&self, token: &Token, cvv: Cvv) {
        self.cvv.put(token, cvv);
    }

    /// The security code held for `token`, taken (it can be taken once).
    pub fn take_cvv(&self, token: &Token) -> Option<Cvv> {
        self.cvv.take(token)
    }

    /// Tokenizes cards in one transaction: when this returns Ok, every
    /// token is durably stored (committed); on error, none is.
    pub async fn tokenize_batch(&self, cards: &[Card]) -> Result<Vec<Token>, VaultError> {
        let ring = self.keys().await?;
        let now = unix_now();
        let mut fingerprints = Vec::with_capacity(cards.len());
        for card in cards {
            fingerprints.push(self.fingerprint(&ring, &card.pan)?);
        }
        let mut result: Vec<Option<Token>> = vec![None; cards.len()];
        // With de-duplication: the last card with each fingerprint in this
        // batch stands for the others (the newest expiry and name win),
        // and which fingerprints already have a token.
        let mut last_of: HashMap<&str, usize> = HashMap::new();
        let mut same_as: Vec<Option<usize>> = vec![None; cards.len()];
        let mut existing: HashMap<String, Token> = HashMap::new();
        if self.options.dedup {
            for (i, fp) in fingerprints.iter().enumerate() {
                last_of.insert(fp.as_deref().expect("dedup implies fingerprints"), i);
            }
            for (i, fp) in fingerprints.iter().enumerate() {
                let last = last_of[fp.as_deref().expect("dedup implies fingerprints")];
                if last != i {
                    same_as[i] = Some(last);
                }
            }
            let wanted: Vec<&str> = last_of.keys().copied().collect();
            for chunk in wanted.chunks(500) {
                let sql = format!(
                    "SELECT fingerprint, token FROM vault_cards WHERE fingerprint IN ({})",
                    list(chunk.len(), 1)
                );
                let mut q = sqlx::query(&sql);
                for fp in chunk {
                    q = q.bind(*fp);
                }
                for row in q.fetch_all(self.db.pool()).await? {
                    existing.insert(row.try_get(0)?, Token::from_stored(row.try_get(1)?));
                }
            }
        }

        let kek = ring.active();
        let mut updates = Vec::new();
        let mut to_insert: Vec<usize> = Vec::new();
        for i in 0..cards.len() {
            if same_as[i].is_some() {
                continue;
            }
            match fingerprints[i].as_deref().and_then(|fp| existing.get(fp)) {
                Some(token) => {
                    let sealed = envelope::seal(&cards[i], token, kek, &mut lock(&self.entropy))?;
                    updates.push((i, token.clone(), sealed));
                }
                None => to_insert.push(i),
            }
        }

        let mut tx = self.db.pool().begin().await?;
        for (i, token, sealed) in updates {
            let done = sqlx::query(
                "UPDATE vault_cards SET key_version = $1, wrapped_key = $2, sealed = $3, created_at = $4 WHERE token = $5",
            )
            .bind(i64::from(kek.version))
            .bind(sealed.wrapped_key.as_slice())
            .bind(sealed.sealed.as_slice())
            .bind(now)
            .bind(token.as_str())
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 1 {
                result[i] = Some(token);
            } else {
                // Purged since it was looked up: the card gets a new token.
                to_insert.push(i);
            }
        }
        const DRAWS: usize = 16;
        let mut draws = 0;
        while !to_insert.is_empty() {
            draws += 1;
            if draws > DRAWS {
                return Err(VaultError::TokenSpaceExhausted(DRAWS));
            }
            let pending = self.draw_and_seal(cards, &to_insert, kek)?;
            let mut stored: HashSet<String> = HashSet::with_capacity(pending.len());
            for chunk in pending.chunks(CHUNK) {
                let sql = format!(
                    "INSERT INTO vault_cards (token, key_version, wrapped_key, sealed, fingerprint, created_at) VALUES {} ON CONFLICT (token) DO NOTHING RETURNING token",
                    placeholders(chunk.len(), 6, 1)
                );
                let mut q = sqlx::query(&sql);
                for p in chunk {
                    q = q
                        .bind(p.token.as_str())
                        .bind(i64::from(kek.version))
                        .bind(p.wrapped_key.as_slice())
                        .bind(p.sealed.as_slice())
                        .bind(fingerprints[p.index].as_deref())
                        .bind(now);
                }
                for row in q.fetch_all(&mut *tx).await? {
                    stored.insert(row.try_get(0)?);
                }
            }
            to_insert.clear();
            for p in pending {
                if stored.contains(p.token.as_str()) {
                    result[p.index] = Some(p.token);
                } else {
                    to_insert.push(p.index);
                }
            }
        }
        tx.commit().await?;
        for i in 0..cards.len() {
            if let Some(j) = same_as[i] {
                result[i] = result[j].clone();
            }
        }
        Ok(result
            .into_iter()
            .map(|t| t.expect("every card got a token"))
            .collect())
    }

    /// Draws distinct tokens for `indices` and seals their cards.
    fn draw_and_seal(
        &self,
        cards: &[Card],
        indices: &[usize],
        kek: &keys::Kek,
    ) -> Result<Vec<Pending>, VaultError> {
        let mut entropy = lock(&self.entropy);
        let mut seen = HashSet::with_capacity(indices.len());
        let mut out = Vec::with_capacity(indices.len());
        for &index in indices {
            let mut tries = 0;
            let token = loop {
                let t = self
                    .options
                    .format
                    .draw(&cards[index].pan, &mut entropy.bytes())
                    .ok_or(VaultError::Crypto("the system random generator failed"))?;
                if seen.insert(t.clone()) {
                    break t;
                }
                tries += 1;
                if tries > 16 {
                    return Err(VaultError::TokenSpaceExhausted(tries));
                }
            };
            let sealed = envelope::seal(&cards[index], &token, kek, &mut entropy)?;
            out.push(Pending {
                index,
                token,
                wrapped_key: sealed.wrapped_key,
                sealed: sealed.sealed,
            });
        }
        Ok(out)
    }

    /// The card for one token.
    pub async fn detokenize(&self, token: &Token) -> Result<Card, VaultError> {
        let mut cards = self.detokenize_batch(std::slice::from_ref(token)).await?;
        Ok(cards.pop().expect("one card per token"))
    }

    /// The card for one token and the security code held for it (taken).
    pub async fn detokenize_for_forward(
        &self,
        token: &Token,
    ) -> Result<(Card, Option<Cvv>), VaultError> {
        let card = self.detokenize(token).await?;
        Ok((card, self.take_cvv(token)))
    }

    /// The cards for `tokens`, in order: all of them or an error (the
    /// first unknown, unreadable or damaged record), never a part.
    pub async fn detokenize_batch(&self, tokens: &[Token]) -> Result<Vec<Card>, VaultError> {
        let ring = self.keys().await?;
        let mut rows: HashMap<String, (u32, Vec<u8>, Vec<u8>)> =
            HashMap::with_capacity(tokens.len());
        let unique: Vec<&str> = tokens
            .iter()
            .map(Token::as_str)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        for chunk in unique.chunks(500) {
            let sql = format!(
                "SELECT token, key_version, wrapped_key, sealed FROM vault_cards WHERE token IN ({})",
                list(chunk.len(), 1)
            );
            let mut q = sqlx::query(&sql);
            for t in chunk {
                q = q.bind(*t);
            }
            for row in q.fetch_all(self.db.pool()).await? {
                rows.insert(
                    row.try_get(0)?,
                    (
                        row.try_get::<i64, _>(1)? as u32,
                        row.try_get(2)?,
                        row.try_get(3)?,
                    ),
                );
            }
        }
        let mut cards = Vec::with_capacity(tokens.len());
        for token in tokens {
            let (version, wrapped, sealed) = rows
                .get(token.as_str())
                .ok_or_else(|| VaultError::UnknownToken(token.clone()))?;
            let kek = ring
                .kek(*version)
                .ok_or(VaultError::MissingKey { version: *version })?;
            cards.push(envelope::open(token, kek, wrapped, sealed)?);
        }
        Ok(cards)
    }

    /// Re-wraps up to `batch` records that are not under the active key
    /// version, in one transaction. Returns how many it re-wrapped (0 once
    /// rotation is complete). Safe to run while tokenization and
    /// detokenization go on, and to interrupt at any point.
    pub async fn rotate_batch(&self, batch: usize) -> Result<usize, VaultError> {
        let ring = self.keys().await?;
        let active = ring.active();
        // Versions only grow and no record is above the active one (a key
        // file older than the vault is refused), so `<` finds every record
        // to re-wrap through the key_version index: each batch costs its
        // own size, not a scan of the table.
        let rows = sqlx::query(
            "SELECT token, key_version, wrapped_key FROM vault_cards WHERE key_version < $1 LIMIT $2",
        )
        .bind(i64::from(active.version))
        .bind(batch.max(1) as i64)
        .fetch_all(self.db.pool())
        .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let mut rewrapped = Vec::with_capacity(rows.len());
        {
            let mut entropy = lock(&self.entropy);
            for row in &rows {
                let token = Token::from_stored(row.try_get(0)?);
                let version = row.try_get::<i64, _>(1)? as u32;
                let wrapped: Vec<u8> = row.try_get(2)?;
                let old = ring
                    .kek(version)
                    .ok_or(VaultError::MissingKey { version })?;
                let new = envelope::rewrap(&token, old, active, &wrapped, &mut entropy)?;
                rewrapped.push((token, version, new));
            }
        }
        let mut tx = self.db.pool().begin().await?;
        for (token, old_version, wrapped) in &rewrapped {
            // Only if nobody changed the record meanwhile (a de-duplicated
            // tokenization re-seals it under the active key itself).
            sqlx::query(
                "UPDATE vault_cards SET key_version = $1, wrapped_key = $2 WHERE token = $3 AND key_version = $4",
            )
            .bind(i64::from(active.version))
            .bind(wrapped.as_slice())
            .bind(token.as_str())
            .bind(i64::from(*old_version))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(rewrapped.len())
    }

    /// Re-wraps every record to the active key version, `batch` records a
    /// transaction; `progress` hears the running total after each batch.
    pub async fn rotate(
        &self,
        batch: usize,
        mut progress: impl FnMut(u64),
    ) -> Result<u64, VaultError> {
        let mut total = 0u64;
        loop {
            let n = self.rotate_batch(batch).await?;
            if n == 0 {
                return Ok(total);
            }
            total += n as u64;
            progress(total);
        }
    }

    /// Record counts per key version.
    pub async fn status(&self) -> Result<VaultStatus, VaultError> {
        let ring = self.keys().await?;
        let rows = sqlx::query("SELECT key_version, COUNT(*) FROM vault_cards GROUP BY key_version ORDER BY key_version")
            .fetch_all(self.db.pool())
            .await?;
        let mut by_key_version = Vec::new();
        let mut records = 0;
        for row in rows {
            let n = row.try_get::<i64, _>(1)? as u64;
            records += n;
            by_key_version.push((row.try_get::<i64, _>(0)? as u32, n));
        }
        Ok(VaultStatus {
            records,
            by_key_version,
            active_version: ring.active().version,
        })
    }

    /// Deletes records stored (or last re-tokenized) more than `age` ago.
    /// On SQLite the freed pages are overwritten and the write-ahead log
    /// truncated, so the ciphertext does not linger in the file.
    pub async fn purge_older_than(&self, age: Duration) -> Result<u64, VaultError> {
        let cutoff = unix_now() - age.as_secs() as i64;
        let mut conn = self.db.pool().acquire().await?;
        let sqlite = self.db.backend() == Backend::Sqlite;
        if sqlite {
            sqlx::query("PRAGMA secure_delete = ON")
                .execute(&mut *conn)
                .await?;
        }
        let done = sqlx::query("DELETE FROM vault_cards WHERE created_at < $1")
            .bind(cutoff)
            .execute(&mut *conn)
            .await?;
        if sqlite {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&mut *conn)
                .await?;
        }
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_number_in_order() {
        assert_eq!(super::placeholders(2, 2, 1), "($1,$2),($3,$4)");
        assert_eq!(super::list(3, 2), "$2,$3,$4");
    }
}
