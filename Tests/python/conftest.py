"""Fixtures that run the real estuary binary on an ephemeral loopback port."""
import os
import pathlib
import signal
import subprocess
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = os.environ.get("ESTUARY_BIN", str(ROOT / ".build" / "debug" / "estuary"))

CONFIG = """
auth_enabled: {auth}
server:
  http_listen_port: 0
{server}common:
  path_prefix: {data}
  replication_factor: 1
schema_config:
  configs:
    - from: 2024-01-01
      store: tsdb
      object_store: filesystem
      schema: v13
      index:
        prefix: index_
        period: 24h
storage_config:
  filesystem:
    directory: {data}/chunks
ingester:
  chunk_encoding: snappy
limits_config:
{limits}
"""


class Backend:
    def __init__(self, auth=False, limits="", server=""):
        self.dir = tempfile.mkdtemp(prefix="estuary-py-")
        self.data = os.path.join(self.dir, "data")
        self.config = os.path.join(self.dir, "loki.yaml")
        with open(self.config, "w") as f:
            f.write(CONFIG.format(auth="true" if auth else "false", data=self.data,
                                  limits=limits or "  reject_old_samples: true", server=server))
        self.proc = None
        self.url = None

    def start(self, port=0):
        self.stderr = open(os.path.join(self.dir, "stderr.log"), "ab")
        self.proc = subprocess.Popen(
            [BINARY, "backend", f"-config.file={self.config}", "-server.http-listen-address=127.0.0.1",
             f"-server.http-listen-port={port}"],
            stdout=subprocess.PIPE, stderr=self.stderr)
        for raw in self.proc.stdout:
            line = raw.decode()
            if "listening on " in line:
                port = int(line.strip().rsplit(":", 1)[1])
                self.url = f"http://127.0.0.1:{port}"
                return self
        self.proc.wait()
        raise RuntimeError("estuary exited before listening: " + open(self.stderr.name).read())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)
        code = self.proc.returncode if self.proc else 0
        self.proc = None
        return code


@pytest.fixture
def backend():
    b = Backend().start()
    yield b
    b.stop()


@pytest.fixture
def backend_factory():
    """Backends a test makes (not yet started), stopped after it."""
    made = []

    def make(**kwargs):
        b = Backend(**kwargs)
        made.append(b)
        return b

    yield make
    for b in made:
        b.stop()


@pytest.fixture
def make_backend(backend_factory):
    return backend_factory


# Service name and level discovery are on by default, as in Loki 3; tests that compare streams and bytes with what
# they pushed turn them off (discovery has its own tests in test_otlp.py).
PLAIN_LABELS = "  discover_service_name: []\n  discover_log_levels: false"


@pytest.fixture
def make_plain_backend(backend_factory):
    """make_backend with discovery off: streams keep exactly the labels pushed."""
    def make(limits="", **kwargs):
        return backend_factory(limits=PLAIN_LABELS + ("\n" + limits if limits else ""), **kwargs)
    return make


def free_port():
    """A loopback port nobody listens on right now (for agent listeners whose port is fixed in the config)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Agent:
    """`estuary run CONFIG` with its API on an ephemeral port; `env` is added to the environment, `args` to the
    command line."""

    def __init__(self, config, env=None, args=None):
        self.dir = tempfile.mkdtemp(prefix="estuary-agent-py-")
        self.config = config
        self.args = list(args or [])
        self.env = dict(os.environ, **(env or {}))
        self.proc = None
        self.url = None

    def start(self):
        self.stderr = open(os.path.join(self.dir, "stderr.log"), "wb")
        self.proc = subprocess.Popen(
            [BINARY, "run", self.config, "--server.http.listen-addr=127.0.0.1:0",
             f"--storage.path={self.dir}/data"] + self.args,
            stdout=subprocess.PIPE, stderr=self.stderr, env=self.env)
        for raw in self.proc.stdout:
            line = raw.decode()
            if "agent listening on " in line:
                port = int(line.strip().rsplit(":", 1)[1])
                self.url = f"http://127.0.0.1:{port}"
                return self
        self.proc.wait()
        raise RuntimeError("estuary run exited before listening: " + open(self.stderr.name).read())

    def log(self):
        return open(self.stderr.name).read()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)
        code = self.proc.returncode if self.proc else 0
        self.proc = None
        return code


@pytest.fixture
def make_agent():
    made = []

    def make(config, env=None, args=None):
        a = Agent(config, env, args)
        made.append(a)
        return a.start()

    yield make
    for a in made:
        a.stop()
