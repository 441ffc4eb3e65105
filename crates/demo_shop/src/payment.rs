//! Card payments: the card details a checkout collects, the simulated
//! processor, and the client that charges a remote payment provider.
//!
//! Owns: deciding approve/decline in simulated mode, and the JSON exchange
//! with a remote provider. Must not: store, log or `Debug`-print card
//! fields (only [`CardDetails::last_four`] may leave this module), or know
//! about orders and HTTP pages.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::PaymentProvider;
use crate::secret::random_hex;

/// How long a remote provider may take to answer a charge.
const REMOTE_TIMEOUT: Duration = Duration::from_secs(20);

/// What the shopper typed (or what Rampart's tokenization put) in the
/// checkout's card fields. Never logged: `Debug` shows only the last four.
#[derive(Clone, Serialize, Deserialize)]
pub struct CardDetails {
    /// Card number, or a token standing in for it.
    pub number: String,
    /// Expiry as typed, usually `MM/YY`.
    pub exp: String,
    /// Card verification code (or a token standing in for it).
    pub cvc: String,
    /// Name on the card.
    pub name: String,
}

impl fmt::Debug for CardDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardDetails")
            .field("last_four", &self.last_four())
            .finish_non_exhaustive()
    }
}

impl CardDetails {
    /// The card number without the spaces and dashes people type.
    fn compact_number(&self) -> String {
        self.number
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect()
    }

    /// The last four characters of the card field (spaces and dashes
    /// ignored): all the shop ever keeps of it.
    pub fn last_four(&self) -> String {
        let compact: Vec<char> = self.compact_number().chars().collect();
        compact[compact.len().saturating_sub(4)..].iter().collect()
    }
}

/// Why a provider declined a card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeclineReason {
    /// The issuer declined without saying why.
    Generic,
    /// Not enough money on the account.
    InsufficientFunds,
    /// The card was reported lost.
    LostCard,
    /// The card was reported stolen.
    StolenCard,
    /// The card has expired (or the expiry date is wrong).
    ExpiredCard,
    /// The card verification code is wrong.
    IncorrectCvc,
    /// The card number is not a valid card number.
    IncorrectNumber,
    /// The processor failed to handle the charge.
    ProcessingError,
    /// A remote provider's own decline code.
    Other(String),
}

impl DeclineReason {
    /// Stripe-style machine code, as the remote protocol carries it.
    pub fn code(&self) -> &str {
        match self {
            DeclineReason::Generic => "generic_decline",
            DeclineReason::InsufficientFunds => "insufficient_funds",
            DeclineReason::LostCard => "lost_card",
            DeclineReason::StolenCard => "stolen_card",
            DeclineReason::ExpiredCard => "expired_card",
            DeclineReason::IncorrectCvc => "incorrect_cvc",
            DeclineReason::IncorrectNumber => "incorrect_number",
            DeclineReason::ProcessingError => "processing_error",
            DeclineReason::Other(code) => code,
        }
    }

    fn from_code(code: &str) -> DeclineReason {
        match code {
            "generic_decline" | "card_declined" | "declined" | "" => DeclineReason::Generic,
            "insufficient_funds" => DeclineReason::InsufficientFunds,
            "lost_card" => DeclineReason::LostCard,
            "stolen_card" => DeclineReason::StolenCard,
            "expired_card" => DeclineReason::ExpiredCard,
            "incorrect_cvc" => DeclineReason::IncorrectCvc,
            "incorrect_number" | "invalid_number" => DeclineReason::IncorrectNumber,
            "processing_error" => DeclineReason::ProcessingError,
            other => DeclineReason::Other(other.chars().take(64).collect()),
        }
    }

    /// What the shopper is told, after "Your card was declined".
    pub fn explanation(&self) -> &'static str {
        match self {
            DeclineReason::Generic | DeclineReason::Other(_) => {
                "Please use another card or contact your bank."
            }
            DeclineReason::InsufficientFunds => "The card has insufficient funds.",
            DeclineReason::LostCard | DeclineReason::StolenCard => {
                "Please contact your bank or use another card."
            }
            DeclineReason::ExpiredCard => "The card has expired or the expiry date is wrong.",
            DeclineReason::IncorrectCvc => "The security code (CVC) is incorrect.",
            DeclineReason::IncorrectNumber => "The card number is incorrect.",
            DeclineReason::ProcessingError => {
                "The payment could not be processed. Please try again in a moment."
            }
        }
    }
}

/// The provider's answer to a charge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChargeOutcome {
    /// Money reserved; `reference` is the provider's payment id.
    Approved {
        /// The provider's id for this payment (e.g. `ch_sim_…`).
        reference: String,
    },
    /// The card was refused.
    Declined {
        /// Why.
        reason: DeclineReason,
    },
}

/// The charge could not be completed: no answer, or an answer the shop
/// does not understand. (A decline is not an error: see [`ChargeOutcome`].)
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    /// The provider could not be reached or timed out.
    #[error("payment provider unreachable: {0}")]
    Unreachable(String),
    /// The provider answered something that is not a charge result.
    #[error("payment provider sent an invalid response: {0}")]
    InvalidResponse(String),
}

/// The built-in simulated card processor.
///
/// Rules (compatible with Stripe's test cards where they overlap):
/// - a card field that contains anything but digits, spaces and dashes is a
///   token: approved, since the processor cannot tell it from a real card;
/// - a number must have 12–19 digits and pass the Luhn check, else
///   `incorrect_number`;
/// - `4000000000000002` generic decline, `4000000000009995` insufficient
///   funds, `4000000000009987` lost card, `4000000000009979` stolen card,
///   `4000000000000069` expired card, `4000000000000127` incorrect CVC,
///   `4000000000000119` processing error;
/// - an expiry in the past (`MM/YY` or `MM/YYYY`) is `expired_card`, a CVC
///   of digits must have 3 or 4 of them, else `incorrect_cvc`;
/// - every other valid number (e.g. `4242424242424242`) is approved.
#[derive(Clone, Copy, Debug, Default)]
pub struct SimulatedProcessor;

impl SimulatedProcessor {
    /// Decide a charge of `amount` minor units.
    pub fn authorize(&self, amount: i64, card: &CardDetails) -> ChargeOutcome {
        let decline = |reason| ChargeOutcome::Declined { reason };
        if amount <= 0 {
            return decline(DeclineReason::ProcessingError);
        }
        let number = card.compact_number();
        if number.is_empty() {
            return decline(DeclineReason::IncorrectNumber);
        }
        let is_card_number = number.bytes().all(|b| b.is_ascii_digit());
        if is_card_number {
            if !(12..=19).contains(&number.len()) || !passes_luhn(&number) {
                return decline(DeclineReason::IncorrectNumber);
            }
            let test_decline = match number.as_str() {
                "4000000000000002" => Some(DeclineReason::Generic),
                "4000000000009995" => Some(DeclineReason::InsufficientFunds),
                "4000000000009987" => Some(DeclineReason::LostCard),
                "4000000000009979" => Some(DeclineReason::StolenCard),
                "4000000000000069" => Some(DeclineReason::ExpiredCard),
                "4000000000000127" => Some(DeclineReason::IncorrectCvc),
                "4000000000000119" => Some(DeclineReason::ProcessingError),
                _ => None,
            };
            if let Some(reason) = test_decline {
                return decline(reason);
            }
        }
        if let Some(expiry) = CardExpiry::parse(&card.exp) {
            let now = time::OffsetDateTime::now_utc();
            if expiry.is_past(now.year(), u8::from(now.month())) {
                return decline(DeclineReason::ExpiredCard);
            }
        } else if is_card_number && !looks_like_token(&card.exp) {
            return decline(DeclineReason::ExpiredCard);
        }
        let cvc = card.cvc.trim();
        if cvc.bytes().all(|b| b.is_ascii_digit()) && !(3..=4).contains(&cvc.len()) {
            return decline(DeclineReason::IncorrectCvc);
        }
        ChargeOutcome::Approved {
            reference: format!("ch_sim_{}", random_hex(12)),
        }
    }
}

/// A field someone replaced by a token rather than typed (letters, `_`).
fn looks_like_token(field: &str) -> bool {
    field.chars().any(|c| c.is_ascii_alphabetic() || c == '_')
}

/// Luhn (mod 10) check of a string of ASCII digits.
pub fn passes_luhn(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        if !b.is_ascii_digit() {
            return false;
        }
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    !digits.is_empty() && sum.is_multiple_of(10)
}

/// A card's expiry month.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct CardExpiry {
    year: i32,
    month: u8,
}

impl CardExpiry {
    /// `MM/YY`, `MM / YY`, `MM/YYYY`, `MMYY`.
    fn parse(text: &str) -> Option<CardExpiry> {
        let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let (month, year) = match digits.split_once('/') {
            Some((m, y)) => (m.to_owned(), y.to_owned()),
            None if digits.len() == 4 => (digits[..2].to_owned(), digits[2..].to_owned()),
            None => return None,
        };
        if month.is_empty()
            || !month.bytes().all(|b| b.is_ascii_digit())
            || !year.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let month: u8 = month.parse().ok()?;
        let year: i32 = match year.len() {
            2 => 2000 + year.parse::<i32>().ok()?,
            4 => year.parse().ok()?,
            _ => return None,
        };
        (1..=12)
            .contains(&month)
            .then_some(CardExpiry { year, month })
    }

    fn is_past(self, this_year: i32, this_month: u8) -> bool {
        (self.year, self.month) < (this_year, this_month)
    }
}

/// JSON body of a charge sent to a remote provider.
#[derive(Serialize)]
struct RemoteCharge<'a> {
    amount: i64,
    currency: &'a str,
    card: &'a CardDetails,
}

/// JSON answer of a remote provider.
#[derive(Deserialize)]
struct RemoteAnswer {
    status: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    code: Option<String>,
}

/// Charges cards through the configured provider.
pub(crate) enum PaymentGateway {
    Simulated(SimulatedProcessor),
    Remote {
        url: String,
        client: reqwest::Client,
    },
}

impl PaymentGateway {
    /// Build the gateway for `provider`; a malformed URL or proxy is a
    /// one-line error.
    pub(crate) fn new(provider: &PaymentProvider) -> Result<PaymentGateway, String> {
        match provider {
            PaymentProvider::Simulated => Ok(PaymentGateway::Simulated(SimulatedProcessor)),
            PaymentProvider::Remote {
                url,
                proxy,
                ca_file,
            } => {
                let parsed = reqwest::Url::parse(url)
                    .map_err(|e| format!("payment provider URL {url:?} is invalid: {e}"))?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    return Err(format!(
                        "payment provider URL {url:?} must start with http:// or https://"
                    ));
                }
                // reqwest takes rustls's process-wide provider: ring, as
                // everywhere in Rampart (a no-op when already installed).
                let _ = rustls::crypto::ring::default_provider().install_default();
                let mut builder = reqwest::Client::builder()
                    .timeout(REMOTE_TIMEOUT)
                    .connect_timeout(Duration::from_secs(5))
                    .user_agent(concat!("ember-and-leaf-shop/", env!("CARGO_PKG_VERSION")));
                builder = match proxy {
                    Some(proxy) => builder.proxy(
                        reqwest::Proxy::all(proxy.as_str())
                            .map_err(|e| format!("payment proxy {proxy:?} is invalid: {e}"))?,
                    ),
                    None => builder.no_proxy(),
                };
                if let Some(file) = ca_file {
                    let pem = std::fs::read(file)
                        .map_err(|e| format!("payment provider CA file {}: {e}", file.display()))?;
                    let certs = reqwest::Certificate::from_pem_bundle(&pem)
                        .map_err(|e| format!("payment provider CA file {}: {e}", file.display()))?;
                    if certs.is_empty() {
                        return Err(format!(
                            "payment provider CA file {}: no certificate in it",
                            file.display()
                        ));
                    }
                    for cert in certs {
                        builder = builder.add_root_certificate(cert);
                    }
                }
                let client = builder
                    .build()
                    .map_err(|e| format!("cannot set up the payment provider client: {e}"))?;
                Ok(PaymentGateway::Remote {
                    url: url.clone(),
                    client,
                })
            }
        }
    }

    /// Charge `amount` minor units of `currency` to `card`.
    pub(crate) async fn charge(
        &self,
        amount: i64,
        currency: &str,
        card: &CardDetails,
    ) -> Result<ChargeOutcome, PaymentError> {
        match self {
            PaymentGateway::Simulated(processor) => Ok(processor.authorize(amount, card)),
            PaymentGateway::Remote { url, client } => {
                let response = client
                    .post(url)
                    .json(&RemoteCharge {
                        amount,
                        currency,
                        card,
                    })
                    .send()
                    .await
                    .map_err(|e| PaymentError::Unreachable(e.without_url().to_string()))?;
                let status = response.status();
                let body = response
                    .bytes()
                    .await
                    .map_err(|e| PaymentError::Unreachable(e.without_url().to_string()))?;
                let answer: RemoteAnswer = serde_json::from_slice(&body).map_err(|_| {
                    PaymentError::InvalidResponse(format!("HTTP {status} without a charge result"))
                })?;
                match answer.status.as_str() {
                    "approved" | "succeeded" => match answer.id {
                        Some(id) if !id.trim().is_empty() => Ok(ChargeOutcome::Approved {
                            reference: id.chars().take(128).collect(),
                        }),
                        _ => Err(PaymentError::InvalidResponse(
                            "approved charge without an id".into(),
                        )),
                    },
                    "declined" | "failed" => Ok(ChargeOutcome::Declined {
                        reason: DeclineReason::from_code(
                            answer
                                .code
                                .as_deref()
                                .or(answer.reason.as_deref())
                                .unwrap_or(""),
                        ),
                    }),
                    other => Err(PaymentError::InvalidResponse(format!(
                        "unknown charge status {:?}",
                        other.chars().take(32).collect::<String>()
                    ))),
                }
            }
        }
    }

    /// One line for the admin's payment settings page.
    pub(crate) fn describe(&self) -> String {
        match self {
            PaymentGateway::Simulated(_) => "Simulated processor (built in)".into(),
            PaymentGateway::Remote { url, .. } => {
                format!(
                    "Remote provider at {}",
                    crate::config::without_credentials(url)
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(number: &str, exp: &str, cvc: &str) -> CardDetails {
        CardDetails {
            number: number.into(),
            exp: exp.into(),
            cvc: cvc.into(),
            name: "Alice Martin".into(),
        }
    }

    fn declined(outcome: ChargeOutcome) -> DeclineReason {
        match outcome {
            ChargeOutcome::Declined { reason } => reason,
            ChargeOutcome::Approved { reference } => panic!("approved as {reference}"),
        }
    }

    #[test]
    fn luhn_accepts_known_good_numbers_and_rejects_typos() {
        assert!(passes_luhn("4242424242424242"));
        assert!(passes_luhn("5555555555554444"));
        assert!(passes_luhn("378282246310005"));
        assert!(!passes_luhn("4242424242424241"));
        assert!(!passes_luhn(""));
        assert!(!passes_luhn("42x2"));
    }

    #[test]
    fn simulated_processor_follows_the_test_card_table() {
        let p = SimulatedProcessor;
        let ok = p.authorize(1000, &card("4242 4242-4242 4242", "12/40", "123"));
        assert!(
            matches!(ok, ChargeOutcome::Approved { ref reference } if reference.starts_with("ch_sim_"))
        );
        let cases = [
            ("4000000000000002", DeclineReason::Generic),
            ("4000000000009995", DeclineReason::InsufficientFunds),
            ("4000000000009987", DeclineReason::LostCard),
            ("4000000000009979", DeclineReason::StolenCard),
            ("4000000000000069", DeclineReason::ExpiredCard),
            ("4000000000000127", DeclineReason::IncorrectCvc),
            ("4000000000000119", DeclineReason::ProcessingError),
            ("4242424242424241", DeclineReason::IncorrectNumber),
            ("42424242", DeclineReason::IncorrectNumber),
        ];
        for (number, reason) in cases {
            assert_eq!(
                declined(p.authorize(1000, &card(number, "12/40", "123"))),
                reason
            );
        }
    }

    #[test]
    fn expiry_and_cvc_are_checked_for_real_numbers() {
        let p = SimulatedProcessor;
        assert_eq!(
            declined(p.authorize(1000, &card("4242424242424242", "01/20", "123"))),
            DeclineReason::ExpiredCard
        );
        assert_eq!(
            declined(p.authorize(1000, &card("4242424242424242", "13/40", "123"))),
            DeclineReason::ExpiredCard
        );
        assert_eq!(
            declined(p.authorize(1000, &card("4242424242424242", "12/2040", "12"))),
            DeclineReason::IncorrectCvc
        );
        assert!(matches!(
            p.authorize(1000, &card("4242424242424242", "1240", "1234")),
            ChargeOutcome::Approved { .. }
        ));
    }

    #[test]
    fn tokens_are_approved_because_the_processor_cannot_tell() {
        let p = SimulatedProcessor;
        let outcome = p.authorize(
            1000,
            &card("tok_4f9a1c2e88b04d2a", "tok_exp_1", "tok_cvc_1"),
        );
        assert!(matches!(outcome, ChargeOutcome::Approved { .. }));
    }

    #[test]
    fn debug_never_shows_the_card_number_or_cvc() {
        let c = card("4242424242424242", "12/40", "987");
        let shown = format!("{c:?}");
        assert!(!shown.contains("42424242"), "{shown}");
        assert!(!shown.contains("987"), "{shown}");
        assert!(shown.contains("4242"));
        assert_eq!(c.last_four(), "4242");
        assert_eq!(card("tok_abc", "", "").last_four(), "_abc");
        assert_eq!(card("12", "", "").last_four(), "12");
    }
}
