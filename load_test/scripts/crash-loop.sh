#!/usr/bin/env bash
# Crash loop of the Estuary backend: does a push that was answered 2xx survive `kill -9`?
#
# Starts `estuary backend` (the throw-away config of the benchmarks, data in a temp dir), runs `loadgen push` against
# it (sequence-numbered lines; a request that fails is sent again with the same numbers), and meanwhile kills the
# backend with SIGKILL KILLS times at random moments, restarting it each time on the same data. Then it flushes,
# runs `loadgen verify` against the push's RESULT line and reports per run:
#   lost        acknowledged lines that are not stored (must be 0)
#   duplicated  lines stored twice: a request the backend took but whose answer the kill cut off, sent again;
#               at most KILLS x CONCURRENCY x LINES_PER_REQUEST (each kill cuts off at most the requests in flight)
# Exit status 0 when nothing acknowledged was lost and the duplicates are within their bound, 1 otherwise. The seed is printed; SEED=... repeats a run.
#
# Environment: KILLS (20), SEED (random), MIN_UP / MAX_UP (seconds the backend runs between kills, 0.5 / 3),
# CONCURRENCY (2), LINES_PER_REQUEST (200), PORT (a free one), SKIP_BUILD=1 / ESTUARY / LOADGEN (binaries to use
# instead of release builds), KEEP_DATA=1.
set -euo pipefail

source "$(dirname "$0")/lib.sh"
KILLS=${KILLS:-20}
SEED=${SEED:-$RANDOM$RANDOM}
MIN_UP=${MIN_UP:-0.5}
MAX_UP=${MAX_UP:-3}
CONCURRENCY=${CONCURRENCY:-2}
LINES_PER_REQUEST=${LINES_PER_REQUEST:-200}
PORT=${PORT:-$(free_port)}
URL="http://127.0.0.1:$PORT"

if [[ -n "${ESTUARY:-}" && -n "${LOADGEN:-}" ]]; then SKIP_BUILD=1; fi
build_release
make_work estuary-crash
backend_config "$PORT"
echo "== crash loop: $KILLS kills, seed $SEED, backend $ESTUARY on $URL (data in $WORK/data)"

# The moments of the kills: seconds the backend runs after each (re)start, drawn from the seed.
mapfile -t UPTIMES < <(python3 -c "
import random, sys
r = random.Random($SEED)
for _ in range($KILLS): print(f'{r.uniform($MIN_UP, $MAX_UP):.2f}')")
PUSH_SECONDS=$(python3 -c "print(int(sum(map(float, '${UPTIMES[*]}'.split()))) + 2 * $KILLS + 5)")

start_backend "$URL"
"$LOADGEN" push --url "$URL" --duration "${PUSH_SECONDS}s" --concurrency "$CONCURRENCY" \
    --lines-per-request "$LINES_PER_REQUEST" --streams 20 --progress 0s > "$WORK/push.out" 2> "$WORK/push.err" &
PUSH_PID=$!
track "$PUSH_PID"

for ((kill = 1; kill <= KILLS; kill++)); do
    sleep "${UPTIMES[kill - 1]}"   # not-a-wait: the random moment of the next kill, the point of the test
    alive backend "$BACKEND_PID" "$WORK/backend.log"
    kill -9 "$BACKEND_PID"
    wait "$BACKEND_PID" 2>/dev/null || true
    mv "$WORK/backend.log" "$WORK/backend.$kill.log"
    start_backend "$URL"
    echo "kill $kill/$KILLS after ${UPTIMES[kill - 1]} s: restarted"
done

wait "$PUSH_PID" || { echo "loadgen push failed:" >&2; tail -n 20 "$WORK/push.err" >&2; exit 1; }
curl -sf -X POST "$URL/flush" > /dev/null
"$LOADGEN" verify --url "$URL" --run "$WORK/push.out" > "$WORK/verify.out" 2>&1 || true
if ! grep -q '^VERIFY ' "$WORK/verify.out"; then
    echo "loadgen verify gave no summary:" >&2
    cat "$WORK/verify.out" >&2
    exit 1
fi
python3 - "$WORK/push.out" "$WORK/verify.out" "$SEED" "$KILLS" "$CONCURRENCY" "$LINES_PER_REQUEST" <<'PY'
import json, sys
push = json.loads(next(l for l in reversed(open(sys.argv[1]).read().splitlines()) if l.startswith("RESULT "))[7:])
verify = json.loads(next(l for l in open(sys.argv[2]) if l.startswith("VERIFY "))[7:])
lost, duplicated = verify["missing"], verify["duplicated"]
bound = int(sys.argv[4]) * int(sys.argv[5]) * int(sys.argv[6])
if lost:
    sys.stdout.write("".join(l for l in open(sys.argv[2]) if not l.startswith("VERIFY ")))
print(f"acknowledged {push['records_acknowledged']:,} lines over {sys.argv[4]} kills (seed {sys.argv[3]}): "
      f"lost {lost:,}, duplicated {duplicated:,} (bound {bound:,})")
print("RESULT " + json.dumps({"command": "crash-loop", "seed": int(sys.argv[3]), "kills": int(sys.argv[4]),
                              "acknowledged": push["records_acknowledged"], "lost": lost, "duplicated": duplicated}))
sys.exit(1 if lost or duplicated > bound else 0)
PY
