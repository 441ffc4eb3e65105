//! `[[site.protect]]`: the areas of a site that only signed-in staff may
//! enter (the access gate), their roles' rules, MFA and step-up. Part of
//! [`crate::config`]: parsing and validation only.

use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::{ConfigError, Validator};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileProtect {
    paths: Spanned<Vec<Spanned<String>>>,
    mfa_roles: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    step_up: Vec<Spanned<FileStepUp>>,
    #[serde(default)]
    roles: std::collections::BTreeMap<String, Spanned<Vec<Spanned<FileRule>>>>,
    idle_timeout_minutes: Option<Spanned<i64>>,
    absolute_timeout_hours: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileStepUp {
    path: Spanned<String>,
    minutes: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRule {
    path: Spanned<String>,
    #[serde(default)]
    methods: Vec<Spanned<String>>,
}

/// One protected area of a site.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtectConfig {
    /// Normalised path prefixes (`/admin`, `/wp-admin`, ...).
    pub paths: Vec<String>,
    /// Roles that must use a second factor; `None`: every role.
    pub mfa_roles: Option<Vec<String>>,
    /// Sensitive paths that need a second factor within N minutes.
    pub step_up: Vec<StepUp>,
    /// Rules that replace a built-in role's or define a custom role:
    /// (role, [(normalised path prefix or `*`, upper-case methods)]).
    pub roles: Vec<(String, Vec<RoleRule>)>,
    pub idle_timeout: Duration,
    pub absolute_timeout: Duration,
}

/// One rule of a role: (normalised path prefix or `*`, upper-case
/// methods; empty for all).
pub type RoleRule = (String, Vec<String>);

/// `[[site.protect.step_up]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct StepUp {
    pub path: String,
    pub minutes: i64,
}

impl ProtectConfig {
    /// Whether `role` must use a second factor.
    pub fn mfa_required(&self, role: &str) -> bool {
        self.mfa_roles
            .as_ref()
            .is_none_or(|roles| roles.iter().any(|r| r == role))
    }
}

const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

fn role_name_ok(r: &str) -> bool {
    !r.is_empty()
        && r.len() <= 32
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

impl<F: Fn(Option<Range<usize>>, String) -> ConfigError> Validator<'_, F> {
    fn prefix(&self, p: &Spanned<String>, key: &str) -> Result<String, ConfigError> {
        let v = p.get_ref();
        if !v.starts_with('/') || v.len() > 256 || v.contains(['?', '#']) {
            return self.err(
                p.span(),
                format!("{key} {v:?} must be a path starting with / (no query), like \"/admin\""),
            );
        }
        Ok(auth::roles::normalize_path(v))
    }

    pub(super) fn protect(&self, p: Spanned<FileProtect>) -> Result<ProtectConfig, ConfigError> {
        let p = p.into_inner();
        let mut paths = Vec::new();
        for path in p.paths.get_ref() {
            paths.push(self.prefix(path, "protect path")?);
        }
        if paths.is_empty() {
            return self.err(
                p.paths.span(),
                "protect paths is empty: list the path prefixes to protect, like [\"/admin\"]",
            );
        }
        if paths.iter().any(|x| x.starts_with("/.rampart")) {
            return self.err(p.paths.span(), "/.rampart/ is the sign-in portal itself");
        }
        let mfa_roles = match p.mfa_roles {
            None => None,
            Some(list) => {
                let mut roles = Vec::new();
                for r in list {
                    if !role_name_ok(r.get_ref()) {
                        return self.err(
                            r.span(),
                            format!(
                                "mfa_roles: {:?} is not a role name (a-z, 0-9, '_', '-')",
                                r.get_ref()
                            ),
                        );
                    }
                    roles.push(r.into_inner());
                }
                Some(roles)
            }
        };
        let mut step_up = Vec::new();
        for s in p.step_up {
            let s = s.into_inner();
            let path = self.prefix(&s.path, "step_up path")?;
            if !paths.iter().any(|a| auth::roles::within(&path, a)) {
                return self.err(
                    s.path.span(),
                    format!(
                        "step_up path {:?} is not inside a protected path",
                        s.path.get_ref()
                    ),
                );
            }
            let minutes = match s.minutes {
                Some(m) if !(1..=1440).contains(m.get_ref()) => {
                    return self.err(m.span(), "step_up minutes must be between 1 and 1440")
                }
                Some(m) => m.into_inner(),
                None => 5,
            };
            step_up.push(StepUp { path, minutes });
        }
        let mut roles = Vec::new();
        for (name, rules) in p.roles {
            if !role_name_ok(&name) {
                return self.err(
                    rules.span(),
                    format!("roles: {name:?} is not a role name (a-z, 0-9, '_', '-')"),
                );
            }
            let mut list = Vec::new();
            for rule in rules.into_inner() {
                let rule = rule.into_inner();
                let path = if rule.path.get_ref() == "*" {
                    "*".to_string()
                } else {
                    self.prefix(&rule.path, "role rule path")?
                };
                let mut methods = Vec::new();
                for m in rule.methods {
                    let up = m.get_ref().to_ascii_uppercase();
                    if !METHODS.contains(&up.as_str()) {
                        return self.err(
                            m.span(),
                            format!(
                                "method {:?}: use GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS",
                                m.get_ref()
                            ),
                        );
                    }
                    methods.push(up);
                }
                list.push((path, methods));
            }
            roles.push((name, list));
        }
        let idle = match p.idle_timeout_minutes {
            Some(m) if !(1..=1440).contains(m.get_ref()) => {
                return self.err(m.span(), "idle_timeout_minutes must be between 1 and 1440")
            }
            Some(m) => m.into_inner(),
            None => 30,
        };
        let absolute = match p.absolute_timeout_hours {
            Some(h) if !(1..=168).contains(h.get_ref()) => {
                return self.err(h.span(), "absolute_timeout_hours must be between 1 and 168")
            }
            Some(h) => h.into_inner(),
            None => 12,
        };
        Ok(ProtectConfig {
            paths,
            mfa_roles,
            step_up,
            roles,
            idle_timeout: Duration::from_secs(idle as u64 * 60),
            absolute_timeout: Duration::from_secs(absolute as u64 * 3600),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use std::path::Path;

    const BASE: &str = "[server]\nhttps = \"127.0.0.1:8443\"\n\n[[site]]\nhosts = [\"localhost\"]\nupstream = \"http://127.0.0.1:3000\"\ntls = { self_signed = true }\n";

    fn parse(extra: &str) -> Result<Config, crate::config::ConfigError> {
        Config::parse(&format!("{BASE}{extra}"), "rampart.toml", Path::new("/etc"))
    }

    #[test]
    fn protect_parses_with_defaults() {
        let c = parse(
            "\n[[site.protect]]\npaths = [\"/Admin/\", \"/wp-admin\"]\nmfa_roles = [\"owner\"]\n\
             step_up = [{ path = \"/admin/settings/payments\", minutes = 10 }]\n\
             [site.protect.roles]\nsupport = [{ path = \"/admin/orders\", methods = [\"get\", \"POST\"] }]\n",
        )
        .unwrap();
        let p = &c.sites[0].protect[0];
        assert_eq!(p.paths, ["/admin", "/wp-admin"]);
        assert!(p.mfa_required("owner") && !p.mfa_required("support"));
        assert_eq!(p.step_up[0].minutes, 10);
        assert_eq!(p.roles[0].1[0].1, ["GET", "POST"]);
        assert_eq!(p.idle_timeout.as_secs(), 1800);
        let c = parse("\n[[site.protect]]\npaths = [\"/admin\"]\n").unwrap();
        assert!(c.sites[0].protect[0].mfa_required("anything"));
    }

    #[test]
    fn protect_errors_point_at_the_value() {
        for (extra, want) in [
            ("paths = [\"admin\"]", "must be a path"),
            ("paths = []", "is empty"),
            ("paths = [\"/admin\"]\nstep_up = [{ path = \"/shop\" }]", "not inside a protected path"),
            ("paths = [\"/admin\"]\nstep_up = [{ path = \"/admin/x\", minutes = 0 }]", "between 1 and 1440"),
            ("paths = [\"/admin\"]\npath = \"/x\"", "unknown field"),
            ("paths = [\"/admin\"]\nroles = { support = [{ path = \"/admin\", methods = [\"FETCH\"] }] }", "FETCH"),
            ("paths = [\"/admin\"]\nmfa_roles = [\"Bad Role\"]", "not a role name"),
        ] {
            let e = parse(&format!("\n[[site.protect]]\n{extra}\n")).unwrap_err();
            assert!(e.to_string().contains(want), "{extra}: {e}");
            assert!(e.position.is_some(), "{e}");
        }
        let e = parse("").and_then(|_| {
            Config::parse(
                &BASE.replace("[[site]]", "database = \"mysql://x\"\n\n[[site]]"),
                "f",
                Path::new("/"),
            )
        });
        assert!(e.unwrap_err().to_string().contains("postgres://"));
    }
}
