//! The shop's state in SQLite (`demo-shop.sqlite`): catalogue, reviews,
//! customers, staff, sessions with their carts, and orders.
//!
//! Owns: the schema, its first-start seeding and every query. Must not:
//! hash passwords (callers pass PHC strings in), know about HTTP, or ever be
//! handed a full card number or CVC (orders keep the last four characters
//! of the card field and the provider's payment reference only).

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::catalogue_seed;

/// Shopping sessions idle longer than this are forgotten (with their cart).
const STOREFRONT_SESSION_IDLE_SECS: i64 = 14 * 24 * 3600;
/// Staff sessions idle longer than this are forgotten.
const ADMIN_SESSION_IDLE_SECS: i64 = 8 * 3600;
/// Most of one product a cart line may hold.
pub(crate) const MAX_LINE_QUANTITY: i64 = 99;

/// A failed database operation (the message names the operation, never
/// bound values).
#[derive(Debug, thiserror::Error)]
#[error("shop database: {0}")]
pub(crate) struct StoreError(String);

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError(e.to_string())
    }
}

pub(crate) type StoreResult<T> = Result<T, StoreError>;

/// Seconds since the Unix epoch.
pub(crate) fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A catalogue category.
#[derive(Clone, Debug)]
pub(crate) struct Category {
    pub slug: String,
    pub name: String,
    pub blurb: String,
}

/// A product on sale.
#[derive(Clone, Debug)]
pub(crate) struct Product {
    pub id: i64,
    pub slug: String,
    pub category_slug: String,
    pub category_name: String,
    pub name: String,
    pub summary: String,
    pub description: String,
    pub origin: String,
    pub price_cents: i64,
    pub stock: i64,
    pub image: String,
}

/// A customer's review of a product (stored as typed; escaped on output).
#[derive(Clone, Debug)]
pub(crate) struct Review {
    pub author: String,
    pub rating: i64,
    pub body: String,
    pub created_at: i64,
}

/// Which part of the site a session belongs to: the storefront and the
/// shop's own admin area keep separate sessions (and cookies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SessionArea {
    Storefront,
    Admin,
}

impl SessionArea {
    fn as_str(self) -> &'static str {
        match self {
            SessionArea::Storefront => "storefront",
            SessionArea::Admin => "admin",
        }
    }

    fn idle_limit(self) -> i64 {
        match self {
            SessionArea::Storefront => STOREFRONT_SESSION_IDLE_SECS,
            SessionArea::Admin => ADMIN_SESSION_IDLE_SECS,
        }
    }
}

/// A signed-in customer, as the pages show them.
#[derive(Clone, Debug)]
pub(crate) struct CustomerRef {
    pub id: i64,
    pub name: String,
    pub email: String,
}

/// A signed-in staff member.
#[derive(Clone, Debug)]
pub(crate) struct StaffRef {
    pub name: String,
}

/// A browser session. Holds secrets: no `Debug`.
#[derive(Clone)]
pub(crate) struct Session {
    pub id: String,
    pub csrf_token: String,
    pub customer: Option<CustomerRef>,
    pub staff: Option<StaffRef>,
}

/// One product in a cart.
#[derive(Clone, Debug)]
pub(crate) struct CartLine {
    pub product: Product,
    pub quantity: i64,
}

impl CartLine {
    pub(crate) fn total_cents(&self) -> i64 {
        self.product.price_cents * self.quantity
    }
}

/// Password hash of an account, for sign-in. No `Debug`.
pub(crate) struct Credentials {
    pub account_id: i64,
    pub password_hash: String,
}

/// Where an order goes and who placed it.
#[derive(Clone, Debug, Default)]
pub(crate) struct ShippingAddress {
    pub email: String,
    pub name: String,
    pub address: String,
    pub city: String,
    pub postcode: String,
    pub country: String,
}

/// An order about to be paid.
pub(crate) struct NewOrder<'a> {
    pub session_id: &'a str,
    pub customer_id: Option<i64>,
    pub shipping: &'a ShippingAddress,
    pub lines: &'a [CartLine],
    pub shipping_cents: i64,
    pub currency: &'a str,
    /// Last four characters of the card field: all that is kept of it.
    pub card_last4: &'a str,
}

/// Where an order stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OrderStatus {
    AwaitingPayment,
    Paid,
    PaymentDeclined,
    PaymentFailed,
}

impl OrderStatus {
    fn as_str(self) -> &'static str {
        match self {
            OrderStatus::AwaitingPayment => "awaiting_payment",
            OrderStatus::Paid => "paid",
            OrderStatus::PaymentDeclined => "payment_declined",
            OrderStatus::PaymentFailed => "payment_failed",
        }
    }

    fn parse(text: &str) -> OrderStatus {
        match text {
            "paid" => OrderStatus::Paid,
            "payment_declined" => OrderStatus::PaymentDeclined,
            "payment_failed" => OrderStatus::PaymentFailed,
            _ => OrderStatus::AwaitingPayment,
        }
    }

    /// How the status reads on a page.
    pub(crate) fn label(self) -> &'static str {
        match self {
            OrderStatus::AwaitingPayment => "Awaiting payment",
            OrderStatus::Paid => "Paid",
            OrderStatus::PaymentDeclined => "Payment declined",
            OrderStatus::PaymentFailed => "Payment failed",
        }
    }
}

/// A placed order.
#[derive(Clone, Debug)]
pub(crate) struct Order {
    pub id: i64,
    pub customer_id: Option<i64>,
    pub session_id: Option<String>,
    pub shipping: ShippingAddress,
    pub subtotal_cents: i64,
    pub shipping_cents: i64,
    pub total_cents: i64,
    pub currency: String,
    pub card_last4: String,
    pub payment_reference: Option<String>,
    pub status: OrderStatus,
    pub created_at: i64,
    pub lines: Vec<OrderLine>,
}

/// One product in an order, priced as it was sold.
#[derive(Clone, Debug)]
pub(crate) struct OrderLine {
    pub product_name: String,
    pub unit_price_cents: i64,
    pub quantity: i64,
}

/// A customer as the admin's customer list shows them.
#[derive(Clone, Debug)]
pub(crate) struct CustomerSummary {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub created_at: i64,
    pub paid_orders: i64,
    pub total_spent_cents: i64,
}

/// Figures for the admin dashboard.
#[derive(Clone, Debug, Default)]
pub(crate) struct ShopFigures {
    pub paid_orders: i64,
    pub revenue_cents: i64,
    pub declined_payments: i64,
    pub customers: i64,
    pub products: i64,
    pub low_stock: i64,
    pub reviews: i64,
}

/// Why an order could not be placed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OrderProblem {
    #[error("only {available} of {product} left in stock")]
    OutOfStock { product: String, available: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The shop's SQLite database. One connection behind a mutex: every query
/// is short and never held across an `.await`.
pub(crate) struct ShopStore {
    connection: Mutex<Connection>,
}

const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE categories (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    blurb TEXT NOT NULL,
    position INTEGER NOT NULL
);
CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    category_id INTEGER NOT NULL REFERENCES categories(id),
    name TEXT NOT NULL,
    summary TEXT NOT NULL,
    description TEXT NOT NULL,
    origin TEXT NOT NULL,
    price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
    stock INTEGER NOT NULL CHECK (stock >= 0),
    image TEXT NOT NULL,
    featured INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE reviews (
    id INTEGER PRIMARY KEY,
    product_id INTEGER NOT NULL REFERENCES products(id),
    author TEXT NOT NULL,
    rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX reviews_by_product ON reviews(product_id, created_at);
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE staff (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    area TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    customer_id INTEGER REFERENCES customers(id),
    staff_id INTEGER REFERENCES staff(id),
    created_at INTEGER NOT NULL,
    last_seen INTEGER NOT NULL
);
CREATE INDEX sessions_by_last_seen ON sessions(last_seen);
CREATE TABLE cart_lines (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    product_id INTEGER NOT NULL REFERENCES products(id),
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (session_id, product_id)
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER REFERENCES customers(id),
    session_id TEXT,
    email TEXT NOT NULL,
    ship_name TEXT NOT NULL,
    ship_address TEXT NOT NULL,
    ship_city TEXT NOT NULL,
    ship_postcode TEXT NOT NULL,
    ship_country TEXT NOT NULL,
    subtotal_cents INTEGER NOT NULL,
    shipping_cents INTEGER NOT NULL,
    total_cents INTEGER NOT NULL,
    currency TEXT NOT NULL,
    card_last4 TEXT NOT NULL,
    payment_reference TEXT,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX orders_by_customer ON orders(customer_id, created_at);
CREATE TABLE order_lines (
    order_id INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    product_id INTEGER NOT NULL REFERENCES products(id),
    product_name TEXT NOT NULL,
    unit_price_cents INTEGER NOT NULL,
    quantity INTEGER NOT NULL
);
CREATE INDEX order_lines_by_order ON order_lines(order_id);
";

const PRODUCT_COLUMNS: &str = "p.id, p.slug, c.slug, c.name, p.name, p.summary, p.description, \
     p.origin, p.price_cents, p.stock, p.image";

fn product_from_row(row: &Row<'_>) -> rusqlite::Result<Product> {
    Ok(Product {
        id: row.get(0)?,
        slug: row.get(1)?,
        category_slug: row.get(2)?,
        category_name: row.get(3)?,
        name: row.get(4)?,
        summary: row.get(5)?,
        description: row.get(6)?,
        origin: row.get(7)?,
        price_cents: row.get(8)?,
        stock: row.get(9)?,
        image: row.get(10)?,
    })
}

/// Password hashes for the seeded accounts, made by the caller.
pub(crate) struct SeedAccounts {
    pub customer_password_hash: String,
    pub staff_password_hash: String,
    /// Hash of a random password nobody knows, for the other customers.
    pub locked_password_hash: String,
}

impl ShopStore {
    /// Open (creating if needed) the database at `path`. When the database
    /// is new, `seed_accounts` is called once for the seeded accounts'
    /// password hashes and the catalogue is seeded.
    pub(crate) fn open(
        path: &Path,
        seed_accounts: impl FnOnce() -> Result<SeedAccounts, String>,
    ) -> Result<ShopStore, String> {
        let fail = |e: rusqlite::Error| format!("cannot open {}: {e}", path.display());
        let mut connection = Connection::open(path).map_err(fail)?;
        connection
            .execute_batch(
                "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA secure_delete = ON;",
            )
            .map_err(fail)?;
        let version: i64 = connection
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(fail)?;
        match version {
            0 => {
                let accounts = seed_accounts()?;
                let tx = connection.transaction().map_err(fail)?;
                tx.execute_batch(SCHEMA).map_err(fail)?;
                catalogue_seed::seed(&tx, &accounts, now_unix()).map_err(fail)?;
                tx.pragma_update(None, "user_version", SCHEMA_VERSION)
                    .map_err(fail)?;
                tx.commit().map_err(fail)?;
            }
            SCHEMA_VERSION => {}
            other => {
                return Err(format!(
                    "{} has schema version {other}, this shop knows version {SCHEMA_VERSION}",
                    path.display()
                ))
            }
        }
        Ok(ShopStore {
            connection: Mutex::new(connection),
        })
    }

    fn db(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent
        // (transactions roll back on drop), so a poisoned lock is usable.
        self.connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    // ---- catalogue -------------------------------------------------------

    pub(crate) fn categories(&self) -> StoreResult<Vec<Category>> {
        let db = self.db();
        let mut stmt =
            db.prepare_cached("SELECT slug, name, blurb FROM categories ORDER BY position")?;
        let rows = stmt.query_map([], |r| {
            Ok(Category {
                slug: r.get(0)?,
                name: r.get(1)?,
                blurb: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn products_where(
        &self,
        condition: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> StoreResult<Vec<Product>> {
        let db = self.db();
        let sql = format!(
            "SELECT {PRODUCT_COLUMNS} FROM products p JOIN categories c ON c.id = p.category_id \
             WHERE {condition} ORDER BY c.position, p.name"
        );
        let mut stmt = db.prepare_cached(&sql)?;
        let rows = stmt.query_map(args, product_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every product, or those of one category.
    pub(crate) fn products(&self, category: Option<&str>) -> StoreResult<Vec<Product>> {
        match category {
            Some(slug) => self.products_where("c.slug = ?1", &[&slug]),
            None => self.products_where("1", &[]),
        }
    }

    pub(crate) fn featured_products(&self) -> StoreResult<Vec<Product>> {
        self.products_where("p.featured = 1", &[])
    }

    /// Products whose name, summary, origin or category contains `query`
    /// (case-insensitive, literal: `%` and `_` match themselves).
    pub(crate) fn search_products(&self, query: &str) -> StoreResult<Vec<Product>> {
        let mut pattern = String::with_capacity(query.len() + 2);
        pattern.push('%');
        for c in query.chars() {
            if matches!(c, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        self.products_where(
            "(p.name LIKE ?1 ESCAPE '\\' OR p.summary LIKE ?1 ESCAPE '\\' \
              OR p.origin LIKE ?1 ESCAPE '\\' OR c.name LIKE ?1 ESCAPE '\\')",
            &[&pattern],
        )
    }

    pub(crate) fn product_by_slug(&self, slug: &str) -> StoreResult<Option<Product>> {
        Ok(self
            .products_where("p.slug = ?1", &[&slug])?
            .into_iter()
            .next())
    }

    pub(crate) fn product_by_id(&self, id: i64) -> StoreResult<Option<Product>> {
        Ok(self.products_where("p.id = ?1", &[&id])?.into_iter().next())
    }

    /// Set a product's price and stock (admin).
    pub(crate) fn update_product(
        &self,
        id: i64,
        price_cents: i64,
        stock: i64,
    ) -> StoreResult<bool> {
        let changed = self.db().execute(
            "UPDATE products SET price_cents = ?2, stock = ?3 WHERE id = ?1",
            params![id, price_cents, stock],
        )?;
        Ok(changed == 1)
    }

    // ---- reviews ---------------------------------------------------------

    pub(crate) fn reviews(&self, product_id: i64) -> StoreResult<Vec<Review>> {
        let db = self.db();
        let mut stmt = db.prepare_cached(
            "SELECT author, rating, body, created_at FROM reviews \
             WHERE product_id = ?1 ORDER BY created_at DESC, id DESC",
        )?;
        let rows = stmt.query_map([product_id], |r| {
            Ok(Review {
                author: r.get(0)?,
                rating: r.get(1)?,
                body: r.get(2)?,
                created_at: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub(crate) fn add_review(
        &self,
        product_id: i64,
        author: &str,
        rating: i64,
        body: &str,
    ) -> StoreResult<()> {
        self.db().execute(
            "INSERT INTO reviews (product_id, author, rating, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![product_id, author, rating, body, now_unix()],
        )?;
        Ok(())
    }

    // ---- accounts --------------------------------------------------------

    pub(crate) fn customer_credentials(&self, email: &str) -> StoreResult<Option<Credentials>> {
        Ok(self
            .db()
            .query_row(
                "SELECT id, password_hash FROM customers WHERE email = ?1",
                [email],
                |r| {
                    Ok(Credentials {
                        account_id: r.get(0)?,
                        password_hash: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    pub(crate) fn staff_credentials(&self, username: &str) -> StoreResult<Option<Credentials>> {
        Ok(self
            .db()
            .query_row(
                "SELECT id, password_hash FROM staff WHERE username = ?1",
                [username],
                |r| {
                    Ok(Credentials {
                        account_id: r.get(0)?,
                        password_hash: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    pub(crate) fn customers(&self) -> StoreResult<Vec<CustomerSummary>> {
        let db = self.db();
        let mut stmt = db.prepare_cached(
            "SELECT c.id, c.email, c.name, c.created_at, \
                    COUNT(o.id), COALESCE(SUM(o.total_cents), 0) \
             FROM customers c LEFT JOIN orders o ON o.customer_id = c.id AND o.status = 'paid' \
             GROUP BY c.id ORDER BY c.created_at, c.id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(CustomerSummary {
                id: r.get(0)?,
                email: r.get(1)?,
                name: r.get(2)?,
                created_at: r.get(3)?,
                paid_orders: r.get(4)?,
                total_spent_cents: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    // ---- sessions and carts ----------------------------------------------

    /// Start a new session in `area`, signed in as `customer_id` or
    /// `staff_id` if given; forgets sessions idle too long.
    pub(crate) fn create_session(
        &self,
        area: SessionArea,
        customer_id: Option<i64>,
        staff_id: Option<i64>,
    ) -> StoreResult<Session> {
        let now = now_unix();
        let id = crate::secret::random_hex(32);
        let csrf_token = crate::secret::random_hex(32);
        {
            let db = self.db();
            for area in [SessionArea::Storefront, SessionArea::Admin] {
                db.execute(
                    "DELETE FROM sessions WHERE area = ?1 AND last_seen < ?2",
                    params![area.as_str(), now - area.idle_limit()],
                )?;
            }
            db.execute(
                "INSERT INTO sessions (id, area, csrf_token, customer_id, staff_id, created_at, last_seen) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                params![id, area.as_str(), csrf_token, customer_id, staff_id, now],
            )?;
        }
        self.session(&id, area)?
            .ok_or_else(|| StoreError("new session vanished".into()))
    }

    /// The live session `id` of `area`, if any.
    pub(crate) fn session(&self, id: &str, area: SessionArea) -> StoreResult<Option<Session>> {
        let now = now_unix();
        let db = self.db();
        let session = db
            .query_row(
                "SELECT s.id, s.csrf_token, s.last_seen, c.id, c.name, c.email, st.id, st.name \
                 FROM sessions s \
                 LEFT JOIN customers c ON c.id = s.customer_id \
                 LEFT JOIN staff st ON st.id = s.staff_id \
                 WHERE s.id = ?1 AND s.area = ?2 AND s.last_seen >= ?3",
                params![id, area.as_str(), now - area.idle_limit()],
                |r| {
                    let customer = match r.get::<_, Option<i64>>(3)? {
                        Some(id) => Some(CustomerRef {
                            id,
                            name: r.get(4)?,
                            email: r.get(5)?,
                        }),
                        None => None,
                    };
                    let staff = match r.get::<_, Option<i64>>(6)? {
                        Some(_) => Some(StaffRef { name: r.get(7)? }),
                        None => None,
                    };
                    Ok((
                        Session {
                            id: r.get(0)?,
                            csrf_token: r.get(1)?,
                            customer,
                            staff,
                        },
                        r.get::<_, i64>(2)?,
                    ))
                },
            )
            .optional()?;
        match session {
            Some((session, last_seen)) => {
                if now - last_seen > 60 {
                    db.execute(
                        "UPDATE sessions SET last_seen = ?2 WHERE id = ?1",
                        params![session.id, now],
                    )?;
                }
                Ok(Some(session))
            }
            None => Ok(None),
        }
    }

    /// Replace session `old` (if any) by a new one signed in as
    /// `customer_id`/`staff_id`, keeping its cart: a fresh id at sign-in
    /// defeats session fixation.
    pub(crate) fn sign_in(
        &self,
        area: SessionArea,
        old: Option<&str>,
        customer_id: Option<i64>,
        staff_id: Option<i64>,
    ) -> StoreResult<Session> {
        let session = self.create_session(area, customer_id, staff_id)?;
        if let Some(old) = old {
            let mut db = self.db();
            let tx = db.transaction()?;
            tx.execute(
                "INSERT OR REPLACE INTO cart_lines (session_id, product_id, quantity) \
                 SELECT ?2, product_id, quantity FROM cart_lines WHERE session_id = ?1",
                params![old, session.id],
            )?;
            tx.execute("DELETE FROM sessions WHERE id = ?1", [old])?;
            tx.commit()?;
        }
        Ok(session)
    }

    pub(crate) fn end_session(&self, id: &str) -> StoreResult<()> {
        self.db()
            .execute("DELETE FROM sessions WHERE id = ?1", [id])?;
        Ok(())
    }

    pub(crate) fn cart(&self, session_id: &str) -> StoreResult<Vec<CartLine>> {
        let db = self.db();
        let sql = format!(
            "SELECT {PRODUCT_COLUMNS}, l.quantity FROM cart_lines l \
             JOIN products p ON p.id = l.product_id JOIN categories c ON c.id = p.category_id \
             WHERE l.session_id = ?1 ORDER BY p.name"
        );
        let mut stmt = db.prepare_cached(&sql)?;
        let rows = stmt.query_map([session_id], |r| {
            Ok(CartLine {
                product: product_from_row(r)?,
                quantity: r.get(11)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub(crate) fn cart_item_count(&self, session_id: &str) -> StoreResult<i64> {
        Ok(self.db().query_row(
            "SELECT COALESCE(SUM(quantity), 0) FROM cart_lines WHERE session_id = ?1",
            [session_id],
            |r| r.get(0),
        )?)
    }

    /// Add `quantity` of a product (capped at [`MAX_LINE_QUANTITY`] per line).
    pub(crate) fn add_to_cart(
        &self,
        session_id: &str,
        product_id: i64,
        quantity: i64,
    ) -> StoreResult<()> {
        self.db().execute(
            "INSERT INTO cart_lines (session_id, product_id, quantity) VALUES (?1, ?2, MIN(?3, ?4)) \
             ON CONFLICT (session_id, product_id) DO UPDATE SET quantity = MIN(quantity + ?3, ?4)",
            params![session_id, product_id, quantity, MAX_LINE_QUANTITY],
        )?;
        Ok(())
    }

    /// Set a line's quantity; zero removes the line.
    pub(crate) fn set_cart_quantity(
        &self,
        session_id: &str,
        product_id: i64,
        quantity: i64,
    ) -> StoreResult<()> {
        if quantity <= 0 {
            self.db().execute(
                "DELETE FROM cart_lines WHERE session_id = ?1 AND product_id = ?2",
                params![session_id, product_id],
            )?;
        } else {
            self.db().execute(
                "INSERT INTO cart_lines (session_id, product_id, quantity) VALUES (?1, ?2, MIN(?3, ?4)) \
                 ON CONFLICT (session_id, product_id) DO UPDATE SET quantity = MIN(?3, ?4)",
                params![session_id, product_id, quantity, MAX_LINE_QUANTITY],
            )?;
        }
        Ok(())
    }

    // ---- orders ----------------------------------------------------------

    /// Record an order awaiting payment and reserve its stock.
    pub(crate) fn place_order(&self, order: &NewOrder<'_>) -> Result<i64, OrderProblem> {
        let mut db = self.db();
        let tx = db.transaction().map_err(StoreError::from)?;
        let mut subtotal = 0i64;
        for line in order.lines {
            let reserved = tx
                .execute(
                    "UPDATE products SET stock = stock - ?2 WHERE id = ?1 AND stock >= ?2",
                    params![line.product.id, line.quantity],
                )
                .map_err(StoreError::from)?;
            if reserved != 1 {
                let available: i64 = tx
                    .query_row(
                        "SELECT stock FROM products WHERE id = ?1",
                        [line.product.id],
                        |r| r.get(0),
                    )
                    .map_err(StoreError::from)?;
                return Err(OrderProblem::OutOfStock {
                    product: line.product.name.clone(),
                    available,
                });
            }
            subtotal += line.total_cents();
        }
        let s = order.shipping;
        tx.execute(
            "INSERT INTO orders (customer_id, session_id, email, ship_name, ship_address, ship_city, \
                 ship_postcode, ship_country, subtotal_cents, shipping_cents, total_cents, currency, \
                 card_last4, payment_reference, status, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, NULL, ?14, ?15)",
            params![
                order.customer_id,
                order.session_id,
                s.email,
                s.name,
                s.address,
                s.city,
                s.postcode,
                s.country,
                subtotal,
                order.shipping_cents,
                subtotal + order.shipping_cents,
                order.currency,
                order.card_last4,
                OrderStatus::AwaitingPayment.as_str(),
                now_unix()
            ],
        )
        .map_err(StoreError::from)?;
        let order_id = tx.last_insert_rowid();
        for line in order.lines {
            tx.execute(
                "INSERT INTO order_lines (order_id, product_id, product_name, unit_price_cents, quantity) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    order_id,
                    line.product.id,
                    line.product.name,
                    line.product.price_cents,
                    line.quantity
                ],
            )
            .map_err(StoreError::from)?;
        }
        tx.commit().map_err(StoreError::from)?;
        Ok(order_id)
    }

    /// The provider approved: record its reference and empty the cart.
    pub(crate) fn mark_order_paid(
        &self,
        order_id: i64,
        payment_reference: &str,
        session_id: &str,
    ) -> StoreResult<()> {
        let mut db = self.db();
        let tx = db.transaction()?;
        tx.execute(
            "UPDATE orders SET status = ?2, payment_reference = ?3 WHERE id = ?1",
            params![order_id, OrderStatus::Paid.as_str(), payment_reference],
        )?;
        tx.execute("DELETE FROM cart_lines WHERE session_id = ?1", [session_id])?;
        tx.commit()?;
        Ok(())
    }

    /// The payment did not go through: mark the order and release its stock.
    pub(crate) fn mark_order_unpaid(&self, order_id: i64, status: OrderStatus) -> StoreResult<()> {
        let mut db = self.db();
        let tx = db.transaction()?;
        tx.execute(
            "UPDATE products SET stock = stock + \
                 (SELECT COALESCE(SUM(quantity), 0) FROM order_lines l WHERE l.order_id = ?1 AND l.product_id = products.id) \
             WHERE id IN (SELECT product_id FROM order_lines WHERE order_id = ?1)",
            [order_id],
        )?;
        tx.execute(
            "UPDATE orders SET status = ?2 WHERE id = ?1",
            params![order_id, status.as_str()],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn orders_where(
        &self,
        condition: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> StoreResult<Vec<Order>> {
        let db = self.db();
        let sql = format!(
            "SELECT id, customer_id, session_id, email, ship_name, ship_address, ship_city, \
                    ship_postcode, ship_country, subtotal_cents, shipping_cents, total_cents, \
                    currency, card_last4, payment_reference, status, created_at \
             FROM orders WHERE {condition} ORDER BY created_at DESC, id DESC LIMIT 500"
        );
        let mut stmt = db.prepare_cached(&sql)?;
        let mut orders: Vec<Order> = stmt
            .query_map(args, |r| {
                Ok(Order {
                    id: r.get(0)?,
                    customer_id: r.get(1)?,
                    session_id: r.get(2)?,
                    shipping: ShippingAddress {
                        email: r.get(3)?,
                        name: r.get(4)?,
                        address: r.get(5)?,
                        city: r.get(6)?,
                        postcode: r.get(7)?,
                        country: r.get(8)?,
                    },
                    subtotal_cents: r.get(9)?,
                    shipping_cents: r.get(10)?,
                    total_cents: r.get(11)?,
                    currency: r.get(12)?,
                    card_last4: r.get(13)?,
                    payment_reference: r.get(14)?,
                    status: OrderStatus::parse(&r.get::<_, String>(15)?),
                    created_at: r.get(16)?,
                    lines: Vec::new(),
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut lines = db.prepare_cached(
            "SELECT product_name, unit_price_cents, quantity FROM order_lines WHERE order_id = ?1 ORDER BY rowid",
        )?;
        for order in &mut orders {
            order.lines = lines
                .query_map([order.id], |r| {
                    Ok(OrderLine {
                        product_name: r.get(0)?,
                        unit_price_cents: r.get(1)?,
                        quantity: r.get(2)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
        }
        Ok(orders)
    }

    pub(crate) fn order(&self, id: i64) -> StoreResult<Option<Order>> {
        Ok(self.orders_where("id = ?1", &[&id])?.into_iter().next())
    }

    pub(crate) fn orders_of_customer(&self, customer_id: i64) -> StoreResult<Vec<Order>> {
        self.orders_where("customer_id = ?1", &[&customer_id])
    }

    pub(crate) fn all_orders(&self) -> StoreResult<Vec<Order>> {
        self.orders_where("1", &[])
    }

    pub(crate) fn figures(&self) -> StoreResult<ShopFigures> {
        let db = self.db();
        let count = |sql: &str| -> StoreResult<i64> { Ok(db.query_row(sql, [], |r| r.get(0))?) };
        Ok(ShopFigures {
            paid_orders: count("SELECT COUNT(*) FROM orders WHERE status = 'paid'")?,
            revenue_cents: count(
                "SELECT COALESCE(SUM(total_cents), 0) FROM orders WHERE status = 'paid'",
            )?,
            declined_payments: count(
                "SELECT COUNT(*) FROM orders WHERE status IN ('payment_declined', 'payment_failed')",
            )?,
            customers: count("SELECT COUNT(*) FROM customers")?,
            products: count("SELECT COUNT(*) FROM products")?,
            low_stock: count("SELECT COUNT(*) FROM products WHERE stock < 10")?,
            reviews: count("SELECT COUNT(*) FROM reviews")?,
        })
    }
}
