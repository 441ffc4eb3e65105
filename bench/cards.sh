#!/usr/bin/env bash
# The added latency of inline tokenization on the checkout POST, on
# loopback, in one run: the same 1 KB urlencoded checkout form with a test
# card in clear (bench/workloads/card-checkout.http) through Rampart
# without [vault] (the peer: the bare proxy) and through Rampart with
# [vault] (every request stores a new card in the SQLite vault, durably,
# before it goes on; security code held; leak prevention on the answer).
# wrk -t1 --latency with 1 connection (one shopper: the latency a customer
# sees) and with 16, the servers on core 0 and wrk on core 1.
# Reports req/s, p50 and p99 of each and the added latency; the goal is
# the issue's "added latency of inline tokenization", recorded in
# BENCHMARKS.md.
#
# Usage: bench/cards.sh     (DURATION=20s CONNECTIONS=16 by default)
# Needs: nginx, wrk, openssl, taskset, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-16}
for tool in nginx wrk openssl taskset curl python3; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install nginx wrk)" >&2; exit 2; }
done

# RAMPART_BIN=path measures that binary instead (an A/B of two builds).
if [ -n "${RAMPART_BIN:-}" ]; then
    RAMPART=$(realpath "$RAMPART_BIN")
else
    cargo build --release -p rampart >&2
    RAMPART=$PWD/target/release/rampart
fi

WORK=$(mktemp -d /tmp/rampart-cards-bench.XXXXXX)
chmod 755 "$WORK"
cleanup() {
    for pid in $(cat "$WORK"/*/pid 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
BACKEND=$(free_port)
mkdir -p "$WORK/nginx"
cat > "$WORK/nginx/backend.conf" <<CONF
worker_processes 1;
pid $WORK/nginx/backend.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/body;
    keepalive_requests 1000000;
    server { listen 127.0.0.1:$BACKEND; location / { default_type text/html; return 200 "<p>Thank you for your order.</p>\n"; } }
}
CONF
taskset -c 0 nginx -c "$WORK/nginx/backend.conf" -g 'daemon off;' &
mkdir -p "$WORK/backend"; echo $! > "$WORK/backend/pid"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null

start_rampart() { # $1: name, $2: extra top-level tables
    mkdir -p "$WORK/$1"
    cat > "$WORK/$1/rampart.toml" <<CONF
[server]
https = "127.0.0.1:0"
data_dir = "$WORK/$1/data"
$2

[[site]]
hosts = ["localhost", "127.0.0.1"]
upstream = "http://127.0.0.1:$BACKEND"
tls = { cert = "$WORK/cert.pem", key = "$WORK/key.pem" }
platform = "demo"
CONF
    taskset -c 0 "$RAMPART" serve --config "$WORK/$1/rampart.toml" > "$WORK/$1/out" 2> "$WORK/$1/err" &
    echo $! > "$WORK/$1/pid"
    for _ in $(seq 100); do grep -q listening "$WORK/$1/out" 2>/dev/null && break; sleep 0.1; done
    sed -n 's/.*https=\([^ ]*\).*/\1/p' "$WORK/$1/out"
}
"$RAMPART" vault keygen "$WORK/vault.keys" >/dev/null
PLAIN=$(start_rampart plain "")
CARDS=$(start_rampart cards "[vault]
key_file = \"$WORK/vault.keys\"")
for a in "$PLAIN" "$CARDS"; do
    [ -n "$a" ] || { echo "bench: a rampart did not start" >&2; cat "$WORK"/*/err >&2; exit 2; }
done
# The tokenizing gateway really tokenizes.
body=$(python3 -c 'import sys; print(open(sys.argv[1], "rb").read().split(b"\r\n\r\n", 1)[1].decode(), end="")' bench/workloads/card-checkout.http)
curl -sk -o /dev/null -H 'content-type: application/x-www-form-urlencoded' --data-binary "$body" "https://$CARDS/checkout"
[ "$("$RAMPART" vault status --data "$WORK/cards/data" --key-file "$WORK/vault.keys" | awk 'NR == 1 { print $1 }')" = 1 ] \
    || { echo "bench: the checkout was not tokenized" >&2; "$RAMPART" vault status --data "$WORK/cards/data" --key-file "$WORK/vault.keys" >&2; exit 2; }

ms() { # wrk latency "1.23ms" / "850.00us" / "1.20s" -> milliseconds
    awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'
}
measure() { # $1: name, $2: address -> "name req/s p50-ms p99-ms"
    local out
    out=$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/workload.lua \
        "https://$2" -- bench/workloads/card-checkout.http)
    if echo "$out" | grep -q "Non-2xx\|Socket errors"; then
        echo "bench: $1 answered errors:" >&2; echo "$out" >&2; exit 1
    fi
    echo "$1 $(echo "$out" | awk '/Requests\/sec/ { print $2 }') $(ms "$(echo "$out" | awk '$1 == "50%" { print $2 }')") $(ms "$(echo "$out" | awk '$1 == "99%" { print $2 }')")"
}
FULL=$DURATION; DURATION=3s
measure warm "$PLAIN" >/dev/null; measure warm "$CARDS" >/dev/null
DURATION=$FULL
report() { # $1: connections
    CONNECTIONS=$1
    read -r _ PR P50 P99 <<<"$(measure plain "$PLAIN")"
    read -r _ CR C50 C99 <<<"$(measure cards "$CARDS")"
    echo "wrk -t1 -c$1:"
    printf '  %-34s %10s %9s %9s\n' 'checkout POST through' 'req/s' 'p50 ms' 'p99 ms'
    printf '  %-34s %10.0f %9.3f %9.3f\n' 'rampart (no [vault])' "$PR" "$P50" "$P99" 'rampart ([vault], tokenizing)' "$CR" "$C50" "$C99"
    awk -v pr="$PR" -v cr="$CR" -v p50="$P50" -v c50="$C50" -v p99="$P99" -v c99="$C99" 'BEGIN {
        printf "  tokenizing/plain %.3f in req/s; added latency p50 %+.3f ms, p99 %+.3f ms\n", cr / pr, c50 - p50, c99 - p99 }'
}
# One shopper at a time (the latency a customer sees), then 16 at once.
MANY=$CONNECTIONS
report 1
report "$MANY"
STORED=$("$RAMPART" vault status --data "$WORK/cards/data" --key-file "$WORK/vault.keys" | head -1)
echo "vault after the run: $STORED"
