//! Checkout: the payment page (shipping and card fields, loading
//! `/static/checkout.js`), placing an order, charging it through the
//! payment provider, and the order confirmation page.
//!
//! The shop never needs the real card number: whatever arrives in
//! `card_number`, `card_exp`, `card_cvc` and `card_name` goes to the
//! provider as is. Orders keep the last four characters of the card field
//! and the payment reference only. A decline answers 402 with "Your card
//! was declined" (the marker of Rampart's card-testing jail).
//! Must not: store, log or re-display card fields.

use hyper::StatusCode;
use maud::{html, Markup};

use crate::cart::subtotal_cents;
use crate::layout::{csrf_field, money, storefront_page_with_scripts, CURRENCY};
use crate::payment::{CardDetails, ChargeOutcome};
use crate::shop::Shop;
use crate::store::{CartLine, NewOrder, OrderProblem, OrderStatus, ShippingAddress};
use crate::visit::{
    html as html_response, see_other, Form, Refusal, ShopResponse, Visit, CSRF_FIELD,
};

/// Flat shipping fee.
pub(crate) const SHIPPING_CENTS: i64 = 490;
/// Orders from this subtotal ship free.
pub(crate) const FREE_SHIPPING_FROM_CENTS: i64 = 5000;
/// The text a declined payment shows.
pub(crate) const CARD_DECLINED: &str = "Your card was declined.";

/// Countries the roastery ships to.
const COUNTRIES: &[&str] = &[
    "France",
    "Belgium",
    "Germany",
    "Italy",
    "Luxembourg",
    "Netherlands",
    "Portugal",
    "Spain",
    "Switzerland",
    "United Kingdom",
];

/// Shipping for an order of `subtotal` cents.
pub(crate) fn shipping_cents(subtotal: i64) -> i64 {
    if subtotal == 0 || subtotal >= FREE_SHIPPING_FROM_CENTS {
        0
    } else {
        SHIPPING_CENTS
    }
}

/// A message above the checkout form.
enum CheckoutNotice {
    None,
    Problem(String),
    Declined(&'static str),
    ProviderDown,
}

fn order_summary(lines: &[CartLine]) -> Markup {
    let subtotal = subtotal_cents(lines);
    let shipping = shipping_cents(subtotal);
    html! {
        aside.order-summary {
            h2 { "Your order" }
            ul.plain {
                @for line in lines {
                    li { span { (line.quantity) " × " (line.product.name) } span { (money(line.total_cents())) } }
                }
            }
            dl.totals {
                dt { "Subtotal" } dd { (money(subtotal)) }
                dt { "Shipping" } dd { @if shipping == 0 { "Free" } @else { (money(shipping)) } }
                dt.total { "Total" } dd.total { (money(subtotal + shipping)) }
            }
            p { a href="/cart" { "Edit cart" } }
        }
    }
}

fn field(label: &str, name: &str, value: &str, autocomplete: &str, max: usize) -> Markup {
    html! {
        label for={ "f-" (name) } { (label) }
        input id={ "f-" (name) } type=(if name == "email" { "email" } else { "text" }) name=(name) value=(value)
            autocomplete=(autocomplete) maxlength=(max) required;
    }
}

fn checkout_markup(
    csrf: &str,
    lines: &[CartLine],
    shipping: &ShippingAddress,
    notice: &CheckoutNotice,
) -> Markup {
    html! {
        h1 { "Checkout" }
        div.checkout {
            form #checkout-form .stacked.checkout-form action="/checkout" method="post" autocomplete="on" {
                @match notice {
                    CheckoutNotice::None => {},
                    CheckoutNotice::Problem(text) => p.notice.notice-error role="alert" { (text) },
                    CheckoutNotice::Declined(why) => p.notice.notice-error role="alert" {
                        strong { (CARD_DECLINED) } " " (why) " No money was taken."
                    },
                    CheckoutNotice::ProviderDown => p.notice.notice-error role="alert" {
                        "We could not reach our payment provider, so nothing was charged. Please try again in a few minutes."
                    },
                }
                (csrf_field(csrf))
                fieldset {
                    legend { "Contact" }
                    (field("Email", "email", &shipping.email, "email", 254))
                }
                fieldset {
                    legend { "Shipping address" }
                    (field("Full name", "ship_name", &shipping.name, "shipping name", 120))
                    (field("Street address", "ship_address", &shipping.address, "shipping street-address", 200))
                    div.field-row {
                        div { (field("Postcode", "ship_postcode", &shipping.postcode, "shipping postal-code", 16)) }
                        div { (field("City", "ship_city", &shipping.city, "shipping address-level2", 100)) }
                    }
                    label for="f-ship_country" { "Country" }
                    select #f-ship_country name="ship_country" autocomplete="shipping country-name" required {
                        @for c in COUNTRIES {
                            option value=(c) selected[*c == shipping.country || (shipping.country.is_empty() && *c == "France")] { (c) }
                        }
                    }
                }
                fieldset.card-fields {
                    legend { "Payment card" }
                    p.muted.secure-note { "Your card details are sent straight to our payment provider; we only keep the last four digits." }
                    label for="card_name" { "Name on card" }
                    input #card_name type="text" name="card_name" autocomplete="cc-name" maxlength="128" required;
                    label for="card_number" { "Card number" }
                    input #card_number type="text" name="card_number" inputmode="numeric" autocomplete="cc-number"
                        placeholder="1234 5678 9012 3456" maxlength="256" required;
                    div.field-row {
                        div {
                            label for="card_exp" { "Expiry (MM/YY)" }
                            input #card_exp type="text" name="card_exp" inputmode="numeric" autocomplete="cc-exp"
                                placeholder="MM/YY" maxlength="64" required;
                        }
                        div {
                            label for="card_cvc" { "Security code" }
                            input #card_cvc type="text" name="card_cvc" inputmode="numeric" autocomplete="cc-csc"
                                placeholder="CVC" maxlength="64" required;
                        }
                    }
                }
                button.button-large type="submit" { "Pay " (money(subtotal_cents(lines) + shipping_cents(subtotal_cents(lines)))) }
            }
            (order_summary(lines))
        }
    }
}

fn render_checkout(
    shop: &Shop,
    visit: &mut Visit,
    status: StatusCode,
    lines: &[CartLine],
    shipping: &ShippingAddress,
    notice: &CheckoutNotice,
) -> Result<ShopResponse, Refusal> {
    let session = shop.ensure_session(visit)?;
    let chrome = shop.chrome(visit)?;
    let content = checkout_markup(&session.csrf_token, lines, shipping, notice);
    Ok(html_response(
        status,
        storefront_page_with_scripts("Checkout", &chrome, &["/static/checkout.js"], content),
    ))
}

/// GET `/checkout`.
pub(crate) fn page(shop: &Shop, visit: &mut Visit) -> Result<ShopResponse, Refusal> {
    let session = shop.ensure_session(visit)?;
    let lines = shop.store.cart(&session.id)?;
    if lines.is_empty() {
        return Ok(see_other("/cart"));
    }
    let mut shipping = ShippingAddress::default();
    if let Some(customer) = &session.customer {
        shipping.email = customer.email.clone();
        shipping.name = customer.name.clone();
    }
    render_checkout(
        shop,
        visit,
        StatusCode::OK,
        &lines,
        &shipping,
        &CheckoutNotice::None,
    )
}

fn shipping_from(form: &Form) -> ShippingAddress {
    ShippingAddress {
        email: form.text("email"),
        name: form.text("ship_name"),
        address: form.text("ship_address"),
        city: form.text("ship_city"),
        postcode: form.text("ship_postcode"),
        country: form.text("ship_country"),
    }
}

fn validate_shipping(form: &Form) -> Result<(), String> {
    let email = form.required("email", "Email", 254)?;
    let plausible_email = email.split_once('@').is_some_and(|(user, host)| {
        !user.is_empty() && host.contains('.') && !host.starts_with('.')
    }) && !email.chars().any(char::is_whitespace);
    if !plausible_email {
        return Err("Please enter a valid email address.".into());
    }
    form.required("ship_name", "Full name", 120)?;
    form.required("ship_address", "Street address", 200)?;
    form.required("ship_postcode", "Postcode", 16)?;
    form.required("ship_city", "City", 100)?;
    let country = form.required("ship_country", "Country", 60)?;
    if !COUNTRIES.contains(&country.as_str()) {
        return Err("We do not ship to that country yet.".into());
    }
    Ok(())
}

fn card_from(form: &Form) -> Result<CardDetails, String> {
    Ok(CardDetails {
        name: form.required("card_name", "Name on card", 128)?,
        number: form.required("card_number", "Card number", 256)?,
        exp: form.required("card_exp", "Expiry date", 64)?,
        cvc: form.required("card_cvc", "Security code", 64)?,
    })
}

/// POST `/checkout`: place the order and charge the card.
pub(crate) async fn place_order(shop: &Shop, visit: &mut Visit) -> Result<ShopResponse, Refusal> {
    let form = visit.form().await?;
    let session = shop.check_csrf(visit, form.get(CSRF_FIELD))?;
    let lines = shop.store.cart(&session.id)?;
    if lines.is_empty() {
        return Ok(see_other("/cart"));
    }
    let shipping = shipping_from(&form);
    let card = match validate_shipping(&form).and_then(|()| card_from(&form)) {
        Ok(card) => card,
        Err(problem) => {
            let notice = CheckoutNotice::Problem(problem);
            return render_checkout(
                shop,
                visit,
                StatusCode::UNPROCESSABLE_ENTITY,
                &lines,
                &shipping,
                &notice,
            );
        }
    };
    drop(form);
    let subtotal = subtotal_cents(&lines);
    let shipping_fee = shipping_cents(subtotal);
    let card_last4 = card.last_four();
    let order = NewOrder {
        session_id: &session.id,
        customer_id: session.customer.as_ref().map(|c| c.id),
        shipping: &shipping,
        lines: &lines,
        shipping_cents: shipping_fee,
        currency: CURRENCY,
        card_last4: &card_last4,
    };
    let order_id = match shop.store.place_order(&order) {
        Ok(id) => id,
        Err(OrderProblem::OutOfStock { product, available }) => {
            let notice = CheckoutNotice::Problem(format!(
                "Sorry, only {available} of {product} left in stock. Please update your cart."
            ));
            return render_checkout(
                shop,
                visit,
                StatusCode::CONFLICT,
                &lines,
                &shipping,
                &notice,
            );
        }
        Err(OrderProblem::Store(e)) => return Err(e.into()),
    };
    let outcome = shop
        .payments
        .charge(subtotal + shipping_fee, CURRENCY, &card)
        .await;
    drop(card);
    match outcome {
        Ok(ChargeOutcome::Approved { reference }) => {
            shop.store
                .mark_order_paid(order_id, &reference, &session.id)?;
            Ok(see_other(&format!("/order/{order_id}")))
        }
        Ok(ChargeOutcome::Declined { reason }) => {
            shop.store
                .mark_order_unpaid(order_id, OrderStatus::PaymentDeclined)?;
            let notice = CheckoutNotice::Declined(reason.explanation());
            render_checkout(
                shop,
                visit,
                StatusCode::PAYMENT_REQUIRED,
                &lines,
                &shipping,
                &notice,
            )
        }
        Err(e) => {
            tracing::warn!(order = order_id, error = %e, "charge failed");
            shop.store
                .mark_order_unpaid(order_id, OrderStatus::PaymentFailed)?;
            render_checkout(
                shop,
                visit,
                StatusCode::BAD_GATEWAY,
                &lines,
                &shipping,
                &CheckoutNotice::ProviderDown,
            )
        }
    }
}

/// GET `/order/<id>`: the confirmation, for the session that placed the
/// order or the customer it belongs to (anyone else gets 404).
pub(crate) fn order_page(shop: &Shop, visit: &mut Visit, id: i64) -> Result<ShopResponse, Refusal> {
    let order = shop.store.order(id)?.ok_or(Refusal::NotFound)?;
    let session = visit.session.as_ref().ok_or(Refusal::NotFound)?;
    let by_customer = session
        .customer
        .as_ref()
        .is_some_and(|c| Some(c.id) == order.customer_id);
    let by_session = order.session_id.as_deref() == Some(session.id.as_str());
    if !(by_customer || by_session) {
        return Err(Refusal::NotFound);
    }
    let chrome = shop.chrome(visit)?;
    let paid = order.status == OrderStatus::Paid;
    let content = html! {
        section.order-confirmation {
            @if paid {
                h1 { "Thank you for your order!" }
                p.lead { "Order #" (order.id) " is confirmed. We will roast and pack it within two roasting days and email " (order.shipping.email) " when it ships." }
            } @else {
                h1 { "Order #" (order.id) }
                p.notice.notice-error { (order.status.label()) }
            }
            table.data-table {
                thead { tr { th { "Product" } th { "Quantity" } th { "Price" } } }
                tbody {
                    @for line in &order.lines {
                        tr { td { (line.product_name) } td { (line.quantity) } td { (money(line.unit_price_cents * line.quantity)) } }
                    }
                }
            }
            dl.totals {
                dt { "Subtotal" } dd { (money(order.subtotal_cents)) }
                dt { "Shipping" } dd { @if order.shipping_cents == 0 { "Free" } @else { (money(order.shipping_cents)) } }
                dt.total { "Total" } dd.total { (money(order.total_cents)) }
            }
            div.two-columns {
                div {
                    h2 { "Shipping to" }
                    address {
                        (order.shipping.name) br;
                        (order.shipping.address) br;
                        (order.shipping.postcode) " " (order.shipping.city) br;
                        (order.shipping.country)
                    }
                }
                div {
                    h2 { "Payment" }
                    p { (money(order.total_cents)) " (" (order.currency) ") charged to the card ending in " strong { (order.card_last4) } "." }
                    @if let Some(reference) = &order.payment_reference { p.muted { "Payment reference " code { (reference) } } }
                }
            }
            p { a.button href="/products" { "Keep shopping" } }
        }
    };
    let title = if paid { "Thank you" } else { "Your order" };
    Ok(html_response(
        StatusCode::OK,
        crate::layout::storefront_page(title, &chrome, content),
    ))
}
