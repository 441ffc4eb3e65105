//! In-process cost of the WAF engine running the OWASP CRS 4.28.0
//! (`cargo bench -p seclang`): loading and compiling the rule set, and one
//! transaction per workload of `bench/workloads/` at paranoia 1 and 4 in
//! blocking mode.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use seclang::crs::{self, CrsOptions};
use seclang::{Connection, EngineMode};

fn crs_dir() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/crs-4.28.0");
    assert!(p.is_dir(), "missing {}", p.display());
    p
}

fn workloads() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/workloads");
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "http"))
        .map(|p| {
            (
                p.file_stem().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

fn load(paranoia: u8) -> Arc<seclang::RuleSet> {
    let mut o = CrsOptions::new(crs_dir());
    o.paranoia = Some(paranoia);
    o.mode = Some(EngineMode::On);
    Arc::new(crs::load(&o).unwrap())
}

fn bench(c: &mut Criterion) {
    c.bench_function("crs_load_compile", |b| b.iter(|| black_box(load(1))));
    for pl in [1u8, 4] {
        let rules = load(pl);
        for (name, raw) in workloads() {
            let v = seclang::verdict::evaluate(&rules, &raw, Connection::default());
            eprintln!(
                "PL{pl} {name}: {} {} rules {:?}",
                v.action, v.status, v.rules
            );
            c.bench_function(&format!("pl{pl}/{name}"), |b| {
                b.iter(|| {
                    black_box(seclang::verdict::evaluate(
                        &rules,
                        black_box(&raw),
                        Connection::default(),
                    ))
                })
            });
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);
