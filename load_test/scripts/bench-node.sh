#!/usr/bin/env bash
# Benchmark of the node agent's path (tail -> stage.cri -> relabel -> loki.write) on this machine.
#
# Builds estuary and loadgen in release, starts `estuary backend` on 127.0.0.1 with a throw-away config, then:
#   1. catch-up: `loadgen file` writes LINES (1,000,000) CRI lines of LINE_BYTES (200) into FILES (100) container logs
#      of a /var/log/pods-style tree, then the agent (scripts/bench-node.alloy) starts and reads them all; the agent's
#      CPU time (from /proc) over that gives lines/s per agent core, its peak RSS the memory;
#   2. live: while the agent runs, `loadgen file` appends RATE (50,000) lines/s for LIVE_SECONDS (20): the agent's
#      CPU at that rate and that it keeps up;
#   3. many files: a second agent watches WATCHED (1,000) files, each with a few lines: its RSS once they are read.
# After each writing phase `loadgen verify` proves every line arrived once (exit 1 otherwise).
#
# Environment: LINES, LINE_BYTES, FILES, RATE, LIVE_SECONDS, WATCHED, BACKEND_PORT (3100), AGENT_PORT (12345),
# DRAIN_SECONDS (120), SKIP_BUILD=1, KEEP_DATA=1, ESTUARY=path, RESULTS_FILE (load_test/.build/bench-node-<time>.txt).
set -euo pipefail

source "$(dirname "$0")/lib.sh"
LINES=${LINES:-1000000}
LINE_BYTES=${LINE_BYTES:-200}
FILES=${FILES:-100}
RATE=${RATE:-50000}
LIVE_SECONDS=${LIVE_SECONDS:-20}
WATCHED=${WATCHED:-1000}
BACKEND_PORT=${BACKEND_PORT:-3100}
AGENT_PORT=${AGENT_PORT:-12345}
DRAIN_SECONDS=${DRAIN_SECONDS:-120}
BACKEND_URL="http://127.0.0.1:$BACKEND_PORT"
AGENT_URL="http://127.0.0.1:$AGENT_PORT"

build_release
make_work estuary-bench-node pods many agent-data agent2-data
backend_config "$BACKEND_PORT"

start_agent() {  # start_agent PODS_DIR DATA_DIR PORT LOG: prints the pid
    POD_LOGS_PATH="$1" LOKI_PUSH_URL="$BACKEND_URL/loki/api/v1/push" \
        "$ESTUARY" run "$LOAD_TEST/scripts/bench-node.alloy" --server.http.listen-addr "127.0.0.1:$3" \
        --storage.path "$2" > "$4" 2>&1 &
    echo $!
}
wait_ready() {  # wait_ready URL PID LOG
    wait_for "$1" "$2" "$3" 60 curl -sf "$1/-/ready"
}
# wait_sent URL COUNT: until loki.write sent COUNT entries (or DRAIN_SECONDS passed)
wait_sent() {
    local deadline=$((SECONDS + DRAIN_SECONDS))
    while (( $(metric "$1" loki_write_sent_entries_total 0) < $2 && SECONDS < deadline )); do sleep 0.2; done
}
verify() {  # verify LABEL MANIFEST_FILE
    local run_id
    run_id=$(result_field "$2" run_id)
    curl -sf -X POST "$BACKEND_URL/flush" > /dev/null 2>&1 || true
    if "$LOADGEN" verify --url "$BACKEND_URL" --run "$2:$run_id" > "$WORK/verify-$1.out"; then
        grep -v '^VERIFY ' "$WORK/verify-$1.out" | tail -3
        echo "$1 verify ok" >> "$WORK/summary.txt"
    else
        grep -v '^VERIFY ' "$WORK/verify-$1.out" | head -20
        echo "$1 verify FAILED" >> "$WORK/summary.txt"
    fi
}

echo "== starting backend on $BACKEND_URL"
start_backend "$BACKEND_URL"

echo "== 1. catch-up: writing $LINES lines of $LINE_BYTES bytes into $FILES files"
"$LOADGEN" file --dir "$WORK/pods" --pods "$FILES" --containers 1 --rate 0 --count "$LINES" \
    --line-bytes "$LINE_BYTES" --progress 0s > "$WORK/catchup.out"
# The agent starts reading at once: its CPU and the wall time count from its start (start-up included).
t0=$(date +%s.%N); cpu0=0
AGENT_PID=$(start_agent "$WORK/pods" "$WORK/agent-data" "$AGENT_PORT" "$WORK/agent.log")
track "$AGENT_PID"
wait_ready "$AGENT_URL" "$AGENT_PID" "$WORK/agent.log"
wait_sent "$AGENT_URL" "$LINES"
cpu1=$(cpu_seconds "$AGENT_PID"); t1=$(date +%s.%N)
sent=$(metric "$AGENT_URL" loki_write_sent_entries_total 0)
python3 - "$LINES" "$sent" "$cpu0" "$cpu1" "$t0" "$t1" "$(peak_rss_mb "$AGENT_PID")" >> "$WORK/summary.txt" <<'PY'
import sys
lines, sent, c0, c1, t0, t1, rss = sys.argv[1:]
cpu, wall = float(c1) - float(c0), float(t1) - float(t0)
print(f"catch-up: {int(sent):,}/{int(lines):,} lines in {wall:.1f} s = {int(sent)/wall:,.0f} lines/s wall; "
      f"agent {cpu:.2f} CPU s = {int(sent)/cpu:,.0f} lines/s per agent core ({cpu/wall:.2f} cores); peak RSS {rss} MB")
PY
tail -1 "$WORK/summary.txt"
verify catch-up "$WORK/catchup.out"

echo "== 2. live: $RATE lines/s for ${LIVE_SECONDS}s into the same tree"
before=$(metric "$AGENT_URL" loki_write_sent_entries_total 0)
cpu0=$(cpu_seconds "$AGENT_PID"); t0=$(date +%s.%N)
"$LOADGEN" file --dir "$WORK/pods" --pods "$FILES" --containers 1 --rate "$RATE" --duration "${LIVE_SECONDS}s" \
    --line-bytes "$LINE_BYTES" --seed 2 --progress 0s > "$WORK/live.out"
written=$(result_field "$WORK/live.out" records_acknowledged 2>/dev/null || echo 0)
wait_sent "$AGENT_URL" $((before + written))
cpu1=$(cpu_seconds "$AGENT_PID"); t1=$(date +%s.%N)
python3 - "$written" "$cpu0" "$cpu1" "$t0" "$t1" "$(rss_mb "$AGENT_PID")" >> "$WORK/summary.txt" <<'PY'
import sys
written, c0, c1, t0, t1, rss = sys.argv[1:]
cpu, wall = float(c1) - float(c0), float(t1) - float(t0)
print(f"live: {int(written):,} lines over {wall:.1f} s; agent {cpu/wall:.2f} cores "
      f"({int(written)/cpu:,.0f} lines/s per agent core); RSS {rss} MB")
PY
tail -1 "$WORK/summary.txt"
verify live "$WORK/live.out"

echo "== 3. many files: a second agent watching $WATCHED files"
"$LOADGEN" file --dir "$WORK/many" --pods "$WATCHED" --containers 1 --rate 0 --count $((WATCHED * 5)) \
    --line-bytes "$LINE_BYTES" --seed 3 --progress 0s > "$WORK/many.out"
AGENT2_PID=$(start_agent "$WORK/many" "$WORK/agent2-data" $((AGENT_PORT + 1)) "$WORK/agent2.log")
track "$AGENT2_PID"
wait_ready "http://127.0.0.1:$((AGENT_PORT + 1))" "$AGENT2_PID" "$WORK/agent2.log"
base=$(metric "$AGENT_URL" loki_write_sent_entries_total 0)
wait_sent "http://127.0.0.1:$((AGENT_PORT + 1))" $((WATCHED * 5))
sleep 5  # idle: what the watching costs at rest
cpu0=$(cpu_seconds "$AGENT2_PID"); sleep 10; cpu1=$(cpu_seconds "$AGENT2_PID")
active=$(metric "http://127.0.0.1:$((AGENT_PORT + 1))" loki_source_file_files_active_total 0)
echo "many files: $active files open; RSS $(rss_mb "$AGENT2_PID") MB (peak $(peak_rss_mb "$AGENT2_PID") MB); idle CPU $(python3 -c "print(f'{($cpu1 - $cpu0) / 10 * 100:.1f}')")% of a core" \
    >> "$WORK/summary.txt"
tail -1 "$WORK/summary.txt"
verify many "$WORK/many.out"

echo
echo "== summary (machine: $(machine))"
cat "$WORK/summary.txt"
results_file bench-node
cp "$WORK/summary.txt" "$RESULTS"
echo "saved in $RESULTS"
! grep -q FAILED "$WORK/summary.txt"
