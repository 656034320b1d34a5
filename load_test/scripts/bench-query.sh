#!/usr/bin/env bash
# Read benchmark of the Estuary backend: the queries of issue 16 over flushed snappy chunks.
#
# Builds estuary and loadgen in release, starts `estuary backend` on 127.0.0.1:3100 (throw-away config), fills
# FILL_BYTES (1GB) of ~215-byte logfmt lines in STREAMS (100) streams (one in 10 000 lines holds "needle"), flushes,
# then runs each query REPEAT (3) times over exactly the filled range (metric queries: to the first step at or
# after the newest entry), with STEP (60s) for metric queries:
#   {job="gen"} |= "needle"                                   (limit 5000)
#   sum(count_over_time({job="gen"}[1m]))
#   sum by (level) (count_over_time({job="gen"} | logfmt [1m]))
#   sum by (level) (count_over_time({job="gen"} | logfmt | status >= 500 [1m]))
# GB/s is the fill's raw line bytes over the query's execution time (and per backend CPU second), so that a count
# that never reads a line is measured against the same bytes as a scan that reads them all. Also run with
# SPLIT=15m (split_queries_by_interval) to see the effect of splitting. With LINE_FORMAT=json the lines are the
# same fields as JSON objects (LINE_BYTES defaults to 320 then) and the metric queries use `| json`.
#
# Environment: PORT (3100), FILL_BYTES (1GB), STREAMS (100), CONCURRENCY (4), STEP (60s), REPEAT (3),
# SPLIT (the default 1h), LINE_FORMAT (logfmt), LINE_BYTES (215, or 320 for json), QUERIES (a file of queries, one
# per line, to run instead), SKIP_BUILD=1, ESTUARY=path, KEEP_DATA=1, RESULTS_FILE.
set -euo pipefail

source "$(dirname "$0")/lib.sh"
PORT=${PORT:-3100}
FILL_BYTES=${FILL_BYTES:-1GB}
STREAMS=${STREAMS:-100}
CONCURRENCY=${CONCURRENCY:-4}
STEP=${STEP:-60s}
REPEAT=${REPEAT:-3}
SPLIT=${SPLIT:-1h}
LINE_FORMAT=${LINE_FORMAT:-logfmt}
if [ "$LINE_FORMAT" = json ]; then LINE_BYTES=${LINE_BYTES:-320}; else LINE_BYTES=${LINE_BYTES:-215}; fi
URL="http://127.0.0.1:$PORT"

build_release
make_work estuary-bench-query
backend_config "$PORT"
printf '  split_queries_by_interval: %s\n  max_query_series: 100000\n' "$SPLIT" >> "$WORK/loki.yaml"

echo "== starting $ESTUARY backend on $URL (data in $WORK/data, split_queries_by_interval $SPLIT)"
start_backend "$URL"

results_file bench-query
run() {
    echo
    echo "== loadgen $*"
    "$LOADGEN" "$@" --url "$URL" --backend-pid "$BACKEND_PID" | tee -a "$WORK/loadgen.out"
    alive backend "$BACKEND_PID" "$WORK/backend.log"
}

run fill --bytes "$FILL_BYTES" --concurrency "$CONCURRENCY" --streams "$STREAMS" --needle-every 10000 \
    --line-format "$LINE_FORMAT" --line-bytes "$LINE_BYTES"
read -r START END DATA <<<"$(grep '^RESULT ' "$WORK/loadgen.out" | grep '"command":"fill"' | tail -1 | python3 -c '
import json, sys
r = json.loads(sys.stdin.read()[len("RESULT "):])
print(r["first_timestamp_ns"], r["last_timestamp_ns"] + 1, r["raw_bytes_accepted"])')"

run query --query '{job="gen"} |= "needle"' --start "$START" --end "$END" --limit 5000 --repeat "$REPEAT" \
    --data-bytes "$DATA"
if [ -n "${QUERIES:-}" ]; then
    mapfile -t METRIC_QUERIES < "$QUERIES"
else
    METRIC_QUERIES=(
        'sum(count_over_time({job="gen"}[1m]))'
        "sum by (level) (count_over_time({job=\"gen\"} | $LINE_FORMAT [1m]))"
        "sum by (level) (count_over_time({job=\"gen\"} | $LINE_FORMAT | status >= 500 [1m]))"
    )
fi
# Range queries are step-aligned as in Loki (start and end rounded down to a multiple of the step), so the end is
# rounded up here to a step at or after the newest entry: every entry then falls in some step's window.
METRIC_END="$(python3 -c '
import re, sys
units = {"ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
number, unit = re.fullmatch(r"(\d+)(ms|s|m|h)", sys.argv[2]).groups()
step = int(number) * units[unit]
print(-(-int(sys.argv[1]) // step) * step)' "$END" "$STEP")"
for query in "${METRIC_QUERIES[@]}"; do
    run query --query "$query" --start "$START" --end "$METRIC_END" --step "$STEP" --repeat "$REPEAT" --data-bytes "$DATA"
done

grep '^RESULT ' "$WORK/loadgen.out" > "$RESULTS" || true
echo
echo "== summary (machine: $(machine))"
python3 - "$RESULTS" <<'PY'
import json, sys
for raw in open(sys.argv[1]):
    r = json.loads(raw[len("RESULT "):])
    if r["command"] == "query":
        runs = r["runs"]
        exec_s = sorted(x["exec_seconds"] for x in runs)[len(runs) // 2]
        grew = max((x.get("backend_query_peak_rss_bytes", 0) - x.get("backend_rss_before_bytes", 0) for x in runs),
                   default=0)
        print(f'{r["query"]}: median {r["gb_per_second_median"]:.2f} GB/s, '
              f'{r.get("gb_per_second_per_core_median", 0):.2f} GB/s per core, exec {exec_s:.2f} s, '
              f'RSS growth during the query up to {grew / 1e6:.0f} MB, '
              f'backend peak RSS {r.get("backend_peak_rss_bytes", 0) / 1e6:.0f} MB')
    elif r["command"] == "fill":
        print(f'fill: {r["raw_bytes_accepted"] / 1e9:.2f} GB raw in {r.get("lines_accepted", 0)} lines')
PY
echo "results: $RESULTS"
