//! The access gate: Rampart's own staff sign-in in front of a site's
//! protected areas (`[[site.protect]]`: `/admin`, `/wp-admin`, Magento's
//! admin path, ...), whatever the store platform.
//!
//! A request into a protected area without a live Rampart session gets
//! the sign-in portal (password, then the TOTP code, a recovery code or a
//! passkey);
//! with one, the session's role must allow the method and path (deny by
//! default), a step-up path must have seen the second factor within its
//! freshness window, and then the request goes to the store with the
//! staff identity in `X-Rampart-User` and `X-Rampart-Role` (any copy the
//! client sent is removed, on every path) and without Rampart's cookies.
//!
//! The gateway puts this stage first in every pipeline whenever a site
//! has `[[site.protect]]` ([`with_gate`]), so no wiring can forget it.
//!
//! The portal lives under `/.rampart/` on each protected site: `GET
//! login`, and the forms `POST login`, `mfa`, `step-up`, `logout`; with
//! passkeys (WebAuthn), `POST passkey-mfa` and `passkey-step-up` (the
//! assertion instead of a code), and `GET passkeys` where a signed-in
//! staff member with a fresh second factor lists, registers (`POST
//! passkeys/register`) and removes (`POST passkeys/remove`) their own.
//! The relying party is the request's host name (one of the site's
//! hosts, not an IP address) and the origin `https://host[:port]` the
//! browser used; the challenge stays in the database, bound to the
//! session. Every form carries a CSRF token: the login form a
//! double-submit cookie, the others the session's own token. Cookies are `__Host-` prefixed,
//! `Secure`, `HttpOnly`, `SameSite=Strict`; the session cookie holds an
//! opaque 256-bit token of which the database keeps only the hash.
//!
//! Owns: the portal's pages and forms, cookies, the per-request decision.
//! Must not: check passwords or codes, or keep sessions itself (the `auth`
//! crate does, in the shared database, so a revocation reaches every node
//! at once). Bad input (wrong codes, replays, forged or expired cookies,
//! missing CSRF tokens, oversized fields) gets a clear refusal page and a
//! `request` event with the reason; an unreachable database refuses
//! (503), never lets a request through.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use auth::roles::{normalize_path, within};
use auth::{Auth, LoginStep, PasskeyInfo, Permission, Policy, Refusal, RelyingParty, Settings};
use bytes::Bytes;
use http::{header, request, HeaderName, HeaderValue, Method, Response, StatusCode};
use ops::Action;

use crate::config::{Config, ProtectConfig};
use crate::pipeline::{
    BodyInspection, BufferedBody, Decision, OverLimit, Pipeline, RequestContext, Stage,
};

/// The staff user name sent to the store.
pub const USER_HEADER: HeaderName = HeaderName::from_static("x-rampart-user");
/// The staff role sent to the store.
pub const ROLE_HEADER: HeaderName = HeaderName::from_static("x-rampart-role");
/// The session cookie.
pub const SESSION_COOKIE: &str = "__Host-rampart_session";
/// The login form's CSRF cookie.
pub const CSRF_COOKIE: &str = "__Host-rampart_csrf";
/// Where the portal answers.
pub const PORTAL: &str = "/.rampart/";
/// Largest portal form accepted (a passkey's answer, under 2 KiB, fits).
const MAX_FORM_BYTES: usize = 8 * 1024;
/// Where staff manage their passkeys.
pub const PASSKEYS_PAGE: &str = "/.rampart/passkeys";
/// Managing passkeys needs a second factor within this many minutes (or
/// a site's shorter step-up window).
const PASSKEY_FRESH_MINUTES: i64 = 5;

struct Area {
    cfg: ProtectConfig,
    policy: Policy,
}

/// The gate of every site with `[[site.protect]]`.
pub struct AccessGate {
    sites: HashMap<String, Vec<Area>>,
    database: Option<String>,
    data_dir: PathBuf,
    settings: Settings,
    trusted_proxies: Vec<ipnet::IpNet>,
    auth: tokio::sync::OnceCell<Auth>,
}

/// Which portal form a POST is for (kept in the request context).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Form {
    Login,
    Mfa,
    StepUp,
    Logout,
    PasskeyMfa,
    PasskeyStepUp,
    /// `GET passkeys` (a page, not a form).
    Passkeys,
    PasskeyRegister,
    PasskeyRemove,
}

impl AccessGate {
    /// The gate for `config`; `None` when no site protects anything.
    pub fn from_config(config: &Config) -> Option<AccessGate> {
        let mut sites = HashMap::new();
        let mut settings = Settings::default();
        let mut first = true;
        for site in &config.sites {
            if site.protect.is_empty() {
                continue;
            }
            let mut areas = Vec::new();
            for p in &site.protect {
                let mut policy = Policy::builtin();
                for (role, rules) in &p.roles {
                    let perms = rules
                        .iter()
                        .map(|(path, methods)| {
                            let m: Vec<&str> = methods.iter().map(String::as_str).collect();
                            Permission::new(path, &m)
                        })
                        .collect();
                    policy.set(role, perms);
                }
                // One session store: the shortest timeouts configured apply.
                let idle = p.idle_timeout.as_secs() as i64;
                let absolute = p.absolute_timeout.as_secs() as i64;
                if first || idle < settings.idle_timeout {
                    settings.idle_timeout = idle;
                }
                if first || absolute < settings.absolute_timeout {
                    settings.absolute_timeout = absolute;
                }
                first = false;
                areas.push(Area {
                    cfg: p.clone(),
                    policy,
                });
            }
            sites.insert(site.name.clone(), areas);
        }
        settings.issuer = "Rampart".into();
        (!sites.is_empty()).then(|| AccessGate {
            sites,
            database: config.server.database.clone(),
            data_dir: config.server.data_dir.clone(),
            settings,
            trusted_proxies: config.server.trusted_proxies.clone(),
            auth: tokio::sync::OnceCell::new(),
        })
    }

    async fn auth(&self) -> Result<&Auth, String> {
        self.auth
            .get_or_try_init(|| async {
                let db = match &self.database {
                    Some(url) => store::Database::connect(url).await,
                    None => {
                        store::Database::open_sqlite(&self.data_dir.join("rampart.sqlite")).await
                    }
                }
                .map_err(|e| e.to_string())?;
                Auth::open(db, self.settings.clone())
                    .await
                    .map_err(|e| e.to_string())
            })
            .await
    }

    fn areas(&self, ctx: &RequestContext) -> Option<&[Area]> {
        self.sites.get(&ctx.site.name).map(Vec::as_slice)
    }
}

// ---------------------------------------------------------------------------
// Small helpers: cookies, forms, HTML.

fn cookie(req: &request::Parts, name: &str) -> Option<String> {
    for v in req.headers.get_all(header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for pair in s.split(';') {
            if let Some((k, val)) = pair.trim().split_once('=') {
                if k == name {
                    return Some(val.trim().to_string());
                }
            }
        }
    }
    None
}

/// Removes Rampart's cookies from what the store receives.
fn strip_own_cookies(req: &mut request::Parts) {
    let values: Vec<String> = req
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|s| {
            s.split(';')
                .map(str::trim)
                .filter(|p| !p.starts_with("__Host-rampart_"))
                .collect::<Vec<_>>()
                .join("; ")
        })
        .filter(|s| !s.is_empty())
        .collect();
    req.headers.remove(header::COOKIE);
    for v in values {
        if let Ok(h) = HeaderValue::from_str(&v) {
            req.headers.append(header::COOKIE, h);
        }
    }
}

fn set_cookie(name: &str, value: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Secure; HttpOnly; SameSite=Strict"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("x=; Max-Age=0"))
}

fn clear_cookie(name: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("x=; Max-Age=0"))
}

fn esc(s: &str) -> String {
    crate::pages::escape(s)
}

/// A safe place to go after signing in: a local path, else `fallback`.
fn safe_next(next: &str, fallback: &str) -> String {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= 2048
        && !next.chars().any(|c| c.is_control() || c == '\\')
        && (!next.starts_with(PORTAL) || next == PASSKEYS_PAGE);
    if ok {
        next.to_string()
    } else {
        fallback.to_string()
    }
}

/// A parsed portal form: each field at most once, each within its limit.
struct FormData(HashMap<String, String>);

impl FormData {
    fn parse(body: &[u8]) -> Result<FormData, String> {
        let mut map = HashMap::new();
        for (k, v) in form_urlencoded::parse(body) {
            let limit = match k.as_ref() {
                "username" => 64,
                "password" => auth::password::MAX_LENGTH,
                "code" => 32,
                "next" => 2048,
                "csrf" => 64,
                "credential" => auth::passkeys::MAX_RESPONSE_LEN,
                "name" => 256,
                "id" => 20,
                _ => continue,
            };
            if v.len() > limit {
                return Err(format!("form field {k} is longer than {limit} bytes"));
            }
            if map.insert(k.to_string(), v.to_string()).is_some() {
                return Err(format!("form field {k} was sent twice"));
            }
        }
        Ok(FormData(map))
    }

    fn get(&self, k: &str) -> &str {
        self.0.get(k).map(String::as_str).unwrap_or("")
    }
}

fn csrf_ok(expected: &str, sent: &str) -> bool {
    !expected.is_empty() && auth::secrets_equal(expected.as_bytes(), sent.as_bytes())
}

enum Page<'a> {
    Login {
        csrf: &'a str,
    },
    /// The second factor: the code form when the account has TOTP, the
    /// passkey button when `passkey` holds the challenge's options.
    Mfa {
        csrf: &'a str,
        step_up: bool,
        code: bool,
        passkey: Option<&'a str>,
    },
    /// The account's passkeys, and registration when `options` holds the
    /// challenge's options (`None`: the host cannot be a relying party).
    Passkeys {
        csrf: &'a str,
        list: &'a [PasskeyInfo],
        options: Option<&'a str>,
        user: &'a str,
    },
    Denied,
    Refused,
}

/// The browser half of a WebAuthn ceremony: decodes the server's options
/// (base64url fields), calls `navigator.credentials.create` or `get`,
/// and posts the answer (base64url fields again) with the button's form.
const PASSKEY_SCRIPT: &str = r#"(function () {
  var button = document.getElementById('passkey');
  if (!button) return;
  var msg = document.getElementById('passkey-msg');
  function bytes(s) {
    s = s.replace(/-/g, '+').replace(/_/g, '/');
    return Uint8Array.from(atob(s), function (c) { return c.charCodeAt(0); });
  }
  function text(b) {
    var a = new Uint8Array(b), s = '';
    for (var i = 0; i < a.length; i++) s += String.fromCharCode(a[i]);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  function ids(list) { (list || []).forEach(function (c) { c.id = bytes(c.id); }); }
  button.addEventListener('click', function () {
    var form = button.form;
    var o = JSON.parse(button.getAttribute('data-options')).publicKey;
    o.challenge = bytes(o.challenge);
    var create = button.getAttribute('data-ceremony') === 'create';
    var ask;
    if (create) {
      o.user.id = bytes(o.user.id);
      ids(o.excludeCredentials);
      ask = navigator.credentials.create({ publicKey: o });
    } else {
      ids(o.allowCredentials);
      ask = navigator.credentials.get({ publicKey: o });
    }
    ask.then(function (c) {
      var r = c.response, answer = { id: c.id, rawId: text(c.rawId), type: c.type,
        extensions: c.getClientExtensionResults() };
      if (create) {
        answer.response = { attestationObject: text(r.attestationObject),
          clientDataJSON: text(r.clientDataJSON),
          transports: r.getTransports ? r.getTransports() : [] };
      } else {
        answer.response = { authenticatorData: text(r.authenticatorData),
          clientDataJSON: text(r.clientDataJSON), signature: text(r.signature),
          userHandle: r.userHandle ? text(r.userHandle) : null };
      }
      form.elements.credential.value = JSON.stringify(answer);
      form.submit();
    }, function (e) {
      msg.textContent = 'The passkey did not answer (' + e.name + '). Try again' +
        (create ? '.' : ', or use a code.');
      msg.hidden = false;
    });
  });
})();"#;

fn when(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .map(|d| {
            format!(
                "{}-{:02}-{:02} {:02}:{:02} UTC",
                d.year(),
                d.month() as u8,
                d.day(),
                d.hour(),
                d.minute()
            )
        })
        .unwrap_or_default()
}

fn page(
    status: StatusCode,
    kind: Page<'_>,
    next: &str,
    message: &str,
    ctx: &RequestContext,
) -> Response<Bytes> {
    let notice = if message.is_empty() {
        String::new()
    } else {
        format!("<p class=\"msg\" role=\"alert\">{}</p>", esc(message))
    };
    let (title, form) = match kind {
        Page::Login { csrf } => (
            "Staff sign-in",
            format!(
                "<form method=\"post\" action=\"/.rampart/login\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"next\" value=\"{next}\">\
<label>User name<input name=\"username\" autocomplete=\"username\" maxlength=\"64\" required autofocus></label>\
<label>Password<input name=\"password\" type=\"password\" autocomplete=\"current-password\" maxlength=\"256\" required></label>\
<button type=\"submit\">Continue</button></form>",
                csrf = esc(csrf),
                next = esc(next)
            ),
        ),
        Page::Mfa {
            csrf,
            step_up,
            code,
            passkey,
        } => {
            let mut f = String::new();
            if code {
                f.push_str(&format!(
                    "<p>Enter the 6-digit code from your authenticator app, or one of your recovery codes.</p>\
<form method=\"post\" action=\"/.rampart/{action}\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"next\" value=\"{next}\">\
<label>Code<input name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" maxlength=\"32\" required autofocus></label>\
<button type=\"submit\">Verify</button></form>",
                    action = if step_up { "step-up" } else { "mfa" },
                    csrf = esc(csrf),
                    next = esc(next)
                ));
            }
            if let Some(options) = passkey {
                f.push_str(&format!(
                    "<p>{lead}</p><form method=\"post\" action=\"/.rampart/{action}\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"next\" value=\"{next}\">\
<input type=\"hidden\" name=\"credential\" value=\"\">\
<button type=\"button\" id=\"passkey\" data-ceremony=\"get\" data-options=\"{options}\">Use a passkey</button></form>\
<p class=\"msg\" id=\"passkey-msg\" role=\"alert\" hidden></p>",
                    lead = if code { "Or use a passkey on this device or a security key." } else { "Use your passkey on this device or a security key." },
                    action = if step_up { "passkey-step-up" } else { "passkey-mfa" },
                    csrf = esc(csrf),
                    next = esc(next),
                    options = esc(options)
                ));
            }
            (
                if step_up { "Confirm it is you" } else { "Two-factor authentication" },
                f,
            )
        }
        Page::Passkeys {
            csrf,
            list,
            options,
            user,
        } => {
            let mut f = format!("<p>Signed in as <b>{}</b>.</p>", esc(user));
            if list.is_empty() {
                f.push_str("<p>You have no passkeys yet.</p>");
            } else {
                f.push_str("<ul class=\"keys\">");
                for k in list {
                    f.push_str(&format!(
                        "<li><b>{name}</b><br><small>added {created}; {used}</small>\
<form method=\"post\" action=\"/.rampart/passkeys/remove\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<input type=\"hidden\" name=\"id\" value=\"{id}\"><button type=\"submit\">Remove</button></form></li>",
                        name = esc(&k.name),
                        created = when(k.created),
                        used = k
                            .last_used
                            .map(|t| format!("last used {}", when(t)))
                            .unwrap_or_else(|| "never used".into()),
                        csrf = esc(csrf),
                        id = k.id
                    ));
                }
                f.push_str("</ul>");
            }
            match options {
                Some(options) => f.push_str(&format!(
                    "<form method=\"post\" action=\"/.rampart/passkeys/register\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"credential\" value=\"\">\
<label>Name for the new passkey<input name=\"name\" maxlength=\"64\" placeholder=\"e.g. work laptop\"></label>\
<button type=\"button\" id=\"passkey\" data-ceremony=\"create\" data-options=\"{options}\">Add a passkey</button></form>\
<p class=\"msg\" id=\"passkey-msg\" role=\"alert\" hidden></p>",
                    csrf = esc(csrf),
                    options = esc(options)
                )),
                None => f.push_str(
                    "<p>Passkeys need the site's host name: open this page at the shop's name, not an IP address.</p>",
                ),
            }
            f.push_str(&format!(
                "<form method=\"post\" action=\"/.rampart/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<button type=\"submit\" id=\"sign-out\">Sign out</button></form>",
                csrf = esc(csrf)
            ));
            ("Your passkeys", f)
        }
        Page::Denied => (
            "Not allowed",
            "<p>Your role does not allow this page or action. Ask the shop's owner if you need it.</p>".to_string(),
        ),
        Page::Refused => ("Request refused", String::new()),
    };
    let nonce = form.contains("id=\"passkey\"").then(random_csrf);
    let script = nonce
        .as_ref()
        .map(|n| format!("<script nonce=\"{n}\">{PASSKEY_SCRIPT}</script>"))
        .unwrap_or_default();
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title>\
<style>body{{font-family:system-ui,sans-serif;background:#f5f6f8;color:#1d2433;margin:0}}\
main{{max-width:24rem;margin:10vh auto;padding:2rem;background:#fff;border-radius:12px;box-shadow:0 2px 12px rgba(0,0,0,.08)}}\
h1{{font-size:1.3rem}}label{{display:block;margin:.8rem 0}}input{{display:block;width:100%;padding:.5rem;margin-top:.3rem;box-sizing:border-box}}\
button{{padding:.6rem 1.2rem}}.keys{{padding-left:1rem}}.keys li{{margin:.6rem 0}}.msg{{background:#fdecea;padding:.6rem;border-radius:6px}}small{{color:#6b7280}}</style></head>\n\
<body><main><h1>{title}</h1>{notice}{form}<p><small>{site} &middot; reference {id} &middot; protected by Rampart</small></p></main>{script}</body></html>\n",
        site = esc(&ctx.site.name),
        id = esc(ctx.request_id()),
    );
    let mut resp = Response::new(Bytes::from(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let csp = match &nonce {
        Some(n) => format!("default-src 'none'; script-src 'nonce-{n}'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"),
        None => "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'".into(),
    };
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(HeaderName::from_static("content-security-policy"), v);
    }
    resp
}

fn redirect(to: &str) -> Response<Bytes> {
    let mut resp = Response::new(Bytes::new());
    *resp.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn note(ctx: &mut RequestContext, action: Action, message: String) {
    ctx.findings.action = Some(action);
    ctx.findings.message = format!("access: {message}");
}

/// The client's address for lockouts: the peer, or behind a trusted
/// proxy the last address in `X-Forwarded-For` that is not one of them
/// (so one shopper's failures do not lock out everyone behind the load
/// balancer, and a client cannot pick its own address).
fn client_ip(ctx: &RequestContext, req: &request::Parts, trusted: &[ipnet::IpNet]) -> String {
    crate::headers::client_ip(ctx.client_addr.ip(), &req.headers, trusted).to_string()
}

// ---------------------------------------------------------------------------
// The gate.

impl AccessGate {
    /// The login page with a fresh CSRF cookie.
    fn login_page(
        &self,
        ctx: &mut RequestContext,
        status: StatusCode,
        next: &str,
        message: &str,
    ) -> Response<Bytes> {
        let csrf = random_csrf();
        let mut resp = page(status, Page::Login { csrf: &csrf }, next, message, ctx);
        resp.headers_mut()
            .append(header::SET_COOKIE, set_cookie(CSRF_COOKIE, &csrf));
        resp
    }

    fn unavailable<'x>(&self, ctx: &mut RequestContext, why: String) -> Decision<'x> {
        note(ctx, Action::Block, format!("sign-in unavailable: {why}"));
        let r = page(
            StatusCode::SERVICE_UNAVAILABLE,
            Page::Refused,
            "/",
            "Staff sign-in is unavailable right now. Try again in a minute.",
            ctx,
        );
        Decision::Respond(r)
    }

    fn refuse<'x>(
        ctx: &mut RequestContext,
        status: StatusCode,
        why: &str,
        message: &str,
    ) -> Decision<'x> {
        note(ctx, Action::Block, why.to_string());
        Decision::Respond(page(status, Page::Refused, "/", message, ctx))
    }

    /// A request into a protected area.
    async fn gate<'a>(
        &'a self,
        ctx: &'a mut RequestContext,
        req: &'a mut request::Parts,
        area: usize,
        path: String,
    ) -> Decision<'a> {
        let auth = match self.auth().await {
            Ok(a) => a,
            Err(e) => return self.unavailable(ctx, e),
        };
        let Some(areas) = self.areas(ctx) else {
            return Decision::Continue;
        };
        let area = &areas[area];
        let next = if req.method == Method::GET || req.method == Method::HEAD {
            safe_next(
                req.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"),
                &area.cfg.paths[0],
            )
        } else {
            area.cfg.paths[0].clone()
        };
        let token = cookie(req, SESSION_COOKIE);
        let session = match &token {
            Some(t) => match auth.session(t).await {
                Ok(s) => s,
                Err(e) => return self.unavailable(ctx, e.to_string()),
            },
            None => None,
        };
        let Some(session) = session else {
            let why = if token.is_some() {
                "unknown or expired session cookie: sign-in required"
            } else {
                "sign-in required"
            };
            note(ctx, Action::Challenge, why.to_string());
            let message = if token.is_some() {
                "Your session has ended. Sign in again."
            } else {
                ""
            };
            let mut r = self.login_page(ctx, StatusCode::UNAUTHORIZED, &next, message);
            if token.is_some() {
                r.headers_mut()
                    .append(header::SET_COOKIE, clear_cookie(SESSION_COOKIE));
            }
            return Decision::Respond(r);
        };
        if session.pending {
            note(
                ctx,
                Action::Challenge,
                format!("second factor due for {}", session.username),
            );
            let token = token.unwrap_or_default();
            return match self
                .mfa_page(
                    auth,
                    ctx,
                    req,
                    &token,
                    &session,
                    StatusCode::UNAUTHORIZED,
                    false,
                    &next,
                    "",
                )
                .await
            {
                Ok(r) => Decision::Respond(r),
                Err(e) => self.unavailable(ctx, e),
            };
        }
        let method = req.method.as_str().to_ascii_uppercase();
        if !area.policy.allows(&session.role, &method, &path) {
            note(
                ctx,
                Action::Block,
                format!(
                    "role {} of {} may not {method} {path}",
                    session.role, session.username
                ),
            );
            return Decision::Respond(page(StatusCode::FORBIDDEN, Page::Denied, &next, "", ctx));
        }
        let now = auth.now();
        if let Some(s) = area
            .cfg
            .step_up
            .iter()
            .filter(|s| within(&path, &s.path))
            .min_by_key(|s| s.minutes)
        {
            let fresh = session.mfa_at.is_some_and(|t| now - t <= s.minutes * 60);
            if !fresh && session.has_mfa() {
                note(
                    ctx,
                    Action::Challenge,
                    format!("step-up required for {} on {path}", session.username),
                );
                let token = token.clone().unwrap_or_default();
                return match self
                    .mfa_page(
                        auth,
                        ctx,
                        req,
                        &token,
                        &session,
                        StatusCode::UNAUTHORIZED,
                        true,
                        &next,
                        "This page needs a fresh confirmation.",
                    )
                    .await
                {
                    Ok(r) => Decision::Respond(r),
                    Err(e) => self.unavailable(ctx, e),
                };
            }
            if !fresh {
                note(
                    ctx,
                    Action::Block,
                    format!(
                        "step-up impossible for {} (no authenticator) on {path}",
                        session.username
                    ),
                );
                return Decision::Respond(page(
                    StatusCode::FORBIDDEN,
                    Page::Denied,
                    &next,
                    "This page needs two-factor authentication, which your account does not have.",
                    ctx,
                ));
            }
        }
        for (name, value) in [
            (USER_HEADER, &session.username),
            (ROLE_HEADER, &session.role),
        ] {
            if let Ok(v) = HeaderValue::from_str(value) {
                req.headers.insert(name, v);
            }
        }
        strip_own_cookies(req);
        // The role was checked for this method: no header may turn it
        // into another one at the store.
        for h in [
            "x-http-method-override",
            "x-http-method",
            "x-method-override",
        ] {
            req.headers.remove(h);
        }
        Decision::Continue
    }

    /// A portal form post.
    async fn form<'a>(
        &'a self,
        ctx: &'a mut RequestContext,
        req: &'a mut request::Parts,
        form: Form,
        body: &'a [u8],
    ) -> Decision<'a> {
        let fields = match FormData::parse(body) {
            Ok(f) => f,
            Err(e) => {
                return Self::refuse(
                    ctx,
                    StatusCode::BAD_REQUEST,
                    &e,
                    "The form was not valid. Go back and try again.",
                )
            }
        };
        let auth = match self.auth().await {
            Ok(a) => a,
            Err(e) => return self.unavailable(ctx, e),
        };
        let Some(areas) = self.areas(ctx) else {
            return Decision::Continue;
        };
        let home = areas[0].cfg.paths[0].clone();
        let next = safe_next(fields.get("next"), &home);
        let next_path = normalize_path(&next);
        let area = areas
            .iter()
            .find(|a| a.cfg.paths.iter().any(|p| within(&next_path, p)))
            .unwrap_or(&areas[0]);
        let ip = client_ip(ctx, req, &self.trusted_proxies);
        let token = cookie(req, SESSION_COOKIE);
        match form {
            Form::Login => {
                let expected = cookie(req, CSRF_COOKIE).unwrap_or_default();
                if !csrf_ok(&expected, fields.get("csrf")) {
                    note(
                        ctx,
                        Action::Block,
                        "login form without a valid CSRF token".into(),
                    );
                    let r = self.login_page(
                        ctx,
                        StatusCode::FORBIDDEN,
                        &next,
                        "The form expired or did not come from this site. Try again.",
                    );
                    return Decision::Respond(r);
                }
                let username = fields.get("username").to_string();
                let mfa = |role: &str| area.cfg.mfa_required(role);
                let outcome = auth
                    .login_password(
                        &username,
                        fields.get("password"),
                        &ip,
                        &mfa,
                        token.as_deref(),
                    )
                    .await;
                match outcome {
                    Err(e) => self.unavailable(ctx, e.to_string()),
                    Ok(Err(refusal)) => {
                        note(
                            ctx,
                            Action::Block,
                            format!(
                                "sign-in refused ({}) for {:?}",
                                refusal.reason(),
                                username.chars().take(64).collect::<String>()
                            ),
                        );
                        let status = if matches!(refusal, Refusal::AddressLocked { .. }) {
                            StatusCode::TOO_MANY_REQUESTS
                        } else {
                            StatusCode::UNAUTHORIZED
                        };
                        Decision::Respond(self.login_page(ctx, status, &next, &refusal.message()))
                    }
                    Ok(Ok(LoginStep::Done(t))) => {
                        note(
                            ctx,
                            Action::Redirect,
                            format!("{username} signed in (password only)"),
                        );
                        let mut r = redirect(&next);
                        r.headers_mut()
                            .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, t.expose()));
                        r.headers_mut()
                            .append(header::SET_COOKIE, clear_cookie(CSRF_COOKIE));
                        Decision::Respond(r)
                    }
                    Ok(Ok(LoginStep::NeedSecondFactor(t))) => {
                        let session = match auth.session(t.expose()).await {
                            Ok(Some(s)) => s,
                            Ok(None) => {
                                return Self::refuse(
                                    ctx,
                                    StatusCode::UNAUTHORIZED,
                                    "pending session vanished",
                                    "Your sign-in timed out. Start again.",
                                )
                            }
                            Err(e) => return self.unavailable(ctx, e.to_string()),
                        };
                        note(
                            ctx,
                            Action::Challenge,
                            format!("password accepted for {username}; second factor due"),
                        );
                        let mut r = match self
                            .mfa_page(
                                auth,
                                ctx,
                                req,
                                t.expose(),
                                &session,
                                StatusCode::OK,
                                false,
                                &next,
                                "",
                            )
                            .await
                        {
                            Ok(r) => r,
                            Err(e) => return self.unavailable(ctx, e),
                        };
                        r.headers_mut()
                            .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, t.expose()));
                        r.headers_mut()
                            .append(header::SET_COOKIE, clear_cookie(CSRF_COOKIE));
                        Decision::Respond(r)
                    }
                }
            }
            _ => {
                let session = match &token {
                    Some(t) => match auth.session(t).await {
                        Ok(s) => s,
                        Err(e) => return self.unavailable(ctx, e.to_string()),
                    },
                    None => None,
                };
                let (Some(session), Some(token)) = (session, token) else {
                    note(
                        ctx,
                        Action::Block,
                        format!("{form:?} form without a live session"),
                    );
                    let mut r = self.login_page(
                        ctx,
                        StatusCode::UNAUTHORIZED,
                        &next,
                        "Your session has ended. Sign in again.",
                    );
                    r.headers_mut()
                        .append(header::SET_COOKIE, clear_cookie(SESSION_COOKIE));
                    return Decision::Respond(r);
                };
                if !csrf_ok(session.csrf.expose(), fields.get("csrf")) {
                    return Self::refuse(
                        ctx,
                        StatusCode::FORBIDDEN,
                        &format!("{form:?} form of {} without a valid CSRF token", session.username),
                        "The form expired or did not come from this site. Go back, reload and try again.",
                    );
                }
                if form == Form::Logout {
                    if let Err(e) = auth.logout(&token, &ip).await {
                        return self.unavailable(ctx, e.to_string());
                    }
                    note(
                        ctx,
                        Action::Redirect,
                        format!("{} signed out", session.username),
                    );
                    let mut r = redirect(&format!("{PORTAL}login"));
                    r.headers_mut()
                        .append(header::SET_COOKIE, clear_cookie(SESSION_COOKIE));
                    return Decision::Respond(r);
                }
                if matches!(
                    form,
                    Form::Passkeys | Form::PasskeyRegister | Form::PasskeyRemove
                ) {
                    return self
                        .passkeys_form(auth, ctx, req, form, &fields, &token, &session, &ip)
                        .await;
                }
                let step_up = matches!(form, Form::StepUp | Form::PasskeyStepUp);
                let with_passkey = matches!(form, Form::PasskeyMfa | Form::PasskeyStepUp);
                if step_up == session.pending {
                    return Self::refuse(
                        ctx,
                        StatusCode::BAD_REQUEST,
                        "second-factor form of the wrong kind for the session",
                        "That form does not fit your session. Go back and reload.",
                    );
                }
                let code = fields.get("code");
                let credential = fields.get("credential");
                let rp = if with_passkey {
                    match relying_party(ctx, req) {
                        Some(rp) => Some(rp),
                        None => {
                            return Self::refuse(
                                ctx,
                                StatusCode::BAD_REQUEST,
                                &format!(
                                    "passkey answer of {} on a host that cannot be a relying party",
                                    session.username
                                ),
                                "Passkeys need the site's host name: open the shop by its name, not an IP address.",
                            )
                        }
                    }
                } else {
                    None
                };
                let result = match (&rp, step_up) {
                    (Some(rp), true) => auth
                        .step_up_passkey(&token, rp, credential, &ip)
                        .await
                        .map(|r| r.map(|()| None)),
                    (Some(rp), false) => auth
                        .login_passkey(&token, rp, credential, &ip)
                        .await
                        .map(|r| r.map(Some)),
                    (None, true) => auth
                        .step_up(&token, code, &ip)
                        .await
                        .map(|r| r.map(|()| None)),
                    (None, false) => auth
                        .login_second_factor(&token, code, &ip)
                        .await
                        .map(|r| r.map(Some)),
                };
                match result {
                    Err(e) => self.unavailable(ctx, e.to_string()),
                    Ok(Ok(new_token)) => {
                        note(
                            ctx,
                            Action::Redirect,
                            format!(
                                "{} {}",
                                session.username,
                                match (step_up, with_passkey) {
                                    (true, true) =>
                                        "confirmed the second factor with a passkey (step-up)",
                                    (true, false) => "confirmed the second factor (step-up)",
                                    (false, true) => "signed in with a passkey",
                                    (false, false) => "signed in",
                                }
                            ),
                        );
                        let mut r = redirect(&next);
                        if let Some(t) = new_token {
                            r.headers_mut()
                                .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, t.expose()));
                        }
                        Decision::Respond(r)
                    }
                    Ok(Err(Refusal::SessionExpired)) => {
                        note(
                            ctx,
                            Action::Block,
                            format!(
                                "second factor of {} after the session ended",
                                session.username
                            ),
                        );
                        let mut r = self.login_page(
                            ctx,
                            StatusCode::UNAUTHORIZED,
                            &next,
                            &Refusal::SessionExpired.message(),
                        );
                        r.headers_mut()
                            .append(header::SET_COOKIE, clear_cookie(SESSION_COOKIE));
                        Decision::Respond(r)
                    }
                    Ok(Err(refusal)) => {
                        note(
                            ctx,
                            Action::Block,
                            format!(
                                "second factor refused ({}) for {}",
                                refusal.reason(),
                                session.username
                            ),
                        );
                        let status = match refusal {
                            Refusal::AddressLocked { .. } | Refusal::AccountLocked { .. } => {
                                StatusCode::TOO_MANY_REQUESTS
                            }
                            _ => StatusCode::UNAUTHORIZED,
                        };
                        match self
                            .mfa_page(
                                auth,
                                ctx,
                                req,
                                &token,
                                &session,
                                status,
                                step_up,
                                &next,
                                &refusal.message(),
                            )
                            .await
                        {
                            Ok(r) => Decision::Respond(r),
                            Err(e) => self.unavailable(ctx, e),
                        }
                    }
                }
            }
        }
    }

    /// The second-factor page for the session `token`: the code form when
    /// the account has TOTP, and a new passkey challenge when it has
    /// passkeys and this host can be their relying party.
    #[allow(clippy::too_many_arguments)]
    async fn mfa_page(
        &self,
        auth: &Auth,
        ctx: &mut RequestContext,
        req: &request::Parts,
        token: &str,
        session: &auth::Session,
        status: StatusCode,
        step_up: bool,
        next: &str,
        message: &str,
    ) -> Result<Response<Bytes>, String> {
        let options = match (session.has_passkey, relying_party(ctx, req)) {
            (true, Some(rp)) => auth
                .start_passkey_authentication(token, &rp)
                .await
                .map_err(|e| e.to_string())?,
            _ => None,
        };
        let message = if session.has_passkey && options.is_none() && !session.has_totp {
            "Your passkey works only at the shop's host name: open the shop by its name, not an IP address."
        } else {
            message
        };
        Ok(page(
            status,
            Page::Mfa {
                csrf: session.csrf.expose(),
                step_up,
                code: session.has_totp,
                passkey: options.as_deref(),
            },
            next,
            message,
            ctx,
        ))
    }

    /// Minutes within which managing passkeys needs a confirmed second
    /// factor: 5, or the site's shortest step-up window.
    fn passkey_fresh_seconds(&self, ctx: &RequestContext) -> i64 {
        let shortest = self
            .areas(ctx)
            .into_iter()
            .flatten()
            .flat_map(|a| a.cfg.step_up.iter().map(|s| s.minutes))
            .min()
            .unwrap_or(PASSKEY_FRESH_MINUTES);
        shortest.min(PASSKEY_FRESH_MINUTES) * 60
    }

    /// `GET passkeys`: the signed-in account's passkeys and the
    /// registration form; the step-up page first when the second factor
    /// is not fresh; the sign-in page without a session.
    async fn passkeys_page<'a>(
        &'a self,
        ctx: &'a mut RequestContext,
        req: &'a mut request::Parts,
        status: StatusCode,
        message: &'a str,
    ) -> Decision<'a> {
        let auth = match self.auth().await {
            Ok(a) => a,
            Err(e) => return self.unavailable(ctx, e),
        };
        let token = cookie(req, SESSION_COOKIE);
        let session = match &token {
            Some(t) => match auth.session(t).await {
                Ok(s) => s,
                Err(e) => return self.unavailable(ctx, e.to_string()),
            },
            None => None,
        };
        let (Some(session), Some(token)) = (session, token) else {
            note(
                ctx,
                Action::Challenge,
                "passkeys page: sign-in required".into(),
            );
            return Decision::Respond(self.login_page(
                ctx,
                StatusCode::UNAUTHORIZED,
                PASSKEYS_PAGE,
                "",
            ));
        };
        let fresh_seconds = self.passkey_fresh_seconds(ctx);
        if session.pending || !session.mfa_fresh(auth.now(), fresh_seconds) {
            note(
                ctx,
                Action::Challenge,
                format!(
                    "passkeys page: fresh second factor due for {}",
                    session.username
                ),
            );
            let step_up = !session.pending;
            let m = if step_up {
                "Managing passkeys needs a fresh confirmation."
            } else {
                ""
            };
            if step_up && !session.has_mfa() {
                // Signed in with a password only, too long ago.
                let mut r = self.login_page(
                    ctx,
                    StatusCode::UNAUTHORIZED,
                    PASSKEYS_PAGE,
                    "Sign in again to add a passkey.",
                );
                if let Err(e) = auth
                    .logout(&token, &client_ip(ctx, req, &self.trusted_proxies))
                    .await
                {
                    return self.unavailable(ctx, e.to_string());
                }
                r.headers_mut()
                    .append(header::SET_COOKIE, clear_cookie(SESSION_COOKIE));
                return Decision::Respond(r);
            }
            return match self
                .mfa_page(
                    auth,
                    ctx,
                    req,
                    &token,
                    &session,
                    StatusCode::UNAUTHORIZED,
                    step_up,
                    PASSKEYS_PAGE,
                    m,
                )
                .await
            {
                Ok(r) => Decision::Respond(r),
                Err(e) => self.unavailable(ctx, e),
            };
        }
        let list = match auth.passkeys(&session.username).await {
            Ok(l) => l,
            Err(e) => return self.unavailable(ctx, e.to_string()),
        };
        let options = match relying_party(ctx, req) {
            Some(rp) => match auth
                .start_passkey_registration(&token, &rp, fresh_seconds)
                .await
            {
                Ok(Ok(o)) => Some(o),
                Ok(Err(_)) => None,
                Err(e) => return self.unavailable(ctx, e.to_string()),
            },
            None => None,
        };
        if status == StatusCode::OK {
            note(
                ctx,
                Action::Challenge,
                format!("passkeys page of {}", session.username),
            );
        }
        Decision::Respond(page(
            status,
            Page::Passkeys {
                csrf: session.csrf.expose(),
                list: &list,
                options: options.as_deref(),
                user: &session.username,
            },
            "/",
            message,
            ctx,
        ))
    }

    /// `POST passkeys/register` and `passkeys/remove` of a live session
    /// whose CSRF token was checked.
    #[allow(clippy::too_many_arguments)]
    async fn passkeys_form<'a>(
        &'a self,
        auth: &Auth,
        ctx: &'a mut RequestContext,
        req: &'a mut request::Parts,
        form: Form,
        fields: &FormData,
        token: &str,
        session: &auth::Session,
        ip: &str,
    ) -> Decision<'a> {
        if session.pending {
            return Self::refuse(
                ctx,
                StatusCode::BAD_REQUEST,
                "passkey change from a session still waiting for its second factor",
                "Finish signing in first.",
            );
        }
        let fresh_seconds = self.passkey_fresh_seconds(ctx);
        if form == Form::PasskeyRemove {
            if !session.mfa_fresh(auth.now(), fresh_seconds) {
                note(
                    ctx,
                    Action::Block,
                    format!(
                        "passkey removal by {} without a fresh second factor",
                        session.username
                    ),
                );
                return Decision::Respond(redirect(PASSKEYS_PAGE));
            }
            let Ok(id) = fields.get("id").parse::<i64>() else {
                return Self::refuse(
                    ctx,
                    StatusCode::BAD_REQUEST,
                    "passkey removal without a valid id",
                    "That passkey does not exist. Go back and reload.",
                );
            };
            return match auth
                .remove_passkey(&session.username, id, &session.username)
                .await
            {
                Err(e) => self.unavailable(ctx, e.to_string()),
                Ok(true) => {
                    note(
                        ctx,
                        Action::Redirect,
                        format!("{} removed passkey {id}", session.username),
                    );
                    Decision::Respond(redirect(PASSKEYS_PAGE))
                }
                Ok(false) => Self::refuse(
                    ctx,
                    StatusCode::NOT_FOUND,
                    &format!(
                        "{} tried to remove passkey {id}, not theirs or gone",
                        session.username
                    ),
                    "That passkey does not exist. Go back and reload.",
                ),
            };
        }
        let Some(rp) = relying_party(ctx, req) else {
            return Self::refuse(
                ctx,
                StatusCode::BAD_REQUEST,
                &format!(
                    "passkey registration of {} on a host that cannot be a relying party",
                    session.username
                ),
                "Passkeys need the site's host name: open the shop by its name, not an IP address.",
            );
        };
        let outcome = auth
            .finish_passkey_registration(
                token,
                &rp,
                fresh_seconds,
                fields.get("name"),
                fields.get("credential"),
                ip,
            )
            .await;
        match outcome {
            Err(e) => self.unavailable(ctx, e.to_string()),
            Ok(Ok(info)) => {
                note(
                    ctx,
                    Action::Redirect,
                    format!(
                        "{} registered passkey {} ({:?})",
                        session.username, info.id, info.name
                    ),
                );
                Decision::Respond(redirect(PASSKEYS_PAGE))
            }
            Ok(Err(Refusal::StaleSecondFactor)) => {
                note(
                    ctx,
                    Action::Block,
                    format!(
                        "passkey registration by {} without a fresh second factor",
                        session.username
                    ),
                );
                Decision::Respond(redirect(PASSKEYS_PAGE))
            }
            Ok(Err(refusal)) => {
                note(
                    ctx,
                    Action::Block,
                    format!(
                        "passkey registration refused ({}) for {}",
                        refusal.reason(),
                        session.username
                    ),
                );
                self.passkeys_page(
                    ctx,
                    req,
                    StatusCode::BAD_REQUEST,
                    "The passkey could not be added. Try again.",
                )
                .await
            }
        }
    }
}

/// `pipeline` with the access gate first when a site protects an area
/// (and the pipeline has none yet). The gateway applies this to every
/// pipeline it runs, so no wiring can leave a protected area open.
pub fn with_gate(config: &Config, pipeline: Pipeline) -> Pipeline {
    if pipeline.stages().iter().any(|s| s.name() == "access") {
        return pipeline;
    }
    match AccessGate::from_config(config) {
        Some(gate) => {
            let mut stages: Vec<Arc<dyn Stage>> = vec![Arc::new(gate)];
            stages.extend(pipeline.stages().iter().cloned());
            Pipeline::new(stages)
        }
        None => pipeline,
    }
}

fn random_csrf() -> String {
    use rand::RngExt;
    let bytes: [u8; 24] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn portal_form(path: &str) -> Option<Form> {
    match path.strip_prefix(PORTAL)? {
        "login" => Some(Form::Login),
        "mfa" => Some(Form::Mfa),
        "step-up" => Some(Form::StepUp),
        "logout" => Some(Form::Logout),
        "passkey-mfa" => Some(Form::PasskeyMfa),
        "passkey-step-up" => Some(Form::PasskeyStepUp),
        "passkeys" => Some(Form::Passkeys),
        "passkeys/register" => Some(Form::PasskeyRegister),
        "passkeys/remove" => Some(Form::PasskeyRemove),
        _ => None,
    }
}

/// The relying party for this request: its host name when it is one of
/// the site's hosts and a domain name, with the origin the browser used
/// (the portal is served over TLS).
fn relying_party(ctx: &RequestContext, req: &request::Parts) -> Option<RelyingParty> {
    let authority = match req.uri.authority() {
        Some(a) => a.as_str().to_string(),
        None => req.headers.get(header::HOST)?.to_str().ok()?.to_string(),
    };
    let authority = authority.to_ascii_lowercase();
    let authority = authority.strip_suffix(":443").unwrap_or(&authority);
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    };
    let host = host.trim_end_matches('.');
    if !ctx.tls || host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        return None;
    }
    if !ctx.site.hosts.iter().any(|h| h == host) {
        return None;
    }
    RelyingParty::new(host, &format!("https://{authority}"), &ctx.site.name).ok()
}

impl Stage for AccessGate {
    fn name(&self) -> &'static str {
        "access"
    }

    fn request_headers<'a>(
        &'a self,
        ctx: &'a mut RequestContext,
        req: &'a mut request::Parts,
    ) -> Decision<'a> {
        // Only Rampart says who a staff member is.
        req.headers.remove(USER_HEADER);
        req.headers.remove(ROLE_HEADER);
        let Some(areas) = self.areas(ctx) else {
            return Decision::Continue;
        };
        let raw = req.uri.path();
        if raw.starts_with(PORTAL) || normalize_path(raw).starts_with("/.rampart") {
            let path = normalize_path(raw);
            let form = portal_form(&format!(
                "{}{}",
                PORTAL,
                path.trim_start_matches("/.rampart/")
            ));
            return match (req.method.clone(), form) {
                (Method::GET | Method::HEAD, Some(Form::Login)) => {
                    note(ctx, Action::Challenge, "sign-in page".into());
                    let home = areas[0].cfg.paths[0].clone();
                    let next = req
                        .uri
                        .query()
                        .and_then(|q| {
                            form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "next")
                        })
                        .map(|(_, v)| safe_next(&v, &home))
                        .unwrap_or(home);
                    Decision::Respond(self.login_page(ctx, StatusCode::OK, &next, ""))
                }
                (Method::GET | Method::HEAD, Some(Form::Passkeys)) => {
                    Decision::wait(self.passkeys_page(ctx, req, StatusCode::OK, ""))
                }
                (Method::POST, Some(f)) if f != Form::Passkeys => {
                    ctx.state.insert(f);
                    Decision::Continue
                }
                (_, Some(_)) => Self::refuse(
                    ctx,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "portal: wrong method",
                    "That is not how this page is used.",
                ),
                (_, None) => Self::refuse(
                    ctx,
                    StatusCode::NOT_FOUND,
                    "portal: unknown page",
                    "There is nothing at this address.",
                ),
            };
        }
        let path = normalize_path(raw);
        let Some(area) = areas
            .iter()
            .position(|a| a.cfg.paths.iter().any(|p| within(&path, p)))
        else {
            return Decision::Continue;
        };
        Decision::wait(self.gate(ctx, req, area, path))
    }

    fn request_body_inspection(
        &self,
        ctx: &RequestContext,
        _req: &request::Parts,
    ) -> BodyInspection {
        if ctx.state.get::<Form>().is_some() {
            BodyInspection::Buffer {
                limit: MAX_FORM_BYTES,
                over_limit: OverLimit::Reject,
            }
        } else {
            BodyInspection::Skip
        }
    }

    fn request_body<'a>(
        &'a self,
        ctx: &'a mut RequestContext,
        req: &'a mut request::Parts,
        body: &'a mut BufferedBody,
    ) -> Decision<'a> {
        let Some(form) = ctx.state.get::<Form>().copied() else {
            return Decision::Continue;
        };
        if !body.complete {
            return Self::refuse(
                ctx,
                StatusCode::PAYLOAD_TOO_LARGE,
                "portal form too large",
                "The form was too large.",
            );
        }
        Decision::wait(self.form(ctx, req, form, &body.bytes))
    }

    fn request_body_absent<'a>(
        &'a self,
        ctx: &'a mut RequestContext,
        req: &'a mut request::Parts,
    ) -> Decision<'a> {
        let Some(form) = ctx.state.get::<Form>().copied() else {
            return Decision::Continue;
        };
        Decision::wait(self.form(ctx, req, form, b""))
    }
}
