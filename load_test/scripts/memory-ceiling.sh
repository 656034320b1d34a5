#!/usr/bin/env bash
# The ingester's memory ceiling under a push flood: does the backend stay within it, and is everything it
# acknowledged stored?
#
# Starts `estuary backend` (the throw-away config) with ingester.memory_ceiling MEMORY_CEILING (256MB), floods it
# with `loadgen push` for PUSH_SECONDS (60) over STREAMS (1000) streams and CONCURRENCY (8) connections (loadgen
# sends a refused request again after its Retry-After), then flushes and runs `loadgen verify`. Prints the
# backend's peak RSS against the ceiling, the pushes refused at the ceiling, and lost/duplicated lines. Exit status 1
# when anything acknowledged was lost or peak RSS passed the ceiling plus ALLOWANCE (512MB: request bodies in flight
# and their decoded form, the runtime; see docs/backend.md, "Memory ceiling").
#
# Environment also: PORT (a free one), SKIP_BUILD=1, ESTUARY, LOADGEN, KEEP_DATA=1.
set -euo pipefail

source "$(dirname "$0")/lib.sh"
MEMORY_CEILING=${MEMORY_CEILING:-256MB}
ALLOWANCE=${ALLOWANCE:-512MB}
PUSH_SECONDS=${PUSH_SECONDS:-60}
STREAMS=${STREAMS:-1000}
CONCURRENCY=${CONCURRENCY:-8}
PORT=${PORT:-$(free_port)}
URL="http://127.0.0.1:$PORT"

if [[ -n "${ESTUARY:-}" && -n "${LOADGEN:-}" ]]; then SKIP_BUILD=1; fi
build_release
make_work estuary-ceiling
backend_config "$PORT"
start_backend "$URL"
echo "== flood: ${PUSH_SECONDS}s, $STREAMS streams, $CONCURRENCY connections, memory_ceiling $MEMORY_CEILING"
"$LOADGEN" push --url "$URL" --duration "${PUSH_SECONDS}s" --concurrency "$CONCURRENCY" --streams "$STREAMS" \
    --backend-pid "$BACKEND_PID" --progress 0s > "$WORK/push.out" 2> "$WORK/push.err" \
    || { echo "loadgen push failed:" >&2; tail -n 20 "$WORK/push.err" >&2; exit 1; }
PEAK_MB=$(peak_rss_mb "$BACKEND_PID")
REFUSED=$(curl -sf "$URL/metrics" | awk '/^estuary_push_requests_refused_total\{reason="memory_ceiling"\}/ { print $2 }')
curl -sf -X POST "$URL/flush" > /dev/null
# One stream at a time, in pages as large as the backend allows: across 1,000 streams every page would decompress a
# block of each stream for a few of its entries.
"$LOADGEN" verify --url "$URL" --run "$WORK/push.out" --streams "$STREAMS" --limit 20000 > "$WORK/verify.out" 2>&1 || true
python3 - "$WORK/push.out" "$WORK/verify.out" "$PEAK_MB" "${REFUSED:-0}" "$MEMORY_CEILING" "$ALLOWANCE" <<'PY'
import json, re, sys
def size(text):
    number, unit = re.fullmatch(r"([0-9.]+)\s*([KMG]?)B?", text).groups()
    return float(number) * {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}[unit] / 2**20   # as the config reads sizes
push = json.loads(next(l for l in reversed(open(sys.argv[1]).read().splitlines()) if l.startswith("RESULT "))[7:])
verify = json.loads(next(l for l in open(sys.argv[2]) if l.startswith("VERIFY "))[7:])
peak, refused = float(sys.argv[3]), int(float(sys.argv[4]))
ceiling, allowance = size(sys.argv[5]), size(sys.argv[6])
lost, duplicated = verify["missing"], verify["duplicated"]
print(f"acknowledged {push['records_acknowledged']:,} lines; {refused:,} pushes refused at the ceiling and sent again; "
      f"lost {lost:,}, duplicated {duplicated:,}")
print(f"backend peak RSS {peak:,.0f} MiB; ceiling {ceiling:,.0f} MiB + allowance {allowance:,.0f} MiB")
print("RESULT " + json.dumps({"command": "memory-ceiling", "acknowledged": push["records_acknowledged"],
                              "refused": refused, "lost": lost, "duplicated": duplicated, "peak_rss_mb": peak,
                              "ceiling_mb": ceiling}))
sys.exit(1 if lost or peak > ceiling + allowance else 0)
PY
