#!/usr/bin/env bash
# The cost of the edge defenses, and what they buy under a flood, on
# loopback, in one run.
#
# 1. Overhead: the benign workload of bench/proxy.sh (wrk -t1 -c16, HTTPS
#    keep-alive, a 2 KiB page from an nginx backend) through nginx as a
#    plain TLS proxy (the peer), Rampart without [edge], and Rampart with
#    [edge] on: connection cap, allow and deny lists (1,000 entries each),
#    every jail, and rate limits and the per-connection budget checked on
#    every request (set high enough that none refuses). Goal: edge/plain >= 0.95 in req/s.
#    Each run also reports the proxy's CPU time per request (user + system,
#    from /proc/PID/stat), which a busy machine disturbs far less than
#    req/s: edge/plain <= 1.05 in CPU per request is the same goal.
# 2. Flood: Rampart with [edge] limits of 600/min per address; wrk floods
#    from 127.0.0.1 with 64 connections while a customer at 127.0.0.2
#    asks for the page every 100 ms (curl --interface). Goal: the
#    customer's success rate >= 99%.
#
# Usage: bench/edge.sh     (DURATION=20s ROUNDS=1 FLOOD=15s by default)
# Needs: nginx, wrk, openssl, taskset, curl (apt-get install nginx wrk).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-20s}
ROUNDS=${ROUNDS:-1}
FLOOD=${FLOOD:-15}
CONNECTIONS=${CONNECTIONS:-16}
if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx wrk >&2
    fi
fi
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

WORK=$(mktemp -d /tmp/rampart-edge-bench.XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}" $(cat "$WORK"/*/pid 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
BACKEND=$(free_port); NGINX_TLS=$(free_port)

mkdir -p "$WORK/www" "$WORK/nginx"
head -c 2048 /dev/zero | tr '\0' 'a' > "$WORK/www/page.html"
chmod -R a+rX "$WORK/www"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null

nginx_conf() { # $1: name, $2: server block
    cat > "$WORK/nginx/$1.conf" <<CONF
worker_processes 1;
pid $WORK/nginx/$1.pid;
error_log $WORK/nginx/$1.error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/$1.body;
    proxy_temp_path $WORK/nginx/$1.proxy;
    fastcgi_temp_path $WORK/nginx/$1.fastcgi;
    uwsgi_temp_path $WORK/nginx/$1.uwsgi;
    scgi_temp_path $WORK/nginx/$1.scgi;
    keepalive_requests 1000000;
    $2
}
CONF
}
nginx_conf backend "server { listen 127.0.0.1:$BACKEND; root $WORK/www; }"
nginx_conf proxy "upstream store { server 127.0.0.1:$BACKEND; keepalive 64; }
    server {
        listen 127.0.0.1:$NGINX_TLS ssl;
        ssl_certificate $WORK/cert.pem;
        ssl_certificate_key $WORK/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        location / {
            proxy_pass http://store;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$remote_addr;
            proxy_set_header X-Forwarded-Proto https;
        }
    }"
taskset -c 0 nginx -c "$WORK/nginx/backend.conf" -g 'daemon off;' & PIDS+=($!)
taskset -c 0 nginx -c "$WORK/nginx/proxy.conf" -g 'daemon off;' & PIDS+=($!)
mkdir -p "$WORK/nginx-proxy"; echo $! > "$WORK/nginx-proxy/pid"

# 1,000 documentation-range entries in each list file.
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

start_rampart() { # $1: name, $2: [edge] section (may be empty)
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
CONF
    # Run in $(...): the pid goes to a file, for cleanup and CPU time.
    taskset -c 0 "$RAMPART" serve --config "$WORK/$1/rampart.toml" > "$WORK/$1/out" 2> "$WORK/$1/err" &
    echo $! > "$WORK/$1/pid"
    for _ in $(seq 100); do grep -q listening "$WORK/$1/out" 2>/dev/null && break; sleep 0.1; done
    sed -n 's/.*https=\([^ ]*\).*/\1/p' "$WORK/$1/out"
}
PLAIN=$(start_rampart plain "")
EDGE=$(start_rampart edge "[edge]
connection_rate = { per_second = 100000000, burst = 100000000 }
allow_file = \"$WORK/allow.txt\"
deny_file = \"$WORK/deny.txt\"
[edge.limits]
all = { per_minute = 600000000, burst = 10000000 }
search = { per_minute = 600000000, burst = 10000000 }")
FLOODED=$(start_rampart flooded "[edge]
[edge.limits]
all = { per_minute = 600, burst = 100 }")
for a in "$PLAIN" "$EDGE" "$FLOODED"; do
    [ -n "$a" ] || { echo "bench: a rampart did not start" >&2; cat "$WORK"/*/err >&2; exit 2; }
done
sleep 0.5
for url in "https://127.0.0.1:$NGINX_TLS/page.html" "https://$PLAIN/page.html" "https://$EDGE/page.html"; do
    size=$(curl -sk -o /dev/null -w '%{size_download}' "$url")
    [ "$size" = 2048 ] || { echo "bench: $url returned $size bytes" >&2; exit 2; }
done

# CPU time (user + system, clock ticks) of the process whose pid is in $1
# and of its children (nginx's worker).
cpu_ticks() {
    local pid; pid=$(cat "$1")
    for p in "$pid" $(pgrep -P "$pid"); do cat "/proc/$p/stat"; done | awk '{ t += $14 + $15 } END { print t }'
}
TICK_US=$((1000000 / $(getconf CLK_TCK)))
measure() { # $1: name, $2: url, $3: pid file -> "name req/s cpu-us/request"
    local out before after requests
    before=$(cpu_ticks "$3")
    out=$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"$DURATION" "$2")
    after=$(cpu_ticks "$3")
    if echo "$out" | grep -q "Non-2xx\|Socket errors"; then
        echo "bench: $1 answered errors:" >&2; echo "$out" >&2; exit 1
    fi
    requests=$(echo "$out" | awk '/requests in/ { print $1 }')
    echo "$1 $(echo "$out" | awk '/Requests\/sec/ { print $2 }') $(awk -v t=$((after - before)) -v u="$TICK_US" -v n="$requests" 'BEGIN { printf "%.2f", t * u / n }')"
}
FULL=$DURATION; DURATION=3s
measure warm "https://127.0.0.1:$NGINX_TLS/page.html" "$WORK/nginx-proxy/pid" >/dev/null
measure warm "https://$PLAIN/page.html" "$WORK/plain/pid" >/dev/null
measure warm "https://$EDGE/page.html" "$WORK/edge/pid" >/dev/null
DURATION=$FULL
: > "$WORK/rounds"
# Plain and edge swap places every round, so neither always runs second.
for round in $(seq "$ROUNDS"); do
    measure nginx "https://127.0.0.1:$NGINX_TLS/page.html" "$WORK/nginx-proxy/pid" >> "$WORK/rounds"
    if [ $((round % 2)) = 1 ]; then
        measure plain "https://$PLAIN/page.html" "$WORK/plain/pid" >> "$WORK/rounds"
        measure edge "https://$EDGE/page.html" "$WORK/edge/pid" >> "$WORK/rounds"
    else
        measure edge "https://$EDGE/page.html" "$WORK/edge/pid" >> "$WORK/rounds"
        measure plain "https://$PLAIN/page.html" "$WORK/plain/pid" >> "$WORK/rounds"
    fi
done
median() { # $1: name, $2: column
    grep "^$1 " "$WORK/rounds" | awk -v c="$2" '{ print $c }' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}
N=$(median nginx 2); P=$(median plain 2); E=$(median edge 2)
NC=$(median nginx 3); PC=$(median plain 3); EC=$(median edge 3)
if [ "$ROUNDS" -gt 1 ]; then echo "rounds (name, req/s, CPU us/request):"; sed 's/^/  /' "$WORK/rounds"; fi
printf '%-22s %10s %18s\n' proxy 'req/s' 'CPU us/request'
printf '%-22s %10.0f %18.2f\n' nginx "$N" "$NC" 'rampart (no [edge])' "$P" "$PC" 'rampart ([edge] on)' "$E" "$EC"
awk -v n="$N" -v p="$P" -v e="$E" -v pc="$PC" -v ec="$EC" 'BEGIN {
    printf "edge/plain %.3f in req/s (goal >= 0.95), %.3f in CPU per request (goal <= 1.05); plain/nginx %.2f; edge/nginx %.2f\n", e / p, ec / pc, p / n, e / n }'

# 2. Flood from 127.0.0.1, a customer at 127.0.0.2.
taskset -c 1 wrk -t1 -c64 -d"${FLOOD}s" "https://$FLOODED/page.html" > "$WORK/flood.wrk" &
FLOOD_PID=$!
sleep 1
ok=0; total=0
end=$((SECONDS + FLOOD - 2))
while [ $SECONDS -lt $end ]; do
    code=$(curl -sk --interface 127.0.0.2 -o /dev/null -w '%{http_code}' --max-time 5 "https://$FLOODED/page.html" || echo 000)
    total=$((total + 1)); [ "$code" = 200 ] && ok=$((ok + 1))
    sleep 0.1
done
wait "$FLOOD_PID"
FLOOD_RPS=$(awk '/Requests\/sec/ { print $2 }' "$WORK/flood.wrk")
FLOOD_NON2XX=$(awk '/Non-2xx/ { print $5 }' "$WORK/flood.wrk")
FLOOD_TOTAL=$(awk '/requests in/ { print $1 }' "$WORK/flood.wrk")
echo "flood: ${FLOOD_TOTAL:-0} requests from 127.0.0.1 (${FLOOD_RPS:-0} req/s), ${FLOOD_NON2XX:-0} refused (429)"
awk -v ok="$ok" -v t="$total" 'BEGIN { printf "customer at 127.0.0.2 during the flood: %d/%d answered 200 = %.1f%% (goal >= 99%%)\n", ok, t, 100 * ok / t }'
