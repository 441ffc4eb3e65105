//! Files served under `/static/` (stylesheet, scripts, SVG images), built
//! into the binary, and `/robots.txt`.
//!
//! Must not: read anything from disk at run time, or serve a name that is
//! not in [`ASSETS`].

use hyper::StatusCode;

use crate::visit::{content, ShopResponse};

/// `(file name, content type, bytes)` of every static file.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "shop.css",
        "text/css; charset=utf-8",
        include_bytes!("../static/shop.css"),
    ),
    (
        "shop.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../static/shop.js"),
    ),
    (
        "checkout.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../static/checkout.js"),
    ),
    (
        "logo.svg",
        "image/svg+xml",
        include_bytes!("../static/logo.svg"),
    ),
    (
        "hero.svg",
        "image/svg+xml",
        include_bytes!("../static/hero.svg"),
    ),
    (
        "coffee-bag.svg",
        "image/svg+xml",
        include_bytes!("../static/coffee-bag.svg"),
    ),
    (
        "tea-tin.svg",
        "image/svg+xml",
        include_bytes!("../static/tea-tin.svg"),
    ),
    (
        "dripper.svg",
        "image/svg+xml",
        include_bytes!("../static/dripper.svg"),
    ),
    (
        "grinder.svg",
        "image/svg+xml",
        include_bytes!("../static/grinder.svg"),
    ),
    (
        "kettle.svg",
        "image/svg+xml",
        include_bytes!("../static/kettle.svg"),
    ),
    (
        "mug.svg",
        "image/svg+xml",
        include_bytes!("../static/mug.svg"),
    ),
];

const ROBOTS_TXT: &str = "User-agent: *\n\
Disallow: /admin\n\
Disallow: /account\n\
Disallow: /cart\n\
Disallow: /checkout\n\
Disallow: /api/\n\
Allow: /\n";

fn find(name: &str) -> Option<&'static (&'static str, &'static str, &'static [u8])> {
    ASSETS.iter().find(|(file, _, _)| *file == name)
}

/// Whether `/static/<name>` exists.
pub(crate) fn exists(name: &str) -> bool {
    find(name).is_some()
}

/// The response for `/static/<name>` (404 page body if unknown).
pub(crate) fn serve(name: &str) -> ShopResponse {
    match find(name) {
        Some((_, content_type, bytes)) => content(StatusCode::OK, content_type, *bytes, Some(3600)),
        None => content(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "not found\n",
            None,
        ),
    }
}

/// `/robots.txt`: keep crawlers out of private areas.
pub(crate) fn robots_txt() -> ShopResponse {
    content(
        StatusCode::OK,
        "text/plain; charset=utf-8",
        ROBOTS_TXT,
        Some(3600),
    )
}
