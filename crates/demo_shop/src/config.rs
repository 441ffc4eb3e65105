//! What the embedding program configures: where the shop keeps its data and
//! which payment provider it charges, plus the seeded demo credentials that
//! `rampart demo` prints.
//!
//! Must not: open files or sockets (that is [`crate::serve`]'s job).

use std::fmt;
use std::path::PathBuf;

/// E-mail address of the seeded demo customer.
pub const DEMO_CUSTOMER_EMAIL: &str = "alice@example.com";
/// Password of the seeded demo customer (known on purpose: the demo prints it).
pub const DEMO_CUSTOMER_PASSWORD: &str = "espresso-at-dawn";
/// User name of the seeded staff account of the shop's own admin area.
pub const DEMO_STAFF_USERNAME: &str = "admin";
/// Password of the seeded staff account (known on purpose: the demo prints it).
pub const DEMO_STAFF_PASSWORD: &str = "roastery-admin-2024";
/// File name of the shop's SQLite database inside [`ShopConfig::data_dir`].
pub const DATABASE_FILE_NAME: &str = "demo-shop.sqlite";

/// How the demo shop runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShopConfig {
    /// Directory holding `demo-shop.sqlite`; created if missing.
    pub data_dir: PathBuf,
    /// Who authorizes card payments at checkout.
    pub payment_provider: PaymentProvider,
}

impl ShopConfig {
    /// A shop keeping its data in `data_dir` and charging the built-in
    /// simulated payment processor.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        ShopConfig {
            data_dir: data_dir.into(),
            payment_provider: PaymentProvider::Simulated,
        }
    }

    /// Where the shop's SQLite database lives.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join(DATABASE_FILE_NAME)
    }
}

/// The payment provider the checkout charges. `Debug` hides any
/// credentials written into the URLs (`user:password@`).
///
/// The shop never needs a real card number: it forwards whatever arrives in
/// the checkout's card fields (a card number, or a token put there by
/// Rampart's inline tokenization) to the provider, and keeps only the last
/// four characters and the provider's payment reference.
#[derive(Clone, PartialEq, Eq)]
pub enum PaymentProvider {
    /// Built-in simulated processor (Luhn check, Stripe-like decline test
    /// numbers, tokens approved); see [`crate::SimulatedProcessor`].
    Simulated,
    /// POST each charge as JSON to `url`:
    /// `{"amount": <minor units>, "currency": "EUR", "card": {"number", "exp", "cvc", "name"}}`,
    /// and read `{"status": "approved"|"declined", "id": "...", "reason": "..."}`.
    Remote {
        /// The provider's charge endpoint (`http://` or `https://`).
        url: String,
        /// Forward proxy to send the charge through (e.g. Rampart's outbound
        /// proxy, `http://127.0.0.1:PORT`); `None` connects directly and
        /// ignores proxy environment variables.
        proxy: Option<String>,
        /// A PEM file of extra root certificates to trust for the
        /// provider's TLS, e.g. the CA of Rampart's outbound proxy, which
        /// opens the TLS of allowlisted destinations to swap tokens back.
        ca_file: Option<PathBuf>,
    },
}

impl fmt::Debug for PaymentProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PaymentProvider::Simulated => f.write_str("Simulated"),
            PaymentProvider::Remote {
                url,
                proxy,
                ca_file,
            } => f
                .debug_struct("Remote")
                .field("url", &without_credentials(url))
                .field("proxy", &proxy.as_deref().map(without_credentials))
                .field("ca_file", ca_file)
                .finish(),
        }
    }
}

/// `url` with any `user:password@` of its authority replaced by `***@`.
pub(crate) fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_credentials_in_provider_urls() {
        let provider = PaymentProvider::Remote {
            url: "https://sk_live_secret:x@payments.example/v1/charges?a=b@c".into(),
            proxy: Some("http://user:hunter2@127.0.0.1:3128".into()),
            ca_file: None,
        };
        let shown = format!("{provider:?}");
        assert!(!shown.contains("sk_live_secret"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("https://***@payments.example/v1/charges?a=b@c"),
            "{shown}"
        );
        assert_eq!(
            without_credentials("http://127.0.0.1:9/x"),
            "http://127.0.0.1:9/x"
        );
    }
}
