//! The key hierarchy: key-encryption keys (KEKs) by version, and the
//! fingerprint key.
//!
//! Keys come from a key file (or the same text in an environment
//! variable), one key a line:
//!
//! ```text
//! # Rampart vault keys: keep secret, back up, never commit.
//! kek 1 <base64 of 32 random bytes>
//! kek 2 <base64 of 32 random bytes>
//! fingerprint <base64 of 32 random bytes>
//! ```
//!
//! The highest KEK version is the active one: new records are wrapped with
//! it, and `rotate` re-wraps older records to it. Each KEK has a check
//! value (an HMAC of a fixed label under the key) that the database
//! records, so a wrong key is told apart from a damaged record.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ring::aead::{LessSafeKey, UnboundKey, AES_256_GCM};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::VaultError;

/// One key-encryption key.
pub struct Kek {
    pub version: u32,
    pub(crate) aead: LessSafeKey,
    check: [u8; 16],
}

impl Kek {
    fn new(version: u32, bytes: &[u8; 32]) -> Kek {
        let aead = LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, bytes).expect("32 bytes is an AES-256 key"),
        );
        let tag = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, bytes),
            b"rampart vault key check v1",
        );
        let mut check = [0u8; 16];
        check.copy_from_slice(&tag.as_ref()[..16]);
        Kek {
            version,
            aead,
            check,
        }
    }

    /// The key check value as hex (safe to store: an HMAC output).
    pub fn check_value(&self) -> String {
        self.check.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kek(v{}, [redacted])", self.version)
    }
}

/// All keys the vault holds.
pub struct KeyRing {
    keks: BTreeMap<u32, Kek>,
    fingerprint: Option<hmac::Key>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("kek_versions", &self.keks.keys().collect::<Vec<_>>())
            .field("fingerprint", &self.fingerprint.is_some())
            .finish()
    }
}

fn decode_key(text: &str, what: &str) -> Result<Zeroizing<[u8; 32]>, VaultError> {
    let raw = Zeroizing::new(
        STANDARD
            .decode(text.trim())
            .map_err(|_| VaultError::KeyFile(format!("{what}: not base64")))?,
    );
    if raw.len() != 32 {
        return Err(VaultError::KeyFile(format!(
            "{what}: must be 32 bytes, found {}",
            raw.len()
        )));
    }
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&raw);
    Ok(key)
}

impl KeyRing {
    /// Parses key file text (lines, or `;`-separated in an environment
    /// variable). Messages name the line, never the key.
    pub fn parse(text: &str) -> Result<KeyRing, VaultError> {
        let mut keks = BTreeMap::new();
        let mut fingerprint = None;
        let entries = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim_start().starts_with('#'))
            .flat_map(|(i, l)| l.split(';').map(move |e| (i, e)));
        for (i, line) in entries {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let at = format!("key line {}", i + 1);
            let mut words = line.split_whitespace();
            match (words.next(), words.next(), words.next(), words.next()) {
                (Some("kek"), Some(v), Some(k), None) => {
                    let version: u32 = v.parse().ok().filter(|v| *v > 0).ok_or_else(|| {
                        VaultError::KeyFile(format!("{at}: the version must be a number from 1"))
                    })?;
                    let key = decode_key(k, &at)?;
                    if keks.insert(version, Kek::new(version, &key)).is_some() {
                        return Err(VaultError::KeyFile(format!(
                            "{at}: key version {version} appears twice"
                        )));
                    }
                }
                (Some("fingerprint"), Some(k), None, None) => {
                    let key = decode_key(k, &at)?;
                    fingerprint = Some(hmac::Key::new(hmac::HMAC_SHA256, key.as_ref()));
                }
                _ => {
                    return Err(VaultError::KeyFile(format!(
                        "{at}: expected `kek VERSION BASE64` or `fingerprint BASE64`"
                    )))
                }
            }
        }
        if keks.is_empty() {
            return Err(VaultError::KeyFile(
                "no `kek` line: create keys with `rampart vault keygen FILE`".into(),
            ));
        }
        Ok(KeyRing { keks, fingerprint })
    }

    /// Reads a key file; refuses one that others can read.
    pub fn load(path: &Path) -> Result<KeyRing, VaultError> {
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| VaultError::KeyFile(format!("{}: {e}", path.display())))?,
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .map_err(|e| VaultError::KeyFile(format!("{}: {e}", path.display())))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(VaultError::KeyFile(format!(
                    "{}: readable by others (mode {:o}); run chmod 600",
                    path.display(),
                    mode & 0o777
                )));
            }
        }
        KeyRing::parse(&text).map_err(|e| match e {
            VaultError::KeyFile(m) => VaultError::KeyFile(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// The active (highest) KEK.
    pub fn active(&self) -> &Kek {
        self.keks
            .values()
            .next_back()
            .expect("a key ring has a KEK")
    }

    pub fn kek(&self, version: u32) -> Option<&Kek> {
        self.keks.get(&version)
    }

    pub fn keks(&self) -> impl Iterator<Item = &Kek> {
        self.keks.values()
    }

    pub(crate) fn fingerprint_key(&self) -> Option<&hmac::Key> {
        self.fingerprint.as_ref()
    }
}

/// Creates the key file with a first KEK and a fingerprint key, or, when
/// it exists, appends a new KEK version (the new active key). Returns the
/// new version. The file is written beside itself and renamed, mode 0600.
pub fn keygen(path: &Path) -> Result<u32, VaultError> {
    let rng = SystemRandom::new();
    let fresh = || -> Result<String, VaultError> {
        let mut k = Zeroizing::new([0u8; 32]);
        rng.fill(k.as_mut())
            .map_err(|_| VaultError::KeyFile("the system random generator failed".into()))?;
        Ok(STANDARD.encode(k.as_ref()))
    };
    let (mut text, version) = if path.exists() {
        let ring = KeyRing::load(path)?;
        let old = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| VaultError::KeyFile(format!("{}: {e}", path.display())))?,
        );
        let mut text = Zeroizing::new(old.to_string());
        if !text.ends_with('\n') {
            text.push('\n');
        }
        (text, ring.active().version + 1)
    } else {
        let mut text = Zeroizing::new(String::from(
            "# Rampart vault keys: keep secret, back up, never commit.\n\
             # The highest kek version is active; `rampart vault rotate` re-wraps\n\
             # older records to it, after which older kek lines may be removed.\n",
        ));
        text.push_str(&format!("fingerprint {}\n", fresh()?.as_str()));
        (text, 1)
    };
    text.push_str(&format!("kek {version} {}\n", fresh()?.as_str()));
    let tmp = path.with_extension("tmp-keygen");
    let write = || -> std::io::Result<()> {
        // A leftover from an interrupted keygen may have other permissions:
        // the new file is always created afresh, 0600 from the start.
        match std::fs::remove_file(&tmp) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| VaultError::KeyFile(format!("{}: {e}", path.display())))?;
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keygen_creates_then_adds_versions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.keys");
        assert_eq!(keygen(&path).unwrap(), 1);
        assert_eq!(keygen(&path).unwrap(), 2);
        let ring = KeyRing::load(&path).unwrap();
        assert_eq!(ring.active().version, 2);
        assert!(ring.kek(1).is_some() && ring.fingerprint_key().is_some());
        assert_ne!(
            ring.kek(1).unwrap().check_value(),
            ring.kek(2).unwrap().check_value()
        );
        let dbg = format!("{ring:?} {:?}", ring.active());
        let text = std::fs::read_to_string(&path).unwrap();
        let secret = text.lines().last().unwrap().split(' ').nth(2).unwrap();
        assert!(!dbg.contains(secret), "{dbg}");
    }

    #[test]
    fn bad_key_text_is_a_clear_error() {
        for (text, want) in [
            ("", "no `kek` line"),
            ("kek 1 notbase64!", "not base64"),
            ("kek 1 AAAA", "must be 32 bytes"),
            (
                "kek 0 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                "version",
            ),
            ("kek x", "expected"),
        ] {
            let e = KeyRing::parse(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
        let k = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        let e = KeyRing::parse(&format!("kek 1 {k};kek 1 {k}"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("twice"), "{e}");
    }

    #[test]
    fn a_leftover_temporary_file_does_not_lend_its_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.keys");
        let tmp = path.with_extension("tmp-keygen");
        std::fs::write(&tmp, "junk").unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o666)).unwrap();
        keygen(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!tmp.exists());
        KeyRing::load(&path).unwrap();
    }

    #[test]
    fn a_key_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.keys");
        keygen(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = KeyRing::load(&path).unwrap_err().to_string();
        assert!(e.contains("chmod 600"), "{e}");
    }
}
