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

/// A self-signed certificate for a simulated provider answering as
/// `host`: (certificate PEM, private key PEM). Whoever charges it must
/// trust the certificate.
pub fn simulated_provider_certificate(host: &str) -> Result<(String, String), String> {
    let key = rcgen::KeyPair::generate().map_err(|e| format!("provider key: {e}"))?;
    let params = rcgen::CertificateParams::new(vec![host.to_string()])
        .map_err(|e| format!("provider certificate for {host:?}: {e}"))?;
    let cert = params
        .self_signed(&key)
        .map_err(|e| format!("provider certificate: {e}"))?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// [`serve_simulated_provider`] over TLS with this certificate and key
/// (PEM), as a real provider's API is.
pub async fn serve_simulated_provider_tls(
    listener: TcpListener,
    cert_pem: &str,
    key_pem: &str,
) -> io::Result<()> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |e: String| io::Error::new(io::ErrorKind::InvalidInput, e);
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| bad(format!("provider certificate: {e}")))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| bad(format!("provider key: {e}")))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| bad(e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| bad(format!("provider certificate: {e}")))?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    loop {
        let (tcp, _) = match listener.accept().await {
            Ok(a) => a,
            Err(_) => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let service = hyper::service::service_fn(|request| async move {
                Ok::<_, std::convert::Infallible>(answer_charge(request).await)
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                .await;
        });
    }
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
