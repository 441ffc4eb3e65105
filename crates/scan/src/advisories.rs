//! Advisories in the OSV JSON format (<https://ossf.github.io/osv-schema/>):
//! parsing, storing (SQLite or PostgreSQL through the `store` crate, table
//! per component) and matching a package version against them.
//!
//! Versions are compared the way Packagist, npm and RubyGems order them
//! closely enough for advisory ranges: dot/dash separated parts, numbers
//! numerically, a pre-release tag (`alpha`, `beta`, `rc`, `dev`, `pre`)
//! before the release it precedes, a leading `v` ignored. (No single crate
//! implements the three ecosystems' orderings; semver alone rejects
//! `5.4.0.1`-style Packagist and RubyGems versions.)

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::finding::{Finding, Severity};

/// One OSV record, as far as matching needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    pub id: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub details: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub affected: Vec<Affected>,
    #[serde(default)]
    pub severity: Vec<OsvSeverity>,
    #[serde(default)]
    pub database_specific: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OsvSeverity {
    #[serde(rename = "type")]
    pub kind: String,
    pub score: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    pub package: Package,
    #[serde(default)]
    pub ranges: Vec<Range>,
    #[serde(default)]
    pub versions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub ecosystem: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Range {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub events: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// Parses a file's text: one OSV object, or an array of them.
pub fn parse(text: &str) -> Result<Vec<Advisory>, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let list = match v {
        serde_json::Value::Array(items) => items,
        other => vec![other],
    };
    list.into_iter()
        .map(|item| {
            let a: Advisory = serde_json::from_value(item).map_err(|e| e.to_string())?;
            if a.id.trim().is_empty() {
                return Err("an advisory without an id".to_string());
            }
            Ok(a)
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    /// A pre-release word: ranks below any number and below the end.
    Pre(u8, u64),
    Num(u64),
    Word(String),
}

fn parts(v: &str) -> Vec<Part> {
    let v = v.trim().trim_start_matches(['v', 'V']);
    let v = v.split('+').next().unwrap_or(v);
    let mut out = Vec::new();
    for chunk in v.split(['.', '-', '_']) {
        // Split digits from letters: "rc1" → "rc", 1.
        let mut rest = chunk;
        while !rest.is_empty() {
            let digits = rest.chars().take_while(char::is_ascii_digit).count();
            if digits > 0 {
                out.push(Part::Num(rest[..digits].parse().unwrap_or(u64::MAX)));
                rest = &rest[digits..];
            } else {
                let letters = rest.chars().take_while(|c| !c.is_ascii_digit()).count();
                let word = rest[..letters].to_ascii_lowercase();
                rest = &rest[letters..];
                let rank = match word.as_str() {
                    "dev" => Some(0),
                    "alpha" | "a" => Some(1),
                    "beta" | "b" => Some(2),
                    "pre" | "rc" => Some(3),
                    _ => None,
                };
                match rank {
                    Some(r) => {
                        let n = rest.chars().take_while(char::is_ascii_digit).count();
                        let num = rest[..n].parse().unwrap_or(0);
                        rest = &rest[n..];
                        out.push(Part::Pre(r, num));
                    }
                    None => out.push(Part::Word(word)),
                }
            }
        }
    }
    out
}

/// Orders two versions.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (pa, pb) = (parts(a), parts(b));
    let n = pa.len().max(pb.len());
    for i in 0..n {
        let ord = match (pa.get(i), pb.get(i)) {
            (Some(x), Some(y)) => x.cmp(y),
            // "1.0" == "1.0.0"; "1.0-rc1" < "1.0"; "1.0.1" > "1.0".
            (Some(Part::Num(0)), None) | (None, Some(Part::Num(0))) => Ordering::Equal,
            (Some(Part::Pre(..)), None) => Ordering::Less,
            (None, Some(Part::Pre(..))) => Ordering::Greater,
            (Some(_), None) => Ordering::Greater,
            (None, Some(_)) => Ordering::Less,
            (None, None) => Ordering::Equal,
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

impl Affected {
    /// True when `version` of this package is affected.
    pub fn covers(&self, version: &str) -> bool {
        if self
            .versions
            .iter()
            .any(|v| compare(v, version) == Ordering::Equal)
        {
            return true;
        }
        self.ranges
            .iter()
            .filter(|r| r.kind == "ECOSYSTEM" || r.kind == "SEMVER")
            .any(|r| range_covers(r, version))
    }

    /// The `fixed` versions of its ranges.
    pub fn fixed(&self) -> Vec<String> {
        self.ranges
            .iter()
            .flat_map(|r| r.events.iter())
            .filter_map(|e| e.get("fixed").and_then(|v| v.as_str()).map(str::to_string))
            .collect()
    }
}

fn range_covers(range: &Range, version: &str) -> bool {
    // OSV: walk the events in version order; "introduced" switches on,
    // "fixed" (at or below) and "last_affected" (strictly below) switch off.
    let mut events: Vec<(&str, &str)> = range
        .events
        .iter()
        .filter_map(|e| {
            e.iter()
                .next()
                .and_then(|(k, v)| Some((k.as_str(), v.as_str()?)))
        })
        .collect();
    events.sort_by(|a, b| match (a.1, b.1) {
        ("0", "0") => Ordering::Equal,
        ("0", _) => Ordering::Less,
        (_, "0") => Ordering::Greater,
        (x, y) => compare(x, y),
    });
    let mut affected = false;
    for (kind, at) in events {
        match kind {
            "introduced" if at == "0" || compare(version, at) != Ordering::Less => {
                affected = true;
            }
            "fixed" if compare(version, at) != Ordering::Less => affected = false,
            "last_affected" if compare(version, at) == Ordering::Greater => affected = false,
            _ => {}
        }
    }
    affected
}

impl Advisory {
    /// The entries of this advisory for `name` in `ecosystem` (case-insensitive).
    pub fn entries_for<'a>(
        &'a self,
        ecosystem: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Affected> + 'a {
        self.affected.iter().filter(move |a| {
            a.package.name.eq_ignore_ascii_case(name)
                && (ecosystem.is_empty() || a.package.ecosystem.eq_ignore_ascii_case(ecosystem))
        })
    }

    /// How bad: `database_specific.severity` (GitHub's words) or a CVSS
    /// base score, else medium.
    pub fn severity(&self) -> Severity {
        if let Some(s) = self
            .database_specific
            .get("severity")
            .and_then(|s| s.as_str())
        {
            match s.to_ascii_lowercase().as_str() {
                "critical" => return Severity::Critical,
                "high" => return Severity::High,
                "moderate" | "medium" => return Severity::Medium,
                "low" => return Severity::Low,
                _ => {}
            }
        }
        for s in &self.severity {
            if let Ok(score) = s.score.parse::<f64>() {
                return match score {
                    x if x >= 9.0 => Severity::Critical,
                    x if x >= 7.0 => Severity::High,
                    x if x >= 4.0 => Severity::Medium,
                    _ => Severity::Low,
                };
            }
        }
        Severity::Medium
    }
}

/// A package found somewhere (a lockfile, a fingerprint) with its version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installed {
    pub ecosystem: String,
    /// The name advisories use; alternatives first tried in order.
    pub names: Vec<String>,
    pub version: String,
    /// Where it was seen (file, URL).
    pub location: String,
}

/// Findings for `installed` against `advisories`.
pub fn check(installed: &[Installed], advisories: &[Advisory]) -> Vec<Finding> {
    let mut out = Vec::new();
    for pkg in installed {
        for adv in advisories {
            let hit = pkg.names.iter().find_map(|name| {
                adv.entries_for(&pkg.ecosystem, name)
                    .find(|a| a.covers(&pkg.version))
                    .map(|a| (name, a))
            });
            let Some((name, entry)) = hit else { continue };
            let fixed = entry.fixed();
            let mut title = format!("{name} {} is affected by {}", pkg.version, adv.id);
            if !adv.summary.is_empty() {
                title.push_str(": ");
                title.push_str(&adv.summary);
            }
            out.push(
                Finding::new(
                    format!("advisory.{}", adv.id),
                    adv.severity(),
                    title,
                    pkg.location.clone(),
                )
                .evidence(format!(
                    "{} {name} {} installed; aliases {}; fixed in {}",
                    entry.package.ecosystem,
                    pkg.version,
                    if adv.aliases.is_empty() {
                        "none".to_string()
                    } else {
                        adv.aliases.join(", ")
                    },
                    if fixed.is_empty() {
                        "no release yet".to_string()
                    } else {
                        fixed.join(", ")
                    }
                ))
                .remediation(if fixed.is_empty() {
                    format!("No fixed release of {name} yet: remove or replace it, or mitigate as {} says.", adv.id)
                } else {
                    format!("Upgrade {name} to {} or later.", fixed.join(" / "))
                }),
            );
        }
    }
    out
}

/// The advisory database, in the `store` crate's database.
#[derive(Debug)]
pub struct AdvisoryStore {
    db: store::Database,
}

const MIGRATIONS: &[&str] = &[
    "CREATE TABLE scan_advisories (id TEXT PRIMARY KEY, body TEXT NOT NULL);
     CREATE TABLE scan_advisory_packages (advisory_id TEXT NOT NULL, ecosystem TEXT NOT NULL, name TEXT NOT NULL);
     CREATE INDEX scan_advisory_packages_name ON scan_advisory_packages (name)",
];

impl AdvisoryStore {
    /// Opens the store and brings its schema up to date.
    pub async fn open(db: store::Database) -> Result<AdvisoryStore, store::StoreError> {
        db.migrate("scan.advisories", MIGRATIONS).await?;
        Ok(AdvisoryStore { db })
    }

    /// Adds or replaces advisories (by id); returns how many were stored.
    pub async fn import(&self, advisories: &[Advisory]) -> Result<usize, store::StoreError> {
        let mut tx = self.db.pool().begin().await?;
        for a in advisories {
            let body = serde_json::to_string(a).unwrap_or_default();
            store::sqlx::query("DELETE FROM scan_advisory_packages WHERE advisory_id = $1")
                .bind(&a.id)
                .execute(&mut *tx)
                .await?;
            store::sqlx::query("DELETE FROM scan_advisories WHERE id = $1")
                .bind(&a.id)
                .execute(&mut *tx)
                .await?;
            store::sqlx::query("INSERT INTO scan_advisories (id, body) VALUES ($1, $2)")
                .bind(&a.id)
                .bind(&body)
                .execute(&mut *tx)
                .await?;
            for entry in &a.affected {
                store::sqlx::query(
                    "INSERT INTO scan_advisory_packages (advisory_id, ecosystem, name) VALUES ($1, $2, $3)",
                )
                .bind(&a.id)
                .bind(&entry.package.ecosystem)
                .bind(entry.package.name.to_ascii_lowercase())
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(advisories.len())
    }

    /// Every advisory naming one of `names` (case-insensitive).
    pub async fn for_names(&self, names: &[String]) -> Result<Vec<Advisory>, store::StoreError> {
        use store::sqlx::Row;
        let mut out: Vec<Advisory> = Vec::new();
        for name in names {
            let rows = store::sqlx::query(
                "SELECT a.body FROM scan_advisories a JOIN scan_advisory_packages p ON p.advisory_id = a.id WHERE p.name = $1",
            )
            .bind(name.to_ascii_lowercase())
            .fetch_all(self.db.pool())
            .await?;
            for row in rows {
                let body: String = row.try_get(0)?;
                if let Ok(a) = serde_json::from_str::<Advisory>(&body) {
                    if !out.iter().any(|o| o.id == a.id) {
                        out.push(a);
                    }
                }
            }
        }
        Ok(out)
    }

    /// How many advisories are stored.
    pub async fn count(&self) -> Result<i64, store::StoreError> {
        use store::sqlx::Row;
        let row = store::sqlx::query("SELECT COUNT(*) FROM scan_advisories")
            .fetch_one(self.db.pool())
            .await?;
        Ok(row.try_get::<i64, _>(0)?)
    }

    /// Findings for `installed`.
    pub async fn check(&self, installed: &[Installed]) -> Result<Vec<Finding>, store::StoreError> {
        let mut names: Vec<String> = installed.iter().flat_map(|i| i.names.clone()).collect();
        names.sort();
        names.dedup();
        let advisories = self.for_names(&names).await?;
        Ok(check(installed, &advisories))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order() {
        use Ordering::*;
        for (a, b, o) in [
            ("1.2.3", "1.2.10", Less),
            ("1.0", "1.0.0", Equal),
            ("v2.0.0", "2.0.0", Equal),
            ("1.0.0-rc1", "1.0.0", Less),
            ("1.0.0-beta2", "1.0.0-rc1", Less),
            ("1.0.0-alpha", "1.0.0-beta", Less),
            ("2.4.6-p3", "2.4.6", Greater),
            ("2.4.6-p3", "2.4.7", Less),
            ("5.4.0.1", "5.4.0", Greater),
            ("8.0.0", "8.0.0", Equal),
        ] {
            assert_eq!(compare(a, b), o, "{a} vs {b}");
        }
    }

    #[test]
    fn ranges_cover() {
        let adv = &parse(
            r#"{"id":"X-1","affected":[{"package":{"ecosystem":"Packagist","name":"a/b"},
               "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.2.0"},{"introduced":"2.0.0"},{"last_affected":"2.1.0"}]}],
               "versions":["3.0.0"]}]}"#,
        )
        .unwrap()[0];
        let e = adv.entries_for("packagist", "A/B").next().unwrap();
        for (v, yes) in [
            ("1.0.0", true),
            ("1.2.0", false),
            ("1.5", false),
            ("2.0.0", true),
            ("2.1.0", true),
            ("2.1.1", false),
            ("3.0.0", true),
        ] {
            assert_eq!(e.covers(v), yes, "{v}");
        }
        assert_eq!(e.fixed(), vec!["1.2.0".to_string()]);
        assert!(parse("{\"id\":\"\"}").is_err());
        assert!(parse("not json").is_err());
    }
}
