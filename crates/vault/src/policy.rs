//! Detokenization policy: where card data may be sent, and in which
//! fields.
//!
//! The outbound proxy swaps a token back for the card only when the
//! request goes over HTTPS to an allowlisted destination (host and port,
//! and a path under an allowlisted prefix), and only in the fields
//! allowlisted for that destination. The policy does not guess: hosts are
//! compared exactly (after the URL standard's normalisation: lower case,
//! IDNA, `.`/`..` and their percent-encoded forms resolved), paths by
//! whole segments (`/v1/charges` allows `/v1/charges/ch_1`, not
//! `/v1/chargesX`), fields by exact name.

use url::Url;

/// A refusal, in one line (it names the destination, never card data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("not a valid absolute URL")]
    BadUrl,
    #[error("card data only goes over https, not {0}")]
    NotHttps(String),
    #[error("{0} is not an allowed destination for card data")]
    Destination(String),
    #[error("path {path} on {host} is not allowed for card data")]
    Path { host: String, path: String },
    #[error("field {field} may not carry card data to {host}")]
    Field { host: String, field: String },
}

/// A policy entry that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("detokenization destination {url:?}: {reason}")]
pub struct PolicyError {
    pub url: String,
    pub reason: &'static str,
}

/// One allowlisted destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    host: String,
    port: u16,
    path_prefix: String,
    fields: Vec<String>,
}

impl Destination {
    /// `url_prefix` is `https://HOST[:PORT][/PATH PREFIX]`; `fields` names
    /// the fields in which tokens may be swapped back.
    pub fn new<S: Into<String>>(
        url_prefix: &str,
        fields: impl IntoIterator<Item = S>,
    ) -> Result<Destination, PolicyError> {
        let err = |reason| PolicyError {
            url: url_prefix.to_string(),
            reason,
        };
        let url = Url::parse(url_prefix).map_err(|_| err("not a valid URL"))?;
        if url.scheme() != "https" {
            return Err(err("card data only goes over https"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(err("no user or password in the URL"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(err(
                "no query or fragment: a destination is a host and a path prefix",
            ));
        }
        let host = url.host_str().ok_or_else(|| err("no host"))?.to_string();
        let fields: Vec<String> = fields.into_iter().map(Into::into).collect();
        if fields.is_empty() || fields.iter().any(|f| f.trim().is_empty()) {
            return Err(err("name at least one field, none empty"));
        }
        Ok(Destination {
            host,
            port: url.port_or_known_default().unwrap_or(443),
            path_prefix: url.path().trim_end_matches('/').to_string(),
            fields,
        })
    }

    fn covers_path(&self, path: &str) -> bool {
        match path.strip_prefix(&self.path_prefix) {
            Some(rest) => rest.is_empty() || rest.starts_with('/'),
            None => false,
        }
    }
}

/// The allowlist. Empty: card data goes nowhere.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DetokenizePolicy {
    destinations: Vec<Destination>,
}

impl DetokenizePolicy {
    pub fn new(destinations: Vec<Destination>) -> DetokenizePolicy {
        DetokenizePolicy { destinations }
    }

    /// The fields in which tokens may be swapped back for a request to
    /// `url` (the union over every destination entry that covers it).
    pub fn fields_for(&self, url: &str) -> Result<Vec<&str>, Refusal> {
        let url = Url::parse(url).map_err(|_| Refusal::BadUrl)?;
        if url.scheme() != "https" {
            return Err(Refusal::NotHttps(url.scheme().to_string()));
        }
        let host = url.host_str().ok_or(Refusal::BadUrl)?;
        let port = url.port_or_known_default().unwrap_or(443);
        let on_host: Vec<&Destination> = self
            .destinations
            .iter()
            .filter(|d| d.host == host && d.port == port)
            .collect();
        let shown = if port == 443 {
            host.to_string()
        } else {
            format!("{host}:{port}")
        };
        if on_host.is_empty() {
            return Err(Refusal::Destination(shown));
        }
        let mut fields: Vec<&str> = on_host
            .iter()
            .filter(|d| d.covers_path(url.path()))
            .flat_map(|d| d.fields.iter().map(String::as_str))
            .collect();
        if fields.is_empty() {
            return Err(Refusal::Path {
                host: shown,
                path: url.path().to_string(),
            });
        }
        fields.sort_unstable();
        fields.dedup();
        Ok(fields)
    }

    /// Whether a token in `field` may be swapped back for a request to
    /// `url`.
    pub fn check(&self, url: &str, field: &str) -> Result<(), Refusal> {
        let fields = self.fields_for(url)?;
        if fields.contains(&field) {
            Ok(())
        } else {
            let host = Url::parse(url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_default();
            Err(Refusal::Field {
                host,
                field: field.to_string(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> DetokenizePolicy {
        DetokenizePolicy::new(vec![
            Destination::new(
                "https://api.psp.example/v1/charges",
                ["card[number]", "card[cvc]"],
            )
            .unwrap(),
            Destination::new("https://api.psp.example/v1/tokens/", ["number"]).unwrap(),
            Destination::new("https://vault.acquirer.example:8443", ["pan"]).unwrap(),
        ])
    }

    #[test]
    fn table() {
        use Refusal::*;
        let p = policy();
        let ok = Ok(());
        let cases: &[(&str, &str, Result<(), Refusal>)] = &[
            (
                "https://api.psp.example/v1/charges",
                "card[number]",
                ok.clone(),
            ),
            (
                "https://API.PSP.example/v1/charges/ch_1?expand=x",
                "card[cvc]",
                ok.clone(),
            ),
            (
                "https://api.psp.example:443/v1/charges",
                "card[number]",
                ok.clone(),
            ),
            ("https://api.psp.example/v1/tokens", "number", ok.clone()),
            (
                "https://vault.acquirer.example:8443/any/path",
                "pan",
                ok.clone(),
            ),
            (
                "https://api.psp.example/v1/charges",
                "metadata[note]",
                Err(Field {
                    host: "api.psp.example".into(),
                    field: "metadata[note]".into(),
                }),
            ),
            (
                "https://api.psp.example/v1/tokens",
                "card[number]",
                Err(Field {
                    host: "api.psp.example".into(),
                    field: "card[number]".into(),
                }),
            ),
            (
                "https://api.psp.example/v1/chargesX",
                "card[number]",
                Err(Path {
                    host: "api.psp.example".into(),
                    path: "/v1/chargesX".into(),
                }),
            ),
            (
                "https://api.psp.example/v1/charges/../refunds",
                "card[number]",
                Err(Path {
                    host: "api.psp.example".into(),
                    path: "/v1/refunds".into(),
                }),
            ),
            (
                "https://api.psp.example/v1/charges/%2e%2e/refunds",
                "card[number]",
                Err(Path {
                    host: "api.psp.example".into(),
                    path: "/v1/refunds".into(),
                }),
            ),
            (
                "http://api.psp.example/v1/charges",
                "card[number]",
                Err(NotHttps("http".into())),
            ),
            (
                "https://api.psp.example.evil.example/v1/charges",
                "card[number]",
                Err(Destination("api.psp.example.evil.example".into())),
            ),
            (
                "https://evil.example/v1/charges",
                "card[number]",
                Err(Destination("evil.example".into())),
            ),
            (
                "https://api.psp.example:8443/v1/charges",
                "card[number]",
                Err(Destination("api.psp.example:8443".into())),
            ),
            (
                "https://vault.acquirer.example/x",
                "pan",
                Err(Destination("vault.acquirer.example".into())),
            ),
            (
                "https://api.psp.example@evil.example/v1/charges",
                "card[number]",
                Err(Destination("evil.example".into())),
            ),
            ("not a url", "pan", Err(BadUrl)),
        ];
        for (url, field, want) in cases {
            assert_eq!(&p.check(url, field), want, "{url} {field}");
        }
    }

    #[test]
    fn an_empty_policy_sends_card_data_nowhere() {
        assert!(DetokenizePolicy::default()
            .check("https://api.psp.example/", "pan")
            .is_err());
    }

    #[test]
    fn bad_entries_are_refused() {
        for (url, fields) in [
            ("http://api.psp.example/", vec!["pan"]),
            ("https://user:pw@api.psp.example/", vec!["pan"]),
            ("https://api.psp.example/?a=b", vec!["pan"]),
            ("https://api.psp.example/", vec![]),
            ("https://api.psp.example/", vec![" "]),
            ("api.psp.example", vec!["pan"]),
        ] {
            assert!(Destination::new(url, fields).is_err(), "{url}");
        }
    }

    #[test]
    fn fields_for_unions_the_entries_that_cover_a_path() {
        let p = DetokenizePolicy::new(vec![
            Destination::new("https://api.psp.example/", ["a"]).unwrap(),
            Destination::new("https://api.psp.example/v1", ["b", "a"]).unwrap(),
        ]);
        assert_eq!(
            p.fields_for("https://api.psp.example/v1/x").unwrap(),
            vec!["a", "b"]
        );
        assert_eq!(
            p.fields_for("https://api.psp.example/v2").unwrap(),
            vec!["a"]
        );
    }
}
