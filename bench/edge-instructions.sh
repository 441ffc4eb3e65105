#!/usr/bin/env bash
# Instructions per request of the edge defenses, counted by callgrind:
# a figure a shared or virtual machine does not disturb (this one has no
# hardware counters for `perf stat`), to compare two builds of the edge.
#
# The benign workload of bench/edge.sh (HTTPS keep-alive GET of a 2 KiB
# page from an nginx backend) through `rampart serve` without `[edge]`
# and with bench/edge.sh's `[edge]` (connection budget, allow and deny
# files of 1,000 entries each, every jail, the `all` and `search` limits).
# Each proxy runs under `valgrind --tool=callgrind`; after a warm-up the
# counters are zeroed, wrk sends load for DURATION, and the instructions
# counted are divided by the requests wrk completed. The output is the
# instructions per request of each, their difference, and the ratio;
# with KEEP=DIR the callgrind files stay in DIR for callgrind_annotate.
#
# Usage: bench/edge-instructions.sh   (DURATION=10s by default)
# Needs: valgrind, nginx, wrk, openssl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
for tool in valgrind callgrind_control nginx wrk openssl python3; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install valgrind nginx wrk)" >&2; exit 2; }
done
# RAMPART_BIN=path measures that binary instead (an A/B of two builds).
if [ -n "${RAMPART_BIN:-}" ]; then
    RAMPART=$(realpath "$RAMPART_BIN")
else
    cargo build --release -p rampart >&2
    RAMPART=$PWD/target/release/rampart
fi

WORK=$(mktemp -d /tmp/rampart-edge-instr.XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}" $(cat "$WORK"/*/pid 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP"; cp "$WORK"/*/callgrind.out.* "$KEEP"/ 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
BACKEND=$(free_port)
mkdir -p "$WORK/www" "$WORK/nginx"
head -c 2048 /dev/zero | tr '\0' 'a' > "$WORK/www/page.html"
chmod -R a+rX "$WORK/www"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
cat > "$WORK/nginx/backend.conf" <<CONF
worker_processes 1;
pid $WORK/nginx/backend.pid;
error_log $WORK/nginx/backend.error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    keepalive_requests 1000000;
    server { listen 127.0.0.1:$BACKEND; root $WORK/www; }
}
CONF
nginx -c "$WORK/nginx/backend.conf" -g 'daemon off;' & PIDS+=($!)

python3 - "$WORK" <<'PY'
import sys
w = sys.argv[1]
with open(f"{w}/allow.txt", "w") as f:
    for i in range(1000):
        f.write(f"198.51.{i // 250}.{i % 250}\n")
with open(f"{w}/deny.txt", "w") as f:
    for i in range(1000):
        f.write(f"203.0.{i // 250}.{i % 250}/32\n" if i % 2 else f"2001:db8:{i:x}::/48\n")
PY

# $1: name, $2: [edge] section -> the instructions per request.
count() {
    local dir=$WORK/$1 addr out requests total
    mkdir -p "$dir"
    cat > "$dir/rampart.toml" <<CONF
[server]
https = "127.0.0.1:0"
data_dir = "$dir/data"
$2

[[site]]
hosts = ["localhost", "127.0.0.1"]
upstream = "http://127.0.0.1:$BACKEND"
tls = { cert = "$WORK/cert.pem", key = "$WORK/key.pem" }
CONF
    # One worker thread: callgrind runs threads one at a time anyway.
    (cd "$dir" && TOKIO_WORKER_THREADS=1 exec valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out.$1" \
        "$RAMPART" serve --config "$dir/rampart.toml" > "$dir/out" 2> "$dir/err") &
    echo $! > "$dir/pid"
    for _ in $(seq 600); do grep -q listening "$dir/out" 2>/dev/null && break; sleep 0.1; done
    addr=$(sed -n 's/.*https=\([^ ]*\).*/\1/p' "$dir/out")
    [ -n "$addr" ] || { echo "bench: rampart ($1) did not start" >&2; cat "$dir/err" >&2; exit 2; }
    wrk -t1 -c4 -d3s "https://$addr/page.html" > /dev/null
    callgrind_control -z "$(cat "$dir/pid")" > /dev/null 2>&1
    out=$(wrk -t1 -c4 -d"$DURATION" "https://$addr/page.html")
    if echo "$out" | grep -q "Non-2xx\|Socket errors"; then
        echo "bench: $1 answered errors:" >&2; echo "$out" >&2; exit 1
    fi
    requests=$(echo "$out" | awk '/requests in/ { print $1 }')
    callgrind_control -d "$(cat "$dir/pid")" > /dev/null 2>&1
    sleep 1
    # The dump made by -d (counts since -z): the one numbered file.
    total=$(grep -hE '^(summary|totals):' "$(ls "$dir"/callgrind.out."$1".* | head -1)" | head -1 | awk '{ print $2 }')
    awk -v t="$total" -v n="$requests" 'BEGIN { printf "%.0f %d\n", t / n, n }'
}
read -r PLAIN PLAIN_N < <(count plain "")
read -r EDGE EDGE_N < <(count edge "[edge]
connection_rate = { per_second = 100000000, burst = 100000000 }
allow_file = \"$WORK/allow.txt\"
deny_file = \"$WORK/deny.txt\"
[edge.limits]
all = { per_minute = 600000000, burst = 10000000 }
search = { per_minute = 600000000, burst = 10000000 }")
printf '%-22s %14s %10s\n' proxy 'instr/request' requests
printf '%-22s %14d %10d\n' 'rampart (no [edge])' "$PLAIN" "$PLAIN_N" 'rampart ([edge] on)' "$EDGE" "$EDGE_N"
awk -v p="$PLAIN" -v e="$EDGE" 'BEGIN { printf "edge - plain: %d instructions per request; edge/plain %.3f\n", e - p, e / p }'
