//! `[vault]` (the card vault a gateway tokenizes into) and `[site.cards]`
//! (a site's inline tokenization and leak prevention). Part of
//! [`crate::config`]: parsing and validation only.

use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::{ConfigError, Validator};
use crate::presets::{CheckoutRoute, Route};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileVault {
    key_file: Option<Spanned<String>>,
    keep: Option<Spanned<String>>,
    fingerprint: Option<bool>,
    dedup: Option<Spanned<bool>>,
    cvv_ttl_seconds: Option<Spanned<u64>>,
    outbound: Option<Spanned<crate::outbound::OutboundConfig>>,
    api: Option<Spanned<crate::vault_api::DetokenizeApiConfig>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileCards {
    tokenize: Option<Spanned<bool>>,
    find_pans: Option<bool>,
    leaks: Option<Spanned<String>>,
    max_checkout_bytes: Option<Spanned<usize>>,
    #[serde(default)]
    checkout: Vec<Spanned<FileCheckout>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCheckout {
    method: Option<Spanned<String>>,
    path: Spanned<String>,
    #[serde(default)]
    query: Vec<Spanned<String>>,
    card_fields: Spanned<Vec<Spanned<String>>>,
}

/// `[vault]`: where cards taken out of checkout requests are kept.
#[derive(Debug, Clone, PartialEq)]
pub struct VaultConfig {
    /// The key file (`rampart vault keygen FILE`); `None`: the key lines
    /// in `RAMPART_VAULT_KEYS`, else `DATA/vault.keys`.
    pub key_file: Option<PathBuf>,
    /// What tokens keep of the card number: `bin,last4`, `bin`, `last4`
    /// or `none`.
    pub keep: String,
    pub fingerprint: bool,
    pub dedup: bool,
    /// How long a security code is held in memory for its one forward.
    pub cvv_ttl: Duration,
    /// `[vault.outbound]`: the detokenizing proxy for the store's calls
    /// to its payment provider.
    pub outbound: Option<crate::outbound::OutboundConfig>,
    /// `[vault.api]`: the detokenization API for authorised services.
    pub api: Option<crate::vault_api::DetokenizeApiConfig>,
}

/// What leak prevention does with a card number in a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeakAction {
    /// Responses are not scanned.
    Off,
    /// All digits but the last four become `*`.
    Mask,
    /// The response is replaced by an error page.
    Block,
}

/// `[site.cards]`: a site's card handling. Defaults follow `[vault]`: with
/// a vault, checkout routes are tokenized and leaks masked; without one,
/// nothing is done.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteCards {
    /// Replace card data in checkout requests with tokens.
    pub tokenize: bool,
    /// Also tokenize card numbers (Luhn-valid, in an issuer range) found in
    /// fields of a checkout route that its card fields do not name.
    pub find_pans: bool,
    pub leaks: LeakAction,
    /// Largest checkout body tokenized; a longer one is refused (413), as a
    /// card in it could not be taken out.
    pub max_checkout_bytes: usize,
    /// Checkout routes besides the platform preset's, checked first.
    pub checkout: Vec<CheckoutRoute>,
}

impl SiteCards {
    /// The defaults for a site, with or without a vault.
    pub fn defaults(vault: bool) -> SiteCards {
        SiteCards {
            tokenize: vault,
            find_pans: true,
            leaks: if vault {
                LeakAction::Mask
            } else {
                LeakAction::Off
            },
            max_checkout_bytes: 1 << 20,
            checkout: Vec::new(),
        }
    }
}

impl Default for SiteCards {
    fn default() -> Self {
        SiteCards::defaults(false)
    }
}

impl<F: Fn(Option<Range<usize>>, String) -> ConfigError> Validator<'_, F> {
    pub(super) fn vault(&self, v: FileVault) -> Result<VaultConfig, ConfigError> {
        let keep = match &v.keep {
            Some(k) => {
                if let Err(e) = vault::TokenFormat::parse(k.get_ref()) {
                    return self.err(k.span(), format!("keep: {e}"));
                }
                k.get_ref().clone()
            }
            None => "bin,last4".to_string(),
        };
        let dedup = v.dedup.as_ref().is_some_and(|d| *d.get_ref());
        let fingerprint = v.fingerprint.unwrap_or(false) || dedup;
        let cvv_ttl = match &v.cvv_ttl_seconds {
            Some(t) if !(5..=3600).contains(t.get_ref()) => {
                return self.err(t.span(), "cvv_ttl_seconds must be between 5 and 3600")
            }
            Some(t) => Duration::from_secs(*t.get_ref()),
            None => Duration::from_secs(120),
        };
        let key_file = match &v.key_file {
            Some(f) if f.get_ref().is_empty() => return self.err(f.span(), "key_file is empty"),
            Some(f) => Some(self.path(f.get_ref())),
            None => None,
        };
        let outbound = match v.outbound {
            Some(o) => {
                let span = o.span();
                let mut o = o.into_inner();
                o.trust = o.trust.map(|t| self.path(&t.to_string_lossy()));
                if let Err(e) = o.validate() {
                    return self.err(span, format!("[vault.outbound]: {e}"));
                }
                Some(o)
            }
            None => None,
        };
        let api = match v.api {
            Some(a) => {
                let span = a.span();
                let mut a = a.into_inner();
                a.resolve_paths(|p| self.path(&p.to_string_lossy()));
                if let Err(e) = a.validate() {
                    return self.err(span, format!("[vault.api]: {e}"));
                }
                Some(a)
            }
            None => None,
        };
        Ok(VaultConfig {
            api,
            outbound,
            key_file,
            keep,
            fingerprint,
            dedup,
            cvv_ttl,
        })
    }

    pub(super) fn cards(
        &self,
        c: Option<Spanned<FileCards>>,
        vault: bool,
    ) -> Result<SiteCards, ConfigError> {
        let mut out = SiteCards::defaults(vault);
        let Some(c) = c else { return Ok(out) };
        let c = c.into_inner();
        if let Some(t) = &c.tokenize {
            if *t.get_ref() && !vault {
                return self.err(
                    t.span(),
                    "tokenize needs a [vault] table: the vault the card numbers go to",
                );
            }
            out.tokenize = *t.get_ref();
        }
        if let Some(f) = c.find_pans {
            out.find_pans = f;
        }
        if let Some(l) = &c.leaks {
            out.leaks = match l.get_ref().as_str() {
                "off" => LeakAction::Off,
                "mask" => LeakAction::Mask,
                "block" => LeakAction::Block,
                other => {
                    return self.err(
                        l.span(),
                        format!("leaks = {other:?}: use \"mask\", \"block\" or \"off\""),
                    )
                }
            };
        }
        if let Some(m) = &c.max_checkout_bytes {
            if !(1024..=64 << 20).contains(m.get_ref()) {
                return self.err(
                    m.span(),
                    "max_checkout_bytes must be between 1024 and 67108864",
                );
            }
            out.max_checkout_bytes = *m.get_ref();
        }
        for route in c.checkout {
            let r = route.into_inner();
            let method = match &r.method {
                Some(m) => {
                    let up = m.get_ref().to_ascii_uppercase();
                    if !["POST", "PUT", "PATCH"].contains(&up.as_str()) {
                        return self.err(
                            m.span(),
                            "method: a checkout route is POST, PUT or PATCH (card data comes in a body)",
                        );
                    }
                    Some(up)
                }
                None => None,
            };
            if !r.path.get_ref().starts_with('/') {
                return self.err(r.path.span(), "path must start with '/'");
            }
            let mut query = Vec::new();
            for q in &r.query {
                if !q.get_ref().contains('=') {
                    return self.err(q.span(), "query entries are name=value pairs");
                }
                query.push(q.get_ref().clone());
            }
            let fields_span = r.card_fields.span();
            let mut card_fields = Vec::new();
            for f in r.card_fields.into_inner() {
                if f.get_ref().trim().is_empty() {
                    return self.err(f.span(), "a card field name is empty");
                }
                card_fields.push(f.into_inner());
            }
            if card_fields.is_empty() {
                return self.err(
                    fields_span,
                    "card_fields is empty: name the fields that carry the card number, expiry, holder and security code",
                );
            }
            out.checkout.push(CheckoutRoute {
                route: Route {
                    method,
                    path: r.path.into_inner(),
                    query,
                },
                card_fields,
            });
        }
        Ok(out)
    }
}
