//! The OWASP CRS 4.28.0 regression suite (about 5,000 go-ftw tests) played
//! byte for byte over TLS through the real `rampart serve`, configured as
//! the CRS project tests itself (paranoia 4, detection only), in front of
//! an albedo-compatible backend. What each request matched is read back
//! from the gateway's audit log.
//!
//! Done when ≥ 99.8% pass with at most 10 overrides, each for an HTTP-layer
//! reason (`tests/conformance/gateway-overrides.yaml`).

use std::path::Path;

use conformance::ftw::load_suite;
use conformance::gateway::{start_albedo, GatewayPlayer, GatewayUnderTest};
use conformance::overrides::OverridesFile;
use conformance::report::run;

#[test]
fn crs_regression_suite_through_the_gateway() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let crs = root.join("../shared/crs-4.28.0");
    assert!(crs.is_dir(), "missing {} (the shared CRS)", crs.display());
    let cases = load_suite(&crs.join("tests/regression/tests")).unwrap();
    assert!(cases.len() > 4900, "only {} tests found", cases.len());
    let overrides =
        OverridesFile::load(&root.join("tests/conformance/gateway-overrides.yaml")).unwrap();
    assert!(overrides.count() <= 10, "{} overrides", overrides.count());
    for o in &overrides.test_overrides {
        assert!(
            o.reason.len() > 40,
            "override {} needs its reason",
            o.rule_id
        );
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let backend = runtime.block_on(start_albedo()).unwrap();
    let gw =
        GatewayUnderTest::start(Path::new(env!("CARGO_BIN_EXE_rampart")), &crs, backend).unwrap();
    let player = GatewayPlayer::new(&gw, runtime).unwrap();
    let summary = run(&cases, &player, &overrides, &|_| true);
    let report = summary.render();
    eprintln!("{report}");
    assert_eq!(
        summary.skipped, 0,
        "overrides must say what happens instead"
    );
    assert!(
        summary.pass_rate() >= 0.998,
        "pass rate {:.2}% below 99.8%",
        100.0 * summary.pass_rate()
    );
    // Every failure is a regression: the suite passes in full today.
    assert_eq!(summary.failed, 0, "{report}");
}
