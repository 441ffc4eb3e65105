//! The shopping cart: the cart page, its form actions (add, update,
//! remove) and the JSON cart API at `/api/cart`.
//!
//! The cart belongs to the storefront session (cookie `shop_session`).
//! Must not: take payment or touch orders; prices always come from the
//! catalogue, never from the request.

use hyper::StatusCode;
use maud::html;
use serde::{Deserialize, Serialize};

use crate::checkout::shipping_cents;
use crate::layout::{csrf_field, money, product_image, storefront_page, CURRENCY};
use crate::shop::Shop;
use crate::store::{CartLine, Product, MAX_LINE_QUANTITY};
use crate::visit::{
    html as html_response, json, see_other, Form, Refusal, ShopResponse, Visit, CSRF_FIELD,
    CSRF_HEADER,
};

/// Sum of the cart's lines.
pub(crate) fn subtotal_cents(lines: &[CartLine]) -> i64 {
    lines.iter().map(CartLine::total_cents).sum()
}

/// `/cart`.
pub(crate) fn page(shop: &Shop, visit: &mut Visit) -> Result<ShopResponse, Refusal> {
    let session = shop.ensure_session(visit)?;
    let lines = shop.store.cart(&session.id)?;
    let added = visit.query().text("added");
    let added = lines
        .iter()
        .find(|l| !added.is_empty() && l.product.slug == added);
    let chrome = shop.chrome(visit)?;
    let subtotal = subtotal_cents(&lines);
    let shipping = shipping_cents(subtotal);
    let token = session.csrf_token.as_str();
    let content = html! {
        h1 { "Your cart" }
        @if let Some(line) = added {
            p.notice.notice-ok.flash role="status" { "Added " (line.product.name) " to your cart." }
        }
        @if lines.is_empty() {
            p { "Your cart is empty. " a href="/products" { "Find something good to brew." } }
        } @else {
            table.cart-table {
                thead { tr { th { "Product" } th { "Price" } th { "Quantity" } th { "Total" } th { span.visually-hidden { "Remove" } } } }
                tbody {
                    @for line in &lines {
                        tr {
                            td.cart-product {
                                (product_image(&line.product.image, ""))
                                a href={ "/product/" (line.product.slug) } { (line.product.name) }
                            }
                            td { (money(line.product.price_cents)) }
                            td {
                                form.inline-form action="/cart/update" method="post" {
                                    (csrf_field(token))
                                    input type="hidden" name="product" value=(line.product.slug);
                                    label.visually-hidden for={ "qty-" (line.product.slug) } { "Quantity of " (line.product.name) }
                                    input.qty id={ "qty-" (line.product.slug) } type="number" name="quantity" min="0" max=(MAX_LINE_QUANTITY) value=(line.quantity);
                                    button.button-small type="submit" { "Update" }
                                }
                            }
                            td { (money(line.total_cents())) }
                            td {
                                form.inline-form action="/cart/remove" method="post" {
                                    (csrf_field(token))
                                    input type="hidden" name="product" value=(line.product.slug);
                                    button.link-button type="submit" { "Remove" }
                                }
                            }
                        }
                    }
                }
            }
            dl.totals {
                dt { "Subtotal" } dd { (money(subtotal)) }
                dt { "Shipping" } dd { @if shipping == 0 { "Free" } @else { (money(shipping)) } }
                dt.total { "Total" } dd.total { (money(subtotal + shipping)) }
            }
            p.cart-actions {
                a.button.button-secondary href="/products" { "Continue shopping" }
                " "
                a.button href="/checkout" { "Proceed to checkout" }
            }
        }
    };
    Ok(html_response(
        StatusCode::OK,
        storefront_page("Your cart", &chrome, content),
    ))
}

/// The product a cart form names (field `product`: its slug).
fn named_product(shop: &Shop, form: &Form) -> Result<Product, Refusal> {
    let slug = form.text("product");
    if slug.is_empty() {
        return Err(Refusal::BadRequest(
            "The form does not say which product.".into(),
        ));
    }
    shop.store.product_by_slug(&slug)?.ok_or(Refusal::NotFound)
}

/// POST `/cart/add`: `product`, `quantity` (default 1).
pub(crate) async fn add(shop: &Shop, visit: &mut Visit) -> Result<ShopResponse, Refusal> {
    let form = visit.form().await?;
    let session = shop.check_csrf(visit, form.get(CSRF_FIELD))?;
    let product = named_product(shop, &form)?;
    let quantity = if form.text("quantity").is_empty() {
        1
    } else {
        form.number("quantity", "The quantity", 1..=MAX_LINE_QUANTITY)
            .map_err(Refusal::BadRequest)?
    };
    if product.stock == 0 {
        return Err(Refusal::BadRequest(format!(
            "{} is sold out.",
            product.name
        )));
    }
    shop.store.add_to_cart(&session.id, product.id, quantity)?;
    Ok(see_other(&format!("/cart?added={}", product.slug)))
}

/// POST `/cart/update`: `product`, `quantity` (0 removes).
pub(crate) async fn update(shop: &Shop, visit: &mut Visit) -> Result<ShopResponse, Refusal> {
    let form = visit.form().await?;
    let session = shop.check_csrf(visit, form.get(CSRF_FIELD))?;
    let product = named_product(shop, &form)?;
    let quantity = form
        .number("quantity", "The quantity", 0..=MAX_LINE_QUANTITY)
        .map_err(Refusal::BadRequest)?;
    shop.store
        .set_cart_quantity(&session.id, product.id, quantity)?;
    Ok(see_other("/cart"))
}

/// POST `/cart/remove`: `product`.
pub(crate) async fn remove(shop: &Shop, visit: &mut Visit) -> Result<ShopResponse, Refusal> {
    let form = visit.form().await?;
    let session = shop.check_csrf(visit, form.get(CSRF_FIELD))?;
    let product = named_product(shop, &form)?;
    shop.store.set_cart_quantity(&session.id, product.id, 0)?;
    Ok(see_other("/cart"))
}

/// One line of the JSON cart.
#[derive(Serialize)]
struct CartItemJson {
    product: String,
    name: String,
    quantity: i64,
    unit_price_cents: i64,
    line_total_cents: i64,
}

/// The JSON cart (`GET /api/cart`, and the answer to `POST /api/cart`).
#[derive(Serialize)]
struct CartJson {
    items: Vec<CartItemJson>,
    item_count: i64,
    subtotal_cents: i64,
    shipping_cents: i64,
    total_cents: i64,
    currency: &'static str,
    /// Send back in the `X-CSRF-Token` header of `POST /api/cart`.
    csrf_token: String,
}

fn cart_json(lines: Vec<CartLine>, csrf_token: String) -> CartJson {
    let subtotal = subtotal_cents(&lines);
    let shipping = shipping_cents(subtotal);
    CartJson {
        item_count: lines.iter().map(|l| l.quantity).sum(),
        items: lines
            .into_iter()
            .map(|l| CartItemJson {
                line_total_cents: l.total_cents(),
                product: l.product.slug,
                name: l.product.name,
                quantity: l.quantity,
                unit_price_cents: l.product.price_cents,
            })
            .collect(),
        subtotal_cents: subtotal,
        shipping_cents: shipping,
        total_cents: subtotal + shipping,
        currency: CURRENCY,
        csrf_token,
    }
}

/// GET `/api/cart`.
pub(crate) fn api_get(shop: &Shop, visit: &mut Visit) -> Result<ShopResponse, Refusal> {
    let session = shop.ensure_session(visit)?;
    let lines = shop.store.cart(&session.id)?;
    Ok(json(StatusCode::OK, &cart_json(lines, session.csrf_token)))
}

/// How `POST /api/cart` changes a line.
#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum CartChangeMode {
    /// Add `quantity` to the line.
    #[default]
    Add,
    /// Set the line to `quantity` (0 removes it).
    Set,
}

/// Body of `POST /api/cart`: `{"product": "colombia-huila", "quantity": 2, "mode": "add"}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CartChange {
    product: String,
    #[serde(default = "one")]
    quantity: i64,
    #[serde(default)]
    mode: CartChangeMode,
}

fn one() -> i64 {
    1
}

/// POST `/api/cart` (JSON body, CSRF token in `X-CSRF-Token`).
pub(crate) async fn api_post(shop: &Shop, visit: &mut Visit) -> Result<ShopResponse, Refusal> {
    let change: CartChange = visit.json().await?;
    let session = shop.check_csrf(visit, visit.header(CSRF_HEADER))?;
    let product = shop
        .store
        .product_by_slug(change.product.trim())?
        .ok_or(Refusal::NotFound)?;
    let lowest = if change.mode == CartChangeMode::Add {
        1
    } else {
        0
    };
    if !(lowest..=MAX_LINE_QUANTITY).contains(&change.quantity) {
        return Err(Refusal::BadRequest(format!(
            "quantity must be from {lowest} to {MAX_LINE_QUANTITY}"
        )));
    }
    match change.mode {
        CartChangeMode::Add => {
            if product.stock == 0 {
                return Err(Refusal::BadRequest(format!("{} is sold out", product.name)));
            }
            shop.store
                .add_to_cart(&session.id, product.id, change.quantity)?;
        }
        CartChangeMode::Set => {
            shop.store
                .set_cart_quantity(&session.id, product.id, change.quantity)?
        }
    }
    let lines = shop.store.cart(&session.id)?;
    Ok(json(StatusCode::OK, &cart_json(lines, session.csrf_token)))
}
