"""`estuary` with no arguments: the backend and the agent on their fixed quickstart ports, on loopback only unless
the user opens the backend with -server.http-listen-address."""
import signal
import subprocess
import time

import pytest
import requests

from conftest import BINARY


def start(tmp_path, *arguments):
    """Starts the quickstart in `tmp_path`; the two `listening on` lines it prints once both listen."""
    proc = subprocess.Popen([BINARY, *arguments], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=open(tmp_path / "stderr.log", "wb"))
    lines = []
    for raw in proc.stdout:
        line = raw.decode().strip()
        if "listening on " in line:
            lines.append(line)
            if len(lines) == 2:
                return proc, sorted(lines)
    proc.wait()
    pytest.fail("the quickstart exited before listening: " + (tmp_path / "stderr.log").read_text())


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0


def test_the_quickstart_listens_on_loopback_and_round_trips(tmp_path):
    proc, lines = start(tmp_path)
    try:
        assert lines == ["estuary agent listening on 127.0.0.1:12345", "estuary backend listening on 127.0.0.1:3100"]
        now = time.time_ns()
        body = {"streams": [{"stream": {"job": "quickstart"}, "values": [[str(now), "hello quickstart"]]}]}
        assert requests.post("http://127.0.0.1:3100/loki/api/v1/push", json=body, timeout=10).status_code == 204
        answer = requests.get("http://127.0.0.1:3100/loki/api/v1/query_range",
                              params={"query": '{job="quickstart"}', "start": now - 10**9, "end": now + 10**9},
                              timeout=10).json()
        assert [v[1] for s in answer["data"]["result"] for v in s["values"]] == ["hello quickstart"]
    finally:
        stop(proc)


def test_the_backend_is_opened_to_the_network_only_when_asked(tmp_path):
    proc, lines = start(tmp_path, "-server.http-listen-address=0.0.0.0")
    try:
        assert "estuary backend listening on 0.0.0.0:3100" in lines
        assert requests.get("http://127.0.0.1:3100/ready", timeout=10).status_code == 200
    finally:
        stop(proc)
