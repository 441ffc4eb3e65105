//! Every address the shop answers, and which page handles which method.
//!
//! Owns: the mapping path → [`Route`] → handler, 404 and 405. Must not:
//! contain page logic.

use hyper::{Method, StatusCode};

use crate::shop::Shop;
use crate::visit::{Refusal, ShopResponse, Visit};
use crate::{account, admin, assets, cart, checkout, storefront};

/// A page or action of the shop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    Home,
    Products,
    Search,
    Product(String),
    ProductReview(String),
    Cart,
    CartAdd,
    CartUpdate,
    CartRemove,
    ApiCart,
    Login,
    Logout,
    Account,
    Checkout,
    Order(i64),
    RobotsTxt,
    Static(String),
    Health,
    AdminDashboard,
    AdminLogin,
    AdminLogout,
    AdminOrders,
    AdminProducts,
    AdminProduct(i64),
    AdminCustomers,
    AdminCustomersExport,
    AdminPaymentSettings,
}

/// A URL path segment naming a product: lowercase letters, digits, dashes.
fn is_slug(segment: &str) -> bool {
    !segment.is_empty()
        && segment.len() <= 80
        && segment
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn positive_id(segment: &str) -> Option<i64> {
    if segment.is_empty() || segment.len() > 18 || !segment.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    segment.parse().ok().filter(|id| *id > 0)
}

impl Route {
    /// The route for `path`, if the shop has one.
    pub(crate) fn for_path(path: &str) -> Option<Route> {
        let trimmed = path.strip_prefix('/')?;
        let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
        let segments: Vec<&str> = trimmed.split('/').collect();
        Some(match segments.as_slice() {
            [""] => Route::Home,
            ["products"] => Route::Products,
            ["search"] => Route::Search,
            ["product", slug] if is_slug(slug) => Route::Product((*slug).to_owned()),
            ["product", slug, "review"] if is_slug(slug) => {
                Route::ProductReview((*slug).to_owned())
            }
            ["cart"] => Route::Cart,
            ["cart", "add"] => Route::CartAdd,
            ["cart", "update"] => Route::CartUpdate,
            ["cart", "remove"] => Route::CartRemove,
            ["api", "cart"] => Route::ApiCart,
            ["account"] => Route::Account,
            ["account", "login"] => Route::Login,
            ["account", "logout"] => Route::Logout,
            ["checkout"] => Route::Checkout,
            ["order", id] => Route::Order(positive_id(id)?),
            ["robots.txt"] => Route::RobotsTxt,
            ["healthz"] => Route::Health,
            ["static", name] if assets::exists(name) => Route::Static((*name).to_owned()),
            ["admin"] => Route::AdminDashboard,
            ["admin", "login"] => Route::AdminLogin,
            ["admin", "logout"] => Route::AdminLogout,
            ["admin", "orders"] => Route::AdminOrders,
            ["admin", "products"] => Route::AdminProducts,
            ["admin", "products", id] => Route::AdminProduct(positive_id(id)?),
            ["admin", "customers"] => Route::AdminCustomers,
            ["admin", "customers", "export.csv"] => Route::AdminCustomersExport,
            ["admin", "settings", "payments"] => Route::AdminPaymentSettings,
            _ => return None,
        })
    }

    /// The methods this route accepts, as an `Allow` header lists them.
    fn allowed(&self) -> &'static str {
        match self {
            Route::ProductReview(_)
            | Route::CartAdd
            | Route::CartUpdate
            | Route::CartRemove
            | Route::AdminLogout
            | Route::AdminProduct(_) => "POST",
            Route::ApiCart | Route::Login | Route::Logout | Route::Checkout | Route::AdminLogin => {
                "GET, HEAD, POST"
            }
            _ => "GET, HEAD",
        }
    }
}

/// Answer `visit`.
pub(crate) async fn dispatch(shop: &Shop, visit: &mut Visit) -> Result<ShopResponse, Refusal> {
    let route = Route::for_path(&visit.path).ok_or(Refusal::NotFound)?;
    let read = matches!(visit.method, Method::GET | Method::HEAD);
    let post = visit.method == Method::POST;
    match route {
        Route::Static(name) if read => return Ok(assets::serve(&name)),
        Route::Health if read => {
            return Ok(crate::visit::content(
                StatusCode::OK,
                "text/plain; charset=utf-8",
                "ok\n",
                None,
            ))
        }
        Route::RobotsTxt if read => return Ok(assets::robots_txt()),
        _ => {}
    }
    shop.load_session(visit)?;
    match (route, read, post) {
        (Route::Home, true, _) => storefront::home(shop, visit),
        (Route::Products, true, _) => storefront::catalogue(shop, visit),
        (Route::Search, true, _) => storefront::search(shop, visit),
        (Route::Product(slug), true, _) => storefront::product(shop, visit, &slug),
        (Route::ProductReview(slug), _, true) => storefront::post_review(shop, visit, &slug).await,
        (Route::Cart, true, _) => cart::page(shop, visit),
        (Route::CartAdd, _, true) => cart::add(shop, visit).await,
        (Route::CartUpdate, _, true) => cart::update(shop, visit).await,
        (Route::CartRemove, _, true) => cart::remove(shop, visit).await,
        (Route::ApiCart, true, _) => cart::api_get(shop, visit),
        (Route::ApiCart, _, true) => cart::api_post(shop, visit).await,
        (Route::Login, true, _) => account::login_page(shop, visit),
        (Route::Login, _, true) => account::login(shop, visit).await,
        (Route::Logout, true, _) => account::logout_page(shop, visit),
        (Route::Logout, _, true) => account::logout(shop, visit).await,
        (Route::Account, true, _) => account::overview(shop, visit),
        (Route::Checkout, true, _) => checkout::page(shop, visit),
        (Route::Checkout, _, true) => checkout::place_order(shop, visit).await,
        (Route::Order(id), true, _) => checkout::order_page(shop, visit, id),
        (Route::AdminDashboard, true, _) => admin::dashboard(shop, visit),
        (Route::AdminLogin, true, _) => admin::login_page(shop, visit),
        (Route::AdminLogin, _, true) => admin::login(shop, visit).await,
        (Route::AdminLogout, _, true) => admin::logout(shop, visit).await,
        (Route::AdminOrders, true, _) => admin::orders(shop, visit),
        (Route::AdminProducts, true, _) => admin::products(shop, visit),
        (Route::AdminProduct(id), _, true) => admin::update_product(shop, visit, id).await,
        (Route::AdminCustomers, true, _) => admin::customers(shop, visit),
        (Route::AdminCustomersExport, true, _) => admin::export_customers(shop, visit),
        (Route::AdminPaymentSettings, true, _) => admin::payment_settings(shop, visit),
        (route, _, _) => Err(Refusal::MethodNotAllowed(route.allowed())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_routes() {
        assert_eq!(Route::for_path("/"), Some(Route::Home));
        assert_eq!(Route::for_path("/products/"), Some(Route::Products));
        assert_eq!(
            Route::for_path("/product/colombia-huila"),
            Some(Route::Product("colombia-huila".into()))
        );
        assert_eq!(Route::for_path("/product/Bad%20Slug"), None);
        assert_eq!(Route::for_path("/order/12"), Some(Route::Order(12)));
        assert_eq!(Route::for_path("/order/0"), None);
        assert_eq!(Route::for_path("/order/99999999999999999999"), None);
        assert_eq!(
            Route::for_path("/admin/products/3"),
            Some(Route::AdminProduct(3))
        );
        assert_eq!(
            Route::for_path("/static/shop.css"),
            Some(Route::Static("shop.css".into()))
        );
        assert_eq!(Route::for_path("/static/../Cargo.toml"), None);
        assert_eq!(Route::for_path("/wp-login.php"), None);
        assert_eq!(Route::for_path("no-slash"), None);
    }
}
