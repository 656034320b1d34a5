#!/usr/bin/env bash
# Push and query benchmark of the Estuary backend on this machine.
#
# Builds estuary and loadgen in release, starts `estuary backend` on 127.0.0.1:3100 with a throw-away config
# (snappy chunks, ingestion limits high enough never to throttle, data in a temp dir), then runs:
#   1. loadgen push, protobuf+snappy, PUSH_SECONDS (60)   2. loadgen push, JSON, JSON_SECONDS (30)
#   3. loadgen fill FILL_BYTES (1GB) + POST /flush        4. loadgen query '{job="gen"} |= "needle"' x3 over the
#      filled range, then x3 over the whole hour (everything pushed above)
# and prints the figures. The backend is killed on exit; its log is shown if it dies or fails to start.
#
# Environment: PORT (3100), PUSH_SECONDS (60), JSON_SECONDS (30), FILL_BYTES (1GB), CONCURRENCY (4),
# STREAMS (100), KEEP_DATA=1 to keep the temp dir, SKIP_BUILD=1 to use existing release binaries,
# ESTUARY=path to run another backend binary, RESULTS_FILE (load_test/.build/bench-push-<time>.txt).
set -euo pipefail

source "$(dirname "$0")/lib.sh"
PORT=${PORT:-3100}
PUSH_SECONDS=${PUSH_SECONDS:-60}
JSON_SECONDS=${JSON_SECONDS:-30}
FILL_BYTES=${FILL_BYTES:-1GB}
CONCURRENCY=${CONCURRENCY:-4}
STREAMS=${STREAMS:-100}
URL="http://127.0.0.1:$PORT"

build_release
make_work estuary-bench
backend_config "$PORT"

echo "== starting $ESTUARY backend on $URL (data in $WORK/data)"
start_backend "$URL"

results_file bench-push
run() {
    echo
    echo "== loadgen $*"
    "$LOADGEN" "$@" --url "$URL" --backend-pid "$BACKEND_PID" | tee -a "$WORK/loadgen.out"
    alive backend "$BACKEND_PID" "$WORK/backend.log"
}

run push --encoding protobuf --duration "${PUSH_SECONDS}s" --concurrency "$CONCURRENCY" --streams "$STREAMS"
run push --encoding json --duration "${JSON_SECONDS}s" --concurrency "$CONCURRENCY" --streams "$STREAMS"
run fill --bytes "$FILL_BYTES" --concurrency "$CONCURRENCY" --streams "$STREAMS" --needle-every 10000
# The issue's figure: exactly the 1 GB that fill wrote (its first and last timestamps), then everything of the hour.
FILL_RANGE=$(grep '^RESULT ' "$WORK/loadgen.out" | grep '"command":"fill"' | tail -1 | python3 -c '
import json, sys
r = json.loads(sys.stdin.read()[len("RESULT "):])
print(r["first_timestamp_ns"], r["last_timestamp_ns"] + 1)')
run query --query '{job="gen"} |= "needle"' --start "${FILL_RANGE% *}" --end "${FILL_RANGE#* }" --limit 5000 --repeat 3
run query --query '{job="gen"} |= "needle"' --since 1h --limit 5000 --repeat 3

grep '^RESULT ' "$WORK/loadgen.out" > "$RESULTS" || true
echo
echo "== summary (machine: $(machine))"
python3 - "$RESULTS" <<'PY'
import json, sys
for raw in open(sys.argv[1]):
    r = json.loads(raw[len("RESULT "):])
    c = r["command"]
    if c in ("push", "fill"):
        cores = r.get("backend_cpu_cores")
        per_core = f"{r['lines_per_second'] / cores:,.0f} lines/s/core" if cores else "n/a"
        print(f"{c:5} {r['encoding']:8} {r['lines_per_second']:>12,.0f} lines/s {r['raw_mb_per_second']:8.1f} MB/s  "
              f"p99 {r['latency_p99_ms']:.1f} ms  errors {r['status_4xx'] + r['status_5xx'] + r['transport_errors']}  "
              f"backend {cores or 0:.2f} cores ({per_core}), peak RSS {r.get('backend_peak_rss_bytes', 0) / 1e6:.0f} MB  "
              f"client {r['client_cpu_cores']:.2f} cores")
    elif c == "query":
        print(f"query {r['query']} ({r['runs'][0]['total_bytes_processed'] / 1e9:.1f} GB): {r['gb_per_second_median']:.2f} GB/s median, "
              f"{r.get('gb_per_second_per_core_median', 0):.2f} GB/s per backend core")
PY
echo
echo "RESULT lines saved in $RESULTS"
