//! Inline tokenization: card numbers leave checkout requests before the
//! store sees them.
//!
//! On a site's checkout routes (its platform preset's and its own
//! `[[site.cards.checkout]]`), the body is buffered and its fields read
//! ([`super::card_fields`]). A field the route's `card_fields` name takes
//! its role from its name: a security code (`cvc`, `cvv`, `cid`, `csc`,
//! `security code`), an expiry (`exp`, with `month`/`year` when split), a
//! holder (`name`, `holder`), else the card number. With `find_pans`, any
//! other field whose whole value is a card number (Luhn-valid, in an issuer
//! range) is a card number too. Then:
//!
//! - each card number becomes a token (stored in the vault with the
//!   expiry and holder name, durably, before the request goes on); the
//!   token keeps the BIN and last four digits as configured and fails the
//!   Luhn check, so the store's own validation accepts it and it can never
//!   pass for a card;
//! - the security code is held in memory for the token's one forward
//!   (the outbound proxy puts it back) and replaced by zeros of its length;
//!   it is never stored, and never reaches the store;
//! - expiry and holder name stay in the request (without the number they
//!   are not card data).
//!
//! Every other byte of the body is left as sent. What cannot be done
//! safely is refused rather than let through: a malformed body, a body in
//! an encoding not read here that holds a card number (400), a body over
//! `max_checkout_bytes` (413), a vault that cannot store the card (503).
//! The WAF runs after this stage, so its audit trail only ever sees tokens.
//!
//! Must not: log or put in an event any card data (events name fields and
//! count cards).

use std::sync::Arc;

use bytes::Bytes;
use http::{header, request, Response, StatusCode};
use ops::Severity;
use vault::{Card, Cvv, Expiry, Pan, Token, Tokenizer, Vault};

use super::card_fields::{self, Fields, Slot};
use crate::pages::message_page;
use crate::pipeline::{BodyInspection, BufferedBody, Decision, OverLimit, RequestContext, Stage};
use crate::presets::{glob, CheckoutRoute};

/// What a card field carries, told by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Number,
    Expiry,
    ExpiryMonth,
    ExpiryYear,
    Holder,
    SecurityCode,
}

/// The role of a card field named `leaf` (its last segment).
pub(crate) fn role_of(leaf: &str) -> Role {
    let n: String = leaf
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    if ["cvc", "cvv", "cid", "csc", "cvn", "securitycode"]
        .iter()
        .any(|k| n.contains(k))
    {
        Role::SecurityCode
    } else if n.contains("exp") {
        if n.contains("month") || n.ends_with("mm") {
            Role::ExpiryMonth
        } else if n.contains("year") || n.ends_with("yy") {
            Role::ExpiryYear
        } else {
            Role::Expiry
        }
    } else if n.contains("name") || n.contains("holder") {
        Role::Holder
    } else {
        Role::Number
    }
}

/// Whether a card-field pattern names the field `name`: `*` matches any
/// run of characters within a segment; dotted patterns (JSON paths) match
/// segment by segment.
pub(crate) fn field_matches(pattern: &str, name: &str) -> bool {
    if !pattern.contains('.') {
        return glob(pattern, name);
    }
    let p: Vec<&str> = pattern.split('.').collect();
    let n: Vec<&str> = name.split('.').collect();
    p.len() == n.len() && p.iter().zip(&n).all(|(p, n)| glob(p, n))
}

/// Whether `value` is, as a whole, a card number.
fn is_card(value: &str) -> bool {
    let t = value.trim();
    let found = ops::cards::find_cards(t);
    found.len() == 1 && found[0].start == 0 && found[0].end == t.len()
}

/// The inline tokenization stage.
pub struct Tokenization {
    vault: Arc<Vault>,
    tokenizer: Tokenizer,
}

impl Tokenization {
    pub fn new(vault: Arc<Vault>, tokenizer: Tokenizer) -> Tokenization {
        Tokenization { vault, tokenizer }
    }

    fn route<'a>(ctx: &'a RequestContext, req: &request::Parts) -> Option<&'a CheckoutRoute> {
        let cards = &ctx.site.cards;
        if !cards.tokenize {
            return None;
        }
        let method = req.method.as_str();
        let path = req.uri.path();
        let query = req.uri.query().unwrap_or("");
        cards
            .checkout
            .iter()
            .find(|r| r.route.applies(method, path, query))
            .or_else(|| {
                ctx.site
                    .platform
                    .as_ref()?
                    .checkout_route(method, path, query)
            })
    }

    async fn tokenize<'a>(
        &'a self,
        ctx: &'a mut RequestContext,
        req: &'a mut request::Parts,
        body: &'a mut BufferedBody,
        route: CheckoutRoute,
    ) -> Decision<'a> {
        let content_type = req
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let slots = match card_fields::parse(content_type, &body.bytes) {
            Fields::Parsed(slots) => slots,
            Fields::Malformed(why) => return refuse_unreadable(ctx, req, why),
            Fields::Other => {
                if ops::cards::find_cards_in_bytes(&body.bytes).is_empty() {
                    return Decision::Continue;
                }
                return refuse_unreadable(
                    ctx,
                    req,
                    "a card number in a body that is neither a form nor JSON",
                );
            }
        };
        let mut roles: Vec<(usize, Role)> = Vec::new();
        for (i, s) in slots.iter().enumerate() {
            if route.card_fields.iter().any(|p| field_matches(p, &s.name)) {
                roles.push((i, role_of(&s.leaf)));
            } else if ctx.site.cards.find_pans && is_card(&s.value) {
                roles.push((i, Role::Number));
            }
        }
        if roles.is_empty() {
            return Decision::Continue;
        }
        let value = |role: Role| {
            roles
                .iter()
                .find(|(_, r)| *r == role)
                .map(|(i, _)| slots[*i].value.as_str())
                .filter(|v| !v.trim().is_empty())
        };
        let expiry = match (
            value(Role::Expiry),
            value(Role::ExpiryMonth),
            value(Role::ExpiryYear),
        ) {
            (Some(e), _, _) => Expiry::parse(e).ok(),
            (None, Some(m), Some(y)) => Expiry::parse(&format!("{}/{}", m.trim(), y.trim())).ok(),
            _ => None,
        };
        let holder = value(Role::Holder);

        let mut edits = Vec::new();
        let mut tokens: Vec<Token> = Vec::new();
        let mut fields: Vec<&str> = Vec::new();
        let mut stored = 0usize;
        for &(i, role) in &roles {
            if role != Role::Number {
                continue;
            }
            let slot: &Slot = &slots[i];
            if let Ok(token) = Token::parse(&slot.value) {
                // Already a token (a saved card): its code may follow.
                tokens.push(token);
                continue;
            }
            let Ok(pan) = Pan::parse(&slot.value) else {
                // Not a card number (a typo fails the Luhn check): the
                // store will refuse it; there is nothing to protect.
                continue;
            };
            let card = match Card::new(pan.clone(), expiry, holder) {
                Ok(c) => c,
                Err(_) => match Card::new(pan, expiry, None) {
                    Ok(c) => c,
                    Err(_) => continue,
                },
            };
            match self.tokenizer.tokenize(card).await {
                Ok(token) => {
                    edits.push((slot.range.clone(), slot.encode(token.as_str())));
                    fields.push(slot.name.as_str());
                    tokens.push(token);
                    stored += 1;
                }
                Err(e) => {
                    let event = ctx
                        .event("cards.tokenize_failed", Severity::Error, req)
                        .message(format!(
                            "a card at checkout could not be stored in the vault, the request was refused: {e}"
                        ));
                    ctx.events.emit(event);
                    ctx.state.insert(crate::pipeline::QuietEvent);
                    return Decision::Respond(message_page(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "Payment could not be secured",
                        "Your card details could not be processed securely just now, so they were not sent. Please try again in a minute.",
                        &ctx.request_id,
                    ));
                }
            }
        }
        let mut held = false;
        for &(i, role) in &roles {
            if role != Role::SecurityCode {
                continue;
            }
            let slot = &slots[i];
            let Ok(cvv) = Cvv::parse(&slot.value) else {
                continue;
            };
            let zeros = "0".repeat(cvv.digits().len());
            if let Some(token) = tokens.first() {
                self.vault.hold_cvv(token, cvv);
                held = true;
            }
            // Without a card the code is dropped: it never reaches the store.
            edits.push((slot.range.clone(), slot.encode(&zeros)));
            fields.push(slot.name.as_str());
        }
        if edits.is_empty() {
            return Decision::Continue;
        }
        let replaced = card_fields::splice(&body.bytes, edits);
        let event = ctx
            .event("cards.tokenized", Severity::Info, req)
            .message(format!(
                "checkout: {stored} card number(s) replaced by tokens{}",
                if held {
                    ", security code held in memory for one forward"
                } else {
                    ""
                }
            ))
            .data(serde_json::json!({
                "fields": fields,
                "tokens": tokens.iter().map(Token::as_str).collect::<Vec<_>>(),
                "cvv_held": held,
            }));
        ctx.events.emit(event);
        body.bytes = Bytes::from(replaced);
        Decision::Continue
    }
}

/// Opens the vault `[vault]` configures, if any: in `server.database`
/// (else `DATA/rampart.sqlite`), with keys from `key_file`, else the key
/// lines in `RAMPART_VAULT_KEYS`, else `DATA/vault.keys`. Errors are one
/// line (a missing or wrong key, an unreachable database).
pub async fn open_vault(config: &crate::Config) -> Result<Option<Arc<Vault>>, String> {
    let Some(v) = &config.vault else {
        return Ok(None);
    };
    let data = &config.server.data_dir;
    crate::server::prepare_data_dir(data).map_err(|e| e.to_string())?;
    let source = match (&v.key_file, std::env::var("RAMPART_VAULT_KEYS")) {
        (Some(f), _) => vault::KeySource::File(f.clone()),
        (None, Ok(text)) => vault::KeySource::Text(zeroize::Zeroizing::new(text)),
        (None, Err(_)) => {
            let f = data.join("vault.keys");
            if !f.is_file() {
                return Err(format!(
                    "[vault]: no keys: create them with `rampart vault keygen {}`, or set key_file or RAMPART_VAULT_KEYS",
                    f.display()
                ));
            }
            vault::KeySource::File(f)
        }
    };
    let format = vault::TokenFormat::parse(&v.keep).map_err(|e| format!("[vault] keep: {e}"))?;
    let options = vault::VaultOptions {
        format,
        fingerprint: v.fingerprint,
        dedup: v.dedup,
        cvv_ttl: v.cvv_ttl,
        ..vault::VaultOptions::default()
    };
    let db = match &config.server.database {
        Some(url) => store::Database::connect(url).await,
        None => store::Database::open_sqlite(&data.join("rampart.sqlite")).await,
    }
    .map_err(|e| format!("[vault]: {e}"))?;
    let vault = Vault::open(db, source, options)
        .await
        .map_err(|e| format!("[vault]: {e}"))?;
    Ok(Some(Arc::new(vault)))
}

fn refuse_unreadable<'a>(
    ctx: &mut RequestContext,
    req: &request::Parts,
    why: &'static str,
) -> Decision<'a> {
    let event = ctx
        .event("cards.refused", Severity::Warning, req)
        .message(format!(
            "checkout request refused: {why}; card data in it could not be taken out"
        ));
    ctx.events.emit(event);
    ctx.state.insert(crate::pipeline::QuietEvent);
    Decision::Respond(bad_request(ctx))
}

fn bad_request(ctx: &RequestContext) -> Response<Bytes> {
    message_page(
        StatusCode::BAD_REQUEST,
        "Payment form not understood",
        "The payment details could not be read, so they were not sent. Please reload the checkout page and try again.",
        &ctx.request_id,
    )
}

impl Stage for Tokenization {
    fn name(&self) -> &'static str {
        "tokenize"
    }

    fn request_body_inspection(
        &self,
        ctx: &RequestContext,
        req: &request::Parts,
    ) -> BodyInspection {
        match Self::route(ctx, req) {
            Some(_) => BodyInspection::Buffer {
                limit: ctx.site.cards.max_checkout_bytes,
                over_limit: OverLimit::Reject,
            },
            None => BodyInspection::Skip,
        }
    }

    fn request_body<'a>(
        &'a self,
        ctx: &'a mut RequestContext,
        req: &'a mut request::Parts,
        body: &'a mut BufferedBody,
    ) -> Decision<'a> {
        let Some(route) = Self::route(ctx, req).cloned() else {
            return Decision::Continue;
        };
        if !body.complete {
            // Cannot happen with OverLimit::Reject; refuse rather than
            // pass a card through.
            return Decision::Respond(bad_request(ctx));
        }
        Decision::wait(self.tokenize(ctx, req, body, route))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_come_from_field_names_of_every_preset() {
        for (name, role) in [
            ("card_number", Role::Number),
            ("wc-stripe-card-number", Role::Number),
            ("cc_number", Role::Number),
            ("cardNumber", Role::Number),
            ("card_cvc", Role::SecurityCode),
            ("wc-stripe-card-cvc", Role::SecurityCode),
            ("cc_cid", Role::SecurityCode),
            ("cvc", Role::SecurityCode),
            ("card_exp", Role::Expiry),
            ("card_expiry", Role::Expiry),
            ("wc-stripe-card-expiry", Role::Expiry),
            ("cc_exp_month", Role::ExpiryMonth),
            ("cc_exp_year", Role::ExpiryYear),
            ("card_name", Role::Holder),
            ("cardholder_name", Role::Holder),
        ] {
            assert_eq!(role_of(name), role, "{name}");
        }
        // Every field every preset names has a role that makes sense:
        // nothing called a number unless it is one.
        for preset in crate::presets::names() {
            let Some(p) = crate::presets::get(preset) else {
                continue;
            };
            for route in &p.checkout {
                for f in &route.card_fields {
                    let leaf = f.rsplit('.').next().unwrap();
                    let role = role_of(leaf);
                    if role == Role::Number {
                        assert!(
                            leaf.to_ascii_lowercase().contains("number"),
                            "{preset}: {f} taken for the card number"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn field_patterns() {
        assert!(field_matches("card_number", "card_number"));
        assert!(!field_matches("card_number", "card_number2"));
        assert!(field_matches("*-card-number", "wc-stripe-card-number"));
        assert!(field_matches(
            "payment_data.*.card_number",
            "payment_data.0.card_number"
        ));
        assert!(!field_matches(
            "payment_data.*.card_number",
            "payment_data.card_number"
        ));
        assert!(field_matches(
            "paymentMethod.additional_data.cc_number",
            "paymentMethod.additional_data.cc_number"
        ));
    }

    #[test]
    fn whole_values_only_are_cards() {
        assert!(is_card("4111 1111 1111 1111"));
        assert!(is_card(" 5555-5555-5555-4444 "));
        assert!(!is_card("order 4111111111111111"));
        assert!(!is_card("4111111111111112"));
        assert!(!is_card("12"));
    }
}
