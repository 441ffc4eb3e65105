//! What a new shop starts with: the roastery's catalogue, a few reviews,
//! the demo customer (with two past orders), other customers, and the
//! staff account.
//!
//! Must not: hash passwords itself (the hashes come in
//! [`SeedAccounts`]) or run outside the first-start transaction.

use rusqlite::{params, Transaction};

use crate::config::{DEMO_CUSTOMER_EMAIL, DEMO_STAFF_USERNAME};
use crate::store::SeedAccounts;

const CATEGORIES: &[(&str, &str, &str)] = &[
    (
        "coffee",
        "Coffee",
        "Single origins and blends, roasted every Tuesday and Friday in small batches.",
    ),
    (
        "tea",
        "Tea",
        "Loose-leaf teas from growers we know by name, packed in resealable tins.",
    ),
    (
        "brewing-gear",
        "Brewing gear",
        "The tools we use behind our own bar: drippers, grinders, kettles and mugs.",
    ),
];

struct SeedProduct {
    slug: &'static str,
    category: &'static str,
    name: &'static str,
    summary: &'static str,
    description: &'static str,
    origin: &'static str,
    price_cents: i64,
    stock: i64,
    image: &'static str,
    featured: bool,
}

const PRODUCTS: &[SeedProduct] = &[
    SeedProduct {
        slug: "ethiopia-yirgacheffe",
        category: "coffee",
        name: "Ethiopia Yirgacheffe",
        summary: "Washed heirloom varieties: jasmine, bergamot and lemon curd. 250 g whole bean.",
        description: "Grown at 1,900–2,200 m by smallholders around the Konga cooperative and \
            washed at the station the same day they are picked. We roast it light to keep the \
            florals: brew it as pour-over or in a French press.",
        origin: "Gedeo zone, Ethiopia",
        price_cents: 1250,
        stock: 40,
        image: "coffee-bag.svg",
        featured: true,
    },
    SeedProduct {
        slug: "colombia-huila",
        category: "coffee",
        name: "Colombia Huila",
        summary: "Caramel, red apple and a milk-chocolate finish. 250 g whole bean.",
        description: "A blend of lots from three neighbouring farms near Pitalito, fermented \
            for 36 hours before washing. Medium roast, forgiving in every brewer.",
        origin: "Pitalito, Huila, Colombia",
        price_cents: 1100,
        stock: 55,
        image: "coffee-bag.svg",
        featured: false,
    },
    SeedProduct {
        slug: "guatemala-antigua",
        category: "coffee",
        name: "Guatemala Antigua",
        summary: "Cocoa, orange peel and brown sugar. 250 g whole bean.",
        description: "Bourbon and Caturra grown in volcanic soil between three volcanoes. \
            A medium-dark roast that shines as espresso and holds up to milk.",
        origin: "Antigua valley, Guatemala",
        price_cents: 1150,
        stock: 32,
        image: "coffee-bag.svg",
        featured: false,
    },
    SeedProduct {
        slug: "house-espresso",
        category: "coffee",
        name: "Ember House Espresso",
        summary: "Our everyday espresso blend: hazelnut, dark chocolate, syrupy body. 500 g.",
        description: "Sixty percent natural Brazil Cerrado, forty percent washed Ethiopia. \
            Rested five days after roasting before it ships, so it is ready for your grinder.",
        origin: "Brazil & Ethiopia",
        price_cents: 1890,
        stock: 80,
        image: "coffee-bag.svg",
        featured: true,
    },
    SeedProduct {
        slug: "mexico-decaf",
        category: "coffee",
        name: "Mexico Decaf (Swiss Water)",
        summary: "Chemical-free decaf with notes of toffee and almond. 250 g whole bean.",
        description: "Decaffeinated with water only, in British Columbia, from a washed lot \
            from Chiapas. All of the flavour, none of the 3 a.m. thoughts.",
        origin: "Chiapas, Mexico",
        price_cents: 1200,
        stock: 25,
        image: "coffee-bag.svg",
        featured: false,
    },
    SeedProduct {
        slug: "darjeeling-first-flush",
        category: "tea",
        name: "Darjeeling First Flush",
        summary: "Bright, muscatel and floral spring harvest. 100 g loose leaf.",
        description: "Picked in the first weeks of March at the Jungpana estate. Brew at 85 °C \
            for three minutes; the leaves give a second, softer cup.",
        origin: "Darjeeling, India",
        price_cents: 1400,
        stock: 20,
        image: "tea-tin.svg",
        featured: true,
    },
    SeedProduct {
        slug: "kagoshima-sencha",
        category: "tea",
        name: "Kagoshima Sencha",
        summary: "Deep-steamed green tea: sweet grass, seaweed, umami. 100 g.",
        description: "From a family garden in Chiran, shaded for ten days before picking. \
            Brew at 70 °C for one minute.",
        origin: "Chiran, Kagoshima, Japan",
        price_cents: 1300,
        stock: 30,
        image: "tea-tin.svg",
        featured: false,
    },
    SeedProduct {
        slug: "earl-grey-bergamot",
        category: "tea",
        name: "Earl Grey with Calabrian Bergamot",
        summary: "Ceylon black tea with cold-pressed bergamot oil. 100 g.",
        description: "No flavourings: real bergamot oil from Reggio Calabria on a bright \
            high-grown Ceylon. Lovely with a slice of lemon.",
        origin: "Sri Lanka & Calabria",
        price_cents: 950,
        stock: 45,
        image: "tea-tin.svg",
        featured: false,
    },
    SeedProduct {
        slug: "vanilla-rooibos",
        category: "tea",
        name: "Vanilla Rooibos",
        summary: "Caffeine-free red bush with Madagascar vanilla. 100 g.",
        description: "Organic rooibos from the Cederberg mountains with real vanilla pieces. \
            Steep five minutes in boiling water; add milk if you like.",
        origin: "Cederberg, South Africa",
        price_cents: 850,
        stock: 50,
        image: "tea-tin.svg",
        featured: false,
    },
    SeedProduct {
        slug: "ceramic-dripper",
        category: "brewing-gear",
        name: "Ceramic Pour-Over Dripper",
        summary: "Hand-thrown stoneware cone for one or two cups. Takes size 02 filters.",
        description: "Made for us by a potter two streets away. Spiral ribs keep the filter \
            off the wall for an even, clean extraction.",
        origin: "Made locally",
        price_cents: 2400,
        stock: 15,
        image: "dripper.svg",
        featured: true,
    },
    SeedProduct {
        slug: "burr-hand-grinder",
        category: "brewing-gear",
        name: "Burr Hand Grinder",
        summary: "Stainless conical burrs, 30 click settings from espresso to cold brew.",
        description: "Grinds 20 g for a pour-over in under a minute. Dismantles without tools \
            for cleaning.",
        origin: "Designed in Taiwan",
        price_cents: 5900,
        stock: 8,
        image: "grinder.svg",
        featured: false,
    },
    SeedProduct {
        slug: "gooseneck-kettle",
        category: "brewing-gear",
        name: "Gooseneck Kettle 0.8 L",
        summary: "Stovetop kettle with a thermometer and a precise pouring spout.",
        description: "Brushed stainless steel, works on gas, electric and induction.",
        origin: "Designed in Denmark",
        price_cents: 3900,
        stock: 12,
        image: "kettle.svg",
        featured: false,
    },
    SeedProduct {
        slug: "stoneware-mug",
        category: "brewing-gear",
        name: "Stoneware Mug",
        summary: "300 ml, speckled glaze, comfortable in both hands.",
        description: "From the same potter as our dripper. Dishwasher safe.",
        origin: "Made locally",
        price_cents: 1600,
        stock: 60,
        image: "mug.svg",
        featured: false,
    },
];

const REVIEWS: &[(&str, &str, i64, &str)] = &[
    (
        "ethiopia-yirgacheffe",
        "Marta K.",
        5,
        "Smells like a flower shop when you open the bag. My favourite pour-over coffee this year.",
    ),
    (
        "ethiopia-yirgacheffe",
        "Jon",
        4,
        "Very bright. Great as a filter coffee; too light for my espresso machine.",
    ),
    (
        "house-espresso",
        "Priya",
        5,
        "Consistent, chocolatey and easy to dial in. We go through a bag a week.",
    ),
    (
        "darjeeling-first-flush",
        "Hugh O'Neill",
        5,
        "Delicate and fresh, exactly what a first flush should be.",
    ),
    (
        "ceramic-dripper",
        "Sam",
        4,
        "Beautiful object and brews well. Pre-heat it, stoneware holds the cold.",
    ),
];

/// Other customers, so the admin's customer list is not empty.
const OTHER_CUSTOMERS: &[(&str, &str)] = &[
    ("bob.hughes@example.net", "Bob Hughes"),
    ("chen.wei@example.org", "Chen Wei"),
];

/// A paid order of the demo customer, `days_ago`.
struct PastOrder {
    lines: &'static [(&'static str, i64)],
    days_ago: i64,
    reference: &'static str,
}

/// Two past orders of the demo customer (paid with Stripe's test Visa).
const PAST_ORDERS: &[PastOrder] = &[
    PastOrder {
        lines: &[("house-espresso", 2), ("stoneware-mug", 1)],
        days_ago: 30,
        reference: "ch_sim_seed00000000000000a1",
    },
    PastOrder {
        lines: &[("darjeeling-first-flush", 1)],
        days_ago: 9,
        reference: "ch_sim_seed00000000000000b2",
    },
];

/// Insert the seed data (the schema exists, the database is empty).
pub(crate) fn seed(
    tx: &Transaction<'_>,
    accounts: &SeedAccounts,
    now: i64,
) -> rusqlite::Result<()> {
    for (position, (slug, name, blurb)) in CATEGORIES.iter().enumerate() {
        tx.execute(
            "INSERT INTO categories (slug, name, blurb, position) VALUES (?1, ?2, ?3, ?4)",
            params![slug, name, blurb, position as i64],
        )?;
    }
    for p in PRODUCTS {
        tx.execute(
            "INSERT INTO products (slug, category_id, name, summary, description, origin, \
                 price_cents, stock, image, featured) \
             VALUES (?1, (SELECT id FROM categories WHERE slug = ?2), ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                p.slug,
                p.category,
                p.name,
                p.summary,
                p.description,
                p.origin,
                p.price_cents,
                p.stock,
                p.image,
                p.featured
            ],
        )?;
    }
    for (i, (product, author, rating, body)) in REVIEWS.iter().enumerate() {
        tx.execute(
            "INSERT INTO reviews (product_id, author, rating, body, created_at) \
             VALUES ((SELECT id FROM products WHERE slug = ?1), ?2, ?3, ?4, ?5)",
            params![
                product,
                author,
                rating,
                body,
                now - 86_400 * (40 - i as i64 * 6)
            ],
        )?;
    }
    tx.execute(
        "INSERT INTO customers (email, name, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![
            DEMO_CUSTOMER_EMAIL,
            "Alice Martin",
            accounts.customer_password_hash,
            now - 86_400 * 90
        ],
    )?;
    let alice = tx.last_insert_rowid();
    for (i, (email, name)) in OTHER_CUSTOMERS.iter().enumerate() {
        tx.execute(
            "INSERT INTO customers (email, name, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![email, name, accounts.locked_password_hash, now - 86_400 * (60 - 20 * i as i64)],
        )?;
    }
    tx.execute(
        "INSERT INTO staff (username, name, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![
            DEMO_STAFF_USERNAME,
            "Rosa Lindqvist (owner)",
            accounts.staff_password_hash,
            now - 86_400 * 365
        ],
    )?;
    for PastOrder {
        lines,
        days_ago,
        reference,
    } in PAST_ORDERS
    {
        let mut subtotal = 0;
        for (slug, qty) in lines.iter() {
            let price: i64 = tx.query_row(
                "SELECT price_cents FROM products WHERE slug = ?1",
                [slug],
                |r| r.get(0),
            )?;
            subtotal += price * qty;
        }
        let shipping = crate::checkout::shipping_cents(subtotal);
        tx.execute(
            "INSERT INTO orders (customer_id, session_id, email, ship_name, ship_address, ship_city, \
                 ship_postcode, ship_country, subtotal_cents, shipping_cents, total_cents, currency, \
                 card_last4, payment_reference, status, created_at) \
             VALUES (?1, NULL, ?2, 'Alice Martin', '12 Rue des Lilas', 'Lyon', '69003', 'France', \
                 ?3, ?4, ?5, 'EUR', '4242', ?6, 'paid', ?7)",
            params![
                alice,
                DEMO_CUSTOMER_EMAIL,
                subtotal,
                shipping,
                subtotal + shipping,
                reference,
                now - 86_400 * days_ago
            ],
        )?;
        let order = tx.last_insert_rowid();
        for (slug, qty) in lines.iter() {
            tx.execute(
                "INSERT INTO order_lines (order_id, product_id, product_name, unit_price_cents, quantity) \
                 SELECT ?1, id, name, price_cents, ?3 FROM products WHERE slug = ?2",
                params![order, slug, qty],
            )?;
        }
    }
    Ok(())
}
