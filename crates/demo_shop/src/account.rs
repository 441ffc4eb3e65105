//! Customer accounts: sign-in, sign-out and the account page with the
//! customer's orders.
//!
//! A failed sign-in answers 200 with the page containing "Invalid email or
//! password" (the marker Rampart's credential-stuffing jail recognises); a
//! successful one starts a fresh session and redirects 303 to `/account`.
//! Must not: reveal whether an e-mail address has an account.

use hyper::StatusCode;
use maud::html;

use crate::layout::{csrf_field, date, money, storefront_page};
use crate::shop::Shop;
use crate::visit::{
    html as html_response, local_path, see_other, Refusal, ShopResponse, Visit, CSRF_FIELD,
};

/// The text a failed sign-in shows.
pub(crate) const LOGIN_FAILED: &str = "Invalid email or password.";

fn login_markup(csrf: &str, email: &str, next: &str, error: Option<&str>) -> maud::Markup {
    html! {
        section.narrow {
            h1 { "Sign in" }
            p { "Sign in to see your orders and check out faster." }
            @if let Some(error) = error {
                p.notice.notice-error role="alert" { (error) }
            }
            form.stacked action="/account/login" method="post" {
                (csrf_field(csrf))
                input type="hidden" name="next" value=(next);
                label for="email" { "Email" }
                input #email type="email" name="email" autocomplete="username" value=(email) required autofocus;
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="current-password" required;
                button type="submit" { "Sign in" }
            }
            p.muted { "New here? No account needed: you can check out as a guest." }
        }
    }
}

fn render_login(
    shop: &Shop,
    visit: &mut Visit,
    email: &str,
    next: &str,
    error: Option<&str>,
) -> Result<ShopResponse, Refusal> {
    let session = shop.ensure_session(visit)?;
    let chrome = shop.chrome(visit)?;
    let next = local_path(next).unwrap_or("/account");
    Ok(html_response(
        StatusCode::OK,
        storefront_page(
            "Sign in",
            &chrome,
            login_markup(&session.csrf_token, email, next, error),
        ),
    ))
}

/// GET `/account/login[?next=/path]`.
pub(crate) fn login_page(shop: &Shop, visit: &mut Visit) -> Result<ShopResponse, Refusal> {
    let next = visit.query().text("next");
    render_login(shop, visit, "", &next, None)
}

/// POST `/account/login`: `email`, `password`, `next`.
pub(crate) async fn login(shop: &Shop, visit: &mut Visit) -> Result<ShopResponse, Refusal> {
    let form = visit.form().await?;
    shop.check_csrf(visit, form.get(CSRF_FIELD))?;
    let email = form.text("email");
    let password = form.get("password").unwrap_or("");
    let next = form.text("next");
    let plausible =
        !email.is_empty() && email.len() <= 254 && !password.is_empty() && password.len() <= 1024;
    let customer = if plausible {
        shop.authenticate_customer(&email, password).await?
    } else {
        None
    };
    match customer {
        Some(customer_id) => {
            shop.sign_in(visit, Some(customer_id), None)?;
            Ok(see_other(local_path(&next).unwrap_or("/account")))
        }
        None => {
            let shown_email: String = email.chars().take(254).collect();
            render_login(shop, visit, &shown_email, &next, Some(LOGIN_FAILED))
        }
    }
}

/// GET `/account/logout`: a confirmation button (signing out is a POST).
pub(crate) fn logout_page(shop: &Shop, visit: &mut Visit) -> Result<ShopResponse, Refusal> {
    let Some(session) = visit.session.clone().filter(|s| s.customer.is_some()) else {
        return Ok(see_other("/"));
    };
    let chrome = shop.chrome(visit)?;
    let content = html! {
        section.narrow {
            h1 { "Sign out" }
            form action="/account/logout" method="post" {
                (csrf_field(&session.csrf_token))
                button type="submit" { "Sign out now" }
            }
        }
    };
    Ok(html_response(
        StatusCode::OK,
        storefront_page("Sign out", &chrome, content),
    ))
}

/// POST `/account/logout`.
pub(crate) async fn logout(shop: &Shop, visit: &mut Visit) -> Result<ShopResponse, Refusal> {
    let form = visit.form().await?;
    shop.check_csrf(visit, form.get(CSRF_FIELD))?;
    shop.sign_out(visit)?;
    Ok(see_other("/"))
}

/// GET `/account`: the signed-in customer's details and orders.
pub(crate) fn overview(shop: &Shop, visit: &mut Visit) -> Result<ShopResponse, Refusal> {
    let Some(customer) = visit.session.as_ref().and_then(|s| s.customer.clone()) else {
        return Ok(see_other("/account/login?next=/account"));
    };
    let orders = shop.store.orders_of_customer(customer.id)?;
    let chrome = shop.chrome(visit)?;
    let content = html! {
        h1 { "Your account" }
        p { "Signed in as " strong { (customer.name) } " (" (customer.email) ")." }
        h2 { "Orders" }
        @if orders.is_empty() {
            p { "No orders yet." }
        } @else {
            table.data-table {
                thead { tr { th { "Order" } th { "Date" } th { "Items" } th { "Total" } th { "Status" } } }
                tbody {
                    @for o in &orders {
                        tr {
                            td { a href={ "/order/" (o.id) } { "#" (o.id) } }
                            td { (date(o.created_at)) }
                            td { (o.lines.iter().map(|l| l.quantity).sum::<i64>()) }
                            td { (money(o.total_cents)) }
                            td { (o.status.label()) }
                        }
                    }
                }
            }
        }
    };
    Ok(html_response(
        StatusCode::OK,
        storefront_page("Your account", &chrome, content),
    ))
}
