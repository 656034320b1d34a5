"""The scaling test's analysis: time-series samples in, one summary row per target rate out, plus the Markdown
summary, the plots and the saturation verdict.

Samples are (timestamp, round, rate, process, metric, value) rows: counters as they were read (the rate is worked
out over a window), gauges as they were. A round is one target rate: the load runs from `load_start` to `load_end`;
its first `stabilise` seconds are ramp-up. The summary of a round averages over the middle of the sustained window
[load_start + stabilise, load_end]: `edge` of it is dropped at each end, so that neither the ramp-up nor the ramp-down
into the cool-down ever reaches a row, and a row agrees with the samples of the same window.
"""
import csv
import math
from dataclasses import dataclass, field

SAMPLE_FIELDS = ["timestamp", "round", "rate", "process", "metric", "value"]
RESULT_FIELDS = ["target_rate", "throughput_mb_s", "received_rate", "sent_rate", "loss_pct", "avg_cpu_cores",
                 "max_cpu_cores", "avg_mem_mib", "max_mem_mib", "queue_pct", "dist_lines_rate", "flush_queue_max",
                 "p99_ms", "dropped", "verified_missing", "verified_duplicates"]

# Metric names sampled from every process's /metrics (summed over their label sets), besides CPU and memory.
SAMPLED_METRICS = [
    "otelcol_receiver_accepted_log_records_total", "otelcol_receiver_refused_log_records_total",
    "otelcol_exporter_queue_size", "otelcol_exporter_queue_capacity",
    "loki_write_queue_bytes", "loki_write_queue_capacity_bytes",
    "loki_write_sent_entries_total", "loki_write_dropped_entries_total",
    "loki_distributor_lines_received_total", "loki_distributor_bytes_received_total",
    "loki_ingester_flush_queue_length",
    "loki_write_request_duration_seconds_sum", "loki_write_request_duration_seconds_count",
    "loki_request_duration_seconds_sum", "loki_request_duration_seconds_count",
]
CPU = "process_cpu_seconds_total"
RSS = "process_resident_memory_bytes"
# Queue gauges and their capacities: the fill of each, in percent, is what saturates first in a pipeline.
QUEUES = [("otelcol_exporter_queue_size", "otelcol_exporter_queue_capacity"),
          ("loki_write_queue_bytes", "loki_write_queue_capacity_bytes")]


@dataclass
class Sample:
    timestamp: float
    round: int
    rate: float
    process: str
    metric: str
    value: float


@dataclass
class Round:
    index: int
    rate: float
    load_start: float
    load_end: float
    stabilise: float
    # From the generator: records acknowledged, its achieved rate, its p99 latency.
    sent: int = 0
    sent_rate: float = 0.0
    p99_ms: float = 0.0
    # From the backend after the round drained: entries stored in the round's time range.
    stored: int = 0
    # From `loadgen verify` of the round's manifests after its cool-down: {expected, received, missing,
    # duplicated, passed}; None when verify did not run.
    verified: dict = None
    extra: dict = field(default_factory=dict)

    def window(self, edge):
        """The middle of the sustained window: `edge` (a fraction) dropped at each end."""
        start = self.load_start + self.stabilise
        end = self.load_end
        if end <= start:
            raise ValueError(f"round {self.index}: stabilise ({self.stabilise}s) leaves no sustained window")
        cut = (end - start) * edge
        return start + cut, end - cut


def is_agent(process):
    return process.startswith("agent")


def is_backend(process):
    return process.startswith("backend")


def _series(samples, metric, a, b, select):
    """{process: [(t, v)]} of `metric` for the processes `select` keeps, within [a, b]."""
    out = {}
    for s in samples:
        if s.metric == metric and a <= s.timestamp <= b and select(s.process):
            out.setdefault(s.process, []).append((s.timestamp, s.value))
    for points in out.values():
        points.sort()
    return out


def counter_rate(samples, metric, a, b, select=lambda p: True):
    """The per-second increase of a counter over [a, b], summed over processes (first to last sample of each).
    A counter that went down (a restart) counts from its new value."""
    total = 0.0
    for points in _series(samples, metric, a, b, select).values():
        if len(points) < 2 or points[-1][0] <= points[0][0]:
            continue
        increase = 0.0
        for (_, previous), (_, value) in zip(points, points[1:]):
            increase += value - previous if value >= previous else value
        total += increase / (points[-1][0] - points[0][0])
    return total


def counter_increase(samples, metric, a, b, select=lambda p: True):
    """How much a counter grew over [a, b], summed over processes."""
    total = 0.0
    for points in _series(samples, metric, a, b, select).values():
        for (_, previous), (_, value) in zip(points, points[1:]):
            total += value - previous if value >= previous else value
    return total


def _by_instant(series):
    """Per sampling instant (the sampler reads every process in one sweep: same timestamp within a sweep is not
    guaranteed, so points are grouped by their index in each process's series), the sum over processes."""
    if not series:
        return []
    length = min(len(points) for points in series.values())
    return [sum(points[i][1] for points in series.values()) for i in range(length)]


def gauge_stats(samples, metric, a, b, select=lambda p: True):
    """(mean, max) over [a, b] of the gauge summed over processes; (0, 0) without samples."""
    sums = _by_instant(_series(samples, metric, a, b, select))
    if not sums:
        return 0.0, 0.0
    return sum(sums) / len(sums), max(sums)


def cpu_stats(samples, a, b, select):
    """(mean, max) CPU cores over [a, b]: the CPU-seconds counter's rate between consecutive samples, summed over
    processes."""
    series = _series(samples, CPU, a, b, select)
    rates = {}
    for process, points in series.items():
        rates[process] = [(t1, (v1 - v0) / (t1 - t0)) for (t0, v0), (t1, v1) in zip(points, points[1:]) if t1 > t0]
    sums = _by_instant(rates)
    if not sums:
        return 0.0, 0.0
    return sum(sums) / len(sums), max(sums)


def queue_fill(samples, a, b):
    """The highest fill in percent over [a, b] of any queue of any process, and which (process, metric) it was."""
    best = (0.0, None)
    for size, capacity in QUEUES:
        sizes = _series(samples, size, a, b, lambda p: True)
        capacities = _series(samples, capacity, a, b, lambda p: True)
        for process, points in sizes.items():
            limit = max((v for _, v in capacities.get(process, [])), default=0.0)
            if limit <= 0:
                continue
            peak = max(v for _, v in points) / limit * 100
            if peak > best[0]:
                best = (peak, f"{process}:{size}")
    return best


def summarize(samples, rounds, edge=0.2):
    """One row per round (RESULT_FIELDS), from the samples in the middle of its sustained window."""
    rows = []
    for r in rounds:
        a, b = r.window(edge)
        cpu_avg, cpu_max = cpu_stats(samples, a, b, is_agent)
        mem_avg, mem_max = gauge_stats(samples, RSS, a, b, is_agent)
        fill, _ = queue_fill(samples, a, b)
        _, flush_max = gauge_stats(samples, "loki_ingester_flush_queue_length", a, b, is_backend)
        # Drops anywhere in the round count, ramps included: a drop is never averaged away.
        dropped = counter_increase(samples, "loki_write_dropped_entries_total", r.load_start, _round_end(rounds, r))
        if r.verified is not None:
            # Per record: acknowledged records that verify did not find.
            expected = r.verified["expected"]
            loss = r.verified["missing"] / expected * 100 if expected > 0 else 0.0
        else:
            loss = (r.sent - r.stored) / r.sent * 100 if r.sent > 0 else 0.0
        rows.append({
            "target_rate": r.rate,
            "throughput_mb_s": counter_rate(samples, "loki_distributor_bytes_received_total", a, b, is_backend) / 1e6,
            "received_rate": counter_rate(samples, "otelcol_receiver_accepted_log_records_total", a, b, is_agent),
            "sent_rate": r.sent_rate,
            "loss_pct": max(loss, 0.0),
            "avg_cpu_cores": cpu_avg,
            "max_cpu_cores": cpu_max,
            "avg_mem_mib": mem_avg / 2**20,
            "max_mem_mib": mem_max / 2**20,
            "queue_pct": fill,
            "dist_lines_rate": counter_rate(samples, "loki_distributor_lines_received_total", a, b, is_backend),
            "flush_queue_max": flush_max,
            "p99_ms": r.p99_ms,
            "dropped": dropped,
            "verified_missing": r.verified["missing"] if r.verified is not None else None,
            "verified_duplicates": r.verified["duplicated"] if r.verified is not None else None,
        })
    return rows


def _round_end(rounds, r):
    """Where a round's effects end: the next round's start (its cool-down included), or far in the future."""
    later = [x.load_start for x in rounds if x.load_start > r.load_start]
    return min(later) if later else math.inf


def saturation(samples, rounds, rows, loss_threshold=0.1, queue_threshold=80.0, refused_threshold=0.0, edge=0.2):
    """The first round (lowest rate) that saturated, with what saturated first and which metric showed it; None
    when every round kept up. Signals, within the same window the rows average over, ordered by when they first
    showed: refused records at a receiver (the pipeline behind it was full), a queue past `queue_threshold`
    percent, loss past `loss_threshold` percent, and the received rate falling 5% short of the target."""
    for r, row in sorted(zip(rounds, rows), key=lambda pair: pair[0].rate):
        a, b = r.window(edge)
        signals = []
        refused = _series(samples, "otelcol_receiver_refused_log_records_total", a, b, lambda p: True)
        for process, points in refused.items():
            for (t0, v0), (t1, v1) in zip(points, points[1:]):
                if v1 - v0 > refused_threshold:
                    signals.append((t1, process, "otelcol_receiver_refused_log_records_total",
                                    f"{process} refused records (answered 429/503): the pipeline behind its receiver was full"))
                    break
        for size, capacity in QUEUES:
            sizes = _series(samples, size, a, b, lambda p: True)
            capacities = _series(samples, capacity, a, b, lambda p: True)
            for process, points in sizes.items():
                limit = max((v for _, v in capacities.get(process, [])), default=0.0)
                crossed = next((t for t, v in points if limit > 0 and v / limit * 100 >= queue_threshold), None)
                if crossed is not None:
                    signals.append((crossed, process, size,
                                    f"{process}'s queue ({size}) passed {queue_threshold:.0f}% of its capacity"))
        if row["loss_pct"] > loss_threshold:
            signals.append((b, "end to end", "loss_pct", f"{row['loss_pct']:.2f}% of acknowledged records were not stored"))
        if row["received_rate"] < 0.95 * r.rate:
            signals.append((b, "agents", "otelcol_receiver_accepted_log_records_total",
                            f"the agents accepted {row['received_rate']:,.0f}/s of the {r.rate:,.0f}/s asked"))
        if signals:
            signals.sort(key=lambda s: s[0])
            first = signals[0]
            return {"rate": r.rate, "component": first[1], "metric": first[2], "reason": first[3],
                    "signals": [s[3] for s in signals]}
    return None


def write_samples(path, samples):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(SAMPLE_FIELDS)
        for s in samples:
            w.writerow([f"{s.timestamp:.3f}", s.round, f"{s.rate:g}", s.process, s.metric, f"{s.value:.6g}"])


def read_samples(path):
    with open(path, newline="") as f:
        return [Sample(float(r["timestamp"]), int(r["round"]), float(r["rate"]), r["process"], r["metric"],
                       float(r["value"])) for r in csv.DictReader(f)]


def write_results(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=RESULT_FIELDS)
        w.writeheader()
        for row in rows:
            w.writerow({k: _fmt(row[k]) for k in RESULT_FIELDS})


def _fmt(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value == value else "nan"
    return str(value)


def markdown(rows, ceiling, title="Scaling test", notes=()):
    lines = [f"# {title}", ""]
    lines += list(notes) + ([""] if notes else [])
    lines.append("| target/s | sent/s | received/s | loss % | agent CPU avg/max | agent MiB avg/max | queue % | "
                 "distributor lines/s | MB/s | flush queue max | p99 ms | dropped | verified missing | "
                 "verified duplicates |")
    lines.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")

    def verified(value):
        return "-" if value is None else f"{value:,.0f}"
    for r in rows:
        lines.append(
            f"| {r['target_rate']:,.0f} | {r['sent_rate']:,.0f} | {r['received_rate']:,.0f} | {r['loss_pct']:.3f} | "
            f"{r['avg_cpu_cores']:.2f} / {r['max_cpu_cores']:.2f} | {r['avg_mem_mib']:.0f} / {r['max_mem_mib']:.0f} | "
            f"{r['queue_pct']:.0f} | {r['dist_lines_rate']:,.0f} | {r['throughput_mb_s']:.1f} | "
            f"{r['flush_queue_max']:.0f} | {r['p99_ms']:.1f} | {r['dropped']:.0f} | "
            f"{verified(r.get('verified_missing'))} | {verified(r.get('verified_duplicates'))} |")
    lines.append("")
    if ceiling:
        lines.append(f"**Saturated at {ceiling['rate']:,.0f} records/s**: {ceiling['reason']} "
                     f"(first signal: `{ceiling['metric']}` on {ceiling['component']}).")
        for signal in ceiling["signals"][1:]:
            lines.append(f"- then: {signal}")
    else:
        lines.append("No round saturated: every rate was received and stored in full, no queue passed the threshold.")
    return "\n".join(lines) + "\n"


def plot(rows, samples, rounds, path):
    """Four panels: throughput and loss vs target rate, CPU and memory vs rate, queue fill over time."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates = [r["target_rate"] for r in rows]
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    ax = axes[0][0]
    ax.plot(rates, rates, "k:", label="target")
    ax.plot(rates, [r["sent_rate"] for r in rows], "o-", label="sent (generator)")
    ax.plot(rates, [r["received_rate"] for r in rows], "s-", label="received (agents)")
    ax.plot(rates, [r["dist_lines_rate"] for r in rows], "^-", label="distributor lines")
    ax.set_title("Throughput vs target rate")
    ax.set_xlabel("target records/s")
    ax.set_ylabel("records/s")
    ax.legend()
    ax = axes[0][1]
    ax.plot(rates, [r["loss_pct"] for r in rows], "o-", color="tab:red")
    ax.set_title("Loss vs target rate")
    ax.set_xlabel("target records/s")
    ax.set_ylabel("loss %")
    ax = axes[1][0]
    ax.plot(rates, [r["avg_cpu_cores"] for r in rows], "o-", label="agent CPU avg (cores)")
    ax.plot(rates, [r["max_cpu_cores"] for r in rows], "o--", label="agent CPU max (cores)")
    ax.set_xlabel("target records/s")
    ax.set_ylabel("cores")
    twin = ax.twinx()
    twin.plot(rates, [r["avg_mem_mib"] for r in rows], "s-", color="tab:green", label="agent memory avg (MiB)")
    twin.set_ylabel("MiB")
    ax.set_title("CPU and memory vs rate")
    ax.legend(loc="upper left")
    twin.legend(loc="lower right")
    ax = axes[1][1]
    t0 = min((s.timestamp for s in samples), default=0)
    for size, capacity in QUEUES:
        for process, points in _series(samples, size, -math.inf, math.inf, lambda p: True).items():
            limit = max((v for _, v in _series(samples, capacity, -math.inf, math.inf, lambda p: p == process)
                         .get(process, [])), default=0.0)
            if limit > 0:
                ax.plot([t - t0 for t, _ in points], [v / limit * 100 for _, v in points], label=f"{process} {size}")
    for r in rounds:
        ax.axvspan(r.load_start - t0, r.load_end - t0, color="grey", alpha=0.1)
    ax.set_title("Queue fill over time (grey: load)")
    ax.set_xlabel("seconds")
    ax.set_ylabel("% of capacity")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
