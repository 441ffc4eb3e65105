//! `rampart waf tune`: reads the audit log, lists the noisiest
//! rule/variable/route combinations with the narrowest exclusion for
//! each, and with `--apply` writes the chosen ones to the site's
//! exclusion file (which a running gateway reloads within a second).
//! The logic lives in `gateway::tune`; this file is flags and output.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use gateway::tune::{self, Proposal};
use gateway::StateLocation;

use crate::{usage, Failure, StateArgs};

#[derive(Args)]
pub(crate) struct TuneArgs {
    #[command(flatten)]
    state: StateArgs,
    /// Only what was recorded in this period: an age (30m, 24h, 7d) or a
    /// time (2026-01-31T12:00:00Z)
    #[arg(long, value_name = "AGE|TIME", default_value = "24h")]
    since: String,
    /// The site to tune [default: the only site with a WAF]
    #[arg(long, value_name = "NAME")]
    site: Option<String>,
    /// Leave out combinations seen in fewer requests
    #[arg(long, value_name = "N", default_value_t = 1)]
    min_hits: usize,
    /// Output: text or json
    #[arg(long, value_name = "FORMAT", default_value = "text")]
    format: String,
    /// Write the exclusions to the site's exclusion file after showing
    /// what is added
    #[arg(long)]
    apply: bool,
    /// With --apply: only these proposals, by their number in the listing
    /// (comma-separated) [default: all listed]
    #[arg(long, value_name = "N,N,…", value_delimiter = ',')]
    pick: Vec<usize>,
    /// With --apply: also remove this rule from the whole site. Never done
    /// unless asked for by id; prefer the scoped exclusions
    #[arg(long, value_name = "ID")]
    remove_rule: Vec<u32>,
    /// The audit log to read [default: DATA_DIR/audit.jsonl]
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
}

pub(crate) fn run(args: &TuneArgs) -> Result<(), Failure> {
    let located = StateLocation::resolve(args.state.config.as_deref(), args.state.data.as_deref())
        .map_err(usage)?;
    let now = time::OffsetDateTime::now_utc();
    let since = ops::event_store::parse_since(&args.since, now).map_err(usage)?;
    if !matches!(args.format.as_str(), "text" | "json") {
        return Err(usage(format!(
            "--format {:?}: use text or json",
            args.format
        )));
    }
    if !args.apply && (!args.pick.is_empty() || !args.remove_rule.is_empty()) {
        return Err(usage(
            "--pick and --remove-rule only make sense with --apply",
        ));
    }
    // The site, and where its exclusion file is.
    let (site_name, exclusions) = match &located.config {
        Some(config) => {
            let with_waf: Vec<_> = config.sites.iter().filter(|s| s.waf.is_some()).collect();
            let site = match &args.site {
                Some(name) => config
                    .sites
                    .iter()
                    .find(|s| &s.name == name)
                    .ok_or_else(|| {
                        usage(format!(
                            "--site {name:?}: no such site in the configuration"
                        ))
                    })?,
                None => match with_waf.as_slice() {
                    [one] => *one,
                    [] => return Err(usage("no site has a [site.waf] table: nothing to tune")),
                    _ => {
                        return Err(usage(format!(
                            "several sites have a WAF ({}): pass --site NAME",
                            with_waf
                                .iter()
                                .map(|s| s.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )))
                    }
                },
            };
            let Some(waf) = &site.waf else {
                return Err(usage(format!(
                    "site {:?} has no [site.waf] table",
                    site.name
                )));
            };
            (
                site.name.clone(),
                gateway::stages::waf::exclusions_file(waf, &site.name, &located.data_dir),
            )
        }
        None => {
            let Some(name) = &args.site else {
                return Err(usage(
                    "no configuration: pass --config FILE, or --site NAME with --data DIR",
                ));
            };
            (
                name.clone(),
                located
                    .data_dir
                    .join("waf")
                    .join(format!("{name}.exclusions.conf")),
            )
        }
    };
    let log = args
        .log
        .clone()
        .unwrap_or_else(|| located.data_dir.join("audit.jsonl"));
    let file = std::fs::File::open(&log).map_err(|e| {
        usage(format!(
            "{}: {e} (the gateway writes it once a rule matches)",
            log.display()
        ))
    })?;
    let observations =
        tune::observations(std::io::BufReader::new(file), Some(since), Some(&site_name))
            .map_err(|e| usage(format!("{}: {e}", log.display())))?;
    let proposals = tune::propose(&observations, args.min_hits);

    let mut out = std::io::stdout().lock();
    let write_err = |e: std::io::Error| usage(format!("writing stdout: {e}"));
    if args.format == "json" && !args.apply {
        let v = serde_json::json!({
            "site": site_name,
            "requests": observations.len(),
            "exclusion_file": exclusions.display().to_string(),
            "proposals": proposals.iter().enumerate().map(|(i, p)| {
                let mut v = serde_json::to_value(p).unwrap_or_default();
                v["number"] = serde_json::json!(i + 1);
                v["seclang"] = serde_json::json!(p.seclang(tune::FIRST_TUNE_ID));
                v
            }).collect::<Vec<_>>(),
        });
        writeln!(out, "{v}").map_err(write_err)?;
        return Ok(());
    }
    if args.format == "text" {
        writeln!(
            out,
            "site {site_name}: {} request(s) with rule matches since {}; {} proposal(s)",
            observations.len(),
            args.since,
            proposals.len()
        )
        .map_err(write_err)?;
        for (i, p) in proposals.iter().enumerate() {
            write_proposal(&mut out, i + 1, p).map_err(write_err)?;
        }
    }
    if !args.apply {
        if !proposals.is_empty() {
            writeln!(
                out,
                "\nApply with `rampart waf tune --apply` (all) or `--apply --pick 1,3`; they go to {}",
                exclusions.display()
            )
            .map_err(write_err)?;
        }
        return Ok(());
    }
    for n in &args.pick {
        if *n == 0 || *n > proposals.len() {
            return Err(usage(format!(
                "--pick {n}: the listing has proposals 1 to {}",
                proposals.len()
            )));
        }
    }
    let chosen: Vec<&Proposal> = if args.pick.is_empty() {
        proposals.iter().collect()
    } else {
        args.pick.iter().map(|n| &proposals[n - 1]).collect()
    };
    let existing = match std::fs::read_to_string(&exclusions) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(usage(format!("{}: {e}", exclusions.display()))),
    };
    let stamp = format!(
        "rampart waf tune, {}",
        now.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    );
    let added = tune::additions(&existing, &chosen, &args.remove_rule, &stamp).map_err(usage)?;
    if added.is_empty() {
        writeln!(
            out,
            "\n{}: nothing to add (already there)",
            exclusions.display()
        )
        .map_err(write_err)?;
        return Ok(());
    }
    writeln!(
        out,
        "\n--- {}\n+++ {}",
        exclusions.display(),
        exclusions.display()
    )
    .map_err(write_err)?;
    for line in added.lines() {
        writeln!(out, "+{line}").map_err(write_err)?;
    }
    tune::apply(&exclusions, &added)
        .map_err(|e| usage(format!("{}: {e}", exclusions.display())))?;
    writeln!(
        out,
        "\nwritten: {} (a running gateway reloads it within a second)",
        exclusions.display()
    )
    .map_err(write_err)?;
    Ok(())
}

fn write_proposal(out: &mut impl Write, n: usize, p: &Proposal) -> std::io::Result<()> {
    let target = p
        .target
        .as_deref()
        .unwrap_or("(no variable: the rule on this route)");
    let place = match &p.scope.path {
        Some(path) => {
            let mut s = path.display().to_string();
            for (k, v) in &p.scope.args {
                s.push_str(&format!(" with {k}={v}"));
            }
            s
        }
        None => "every path".to_string(),
    };
    let only_while = match p.condition() {
        Some((_, chars)) => format!(
            "\n     only while it holds nothing but: {}",
            chars.describe()
        ),
        None => String::new(),
    };
    writeln!(
        out,
        "\n{n:>3}. rule {} on {target} at {place}: {} request(s) ({})\n     {}\n     e.g. {}{only_while}\n     {}",
        p.rule,
        p.hits,
        p.methods.join("/"),
        p.msg,
        p.example,
        p.seclang(tune::FIRST_TUNE_ID).replace('\n', "\n     ")
    )
}
