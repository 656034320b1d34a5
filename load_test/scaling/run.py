"""The scaling test: drives OTLP/HTTP load at a series of rates through Estuary's gateway agents into a backend,
samples every process while it runs, and writes what saturated where.

Locally (the default) it starts `estuary backend` and `--replicas` gateway agents (`config/gateway.alloy`) as
processes on loopback. With `--url` (one per gateway replica, e.g. behind `kubectl port-forward`) and `--metrics`
(`name=url` per process to sample; names starting with `agent` are gateway replicas, `backend` the store) it drives
a deployment that is already running; `--backend-url` then lets it check for loss with the query API.

Per round (target rate): `loadgen otlp` runs for stabilise + duration seconds, the rate spread evenly over the
replicas (one generator process each, so that one generator is never the bottleneck), then the system cools down,
and `loadgen verify` checks every generator's manifest (its RESULT line) against the backend: per record, nothing
missing and nothing stored twice. `--backend-layout split` runs the backend's modules as processes of their own. Outputs in `--out`: perf-metrics-samples.csv, scaling-results-<time>.csv,
summary.md and scaling.png.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scaling  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SELECTOR = '{exporter="OTLP"}'


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, data=None, timeout=10, headers=None):
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, response.read()


def wait_until(check, what, timeout=60, proc=None, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: the process exited ({proc.returncode}); log:\n{tail(log)}")
        try:
            if check():
                return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what}: not ready after {timeout}s; log:\n{tail(log)}")


def tail(path, lines=30):
    if not path or not os.path.exists(path):
        return ""
    with open(path, errors="replace") as f:
        return "".join(f.readlines()[-lines:])


class Process:
    """A process to sample: its /metrics URL and, when local, its pid for /proc."""

    def __init__(self, name, metrics_url, popen=None, log=None):
        self.name, self.metrics_url, self.popen, self.log = name, metrics_url, popen, log

    @property
    def pid(self):
        return self.popen.pid if self.popen else None

    def stop(self):
        if self.popen and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()




class Backend:
    """Where the backend takes pushes, answers queries and flushes, whatever its layout."""

    def __init__(self, push_url, query_url, flush_urls):
        self.push_url, self.query_url, self.flush_urls = push_url, query_url, list(flush_urls)


class BackendLayoutError(RuntimeError):
    """The backend binary cannot run the layout asked for."""


# The modules of the split layout, in start-up order (ingesters first: the distributor needs them in the ring;
# the querier before the frontend it connects to), with the process names they are sampled under.
SPLIT_TARGETS = ["ingester", "distributor", "querier", "query-frontend"]


def backend_config(template, port, data, extra=""):
    """bench-backend.yaml filled in as scripts/lib.sh fills it (WAL_ENABLED, MEMORY_CEILING and DISCOVER_LOG_LEVELS from
    the environment)."""
    filled = (template.replace("@PORT@", str(port)).replace("@DATA@", str(data))
              .replace("@WAL@", os.environ.get("WAL_ENABLED", "true"))
              .replace("@DISCOVER_LOG_LEVELS@", os.environ.get("DISCOVER_LOG_LEVELS", "true"))
              .replace("@MEMORY_CEILING@", os.environ.get("MEMORY_CEILING", "0")))
    return filled + extra


def split_config(target, ports):
    """What a module of the split layout adds to the shared configuration, with Loki's keys: its target, its
    memberlist gossip port joining every other module's on loopback (the ring: `common.ring.kvstore.store` becomes
    `memberlist`), and for the querier the frontend it takes queries from."""
    gossip = [f"127.0.0.1:{ports[t]['gossip']}" for t in SPLIT_TARGETS if t != target]
    lines = [
        f"target: {target}",
        "memberlist:",
        "  bind_addr: [127.0.0.1]",
        f"  bind_port: {ports[target]['gossip']}",
        "  join_members: [" + ", ".join(gossip) + "]",
    ]
    if target == "querier":
        lines += ["frontend_worker:", f"  frontend_address: 127.0.0.1:{ports['query-frontend']['grpc']}"]
    return "\n" + "\n".join(lines) + "\n"


def start_backend(estuary, layout, work):
    """Starts the backend on loopback in `layout` (`single`: one `estuary backend` process, `-target=all`;
    `split`: distributor, ingester, querier and query-frontend as processes of their own, sharing one data
    directory and one memberlist ring). Returns (processes, Backend)."""
    data = work / "data"
    data.mkdir(parents=True)
    template = (ROOT / "load_test" / "scripts" / "bench-backend.yaml").read_text()
    if layout == "single":
        port = free_port()
        config = work / "loki.yaml"
        config.write_text(backend_config(template, port, data))
        url = f"http://127.0.0.1:{port}"
        log = str(work / "backend.log")
        popen = subprocess.Popen([estuary, "backend", f"-config.file={config}"], stdout=open(log, "wb"),
                                 stderr=subprocess.STDOUT)
        process = Process("backend", url + "/metrics", popen, log)
        try:
            wait_until(lambda: http("GET", url + "/ready")[0] == 200, "backend", proc=popen, log=log)
        except RuntimeError:
            process.stop()
            raise
        return [process], Backend(url, url, [url])

    # The common part of the configuration (storage, schema, limits) is the same file for every module, in one
    # data directory; each module adds its ports and its place in the ring.
    ports = {t: {"http": free_port(), "grpc": free_port(), "gossip": free_port()} for t in SPLIT_TARGETS}
    urls = {t: f"http://127.0.0.1:{ports[t]['http']}" for t in SPLIT_TARGETS}
    # For wrappers and the logs: every module's HTTP address.
    env = dict(os.environ, ESTUARY_BACKEND_PEERS=",".join(f"{t}={urls[t]}" for t in SPLIT_TARGETS))
    processes = []
    try:
        for target in SPLIT_TARGETS:
            config = work / f"loki-{target}.yaml"
            text = backend_config(template, ports[target]["http"], data, split_config(target, ports))
            text = text.replace("server:\n", f"server:\n  grpc_listen_port: {ports[target]['grpc']}\n", 1)
            text = text.replace("      store: inmemory", "      store: memberlist")
            config.write_text(text)
            log = str(work / f"backend-{target}.log")
            popen = subprocess.Popen(
                [estuary, "backend", f"-config.file={config}", f"-target={target}",
                 f"-server.http-listen-port={ports[target]['http']}"],
                env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT)
            processes.append(Process(f"backend-{target}", urls[target] + "/metrics", popen, log))
            try:
                wait_until(lambda url=urls[target]: http("GET", url + "/ready")[0] == 200, f"backend-{target}",
                           proc=popen, log=log)
            except RuntimeError as error:
                if popen.poll() is not None:
                    said = [line for line in tail(log, 5).splitlines() if line.strip()]
                    raise BackendLayoutError(
                        f"--backend-layout split: `estuary backend -target={target}` exited with status "
                        f"{popen.returncode} at start-up, so this backend cannot run its modules as separate "
                        f"processes (it said: {said[-1] if said else 'nothing'}); use --backend-layout single"
                    ) from error
                raise
    except BaseException:
        for process in reversed(processes):
            process.stop()
        raise
    return processes, Backend(urls["distributor"], urls["query-frontend"], [urls["ingester"]])


def start_agent(estuary, index, work, backend, join=None):
    """Gateway agent `index` on loopback pushing to the backend; with `join` (a member's API address, or "" for the
    first member) it runs clustered, named agent-INDEX. Returns (process, OTLP URL, API address)."""
    otlp_port, grpc_port, api_port = free_port(), free_port(), free_port()
    log = str(work / f"agent-{index}.log")
    env = dict(os.environ, LOKI_PUSH_URL=backend.push_url + "/loki/api/v1/push", LOKI_TENANT_ID="fake",
               OTLP_HTTP_ENDPOINT=f"127.0.0.1:{otlp_port}", OTLP_GRPC_ENDPOINT=f"127.0.0.1:{grpc_port}")
    command = [estuary, "run", str(ROOT / "config" / "gateway.alloy"), "--server.http.listen-addr",
               f"127.0.0.1:{api_port}", "--storage.path", str(work / f"agent-{index}-data")]
    if join is not None:
        command += ["--cluster.enabled=true", f"--cluster.node-name=agent-{index}"]
        if join:
            command.append(f"--cluster.join-addresses={join}")
    popen = subprocess.Popen(command, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    process = Process(f"agent-{index}", f"http://127.0.0.1:{api_port}/metrics", popen, log)
    url = f"http://127.0.0.1:{otlp_port}/v1/logs"

    def receiver_answers():
        # An empty protobuf body is a valid export of nothing.
        return http("POST", url, data=b"", headers={"Content-Type": "application/x-protobuf"})[0] == 200
    wait_until(receiver_answers, f"agent-{index}", proc=popen, log=log)
    return process, url, f"127.0.0.1:{api_port}"


def cluster_peers(api):
    """Names of the participants the member at `api` sees."""
    try:
        peers = json.loads(http("GET", f"http://{api}/api/v0/web/peers")[1])
    except (OSError, urllib.error.URLError, ValueError):
        return set()
    return {p["name"] for p in peers if p["state"] == "participant"}


def start_agents(estuary, replicas, work, backend, clustered=False):
    """`replicas` gateway agents on loopback pushing to the backend, joined into one cluster when `clustered`
    (waits until every member sees all of them); returns (processes, OTLP URLs, API addresses)."""
    processes, urls, apis = [], [], []
    for index in range(replicas):
        join = (apis[0] if apis else "") if clustered else None
        process, url, api = start_agent(estuary, index, work, backend, join)
        processes.append(process)
        urls.append(url)
        apis.append(api)
    if clustered:
        names = {p.name for p in processes}
        wait_until(lambda: all(cluster_peers(api) == names for api in apis), f"a cluster of {replicas} agents")
    return processes, urls, apis


class RoundRobinProxy(threading.Thread):
    """A TCP front for the replicas, as a Kubernetes Service is: each new connection goes to the next replica in
    `targets` (host:port); `set_targets` changes the list for new connections (replicas coming and going)."""

    def __init__(self, targets):
        super().__init__(daemon=True)
        self.targets, self.next = list(targets), 0
        self.lock = threading.Lock()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]

    def set_targets(self, targets):
        with self.lock:
            self.targets = list(targets)

    def run(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            with self.lock:
                target = self.targets[self.next % len(self.targets)]
                self.next += 1
            host, port = target.rsplit(":", 1)
            try:
                upstream = socket.create_connection((host, int(port)), timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self.pump, args=(a, b), daemon=True).start()

    @staticmethod
    def pump(source, sink):
        try:
            while True:
                data = source.recv(1 << 16)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.server.close()


class MembershipChange:
    """Mid-round, replaces the oldest replica: it gets SIGTERM (it leaves the cluster and drains, as in a scale-down)
    and a new replica joins; the proxy sends new connections to the members there are."""

    def __init__(self, estuary, work, backend, agents, urls, apis, proxy, processes):
        self.estuary, self.work, self.backend = estuary, work, backend
        self.agents, self.urls, self.apis, self.proxy, self.processes = agents, urls, apis, proxy, processes
        self.changes = 0

    def __call__(self):
        leaving, url, api = self.agents.pop(0), self.urls.pop(0), self.apis.pop(0)
        self.proxy.set_targets([u.split("/")[2] for u in self.urls])
        leaving.stop()
        index = sum(1 for p in self.processes if p.name.startswith("agent-"))
        process, url, api = start_agent(self.estuary, index, self.work, self.backend, join=self.apis[0])
        self.agents.append(process)
        self.urls.append(url)
        self.apis.append(api)
        self.processes.append(process)
        self.proxy.set_targets([u.split("/")[2] for u in self.urls])
        names = {p.name for p in self.agents}
        wait_until(lambda: all(cluster_peers(a) == names for a in self.apis), "the cluster after the change")
        self.changes += 1
        print(f"membership change: {leaving.name} left, {process.name} joined", flush=True)


def parse_metrics(text):
    """Sums of the sampled metrics over their label sets, from Prometheus text."""
    wanted = set(scaling.SAMPLED_METRICS) | {scaling.CPU, scaling.RSS}
    sums = {}
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in wanted:
            try:
                sums[name] = sums.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
            except ValueError:
                continue
    return sums


def proc_sample(pid):
    """(CPU seconds, RSS bytes) of a local process from /proc, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        cpu = (int(fields[11]) + int(fields[12])) / ticks
        with open(f"/proc/{pid}/status") as f:
            rss = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))
        return cpu, rss
    except (OSError, StopIteration, IndexError, ValueError):
        return None


class Sampler(threading.Thread):
    """Reads every process's /metrics and /proc every `interval` seconds into `samples`."""

    def __init__(self, processes, interval):
        super().__init__(daemon=True)
        self.processes, self.interval = processes, interval
        self.samples = []
        self.round, self.rate = 0, 0.0
        self.stopping = threading.Event()
        self.lock = threading.Lock()

    def phase(self, round_index, rate):
        with self.lock:
            self.round, self.rate = round_index, rate

    def sweep(self):
        with self.lock:
            round_index, rate = self.round, self.rate
        for process in self.processes:
            now = time.time()
            values = {}
            try:
                values = parse_metrics(http("GET", process.metrics_url, timeout=5)[1].decode("utf-8", "replace"))
            except (OSError, urllib.error.URLError):
                pass
            if process.pid is not None:
                sample = proc_sample(process.pid)
                if sample:
                    values[scaling.CPU], values[scaling.RSS] = sample
            with self.lock:
                for metric, value in values.items():
                    self.samples.append(scaling.Sample(now, round_index, rate, process.name, metric, value))

    def run(self):
        while not self.stopping.is_set():
            started = time.monotonic()
            self.sweep()
            self.stopping.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def stop(self):
        self.stopping.set()
        self.join()
        self.sweep()


def run_load(loadgen, urls, rate, seconds, args, work, index, midway=None):
    """One generator process per target URL, each at rate/len(urls); returns their RESULT objects. `midway` runs
    halfway through the measured part of the round, while the generators send."""
    share = rate / len(urls)
    procs = []
    for n, url in enumerate(urls):
        out = work / f"round-{index}-gen-{n}.out"
        cmd = [loadgen, "otlp", "--url", url, "--rate", f"{share:.3f}", "--duration", f"{seconds}s",
               "--records-per-request", str(args.records_per_request), "--concurrency", str(args.concurrency),
               "--line-bytes", str(args.line_bytes), "--progress", "0s", "--verify-selector", SELECTOR]
        if args.line_bytes_dist:
            cmd += ["--line-bytes-dist", args.line_bytes_dist, "--seed", str(index * 1000 + n + 1)]
        procs.append((subprocess.Popen(cmd, stdout=open(out, "wb"), stderr=subprocess.STDOUT), out))
    if midway:
        time.sleep(args.stabilise + args.duration / 2)  # not-a-wait: the change is timed within the round
        midway()
    results = []
    for proc, out in procs:
        proc.wait()
        lines = [line for line in out.read_text(errors="replace").splitlines() if line.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"loadgen failed ({proc.returncode}):\n{tail(str(out))}")
        result = json.loads(lines[-1][len("RESULT "):])
        result["_output"] = str(out)
        results.append(result)
    return results


# Entries per query_range page of verify: within the backend's max_entries_limit_per_query (bench-backend.yaml).
VERIFY_PAGE = 20000


def flush(backend):
    """POST /flush to every ingester: queries then read chunks from storage, which is much faster than scanning
    what the ingesters hold in memory."""
    for url in backend.flush_urls:
        try:
            http("POST", url + "/flush", data=b"", timeout=60)
        except (OSError, urllib.error.URLError):
            pass


def verify_round(loadgen, query_url, results, work, index):
    """`loadgen verify` of every generator's manifest (its RESULT line) against the backend, in parallel: the
    per-record proof that nothing acknowledged is missing or stored twice. Returns the totals {expected, received,
    missing, duplicated, passed}, or None when a verify could not run (its output is printed)."""
    procs = []
    for n, result in enumerate(results):
        if not result.get("run_id"):
            return None
        out = work / f"round-{index}-gen-{n}.verify"
        cmd = [loadgen, "verify", "--url", query_url, "--run", f"{result['_output']}:{result['run_id']}",
               "--selector", SELECTOR, "--limit", str(VERIFY_PAGE)]
        procs.append((subprocess.Popen(cmd, stdout=open(out, "wb"), stderr=subprocess.STDOUT), out))
    totals = {"expected": 0, "received": 0, "missing": 0, "duplicated": 0, "passed": True}
    failed = False
    for proc, out in procs:
        proc.wait()
        lines = [line for line in out.read_text(errors="replace").splitlines() if line.startswith("VERIFY ")]
        if not lines:
            print(f"round {index}: loadgen verify did not run ({proc.returncode}):\n{tail(str(out))}", flush=True)
            failed = True
            continue
        verdict = json.loads(lines[-1][len("VERIFY "):])
        for key in ("expected", "received", "missing", "duplicated"):
            totals[key] += int(verdict.get(key, 0))
        totals["passed"] = totals["passed"] and bool(verdict.get("passed"))
    return None if failed else totals


def count_stored(backend, start_ns, end_ns):
    """Entries stored in [start, end) ns: after a flush, a query whose filter matches nothing reads every entry of
    the range, and the stats say how many it read. -1 on failure."""
    flush(backend)
    backend_url = backend.query_url
    query = urllib.parse.urlencode({
        "query": f'{SELECTOR} |= "estuary-scaling-matches-nothing"', "start": str(start_ns), "end": str(end_ns),
        "limit": "1", "direction": "forward"})
    try:
        body = http("GET", f"{backend_url}/loki/api/v1/query_range?{query}", timeout=60)[1]
        return int(json.loads(body)["data"]["stats"]["summary"]["totalLinesProcessed"])
    except (OSError, urllib.error.URLError, KeyError, ValueError):
        return -1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", type=float, nargs="+", default=[5000, 15000, 30000, 50000],
                        help="target records/s, one round each (default: 5000 15000 30000 50000)")
    parser.add_argument("--duration", type=float, default=60, help="sustained seconds measured per round (60)")
    parser.add_argument("--stabilise", type=float, default=30, help="ramp-up seconds before measuring (30)")
    parser.add_argument("--cooldown", type=float, default=60, help="seconds without load after a round (60)")
    parser.add_argument("--replicas", type=int, default=1, help="gateway agents to start locally (1)")
    parser.add_argument("--cluster", action="store_true",
                        help="run the local replicas as one agent cluster (--cluster.enabled, joined through the first)")
    parser.add_argument("--membership-change", action="store_true",
                        help="halfway through every round, replace a replica (SIGTERM, and a new one joins); the load "
                             "goes through a round-robin TCP front, as through a Service; implies --cluster")
    parser.add_argument("--url", action="append", default=[], help="OTLP/HTTP logs URL of a running replica")
    parser.add_argument("--metrics", action="append", default=[], help="NAME=URL of a /metrics to sample")
    parser.add_argument("--backend-url", help="query API of a running backend, for the loss check")
    parser.add_argument("--find-ceiling", action="store_true",
                        help="after --rates, raise the rate by --ceiling-factor until something saturates")
    parser.add_argument("--ceiling-factor", type=float, default=1.5)
    parser.add_argument("--max-rounds", type=int, default=10)
    parser.add_argument("--loss-threshold", type=float, default=0.1, help="loss %% that counts as saturation")
    parser.add_argument("--queue-threshold", type=float, default=80, help="queue fill %% that counts as saturation")
    parser.add_argument("--edge", type=float, default=0.2, help="fraction of the sustained window dropped at each end")
    parser.add_argument("--sample-interval", type=float, default=2.0)
    parser.add_argument("--records-per-request", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4, help="connections per generator")
    parser.add_argument("--line-bytes", type=int, default=215)
    parser.add_argument("--line-bytes-dist", help="record body sizes, as loadgen otlp --line-bytes-dist takes them "
                                                  "(e.g. lognormal:200,0.6); default: every body --line-bytes")
    parser.add_argument("--backend-layout", choices=["single", "split"], default="single",
                        help="single: one `estuary backend` process (-target=all); split: distributor, ingester, "
                             "querier and query-frontend as processes of their own (local runs only)")
    parser.add_argument("--no-verify", action="store_true",
                        help="count stored entries instead of running loadgen verify on every round")
    parser.add_argument("--drain", type=float, default=60, help="longest wait past the cool-down for stored entries")
    parser.add_argument("--estuary", default=os.environ.get("ESTUARY_BIN", str(ROOT / ".build/release/estuary")))
    parser.add_argument("--loadgen", default=os.environ.get("LOADGEN_BIN",
                                                            str(ROOT / "load_test/.build/release/loadgen")))
    parser.add_argument("--out", help="output directory (default load_test/.build/scaling-<time>)")
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.stabilise < 0 or args.cooldown < 0 or not 0 <= args.edge < 0.5:
        parser.error("--duration must be positive, --stabilise and --cooldown not negative, --edge in [0, 0.5)")
    if any(rate <= 0 for rate in args.rates):
        parser.error("--rates must be positive")
    if args.membership_change:
        args.cluster = True
        if args.url or args.replicas < 2:
            parser.error("--membership-change needs local replicas, at least 2")
    if args.url and args.backend_layout != "single":
        parser.error("--backend-layout is for the backend this script starts; with --url the deployment is given")

    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = Path(args.out or ROOT / "load_test" / ".build" / f"scaling-{stamp}")
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="estuary-scaling-"))
    processes = []
    midway = None
    try:
        if args.url:
            urls = args.url
            backend = Backend(args.backend_url, args.backend_url, [args.backend_url]) if args.backend_url else None
            for spec in args.metrics:
                name, _, url = spec.partition("=")
                if not url:
                    parser.error(f"--metrics wants NAME=URL, got {spec!r}")
                processes.append(Process(name, url))
            layout = f"{len(urls)} running replica(s) at {', '.join(urls)}"
        else:
            for binary in (args.estuary, args.loadgen):
                if not os.access(binary, os.X_OK):
                    parser.error(f"{binary} is not an executable; build it or pass --estuary/--loadgen")
            try:
                processes, backend = start_backend(args.estuary, args.backend_layout, work)
            except BackendLayoutError as error:
                print(f"scaling test: {error}", file=sys.stderr, flush=True)
                return 2
            agents, urls, apis = start_agents(args.estuary, args.replicas, work, backend, clustered=args.cluster)
            processes += agents
            modules = ("estuary backend (-target=all)" if args.backend_layout == "single"
                       else "estuary backend split into " + ", ".join(SPLIT_TARGETS))
            layout = (f"local: {modules} + {args.replicas} gateway agent(s) on loopback"
                      + (" in one cluster" if args.cluster else ""))
            if args.membership_change:
                proxy = RoundRobinProxy([u.split("/")[2] for u in urls])
                proxy.start()
                midway = MembershipChange(args.estuary, work, backend, list(agents), urls, apis, proxy, processes)
                urls = [f"http://127.0.0.1:{proxy.port}/v1/logs"] * args.replicas
                layout += ", behind a round-robin TCP front, one replica replaced halfway through every round"
        print(f"== scaling test: {layout}; rounds of {args.stabilise:g}s ramp + {args.duration:g}s measured, "
              f"{args.cooldown:g}s cool-down; output in {out}", flush=True)

        sampler = Sampler(processes, args.sample_interval)
        sampler.start()
        rounds, rows, ceiling, all_results = [], [], None, []
        rates = list(args.rates)
        while rates and len(rounds) < args.max_rounds:
            rate = rates.pop(0)
            index = len(rounds) + 1
            sampler.phase(index, rate)
            start = time.time()
            results = run_load(args.loadgen, urls, rate, args.stabilise + args.duration, args, work, index,
                               midway=midway)
            all_results += results
            end = time.time()
            sampler.phase(index, 0.0)
            r = scaling.Round(index, rate, start, end, args.stabilise)
            r.sent = sum(x["records_accepted"] for x in results)
            r.sent_rate = sum(x["records_per_second"] for x in results)
            r.p99_ms = max(x["latency_p99_ms"] for x in results)
            first = min(x["first_timestamp_ns"] for x in results if x["records_accepted"] > 0) if r.sent else 0
            last = max(x["last_timestamp_ns"] for x in results) + 1 if r.sent else 0
            cooled = time.monotonic() + args.cooldown
            r.stored = -1
            if backend and r.sent and not args.no_verify:
                # After the cool-down, verify every record; while some are missing (still in an agent's batch or
                # queue), look again until the drain time is up. The first flush overlaps the cool-down (as the
                # count did); the one before each verify finds little left.
                flush(backend)
                time.sleep(max(0.0, cooled - time.monotonic()))  # not-a-wait: the round's cool-down is part of the test
                deadline = cooled + args.drain
                verify_started, attempts = time.monotonic(), 0
                while True:
                    attempts += 1
                    flush(backend)
                    verified = verify_round(args.loadgen, backend.query_url, results, work, index)
                    if verified is None or verified["missing"] == 0 or time.monotonic() >= deadline:
                        break
                    time.sleep(2.0)  # not-a-wait: between verify attempts, bounded by --drain
                print(f"round {index}: verify took {time.monotonic() - verify_started:.1f} s ({attempts} "
                      f"attempt{'s' if attempts > 1 else ''})", flush=True)
                if verified is not None:
                    r.verified = verified
                    r.stored = verified["expected"] - verified["missing"]
            if backend and r.sent and r.verified is None:
                deadline = cooled + args.drain
                while True:
                    r.stored = count_stored(backend, first, last)
                    if (r.stored >= r.sent and time.monotonic() >= cooled) or time.monotonic() >= deadline:
                        break
                    time.sleep(min(2.0, max(0.2, cooled - time.monotonic())))  # not-a-wait: poll, bounded by --drain
            time.sleep(max(0.0, cooled - time.monotonic()))  # not-a-wait: the cool-down
            rounds.append(r)
            rows = scaling.summarize(sampler.samples, rounds, args.edge)
            if r.stored < 0:
                rows[-1]["loss_pct"] = float("nan")
            row = rows[-1]
            checked = (f"verify: {row['verified_missing']:.0f} missing, {row['verified_duplicates']:.0f} duplicated  "
                       if r.verified else "")
            print(f"round {index}: target {rate:,.0f}/s  sent {row['sent_rate']:,.0f}/s  "
                  f"received {row['received_rate']:,.0f}/s  loss {row['loss_pct']:.3f}%  {checked}"
                  f"agent CPU {row['avg_cpu_cores']:.2f}  queue {row['queue_pct']:.0f}%  p99 {row['p99_ms']:.1f} ms",
                  flush=True)
            ceiling = scaling.saturation(sampler.samples, rounds, rows, args.loss_threshold, args.queue_threshold,
                                         edge=args.edge)
            if args.find_ceiling and not rates and ceiling is None:
                rates.append(rate * args.ceiling_factor)
        sampler.stop()
        sent_bytes = sum(x.get("raw_bytes_sent", 0) for x in all_results)
        sent_records = sum(x.get("records_sent", 0) for x in all_results)
        mean_body = sent_bytes / sent_records if sent_records else 0

        scaling.write_samples(out / "perf-metrics-samples.csv", sampler.samples)
        scaling.write_results(out / f"scaling-results-{stamp}.csv", rows)
        notes = [f"Layout: {layout}. Machine: {os.cpu_count()} cores, {os.uname().sysname} {os.uname().release}.",
                 f"Rounds: {args.stabilise:g} s ramp-up, {args.duration:g} s measured (the middle "
                 f"{100 - 200 * args.edge:.0f}% of it averaged), {args.cooldown:g} s cool-down; "
                 f"{args.records_per_request} records per request, "
                 + (f"body sizes {args.line_bytes_dist}" if args.line_bytes_dist else f"{args.line_bytes}-byte lines")
                 + (f", mean {mean_body:.0f} B sent" if mean_body else "") + ".",
                 "Loss: " + ("`loadgen verify` of every record of every round (verified_missing, verified_duplicates)."
                             if any(r.verified for r in rounds) else "entries counted in the backend per round.")]
        summary = scaling.markdown(rows, ceiling, notes=notes)
        (out / "summary.md").write_text(summary)
        if not args.no_plot:
            scaling.plot(rows, sampler.samples, rounds, out / "scaling.png")
        print()
        print(summary)
        print(f"results in {out}")
        return 0
    finally:
        for process in reversed(processes):
            process.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
