//! Runs one workload through the CRS many times, for profilers:
//! `cargo run --release -p seclang --example profile_crs -- bench/workloads/cart-json.http 1 2000`
use std::sync::Arc;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let raw = std::fs::read(&args[1]).expect("workload file");
    let pl: u8 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let n: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let crs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/crs-4.28.0");
    let mut o = seclang::crs::CrsOptions::new(crs);
    o.paranoia = Some(pl);
    o.mode = Some(seclang::EngineMode::On);
    let rules = Arc::new(seclang::crs::load(&o).expect("CRS loads"));
    let start = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(seclang::verdict::evaluate(
            &rules,
            &raw,
            seclang::Connection::default(),
        ));
    }
    eprintln!("{:?} per request", start.elapsed() / n as u32);
}
