#!/usr/bin/env bash
# The WAF's cost, side by side, in one run (issue 4): on loopback, the same
# backend, the same OWASP CRS 4.28.0 at paranoia 1 in blocking mode, the
# same requests (bench/workloads/*.http):
#   (a) nginx      Debian's nginx as a plain TLS reverse proxy
#   (b) nginx+msc  nginx with libmodsecurity3 and its connector, CRS
#   (c) rampart    Rampart with no rules
#   (d) rampart+crs Rampart with the CRS
# Servers (and the backend) on CPU 0, wrk -t1 -c16 on CPU 1. Reports req/s,
# p50, p99 and peak RSS per server and workload, then the issue's ratios.
#
# Usage: bench/waf.sh [CRS_DIR]   (default ../shared/crs-4.28.0)
#        DURATION=10s CONNECTIONS=16 WORKLOADS="browse-get attack-get"
# Needs: nginx, libnginx-mod-http-modsecurity, wrk, openssl, taskset,
#        python3 (installed with apt-get when run as root).
set -euo pipefail
cd "$(dirname "$0")/.."

CRS=$(realpath "${1:-../shared/crs-4.28.0}")
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
WORKLOADS=${WORKLOADS:-"browse-get checkout-post cart-json upload-multipart attack-get"}
[ -d "$CRS/rules" ] || { echo "bench: $CRS has no rules/ (pass the CRS directory)" >&2; exit 2; }

MODULE=/usr/lib/nginx/modules/ngx_http_modsecurity_module.so
if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null || [ ! -f "$MODULE" ]; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx wrk libnginx-mod-http-modsecurity >&2
    fi
fi
for tool in nginx wrk openssl taskset curl python3; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install nginx wrk libnginx-mod-http-modsecurity)" >&2; exit 2; }
done
[ -f "$MODULE" ] || { echo "bench: $MODULE is missing (apt-get install libnginx-mod-http-modsecurity)" >&2; exit 2; }

# RAMPART_BIN=path measures that binary instead (an A/B of two builds).
if [ -n "${RAMPART_BIN:-}" ]; then
    RAMPART=$(realpath "$RAMPART_BIN")
else
    cargo build --release -p rampart >&2
    RAMPART=$PWD/target/release/rampart
fi

WORK=$(mktemp -d /tmp/rampart-waf-bench.XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
BACKEND=$(free_port); NGINX=$(free_port); NGINX_MSC=$(free_port)

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
mkdir -p "$WORK/nginx"

# ModSecurity: the same settings as Rampart's base configuration
# (seclang::crs::BASE_CONFIG), then the CRS setup and rules, paranoia 1.
cat > "$WORK/modsec.conf" <<CONF
SecRuleEngine On
SecRequestBodyAccess On
SecRequestBodyLimit 13107200
SecRequestBodyNoFilesLimit 131072
SecRequestBodyLimitAction Reject
SecRequestBodyJsonDepthLimit 512
SecArgumentsLimit 1000
SecRule REQUEST_HEADERS:Content-Type "^(?:application(?:/soap\+|/)|text/)xml" "id:440000,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=XML"
SecRule REQUEST_HEADERS:Content-Type "^application/json" "id:440001,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON"
SecRule REQBODY_ERROR "!@eq 0" "id:440002,phase:2,t:none,log,deny,status:400,msg:'Failed to parse request body.',severity:2"
SecRule MULTIPART_STRICT_ERROR "!@eq 0" "id:440003,phase:2,t:none,log,deny,status:400,msg:'Multipart request body failed strict validation.'"
SecResponseBodyAccess On
SecResponseBodyMimeType text/plain text/html text/xml
SecResponseBodyLimit 524288
SecResponseBodyLimitAction ProcessPartial
SecArgumentSeparator &
SecTmpDir $WORK
SecDataDir $WORK
SecAuditEngine RelevantOnly
SecAuditLogParts ABIJDEFHZ
SecAuditLogType Serial
SecAuditLog $WORK/modsec_audit.log
Include $CRS/crs-setup.conf.example
SecAction "id:900000,phase:1,pass,nolog,t:none,setvar:tx.blocking_paranoia_level=1"
Include $CRS/rules/*.conf
CONF

nginx_conf() { # $1: name, $2: extra main context, $3: server block
    cat > "$WORK/nginx/$1.conf" <<CONF
$2
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
    client_max_body_size 16m;
    $3
}
CONF
}
proxy_server() { # $1: port, $2: extra server directives
    cat <<CONF
upstream store { server 127.0.0.1:$BACKEND; keepalive 64; }
    server {
        listen 127.0.0.1:$1 ssl;
        ssl_certificate $WORK/cert.pem;
        ssl_certificate_key $WORK/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        $2
        location / {
            proxy_pass http://store;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$remote_addr;
            proxy_set_header X-Forwarded-Proto https;
        }
    }
CONF
}
# The store: answers every method and path with a small HTML page.
nginx_conf backend "" "server { listen 127.0.0.1:$BACKEND; location / { default_type text/html; return 200 '<!doctype html><title>shop</title><p>hello from the store</p>'; } }"
nginx_conf plain "" "$(proxy_server "$NGINX" "")"
nginx_conf msc "load_module $MODULE;" "$(proxy_server "$NGINX_MSC" "modsecurity on; modsecurity_rules_file $WORK/modsec.conf;")"

taskset -c 0 nginx -c "$WORK/nginx/backend.conf" -g 'daemon off;' & PIDS+=($!)
taskset -c 0 nginx -c "$WORK/nginx/plain.conf" -g 'daemon off;' & PIDS+=($!); NGINX_PID=$!
taskset -c 0 nginx -c "$WORK/nginx/msc.conf" -g 'daemon off;' & PIDS+=($!); MSC_PID=$!

start_rampart() { # $1: name, $2: extra site config
    cat > "$WORK/$1.toml" <<CONF
[server]
https = "127.0.0.1:0"
data_dir = "$WORK/$1-data"

[[site]]
hosts = ["localhost", "127.0.0.1"]
upstream = "http://127.0.0.1:$BACKEND"
tls = { cert = "$WORK/cert.pem", key = "$WORK/key.pem" }
$2
CONF
    taskset -c 0 "$RAMPART" serve --config "$WORK/$1.toml" > "$WORK/$1.out" 2> "$WORK/$1.err" & PIDS+=($!)
    eval "${1}_PID=$!"
    for _ in $(seq 200); do grep -q listening "$WORK/$1.out" 2>/dev/null && break; sleep 0.1; done
    local addr
    addr=$(sed -n 's/.*https=\([^ ]*\).*/\1/p' "$WORK/$1.out")
    [ -n "$addr" ] || { echo "bench: rampart ($1) did not start: $(cat "$WORK/$1.err")" >&2; exit 2; }
    eval "${1}_ADDR=$addr"
}
start_rampart bare ""
start_rampart crs "[site.waf]
crs = \"$CRS\"
paranoia = 1
mode = \"block\""
sleep 1

declare -A URL=(
    [nginx]="https://127.0.0.1:$NGINX"
    [nginx+msc]="https://127.0.0.1:$NGINX_MSC"
    [rampart]="https://$bare_ADDR"
    [rampart+crs]="https://$crs_ADDR"
)
SERVERS="nginx nginx+msc rampart rampart+crs"
# Every server answers; the WAFs block the attack.
for s in $SERVERS; do
    code=$(curl -sk -o /dev/null -w '%{http_code}' "${URL[$s]}/products?q=tea")
    [ "$code" = 200 ] || { echo "bench: $s answered $code to a benign GET" >&2; exit 2; }
done
for s in nginx+msc rampart+crs; do
    code=$(curl -sk -o /dev/null -w '%{http_code}' "${URL[$s]}/search?q=%27%20UNION%20SELECT%20password%20FROM%20users--")
    [ "$code" = 403 ] || { echo "bench: $s answered $code to an attack" >&2; exit 2; }
done

to_us() { # wrk latency like 412.00us, 1.20ms, 2.00s -> microseconds
    awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000; else if (v ~ /s$/) print n * 1000000; else print n }'
}
measure() { # $1: server, $2: workload, $3: duration -> "rps p50 p99 non2xx"
    local out
    out=$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"$3" --latency -s bench/workload.lua "${URL[$1]}" -- "bench/workloads/$2.http")
    echo "$out" > "$WORK/last.wrk"
    if grep -q "Socket errors" <<<"$out"; then echo "bench: $1 $2: socket errors" >&2; echo "$out" >&2; exit 1; fi
    local rps p50 p99 bad
    rps=$(awk '/Requests\/sec/ { print $2 }' <<<"$out")
    p50=$(to_us "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
    p99=$(to_us "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
    bad=$(awk '/Non-2xx/ { print $5 }' <<<"$out")
    echo "$rps $p50 $p99 ${bad:-0}"
}
rss_kb() { # peak RSS of a process and its children (nginx worker), kB
    local total=0 p
    for p in $1 $(pgrep -P "$1" || true); do
        total=$((total + $(awk '/VmHWM/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)))
    done
    echo "$total"
}

declare -A RES
printf '%-18s %-12s %10s %10s %10s %9s\n' workload server 'req/s' 'p50 (us)' 'p99 (us)' 'non-2xx'
for w in $WORKLOADS; do
    [ -f "bench/workloads/$w.http" ] || { echo "bench: no workload $w" >&2; exit 2; }
    for s in $SERVERS; do
        measure "$s" "$w" 2s > /dev/null   # warm-up
        r=$(measure "$s" "$w" "$DURATION")
        RES[$w,$s]=$r
        read -r rps p50 p99 bad <<<"$r"
        printf '%-18s %-12s %10.0f %10.0f %10.0f %9s\n' "$w" "$s" "$rps" "$p50" "$p99" "$bad"
    done
done

echo
echo "peak RSS (kB): nginx $(rss_kb "$NGINX_PID"), nginx+msc $(rss_kb "$MSC_PID"), rampart $(rss_kb "$bare_PID"), rampart+crs $(rss_kb "$crs_PID")"

# 1,000 open TLS connections to Rampart with the CRS: resident memory.
python3 - "$crs_ADDR" "$crs_PID" <<'PY'
import socket, ssl, sys, time
host, port = sys.argv[1].rsplit(":", 1)
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
conns = []
for _ in range(1000):
    s = ctx.wrap_socket(socket.create_connection((host, int(port))), server_hostname="localhost")
    conns.append(s)
time.sleep(1)
rss = [l for l in open(f"/proc/{sys.argv[2]}/status") if l.startswith("VmRSS")][0].split()[1]
print(f"rampart+crs with 1000 open TLS connections: RSS {int(rss) // 1024} MB (goal <= 100 MB)")
PY

echo
echo "ratios (goals: d/b >= 5 and d/a >= 0.60 on benign workloads; p99(d) - p99(c) <= 1000 us):"
for w in $WORKLOADS; do
    read -r a _ a99 _ <<<"${RES[$w,nginx]}"
    read -r b _ _ _ <<<"${RES[$w,nginx+msc]}"
    read -r c _ c99 _ <<<"${RES[$w,rampart]}"
    read -r d _ d99 _ <<<"${RES[$w,rampart+crs]}"
    awk -v w="$w" -v a="$a" -v b="$b" -v c="$c" -v d="$d" -v c99="$c99" -v d99="$d99" 'BEGIN {
        printf "%-18s d/b %6.2f   d/a %5.2f   d/c %5.2f   p99 added %6.0f us\n", w, d / b, d / a, d / c, d99 - c99 }'
done
