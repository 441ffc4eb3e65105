//! The scanner's only way onto the network for HTTP: a gentle client.
//! Every request carries `User-Agent: Rampart-Scanner/<version>`, waits
//! for a slot (bounded concurrency) and for its turn (a minimum interval
//! between requests), has a timeout, and reads at most `max_body` bytes.
//! Redirects are followed by hand so that every hop (and its cookies) is
//! seen. Certificates are not verified here: the `tls` module judges
//! them and reports; the HTTP checks still run on a self-signed shop.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, Semaphore};
use tokio::time::Instant;
use url::Url;

/// The User-Agent every request carries.
pub fn user_agent() -> String {
    format!("Rampart-Scanner/{}", env!("CARGO_PKG_VERSION"))
}

/// How gentle to be.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Requests started per second, at most.
    pub rate: f64,
    pub timeout: Duration,
    /// Bytes of a body read, at most.
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            concurrency: 4,
            rate: 10.0,
            timeout: Duration::from_secs(10),
            max_body: 2 * 1024 * 1024,
        }
    }
}

/// One fetched URL, after redirects when asked to follow them.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The URL that answered last.
    pub url: Url,
    pub status: u16,
    /// Response headers of the last answer, lowercase names.
    pub headers: Vec<(String, String)>,
    /// The body, lossily decoded, cut at the size limit.
    pub body: String,
    /// The raw body bytes (cut at the size limit).
    pub bytes: Vec<u8>,
    /// Every `Set-Cookie` along the way.
    pub set_cookies: Vec<String>,
    /// Every URL requested, in order (the first is the one asked for).
    pub chain: Vec<Url>,
}

impl Fetched {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_html(&self) -> bool {
        self.header("content-type")
            .is_some_and(|v| v.to_ascii_lowercase().contains("html"))
    }
}

/// Why a fetch failed, in one line.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{url}: {reason}")]
pub struct FetchError {
    pub url: String,
    pub reason: String,
    /// True when nothing could be connected to at all.
    pub connect: bool,
}

/// The gentle client.
pub struct Fetcher {
    client: reqwest::Client,
    slots: Arc<Semaphore>,
    next_start: Mutex<Instant>,
    interval: Mutex<Duration>,
    max_body: usize,
    /// Requests sent so far.
    sent: std::sync::atomic::AtomicUsize,
}

const MAX_REDIRECTS: usize = 10;

impl Fetcher {
    pub fn new(limits: &Limits) -> Result<Fetcher, String> {
        let tls = crate::tls::permissive_client_config()?;
        let client = reqwest::Client::builder()
            .user_agent(user_agent())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(limits.timeout)
            .connect_timeout(limits.timeout.min(Duration::from_secs(5)))
            .no_proxy()
            .tls_backend_preconfigured(tls)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let rate = if limits.rate.is_finite() && limits.rate > 0.0 {
            limits.rate
        } else {
            1.0
        };
        Ok(Fetcher {
            client,
            slots: Arc::new(Semaphore::new(limits.concurrency.max(1))),
            next_start: Mutex::new(Instant::now()),
            interval: Mutex::new(Duration::from_secs_f64(1.0 / rate)),
            max_body: limits.max_body,
            sent: Default::default(),
        })
    }

    /// Slows down to at most one request per `delay` (robots.txt
    /// Crawl-delay), never speeds up.
    pub async fn slow_to(&self, delay: Duration) {
        let mut i = self.interval.lock().await;
        if delay > *i {
            *i = delay;
        }
    }

    /// How many requests were sent.
    pub fn requests_sent(&self) -> usize {
        self.sent.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn pace(&self) {
        let interval = *self.interval.lock().await;
        let wait_until = {
            let mut next = self.next_start.lock().await;
            let now = Instant::now();
            let at = (*next).max(now);
            *next = at + interval;
            at
        };
        tokio::time::sleep_until(wait_until).await;
    }

    /// GET `url`, following redirects when `follow`.
    pub async fn get(&self, url: &Url, follow: bool) -> Result<Fetched, FetchError> {
        self.get_with(url, follow, &[]).await
    }

    /// GET with extra request headers.
    pub async fn get_with(
        &self,
        url: &Url,
        follow: bool,
        extra: &[(&str, &str)],
    ) -> Result<Fetched, FetchError> {
        let mut current = url.clone();
        let mut chain = Vec::new();
        let mut set_cookies = Vec::new();
        loop {
            chain.push(current.clone());
            let (status, headers, bytes) = self.once(&current, extra).await?;
            set_cookies.extend(
                headers
                    .iter()
                    .filter(|(n, _)| n == "set-cookie")
                    .map(|(_, v)| v.clone()),
            );
            let location = headers
                .iter()
                .find(|(n, _)| n == "location")
                .and_then(|(_, v)| current.join(v).ok());
            match location {
                Some(next)
                    if follow
                        && (300..400).contains(&status)
                        && chain.len() <= MAX_REDIRECTS
                        && matches!(next.scheme(), "http" | "https") =>
                {
                    current = next;
                }
                _ => {
                    let body = String::from_utf8_lossy(&bytes).into_owned();
                    return Ok(Fetched {
                        url: current,
                        status,
                        headers,
                        body,
                        bytes,
                        set_cookies,
                        chain,
                    });
                }
            }
        }
    }

    async fn once(
        &self,
        url: &Url,
        extra: &[(&str, &str)],
    ) -> Result<(u16, Vec<(String, String)>, Vec<u8>), FetchError> {
        let _slot = self.slots.acquire().await.map_err(|_| FetchError {
            url: url.to_string(),
            reason: "the scanner is shutting down".into(),
            connect: false,
        })?;
        self.pace().await;
        self.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut request = self.client.get(url.clone());
        for (k, v) in extra {
            request = request.header(*k, *v);
        }
        let fail = |e: reqwest::Error| FetchError {
            url: url.to_string(),
            reason: describe(&e),
            connect: e.is_connect(),
        };
        let mut response = request.send().await.map_err(fail)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut bytes = Vec::new();
        while bytes.len() < self.max_body {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = self.max_body - bytes.len();
                    bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                Ok(None) => break,
                // A body cut short still tells what it held so far.
                Err(_) if !bytes.is_empty() => break,
                Err(e) => return Err(fail(e)),
            }
        }
        Ok((status, headers, bytes))
    }
}

/// The innermost cause of a reqwest error, in one line.
pub(crate) fn describe(e: &reqwest::Error) -> String {
    use std::error::Error;
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let mut source: Option<&dyn Error> = e.source();
    let mut last = None;
    while let Some(s) = source {
        last = Some(s.to_string());
        source = s.source();
    }
    match last {
        Some(cause) => format!("{kind}: {cause}"),
        None => kind.to_string(),
    }
}
