#!/usr/bin/env bash
# Card vault speed on one core: tokenizations and detokenizations per
# second and p99 latency per call, on SQLite (a file in a temporary
# directory) and, when RAMPART_TEST_POSTGRES (or PG_URL) names one, on
# PostgreSQL (in a schema of its own, dropped afterwards).
#
# Usage: bench/vault.sh            (CARDS=100000 BATCH=500 SINGLES=2000)
# Needs: taskset; psql for the PostgreSQL half.
set -euo pipefail
cd "$(dirname "$0")/.."

CARDS=${CARDS:-100000}
BATCH=${BATCH:-500}
SINGLES=${SINGLES:-2000}
CPU=${CPU:-0}
PG_URL=${PG_URL:-${RAMPART_TEST_POSTGRES:-}}

cargo build --release -p vault --example vault_bench >&2
BENCH=$PWD/target/release/examples/vault_bench
ARGS=(--cards "$CARDS" --batch "$BATCH" --singles "$SINGLES")

echo "== SQLite (WAL, synchronous=FULL), pinned to CPU $CPU"
taskset -c "$CPU" "$BENCH" "${ARGS[@]}"

if [ -n "$PG_URL" ]; then
    SCHEMA="vault_bench_$$"
    psql "$PG_URL" -Atqc "DROP SCHEMA IF EXISTS $SCHEMA CASCADE; CREATE SCHEMA $SCHEMA"
    trap 'psql "$PG_URL" -Atqc "DROP SCHEMA IF EXISTS $SCHEMA CASCADE"' EXIT
    case "$PG_URL" in *\?*) SEP='&' ;; *) SEP='?' ;; esac
    echo "== PostgreSQL (the client pinned to CPU $CPU; the server is not pinned)"
    taskset -c "$CPU" "$BENCH" "${ARGS[@]}" --database "${PG_URL}${SEP}options=-csearch_path%3D${SCHEMA}"
fi
