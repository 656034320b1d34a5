#!/usr/bin/env bash
# The backend with S3 as its store: push cost against the filesystem store, flush throughput to S3, and queries
# over S3-resident data with the local read cache cold and warm.
#
# Starts moto's S3 server (.venv/bin/moto_server, installed by scripts/test; no signature checking, so its own CPU
# stays low) on a free loopback port with one bucket, then:
#   1. a backend on the filesystem store: loadgen push, protobuf+snappy, PUSH_SECONDS (30)
#   2. a backend on S3 (same config, object_store: s3): the same push
#   3. a fresh S3 backend whose chunks do not fill (chunk_target_size 1 GiB): loadgen fill FILL_BYTES (1GB), then
#      POST /flush, timed: flush MB/s to S3
#   4. the S3 backend restarted with its local cache and WAL removed: loadgen query '{job="gen"} |= "needle"' x3
#      over the filled range; run 1 reads every chunk from S3 (cold), runs 2 and 3 from the local cache (warm)
# and prints the figures. Processes are stopped on exit.
#
# Environment: PUSH_SECONDS (30), FILL_BYTES (1GB), CONCURRENCY (4), STREAMS (100), SKIP_BUILD=1, ESTUARY,
# LOADGEN, KEEP_DATA=1, RESULTS_FILE (load_test/.build/bench-s3-<time>.txt), MOTO (.venv/bin/moto_server).
set -euo pipefail

source "$(dirname "$0")/lib.sh"
PUSH_SECONDS=${PUSH_SECONDS:-30}
FILL_BYTES=${FILL_BYTES:-1GB}
CONCURRENCY=${CONCURRENCY:-4}
STREAMS=${STREAMS:-100}
MOTO=${MOTO:-"$ROOT/.venv/bin/moto_server"}
[[ -x "$MOTO" ]] || { echo "$MOTO is missing: run scripts/test once, which installs moto[server] into .venv" >&2; exit 1; }

build_release
make_work estuary-bench-s3
results_file bench-s3
: > "$WORK/loadgen.out"

S3_PORT=$(free_port)
"$MOTO" -H 127.0.0.1 -p "$S3_PORT" > "$WORK/moto.log" 2>&1 &
MOTO_PID=$!
track "$MOTO_PID"
wait_for moto "$MOTO_PID" "$WORK/moto.log" 60 curl -sf -o /dev/null "http://127.0.0.1:$S3_PORT/"
curl -sf -X PUT "http://127.0.0.1:$S3_PORT/estuary-bench" > /dev/null

# s3_config: $WORK/loki.yaml turned to S3 (the bucket on moto; any keys, moto does not check them).
s3_config() {
    sed -i -e 's|object_store: filesystem|object_store: s3|' "$WORK/loki.yaml"
    cat >> "$WORK/loki.yaml" <<EOF
storage_config:
  aws:
    endpoint: http://127.0.0.1:$S3_PORT
    s3forcepathstyle: true
    region: us-east-1
    bucketnames: estuary-bench
    access_key_id: bench
    secret_access_key: bench
EOF
}

run() {
    echo
    echo "== loadgen $* ($STORE)"
    "$LOADGEN" "$@" --url "$URL" --backend-pid "$BACKEND_PID" | tee "$WORK/last.out"
    grep '^RESULT ' "$WORK/last.out" | sed "s|^RESULT {|RESULT {\"store\":\"$STORE\",|" >> "$WORK/loadgen.out"
    alive backend "$BACKEND_PID" "$WORK/backend.log"
}

PORT=$(free_port)
URL="http://127.0.0.1:$PORT"
STORE=filesystem
backend_config "$PORT"
start_backend "$URL"
run push --encoding protobuf --duration "${PUSH_SECONDS}s" --concurrency "$CONCURRENCY" --streams "$STREAMS"
stop "$BACKEND_PID"

rm -rf "$WORK/data"
STORE=s3
backend_config "$PORT"
s3_config
start_backend "$URL"
run push --encoding protobuf --duration "${PUSH_SECONDS}s" --concurrency "$CONCURRENCY" --streams "$STREAMS"
stop "$BACKEND_PID"

# Chunks too large to fill during the fill, so that every byte is still in memory when /flush is timed.
rm -rf "$WORK/data"
backend_config "$PORT"
s3_config
sed -i -e 's|^ingester:|ingester:\n  chunk_target_size: 1073741824\n  chunk_idle_period: 1h\n  max_chunk_age: 2h|' "$WORK/loki.yaml"
start_backend "$URL"
run fill --bytes "$FILL_BYTES" --concurrency "$CONCURRENCY" --streams "$STREAMS" --needle-every 10000 --no-flush
FILL_RANGE=$(result_field "$WORK/last.out" first_timestamp_ns)" "$(( $(result_field "$WORK/last.out" last_timestamp_ns) + 1 ))
echo
echo "== POST /flush to S3"
STORED_BEFORE=$(metric "$URL" loki_ingester_chunk_stored_bytes_total 0)
FLUSH_START=$(date +%s.%N)
curl -sf -X POST "$URL/flush" > /dev/null
FLUSH_SECONDS=$(python3 -c "import time; print(f'{time.time() - $FLUSH_START:.3f}')")
STORED=$(( $(metric "$URL" loki_ingester_chunk_stored_bytes_total 0) - STORED_BEFORE ))
echo "flushed $STORED bytes of chunks in $FLUSH_SECONDS s ($(metric "$URL" loki_ingester_chunks_flushed_total 0) chunks)"
echo "RESULT {\"store\":\"s3\",\"command\":\"flush\",\"bytes\":$STORED,\"seconds\":$FLUSH_SECONDS}" >> "$WORK/loadgen.out"
stop "$BACKEND_PID"

# A cold start: nothing cached locally, nothing in the WAL; every chunk and index segment comes from S3.
rm -rf "$WORK/data/cache" "$WORK/data/wal"
start_backend "$URL"
run query --query '{job="gen"} |= "needle"' --start "${FILL_RANGE% *}" --end "${FILL_RANGE#* }" --limit 5000 --repeat 3

cp "$WORK/loadgen.out" "$RESULTS"
echo
echo "== summary (machine: $(machine))"
python3 - "$RESULTS" <<'PY'
import json, sys
for raw in open(sys.argv[1]):
    r = json.loads(raw[len("RESULT "):])
    c, store = r["command"], r["store"]
    if c in ("push", "fill"):
        cores = r.get("backend_cpu_cores")
        per_core = f"{r['lines_per_second'] / cores:,.0f} lines/s/core" if cores else "n/a"
        print(f"{store:10} {c:5} {r['lines_per_second']:>12,.0f} lines/s {r['raw_mb_per_second']:8.1f} MB/s  "
              f"errors {r['status_4xx'] + r['status_5xx'] + r['transport_errors']}  backend {cores or 0:.2f} cores "
              f"({per_core}), peak RSS {r.get('backend_peak_rss_bytes', 0) / 1e6:.0f} MB")
    elif c == "flush":
        print(f"{store:10} flush {r['bytes'] / 1e6:,.0f} MB of chunks in {r['seconds']:.1f} s: "
              f"{r['bytes'] / 1e6 / max(r['seconds'], 1e-9):.1f} MB/s")
    elif c == "query":
        for n, run in enumerate(r["runs"], 1):
            state = "cold" if n == 1 else "warm"
            print(f"{store:10} query run {n} ({state}): {run['total_bytes_processed'] / 1e9:.2f} GB, "
                  f"{run['gb_per_second']:.2f} GB/s, {run.get('gb_per_second_per_core', 0):.2f} GB/s per backend core")
PY
echo
echo "RESULT lines saved in $RESULTS"
