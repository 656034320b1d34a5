#!/usr/bin/env bash
# OTLP/HTTP benchmark of the Estuary agent (the gateway path) on this machine.
#
# Builds estuary and loadgen in release, starts `estuary backend` on 127.0.0.1:3100 with a throw-away config
# (snappy chunks, ingestion limits high enough never to throttle, data in a temp dir) and `estuary run` with a temp
# copy of config/gateway.alloy (OTLP/HTTP on 127.0.0.1:4318 -> batch -> otelcol.exporter.loki -> loki.write to the
# backend), then runs:
#   1. loadgen otlp at full speed for OTLP_SECONDS (30): the agent's saturation throughput, CPU and memory
#   2. loadgen otlp at RATE records/s (100000) for RATE_SECONDS (OTLP_SECONDS): latency below saturation
# After each run it waits for the agent to hand everything on and checks, with the backend's query API, that the
# entries stored in the run's time range are exactly the records the agent acknowledged (no loss), then runs
# `loadgen verify` on the run: every acknowledged record's sequence number found once, none missing or duplicated.
# It prints a summary and kills both processes on exit; their logs are shown if one dies or fails to start.
# Exits 1 on loss or duplicates.
#
# Environment: OTLP_SECONDS (30), RATE (100000), RATE_SECONDS (OTLP_SECONDS), CONCURRENCY (4), ENCODING
# (protobuf|json), GZIP=1 (GZIP_LEVEL 6), NO_BACKOFF=1 (resend at once after 503 instead of waiting Retry-After),
# RECORDS_PER_REQUEST (1000), LINE_BYTES (215), ATTRIBUTES (5), SERVICES (10),
# BACKEND_PORT (3100), OTLP_PORT (4318), AGENT_PORT (12345), DRAIN_SECONDS (60: how long to wait for the agent to
# deliver), KEEP_DATA=1 to keep the temp dir, SKIP_BUILD=1 to use existing release binaries, ESTUARY=path to run
# another binary, RESULTS_FILE (load_test/.build/bench-otlp-<time>.txt).
set -euo pipefail

source "$(dirname "$0")/lib.sh"
OTLP_SECONDS=${OTLP_SECONDS:-30}
RATE=${RATE:-100000}
RATE_SECONDS=${RATE_SECONDS:-$OTLP_SECONDS}
CONCURRENCY=${CONCURRENCY:-4}
ENCODING=${ENCODING:-protobuf}
RECORDS_PER_REQUEST=${RECORDS_PER_REQUEST:-1000}
LINE_BYTES=${LINE_BYTES:-215}
ATTRIBUTES=${ATTRIBUTES:-5}
SERVICES=${SERVICES:-10}
BACKEND_PORT=${BACKEND_PORT:-3100}
OTLP_PORT=${OTLP_PORT:-4318}
OTLP_GRPC_PORT=${OTLP_GRPC_PORT:-4317}
AGENT_PORT=${AGENT_PORT:-12345}
DRAIN_SECONDS=${DRAIN_SECONDS:-60}
BACKEND_URL="http://127.0.0.1:$BACKEND_PORT"
OTLP_URL="http://127.0.0.1:$OTLP_PORT/v1/logs"
AGENT_URL="http://127.0.0.1:$AGENT_PORT"
# The gateway's entries: otelcol.exporter.loki labels every stream exporter="OTLP".
SELECTOR=${SELECTOR:-'{exporter="OTLP"}'}

build_release
make_work estuary-bench-otlp agent-data
backend_config "$BACKEND_PORT"
cp "$ROOT/config/gateway.alloy" "$WORK/gateway.alloy"

check_alive() {
    alive backend "$BACKEND_PID" "$WORK/backend.log"
    alive agent "$AGENT_PID" "$WORK/agent.log"
}
# The agent says "estuary agent listening on HOST:PORT" once its API is up; the receiver starts right after.
# An empty protobuf body is a valid export of nothing; any HTTP answer means the receiver listens.
receiver_answers() {
    grep -q "estuary agent listening on" "$WORK/agent.log" || return 1
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/x-protobuf' \
        --data-binary '' "$OTLP_URL" 2>/dev/null || true)
    [[ "$code" != 000 && -n "$code" ]]
}

echo "== starting $ESTUARY backend on $BACKEND_URL (data in $WORK/data)"
start_backend "$BACKEND_URL"

echo "== starting $ESTUARY run gateway.alloy (OTLP/HTTP on $OTLP_URL, agent API on $AGENT_URL)"
LOKI_PUSH_URL="$BACKEND_URL/loki/api/v1/push" LOKI_TENANT_ID=fake OTLP_HTTP_ENDPOINT="127.0.0.1:$OTLP_PORT" \
    OTLP_GRPC_ENDPOINT="127.0.0.1:$OTLP_GRPC_PORT" \
    "$ESTUARY" run "$WORK/gateway.alloy" --server.http.listen-addr "127.0.0.1:$AGENT_PORT" \
    --storage.path "$WORK/agent-data" > "$WORK/agent.log" 2>&1 &
AGENT_PID=$!
track "$AGENT_PID"
wait_for agent "$AGENT_PID" "$WORK/agent.log" 60 receiver_answers

results_file bench-otlp
: > "$WORK/checks.txt"
: > "$WORK/verify.txt"

# Counts the entries stored in [START, END) ns. It first asks the backend to flush (POST /flush), so that every
# entry is in a stored chunk: a query whose line filter matches nothing then reads every entry of the range, and
# Loki's stats say how many it read (totalLinesProcessed; chunks held both in the ingester and in storage are read
# once). Prints the count, or -1 on failure.
count_stored() {
    curl -sf -X POST "$BACKEND_URL/flush" > /dev/null 2>&1 || true
    curl -sf -G "$BACKEND_URL/loki/api/v1/query_range" \
        --data-urlencode "query=$SELECTOR |= \"estuary-bench-otlp-matches-nothing\"" \
        --data-urlencode "start=$1" --data-urlencode "end=$2" \
        --data-urlencode "limit=1" --data-urlencode "direction=forward" 2>/dev/null \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["stats"]["summary"]["totalLinesProcessed"])' \
        2>/dev/null || echo -1
}

# Sums the agent's metric NAME over all its series (empty when the agent does not export it).
agent_metric() { metric "$AGENT_URL" "$1"; }

# check_loss LABEL: compares the last run's acknowledged records with what the backend stored in its time range.
check_loss() {
    local line accepted first last stored deadline
    line=$(grep '^RESULT ' "$WORK/loadgen.out" | tail -1)
    read -r accepted first last < <(python3 -c '
import json, sys
r = json.loads(sys.argv[1][len("RESULT "):])
print(r["records_accepted"], r["first_timestamp_ns"], r["last_timestamp_ns"] + 1)' "$line")
    # The agent batches (otelcol.processor.batch) and loki.write waits up to batch_wait: poll until all arrived.
    deadline=$((SECONDS + DRAIN_SECONDS))
    stored=$(count_stored "$first" "$last")
    while (( stored < accepted && SECONDS < deadline )); do
        sleep 2
        stored=$(count_stored "$first" "$last")
    done
    sleep 1  # one more look, for entries of unacknowledged requests that still arrived
    stored=$(count_stored "$first" "$last")
    echo "$1 $accepted $stored" >> "$WORK/checks.txt"
    echo "   agent: loki.write sent $(agent_metric loki_write_sent_entries_total) entries, dropped" \
        "$(agent_metric loki_write_dropped_entries_total) (all runs so far)"
    # Per-record proof: sequence numbers of every stream, none missing or twice (exit status 1 otherwise).
    local run_id
    run_id=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1][len("RESULT "):])["run_id"])' "$line")
    if "$LOADGEN" verify --url "$BACKEND_URL" --run "$WORK/loadgen.out:$run_id" --selector "$SELECTOR" \
        | tee -a "$WORK/verify.out"; then
        echo "$1 ok" >> "$WORK/verify.txt"
    else
        echo "$1 FAILED" >> "$WORK/verify.txt"
        echo "   VERIFY FAILED for run $run_id (see the table above)" >&2
    fi
    if (( stored == accepted )); then
        echo "   no loss: $stored entries stored = $accepted records acknowledged"
    elif (( stored > accepted )); then
        echo "   $stored entries stored > $accepted acknowledged (records of unanswered or refused requests arrived)"
    else
        echo "   LOSS: $stored entries stored < $accepted records acknowledged after ${DRAIN_SECONDS}s" >&2
    fi
}

run() {  # run LABEL loadgen-args...
    local label=$1
    shift
    echo
    echo "== loadgen otlp $*"
    "$LOADGEN" otlp --url "$OTLP_URL" --agent-pid "$AGENT_PID" --backend-pid "$BACKEND_PID" \
        --encoding "$ENCODING" ${GZIP:+--gzip --gzip-level "${GZIP_LEVEL:-6}"} ${NO_BACKOFF:+--no-backoff} \
        --records-per-request "$RECORDS_PER_REQUEST" \
        --line-bytes "$LINE_BYTES" --attributes "$ATTRIBUTES" --services "$SERVICES" \
        --concurrency "$CONCURRENCY" "$@" | tee -a "$WORK/loadgen.out"
    check_alive
    check_loss "$label"
    check_alive
}

[[ "${GZIP:-}" == 1 ]] || unset GZIP
[[ "${NO_BACKOFF:-}" == 1 ]] || unset NO_BACKOFF
run full --duration "${OTLP_SECONDS}s"
run rate --duration "${RATE_SECONDS}s" --rate "$RATE"

grep '^RESULT ' "$WORK/loadgen.out" > "$RESULTS" || true
AGENT_ACCEPTED=$(agent_metric otelcol_receiver_accepted_log_records_total)
echo
echo "== summary (machine: $(machine); agent says it accepted ${AGENT_ACCEPTED:-?} records)"
status=0
python3 - "$RESULTS" "$WORK/checks.txt" <<'PY' || status=$?
import json, sys
checks = [line.split() for line in open(sys.argv[2])]
lost = False
for raw, (label, accepted, stored) in zip(open(sys.argv[1]), checks):
    r = json.loads(raw[len("RESULT "):])
    cores = r.get("agent_cpu_cores") or 0
    target = f"rate {r['target_rate']:,.0f}/s" if r["target_rate"] else "full speed"
    refused = r["status_429"] + r["status_503"]
    errors = r["status_4xx"] + r["status_5xx"] + r["status_other"] + r["transport_errors"]
    accepted, stored = int(accepted), int(stored)
    lost = lost or stored < accepted
    print(f"otlp {r['encoding']}{'+gzip' if r['gzip'] else ''} {target:>16}: "
          f"{r['records_per_second']:>10,.0f} records/s  p50 {r['latency_p50_ms']:.1f} ms  p99 {r['latency_p99_ms']:.1f} ms  "
          f"max {r['latency_max_ms']:.0f} ms  429/503 {refused}  errors {errors}")
    print(f"     agent {cores:.2f} cores ({r.get('agent_records_per_second_per_core', 0):,.0f} records/s per core), "
          f"peak RSS {r.get('agent_peak_rss_bytes', 0) / 1e6:.0f} MB;  backend {r.get('backend_cpu_cores', 0):.2f} cores, "
          f"peak RSS {r.get('backend_peak_rss_bytes', 0) / 1e6:.0f} MB;  client {r['client_cpu_cores']:.2f} cores")
    verdict = "no loss" if stored == accepted else ("LOSS" if stored < accepted else "more stored than acknowledged")
    print(f"     stored {stored:,} / acknowledged {accepted:,}: {verdict}")
sys.exit(1 if lost else 0)
PY
if grep -q FAILED "$WORK/verify.txt" 2>/dev/null; then status=1; fi
echo "verify: $(tr '\n' ' ' < "$WORK/verify.txt" 2>/dev/null)"
grep '^VERIFY ' "$WORK/verify.out" >> "$RESULTS" 2>/dev/null || true
echo
echo "RESULT and VERIFY lines saved in $RESULTS"
exit $status
