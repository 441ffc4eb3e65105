//! The running shop: its database, its payment gateway, and the session
//! rules every page shares (loading the area's session from its cookie,
//! creating one when a form needs it, CSRF checks, sign-in).
//!
//! Must not: render pages or route requests.

use crate::config::ShopConfig;
use crate::layout::Chrome;
use crate::passwords::{hash_password, verify_off_thread};
use crate::payment::PaymentGateway;
use crate::secret::{is_hex_secret, random_hex, secrets_match};
use crate::store::{SeedAccounts, Session, ShopStore};
use crate::visit::{Refusal, Visit};

/// Everything a page handler can reach.
pub(crate) struct Shop {
    pub store: ShopStore,
    pub payments: PaymentGateway,
    /// Checked when an account does not exist, so that a sign-in takes as
    /// long for an unknown e-mail as for a wrong password.
    decoy_hash: String,
}

impl Shop {
    /// Open the data directory and database (blocking: Argon2 hashing and
    /// file I/O), seeding it on first start.
    pub(crate) fn open(config: &ShopConfig) -> Result<Shop, String> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            format!(
                "cannot create data directory {}: {e}",
                config.data_dir.display()
            )
        })?;
        let payments = PaymentGateway::new(&config.payment_provider)?;
        let store = ShopStore::open(&config.database_path(), || {
            Ok(SeedAccounts {
                customer_password_hash: hash_password(crate::config::DEMO_CUSTOMER_PASSWORD)?,
                staff_password_hash: hash_password(crate::config::DEMO_STAFF_PASSWORD)?,
                locked_password_hash: hash_password(&random_hex(24))?,
            })
        })?;
        Ok(Shop {
            store,
            payments,
            decoy_hash: hash_password(&random_hex(24))?,
        })
    }

    /// Attach the live session named by the area's cookie, if any.
    pub(crate) fn load_session(&self, visit: &mut Visit) -> Result<(), Refusal> {
        let (cookie, _) = visit.session_cookie();
        if let Some(id) = visit.cookie(cookie) {
            if is_hex_secret(&id, 32) {
                visit.session = self.store.session(&id, visit.area)?;
            }
        }
        Ok(())
    }

    /// The visit's session, started (and its cookie set) if it has none.
    pub(crate) fn ensure_session(&self, visit: &mut Visit) -> Result<Session, Refusal> {
        if let Some(session) = &visit.session {
            return Ok(session.clone());
        }
        let session = self.store.create_session(visit.area, None, None)?;
        visit.set_session_cookie(&session.id);
        visit.session = Some(session.clone());
        Ok(session)
    }

    /// The session, provided `submitted` is its CSRF token.
    pub(crate) fn check_csrf(
        &self,
        visit: &Visit,
        submitted: Option<&str>,
    ) -> Result<Session, Refusal> {
        match (&visit.session, submitted) {
            (Some(session), Some(token)) if secrets_match(&session.csrf_token, token.trim()) => {
                Ok(session.clone())
            }
            _ => Err(Refusal::FormExpired),
        }
    }

    /// The customer id whose e-mail and password these are.
    pub(crate) async fn authenticate_customer(
        &self,
        email: &str,
        password: &str,
    ) -> Result<Option<i64>, Refusal> {
        let credentials = self.store.customer_credentials(email)?;
        self.check_password(credentials, password).await
    }

    /// The staff id whose user name and password these are.
    pub(crate) async fn authenticate_staff(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<i64>, Refusal> {
        let credentials = self.store.staff_credentials(username)?;
        self.check_password(credentials, password).await
    }

    async fn check_password(
        &self,
        credentials: Option<crate::store::Credentials>,
        password: &str,
    ) -> Result<Option<i64>, Refusal> {
        let (account, hash) = match credentials {
            Some(c) => (Some(c.account_id), c.password_hash),
            None => (None, self.decoy_hash.clone()),
        };
        let matches = verify_off_thread(password.to_owned(), hash).await;
        Ok(account.filter(|_| matches))
    }

    /// Replace the visit's session by a fresh one signed in as the given
    /// customer or staff member (keeping the cart).
    pub(crate) fn sign_in(
        &self,
        visit: &mut Visit,
        customer_id: Option<i64>,
        staff_id: Option<i64>,
    ) -> Result<(), Refusal> {
        let old = visit.session.as_ref().map(|s| s.id.clone());
        let session = self
            .store
            .sign_in(visit.area, old.as_deref(), customer_id, staff_id)?;
        visit.set_session_cookie(&session.id);
        visit.session = Some(session);
        Ok(())
    }

    /// End the visit's session.
    pub(crate) fn sign_out(&self, visit: &mut Visit) -> Result<(), Refusal> {
        if let Some(session) = visit.session.take() {
            self.store.end_session(&session.id)?;
        }
        visit.clear_session_cookie();
        Ok(())
    }

    /// What the storefront header shows for this visit.
    pub(crate) fn chrome(&self, visit: &Visit) -> Result<Chrome, Refusal> {
        Ok(match &visit.session {
            Some(session) => Chrome {
                customer_name: session.customer.as_ref().map(|c| c.name.clone()),
                cart_items: self.store.cart_item_count(&session.id)?,
                csrf_token: Some(session.csrf_token.clone()),
            },
            None => Chrome::default(),
        })
    }
}
