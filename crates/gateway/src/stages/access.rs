//! The access gate: Rampart's own staff sign-in in front of a site's
//! protected areas (`[[site.protect]]`: `/admin`, `/wp-admin`, Magento's
//! admin path, ...), whatever the store platform.
//!
//! A request into a protected area without a live Rampart session gets
//! the sign-in portal (password, then the TOTP code or a recovery code);
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
//! login`, and the forms `POST login`, `mfa`, `step-up`, `logout`. Every
//! form carries a CSRF token: the login form a double-submit cookie, the
//! others the session's own token. Cookies are `__Host-` prefixed,
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
use auth::{Auth, LoginStep, Permission, Policy, Refusal, Settings};
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
/// Largest portal form accepted.
const MAX_FORM_BYTES: usize = 8 * 1024;

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
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A safe place to go after signing in: a local path, else `fallback`.
fn safe_next(next: &str, fallback: &str) -> String {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= 2048
        && !next.chars().any(|c| c.is_control() || c == '\\')
        && !next.starts_with(PORTAL);
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
    Login { csrf: &'a str },
    Mfa { csrf: &'a str, step_up: bool },
    Denied,
    Refused,
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
        Page::Mfa { csrf, step_up } => (
            if step_up { "Confirm it is you" } else { "Two-factor authentication" },
            format!(
                "<p>Enter the 6-digit code from your authenticator app, or one of your recovery codes.</p>\
<form method=\"post\" action=\"/.rampart/{action}\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"next\" value=\"{next}\">\
<label>Code<input name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" maxlength=\"32\" required autofocus></label>\
<button type=\"submit\">Verify</button></form>",
                action = if step_up { "step-up" } else { "mfa" },
                csrf = esc(csrf),
                next = esc(next)
            ),
        ),
        Page::Denied => (
            "Not allowed",
            "<p>Your role does not allow this page or action. Ask the shop's owner if you need it.</p>".to_string(),
        ),
        Page::Refused => ("Request refused", String::new()),
    };
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title>\
<style>body{{font-family:system-ui,sans-serif;background:#f5f6f8;color:#1d2433;margin:0}}\
main{{max-width:24rem;margin:10vh auto;padding:2rem;background:#fff;border-radius:12px;box-shadow:0 2px 12px rgba(0,0,0,.08)}}\
h1{{font-size:1.3rem}}label{{display:block;margin:.8rem 0}}input{{display:block;width:100%;padding:.5rem;margin-top:.3rem;box-sizing:border-box}}\
button{{padding:.6rem 1.2rem}}.msg{{background:#fdecea;padding:.6rem;border-radius:6px}}small{{color:#6b7280}}</style></head>\n\
<body><main><h1>{title}</h1>{notice}{form}<p><small>{site} &middot; reference {id} &middot; protected by Rampart</small></p></main></body></html>\n",
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
    h.insert(
        HeaderName::from_static("content-security-policy"),
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"),
    );
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
            let r = page(
                StatusCode::UNAUTHORIZED,
                Page::Mfa {
                    csrf: session.csrf.expose(),
                    step_up: false,
                },
                &next,
                "",
                ctx,
            );
            return Decision::Respond(r);
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
            if !fresh && session.has_totp {
                note(
                    ctx,
                    Action::Challenge,
                    format!("step-up required for {} on {path}", session.username),
                );
                let r = page(
                    StatusCode::UNAUTHORIZED,
                    Page::Mfa {
                        csrf: session.csrf.expose(),
                        step_up: true,
                    },
                    &next,
                    "This page needs a fresh confirmation.",
                    ctx,
                );
                return Decision::Respond(r);
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
                        let csrf = match auth.session(t.expose()).await {
                            Ok(Some(s)) => s.csrf,
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
                        let mut r = page(
                            StatusCode::OK,
                            Page::Mfa {
                                csrf: csrf.expose(),
                                step_up: false,
                            },
                            &next,
                            "",
                            ctx,
                        );
                        r.headers_mut()
                            .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, t.expose()));
                        r.headers_mut()
                            .append(header::SET_COOKIE, clear_cookie(CSRF_COOKIE));
                        Decision::Respond(r)
                    }
                }
            }
            Form::Mfa | Form::StepUp | Form::Logout => {
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
                let step_up = form == Form::StepUp;
                if step_up == session.pending {
                    return Self::refuse(
                        ctx,
                        StatusCode::BAD_REQUEST,
                        "second-factor form of the wrong kind for the session",
                        "That form does not fit your session. Go back and reload.",
                    );
                }
                let code = fields.get("code");
                let result = if step_up {
                    auth.step_up(&token, code, &ip)
                        .await
                        .map(|r| r.map(|()| None))
                } else {
                    auth.login_second_factor(&token, code, &ip)
                        .await
                        .map(|r| r.map(Some))
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
                                if step_up {
                                    "confirmed the second factor (step-up)"
                                } else {
                                    "signed in"
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
                        Decision::Respond(page(
                            status,
                            Page::Mfa {
                                csrf: session.csrf.expose(),
                                step_up,
                            },
                            &next,
                            &refusal.message(),
                            ctx,
                        ))
                    }
                }
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
        _ => None,
    }
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
                (Method::POST, Some(f)) => {
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
