//! `rampart users ...`, `rampart access review` and `rampart audit ...`:
//! staff accounts, access reviews and the audit trail from the command
//! line. Flag parsing and printing only; the `auth` crate does the work,
//! in the same database the gateway's access gate uses (the
//! configuration's `server.database`, else DATA_DIR/rampart.sqlite).
//!
//! Secrets (a generated password, a TOTP secret, recovery codes) are
//! printed once, to stdout, by the command that creates them, and never
//! appear in an error message or the audit trail.

use std::io::{IsTerminal, Read, Write};

use auth::users::NewAccount;
use auth::{Auth, Enrollment, Settings};
use clap::{Args, Subcommand};
use gateway::StateLocation;
use store::Database;

use crate::{usage, Failure, StateArgs};

/// Where the staff database is.
#[derive(Args, Clone)]
pub struct StaffDb {
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
pub enum UsersCommand {
    /// Create a staff account. Prints, once: the password (when generated),
    /// the authenticator secret with its otpauth:// link (and a QR code on
    /// a terminal), and ten single-use recovery codes.
    Add {
        #[command(flatten)]
        db: StaffDb,
        /// The user name (a-z, 0-9, '.', '_', '-', '@'; at most 64)
        #[arg(value_name = "NAME")]
        name: String,
        /// owner, admin, developer, support, auditor or a custom role
        #[arg(long, value_name = "ROLE", default_value = "admin")]
        role: String,
        /// Read the password from stdin (first line) instead of generating one
        #[arg(long)]
        password_stdin: bool,
        /// Enroll no authenticator (only for roles the configuration's
        /// mfa_roles exempts; other roles cannot sign in without one)
        #[arg(long)]
        no_mfa: bool,
        /// Print the credentials as one JSON object
        #[arg(long)]
        json: bool,
    },
    /// List staff accounts: role, MFA, status, last sign-in.
    List {
        #[command(flatten)]
        db: StaffDb,
        /// One JSON object per line
        #[arg(long)]
        json: bool,
    },
    /// Offboard: the account can no longer sign in and every session of it
    /// ends at once, on every gateway node.
    Disable {
        #[command(flatten)]
        db: StaffDb,
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Allow a disabled account to sign in again.
    Enable {
        #[command(flatten)]
        db: StaffDb,
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Change an account's role (recorded in the audit trail and shown by
    /// the next access review).
    SetRole {
        #[command(flatten)]
        db: StaffDb,
        #[arg(value_name = "NAME")]
        name: String,
        #[arg(value_name = "ROLE")]
        role: String,
    },
    /// Replace an account's password (generated and printed, or read from
    /// stdin); its sessions end.
    SetPassword {
        #[command(flatten)]
        db: StaffDb,
        #[arg(value_name = "NAME")]
        name: String,
        /// Read the new password from stdin (first line)
        #[arg(long)]
        password_stdin: bool,
    },
    /// An account's passkeys (registered by its owner at
    /// https://SHOP/.rampart/passkeys): id, name, added, last used.
    Passkeys {
        #[command(flatten)]
        db: StaffDb,
        #[arg(value_name = "NAME")]
        name: String,
        /// One JSON object per line
        #[arg(long)]
        json: bool,
    },
    /// Remove one passkey of an account (a lost laptop or security key).
    RemovePasskey {
        #[command(flatten)]
        db: StaffDb,
        #[arg(value_name = "NAME")]
        name: String,
        /// The id `rampart users passkeys` shows
        #[arg(value_name = "ID")]
        id: i64,
    },
    /// A lost phone: remove the account's authenticator, passkeys and
    /// recovery codes, end its sessions, and print a new enrollment.
    ResetMfa {
        #[command(flatten)]
        db: StaffDb,
        #[arg(value_name = "NAME")]
        name: String,
        /// Print the enrollment as one JSON object
        #[arg(long)]
        json: bool,
    },
    /// End every session of an account now (it may sign in again).
    Revoke {
        #[command(flatten)]
        db: StaffDb,
        #[arg(value_name = "NAME")]
        name: String,
    },
}

#[derive(Subcommand)]
pub enum AccessCommand {
    /// The periodic access review: accounts without MFA, accounts unused for
    /// --inactive-days, privileged accounts, role changes since the last
    /// sign-off. Exit 1 when an account lacks MFA or is unused, unless
    /// --sign-off records that a reviewer has seen and accepted it.
    Review {
        #[command(flatten)]
        db: StaffDb,
        /// An account not signed in for this many days is inactive
        #[arg(long, value_name = "DAYS", default_value_t = 90)]
        inactive_days: i64,
        /// Record the review as signed off by this reviewer
        #[arg(long, value_name = "REVIEWER")]
        sign_off: Option<String>,
        /// The review as JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain of the staff audit trail: prints the number of
    /// entries and the head hash (keep it: a later run must extend it), or
    /// the first broken entry (exit 1).
    Verify {
        #[command(flatten)]
        db: StaffDb,
        /// The result as JSON
        #[arg(long)]
        json: bool,
    },
    /// Print audit trail entries, oldest first.
    Show {
        #[command(flatten)]
        db: StaffDb,
        /// Only entries after this sequence number
        #[arg(long, value_name = "SEQ", default_value_t = 0)]
        after: i64,
        /// At most this many
        #[arg(long, value_name = "N", default_value_t = 1000)]
        limit: i64,
        /// One JSON object per line
        #[arg(long)]
        json: bool,
    },
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| usage(format!("cannot start the runtime: {e}")))
}

fn fail(e: auth::AuthError) -> Failure {
    use auth::AuthError as E;
    let code = match e {
        E::Store(_) | E::Query(_) | E::Internal(_) => 1,
        _ => 2,
    };
    Failure(code, e.to_string())
}

/// Who the audit trail names for a command-line change.
fn actor() -> String {
    let who = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let who: String = who.chars().filter(|c| !c.is_control()).take(48).collect();
    format!("cli:{who}")
}

/// Opens the database the gateways share: `--database URL`, else the
/// configuration's `server.database`, else DATA_DIR/rampart.sqlite
/// (`create` makes the data directory; without it a missing file is an
/// error). Also returns the configuration, if one was found.
pub async fn open_database(
    state: &StateArgs,
    database: Option<&str>,
    create: bool,
) -> Result<(Database, Option<gateway::Config>), Failure> {
    let located =
        StateLocation::resolve(state.config.as_deref(), state.data.as_deref()).map_err(usage)?;
    let url = database.map(str::to_string).or_else(|| {
        located
            .config
            .as_ref()
            .and_then(|c| c.server.database.clone())
    });
    let db = match url {
        Some(url) => Database::connect(&url).await,
        None => {
            let dir = &located.data_dir;
            let file = dir.join("rampart.sqlite");
            if create {
                std::fs::create_dir_all(dir)
                    .map_err(|e| usage(format!("data directory {}: {e}", dir.display())))?;
            } else if !file.is_file() {
                return Err(usage(format!(
                    "no staff database at {} (pass --data DIR, --config FILE or --database URL; `rampart users add` creates it)",
                    file.display()
                )));
            }
            Database::open_sqlite(&file).await
        }
    }
    .map_err(usage)?;
    Ok((db, located.config))
}

/// Opens the staff database; `create` makes the data directory when the
/// default SQLite file is used.
pub async fn open(db: &StaffDb, create: bool) -> Result<Auth, Failure> {
    let (database, _) = open_database(&db.state, db.database.as_deref(), create).await?;
    Auth::open(database, Settings::default())
        .await
        .map_err(fail)
}

/// The first line of stdin, without its line ending.
fn password_from_stdin() -> Result<String, Failure> {
    let mut text = String::new();
    std::io::stdin()
        .lock()
        .take(4096)
        .read_to_string(&mut text)
        .map_err(|e| usage(format!("reading the password from stdin: {e}")))?;
    let line = text.lines().next().unwrap_or("").to_string();
    if line.is_empty() {
        return Err(usage("--password-stdin: stdin held no password"));
    }
    Ok(line)
}

fn time_text(t: Option<i64>) -> String {
    match t.and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok()) {
        Some(t) => t
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        None => "never".into(),
    }
}

fn enrollment_json(e: &Enrollment) -> serde_json::Value {
    serde_json::json!({
        "totp_secret": e.totp_secret.expose(),
        "otpauth_uri": e.otpauth_uri.expose(),
        "recovery_codes": e.recovery_codes.iter().map(|c| c.expose()).collect::<Vec<_>>(),
    })
}

fn print_enrollment(out: &mut impl Write, e: &Enrollment) -> std::io::Result<()> {
    writeln!(
        out,
        "\nTwo-factor authentication: add the account to an authenticator app"
    )?;
    writeln!(out, "  secret: {}", e.totp_secret.expose())?;
    writeln!(out, "  link:   {}", e.otpauth_uri.expose())?;
    if std::io::stdout().is_terminal() {
        if let Ok(qr) = auth::totp::qr_text(e.otpauth_uri.expose()) {
            writeln!(out, "{qr}")?;
        }
    }
    writeln!(
        out,
        "\nRecovery codes (each works once; keep them offline, away from the phone):"
    )?;
    for c in &e.recovery_codes {
        writeln!(out, "  {}", c.expose())?;
    }
    Ok(())
}

/// Prints a new account's credentials (text or JSON).
pub fn print_new_account(account: &NewAccount, json: bool) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    let written = if json {
        let mut v = serde_json::json!({
            "username": account.user.username,
            "role": account.user.role,
            "password": account.generated_password.as_ref().map(|p| p.expose()),
        });
        if let Some(e) = &account.enrollment {
            if let (Some(obj), serde_json::Value::Object(more)) =
                (v.as_object_mut(), enrollment_json(e))
            {
                obj.extend(more);
            }
        }
        writeln!(out, "{v}")
    } else {
        (|| {
            writeln!(
                out,
                "Created staff account {} (role {}).",
                account.user.username, account.user.role
            )?;
            if let Some(p) = &account.generated_password {
                writeln!(out, "  password: {}   (shown once)", p.expose())?;
            }
            if let Some(e) = &account.enrollment {
                print_enrollment(&mut out, e)?;
            }
            Ok(())
        })()
    };
    written
        .and_then(|_| out.flush())
        .map_err(|e| usage(format!("writing stdout: {e}")))
}

fn say(line: impl std::fmt::Display) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|_| out.flush())
        .map_err(|e| usage(format!("writing stdout: {e}")))
}

pub fn users(command: UsersCommand) -> Result<(), Failure> {
    let rt = runtime()?;
    rt.block_on(async move {
        match command {
            UsersCommand::Add {
                db,
                name,
                role,
                password_stdin,
                no_mfa,
                json,
            } => {
                let password = password_stdin.then(password_from_stdin).transpose()?;
                let auth = open(&db, true).await?;
                let account = auth
                    .add_user(&name, password.as_deref(), &role, !no_mfa, &actor())
                    .await
                    .map_err(fail)?;
                print_new_account(&account, json)
            }
            UsersCommand::List { db, json } => {
                let auth = open(&db, false).await?;
                let users = auth.users().await.map_err(fail)?;
                let now = auth.now();
                let mut out = std::io::stdout().lock();
                let mut lines = Vec::new();
                if json {
                    for u in &users {
                        lines.push(serde_json::to_string(u).unwrap_or_default());
                    }
                } else {
                    lines.push(format!(
                        "{:<24} {:<10} {:<4} {:<9} {:<25} RECOVERY",
                        "USER", "ROLE", "MFA", "STATUS", "LAST SIGN-IN"
                    ));
                    for u in &users {
                        let status = if u.disabled {
                            "disabled"
                        } else if u.locked_until > now {
                            "locked"
                        } else {
                            "active"
                        };
                        lines.push(format!(
                            "{:<24} {:<10} {:<4} {:<9} {:<25} {}",
                            u.username,
                            u.role,
                            if u.mfa { "yes" } else { "NO" },
                            status,
                            time_text(u.last_login),
                            u.recovery_codes_left
                        ));
                    }
                }
                for l in lines {
                    if writeln!(out, "{l}").is_err() {
                        return Ok(());
                    }
                }
                let _ = out.flush();
                Ok(())
            }
            UsersCommand::Disable { db, name } => {
                let auth = open(&db, false).await?;
                let ended = auth.disable_user(&name, &actor()).await.map_err(fail)?;
                say(format!(
                    "Disabled {}: it can no longer sign in; {ended} session(s) ended.",
                    name.trim().to_ascii_lowercase()
                ))
            }
            UsersCommand::Enable { db, name } => {
                let auth = open(&db, false).await?;
                auth.enable_user(&name, &actor()).await.map_err(fail)?;
                say(format!(
                    "Enabled {}: it may sign in again.",
                    name.trim().to_ascii_lowercase()
                ))
            }
            UsersCommand::SetRole { db, name, role } => {
                let auth = open(&db, false).await?;
                auth.set_role(&name, &role, &actor()).await.map_err(fail)?;
                let u = auth.user(&name).await.map_err(fail)?;
                say(format!("{} now has the role {}.", u.username, u.role))
            }
            UsersCommand::SetPassword {
                db,
                name,
                password_stdin,
            } => {
                let typed = password_stdin.then(password_from_stdin).transpose()?;
                let auth = open(&db, false).await?;
                let generated = match &typed {
                    Some(_) => None,
                    None => Some(auth::generate_password()),
                };
                let password = match (&typed, &generated) {
                    (Some(t), _) => t.as_str(),
                    (None, Some(g)) => g.expose(),
                    (None, None) => unreachable!("one of them is set"),
                };
                auth.set_password(&name, password, &actor())
                    .await
                    .map_err(fail)?;
                let u = auth.user(&name).await.map_err(fail)?;
                match &generated {
                    Some(g) => say(format!(
                        "New password for {}: {}   (shown once; its sessions ended)",
                        u.username,
                        g.expose()
                    )),
                    None => say(format!(
                        "Password of {} changed; its sessions ended.",
                        u.username
                    )),
                }
            }
            UsersCommand::Passkeys { db, name, json } => {
                let auth = open(&db, false).await?;
                let keys = auth.passkeys(&name).await.map_err(fail)?;
                let mut lines = Vec::new();
                if json {
                    for k in &keys {
                        lines.push(serde_json::to_string(k).unwrap_or_default());
                    }
                } else {
                    lines.push(format!(
                        "{:<6} {:<32} {:<25} LAST USED",
                        "ID", "NAME", "ADDED"
                    ));
                    for k in &keys {
                        lines.push(format!(
                            "{:<6} {:<32} {:<25} {}",
                            k.id,
                            k.name,
                            time_text(Some(k.created)),
                            time_text(k.last_used)
                        ));
                    }
                }
                let mut out = std::io::stdout().lock();
                for l in lines {
                    if writeln!(out, "{l}").is_err() {
                        return Ok(());
                    }
                }
                let _ = out.flush();
                Ok(())
            }
            UsersCommand::RemovePasskey { db, name, id } => {
                let auth = open(&db, false).await?;
                if auth.remove_passkey(&name, id, &actor()).await.map_err(fail)? {
                    say(format!(
                        "Removed passkey {id} of {}.",
                        name.trim().to_ascii_lowercase()
                    ))
                } else {
                    Err(usage(format!(
                        "{} has no passkey {id} (see `rampart users passkeys {}`)",
                        name.trim().to_ascii_lowercase(),
                        name.trim().to_ascii_lowercase()
                    )))
                }
            }
            UsersCommand::ResetMfa { db, name, json } => {
                let auth = open(&db, false).await?;
                let e = auth.reset_mfa(&name, &actor()).await.map_err(fail)?;
                if json {
                    say(enrollment_json(&e))
                } else {
                    let mut out = std::io::stdout().lock();
                    writeln!(
                        out,
                        "Reset two-factor authentication of {}: the old authenticator, passkeys and recovery codes no longer work; its sessions ended.",
                        name.trim().to_ascii_lowercase()
                    )
                    .and_then(|_| print_enrollment(&mut out, &e))
                    .and_then(|_| out.flush())
                    .map_err(|e| usage(format!("writing stdout: {e}")))
                }
            }
            UsersCommand::Revoke { db, name } => {
                let auth = open(&db, false).await?;
                let ended = auth.revoke_sessions(&name, &actor()).await.map_err(fail)?;
                say(format!(
                    "Ended {ended} session(s) of {}.",
                    name.trim().to_ascii_lowercase()
                ))
            }
        }
    })
}

pub fn access(command: AccessCommand) -> Result<(), Failure> {
    let AccessCommand::Review {
        db,
        inactive_days,
        sign_off,
        json,
    } = command;
    if !(1..=3650).contains(&inactive_days) {
        return Err(usage(format!(
            "--inactive-days {inactive_days}: use a number of days from 1 to 3650"
        )));
    }
    runtime()?.block_on(async move {
        let auth = open(&db, false).await?;
        let review = auth.review(inactive_days).await.map_err(fail)?;
        if let Some(reviewer) = &sign_off {
            auth.sign_off(reviewer, &review).await.map_err(fail)?;
        }
        let text = if json {
            let mut v = serde_json::to_value(&review).unwrap_or_default();
            v["findings"] = review.findings().into();
            v["signed_off_by"] = sign_off.clone().into();
            v.to_string()
        } else {
            review_text(&review, sign_off.as_deref())
        };
        say(text)?;
        if review.findings() > 0 && sign_off.is_none() {
            return Err(Failure(
                1,
                format!(
                    "access review: {} finding(s) to act on or sign off",
                    review.findings()
                ),
            ));
        }
        Ok(())
    })
}

fn review_text(r: &auth::review::Review, sign_off: Option<&str>) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Access review, {} ({} enabled account(s), {} disabled)",
        time_text(Some(r.generated)),
        r.accounts,
        r.disabled_accounts
    );
    match &r.last_review {
        Some(p) => {
            let _ = writeln!(
                s,
                "Last signed off by {} on {}",
                p.reviewer,
                time_text(Some(p.time))
            );
        }
        None => {
            let _ = writeln!(s, "Never signed off before.");
        }
    }
    let section = |s: &mut String, title: &str, lines: &[auth::review::AccountLine]| {
        let _ = writeln!(s, "\n{title}: {}", lines.len());
        for a in lines {
            let _ = writeln!(
                s,
                "  {:<24} {:<10} MFA {:<3} last sign-in {}",
                a.username,
                a.role,
                if a.mfa { "yes" } else { "NO" },
                time_text(a.last_login)
            );
        }
    };
    section(&mut s, "Accounts without MFA", &r.without_mfa);
    section(
        &mut s,
        &format!("Accounts unused for {} days or more", r.inactive_days),
        &r.inactive,
    );
    section(&mut s, "Privileged accounts", &r.privileged);
    let _ = writeln!(
        s,
        "\nRole changes since the last review: {}",
        r.role_changes.len()
    );
    for c in &r.role_changes {
        let from = if c.from.is_empty() {
            "(new account)"
        } else {
            &c.from
        };
        let _ = writeln!(
            s,
            "  {} {}: {} -> {} by {}",
            time_text(Some(c.time)),
            c.username,
            from,
            c.to,
            c.actor
        );
    }
    match sign_off {
        Some(who) => {
            let _ = write!(s, "\nSigned off by {who} (recorded in the audit trail).");
        }
        None => {
            let _ = write!(
                s,
                "\n{} finding(s). Sign off with --sign-off \"YOUR NAME\" once reviewed.",
                r.findings()
            );
        }
    }
    s
}

pub fn audit(command: AuditCommand) -> Result<(), Failure> {
    runtime()?.block_on(async move {
        match command {
            AuditCommand::Verify { db, json } => {
                let auth = open(&db, false).await?;
                let v = auth.verify_audit().await.map_err(fail)?;
                if json {
                    say(serde_json::to_string(&v).unwrap_or_default())?;
                }
                match v {
                    auth::audit::Verification::Intact { entries, head } => {
                        if !json {
                            say(format!(
                                "Audit trail intact: {entries} entries; head {head}"
                            ))?;
                        }
                        Ok(())
                    }
                    auth::audit::Verification::Broken {
                        seq,
                        reason,
                        verified,
                    } => Err(Failure(
                        1,
                        format!(
                            "audit trail BROKEN at entry {seq}: {reason} ({verified} entries before it verified)"
                        ),
                    )),
                }
            }
            AuditCommand::Show {
                db,
                after,
                limit,
                json,
            } => {
                if !(1..=100_000).contains(&limit) {
                    return Err(usage(format!("--limit {limit}: use 1 to 100000")));
                }
                let auth = open(&db, false).await?;
                let entries = auth.audit_entries(after, limit).await.map_err(fail)?;
                let mut out = std::io::stdout().lock();
                for e in entries {
                    let line = if json {
                        serde_json::to_string(&e).unwrap_or_default()
                    } else {
                        format!(
                            "{:>6} {} {:<22} actor={} subject={} {}",
                            e.seq,
                            time_text(Some(e.time)),
                            e.kind,
                            e.actor,
                            e.subject,
                            e.detail
                        )
                    };
                    if writeln!(out, "{line}").is_err() {
                        return Ok(());
                    }
                }
                let _ = out.flush();
                Ok(())
            }
        }
    })
}
