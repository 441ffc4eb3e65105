//! Installing the OWASP Core Rule Set under the data directory
//! (`rampart rules install`): from a directory, a release tarball or a
//! URL, verified by SHA-256 before anything is put in place.
//!
//! Verification: the *content digest* of a rule set is the SHA-256 over
//! `crs-setup.conf.example` and every file under `rules/`, in sorted path
//! order, each as `path NUL length content`. It does not depend on how the
//! release was packed, so a tarball, a git checkout and a distribution's
//! copy of the same release agree. Releases Rampart knows are pinned by
//! that digest in [`PINNED`]; anything else needs the SHA-256 of its
//! tarball given explicitly.
//!
//! The install goes to `DATA_DIR/crs/.incoming` first and is renamed to
//! `DATA_DIR/crs/current` only once verified: a failed install leaves the
//! previous rule set in place.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// A release Rampart knows.
pub struct PinnedRelease {
    pub version: &'static str,
    pub url: &'static str,
    /// Content digest (see the module documentation), lower-case hex.
    pub content_sha256: &'static str,
}

/// Releases verified by content digest.
pub const PINNED: &[PinnedRelease] = &[PinnedRelease {
    version: "4.28.0",
    url: "https://github.com/coreruleset/coreruleset/archive/refs/tags/v4.28.0.tar.gz",
    content_sha256: "137032c92f502d7bafef666374805276cd6e17992eb0c9212e601284ad1ba919",
}];

/// The release `rampart rules install` fetches without `--from`.
pub fn default_release() -> &'static PinnedRelease {
    &PINNED[0]
}

/// What was installed.
#[derive(Debug, Clone)]
pub struct Installed {
    pub dir: PathBuf,
    pub version: Option<&'static str>,
    pub content_sha256: String,
}

/// The content digest of a CRS directory.
pub fn content_digest(dir: &Path) -> Result<String, String> {
    let mut files = Vec::new();
    let setup = dir.join("crs-setup.conf.example");
    if !setup.is_file() {
        return Err(format!("{} has no crs-setup.conf.example", dir.display()));
    }
    files.push(PathBuf::from("crs-setup.conf.example"));
    let rules = dir.join("rules");
    collect(&rules, Path::new("rules"), &mut files)
        .map_err(|e| format!("{}: {e}", rules.display()))?;
    files.sort();
    let mut h = Sha256::new();
    for rel in files {
        let bytes = std::fs::read(dir.join(&rel)).map_err(|e| format!("{}: {e}", rel.display()))?;
        h.update(rel.to_string_lossy().as_bytes());
        h.update([0]);
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(&bytes);
    }
    Ok(hex(&h.finalize()))
}

fn collect(dir: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name();
        let p = e.path();
        let r = rel.join(&name);
        if p.is_dir() {
            collect(&p, &r, out)?;
        } else if p.is_file() {
            out.push(r);
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a file, lower-case hex.
pub fn file_sha256(path: &Path) -> Result<String, String> {
    let mut f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

/// Installs from a CRS directory, a `.tar.gz` release, or an `https://`
/// URL. `tarball_sha256` is required for a release Rampart has not pinned.
pub fn install(
    data_dir: &Path,
    from: &str,
    tarball_sha256: Option<&str>,
) -> Result<Installed, String> {
    let crs_dir = data_dir.join("crs");
    std::fs::create_dir_all(&crs_dir).map_err(|e| format!("{}: {e}", crs_dir.display()))?;
    let incoming = crs_dir.join(".incoming");
    let _ = std::fs::remove_dir_all(&incoming);
    let result = stage(&crs_dir, &incoming, from, tarball_sha256);
    let installed = match result {
        Ok(i) => i,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&incoming);
            return Err(e);
        }
    };
    let current = crs_dir.join("current");
    let old = crs_dir.join(".previous");
    let _ = std::fs::remove_dir_all(&old);
    if current.exists() {
        std::fs::rename(&current, &old).map_err(|e| format!("{}: {e}", current.display()))?;
    }
    std::fs::rename(&incoming, &current).map_err(|e| format!("{}: {e}", current.display()))?;
    let _ = std::fs::remove_dir_all(&old);
    std::fs::write(
        current.join("RAMPART-INSTALL"),
        format!(
            "version = {}\ncontent_sha256 = {}\nfrom = {from}\n",
            installed.version.unwrap_or("unpinned"),
            installed.content_sha256
        ),
    )
    .map_err(|e| format!("{}: {e}", current.display()))?;
    Ok(Installed {
        dir: current,
        ..installed
    })
}

fn stage(
    crs_dir: &Path,
    incoming: &Path,
    from: &str,
    tarball_sha256: Option<&str>,
) -> Result<Installed, String> {
    let source = Path::new(from);
    let mut tarball_hash = None;
    if from.starts_with("https://") || from.starts_with("http://") {
        let file = crs_dir.join(".download.tar.gz");
        download(from, &file)?;
        tarball_hash = Some(file_sha256(&file)?);
        let r = extract(&file, incoming);
        let _ = std::fs::remove_file(&file);
        r?;
    } else if source.is_dir() {
        copy_crs(source, incoming)?;
    } else if source.is_file() {
        tarball_hash = Some(file_sha256(source)?);
        extract(source, incoming)?;
    } else {
        return Err(format!("{from}: no such directory, file or URL"));
    }
    let digest = content_digest(incoming)?;
    if let Some(p) = PINNED.iter().find(|p| p.content_sha256 == digest) {
        return Ok(Installed {
            dir: incoming.to_path_buf(),
            version: Some(p.version),
            content_sha256: digest,
        });
    }
    match (tarball_sha256, tarball_hash) {
        (Some(want), Some(got)) if want.eq_ignore_ascii_case(&got) => Ok(Installed {
            dir: incoming.to_path_buf(),
            version: None,
            content_sha256: digest,
        }),
        (Some(want), Some(got)) => Err(format!("SHA-256 mismatch: expected {want}, the tarball has {got}")),
        (Some(_), None) => Err("--sha256 verifies a tarball; for a directory, install a pinned release".into()),
        (None, _) => Err(format!(
            "not a release Rampart knows (content digest {digest}): pass --sha256 with the tarball's published SHA-256"
        )),
    }
}

/// Copies `rules/` and `crs-setup.conf.example` (and `plugins/` if any).
fn copy_crs(src: &Path, dst: &Path) -> Result<(), String> {
    if !src.join("rules").is_dir() {
        return Err(format!(
            "{} is not a CRS directory (no rules/)",
            src.display()
        ));
    }
    std::fs::create_dir_all(dst).map_err(|e| format!("{}: {e}", dst.display()))?;
    std::fs::copy(
        src.join("crs-setup.conf.example"),
        dst.join("crs-setup.conf.example"),
    )
    .map_err(|e| format!("{}: {e}", src.join("crs-setup.conf.example").display()))?;
    for sub in ["rules", "plugins"] {
        if src.join(sub).is_dir() {
            copy_tree(&src.join(sub), &dst.join(sub))?;
        }
    }
    Ok(())
}

fn copy_tree(src: &Path, dst: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dst).map_err(|e| format!("{}: {e}", dst.display()))?;
    for e in std::fs::read_dir(src).map_err(|e| format!("{}: {e}", src.display()))? {
        let e = e.map_err(|e| e.to_string())?;
        let p = e.path();
        let t = dst.join(e.file_name());
        if p.is_dir() {
            copy_tree(&p, &t)?;
        } else if p.is_file() {
            std::fs::copy(&p, &t).map_err(|e| format!("{}: {e}", p.display()))?;
        }
    }
    Ok(())
}

/// Extracts a release tarball; its single top directory is stripped, and
/// entries that would leave the target are refused.
fn extract(tarball: &Path, dst: &Path) -> Result<(), String> {
    let f = std::fs::File::open(tarball).map_err(|e| format!("{}: {e}", tarball.display()))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(f));
    std::fs::create_dir_all(dst).map_err(|e| format!("{}: {e}", dst.display()))?;
    let bad = |e: std::io::Error| format!("{}: not a readable .tar.gz ({e})", tarball.display());
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let path = entry.path().map_err(bad)?.into_owned();
        let mut parts = path.components();
        parts.next(); // the release's top directory
        let rel: PathBuf = parts.collect();
        if rel.as_os_str().is_empty() {
            continue;
        }
        if rel
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(format!(
                "{}: entry {} leaves the archive",
                tarball.display(),
                path.display()
            ));
        }
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            std::fs::create_dir_all(dst.join(&rel)).map_err(|e| e.to_string())?;
        } else if kind.is_file() {
            if let Some(parent) = dst.join(&rel).parent() {
                std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
            }
            entry.unpack(dst.join(&rel)).map_err(bad)?;
        }
    }
    Ok(())
}

fn download(url: &str, to: &Path) -> Result<(), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(60)))
        .build()
        .into();
    let resp = agent.get(url).call().map_err(|e| format!("{url}: {e}"))?;
    let mut reader = resp.into_body().into_reader();
    let mut f = std::fs::File::create(to).map_err(|e| format!("{}: {e}", to.display()))?;
    std::io::copy(&mut reader, &mut f).map_err(|e| format!("{url}: {e}"))?;
    Ok(())
}
