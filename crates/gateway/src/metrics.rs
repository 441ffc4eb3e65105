//! Prometheus metrics and the admin listener's pages (`/metrics`,
//! `/healthz`).
//!
//! Owns: metric names and labels. Handles for each site are looked up once
//! at configuration time, so counting a request is a few atomic adds with
//! no lock. Must not: hold request data beyond counts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    site: String,
    class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SiteLabel {
    site: String,
}

/// All gateway metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    upstream_latency: Family<SiteLabel, Histogram, fn() -> Histogram>,
    blocked: Family<SiteLabel, Counter>,
    /// Open client connections on all listeners.
    pub active_connections: Gauge,
    events_dropped: Counter<u64, AtomicU64>,
    /// TLS handshakes that failed.
    pub tls_handshake_failures: Counter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn latency_histogram() -> Histogram {
    // 0.25 ms .. ~65 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 19))
}

/// Counting handles of one site.
#[derive(Clone, Debug)]
pub struct SiteMetrics {
    by_class: [Counter; 6],
    pub upstream_latency: Histogram,
    pub blocked: Counter,
}

impl SiteMetrics {
    /// Counts one response with `status`.
    pub fn count(&self, status: u16) {
        let class = match status {
            100..=599 => (status / 100) as usize,
            _ => 0,
        };
        self.by_class[class].inc();
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("rampart");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Requests answered, by site and status class",
            requests.clone(),
        );
        let upstream_latency: Family<SiteLabel, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "upstream_latency_seconds",
            "Time from sending a request to the store to its response headers",
            upstream_latency.clone(),
        );
        let blocked = Family::<SiteLabel, Counter>::default();
        registry.register("blocked", "Requests refused by a stage", blocked.clone());
        let active_connections = Gauge::default();
        registry.register(
            "active_connections",
            "Client connections open now",
            active_connections.clone(),
        );
        let events_dropped = Counter::<u64, AtomicU64>::default();
        registry.register(
            "events_dropped",
            "Events lost because the event queue was full",
            events_dropped.clone(),
        );
        let tls_handshake_failures = Counter::default();
        registry.register(
            "tls_handshake_failures",
            "TLS handshakes that failed",
            tls_handshake_failures.clone(),
        );
        Metrics {
            registry,
            requests,
            upstream_latency,
            blocked,
            active_connections,
            events_dropped,
            tls_handshake_failures,
        }
    }

    /// The handles of site `name` (created on first use).
    pub fn site(&self, name: &str) -> SiteMetrics {
        const CLASSES: [&str; 6] = ["other", "1xx", "2xx", "3xx", "4xx", "5xx"];
        let by_class = CLASSES.map(|class| {
            self.requests
                .get_or_create(&RequestLabels {
                    site: name.to_string(),
                    class,
                })
                .clone()
        });
        let label = SiteLabel {
            site: name.to_string(),
        };
        SiteMetrics {
            by_class,
            upstream_latency: self.upstream_latency.get_or_create(&label).clone(),
            blocked: self.blocked.get_or_create(&label).clone(),
        }
    }

    /// The text exposition, with `events_dropped` brought up to date.
    pub fn render(&self, events_dropped: u64) -> String {
        let seen = self.events_dropped.get();
        if events_dropped > seen {
            self.events_dropped.inc_by(events_dropped - seen);
        }
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// A shared handle.
pub type SharedMetrics = Arc<Metrics>;

/// Lets at most `per_second` events of one kind through each second and
/// counts the rest (for events a flood could trigger: TLS failures,
/// malformed requests).
#[derive(Debug)]
pub struct Sampler {
    per_second: u64,
    window: AtomicU64,
    in_window: AtomicU64,
    suppressed: AtomicU64,
}

impl Sampler {
    pub fn new(per_second: u64) -> Self {
        Sampler {
            per_second,
            window: AtomicU64::new(0),
            in_window: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(n)` if this occurrence should be reported, with `n` the number
    /// suppressed since the last report; `None` to stay silent.
    pub fn admit(&self) -> Option<u64> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        if self.window.swap(now, Ordering::Relaxed) != now {
            self.in_window.store(0, Ordering::Relaxed);
        }
        if self.in_window.fetch_add(1, Ordering::Relaxed) < self.per_second {
            Some(self.suppressed.swap(0, Ordering::Relaxed))
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_render_with_labels() {
        let m = Metrics::new();
        let s = m.site("shop");
        s.count(200);
        s.count(204);
        s.count(502);
        s.blocked.inc();
        s.upstream_latency.observe(0.001);
        m.active_connections.inc();
        let text = m.render(3);
        assert!(
            text.contains("rampart_requests_total{site=\"shop\",class=\"2xx\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("rampart_requests_total{site=\"shop\",class=\"5xx\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("rampart_blocked_total{site=\"shop\"} 1"),
            "{text}"
        );
        assert!(text.contains("rampart_events_dropped_total 3"), "{text}");
        assert!(text.contains("rampart_active_connections 1"), "{text}");
        assert!(
            text.contains("rampart_upstream_latency_seconds_count{site=\"shop\"} 1"),
            "{text}"
        );
    }

    #[test]
    fn sampler_limits_per_second() {
        let s = Sampler::new(2);
        let admitted = (0..10).filter(|_| s.admit().is_some()).count();
        assert!((2..=4).contains(&admitted), "{admitted}");
    }
}
