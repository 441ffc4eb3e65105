//! Roles and what they may do: each role maps to path prefixes and HTTP
//! methods, and whatever no rule of the role allows is denied.
//!
//! Built-in roles, for the protected areas of a site (the `*` path means
//! "anywhere in a protected area"):
//!
//! | role | may |
//! |---|---|
//! | owner | everything |
//! | admin | everything |
//! | developer | everything |
//! | support | read (GET, HEAD) |
//! | auditor | read (GET, HEAD) |
//!
//! A site's configuration replaces a built-in role's rules or defines a
//! custom role; a custom role without rules may do nothing. Owns: role
//! names, rule matching, path normalisation for matching. Must not: know
//! which paths a site protects (the gateway's configuration does).

use std::collections::HashMap;

use crate::AuthError;

pub const BUILTIN_ROLES: &[&str] = &["owner", "admin", "developer", "support", "auditor"];
/// Roles an access review lists as privileged.
pub const PRIVILEGED_ROLES: &[&str] = &["owner", "admin", "developer"];

/// A valid role name: built-in, or custom (1-32 of a-z, 0-9, `_`, `-`).
pub fn check_role(role: &str) -> Result<String, AuthError> {
    let r = role.trim().to_ascii_lowercase();
    let ok = !r.is_empty()
        && r.len() <= 32
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(r)
    } else {
        Err(AuthError::InvalidRole(crate::printable(role)))
    }
}

/// One rule: a path prefix (or `*`) and the methods allowed under it
/// (empty: every method).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    /// Lower-case, normalised; `*` for the whole protected area.
    pub path: String,
    /// Upper-case method names; empty for all.
    pub methods: Vec<String>,
}

impl Permission {
    pub fn new(path: &str, methods: &[&str]) -> Permission {
        Permission {
            path: if path == "*" {
                "*".into()
            } else {
                normalize_path(path)
            },
            methods: methods.iter().map(|m| m.to_ascii_uppercase()).collect(),
        }
    }

    fn allows(&self, method: &str, path: &str) -> bool {
        let method_ok = self.methods.is_empty() || self.methods.iter().any(|m| m == method);
        method_ok && (self.path == "*" || within(path, &self.path))
    }
}

/// Whether normalised `path` is `prefix` or below it (segment-wise:
/// `/admin` covers `/admin/x`, not `/administrator`).
pub fn within(path: &str, prefix: &str) -> bool {
    if prefix == "/" {
        return true;
    }
    let prefix = prefix.trim_end_matches('/');
    path == prefix || (path.starts_with(prefix) && path.as_bytes().get(prefix.len()) == Some(&b'/'))
}

/// The rules of every role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    roles: HashMap<String, Vec<Permission>>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy::builtin()
    }
}

impl Policy {
    /// The built-in roles with their default rules.
    pub fn builtin() -> Policy {
        let all = vec![Permission::new("*", &[])];
        let read = vec![Permission::new("*", &["GET", "HEAD"])];
        let mut roles = HashMap::new();
        for r in ["owner", "admin", "developer"] {
            roles.insert(r.to_string(), all.clone());
        }
        for r in ["support", "auditor"] {
            roles.insert(r.to_string(), read.clone());
        }
        Policy { roles }
    }

    /// Replaces (or defines) the rules of `role`.
    pub fn set(&mut self, role: &str, rules: Vec<Permission>) {
        self.roles.insert(role.to_ascii_lowercase(), rules);
    }

    /// Whether `role` may use `method` on normalised `path`. Unknown roles
    /// and roles without a matching rule are denied.
    pub fn allows(&self, role: &str, method: &str, path: &str) -> bool {
        self.roles
            .get(role)
            .is_some_and(|rules| rules.iter().any(|p| p.allows(method, path)))
    }
}

/// The path as a permission check must see it, whatever tricks it was
/// written with: percent-decoded (until stable), `\` as `/`, `;params` dropped,
/// empty and `.` segments removed, `..` resolved, lower case, and no
/// query. A store that decodes differently still cannot be reached
/// around a rule: the gate protects by this form.
pub fn normalize_path(raw: &str) -> String {
    let raw = raw.split(['?', '#']).next().unwrap_or("");
    // Decoded until stable (at most three rounds): a store that decodes
    // twice (`%252e`) must not reach an area the gate thinks is elsewhere.
    let mut decoded = raw.as_bytes().to_vec();
    for _ in 0..3 {
        let next = percent_decode(&decoded);
        if next == decoded {
            break;
        }
        decoded = next;
    }
    let text = String::from_utf8_lossy(&decoded).replace('\\', "/");
    let mut out: Vec<String> = Vec::new();
    for seg in text.split('/') {
        let seg = seg
            .split(';')
            .next()
            .unwrap_or("")
            .trim_end_matches(['\0', ' ']);
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s.to_lowercase()),
        }
    }
    format!("/{}", out.join("/"))
}

fn percent_decode(bytes: &[u8]) -> Vec<u8> {
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                decoded.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        decoded.push(bytes[i]);
        i += 1;
    }
    decoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_by_default_and_builtins() {
        let p = Policy::builtin();
        assert!(p.allows("owner", "DELETE", "/admin/x"));
        assert!(p.allows("support", "GET", "/admin/orders"));
        assert!(!p.allows("support", "POST", "/admin/orders"));
        assert!(!p.allows("auditor", "PUT", "/admin"));
        assert!(!p.allows("nobody", "GET", "/admin"));
        let mut p = p;
        p.set(
            "support",
            vec![Permission::new("/admin/orders", &["GET", "POST"])],
        );
        assert!(p.allows("support", "POST", "/admin/orders/7"));
        assert!(!p.allows("support", "GET", "/admin/settings/payments"));
        assert!(!p.allows("support", "GET", "/admin/ordersx"));
        p.set("packer", vec![]);
        assert!(!p.allows("packer", "GET", "/admin"));
    }

    #[test]
    fn paths_normalise_against_bypass_tricks() {
        for (raw, want) in [
            ("/admin", "/admin"),
            ("/ADMIN/Settings/", "/admin/settings"),
            ("//admin", "/admin"),
            ("/shop/../admin", "/admin"),
            ("/%61dmin/./x", "/admin/x"),
            ("/admin;jsessionid=1/x", "/admin/x"),
            ("\\admin\\x", "/admin/x"),
            ("/admin?next=/x", "/admin"),
            ("/../../admin", "/admin"),
            ("/%2e%2e/admin", "/admin"),
            ("/shop/%252e%252e/admin", "/admin"),
            ("/%2561dmin", "/admin"),
            ("/admin%", "/admin%"),
        ] {
            assert_eq!(normalize_path(raw), want, "{raw}");
        }
        assert!(within("/admin/x", "/admin"));
        assert!(within("/admin", "/admin/"));
        assert!(!within("/administrator", "/admin"));
    }

    #[test]
    fn role_names() {
        assert_eq!(check_role(" Support ").unwrap(), "support");
        assert!(check_role("packer_2").is_ok());
        assert!(check_role("").is_err());
        assert!(check_role("a b").is_err());
    }
}
