//! `rampart bans list|add|remove`: the edge's ban list from the command
//! line, in the database the gateways share (the configuration's
//! `server.database`, else DATA_DIR/rampart.sqlite). A running gateway
//! reads it every `[edge] ban_poll_ms` (500 ms by default), so a ban made
//! here is enforced within a second, on every node.

use std::io::Write;

use clap::{Args, Subcommand};
use gateway::edge::bans;
use store::Database;

use crate::{usage, Failure, StateArgs};

/// Where the ban list is.
#[derive(Args, Clone)]
pub struct BanDb {
    #[command(flatten)]
    state: StateArgs,
    /// The database: sqlite://FILE or postgres://… [default: the
    /// configuration's server.database, else DATA/rampart.sqlite]
    #[arg(
        long,
        value_name = "URL",
        env = "RAMPART_DATABASE_URL",
        hide_env_values = true
    )]
    database: Option<String>,
}

#[derive(Subcommand)]
pub enum BansCommand {
    /// The bans in force: address or network, until when, why, how many
    /// times it has been banned.
    List {
        #[command(flatten)]
        db: BanDb,
        /// Also show expired and lifted bans (the offence history)
        #[arg(long)]
        all: bool,
        /// One JSON object per line
        #[arg(long)]
        json: bool,
    },
    /// Ban an address or network (IPv4 or IPv6, CIDR allowed) now. A
    /// repeat offender's ban is lengthened by the configured escalation.
    Add {
        #[command(flatten)]
        db: BanDb,
        /// 203.0.113.7, 2001:db8::/48, ...
        #[arg(value_name = "ADDRESS")]
        target: String,
        /// How long: 90s, 15m, 12h, 7d [default: 1h]
        #[arg(long, value_name = "DURATION", default_value = "1h")]
        r#for: String,
        /// Why (kept with the ban and shown by `list`)
        #[arg(long, value_name = "TEXT", default_value = "banned by hand")]
        reason: String,
    },
    /// Lift the ban on an address or network.
    Remove {
        #[command(flatten)]
        db: BanDb,
        #[arg(value_name = "ADDRESS")]
        target: String,
    },
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| usage(format!("cannot start the runtime: {e}")))
}

/// The database, and the `[cluster]` Redis when the configuration has one.
async fn open(db: &BanDb) -> Result<(Database, Option<gateway::config::ClusterConfig>), Failure> {
    let (database, config) =
        crate::access_cmd::open_database(&db.state, db.database.as_deref(), true).await?;
    bans::migrate(&database)
        .await
        .map_err(|e| Failure(1, e.to_string()))?;
    Ok((database, config.and_then(|c| c.cluster)))
}

/// `1h`, `90s`, `15m`, `7d` as seconds.
fn parse_duration(s: &str) -> Result<u64, Failure> {
    let bad = || {
        usage(format!(
            "--for {s:?}: give a number with s, m, h or d, like 90s, 15m, 12h or 7d"
        ))
    };
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?);
    let n: u64 = num.parse().map_err(|_| bad())?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    match n.checked_mul(mult) {
        Some(secs) if secs > 0 && secs <= 366 * 86_400 => Ok(secs),
        _ => Err(usage(format!(
            "--for {s:?}: a ban lasts from 1 second to 366 days"
        ))),
    }
}

/// The address or network in its stored form (`203.0.113.7`,
/// `198.51.100.0/24`).
fn target(s: &str) -> Result<String, Failure> {
    let net = gateway::config::parse_net(s.trim()).ok_or_else(|| {
        usage(format!(
            "{s:?} is not an IP address or CIDR like 203.0.113.7 or 198.51.100.0/24"
        ))
    })?;
    Ok(if net.prefix_len() == net.max_prefix_len() {
        net.addr().to_string()
    } else {
        net.to_string()
    })
}

fn when(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

pub fn run(command: BansCommand) -> Result<(), Failure> {
    let rt = runtime()?;
    rt.block_on(async move {
        match command {
            BansCommand::List { db, all, json } => {
                let (database, cluster) = open(&db).await?;
                let now = bans::now_ms();
                let mut list = bans::list(&database, now, all)
                    .await
                    .map_err(|e| Failure(1, e.to_string()))?;
                // Bans other nodes made, known through Redis only.
                if let Some(c) = &cluster {
                    let shared = gateway::edge::cluster::shared_bans(c, now)
                        .await
                        .map_err(|e| Failure(1, format!("[cluster] Redis: {e}")))?;
                    for (target, until_ms) in shared {
                        match list.iter_mut().find(|b| b.target == target) {
                            Some(b) => b.until_ms = b.until_ms.max(until_ms),
                            None => list.push(bans::Ban {
                                target,
                                reason: "made by another node".into(),
                                source: "cluster".into(),
                                created_ms: now,
                                until_ms,
                                offenses: 1,
                            }),
                        }
                    }
                    if !all {
                        list.retain(|b| b.until_ms > now);
                    }
                }
                let mut out = std::io::stdout().lock();
                if json {
                    for b in &list {
                        let line =
                            serde_json::to_string(b).map_err(|e| Failure(1, e.to_string()))?;
                        let _ = writeln!(out, "{line}");
                    }
                    return Ok(());
                }
                if list.is_empty() {
                    let _ = writeln!(out, "no bans in force");
                    return Ok(());
                }
                let _ = writeln!(
                    out,
                    "{:<40} {:<25} {:>5}  {:<17} REASON",
                    "ADDRESS", "UNTIL", "TIMES", "SOURCE"
                );
                for b in &list {
                    let until = if b.until_ms > now {
                        when(b.until_ms)
                    } else {
                        format!("ended {}", when(b.until_ms))
                    };
                    let _ = writeln!(
                        out,
                        "{:<40} {:<25} {:>5}  {:<17} {}",
                        b.target, until, b.offenses, b.source, b.reason
                    );
                }
                Ok(())
            }
            BansCommand::Add {
                db,
                target: t,
                r#for,
                reason,
            } => {
                let t = target(&t)?;
                let secs = parse_duration(&r#for)?;
                let reason: String = reason
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(200)
                    .collect();
                let (database, cluster) = open(&db).await?;
                let ms = (secs * 1000) as i64;
                // A ban by hand lasts what was asked: no escalation.
                let ban = bans::put(&database, &t, &reason, "manual", ms, 1.0, ms)
                    .await
                    .map_err(|e| Failure(1, e.to_string()))?;
                if let Some(c) = &cluster {
                    gateway::edge::cluster::publish_ban(c, &ban.target, ban.until_ms)
                        .await
                        .map_err(|e| {
                            Failure(1, format!("ban stored, but not shared through Redis: {e}"))
                        })?;
                }
                println!(
                    "banned {} until {} (ban number {} for it)",
                    ban.target,
                    when(ban.until_ms),
                    ban.offenses
                );
                Ok(())
            }
            BansCommand::Remove { db, target: t } => {
                let t = target(&t)?;
                let (database, cluster) = open(&db).await?;
                let mut lifted = bans::lift(&database, &t)
                    .await
                    .map_err(|e| Failure(1, e.to_string()))?;
                if let Some(c) = &cluster {
                    lifted |= gateway::edge::cluster::lift_ban(c, &t).await.map_err(|e| {
                        Failure(1, format!("lifted here, but not through Redis: {e}"))
                    })?;
                }
                if lifted {
                    println!("ban on {t} lifted");
                    Ok(())
                } else {
                    Err(Failure(1, format!("{t} is not banned")))
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_targets_parse_or_say_why() {
        assert_eq!(parse_duration("90s").ok().unwrap(), 90);
        assert_eq!(parse_duration("15m").ok().unwrap(), 900);
        assert_eq!(parse_duration("2d").ok().unwrap(), 172_800);
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("h").is_err());
        assert_eq!(target("203.0.113.7").ok().unwrap(), "203.0.113.7");
        assert_eq!(target("198.51.100.77/24").ok().unwrap(), "198.51.100.0/24");
        assert_eq!(target("2001:db8::1/128").ok().unwrap(), "2001:db8::1");
        assert!(target("example.com").is_err());
    }
}
