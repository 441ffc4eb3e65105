//! Ember & Leaf: a small but realistic online coffee & tea shop that
//! `rampart demo` runs behind Rampart's gateway, so that every Rampart
//! feature has something real to protect.
//!
//! The shop serves plain HTTP (meant for 127.0.0.1, behind the gateway):
//! server-rendered HTML with a stylesheet and a little JavaScript, all
//! built into the binary, working without JavaScript. Its state lives in
//! SQLite at `data_dir/demo-shop.sqlite`, seeded on first start.
//!
//! | what Rampart shows | against |
//! |---|---|
//! | WAF (SQLi, XSS) | `/search?q=`, reviews (`POST /product/<slug>/review`), `POST /api/cart` (JSON) |
//! | credential-stuffing jail | `POST /account/login`: failure is 200 with "Invalid email or password" |
//! | card-testing jail | `POST /checkout`: a decline is 402 with "Your card was declined" |
//! | MFA gate | the shop's own admin area under `/admin` |
//! | inline tokenization | checkout fields `card_number`, `card_exp`, `card_cvc`, `card_name`: forwarded to the provider as received |
//! | payment-page integrity | `/checkout` loads `/static/shop.js` and `/static/checkout.js` |
//! | scanner | the whole site, `/robots.txt`, `/healthz` |
//!
//! Every form carries a CSRF token (`csrf_token` field, tied to the
//! session cookie); `POST /api/cart` takes it in the `X-CSRF-Token` header
//! (`GET /api/cart` returns it). A client must therefore GET a page before
//! posting its form, as a browser does.
//!
//! To run the shop alone: `cargo run -p demo_shop --example serve_shop --
//! 127.0.0.1:8080 ./shop-data [provider]`.
//!
//! The crate owns the shop only. Must not: depend on Rampart's crates, or
//! keep card numbers or CVCs anywhere (orders keep the last four
//! characters of the card field and the provider's payment reference).

mod account;
mod admin;
mod assets;
mod cart;
mod catalogue_seed;
mod checkout;
mod config;
mod layout;
mod passwords;
mod payment;
mod provider;
mod routes;
mod secret;
mod server;
mod shop;
mod store;
mod storefront;
mod visit;

use std::io;
use std::sync::Arc;

use tokio::net::TcpListener;

pub use config::{
    PaymentProvider, ShopConfig, DATABASE_FILE_NAME, DEMO_CUSTOMER_EMAIL, DEMO_CUSTOMER_PASSWORD,
    DEMO_STAFF_PASSWORD, DEMO_STAFF_USERNAME,
};
pub use payment::{passes_luhn, CardDetails, ChargeOutcome, DeclineReason, SimulatedProcessor};
pub use provider::{
    serve_simulated_provider, serve_simulated_provider_tls, simulated_provider_certificate,
};

/// Open (or create and seed) the shop's database under
/// `config.data_dir`, then serve the shop on `listener` until the returned
/// future is dropped or its task aborted (which closes every connection).
///
/// Errors: the data directory or database cannot be opened, or the
/// payment provider's URL or proxy is malformed; each is one line.
pub async fn serve(listener: TcpListener, config: ShopConfig) -> io::Result<()> {
    let shop = tokio::task::spawn_blocking(move || shop::Shop::open(&config))
        .await
        .map_err(|e| io::Error::other(format!("demo shop start-up failed: {e}")))?
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let shop = Arc::new(shop);
    server::run(
        listener,
        Arc::new(move |request| server::answer(shop.clone(), request)),
    )
    .await
}
