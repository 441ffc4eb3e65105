//! A stand-alone simulated payment provider speaking the remote protocol
//! of [`crate::PaymentProvider::Remote`], for demos where charges must
//! cross the network (e.g. through Rampart's outbound proxy, which swaps
//! tokens back for card numbers on the way).
//!
//! Must not: keep or log the card details it receives; it answers each
//! charge with the [`SimulatedProcessor`]'s decision and forgets it.

use std::io;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use serde::Deserialize;
use tokio::net::TcpListener;

use crate::payment::{CardDetails, ChargeOutcome, SimulatedProcessor};
use crate::visit::{json, Refusal, ShopResponse, Visit};

/// A charge as the remote protocol carries it.
#[derive(Deserialize)]
struct ChargeRequest {
    amount: i64,
    currency: String,
    card: CardDetails,
}

/// Serve the simulated provider on `listener` until the future is dropped:
/// `POST` a JSON charge to any path, get
/// `{"status":"approved","id":"ch_sim_…"}` (200) or
/// `{"status":"declined","code":"…","reason":"…"}` (402).
pub async fn serve_simulated_provider(listener: TcpListener) -> io::Result<()> {
    crate::server::run(listener, Arc::new(answer_charge)).await
}

async fn answer_charge(request: Request<Incoming>) -> ShopResponse {
    let mut visit = Visit::new(request);
    if visit.method != Method::POST {
        return json(
            StatusCode::METHOD_NOT_ALLOWED,
            &serde_json::json!({"error": "POST a charge as JSON"}),
        );
    }
    let charge: ChargeRequest = match visit.json().await {
        Ok(charge) => charge,
        Err(refusal) => {
            return json(
                refusal.status(),
                &serde_json::json!({"error": refusal.explanation()}),
            )
        }
    };
    if charge.currency.len() != 3 || !charge.currency.bytes().all(|b| b.is_ascii_alphabetic()) {
        let refusal = Refusal::BadRequest("currency must be an ISO 4217 code".into());
        return json(
            refusal.status(),
            &serde_json::json!({"error": refusal.explanation()}),
        );
    }
    match SimulatedProcessor.authorize(charge.amount, &charge.card) {
        ChargeOutcome::Approved { reference } => json(
            StatusCode::OK,
            &serde_json::json!({"status": "approved", "id": reference}),
        ),
        ChargeOutcome::Declined { reason } => json(
            StatusCode::PAYMENT_REQUIRED,
            &serde_json::json!({
                "status": "declined",
                "code": reason.code(),
                "reason": reason.explanation(),
            }),
        ),
    }
}
