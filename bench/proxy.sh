#!/usr/bin/env bash
# Rampart (no stages) against nginx as a plain TLS reverse proxy, on
# loopback, in one run. Both proxy to the same backend: nginx serving a
# 2 KiB static page over plain HTTP. Proxy and backend are pinned to CPU 0,
# wrk to CPU 1; wrk -t1 -c16 over HTTPS with keep-alive.
#
# Usage: bench/proxy.sh            (DURATION=20s CONNECTIONS=16 by default)
# Needs: nginx, wrk, openssl, taskset (apt-get install nginx wrk).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-20s}
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

WORK=$(mktemp -d /tmp/rampart-bench.XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
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

cat > "$WORK/rampart.toml" <<CONF
[server]
https = "127.0.0.1:0"
data_dir = "$WORK/data"

[[site]]
hosts = ["localhost", "127.0.0.1"]
upstream = "http://127.0.0.1:$BACKEND"
tls = { cert = "$WORK/cert.pem", key = "$WORK/key.pem" }
CONF
taskset -c 0 "$RAMPART" serve --config "$WORK/rampart.toml" > "$WORK/rampart.out" 2> "$WORK/rampart.err" & PIDS+=($!)
for _ in $(seq 100); do grep -q listening "$WORK/rampart.out" 2>/dev/null && break; sleep 0.1; done
RAMPART_ADDR=$(sed -n 's/.*https=\([^ ]*\).*/\1/p' "$WORK/rampart.out")
[ -n "$RAMPART_ADDR" ] || { echo "bench: rampart did not start: $(cat "$WORK/rampart.err")" >&2; exit 2; }
sleep 0.5

# Check both answer with the page before measuring.
for url in "https://127.0.0.1:$NGINX_TLS/page.html" "https://$RAMPART_ADDR/page.html"; do
    size=$(curl -sk -o /dev/null -w '%{size_download}' "$url")
    [ "$size" = 2048 ] || { echo "bench: $url returned $size bytes" >&2; exit 2; }
done

to_us() { # wrk latency like 412.00us, 1.20ms, 2.00s -> microseconds
    awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000; else if (v ~ /s$/) print n * 1000000; else print n }'
}
measure() { # $1: name, $2: url
    local out
    out=$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "$2")
    echo "$out" > "$WORK/$1.wrk"
    local rps p50 p99
    rps=$(echo "$out" | awk '/Requests\/sec/ { print $2 }')
    p50=$(to_us "$(echo "$out" | awk '$1 == "50%" { print $2 }')")
    p99=$(to_us "$(echo "$out" | awk '$1 == "99%" { print $2 }')")
    echo "$1 $rps $p50 $p99"
}
# The warm-up is short; the measured run is the full duration.
DURATION_FULL=$DURATION
DURATION=3s; measure warm-nginx "https://127.0.0.1:$NGINX_TLS/page.html" >/dev/null
measure warm-rampart "https://$RAMPART_ADDR/page.html" >/dev/null
DURATION=$DURATION_FULL

# ROUNDS > 1 alternates the two proxies and reports each one's median
# round, which evens out a machine that is busy with other work.
ROUNDS=${ROUNDS:-1}
: > "$WORK/nginx.rounds"; : > "$WORK/rampart.rounds"
for round in $(seq "$ROUNDS"); do
    measure nginx "https://127.0.0.1:$NGINX_TLS/page.html" >> "$WORK/nginx.rounds"
    grep -q "Non-2xx\|Socket errors" "$WORK/nginx.wrk" && { echo "bench: nginx answered errors:"; cat "$WORK/nginx.wrk"; exit 1; }
    measure rampart "https://$RAMPART_ADDR/page.html" >> "$WORK/rampart.rounds"
    grep -q "Non-2xx\|Socket errors" "$WORK/rampart.wrk" && { echo "bench: rampart answered errors:"; cat "$WORK/rampart.wrk"; exit 1; }
done
median() { # $1: file, $2: column
    sort -k"$2" -g "$1" | awk -v c="$2" '{ a[NR] = $c } END { print a[int((NR + 1) / 2)] }'
}
N_RPS=$(median "$WORK/nginx.rounds" 2); N_P50=$(median "$WORK/nginx.rounds" 3); N_P99=$(median "$WORK/nginx.rounds" 4)
R_RPS=$(median "$WORK/rampart.rounds" 2); R_P50=$(median "$WORK/rampart.rounds" 3); R_P99=$(median "$WORK/rampart.rounds" 4)
if [ "$ROUNDS" -gt 1 ]; then
    echo "rounds (name req/s p50 p99):"; paste -d'\n' "$WORK/nginx.rounds" "$WORK/rampart.rounds" | sed 's/^/  /'
fi

printf '%-8s %12s %10s %10s\n' proxy 'req/s' 'p50 (us)' 'p99 (us)'
printf '%-8s %12.0f %10.0f %10.0f\n' nginx "$N_RPS" "$N_P50" "$N_P99"
printf '%-8s %12.0f %10.0f %10.0f\n' rampart "$R_RPS" "$R_P50" "$R_P99"
awk -v r="$R_RPS" -v n="$N_RPS" -v rp="$R_P99" -v np="$N_P99" 'BEGIN {
    printf "rampart/nginx: req/s %.2f (goal >= 0.90), p99 %.2f (goal <= 1.20)\n", r / n, rp / np }'
