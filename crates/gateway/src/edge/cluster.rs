//! Shared edge state in Redis (`[cluster] redis = "redis://…"`): rate
//! limit buckets, jail counters and bans, so that several gateway nodes
//! act as one.
//!
//! Every call has a short deadline. When Redis cannot be reached the
//! edge degrades instead of stopping: rate limits fall back to each
//! node's own buckets (so the shared limit fails open), jail counters to
//! each node's own, bans already known stay in force; an event says so,
//! and the connection is retried in the background.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use redis::aio::ConnectionManager;
use redis::Script;

/// How long a hot-path call may wait for Redis before the node decides
/// alone.
const DEADLINE: Duration = Duration::from_millis(150);

/// GCRA in one round trip. KEYS[1]: the bucket. ARGV: emission interval
/// (ms), burst tolerance (ms). Returns 0 when admitted, else the wait in
/// ms. Redis's own clock is used, so nodes need not agree on the time.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allow_at = tat - tolerance
if now < allow_at then
  return allow_at - now
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], new_tat, 'PX', new_tat - now + 1000)
return 0
";

/// A sliding-window jail counter. KEYS[1]: the counter. ARGV: window
/// (ms), threshold, a unique member naming the offender (`ms|ip|nonce`).
/// Returns the members when the threshold is reached (and starts over),
/// else one element: `#COUNT`.
const OFFEND: &str = r"
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local who = redis.call('ZRANGE', KEYS[1], 0, -1)
  redis.call('DEL', KEYS[1])
  return who
end
return {'#' .. redis.call('ZCARD', KEYS[1])}
";

/// The connection to the shared Redis.
pub(crate) struct Cluster {
    client: redis::Client,
    prefix: String,
    conn: ArcSwapOption<ConnectionManager>,
    down: AtomicBool,
    gcra: Script,
    offend: Script,
}

/// What Redis said, or that it could not be asked.
pub(crate) type Answer<T> = Result<T, String>;

impl Cluster {
    pub fn new(url: &str, prefix: &str) -> Result<Cluster, String> {
        let client = redis::Client::open(url).map_err(|e| format!("[cluster] redis: {e}"))?;
        Ok(Cluster {
            client,
            prefix: prefix.to_string(),
            conn: ArcSwapOption::empty(),
            down: AtomicBool::new(false),
            gcra: Script::new(GCRA),
            offend: Script::new(OFFEND),
        })
    }

    pub fn key(&self, parts: &[&str]) -> String {
        let mut k = self.prefix.clone();
        for p in parts {
            k.push(':');
            k.push_str(p);
        }
        k
    }

    /// Connects if not connected (called by the background task).
    /// Returns true when a connection is in place.
    pub async fn ensure(&self) -> bool {
        if self.conn.load().is_some() {
            return true;
        }
        let cfg = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(500)))
            .set_response_timeout(Some(Duration::from_millis(500)))
            .set_number_of_retries(1);
        match tokio::time::timeout(
            Duration::from_secs(2),
            ConnectionManager::new_with_config(self.client.clone(), cfg),
        )
        .await
        {
            Ok(Ok(c)) => {
                self.conn.store(Some(std::sync::Arc::new(c)));
                true
            }
            _ => false,
        }
    }

    fn connection(&self) -> Answer<ConnectionManager> {
        self.conn
            .load()
            .as_deref()
            .cloned()
            .ok_or_else(|| "not connected".to_string())
    }

    /// Records whether the last call worked; true when this changed it.
    pub fn mark(&self, ok: bool) -> bool {
        self.down.swap(!ok, Ordering::Relaxed) == ok
    }

    pub fn connected(&self) -> bool {
        self.conn.load().is_some()
    }

    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    async fn within<T>(
        &self,
        f: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Answer<T> {
        match tokio::time::timeout(DEADLINE, f).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {} ms", DEADLINE.as_millis())),
        }
    }

    /// The shared bucket `key`: `Ok(None)` admitted, `Ok(Some(wait))`
    /// over the limit.
    pub async fn limit(&self, key: &str, per_minute: u32, burst: u32) -> Answer<Option<Duration>> {
        let mut c = self.connection()?;
        let interval = (60_000 / u64::from(per_minute.max(1))).max(1);
        let tolerance = interval * u64::from(burst.max(1) - 1);
        let wait: i64 = self
            .within(
                self.gcra
                    .key(key)
                    .arg(interval)
                    .arg(tolerance)
                    .invoke_async(&mut c),
            )
            .await?;
        Ok((wait > 0).then(|| Duration::from_millis(wait as u64)))
    }

    /// One offence on the shared counter `key`; the offenders' members
    /// when it crossed the threshold.
    pub async fn offend(
        &self,
        key: &str,
        window: Duration,
        threshold: u32,
        member: &str,
    ) -> Answer<Vec<String>> {
        let mut c = self.connection()?;
        self.within(
            self.offend
                .key(key)
                .arg(window.as_millis() as u64)
                .arg(threshold)
                .arg(member)
                .invoke_async(&mut c),
        )
        .await
    }

    /// Publishes a ban (sorted set: member target, score end in ms).
    pub async fn put_ban(&self, target: &str, until_ms: i64) -> Answer<()> {
        let mut c = self.connection()?;
        let key = self.key(&["bans"]);
        // GT: a longer ban already there is kept; absent members are added.
        let _: i64 = self
            .within(
                redis::cmd("ZADD")
                    .arg(&key)
                    .arg("GT")
                    .arg(until_ms)
                    .arg(target)
                    .query_async(&mut c),
            )
            .await?;
        Ok(())
    }

    /// The challenge secret all nodes use: `candidate` unless another
    /// node set one first.
    pub async fn shared_secret(&self, candidate: &str) -> Answer<String> {
        let mut c = self.connection()?;
        let key = self.key(&["challenge-secret"]);
        let (secret,): (String,) = self
            .within(
                redis::pipe()
                    .cmd("SET")
                    .arg(&key)
                    .arg(candidate)
                    .arg("NX")
                    .ignore()
                    .cmd("GET")
                    .arg(&key)
                    .query_async(&mut c),
            )
            .await?;
        Ok(secret)
    }

    /// Lifts a ban everywhere.
    pub async fn lift_ban(&self, target: &str) -> Answer<bool> {
        let mut c = self.connection()?;
        let n: i64 = self
            .within(
                redis::cmd("ZREM")
                    .arg(self.key(&["bans"]))
                    .arg(target)
                    .query_async(&mut c),
            )
            .await?;
        Ok(n > 0)
    }

    /// The bans in force: (target, until ms). Drops ended ones.
    pub async fn bans(&self, now_ms: i64) -> Answer<Vec<(String, i64)>> {
        let mut c = self.connection()?;
        let key = self.key(&["bans"]);
        let (list,): (Vec<(String, f64)>,) = self
            .within(
                redis::pipe()
                    .cmd("ZREMRANGEBYSCORE")
                    .arg(&key)
                    .arg("-inf")
                    .arg(now_ms)
                    .ignore()
                    .cmd("ZRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(-1)
                    .arg("WITHSCORES")
                    .query_async(&mut c),
            )
            .await?;
        Ok(list.into_iter().map(|(t, u)| (t, u as i64)).collect())
    }
}

/// Connects for a one-off command (`rampart bans`).
async fn connect(config: &crate::config::ClusterConfig) -> Answer<Cluster> {
    let c = Cluster::new(&config.redis, &config.prefix)?;
    if !c.ensure().await {
        return Err("cannot connect to the [cluster] Redis".into());
    }
    Ok(c)
}

/// Publishes a ban to every node sharing `config`'s Redis.
pub async fn publish_ban(
    config: &crate::config::ClusterConfig,
    target: &str,
    until_ms: i64,
) -> Answer<()> {
    connect(config).await?.put_ban(target, until_ms).await
}

/// The bans in force in `config`'s Redis: (target, until ms).
pub async fn shared_bans(
    config: &crate::config::ClusterConfig,
    now_ms: i64,
) -> Answer<Vec<(String, i64)>> {
    connect(config).await?.bans(now_ms).await
}

/// Lifts a ban on every node sharing `config`'s Redis; true when it was
/// there.
pub async fn lift_ban(config: &crate::config::ClusterConfig, target: &str) -> Answer<bool> {
    connect(config).await?.lift_ban(target).await
}
