# Shared by the bench scripts (scripts/bench-*.sh) and run-scaling-test.sh; sourced, never run. It sets LOAD_TEST
# and ROOT and defines the steps every benchmark repeats: release builds, a temp dir and a throw-away backend config,
# starting processes and waiting until they answer, stopping them and cleaning up on exit, /proc and /metrics
# readings, RESULT fields and the results file.
#
# Environment read here: SKIP_BUILD=1 (use the binaries already built), ESTUARY (the estuary binary), KEEP_DATA=1
# (keep the temp dir), RESULTS_FILE (where the results go), TMPDIR.

LOAD_TEST=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=$(cd "$LOAD_TEST/.." && pwd)

# build_release [MESSAGE]: builds estuary and loadgen in release, unless SKIP_BUILD=1, and sets ESTUARY (unless
# given) and LOADGEN. MESSAGE goes to stderr instead of the usual heading.
build_release() {
    if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
        if [[ $# -gt 0 ]]; then echo "$1" >&2; else echo "== building estuary and loadgen (release)"; fi
        (cd "$ROOT" && swift build -c release --product estuary)
        (cd "$LOAD_TEST" && swift build -c release --product loadgen)
    fi
    ESTUARY=${ESTUARY:-"$ROOT/.build/release/estuary"}
    LOADGEN=${LOADGEN:-"$LOAD_TEST/.build/release/loadgen"}
}

# make_work NAME [SUBDIR...]: a fresh temp dir in WORK (removed on exit unless KEEP_DATA=1), with SUBDIRs.
make_work() {
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
    shift
    for dir in "$@"; do mkdir -p "$WORK/$dir"; done
}

# backend_config PORT: writes $WORK/loki.yaml, the throw-away backend config (scripts/bench-backend.yaml) listening
# on PORT with its data in $WORK/data; WAL_ENABLED=false turns the ingester's WAL off, MEMORY_CEILING sets
# ingester.memory_ceiling, DISCOVER_LOG_LEVELS=false turns limits_config.discover_log_levels off.
backend_config() {
    mkdir -p "$WORK/data"
    sed -e "s|@PORT@|$1|" -e "s|@DATA@|$WORK/data|" -e "s|@WAL@|${WAL_ENABLED:-true}|" \
        -e "s|@MEMORY_CEILING@|${MEMORY_CEILING:-0}|" -e "s|@DISCOVER_LOG_LEVELS@|${DISCOVER_LOG_LEVELS:-true}|" \
        "$LOAD_TEST/scripts/bench-backend.yaml" > "$WORK/loki.yaml"
}

# The processes started (see track); cleanup stops them, newest first, and removes WORK.
PIDS=()
track() { PIDS+=("$1"); }
stop() {  # stop PID: ends the process and waits for it (nothing if it is gone)
    if [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null; then
        kill "$1" 2>/dev/null || true
        wait "$1" 2>/dev/null || true
    fi
}
cleanup() {
    local i
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop "${PIDS[i]}"; done
    if [[ -n "${WORK:-}" ]]; then
        if [[ "${KEEP_DATA:-0}" == 1 ]]; then echo "kept $WORK"; else rm -rf "$WORK" 2>/dev/null || true; fi
    fi
}
trap cleanup EXIT

died() {  # died NAME LOG: says NAME stopped, shows the end of its log, exits 1
    echo "$1 is not running; last lines of its log:" >&2
    tail -n 40 "$2" >&2 || true
    exit 1
}
alive() {  # alive NAME PID LOG: exits through died unless PID runs
    kill -0 "$2" 2>/dev/null || died "$1" "$3"
}

# wait_for NAME PID LOG SECONDS COMMAND...: runs COMMAND every 0.25 s until it succeeds; exits through died if PID
# ends first or SECONDS pass.
wait_for() {
    local name=$1 pid=$2 log=$3 seconds=$4
    local deadline=$((SECONDS + seconds))
    shift 4
    while ! "$@" > /dev/null 2>&1; do
        alive "$name" "$pid" "$log"
        if ((SECONDS >= deadline)); then
            echo "$name not ready after $seconds s" >&2
            died "$name" "$log"
        fi
        sleep 0.25
    done
}

# start_backend URL: starts `estuary backend` with $WORK/loki.yaml (log in $WORK/backend.log), waits for URL/ready
# and sets BACKEND_PID.
start_backend() {
    "$ESTUARY" backend -config.file="$WORK/loki.yaml" > "$WORK/backend.log" 2>&1 &
    BACKEND_PID=$!
    track "$BACKEND_PID"
    wait_for backend "$BACKEND_PID" "$WORK/backend.log" 60 curl -sf "$1/ready"
}

# Readings of a process from /proc: CPU seconds (user + system), peak RSS (VmHWM) and RSS now in MB.
TICKS=$(getconf CLK_TCK)
cpu_seconds() { awk -v t="$TICKS" '{ printf "%.3f", ($14 + $15) / t }' "/proc/$1/stat"; }
peak_rss_mb() { awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
rss_mb() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# metric URL NAME [DEFAULT]: the sum over the series of NAME at URL/metrics; DEFAULT (nothing unless given) when
# there is none or URL does not answer. Never fails.
metric() {
    curl -sf "$1/metrics" 2>/dev/null | awk -v name="$2" -v none="${3:-}" \
        '$1 == name || index($1, name "{") == 1 { sum += $NF; seen = 1 }
         END { if (seen) printf "%.0f", sum; else printf "%s", none }' || true
}

# result_field FILE FIELD: FIELD of the last `RESULT {json}` line of FILE.
result_field() {
    grep '^RESULT ' "$1" | tail -1 | python3 -c "import json, sys; print(json.loads(sys.stdin.read()[7:])['$2'])"
}

# free_port: a loopback TCP port nothing listens on now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# results_file NAME: sets RESULTS to RESULTS_FILE, or load_test/.build/NAME-<time>.txt.
results_file() {
    mkdir -p "$LOAD_TEST/.build"
    RESULTS=${RESULTS_FILE:-"$LOAD_TEST/.build/$1-$(date +%Y%m%d-%H%M%S).txt"}
}

# machine: `N cores, Linux 6.x` for summaries.
machine() { echo "$(nproc) cores, $(uname -sr)"; }
