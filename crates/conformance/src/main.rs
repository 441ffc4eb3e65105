//! `rampart-conformance`: plays the CRS regression suite.
//!
//! ```text
//! rampart-conformance --crs ../shared/crs-4.28.0 [--rule ID]... [--overrides FILE]
//!                     [--gateway target/release/rampart]
//! ```
//! Without `--gateway` each request goes straight into the rule engine;
//! with it, through a real `rampart serve` over TLS to a local backend.
//! Prints each failing test and a closing `N passed, N failed, N skipped`
//! line; exits 1 when a test failed, 2 on a usage or load error.

use std::path::PathBuf;
use std::process::ExitCode;

use conformance::engine::EnginePlayer;
use conformance::ftw::load_suite;
use conformance::gateway::{start_albedo, GatewayPlayer, GatewayUnderTest};
use conformance::overrides::OverridesFile;
use conformance::report::run;

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rampart-conformance: {e}");
            ExitCode::from(2)
        }
    }
}

fn real_main() -> Result<ExitCode, String> {
    let mut crs: Option<PathBuf> = None;
    let mut rules: Vec<u32> = Vec::new();
    let mut overrides: Option<PathBuf> = None;
    let mut test: Option<u32> = None;
    let mut trace = false;
    let mut gateway: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--crs" => crs = Some(args.next().ok_or("--crs needs a directory")?.into()),
            "--rule" => rules.push(
                args.next()
                    .ok_or("--rule needs an id")?
                    .parse()
                    .map_err(|_| "--rule needs a numeric id")?,
            ),
            "--test" => {
                test = Some(
                    args.next()
                        .ok_or("--test needs an id")?
                        .parse()
                        .map_err(|_| "--test needs a numeric id")?,
                )
            }
            "--trace" => trace = true,
            "--gateway" => {
                gateway = Some(
                    args.next()
                        .ok_or("--gateway needs the rampart binary")?
                        .into(),
                )
            }
            "--overrides" => {
                overrides = Some(args.next().ok_or("--overrides needs a file")?.into())
            }
            "-h" | "--help" => {
                println!("usage: rampart-conformance --crs DIR [--rule ID]... [--test N] [--trace] [--overrides FILE] [--gateway RAMPART_BIN]");
                return Ok(ExitCode::SUCCESS);
            }
            other => return Err(format!("unknown argument '{other}' (see --help)")),
        }
    }
    let crs = crs.ok_or("--crs DIR is required")?;
    let cases = load_suite(&crs.join("tests/regression/tests"))?;
    let overrides = match overrides {
        Some(p) => OverridesFile::load(&p)?,
        None => OverridesFile {
            test_overrides: vec![],
        },
    };
    let cases: Vec<_> = cases
        .into_iter()
        .filter(|c| test.is_none_or(|t| c.test.test_id == t))
        .collect();
    let filter = |id: u32| rules.is_empty() || rules.contains(&id);
    let summary = match gateway {
        None => {
            let mut player = EnginePlayer::load(&crs)?;
            player.trace = trace;
            run(&cases, &player, &overrides, &filter)
        }
        Some(bin) => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            let backend = runtime
                .block_on(start_albedo())
                .map_err(|e| format!("backend: {e}"))?;
            let gw = GatewayUnderTest::start(&bin, &crs, backend)?;
            let player = GatewayPlayer::new(&gw, runtime)?;
            run(&cases, &player, &overrides, &filter)
        }
    };
    print!("{}", summary.render());
    Ok(if summary.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
