#!/usr/bin/env bash
# The scaling test (see load_test/scaling/run.py --help): OTLP/HTTP load at a series of rates through Estuary's
# gateway agents into the backend, sampling every process, with a CSV per rate, a Markdown summary and plots.
#
#   load_test/run-scaling-test.sh --rates 5000 15000 30000 50000 --replicas 2
#   load_test/run-scaling-test.sh --find-ceiling --rates 20000
#   load_test/run-scaling-test.sh --backend-layout split --rates 5000   # needs a backend that runs -target=<module>
#   load_test/run-scaling-test.sh --url http://localhost:4318/v1/logs --metrics agent-0=http://localhost:12345/metrics \
#       --metrics backend=http://localhost:3100/metrics --backend-url http://localhost:3100
#
# Builds estuary and loadgen in release first (SKIP_BUILD=1 to use what is built). Plots need matplotlib: the
# repository's .venv (made by scripts/test) has it; otherwise it is installed there on first use.
set -euo pipefail
source "$(dirname "$0")/scripts/lib.sh"
# Help needs neither binary: print it at once.
for argument in "$@"; do
    if [[ "$argument" == "-h" || "$argument" == "--help" ]]; then
        exec python3 "$LOAD_TEST/scaling/run.py" --help
    fi
done
build_release "building estuary and loadgen in release (minutes on a first build; SKIP_BUILD=1 uses what is built)"
PYTHON="$ROOT/.venv/bin/python"
if ! "$PYTHON" -c 'import matplotlib' 2>/dev/null; then
    [[ -x "$PYTHON" ]] || python3 -m venv "$ROOT/.venv"
    "$PYTHON" -m pip install --quiet --disable-pip-version-check matplotlib
fi
exec "$PYTHON" "$LOAD_TEST/scaling/run.py" \
    --estuary "${ESTUARY_BIN:-$ROOT/.build/release/estuary}" --loadgen "${LOADGEN_BIN:-$LOAD_TEST/.build/release/loadgen}" "$@"
