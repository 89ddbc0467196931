#!/usr/bin/env bash
# bench-vs-nchan.sh — herald and Nchan (nginx) measured side by side, on the
# same machine, in the same run, by the same `herald bench` binary.
#
# For each load shape the same load runs twice: once against Nchan
# (`--mode generic`, nchan's eventsource subscriber and HTTP publisher, the
# nginx worker's CPU and RSS accounted through --pid) and once against a
# herald the tool spawns (native SSE). Then a markdown table of both.
#
# Usage: scripts/bench-vs-nchan.sh [--workers N] [--port P] [--all] [SHAPE...]
#   SHAPE: 1000x20    1,000 subscribers × 20 events/s for 20 s (the default)
#          1000xafap  1,000 subscribers, 4 publishers as fast as possible, 10 s
#          10000x5    10,000 subscribers × 5 events/s for 20 s
#   --all        every shape
#   --workers N  nginx worker processes (default 1, as the peers were measured);
#                with more than one, Nchan's server CPU and RSS are those of
#                one worker only
#   --port P     Nchan's loopback port (default 18100)
#
# Installs nginx, libnginx-mod-nchan and jq with apt-get when missing (root).
# Not part of `make test`: it installs system packages and takes minutes.
set -euo pipefail

workers=1
port=18100
shapes=()
while (($#)); do
	case $1 in
	--workers) workers=$2; shift 2 ;;
	--port) port=$2; shift 2 ;;
	--all) shapes=(1000x20 1000xafap 10000x5); shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	1000x20 | 1000xafap | 10000x5) shapes+=("$1"); shift ;;
	*) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
	esac
done
((${#shapes[@]})) || shapes=(1000x20)

cd "$(dirname "$0")/.."

echo "# $(uptime)"
echo "# $(nproc) cores; open-file limit $(ulimit -n) (hard $(ulimit -Hn))"

# --- dependencies -------------------------------------------------------------
modules=/usr/lib/nginx/modules
if ! command -v nginx >/dev/null || [[ ! -f $modules/ngx_nchan_module.so ]] || ! command -v jq >/dev/null; then
	echo "installing nginx, libnginx-mod-nchan and jq" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx libnginx-mod-nchan jq >/dev/null
fi
# The Debian package does not start nginx here, but a distribution's default
# server may be running: ours listens on its own loopback port only.
nchan_version=$(dpkg-query -W -f='${Version}' libnginx-mod-nchan 2>/dev/null | sed 's/^[0-9]*://; s/[+-].*//' || true)
echo "# $(nginx -v 2>&1); nchan ${nchan_version:-?}"

# --- temp dir, cleanup ------------------------------------------------------------
tmp=$(mktemp -d /tmp/herald-vs-nchan.XXXXXX)
nginx_pid=
worker_pid=
# stop_nginx stops the nginx started last, master and workers.
stop_nginx() {
	if [[ -n $nginx_pid ]] && kill -0 "$nginx_pid" 2>/dev/null; then
		kill -QUIT "$nginx_pid" 2>/dev/null || true # graceful shutdown
		for _ in $(seq 50); do
			kill -0 "$nginx_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$nginx_pid" 2>/dev/null || true
		wait "$nginx_pid" 2>/dev/null || true
	fi
	nginx_pid='' worker_pid=''
}
cleanup() {
	stop_nginx
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building herald" >&2
go build -o "$tmp/herald" ./cmd/herald

# --- nginx + nchan ------------------------------------------------------------------
# File descriptors: every subscriber is one socket in a worker; this machine
# allows 20,000 per process, so stay below that.
rlimit=$(ulimit -Hn)
((rlimit > 20000)) && rlimit=20000
conns=$((rlimit - 1000))
mkdir -p "$tmp/nginx"
chmod 755 "$tmp" # workers run as nobody
cat >"$tmp/nginx/nginx.conf" <<EOF
load_module $modules/ngx_nchan_module.so;
worker_processes $workers;
worker_rlimit_nofile $rlimit;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events {
    worker_connections $conns;
}
http {
    access_log off;
    client_body_temp_path $tmp/nginx/body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    # Keep the bench's publishers on their connections.
    keepalive_requests 1000000;
    # A channel keeps its last messages for subscribers that fall behind.
    # The default (10 messages) already delivered every event at 1000xafap
    # with one worker; 1000 messages for 60 s is a margin against a busy
    # worker evicting a message before a subscriber's spool read it (a miss).
    nchan_message_buffer_length 1000;
    nchan_message_timeout 60s;
    server {
        listen 127.0.0.1:$port backlog=4096;
        location ~ ^/sub/(.+)\$ {
            nchan_subscriber eventsource;
            nchan_channel_id \$1;
            # A new subscriber starts at the next message, not the buffered ones.
            nchan_subscriber_first_message newest;
        }
        location ~ ^/pub/(.+)\$ {
            nchan_publisher;
            nchan_channel_id \$1;
        }
    }
}
EOF
nginx -t -q -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf"

# start_nginx starts nginx with daemon off (its master is this script's
# child) and sets nginx_pid and worker_pid. Each load gets a fresh nginx, as
# herald gets a fresh spawned server: RSS per connection is measured as the
# growth of the worker's RSS while subscribers connect, which a worker that
# already held (and freed) connections would not show.
start_nginx() {
	nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" &
	nginx_pid=$!
	# The measured process is the worker (the master only supervises): a
	# child of the master, once it is up and listening.
	local pids=
	for _ in $(seq 100); do
		pids=$(pgrep -P "$nginx_pid" || true)
		[[ $(wc -w <<<"$pids") -ge $workers ]] && break
		sleep 0.1
	done
	read -r worker_pid _ <<<"$pids"
	[[ -n ${worker_pid:-} ]] || { echo "nginx did not start:" >&2; cat "$tmp/nginx/error.log" >&2; exit 1; }
	tr '\0' ' ' <"/proc/$worker_pid/cmdline" | grep -q 'worker process' ||
		{ echo "process $worker_pid is not an nginx worker" >&2; exit 1; }
	for _ in $(seq 50); do
		(: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
		sleep 0.1
	done
	echo "# nginx master $nginx_pid, worker(s) ${pids//$'\n'/ } (measured: $worker_pid)"
}

# --- runs ---------------------------------------------------------------------------
# args_of SHAPE: the bench flags of a shape.
args_of() {
	case $1 in
	1000x20) echo "-n 1000 --rate 20 --duration 20s" ;;
	1000xafap) echo "-n 1000 --rate 0 --duration 10s" ;;
	10000x5) echo "-n 10000 --rate 5 --duration 20s" ;;
	esac
}

# bench NAME SHAPE FLAGS...: runs the tool, keeps its JSON line in $tmp/NAME-SHAPE.json.
bench() {
	local name=$1 shape=$2 rc=0
	shift 2
	echo "== $name $shape: herald bench $*" >&2
	"$tmp/herald" bench "$@" >"$tmp/$name-$shape.out" || rc=$?
	cat "$tmp/$name-$shape.out" >&2
	grep '^{' "$tmp/$name-$shape.out" | tail -n 1 >"$tmp/$name-$shape.json" || true
	if [[ ! -s $tmp/$name-$shape.json ]]; then
		echo "{\"error\": \"exit status $rc, no result\"}" >"$tmp/$name-$shape.json"
	fi
}

nchan_label="Nchan $nchan_version ($workers worker)"
((workers == 1)) || nchan_label="Nchan $nchan_version ($workers workers, CPU and RSS of one)"
for shape in "${shapes[@]}"; do
	read -ra load <<<"$(args_of "$shape")"
	start_nginx
	bench nchan "$shape" --mode generic "${load[@]}" --pid "$worker_pid" --topic "bench-$shape" \
		--sub-url "http://127.0.0.1:$port/sub/{topic}" --pub-url "http://127.0.0.1:$port/pub/{topic}" \
		--pub-body '{payload}'
	stop_nginx
	bench herald "$shape" --spawn "${load[@]}"
done

# --- table ---------------------------------------------------------------------------
echo
echo "| load | server | delivered/s (published/s) | p50 ms | p99 ms | publish p99 ms | server CPU µs/delivery | server KiB/conn | tool CPU µs/delivery | missing / duplicates |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for shape in "${shapes[@]}"; do
	for name in nchan herald; do
		label=$nchan_label
		[[ $name == herald ]] && label="herald (native SSE)"
		jq -r --arg load "$shape" --arg server "$label" '
			def r(n): if . == null then "-" else (. * n | round) / n | tostring end;
			if .error then "| \($load) | \($server) | \(.error) | | | | | | | |"
			else "| \($load) | \($server) | \(.delivered_per_s | r(1)) (\(.published_per_s | r(10))) | \(.latency_p50_ms | r(10)) | \(.latency_p99_ms | r(10)) | \(.publish_p99_ms | r(10)) | \(.server_cpu_us_per_delivery | r(10)) | \(.server_kib_per_conn | r(10)) | \(.tool_cpu_us_per_delivery | r(10)) | \(.missing) / \(.duplicates) |"
			end' "$tmp/$name-$shape.json"
	done
done
echo
echo "# $(uptime)"
