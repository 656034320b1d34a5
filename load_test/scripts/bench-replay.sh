#!/usr/bin/env bash
# Replay speed of the backend's write-ahead log: how fast a restarted backend reads its WAL back.
#
# Starts `estuary backend` (the throw-away config, WAL on), pushes for PUSH_SECONDS (10) with `loadgen push`, kills
# it with SIGKILL (no checkpoint, no flush: the restart must replay every segment), measures the WAL on disk, starts
# it again and reads loki_ingester_wal_replay_duration_seconds. Replay runs in one task, so MB/s is also MB/s per
# core. The entries of chunks flushed before the kill are read and skipped; the rest are appended to memory again.
#
# Environment: PUSH_SECONDS (10), CONCURRENCY (4), STREAMS (100), PORT (3100), SKIP_BUILD=1, ESTUARY, KEEP_DATA=1.
set -euo pipefail

source "$(dirname "$0")/lib.sh"
PUSH_SECONDS=${PUSH_SECONDS:-10}
CONCURRENCY=${CONCURRENCY:-4}
STREAMS=${STREAMS:-100}
PORT=${PORT:-3100}
URL="http://127.0.0.1:$PORT"

build_release
make_work estuary-replay
backend_config "$PORT"
start_backend "$URL"
echo "== loadgen push for ${PUSH_SECONDS}s"
"$LOADGEN" push --url "$URL" --duration "${PUSH_SECONDS}s" --concurrency "$CONCURRENCY" --streams "$STREAMS" \
    --progress 0s > "$WORK/push.out"
echo "acknowledged $(result_field "$WORK/push.out" records_acknowledged) lines"
kill -9 "$BACKEND_PID"
wait "$BACKEND_PID" 2>/dev/null || true
WAL_BYTES=$(du -sb "$WORK/data/wal" | cut -f1)
SEGMENTS=$(find "$WORK/data/wal" -maxdepth 1 -name '[0-9]*' | wc -l)
echo "== killed; WAL: $WAL_BYTES bytes in $SEGMENTS segments; restarting"
mv "$WORK/backend.log" "$WORK/backend.1.log"
start_backend "$URL"
SECONDS_TAKEN=$(curl -sf "$URL/metrics" | awk '$1 == "loki_ingester_wal_replay_duration_seconds" { print $2 }')
python3 - "$WAL_BYTES" "$SECONDS_TAKEN" "$SEGMENTS" <<'PY'
import json, sys
size, seconds, segments = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
rate = size / seconds / 1e6 if seconds > 0 else float("inf")
print(f"replayed {size / 1e6:,.0f} MB ({segments} segments) in {seconds:.2f} s: {rate:,.0f} MB/s (one task)")
print("RESULT " + json.dumps({"command": "bench-replay", "wal_bytes": size, "segments": segments,
                              "replay_seconds": seconds, "mb_per_second": round(rate, 1)}))
PY
