//! The shop's own admin area under `/admin` (as a real shop platform has
//! one): staff sign-in, dashboard, orders, products (price and stock),
//! customers with a CSV export, and the payment settings.
//!
//! Its session is separate from the storefront's (cookie
//! `shop_admin_session`, path `/admin`). Rampart puts its MFA gate in front
//! of this area; the shop's own sign-in stays. Must not: show card data
//! beyond the last four characters and the payment reference.

use hyper::header::{HeaderValue, CONTENT_DISPOSITION};
use hyper::StatusCode;
use maud::{html, Markup};

use crate::layout::{admin_page, csrf_field, date, money};
use crate::payment::PaymentGateway;
use crate::shop::Shop;
use crate::store::{Order, StaffRef};
use crate::visit::{
    content, html as html_response, local_path, see_other, Form, Refusal, ShopResponse, Visit,
    CSRF_FIELD,
};

/// The text a failed staff sign-in shows.
pub(crate) const STAFF_LOGIN_FAILED: &str = "Invalid username or password.";
/// Highest price staff can set, in cents.
const MAX_PRICE_CENTS: i64 = 10_000_000;
/// Highest stock staff can set.
const MAX_STOCK: i64 = 1_000_000;

/// The signed-in staff member and the session's CSRF token, if any.
fn staff_of(visit: &Visit) -> Option<(StaffRef, String)> {
    let session = visit.session.as_ref()?;
    let staff = session.staff.clone()?;
    Some((staff, session.csrf_token.clone()))
}

/// Redirect to the staff sign-in, coming back here afterwards when "here"
/// is a page (a refused POST comes back to the dashboard).
fn sign_in_first(visit: &Visit) -> ShopResponse {
    let back = if visit.method == hyper::Method::GET {
        visit.path.as_str()
    } else {
        "/admin"
    };
    see_other(&format!("/admin/login?next={back}"))
}

fn page(
    status: StatusCode,
    title: &str,
    staff: &StaffRef,
    csrf: &str,
    body: Markup,
) -> ShopResponse {
    html_response(status, admin_page(title, Some((&staff.name, csrf)), body))
}

fn login_markup(csrf: &str, username: &str, next: &str, error: Option<&str>) -> Markup {
    html! {
        section.narrow {
            h1 { "Staff sign-in" }
            @if let Some(error) = error { p.notice.notice-error role="alert" { (error) } }
            form.stacked action="/admin/login" method="post" {
                (csrf_field(csrf))
                input type="hidden" name="next" value=(next);
                label for="username" { "Username" }
                input #username type="text" name="username" autocomplete="username" value=(username) required autofocus;
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="current-password" required;
                button type="submit" { "Sign in" }
            }
        }
    }
}

fn render_login(
    shop: &Shop,
    visit: &mut Visit,
    username: &str,
    next: &str,
    error: Option<&str>,
) -> Result<ShopResponse, Refusal> {
    let session = shop.ensure_session(visit)?;
    let next = local_path(next)
        .filter(|p| p.starts_with("/admin"))
        .unwrap_or("/admin");
    Ok(html_response(
        StatusCode::OK,
        admin_page(
            "Staff sign-in",
            None,
            login_markup(&session.csrf_token, username, next, error),
        ),
    ))
}

/// GET `/admin/login`.
pub(crate) fn login_page(shop: &Shop, visit: &mut Visit) -> Result<ShopResponse, Refusal> {
    if visit.session.as_ref().is_some_and(|s| s.staff.is_some()) {
        return Ok(see_other("/admin"));
    }
    let next = visit.query().text("next");
    render_login(shop, visit, "", &next, None)
}

/// POST `/admin/login`: `username`, `password`, `next`.
pub(crate) async fn login(shop: &Shop, visit: &mut Visit) -> Result<ShopResponse, Refusal> {
    let form = visit.form().await?;
    shop.check_csrf(visit, form.get(CSRF_FIELD))?;
    let username = form.text("username");
    let password = form.get("password").unwrap_or("");
    let next = form.text("next");
    let plausible = !username.is_empty()
        && username.len() <= 128
        && !password.is_empty()
        && password.len() <= 1024;
    let staff = if plausible {
        shop.authenticate_staff(&username, password).await?
    } else {
        None
    };
    match staff {
        Some(staff_id) => {
            shop.sign_in(visit, None, Some(staff_id))?;
            let next = local_path(&next)
                .filter(|p| p.starts_with("/admin"))
                .unwrap_or("/admin");
            Ok(see_other(next))
        }
        None => {
            let shown: String = username.chars().take(128).collect();
            render_login(shop, visit, &shown, &next, Some(STAFF_LOGIN_FAILED))
        }
    }
}

/// POST `/admin/logout`.
pub(crate) async fn logout(shop: &Shop, visit: &mut Visit) -> Result<ShopResponse, Refusal> {
    let form = visit.form().await?;
    shop.check_csrf(visit, form.get(CSRF_FIELD))?;
    shop.sign_out(visit)?;
    Ok(see_other("/admin/login"))
}

fn orders_table(orders: &[Order]) -> Markup {
    html! {
        table.data-table {
            thead { tr { th { "Order" } th { "Date" } th { "Customer" } th { "Items" } th { "Total" } th { "Card" } th { "Payment reference" } th { "Status" } } }
            tbody {
                @for o in orders {
                    tr {
                        td { "#" (o.id) }
                        td { (date(o.created_at)) }
                        td { (o.shipping.name) br; span.muted { (o.shipping.email) } }
                        td { @for l in &o.lines { (l.quantity) " × " (l.product_name) br; } }
                        td { (money(o.total_cents)) }
                        td { "•••• " (o.card_last4) }
                        td { @if let Some(r) = &o.payment_reference { code { (r) } } @else { "—" } }
                        td { span class={ "status status-" (o.status.label().to_lowercase().replace(' ', "-")) } { (o.status.label()) } }
                    }
                }
            }
        }
    }
}

/// GET `/admin`.
pub(crate) fn dashboard(shop: &Shop, visit: &mut Visit) -> Result<ShopResponse, Refusal> {
    let Some((staff, csrf)) = staff_of(visit) else {
        return Ok(sign_in_first(visit));
    };
    let figures = shop.store.figures()?;
    let recent: Vec<Order> = shop.store.all_orders()?.into_iter().take(5).collect();
    let body = html! {
        h1 { "Dashboard" }
        div.figures {
            div.figure { span.figure-value { (money(figures.revenue_cents)) } span.figure-label { "Revenue (paid orders)" } }
            div.figure { span.figure-value { (figures.paid_orders) } span.figure-label { "Paid orders" } }
            div.figure { span.figure-value { (figures.declined_payments) } span.figure-label { "Declined or failed payments" } }
            div.figure { span.figure-value { (figures.customers) } span.figure-label { "Customers" } }
            div.figure { span.figure-value { (figures.products) } span.figure-label { "Products (" (figures.low_stock) " low on stock)" } }
            div.figure { span.figure-value { (figures.reviews) } span.figure-label { "Reviews" } }
        }
        h2 { "Recent orders" }
        (orders_table(&recent))
        p { a href="/admin/orders" { "All orders →" } }
    };
    Ok(page(StatusCode::OK, "Dashboard", &staff, &csrf, body))
}

/// GET `/admin/orders`.
pub(crate) fn orders(shop: &Shop, visit: &mut Visit) -> Result<ShopResponse, Refusal> {
    let Some((staff, csrf)) = staff_of(visit) else {
        return Ok(sign_in_first(visit));
    };
    let orders = shop.store.all_orders()?;
    let body = html! {
        h1 { "Orders" }
        p.muted { (orders.len()) " orders (latest 500)" }
        (orders_table(&orders))
    };
    Ok(page(StatusCode::OK, "Orders", &staff, &csrf, body))
}

fn products_page(
    shop: &Shop,
    staff: &StaffRef,
    csrf: &str,
    status: StatusCode,
    notice: Option<(bool, String)>,
) -> Result<ShopResponse, Refusal> {
    let products = shop.store.products(None)?;
    let body = html! {
        h1 { "Products" }
        @if let Some((ok, text)) = &notice {
            p class={ "notice " (if *ok { "notice-ok" } else { "notice-error" }) } role="status" { (text) }
        }
        table.data-table {
            thead { tr { th { "Product" } th { "Category" } th { "Price (€)" } th { "Stock" } th {} } }
            tbody {
                @for p in &products {
                    tr {
                        td { a href={ "/product/" (p.slug) } { (p.name) } }
                        td { (p.category_name) }
                        td colspan="3" {
                            form.inline-form action={ "/admin/products/" (p.id) } method="post" {
                                (csrf_field(csrf))
                                label.visually-hidden for={ "price-" (p.id) } { "Price of " (p.name) }
                                input.price-input id={ "price-" (p.id) } type="text" inputmode="decimal" name="price"
                                    value=(format!("{}.{:02}", p.price_cents / 100, p.price_cents % 100)) required;
                                label.visually-hidden for={ "stock-" (p.id) } { "Stock of " (p.name) }
                                input.qty id={ "stock-" (p.id) } type="number" name="stock" min="0" max=(MAX_STOCK) value=(p.stock) required;
                                button.button-small type="submit" { "Save" }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(status, "Products", staff, csrf, body))
}

/// GET `/admin/products`.
pub(crate) fn products(shop: &Shop, visit: &mut Visit) -> Result<ShopResponse, Refusal> {
    let Some((staff, csrf)) = staff_of(visit) else {
        return Ok(sign_in_first(visit));
    };
    let saved = visit.query().text("saved");
    let notice = match saved.parse::<i64>() {
        Ok(id) => shop.store.product_by_id(id)?.map(|p| {
            (
                true,
                format!(
                    "Saved {}: {}, {} in stock.",
                    p.name,
                    money(p.price_cents),
                    p.stock
                ),
            )
        }),
        Err(_) => None,
    };
    products_page(shop, &staff, &csrf, StatusCode::OK, notice)
}

/// `"12.50"`, `"12,5"`, `"12"` → cents.
pub(crate) fn parse_price(text: &str) -> Option<i64> {
    let text = text.trim().trim_start_matches('€').trim().replace(',', ".");
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    if whole.is_empty() || whole.len() > 9 || fraction.len() > 2 {
        return None;
    }
    if !whole.bytes().all(|b| b.is_ascii_digit()) || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<i64>().ok()? * 10,
        _ => fraction.parse().ok()?,
    };
    Some(whole * 100 + fraction)
}

fn product_change(form: &Form) -> Result<(i64, i64), String> {
    let price = parse_price(&form.text("price"))
        .filter(|c| (0..=MAX_PRICE_CENTS).contains(c))
        .ok_or_else(|| "The price must look like 12.50 (at most 100000.00).".to_owned())?;
    let stock = form.number("stock", "The stock", 0..=MAX_STOCK)?;
    Ok((price, stock))
}

/// POST `/admin/products/<id>`: `price`, `stock`.
pub(crate) async fn update_product(
    shop: &Shop,
    visit: &mut Visit,
    id: i64,
) -> Result<ShopResponse, Refusal> {
    let form = visit.form().await?;
    shop.check_csrf(visit, form.get(CSRF_FIELD))?;
    let Some((staff, csrf)) = staff_of(visit) else {
        return Ok(sign_in_first(visit));
    };
    if shop.store.product_by_id(id)?.is_none() {
        return Err(Refusal::NotFound);
    }
    match product_change(&form) {
        Ok((price, stock)) => {
            shop.store.update_product(id, price, stock)?;
            Ok(see_other(&format!("/admin/products?saved={id}")))
        }
        Err(problem) => products_page(
            shop,
            &staff,
            &csrf,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some((false, problem)),
        ),
    }
}

/// GET `/admin/customers`.
pub(crate) fn customers(shop: &Shop, visit: &mut Visit) -> Result<ShopResponse, Refusal> {
    let Some((staff, csrf)) = staff_of(visit) else {
        return Ok(sign_in_first(visit));
    };
    let customers = shop.store.customers()?;
    let body = html! {
        h1 { "Customers" }
        p { a.button.button-secondary href="/admin/customers/export.csv" download { "Export as CSV" } }
        table.data-table {
            thead { tr { th { "Name" } th { "Email" } th { "Customer since" } th { "Paid orders" } th { "Total spent" } } }
            tbody {
                @for c in &customers {
                    tr {
                        td { (c.name) }
                        td { (c.email) }
                        td { (date(c.created_at)) }
                        td { (c.paid_orders) }
                        td { (money(c.total_spent_cents)) }
                    }
                }
            }
        }
    };
    Ok(page(StatusCode::OK, "Customers", &staff, &csrf, body))
}

/// A CSV cell that a spreadsheet will not run as a formula.
fn spreadsheet_safe(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

/// GET `/admin/customers/export.csv`.
pub(crate) fn export_customers(shop: &Shop, visit: &mut Visit) -> Result<ShopResponse, Refusal> {
    if staff_of(visit).is_none() {
        return Ok(sign_in_first(visit));
    }
    let customers = shop.store.customers()?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    let write = |writer: &mut csv::Writer<Vec<u8>>, row: &[String]| {
        writer
            .write_record(row)
            .map_err(|e| Refusal::Internal(format!("customer export: {e}")))
    };
    write(
        &mut writer,
        &[
            "id",
            "email",
            "name",
            "customer_since",
            "paid_orders",
            "total_spent_eur",
        ]
        .map(String::from),
    )?;
    for c in &customers {
        write(
            &mut writer,
            &[
                c.id.to_string(),
                spreadsheet_safe(&c.email),
                spreadsheet_safe(&c.name),
                date(c.created_at),
                c.paid_orders.to_string(),
                format!(
                    "{}.{:02}",
                    c.total_spent_cents / 100,
                    c.total_spent_cents % 100
                ),
            ],
        )?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| Refusal::Internal(format!("customer export: {e}")))?;
    let mut response = content(StatusCode::OK, "text/csv; charset=utf-8", bytes, None);
    response.headers_mut().insert(
        CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"customers.csv\""),
    );
    Ok(response)
}

/// GET `/admin/settings/payments`.
pub(crate) fn payment_settings(shop: &Shop, visit: &mut Visit) -> Result<ShopResponse, Refusal> {
    let Some((staff, csrf)) = staff_of(visit) else {
        return Ok(sign_in_first(visit));
    };
    let body = html! {
        h1 { "Payment settings" }
        dl.settings {
            dt { "Provider" } dd { (shop.payments.describe()) }
            dt { "Currency" } dd { (crate::layout::CURRENCY) }
            dt { "Card data kept by the shop" } dd { "Last four characters of the card field and the provider's payment reference. Never the full number, never the security code." }
        }
        @if matches!(shop.payments, PaymentGateway::Simulated(_)) {
            h2 { "Test cards (simulated processor)" }
            table.data-table {
                thead { tr { th { "Card number" } th { "Result" } } }
                tbody {
                    @for (number, result) in TEST_CARDS {
                        tr { td { code { (number) } } td { (result) } }
                    }
                }
            }
            p.muted { "Any future expiry date and any 3-digit code work. Tokens (values that are not card numbers) are approved." }
        }
    };
    Ok(page(
        StatusCode::OK,
        "Payment settings",
        &staff,
        &csrf,
        body,
    ))
}

const TEST_CARDS: &[(&str, &str)] = &[
    ("4242 4242 4242 4242", "Approved"),
    ("5555 5555 5555 4444", "Approved"),
    ("4000 0000 0000 0002", "Declined (generic)"),
    ("4000 0000 0000 9995", "Declined (insufficient funds)"),
    ("4000 0000 0000 9987", "Declined (lost card)"),
    ("4000 0000 0000 9979", "Declined (stolen card)"),
    ("4000 0000 0000 0069", "Declined (expired card)"),
    ("4000 0000 0000 0127", "Declined (incorrect CVC)"),
    ("4000 0000 0000 0119", "Declined (processing error)"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_parse_as_people_type_them() {
        assert_eq!(parse_price("12.50"), Some(1250));
        assert_eq!(parse_price("12,5"), Some(1250));
        assert_eq!(parse_price("€ 7"), Some(700));
        assert_eq!(parse_price("0.05"), Some(5));
        assert_eq!(parse_price("1.234"), None);
        assert_eq!(parse_price("-1"), None);
        assert_eq!(parse_price("abc"), None);
        assert_eq!(parse_price(""), None);
        assert_eq!(parse_price(".5"), None);
    }

    #[test]
    fn formulas_are_defused_in_exports() {
        assert_eq!(spreadsheet_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(spreadsheet_safe("alice@example.com"), "alice@example.com");
    }
}
