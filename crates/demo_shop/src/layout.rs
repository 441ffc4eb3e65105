//! The frame around every page (storefront and admin), and how money,
//! dates and ratings read.
//!
//! Owns: the site header, navigation and footer markup. Must not: query
//! the database or decide access; pages hand it a [`Chrome`] with what the
//! header shows.

use maud::{html, Markup, DOCTYPE};

use crate::visit::{Refusal, CSRF_FIELD};

/// The shop's name as shown to people.
pub(crate) const SHOP_NAME: &str = "Ember & Leaf";
/// Currency of every price (ISO 4217).
pub(crate) const CURRENCY: &str = "EUR";

/// What the storefront header shows for this visitor.
#[derive(Default)]
pub(crate) struct Chrome {
    pub customer_name: Option<String>,
    pub cart_items: i64,
    pub csrf_token: Option<String>,
}

/// `1250` → `€12.50`.
pub(crate) fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}€{}.{:02}", cents / 100, cents % 100)
}

/// Unix seconds → `7 March 2025`.
pub(crate) fn date(unix: i64) -> String {
    let format = time::macros::format_description!("[day padding:none] [month repr:long] [year]");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_else(|| "—".into())
}

/// Five stars, `rating` of them filled.
pub(crate) fn stars(rating: i64) -> Markup {
    let rating = rating.clamp(0, 5);
    let filled = "★".repeat(rating as usize);
    let empty = "☆".repeat(5 - rating as usize);
    html! {
        span.stars role="img" aria-label={ (rating) " out of 5 stars" } { (filled) (empty) }
    }
}

/// Hidden CSRF field for a form of the current session.
pub(crate) fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(token); }
}

fn head(title: &str, extra_scripts: &[&str]) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · " (SHOP_NAME) }
            meta name="description" content="Ember & Leaf: small-batch coffee roasters and loose-leaf tea merchants.";
            link rel="icon" href="/static/logo.svg" type="image/svg+xml";
            link rel="stylesheet" href="/static/shop.css";
            script src="/static/shop.js" defer {}
            @for script in extra_scripts {
                script src=(script) defer {}
            }
        }
    }
}

/// A storefront page.
pub(crate) fn storefront_page(title: &str, chrome: &Chrome, content: Markup) -> Markup {
    storefront_page_with_scripts(title, chrome, &[], content)
}

/// A storefront page that loads extra scripts (the checkout's).
pub(crate) fn storefront_page_with_scripts(
    title: &str,
    chrome: &Chrome,
    scripts: &[&str],
    content: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, scripts))
            body {
                a.skip-link href="#content" { "Skip to content" }
                header.site-header {
                    div.wrap.header-row {
                        a.brand href="/" {
                            img src="/static/logo.svg" alt="" width="44" height="44";
                            span.brand-text {
                                span.brand-name { (SHOP_NAME) }
                                span.brand-tag { "coffee & tea roasters" }
                            }
                        }
                        form.site-search action="/search" method="get" role="search" {
                            label.visually-hidden for="site-search-q" { "Search the shop" }
                            input #site-search-q type="search" name="q" placeholder="Search coffee, tea, gear…";
                            button type="submit" { "Search" }
                        }
                        div.account-links {
                            @if let Some(name) = &chrome.customer_name {
                                a href="/account" { "Hi, " (name) }
                                @if let Some(token) = &chrome.csrf_token {
                                    form.inline-form action="/account/logout" method="post" {
                                        (csrf_field(token))
                                        button.link-button type="submit" { "Sign out" }
                                    }
                                }
                            } @else {
                                a href="/account/login" { "Sign in" }
                            }
                            a.cart-link href="/cart" {
                                "Cart "
                                span.cart-count aria-label="items in cart" { (chrome.cart_items) }
                            }
                        }
                    }
                    nav.site-nav aria-label="Catalogue" {
                        div.wrap {
                            a href="/products" { "All products" }
                            a href="/products?category=coffee" { "Coffee" }
                            a href="/products?category=tea" { "Tea" }
                            a href="/products?category=brewing-gear" { "Brewing gear" }
                        }
                    }
                }
                main #content .wrap { (content) }
                footer.site-footer {
                    div.wrap.footer-grid {
                        div {
                            h2 { "Ember & Leaf" }
                            p { "Roastery & tea room, 4 Quai Saint-Vincent, 69001 Lyon." }
                            p { "Roasting days: Tuesday and Friday." }
                        }
                        div {
                            h2 { "Shipping" }
                            p { "Free shipping on orders over " (money(crate::checkout::FREE_SHIPPING_FROM_CENTS)) "; otherwise "
                                (money(crate::checkout::SHIPPING_CENTS)) ". We ship within two roasting days." }
                        }
                        div {
                            h2 { "Your account" }
                            ul.plain {
                                li { a href="/account" { "Orders" } }
                                li { a href="/cart" { "Cart" } }
                                li { a href="/checkout" { "Checkout" } }
                            }
                        }
                    }
                    p.wrap.fineprint { "© Ember & Leaf. A demonstration shop: no real orders are shipped." }
                }
            }
        }
    }
}

/// The shop admin's navigation entries.
const ADMIN_NAV: &[(&str, &str)] = &[
    ("/admin", "Dashboard"),
    ("/admin/orders", "Orders"),
    ("/admin/products", "Products"),
    ("/admin/customers", "Customers"),
    ("/admin/settings/payments", "Payments"),
];

/// A page of the shop's own admin area; `staff` is the signed-in staff
/// member's name and the session's CSRF token (absent on the login page).
pub(crate) fn admin_page(title: &str, staff: Option<(&str, &str)>, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, &[]))
            body.admin {
                header.admin-header {
                    div.wrap.header-row {
                        a.brand href="/admin" {
                            img src="/static/logo.svg" alt="" width="36" height="36";
                            span.brand-text {
                                span.brand-name { (SHOP_NAME) }
                                span.brand-tag { "shop admin" }
                            }
                        }
                        @if let Some((name, token)) = staff {
                            nav.admin-nav aria-label="Admin" {
                                @for (href, label) in ADMIN_NAV {
                                    a href=(href) { (label) }
                                }
                            }
                            div.account-links {
                                span { (name) }
                                form.inline-form action="/admin/logout" method="post" {
                                    (csrf_field(token))
                                    button.link-button type="submit" { "Sign out" }
                                }
                            }
                        } @else {
                            a href="/" { "← Back to the shop" }
                        }
                    }
                }
                main #content .wrap { (content) }
            }
        }
    }
}

/// The page (or JSON) for a refused request.
pub(crate) fn refusal_markup(refusal: &Refusal, chrome: &Chrome, admin: bool) -> Markup {
    let content = html! {
        section.notice.notice-error {
            h1 { (refusal.title()) }
            p { (refusal.explanation()) }
            p { a.button href=(if admin { "/admin" } else { "/" }) { "Back to the " (if admin { "dashboard" } else { "shop" }) } }
        }
    };
    if admin {
        admin_page(refusal.title(), None, content)
    } else {
        storefront_page(refusal.title(), chrome, content)
    }
}

/// An image of a product from `/static/`.
pub(crate) fn product_image(image: &str, alt: &str) -> Markup {
    html! { img.product-image src={ "/static/" (image) } alt=(alt) width="240" height="240" loading="lazy"; }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_dates_read_naturally() {
        assert_eq!(money(1250), "€12.50");
        assert_eq!(money(5), "€0.05");
        assert_eq!(money(-300), "-€3.00");
        assert_eq!(date(0), "1 January 1970");
    }

    #[test]
    fn stars_are_clamped() {
        let s = stars(7).into_string();
        assert!(s.contains("★★★★★"));
        assert!(s.contains("5 out of 5"));
    }
}
