//! Exposure: files and pages a store must never serve (a `.git`
//! directory, `.env`, database dumps and archives, `phpinfo`, Apache's
//! `server-status`, editor backups of configuration files, database admin
//! tools), directory listings, and stack traces or verbose errors.
//!
//! A probe counts only when the answer is a success, its content has the
//! signature of the thing probed (a `.git/HEAD` starts with `ref:`, a zip
//! with `PK\x03\x04`...), and it differs from the answer to a random path
//! (the soft-404 baseline): a shop that answers 200 with its home page for
//! every path raises nothing.

use regex::Regex;
use std::sync::LazyLock;
use url::Url;

use crate::finding::{Finding, Severity};
use crate::http::{Fetched, Fetcher};

/// What a probe's answer must look like to count.
#[derive(Debug, Clone, Copy)]
enum Signature {
    GitHead,
    GitConfig,
    DotEnv,
    SqlDump,
    Zip,
    Gzip,
    PhpInfo,
    ServerStatus,
    PhpSource,
    VimSwap,
    Adminer,
    PhpMyAdmin,
    DirectoryListing,
    LoginForm,
}

struct Probe {
    path: &'static str,
    id: &'static str,
    severity: Severity,
    title: &'static str,
    signature: Signature,
    remediation: &'static str,
}

const DENY_DOTFILES: &str = "Remove it from the web root, and deny dot-files and backups at the web server (e.g. `location ~ /\\. { deny all; }`).";

const PROBES: &[Probe] = &[
    Probe { path: ".git/HEAD", id: "exposure.git", severity: Severity::Critical, title: "Git repository exposed (.git/HEAD)", signature: Signature::GitHead, remediation: "Anyone can download the source code and its history, often with secrets. Remove .git from the web root and deny /.git at the web server." },
    Probe { path: ".git/config", id: "exposure.git-config", severity: Severity::Critical, title: "Git configuration exposed (.git/config)", signature: Signature::GitConfig, remediation: "Remove .git from the web root and deny /.git at the web server; rotate any credential in the remote URLs." },
    Probe { path: ".env", id: "exposure.env", severity: Severity::Critical, title: "Environment file exposed (.env)", signature: Signature::DotEnv, remediation: "The file usually holds database passwords and API keys: remove it from the web root, deny dot-files, and rotate every secret it held." },
    Probe { path: "backup.sql", id: "exposure.sql-backup", severity: Severity::Critical, title: "Database dump downloadable (backup.sql)", signature: Signature::SqlDump, remediation: "Customer data is downloadable: delete the dump from the web root, keep backups outside it, and treat the data as leaked." },
    Probe { path: "dump.sql", id: "exposure.sql-backup", severity: Severity::Critical, title: "Database dump downloadable (dump.sql)", signature: Signature::SqlDump, remediation: "Customer data is downloadable: delete the dump from the web root, keep backups outside it, and treat the data as leaked." },
    Probe { path: "database.sql", id: "exposure.sql-backup", severity: Severity::Critical, title: "Database dump downloadable (database.sql)", signature: Signature::SqlDump, remediation: "Customer data is downloadable: delete the dump from the web root, keep backups outside it, and treat the data as leaked." },
    Probe { path: "backup.zip", id: "exposure.archive-backup", severity: Severity::High, title: "Site archive downloadable (backup.zip)", signature: Signature::Zip, remediation: "Delete archives from the web root; keep backups outside it (Rampart's backup jobs encrypt them)." },
    Probe { path: "site.zip", id: "exposure.archive-backup", severity: Severity::High, title: "Site archive downloadable (site.zip)", signature: Signature::Zip, remediation: "Delete archives from the web root; keep backups outside it." },
    Probe { path: "backup.tar.gz", id: "exposure.archive-backup", severity: Severity::High, title: "Site archive downloadable (backup.tar.gz)", signature: Signature::Gzip, remediation: "Delete archives from the web root; keep backups outside it." },
    Probe { path: "www.tar.gz", id: "exposure.archive-backup", severity: Severity::High, title: "Site archive downloadable (www.tar.gz)", signature: Signature::Gzip, remediation: "Delete archives from the web root; keep backups outside it." },
    Probe { path: "phpinfo.php", id: "exposure.phpinfo", severity: Severity::Medium, title: "phpinfo() page exposed", signature: Signature::PhpInfo, remediation: "phpinfo reveals versions, paths and environment variables: delete the file." },
    Probe { path: "info.php", id: "exposure.phpinfo", severity: Severity::Medium, title: "phpinfo() page exposed (info.php)", signature: Signature::PhpInfo, remediation: "phpinfo reveals versions, paths and environment variables: delete the file." },
    Probe { path: "server-status", id: "exposure.server-status", severity: Severity::Medium, title: "Apache server-status exposed", signature: Signature::ServerStatus, remediation: "server-status shows every client and URL being served: restrict it to localhost (`Require local`)." },
    Probe { path: "wp-config.php~", id: "exposure.config-backup", severity: Severity::Critical, title: "Editor backup of wp-config.php readable", signature: Signature::PhpSource, remediation: DENY_DOTFILES },
    Probe { path: "wp-config.php.bak", id: "exposure.config-backup", severity: Severity::Critical, title: "Backup of wp-config.php readable", signature: Signature::PhpSource, remediation: DENY_DOTFILES },
    Probe { path: ".wp-config.php.swp", id: "exposure.config-backup", severity: Severity::Critical, title: "Vim swap file of wp-config.php readable", signature: Signature::VimSwap, remediation: DENY_DOTFILES },
    Probe { path: "app/etc/env.php.bak", id: "exposure.config-backup", severity: Severity::Critical, title: "Backup of Magento env.php readable", signature: Signature::PhpSource, remediation: DENY_DOTFILES },
    Probe { path: "config.php.bak", id: "exposure.config-backup", severity: Severity::Critical, title: "Backup of config.php readable", signature: Signature::PhpSource, remediation: DENY_DOTFILES },
    Probe { path: "adminer.php", id: "exposure.db-admin", severity: Severity::High, title: "Adminer database tool reachable", signature: Signature::Adminer, remediation: "A database login page on the internet invites password guessing: remove it, or put it behind Rampart's login portal with a second factor." },
    Probe { path: "phpmyadmin/", id: "exposure.db-admin", severity: Severity::High, title: "phpMyAdmin reachable", signature: Signature::PhpMyAdmin, remediation: "A database login page on the internet invites password guessing: remove it, or put it behind Rampart's login portal with a second factor." },
    Probe { path: "adminer/", id: "exposure.db-admin", severity: Severity::High, title: "Adminer database tool reachable (adminer/)", signature: Signature::Adminer, remediation: "A database login page on the internet invites password guessing: remove it, or put it behind Rampart's login portal with a second factor." },
    Probe { path: "phpMyAdmin/", id: "exposure.db-admin", severity: Severity::High, title: "phpMyAdmin reachable (phpMyAdmin/)", signature: Signature::PhpMyAdmin, remediation: "A database login page on the internet invites password guessing: remove it, or put it behind Rampart's login portal with a second factor." },
    Probe { path: "pma/", id: "exposure.db-admin", severity: Severity::High, title: "phpMyAdmin reachable (pma/)", signature: Signature::PhpMyAdmin, remediation: "A database login page on the internet invites password guessing: remove it, or put it behind Rampart's login portal with a second factor." },
    Probe { path: "backup/", id: "exposure.directory-listing", severity: Severity::Medium, title: "Directory listing enabled (backup/)", signature: Signature::DirectoryListing, remediation: "Turn directory listings off (`Options -Indexes`, `autoindex off`)." },
    Probe { path: "uploads/", id: "exposure.directory-listing", severity: Severity::Medium, title: "Directory listing enabled (uploads/)", signature: Signature::DirectoryListing, remediation: "Turn directory listings off (`Options -Indexes`, `autoindex off`)." },
    Probe { path: "wp-content/uploads/", id: "exposure.directory-listing", severity: Severity::Medium, title: "Directory listing enabled (wp-content/uploads/)", signature: Signature::DirectoryListing, remediation: "Turn directory listings off (`Options -Indexes`, `autoindex off`)." },
    Probe { path: "wp-login.php", id: "exposure.admin-login", severity: Severity::Low, title: "WordPress admin login reachable from the internet with a password only", signature: Signature::LoginForm, remediation: ADMIN_FIX },
    Probe { path: "admin/", id: "exposure.admin-login", severity: Severity::Low, title: "Admin login reachable from the internet with a password only (admin/)", signature: Signature::LoginForm, remediation: ADMIN_FIX },
    Probe { path: "administrator/", id: "exposure.admin-login", severity: Severity::Low, title: "Admin login reachable from the internet with a password only (administrator/)", signature: Signature::LoginForm, remediation: ADMIN_FIX },
    Probe { path: "index.php/admin/", id: "exposure.admin-login", severity: Severity::Low, title: "Magento admin login reachable from the internet with a password only (index.php/admin/)", signature: Signature::LoginForm, remediation: ADMIN_FIX },
    Probe { path: "user/login", id: "exposure.admin-login", severity: Severity::Low, title: "Drupal (Drupal Commerce) login reachable from the internet with a password only (user/login)", signature: Signature::LoginForm, remediation: ADMIN_FIX },
];

const ADMIN_FIX: &str = "Put the admin area behind Rampart's login portal (TOTP or passkey as a second factor), or restrict it to known addresses.";

static DOTENV_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^\s*(export\s+)?[A-Za-z_][A-Za-z0-9_]*\s*=").expect("valid regex")
});
static LISTING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)<title>\s*(index of /|directory listing for /)").expect("valid regex")
});

fn looks_like_html(body: &str) -> bool {
    let head = body
        .trim_start()
        .get(..200)
        .unwrap_or(body.trim_start())
        .to_ascii_lowercase();
    head.starts_with("<!doctype html") || head.starts_with("<html") || head.contains("<body")
}

fn matches(sig: Signature, f: &Fetched) -> bool {
    let body = f.body.as_str();
    let bytes = f.bytes.as_slice();
    match sig {
        Signature::GitHead => {
            let t = body.trim();
            t.starts_with("ref: refs/")
                || (t.len() == 40 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        }
        Signature::GitConfig => body.contains("[core]") && !looks_like_html(body),
        Signature::DotEnv => !looks_like_html(body) && DOTENV_LINE.find_iter(body).count() >= 2,
        Signature::SqlDump => {
            !looks_like_html(body)
                && (body.contains("CREATE TABLE")
                    || body.contains("INSERT INTO")
                    || body.contains("-- MySQL dump")
                    || body.contains("PostgreSQL database dump"))
        }
        Signature::Zip => bytes.starts_with(b"PK\x03\x04"),
        Signature::Gzip => bytes.starts_with(&[0x1f, 0x8b]),
        Signature::PhpInfo => {
            body.contains("phpinfo()")
                || body.contains("<title>PHP ") && body.contains("PHP Version")
        }
        Signature::ServerStatus => body.contains("Apache Server Status"),
        Signature::PhpSource => body.contains("<?php") || body.contains("DB_PASSWORD"),
        Signature::VimSwap => bytes.starts_with(b"b0VIM"),
        Signature::Adminer => {
            body.contains("Adminer") && body.to_ascii_lowercase().contains("login")
        }
        Signature::PhpMyAdmin => body.contains("phpMyAdmin"),
        Signature::DirectoryListing => LISTING.is_match(body),
        // A password field and no sign of a second factor on the same page.
        Signature::LoginForm => {
            let page = crate::html::parse(body);
            let lower = body.to_ascii_lowercase();
            page.forms.iter().any(|f| f.has_password)
                && ![
                    "one-time",
                    "otp",
                    "two-factor",
                    "2fa",
                    "authenticator",
                    "webauthn",
                ]
                .iter()
                .any(|w| lower.contains(w))
        }
    }
}

/// A short, printable excerpt of a body for evidence.
pub fn excerpt(bytes: &[u8], max: usize) -> String {
    let s: String = String::from_utf8_lossy(&bytes[..bytes.len().min(max)])
        .chars()
        .map(|c| if c.is_control() && c != '\n' { '.' } else { c })
        .collect();
    s.trim().replace('\n', "\\n")
}

/// The soft-404 baseline: the answer to a path that cannot exist.
pub struct Baseline {
    /// Status and body (with the requested path removed) of the random path.
    pub status: Option<u16>,
    pub body: String,
}

impl Baseline {
    pub async fn fetch(fetcher: &Fetcher, base: &Url) -> Baseline {
        let mut raw = [0u8; 8];
        let token = match getrandom::fill(&mut raw) {
            Ok(()) => raw.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            Err(_) => "5f3c1a9e0b7d2c44".to_string(),
        };
        let token = format!("rampart-{token}");
        let url = base.join(&format!("{token}.php")).ok();
        let answer = match &url {
            Some(u) => fetcher.get(u, true).await.ok(),
            None => None,
        };
        let path = url.map(|u| u.path().to_string()).unwrap_or_default();
        Baseline {
            status: answer.as_ref().map(|a| a.status),
            body: answer
                .map(|a| strip_path(&a.body, &path).replace(&token, ""))
                .unwrap_or_default(),
        }
    }

    /// True when `f` is just the shop's answer to any unknown path.
    fn is_soft_404(&self, f: &Fetched, url: &Url) -> bool {
        if self.status != Some(f.status) {
            return false;
        }
        let body = strip_path(&f.body, url.path());
        if body == self.body {
            return true;
        }
        // Same page with a different timestamp or CSRF token: lengths
        // within 2% count as the same page.
        let (a, b) = (body.len() as f64, self.body.len() as f64);
        a > 0.0 && (a - b).abs() / a.max(b) < 0.02
    }
}

/// A body without the path that was asked for (in raw, decoded and
/// HTML-escaped spellings): soft-404 pages often echo it.
fn strip_path(body: &str, path: &str) -> String {
    let decoded = percent_decode(path);
    let escaped = decoded
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    body.replace(path, "")
        .replace(&decoded, "")
        .replace(&escaped, "")
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Runs every probe against `base` (which ends in `/`).
pub async fn probe(fetcher: &Fetcher, base: &Url, baseline: &Baseline) -> Vec<Finding> {
    let tasks = PROBES.iter().map(|p| async move {
        let url = base.join(p.path).ok()?;
        let f = fetcher.get(&url, false).await.ok()?;
        if !(200..300).contains(&f.status) || !matches(p.signature, &f) {
            return None;
        }
        if baseline.is_soft_404(&f, &url) {
            return None;
        }
        Some(
            Finding::new(p.id, p.severity, p.title, url.as_str())
                .evidence(format!(
                    "HTTP {} for {}: {}",
                    f.status,
                    url.path(),
                    excerpt(&f.bytes, 80)
                ))
                .remediation(p.remediation),
        )
    });
    futures_util::future::join_all(tasks)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// Patterns of stack traces and verbose errors, with the platform they
/// betray.
static VERBOSE_ERRORS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        (r"Traceback \(most recent call last\)", "Python traceback"),
        (
            r"(?i)<b>(fatal error|warning|parse error)</b>:.{0,300} on line <b>\d+</b>",
            "PHP error with file path",
        ),
        (
            r"(?:Fatal error|Warning|Parse error): .{0,300} in /\S+ on line \d+",
            "PHP error with file path",
        ),
        (r"Stack trace:\s*\n?\s*#0 ", "PHP stack trace"),
        (r"SQLSTATE\[[0-9A-Z]{5}\]", "SQL error (SQLSTATE)"),
        (
            r"You have an error in your SQL syntax",
            "MySQL syntax error",
        ),
        (
            r"(?m)^\s*at [a-z]+(\.[A-Za-z0-9_$]+)+\([A-Za-z0-9_]+\.java:\d+\)",
            "Java stack trace",
        ),
        (r"Exception in thread \x22", "Java exception"),
        (
            r"You're seeing this error because you have <code>DEBUG = True</code>",
            "Django debug page",
        ),
        (r"Server Error in '/' Application", "ASP.NET error page"),
        (
            r"Whoops(, looks like something went wrong| There was an error)",
            "Laravel/Whoops debug page",
        ),
        (
            r"(?m)^\s+at .+ \(/[^)]+\.js:\d+:\d+\)",
            "Node.js stack trace",
        ),
    ]
    .into_iter()
    .map(|(re, what)| (Regex::new(re).expect("valid regex"), what))
    .collect()
});

/// A stack trace or verbose error in a page.
pub fn verbose_error(url: &Url, body: &str) -> Option<Finding> {
    VERBOSE_ERRORS.iter().find_map(|(re, what)| {
        re.find(body).map(|m| {
            Finding::new(
                "exposure.stack-trace",
                Severity::Medium,
                format!("Verbose error shown to visitors ({what})"),
                url.as_str(),
            )
            .evidence(excerpt(m.as_str().as_bytes(), 160))
            .remediation(
                "Turn debug output off in production (display_errors=Off, DEBUG=False, \
                 customErrors On) and log errors server-side instead.",
            )
        })
    })
}

/// A directory listing in a crawled page.
pub fn directory_listing(url: &Url, body: &str) -> Option<Finding> {
    LISTING.is_match(body).then(|| {
        Finding::new(
            "exposure.directory-listing",
            Severity::Medium,
            "Directory listing enabled",
            url.as_str(),
        )
        .evidence(format!("{} shows an index page", url.path()))
        .remediation("Turn directory listings off (`Options -Indexes`, `autoindex off`).")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_verbose_errors() {
        let u = Url::parse("https://shop.example/x").unwrap();
        let php = "<br />\n<b>Fatal error</b>:  Uncaught Error in /var/www/html/index.php on line <b>12</b>";
        assert!(verbose_error(&u, php).is_some());
        assert!(verbose_error(&u, "Traceback (most recent call last):\n  File").is_some());
        assert!(verbose_error(&u, "<p>Sorry, this page does not exist.</p>").is_none());
    }
}
