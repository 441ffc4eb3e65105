//! The storefront's browsing pages: home, catalogue by category, search,
//! product pages with their reviews, and posting a review.
//!
//! Must not: change carts, accounts or orders. Everything a visitor typed
//! is shown through maud, which escapes it.

use hyper::StatusCode;
use maud::{html, Markup};

use crate::layout::{csrf_field, date, money, product_image, stars, storefront_page};
use crate::shop::Shop;
use crate::store::{Product, Review};
use crate::visit::{
    html as html_response, see_other, Form, Refusal, ShopResponse, Visit, CSRF_FIELD,
};

/// Longest search a visitor may type.
const MAX_SEARCH_CHARS: usize = 200;

fn product_card(p: &Product) -> Markup {
    html! {
        article.product-card {
            a.product-card-link href={ "/product/" (p.slug) } {
                (product_image(&p.image, &p.name))
                h3 { (p.name) }
            }
            p.summary { (p.summary) }
            p.price-row {
                span.price { (money(p.price_cents)) }
                @if p.stock == 0 { span.badge.badge-out { "Sold out" } }
                @else if p.stock < 10 { span.badge { "Only " (p.stock) " left" } }
            }
        }
    }
}

fn product_grid(products: &[Product]) -> Markup {
    html! {
        div.product-grid {
            @for p in products { (product_card(p)) }
        }
    }
}

/// `/`: the roastery's front page.
pub(crate) fn home(shop: &Shop, visit: &mut Visit) -> Result<ShopResponse, Refusal> {
    let featured = shop.store.featured_products()?;
    let categories = shop.store.categories()?;
    let chrome = shop.chrome(visit)?;
    let content = html! {
        section.hero {
            div.hero-text {
                h1 { "Freshly roasted coffee, honest tea." }
                p { "We roast small batches twice a week in Lyon and pack loose-leaf tea from growers we know by name. Order by Thursday, brew it by Saturday." }
                p { a.button href="/products?category=coffee" { "Shop coffee" } " " a.button.button-secondary href="/products?category=tea" { "Shop tea" } }
            }
            img.hero-image src="/static/hero.svg" alt="A cup of coffee next to a teapot" width="420" height="300";
        }
        section {
            h2 { "This week's favourites" }
            (product_grid(&featured))
        }
        section.category-tiles {
            h2 { "Browse the shop" }
            div.tile-grid {
                @for c in &categories {
                    a.tile href={ "/products?category=" (c.slug) } {
                        h3 { (c.name) }
                        p { (c.blurb) }
                    }
                }
            }
        }
    };
    Ok(html_response(
        StatusCode::OK,
        storefront_page("Coffee & tea roasters", &chrome, content),
    ))
}

/// `/products[?category=slug]`: the catalogue.
pub(crate) fn catalogue(shop: &Shop, visit: &mut Visit) -> Result<ShopResponse, Refusal> {
    let categories = shop.store.categories()?;
    let wanted = visit.query().text("category");
    let current = if wanted.is_empty() {
        None
    } else {
        Some(
            categories
                .iter()
                .find(|c| c.slug == wanted)
                .ok_or(Refusal::NotFound)?,
        )
    };
    let products = shop.store.products(current.map(|c| c.slug.as_str()))?;
    let chrome = shop.chrome(visit)?;
    let title = current.map_or("All products", |c| c.name.as_str());
    let content = html! {
        nav.breadcrumbs aria-label="Breadcrumb" { a href="/" { "Home" } " / " a href="/products" { "Shop" } }
        div.catalogue {
            aside.category-list {
                h2 { "Categories" }
                ul.plain {
                    li { a.active[current.is_none()] href="/products" { "All products" } }
                    @for c in &categories {
                        li { a.active[current.is_some_and(|cur| cur.slug == c.slug)] href={ "/products?category=" (c.slug) } { (c.name) } }
                    }
                }
            }
            section {
                h1 { (title) }
                @if let Some(c) = current { p.lead { (c.blurb) } }
                p.muted { (products.len()) " products" }
                (product_grid(&products))
            }
        }
    };
    Ok(html_response(
        StatusCode::OK,
        storefront_page(title, &chrome, content),
    ))
}

/// `/search?q=`: products matching the query.
pub(crate) fn search(shop: &Shop, visit: &mut Visit) -> Result<ShopResponse, Refusal> {
    let query = visit.query().text("q");
    if query.chars().count() > MAX_SEARCH_CHARS {
        return Err(Refusal::BadRequest(format!(
            "Search terms are limited to {MAX_SEARCH_CHARS} characters."
        )));
    }
    let results = if query.is_empty() {
        Vec::new()
    } else {
        shop.store.search_products(&query)?
    };
    let chrome = shop.chrome(visit)?;
    let content = html! {
        @if query.is_empty() {
            h1 { "Search the shop" }
            form.search-page action="/search" method="get" role="search" {
                label for="search-q" { "What are you looking for?" }
                input #search-q type="search" name="q" placeholder="e.g. Ethiopia, sencha, grinder";
                button type="submit" { "Search" }
            }
        } @else {
            h1 { "Results for “" (query) "”" }
            @if results.is_empty() {
                p { "Nothing matches “" (query) "”. Try a country, a tea, or "
                    a href="/products" { "browse everything" } "." }
            } @else {
                p.muted { (results.len()) " matching products" }
                (product_grid(&results))
            }
        }
    };
    Ok(html_response(
        StatusCode::OK,
        storefront_page("Search", &chrome, content),
    ))
}

/// What the review form held when it was refused, to show it again.
#[derive(Default)]
struct ReviewDraft {
    name: String,
    rating: String,
    text: String,
    error: Option<String>,
}

fn product_markup(
    product: &Product,
    reviews: &[Review],
    csrf: &str,
    draft: &ReviewDraft,
    thanked: bool,
) -> Markup {
    let average = if reviews.is_empty() {
        None
    } else {
        Some(reviews.iter().map(|r| r.rating).sum::<i64>() as f64 / reviews.len() as f64)
    };
    html! {
        nav.breadcrumbs aria-label="Breadcrumb" {
            a href="/" { "Home" } " / "
            a href={ "/products?category=" (product.category_slug) } { (product.category_name) } " / "
            span { (product.name) }
        }
        article.product-detail {
            (product_image(&product.image, &product.name))
            div.product-info {
                h1 { (product.name) }
                p.origin { (product.origin) }
                @if let Some(avg) = average {
                    p { (stars(avg.round() as i64)) " " a href="#reviews" { (reviews.len()) " reviews" } }
                }
                p.price.price-large { (money(product.price_cents)) }
                p.summary { (product.summary) }
                @if product.stock > 0 {
                    form.add-to-cart action="/cart/add" method="post" {
                        (csrf_field(csrf))
                        input type="hidden" name="product" value=(product.slug);
                        label for="quantity" { "Quantity" }
                        input #quantity type="number" name="quantity" value="1" min="1" max=(product.stock.min(99)) required;
                        button type="submit" { "Add to cart" }
                    }
                    p.muted { @if product.stock < 10 { "Only " (product.stock) " left. " } "Ships within two roasting days." }
                } @else {
                    p.badge.badge-out { "Sold out: back after the next roast." }
                }
                h2 { "About this product" }
                p { (product.description) }
            }
        }
        section #reviews .reviews {
            h2 { "Reviews" }
            @if thanked { p.notice.notice-ok role="status" { "Thank you! Your review is published below." } }
            @if reviews.is_empty() { p.muted { "No reviews yet. Be the first!" } }
            @for r in reviews {
                article.review {
                    header { (stars(r.rating)) " " strong.review-author { (r.author) } " " span.muted { (date(r.created_at)) } }
                    p { (r.body) }
                }
            }
            form.review-form action={ "/product/" (product.slug) "/review" } method="post" {
                h3 { "Write a review" }
                @if let Some(error) = &draft.error { p.notice.notice-error role="alert" { (error) } }
                (csrf_field(csrf))
                label for="review-name" { "Your name" }
                input #review-name type="text" name="name" maxlength="80" value=(draft.name) required;
                label for="review-rating" { "Rating" }
                select #review-rating name="rating" required {
                    @for n in (1..=5).rev() {
                        option value=(n) selected[draft.rating == n.to_string() || (draft.rating.is_empty() && n == 5)] { (n) " stars" }
                    }
                }
                label for="review-text" { "Your review" }
                textarea #review-text name="text" rows="4" maxlength="2000" required { (draft.text) }
                button type="submit" { "Publish review" }
            }
        }
    }
}

fn render_product(
    shop: &Shop,
    visit: &mut Visit,
    product: &Product,
    status: StatusCode,
    draft: &ReviewDraft,
) -> Result<ShopResponse, Refusal> {
    let session = shop.ensure_session(visit)?;
    let reviews = shop.store.reviews(product.id)?;
    let thanked = visit.query().get("reviewed").is_some();
    let chrome = shop.chrome(visit)?;
    let content = product_markup(product, &reviews, &session.csrf_token, draft, thanked);
    Ok(html_response(
        status,
        storefront_page(&product.name, &chrome, content),
    ))
}

/// `/product/<slug>`.
pub(crate) fn product(shop: &Shop, visit: &mut Visit, slug: &str) -> Result<ShopResponse, Refusal> {
    let product = shop.store.product_by_slug(slug)?.ok_or(Refusal::NotFound)?;
    render_product(
        shop,
        visit,
        &product,
        StatusCode::OK,
        &ReviewDraft::default(),
    )
}

fn review_from(form: &Form) -> Result<(String, i64, String), String> {
    let name = form.required("name", "Your name", 80)?;
    let rating = form.number("rating", "The rating", 1..=5)?;
    let text = form.required("text", "Your review", 2000)?;
    Ok((name, rating, text))
}

/// POST `/product/<slug>/review`.
pub(crate) async fn post_review(
    shop: &Shop,
    visit: &mut Visit,
    slug: &str,
) -> Result<ShopResponse, Refusal> {
    let product = shop.store.product_by_slug(slug)?.ok_or(Refusal::NotFound)?;
    let form = visit.form().await?;
    shop.check_csrf(visit, form.get(CSRF_FIELD))?;
    match review_from(&form) {
        Ok((name, rating, text)) => {
            shop.store.add_review(product.id, &name, rating, &text)?;
            Ok(see_other(&format!(
                "/product/{}?reviewed=1#reviews",
                product.slug
            )))
        }
        Err(error) => {
            let draft = ReviewDraft {
                name: form.text("name"),
                rating: form.text("rating"),
                text: form.text("text"),
                error: Some(error),
            };
            render_product(
                shop,
                visit,
                &product,
                StatusCode::UNPROCESSABLE_ENTITY,
                &draft,
            )
        }
    }
}
