"""The scaling test: drives OTLP/HTTP load at a series of rates through Estuary's gateway agents into a backend,
samples every process while it runs, and writes what saturated where.

Locally (the default) it starts `estuary backend` and `--replicas` gateway agents (`config/gateway.alloy`) as
processes on loopback. With `--url` (one per gateway replica, e.g. behind `kubectl port-forward`) and `--metrics`
(`name=url` per process to sample; names starting with `agent` are gateway replicas, `backend` the store) it drives
a deployment that is already running; `--backend-url` then lets it check for loss with the query API.

Per round (target rate): `loadgen otlp` runs for stabilise + duration seconds, the rate spread evenly over the
replicas (one generator process each, so that one generator is never the bottleneck), then the system cools down
while the round's stored entries are counted. Outputs in `--out`: perf-metrics-samples.csv, scaling-results-<time>.csv,
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




def start_local(estuary, replicas, work):
    """`estuary backend` and `replicas` gateway agents on loopback; returns (processes, OTLP URLs, backend URL)."""
    processes = []
    backend_port = free_port()
    data = work / "data"
    data.mkdir(parents=True)
    config = work / "loki.yaml"
    template = (ROOT / "load_test" / "scripts" / "bench-backend.yaml").read_text()
    config.write_text(template.replace("@PORT@", str(backend_port)).replace("@DATA@", str(data)))
    backend_url = f"http://127.0.0.1:{backend_port}"
    log = str(work / "backend.log")
    popen = subprocess.Popen([estuary, "backend", f"-config.file={config}"], stdout=open(log, "wb"),
                             stderr=subprocess.STDOUT)
    processes.append(Process("backend", backend_url + "/metrics", popen, log))
    wait_until(lambda: http("GET", backend_url + "/ready")[0] == 200, "backend", proc=popen, log=log)
    urls = []
    for index in range(replicas):
        otlp_port, api_port = free_port(), free_port()
        log = str(work / f"agent-{index}.log")
        env = dict(os.environ, LOKI_PUSH_URL=backend_url + "/loki/api/v1/push", LOKI_TENANT_ID="fake",
                   OTLP_HTTP_ENDPOINT=f"127.0.0.1:{otlp_port}")
        popen = subprocess.Popen(
            [estuary, "run", str(ROOT / "config" / "gateway.alloy"), "--server.http.listen-addr",
             f"127.0.0.1:{api_port}", "--storage.path", str(work / f"agent-{index}-data")],
            env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT)
        processes.append(Process(f"agent-{index}", f"http://127.0.0.1:{api_port}/metrics", popen, log))
        url = f"http://127.0.0.1:{otlp_port}/v1/logs"

        def receiver_answers(url=url):
            # An empty protobuf body is a valid export of nothing.
            return http("POST", url, data=b"", headers={"Content-Type": "application/x-protobuf"})[0] == 200
        wait_until(receiver_answers, f"agent-{index}", proc=popen, log=log)
        urls.append(url)
    return processes, urls, backend_url


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


def run_load(loadgen, urls, rate, seconds, args, work, index):
    """One generator process per target URL, each at rate/len(urls); returns their RESULT objects."""
    share = rate / len(urls)
    procs = []
    for n, url in enumerate(urls):
        out = work / f"round-{index}-gen-{n}.out"
        cmd = [loadgen, "otlp", "--url", url, "--rate", f"{share:.3f}", "--duration", f"{seconds}s",
               "--records-per-request", str(args.records_per_request), "--concurrency", str(args.concurrency),
               "--line-bytes", str(args.line_bytes), "--progress", "0s"]
        procs.append((subprocess.Popen(cmd, stdout=open(out, "wb"), stderr=subprocess.STDOUT), out))
    results = []
    for proc, out in procs:
        proc.wait()
        lines = [line for line in out.read_text(errors="replace").splitlines() if line.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"loadgen failed ({proc.returncode}):\n{tail(str(out))}")
        results.append(json.loads(lines[-1][len("RESULT "):]))
    return results


def count_stored(backend_url, start_ns, end_ns):
    """Entries stored in [start, end) ns: after a flush, a query whose filter matches nothing reads every entry of
    the range, and the stats say how many it read. -1 on failure."""
    try:
        http("POST", backend_url + "/flush", data=b"")
    except (OSError, urllib.error.URLError):
        pass
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

    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = Path(args.out or ROOT / "load_test" / ".build" / f"scaling-{stamp}")
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="estuary-scaling-"))
    processes = []
    try:
        if args.url:
            urls, backend_url = args.url, args.backend_url
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
            processes, urls, backend_url = start_local(args.estuary, args.replicas, work)
            layout = f"local: estuary backend + {args.replicas} gateway agent(s) on loopback"
        print(f"== scaling test: {layout}; rounds of {args.stabilise:g}s ramp + {args.duration:g}s measured, "
              f"{args.cooldown:g}s cool-down; output in {out}", flush=True)

        sampler = Sampler(processes, args.sample_interval)
        sampler.start()
        rounds, rows, ceiling = [], [], None
        rates = list(args.rates)
        while rates and len(rounds) < args.max_rounds:
            rate = rates.pop(0)
            index = len(rounds) + 1
            sampler.phase(index, rate)
            start = time.time()
            results = run_load(args.loadgen, urls, rate, args.stabilise + args.duration, args, work, index)
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
            if backend_url and r.sent:
                deadline = cooled + args.drain
                while True:
                    r.stored = count_stored(backend_url, first, last)
                    if (r.stored >= r.sent and time.monotonic() >= cooled) or time.monotonic() >= deadline:
                        break
                    time.sleep(min(2.0, max(0.2, cooled - time.monotonic())))
            time.sleep(max(0.0, cooled - time.monotonic()))
            rounds.append(r)
            rows = scaling.summarize(sampler.samples, rounds, args.edge)
            if r.stored < 0:
                rows[-1]["loss_pct"] = float("nan")
            row = rows[-1]
            print(f"round {index}: target {rate:,.0f}/s  sent {row['sent_rate']:,.0f}/s  "
                  f"received {row['received_rate']:,.0f}/s  loss {row['loss_pct']:.3f}%  "
                  f"agent CPU {row['avg_cpu_cores']:.2f}  queue {row['queue_pct']:.0f}%  p99 {row['p99_ms']:.1f} ms",
                  flush=True)
            ceiling = scaling.saturation(sampler.samples, rounds, rows, args.loss_threshold, args.queue_threshold,
                                         edge=args.edge)
            if args.find_ceiling and not rates and ceiling is None:
                rates.append(rate * args.ceiling_factor)
        sampler.stop()

        scaling.write_samples(out / "perf-metrics-samples.csv", sampler.samples)
        scaling.write_results(out / f"scaling-results-{stamp}.csv", rows)
        notes = [f"Layout: {layout}. Machine: {os.cpu_count()} cores, {os.uname().sysname} {os.uname().release}.",
                 f"Rounds: {args.stabilise:g} s ramp-up, {args.duration:g} s measured (the middle "
                 f"{100 - 200 * args.edge:.0f}% of it averaged), {args.cooldown:g} s cool-down; "
                 f"{args.records_per_request} records per request, {args.line_bytes}-byte lines."]
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
