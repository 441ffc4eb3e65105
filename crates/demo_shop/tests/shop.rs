//! End-to-end tests of the demo shop: `serve` runs on 127.0.0.1:0 with a
//! temporary data directory and a real HTTP client (reqwest with a cookie
//! jar, redirects not followed) drives it like a browser would.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use demo_shop::{
    serve, serve_simulated_provider, PaymentProvider, ShopConfig, DEMO_CUSTOMER_EMAIL,
    DEMO_CUSTOMER_PASSWORD, DEMO_STAFF_PASSWORD, DEMO_STAFF_USERNAME,
};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use reqwest::{header, Client, Response, StatusCode};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A shop running on a free port; stopped when dropped.
struct RunningShop {
    addr: SocketAddr,
    data: tempfile::TempDir,
    task: JoinHandle<std::io::Result<()>>,
}

impl Drop for RunningShop {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start_shop(provider: PaymentProvider) -> RunningShop {
    let data = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = ShopConfig {
        data_dir: data.path().join("shop"),
        payment_provider: provider,
    };
    let task = tokio::spawn(serve(listener, config));
    let shop = RunningShop { addr, data, task };
    // Wait until the database is seeded and the shop answers.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = Client::new();
    for _ in 0..200 {
        if let Ok(r) = client.get(shop.url("/healthz")).send().await {
            if r.status() == StatusCode::OK {
                return shop;
            }
        }
        assert!(!shop.task.is_finished(), "the shop stopped during start-up");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the shop did not start");
}

impl RunningShop {
    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A browser: keeps cookies, does not follow redirects.
    fn browser(&self) -> Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap()
    }

    async fn get(&self, client: &Client, path: &str) -> (StatusCode, String) {
        let r = client.get(self.url(path)).send().await.unwrap();
        let status = r.status();
        (status, r.text().await.unwrap())
    }

    async fn post_form(&self, client: &Client, path: &str, form: &[(&str, &str)]) -> Response {
        client.post(self.url(path)).form(form).send().await.unwrap()
    }

    /// GET `page` and return the CSRF token of its forms.
    async fn csrf(&self, client: &Client, page: &str) -> String {
        let (status, body) = self.get(client, page).await;
        assert_eq!(status, StatusCode::OK, "GET {page}: {body}");
        csrf_in(&body)
    }

    fn database_path(&self) -> std::path::PathBuf {
        self.data
            .path()
            .join("shop")
            .join(demo_shop::DATABASE_FILE_NAME)
    }
}

fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("page has a CSRF field") + marker.len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end].to_owned()
}

fn location(r: &Response) -> String {
    r.headers()
        .get(header::LOCATION)
        .expect("redirect has a Location")
        .to_str()
        .unwrap()
        .to_owned()
}

fn set_cookies(r: &Response) -> Vec<String> {
    r.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// Put `quantity` of `slug` in the browser's cart.
async fn add_to_cart(shop: &RunningShop, client: &Client, slug: &str, quantity: &str) {
    let token = shop.csrf(client, &format!("/product/{slug}")).await;
    let r = shop
        .post_form(
            client,
            "/cart/add",
            &[
                ("csrf_token", &token),
                ("product", slug),
                ("quantity", quantity),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), format!("/cart?added={slug}"));
}

/// Fill in and submit the checkout form with these card fields.
async fn checkout(
    shop: &RunningShop,
    client: &Client,
    number: &str,
    exp: &str,
    cvc: &str,
) -> Response {
    let token = shop.csrf(client, "/checkout").await;
    shop.post_form(
        client,
        "/checkout",
        &[
            ("csrf_token", &token),
            ("email", "guest@example.com"),
            ("ship_name", "Gwen Guest"),
            ("ship_address", "3 Place Bellecour"),
            ("ship_postcode", "69002"),
            ("ship_city", "Lyon"),
            ("ship_country", "France"),
            ("card_name", "Gwen Guest"),
            ("card_number", number),
            ("card_exp", exp),
            ("card_cvc", cvc),
        ],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsing_the_catalogue() {
    let shop = start_shop(PaymentProvider::Simulated).await;
    let b = shop.browser();

    let (status, home) = shop.get(&b, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(home.contains("Ember &amp; Leaf"));
    assert!(home.contains("/static/shop.css"));
    assert!(home.contains("This week's favourites"));

    let (status, tea) = shop.get(&b, "/products?category=tea").await;
    assert_eq!(status, StatusCode::OK);
    assert!(tea.contains("Darjeeling First Flush"));
    assert!(!tea.contains("Colombia Huila"), "coffee listed under tea");

    let (status, all) = shop.get(&b, "/products").await;
    assert_eq!(status, StatusCode::OK);
    assert!(all.contains("Colombia Huila") && all.contains("Stoneware Mug"));

    let (status, product) = shop.get(&b, "/product/ethiopia-yirgacheffe").await;
    assert_eq!(status, StatusCode::OK);
    assert!(product.contains("€12.50"));
    assert!(product.contains("Marta K."), "seeded review shown");
    assert!(product.contains("action=\"/cart/add\""));

    let (status, missing) = shop.get(&b, "/product/no-such-coffee").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(missing.contains("Page not found"));
    assert_eq!(
        shop.get(&b, "/products?category=wine").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(shop.get(&b, "/wp-login.php").await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        shop.get(&b, "/static/nope.js").await.0,
        StatusCode::NOT_FOUND
    );

    let css = b.get(shop.url("/static/shop.css")).send().await.unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert!(css.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    let svg = b
        .get(shop.url("/static/coffee-bag.svg"))
        .send()
        .await
        .unwrap();
    assert_eq!(svg.headers()[header::CONTENT_TYPE], "image/svg+xml");
    assert!(svg.text().await.unwrap().starts_with("<svg"));

    let (status, robots) = shop.get(&b, "/robots.txt").await;
    assert_eq!(status, StatusCode::OK);
    assert!(robots.contains("Disallow: /admin"));
    assert_eq!(
        shop.get(&b, "/healthz").await,
        (StatusCode::OK, "ok\n".to_owned())
    );

    let head = b.head(shop.url("/products")).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);

    let wrong_method = b.delete(shop.url("/products")).send().await.unwrap();
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong_method.headers()[header::ALLOW], "GET, HEAD");
    let get_only_post = b.get(shop.url("/cart/add")).send().await.unwrap();
    assert_eq!(get_only_post.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_echoes_the_query_escaped() {
    let shop = start_shop(PaymentProvider::Simulated).await;
    let b = shop.browser();

    let r = b
        .get(shop.url("/search"))
        .query(&[("q", "ethiopia")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body = r.text().await.unwrap();
    assert!(body.contains("Results for “ethiopia”"));
    assert!(body.contains("Ethiopia Yirgacheffe"));

    let attack = "<script>alert(\"x\")</script>";
    let r = b
        .get(shop.url("/search"))
        .query(&[("q", attack)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("Results for “&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;”"),
        "{body}"
    );
    assert!(!body.contains("<script>alert"));

    // SQL metacharacters are just text.
    let r = b
        .get(shop.url("/search"))
        .query(&[("q", "' OR 1=1 --")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body = r.text().await.unwrap();
    assert!(body.contains("Nothing matches"));
    let r = b
        .get(shop.url("/search"))
        .query(&[("q", "%")])
        .send()
        .await
        .unwrap();
    assert!(
        r.text().await.unwrap().contains("Nothing matches"),
        "% is not a wildcard"
    );

    let (status, empty) = shop.get(&b, "/search").await;
    assert_eq!(status, StatusCode::OK);
    assert!(empty.contains("Search the shop"));

    let long = "a".repeat(201);
    let r = b
        .get(shop.url("/search"))
        .query(&[("q", &long)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("limited to 200 characters"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviews_are_stored_as_typed_and_escaped_on_output() {
    let shop = start_shop(PaymentProvider::Simulated).await;
    let b = shop.browser();
    let page = "/product/kagoshima-sencha";
    let token = shop.csrf(&b, page).await;
    let text = "\"Lovely\" & fresh <img src=x onerror=alert(1)>";
    let r = shop
        .post_form(
            &b,
            "/product/kagoshima-sencha/review",
            &[
                ("csrf_token", &token),
                ("name", "<b>Eve</b>"),
                ("rating", "4"),
                ("text", text),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/product/kagoshima-sencha?reviewed=1#reviews");

    let (_, body) = shop.get(&b, "/product/kagoshima-sencha?reviewed=1").await;
    assert!(body.contains("Thank you! Your review is published"));
    assert!(body.contains("&lt;b&gt;Eve&lt;/b&gt;"));
    assert!(
        body.contains("&quot;Lovely&quot; &amp; fresh &lt;img src=x onerror=alert(1)&gt;"),
        "{body}"
    );
    assert!(!body.contains("<img src=x"));
    assert!(!body.contains("<b>Eve"));

    let r = shop
        .post_form(
            &b,
            "/product/kagoshima-sencha/review",
            &[
                ("csrf_token", &token),
                ("name", "Ann"),
                ("rating", "9"),
                ("text", "great"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("The rating must be a whole number from 1 to 5."));

    let r = shop
        .post_form(
            &b,
            "/product/no-such-tea/review",
            &[
                ("csrf_token", &token),
                ("name", "Ann"),
                ("rating", "3"),
                ("text", "great"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cart_forms_and_json_api() {
    let shop = start_shop(PaymentProvider::Simulated).await;
    let b = shop.browser();
    add_to_cart(&shop, &b, "colombia-huila", "2").await;

    let (status, cart) = shop.get(&b, "/cart?added=colombia-huila").await;
    assert_eq!(status, StatusCode::OK);
    assert!(cart.contains("Added Colombia Huila to your cart."));
    assert!(cart.contains("€22.00"), "2 × €11.00");
    assert!(cart.contains("€4.90"), "shipping under €50");

    let token = csrf_in(&cart);
    let r = shop
        .post_form(
            &b,
            "/cart/update",
            &[
                ("csrf_token", &token),
                ("product", "colombia-huila"),
                ("quantity", "3"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    let cart: serde_json::Value = b
        .get(shop.url("/api/cart"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cart["items"][0]["product"], "colombia-huila");
    assert_eq!(cart["items"][0]["quantity"], 3);
    assert_eq!(cart["subtotal_cents"], 3300);
    assert_eq!(cart["currency"], "EUR");
    let api_token = cart["csrf_token"].as_str().unwrap().to_owned();
    assert_eq!(api_token, token, "one token per session");

    let r = b
        .post(shop.url("/api/cart"))
        .header("x-csrf-token", &api_token)
        .json(&serde_json::json!({"product": "house-espresso", "quantity": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let cart: serde_json::Value = r.json().await.unwrap();
    assert_eq!(cart["item_count"], 5);
    assert_eq!(cart["subtotal_cents"], 3300 + 2 * 1890);
    assert_eq!(cart["shipping_cents"], 0, "free shipping over €50");

    let r = b
        .post(shop.url("/api/cart"))
        .header("x-csrf-token", &api_token)
        .json(&serde_json::json!({"product": "house-espresso", "quantity": 0, "mode": "set"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["item_count"],
        3
    );

    // Refusals of the JSON API are JSON.
    let r = b
        .post(shop.url("/api/cart"))
        .json(&serde_json::json!({"product": "house-espresso"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.json::<serde_json::Value>().await.unwrap()["error"].is_string());
    let r = b
        .post(shop.url("/api/cart"))
        .header("x-csrf-token", &api_token)
        .body("product=house-espresso")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let r = b
        .post(shop.url("/api/cart"))
        .header("x-csrf-token", &api_token)
        .header(header::CONTENT_TYPE, "application/json")
        .body("{\"product\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("invalid JSON"));
    let r = b
        .post(shop.url("/api/cart"))
        .header("x-csrf-token", &api_token)
        .json(&serde_json::json!({"product": "unicorn-latte"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = b
        .post(shop.url("/api/cart"))
        .header("x-csrf-token", &api_token)
        .json(&serde_json::json!({"product": "house-espresso", "quantity": 1000}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let r = shop
        .post_form(
            &b,
            "/cart/remove",
            &[("csrf_token", &token), ("product", "colombia-huila")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, cart) = shop.get(&b, "/cart").await;
    assert!(cart.contains("Your cart is empty"));
    // An empty cart cannot check out.
    let r = b.get(shop.url("/checkout")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/cart");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_without_a_valid_csrf_token_are_refused() {
    let shop = start_shop(PaymentProvider::Simulated).await;
    let b = shop.browser();
    let token = shop.csrf(&b, "/product/colombia-huila").await;

    // No token, wrong token, another session's token, no session at all.
    let other = shop.browser();
    let other_token = shop.csrf(&other, "/product/colombia-huila").await;
    for form_token in [None, Some("0".repeat(64)), Some(other_token.clone())] {
        let mut form = vec![("product", "colombia-huila"), ("quantity", "1")];
        if let Some(t) = &form_token {
            form.push(("csrf_token", t));
        }
        let r = shop.post_form(&b, "/cart/add", &form).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(r.text().await.unwrap().contains("This form has expired"));
    }
    let stranger = shop.browser();
    let r = shop
        .post_form(
            &stranger,
            "/cart/add",
            &[("csrf_token", &token), ("product", "colombia-huila")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let r = shop
        .post_form(
            &b,
            "/account/login",
            &[
                ("email", DEMO_CUSTOMER_EMAIL),
                ("password", DEMO_CUSTOMER_PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "login needs the form's token too"
    );
    let r = shop
        .post_form(
            &b,
            "/product/colombia-huila/review",
            &[("name", "x"), ("rating", "5"), ("text", "x")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (_, cart) = shop.get(&b, "/cart").await;
    assert!(
        cart.contains("Your cart is empty"),
        "refused forms changed nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_login_failure_marker_and_success() {
    let shop = start_shop(PaymentProvider::Simulated).await;
    let b = shop.browser();

    let r = b.get(shop.url("/account")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/account/login?next=/account");

    let token = shop.csrf(&b, "/account/login").await;
    for (email, password) in [
        (DEMO_CUSTOMER_EMAIL, "wrong-password"),
        ("nobody@example.com", DEMO_CUSTOMER_PASSWORD),
        ("", ""),
    ] {
        let r = shop
            .post_form(
                &b,
                "/account/login",
                &[
                    ("csrf_token", &token),
                    ("email", email),
                    ("password", password),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK, "failure answers 200");
        assert!(r
            .text()
            .await
            .unwrap()
            .contains("Invalid email or password"));
    }

    add_to_cart(&shop, &b, "stoneware-mug", "1").await;
    let r = shop
        .post_form(
            &b,
            "/account/login",
            &[
                ("csrf_token", &token),
                ("email", "Alice@Example.com"),
                ("password", DEMO_CUSTOMER_PASSWORD),
                ("next", "/account"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/account");
    let cookies = set_cookies(&r);
    let session_cookie = cookies
        .iter()
        .find(|c| c.starts_with("shop_session="))
        .expect("session cookie");
    assert!(session_cookie.contains("HttpOnly"));
    assert!(session_cookie.contains("SameSite=Lax"));
    assert!(session_cookie.contains("Path=/"));

    let (status, account) = shop.get(&b, "/account").await;
    assert_eq!(status, StatusCode::OK);
    assert!(account.contains("Alice Martin"));
    assert!(
        account.contains("href=\"/order/1\""),
        "seeded orders listed"
    );
    let (_, cart) = shop.get(&b, "/cart").await;
    assert!(cart.contains("Stoneware Mug"), "cart survives sign-in");
    let (status, order) = shop.get(&b, "/order/1").await;
    assert_eq!(status, StatusCode::OK);
    assert!(order.contains("4242"));

    // The old (pre-login) token died with the old session.
    let r = shop
        .post_form(&b, "/account/logout", &[("csrf_token", &token)])
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // An open redirect is not followed.
    let token2 = csrf_in(&account);
    let r = shop
        .post_form(&b, "/account/logout", &[("csrf_token", &token2)])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/");
    let r = b.get(shop.url("/account")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    let token = shop.csrf(&b, "/account/login").await;
    let r = shop
        .post_form(
            &b,
            "/account/login",
            &[
                ("csrf_token", &token),
                ("email", DEMO_CUSTOMER_EMAIL),
                ("password", DEMO_CUSTOMER_PASSWORD),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(location(&r), "/account");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_approved_and_declined_with_the_simulated_provider() {
    let shop = start_shop(PaymentProvider::Simulated).await;
    let b = shop.browser();
    add_to_cart(&shop, &b, "ethiopia-yirgacheffe", "2").await;

    let (status, page) = shop.get(&b, "/checkout").await;
    assert_eq!(status, StatusCode::OK);
    for field in ["card_number", "card_exp", "card_cvc", "card_name"] {
        assert!(
            page.contains(&format!("name=\"{field}\"")),
            "{field} missing"
        );
    }
    assert!(page.contains("src=\"/static/checkout.js\""));
    assert!(page.contains("€29.90"), "2 × €12.50 + €4.90 shipping");
    let js = b.get(shop.url("/static/checkout.js")).send().await.unwrap();
    assert_eq!(js.status(), StatusCode::OK);
    assert!(js.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));

    // Declines: 402 with the card-testing marker; the cart stays.
    for (number, why) in [
        ("4000000000000002", "contact your bank"),
        ("4000 0000 0000 9995", "insufficient funds"),
        ("4242424242424241", "card number is incorrect"),
    ] {
        let r = checkout(&shop, &b, number, "12/39", "123").await;
        assert_eq!(r.status(), StatusCode::PAYMENT_REQUIRED, "{number}");
        let body = r.text().await.unwrap();
        assert!(body.contains("Your card was declined"), "{number}");
        assert!(body.contains(why), "{number}: {why}");
        assert!(!body.contains(number), "card number echoed back");
    }
    let r = checkout(&shop, &b, "4242424242424242", "01/20", "123").await;
    assert_eq!(r.status(), StatusCode::PAYMENT_REQUIRED, "expired card");

    // Bad form input is a 422 with the reason, not a decline.
    let r = checkout(&shop, &b, "", "12/39", "123").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("Card number is required."));

    let r = checkout(&shop, &b, "4242 4242 4242 4242", "12/39", "123").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let order_path = location(&r);
    assert!(order_path.starts_with("/order/"), "{order_path}");
    let (status, order) = shop.get(&b, &order_path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(order.contains("Thank you for your order!"));
    assert!(order.contains("card ending in <strong>4242</strong>"));
    assert!(order.contains("ch_sim_"));
    assert!(order.contains("Gwen Guest"));
    let (_, cart) = shop.get(&b, "/cart").await;
    assert!(cart.contains("Your cart is empty"));

    // Nobody else can see the order.
    let stranger = shop.browser();
    assert_eq!(
        shop.get(&stranger, &order_path).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        shop.get(&stranger, "/order/1").await.0,
        StatusCode::NOT_FOUND
    );

    // Stock was taken for the paid order only (40 seeded - 2).
    let staff = admin_browser(&shop).await;
    let (_, products) = shop.get(&staff, "/admin/products").await;
    assert!(
        products.contains(
            "id=\"stock-1\" type=\"number\" name=\"stock\" min=\"0\" max=\"1000000\" value=\"38\""
        ),
        "{products}"
    );
    let (_, dashboard) = shop.get(&staff, "/admin").await;
    assert!(dashboard.contains("Payment declined"));
}

/// What the fake remote provider saw.
#[derive(Clone, Debug)]
struct RecordedCharge {
    uri: String,
    body: serde_json::Value,
}

/// A tiny payment provider (or forward proxy in front of one): records
/// each request and declines Stripe's `4000 0000 00…` test numbers,
/// approves the rest.
async fn start_recording_provider() -> (SocketAddr, Arc<Mutex<Vec<RecordedCharge>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let record = record.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let record = record.clone();
                    async move {
                        let uri = req.uri().to_string();
                        let bytes = req.into_body().collect().await.unwrap().to_bytes();
                        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                        let number: String = body["card"]["number"]
                            .as_str()
                            .unwrap_or("")
                            .chars()
                            .filter(char::is_ascii_alphanumeric)
                            .collect();
                        let declined = number.starts_with("4000000000");
                        record.lock().unwrap().push(RecordedCharge { uri, body });
                        let (status, answer) = if declined {
                            (
                                402,
                                r#"{"status":"declined","id":"ch_remote_declined","code":"insufficient_funds"}"#,
                            )
                        } else {
                            (200, r#"{"status":"approved","id":"ch_remote_123"}"#)
                        };
                        let response = hyper::Response::builder()
                            .status(status)
                            .header("content-type", "application/json")
                            .body(Full::new(Bytes::from(answer)))
                            .unwrap();
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_through_a_remote_provider_forwards_the_card_field_as_received() {
    let (provider, seen) = start_recording_provider().await;
    let shop = start_shop(PaymentProvider::Remote {
        url: format!("http://{provider}/v1/charges"),
        proxy: None,
        ca_file: None,
    })
    .await;
    let b = shop.browser();
    add_to_cart(&shop, &b, "burr-hand-grinder", "1").await;

    // A token from Rampart's inline tokenization goes to the provider as is.
    let r = checkout(&shop, &b, "tok_9f8e7d6c5b4a", "tok_exp_1", "tok_cvc_1").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, order) = shop.get(&b, &location(&r)).await;
    assert!(order.contains("ch_remote_123"));
    assert!(order.contains("card ending in <strong>5b4a</strong>"));
    let charge = seen.lock().unwrap()[0].clone();
    assert_eq!(charge.uri, "/v1/charges");
    assert_eq!(charge.body["amount"], 5900, "€59.00, free shipping");
    assert_eq!(charge.body["currency"], "EUR");
    assert_eq!(charge.body["card"]["number"], "tok_9f8e7d6c5b4a");
    assert_eq!(charge.body["card"]["exp"], "tok_exp_1");
    assert_eq!(charge.body["card"]["cvc"], "tok_cvc_1");
    assert_eq!(charge.body["card"]["name"], "Gwen Guest");

    add_to_cart(&shop, &b, "stoneware-mug", "1").await;
    let r = checkout(&shop, &b, "4000000000000002", "12/39", "123").await;
    assert_eq!(r.status(), StatusCode::PAYMENT_REQUIRED);
    let body = r.text().await.unwrap();
    assert!(body.contains("Your card was declined"));
    assert!(body.contains("insufficient funds"));
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulated_provider_answers_over_tls_to_a_shop_that_trusts_it() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = demo_shop::simulated_provider_certificate("localhost").unwrap();
    let ca = dir.path().join("provider.pem");
    std::fs::write(&ca, &cert).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        demo_shop::serve_simulated_provider_tls(listener, &cert, &key)
            .await
            .unwrap()
    });
    let shop = start_shop(PaymentProvider::Remote {
        url: format!("https://localhost:{port}/v1/charges"),
        proxy: None,
        ca_file: Some(ca),
    })
    .await;
    let b = shop.browser();
    add_to_cart(&shop, &b, "stoneware-mug", "1").await;
    let r = checkout(&shop, &b, "4242424242424242", "12/39", "123").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    add_to_cart(&shop, &b, "stoneware-mug", "1").await;
    let r = checkout(&shop, &b, "4000000000000002", "12/39", "123").await;
    assert_eq!(r.status(), StatusCode::PAYMENT_REQUIRED);

    // Without the certificate the shop does not trust the provider.
    let untrusting = start_shop(PaymentProvider::Remote {
        url: format!("https://localhost:{port}/v1/charges"),
        proxy: None,
        ca_file: None,
    })
    .await;
    let b = untrusting.browser();
    add_to_cart(&untrusting, &b, "stoneware-mug", "1").await;
    let r = checkout(&untrusting, &b, "4242424242424242", "12/39", "123").await;
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("could not reach our payment provider"),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_charges_can_go_through_a_forward_proxy() {
    // The "proxy" records the absolute-form request the shop sends it.
    let (proxy, seen) = start_recording_provider().await;
    let shop = start_shop(PaymentProvider::Remote {
        url: "http://payments.example/v1/charges".into(),
        proxy: Some(format!("http://{proxy}")),
        ca_file: None,
    })
    .await;
    let b = shop.browser();
    add_to_cart(&shop, &b, "vanilla-rooibos", "1").await;
    let r = checkout(&shop, &b, "4242424242424242", "12/39", "123").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let charge = seen.lock().unwrap()[0].clone();
    assert_eq!(charge.uri, "http://payments.example/v1/charges");
    assert_eq!(charge.body["amount"], 850 + 490);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_provider_is_a_clear_502_and_releases_stock() {
    // Bind and drop a listener to get a port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let shop = start_shop(PaymentProvider::Remote {
        url: format!("http://127.0.0.1:{port}/charge"),
        proxy: None,
        ca_file: None,
    })
    .await;
    let b = shop.browser();
    add_to_cart(&shop, &b, "burr-hand-grinder", "8").await;
    let r = checkout(&shop, &b, "4242424242424242", "12/39", "123").await;
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("could not reach our payment provider"));
    // All 8 grinders are back in stock, so the same order can be placed again.
    let r = checkout(&shop, &b, "4242424242424242", "12/39", "123").await;
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY, "not 409 out of stock");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standalone_simulated_provider_serves_the_remote_protocol() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let provider = listener.local_addr().unwrap();
    let provider_task = tokio::spawn(serve_simulated_provider(listener));
    let shop = start_shop(PaymentProvider::Remote {
        url: format!("http://{provider}/charges"),
        proxy: None,
        ca_file: None,
    })
    .await;
    let b = shop.browser();
    add_to_cart(&shop, &b, "mexico-decaf", "1").await;
    let r = checkout(&shop, &b, "4000000000009995", "12/39", "123").await;
    assert_eq!(r.status(), StatusCode::PAYMENT_REQUIRED);
    assert!(r.text().await.unwrap().contains("insufficient funds"));
    let r = checkout(&shop, &b, "5555 5555 5555 4444", "12/39", "123").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, order) = shop.get(&b, &location(&r)).await;
    assert!(order.contains("ch_sim_"));

    let r = Client::new()
        .post(format!("http://{provider}/charges"))
        .header(header::CONTENT_TYPE, "application/json")
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    provider_task.abort();
}

/// A browser signed in to the shop's admin area.
async fn admin_browser(shop: &RunningShop) -> Client {
    let b = shop.browser();
    let token = shop.csrf(&b, "/admin/login").await;
    let r = shop
        .post_form(
            &b,
            "/admin/login",
            &[
                ("csrf_token", &token),
                ("username", DEMO_STAFF_USERNAME),
                ("password", DEMO_STAFF_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_login_and_product_edit() {
    let shop = start_shop(PaymentProvider::Simulated).await;
    let b = shop.browser();

    let r = b.get(shop.url("/admin/products")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/admin/login?next=/admin/products");
    let r = b
        .get(shop.url("/admin/customers/export.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "export needs staff");

    // A signed-in customer is not staff.
    let token = shop.csrf(&b, "/account/login").await;
    let r = shop
        .post_form(
            &b,
            "/account/login",
            &[
                ("csrf_token", &token),
                ("email", DEMO_CUSTOMER_EMAIL),
                ("password", DEMO_CUSTOMER_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        b.get(shop.url("/admin")).send().await.unwrap().status(),
        StatusCode::SEE_OTHER
    );

    let token = shop.csrf(&b, "/admin/login").await;
    let r = shop
        .post_form(
            &b,
            "/admin/login",
            &[
                ("csrf_token", &token),
                ("username", DEMO_STAFF_USERNAME),
                ("password", DEMO_CUSTOMER_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Invalid username or password"));

    let r = shop
        .post_form(
            &b,
            "/admin/login",
            &[
                ("csrf_token", &token),
                ("username", DEMO_STAFF_USERNAME),
                ("password", DEMO_STAFF_PASSWORD),
                ("next", "/admin/products"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/admin/products");
    let cookies = set_cookies(&r);
    let admin_cookie = cookies
        .iter()
        .find(|c| c.starts_with("shop_admin_session="))
        .expect("admin cookie");
    assert!(
        admin_cookie.contains("Path=/admin")
            && admin_cookie.contains("HttpOnly")
            && admin_cookie.contains("SameSite=Lax")
    );

    let (status, dashboard) = shop.get(&b, "/admin").await;
    assert_eq!(status, StatusCode::OK);
    assert!(dashboard.contains("Dashboard") && dashboard.contains("Revenue"));
    let (status, orders) = shop.get(&b, "/admin/orders").await;
    assert_eq!(status, StatusCode::OK);
    assert!(orders.contains("ch_sim_seed"));
    let (status, settings) = shop.get(&b, "/admin/settings/payments").await;
    assert_eq!(status, StatusCode::OK);
    assert!(settings.contains("Simulated processor"));

    let (status, customers) = shop.get(&b, "/admin/customers").await;
    assert_eq!(status, StatusCode::OK);
    assert!(customers.contains(DEMO_CUSTOMER_EMAIL));
    let csv = b
        .get(shop.url("/admin/customers/export.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(csv.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(csv.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .contains("customers.csv"));
    let csv = csv.text().await.unwrap();
    assert!(csv.starts_with("id,email,name,customer_since,paid_orders,total_spent_eur\n"));
    assert!(csv.contains("alice@example.com,Alice Martin,"));

    let token = shop.csrf(&b, "/admin/products").await;
    let r = shop
        .post_form(
            &b,
            "/admin/products/1",
            &[("csrf_token", &token), ("price", "13,75"), ("stock", "7")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/admin/products?saved=1");
    let (_, saved) = shop.get(&b, "/admin/products?saved=1").await;
    assert!(saved.contains("Saved Ethiopia Yirgacheffe: €13.75, 7 in stock."));
    let (_, product) = shop.get(&b, "/product/ethiopia-yirgacheffe").await;
    assert!(product.contains("€13.75"));
    assert!(product.contains("Only 7 left"));

    let r = shop
        .post_form(
            &b,
            "/admin/products/1",
            &[("csrf_token", &token), ("price", "12.345"), ("stock", "7")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("The price must look like 12.50"));
    let r = shop
        .post_form(
            &b,
            "/admin/products/1",
            &[("csrf_token", &token), ("price", "12.00"), ("stock", "-1")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = shop
        .post_form(
            &b,
            "/admin/products/999",
            &[("csrf_token", &token), ("price", "1"), ("stock", "1")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = shop
        .post_form(
            &b,
            "/admin/products/1",
            &[("price", "0.01"), ("stock", "1")],
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "admin forms need the token"
    );
    let (_, product) = shop.get(&b, "/product/ethiopia-yirgacheffe").await;
    assert!(product.contains("€13.75"), "refused edits changed nothing");

    let r = shop
        .post_form(&b, "/admin/logout", &[("csrf_token", &token)])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        b.get(shop.url("/admin")).send().await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_4xx() {
    let shop = start_shop(PaymentProvider::Simulated).await;
    let b = shop.browser();
    let token = shop.csrf(&b, "/product/colombia-huila").await;

    // A body over 1 MiB.
    let huge = format!(
        "csrf_token={token}&product=colombia-huila&text={}",
        "a".repeat(2 * 1024 * 1024)
    );
    let r = b
        .post(shop.url("/cart/add"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.text().await.unwrap().contains("Request too large"));

    let r = shop
        .post_form(
            &b,
            "/cart/add",
            &[
                ("csrf_token", &token),
                ("product", "colombia-huila"),
                ("quantity", "many"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("The quantity must be a whole number from 1 to 99."));
    let r = shop
        .post_form(&b, "/cart/add", &[("csrf_token", &token)])
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = shop
        .post_form(
            &b,
            "/cart/add",
            &[("csrf_token", &token), ("product", "no-such-thing")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = b
        .post(shop.url("/cart/add"))
        .header(header::CONTENT_TYPE, "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let r = b
        .post(shop.url("/cart/add"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(vec![0xff, 0xfe, b'=', 0x80])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "garbage bytes are just a form without a token"
    );

    assert_eq!(shop.get(&b, "/order/abc").await.0, StatusCode::NOT_FOUND);
    assert_eq!(shop.get(&b, "/order/999999").await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        shop.get(&b, "/product/%3Cscript%3E").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        shop.get(&b, "/static/..%2Fsrc%2Flib.rs").await.0,
        StatusCode::NOT_FOUND
    );
    let r = b
        .get(shop.url("/"))
        .header(header::COOKIE, "shop_session=../../etc; x")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "a malformed session cookie is ignored"
    );

    // The shop still serves after all that.
    assert_eq!(shop.get(&b, "/healthz").await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = serve(listener, ShopConfig::new(&file)).await.unwrap_err();
    assert!(
        err.to_string().contains("cannot create data directory"),
        "{err}"
    );
    assert!(!err.to_string().contains('\n'));

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = ShopConfig {
        data_dir: dir.path().join("shop"),
        payment_provider: PaymentProvider::Remote {
            url: "ftp://payments.example/".into(),
            proxy: None,
            ca_file: None,
        },
    };
    let err = serve(listener, config).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(
        err.to_string()
            .contains("must start with http:// or https://"),
        "{err}"
    );
}

/// Every file SQLite may have written for the shop's database.
fn database_bytes(db: &Path) -> Vec<u8> {
    let dir = db.parent().unwrap();
    let mut all = Vec::new();
    let mut files = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(demo_shop::DATABASE_FILE_NAME)
        {
            all.extend(std::fs::read(&path).unwrap());
            files += 1;
        }
    }
    assert!(files >= 1, "no database file in {}", dir.display());
    all
}

/// `bytes` with every run of 20 or more lowercase hex digits (session ids,
/// CSRF tokens, payment references: random, so they may contain any short
/// digit string by chance) replaced by a `|`.
fn without_random_hex(bytes: &[u8]) -> Vec<u8> {
    let is_hex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let run = bytes[i..].iter().take_while(|b| is_hex(b)).count();
        if run >= 20 {
            out.push(b'|');
            i += run;
        } else if run > 0 {
            out.extend_from_slice(&bytes[i..i + run]);
            i += run;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_never_holds_a_card_number_or_cvc() {
    let (provider, _seen) = start_recording_provider().await;
    let simulated = start_shop(PaymentProvider::Simulated).await;
    let remote = start_shop(PaymentProvider::Remote {
        url: format!("http://{provider}/charge"),
        proxy: None,
        ca_file: None,
    })
    .await;
    let cvc = "7319";
    for shop in [&simulated, &remote] {
        let b = shop.browser();
        add_to_cart(shop, &b, "gooseneck-kettle", "1").await;
        for number in ["4000 0000 0000 0002", "4000-0000-0000-9995"] {
            let r = checkout(shop, &b, number, "12/39", cvc).await;
            assert_eq!(r.status(), StatusCode::PAYMENT_REQUIRED);
        }
        let r = checkout(shop, &b, "4242 4242 4242 4242", "12/39", cvc).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        add_to_cart(shop, &b, "gooseneck-kettle", "1").await;
        let r = checkout(shop, &b, "4242-4242-4242-4242", "12/39", cvc).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        add_to_cart(shop, &b, "gooseneck-kettle", "1").await;
        let r = checkout(shop, &b, "4242424242424242", "12/39", cvc).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);

        let bytes = database_bytes(&shop.database_path());
        assert!(contains(&bytes, "Gwen Guest"), "the orders are in the file");
        for pan in ["4242424242424242", "4000000000000002", "4000000000009995"] {
            let digits: Vec<char> = pan.chars().collect();
            let groups: Vec<String> = digits.chunks(4).map(|c| c.iter().collect()).collect();
            for form in [pan.to_owned(), groups.join(" "), groups.join("-")] {
                assert!(!contains(&bytes, &form), "{form} found in the database");
            }
        }
        assert!(
            !contains(&without_random_hex(&bytes), cvc),
            "CVC found in the database"
        );
        assert!(!contains(&bytes, "12/39"), "expiry found in the database");
    }
}
