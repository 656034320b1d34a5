"""The scaling test (load_test/scaling): its window averaging and CSV schema on synthetic series, a short real
run with two gateway replicas that must lose nothing (checked per record by loadgen verify) and draw its plots, and
the split backend layout."""
import csv
import math
import os
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "load_test" / "scaling"))
import run as scaling_run  # noqa: E402
import scaling  # noqa: E402


def synthetic():
    """Two rounds sampled every second. In the sustained part of each round every agent accepts `rate`/2 records a
    second and uses a steady 0.5 cores; the ramp-up runs at a tenth of that, and the queue spikes to 100% only in
    the ramp-up, the very end of the load and the cool-down, all of which a row must never see."""
    samples, rounds = [], []
    t = 1000.0
    for index, rate in enumerate([1000.0, 4000.0], start=1):
        start, stabilise, load = t, 10.0, 40.0
        rounds.append(scaling.Round(index, rate, start, start + load, stabilise, sent=int(rate * load),
                                    sent_rate=rate, p99_ms=5.0 * index, stored=int(rate * load)))
        for agent in ("agent-0", "agent-1"):
            accepted = 0.0 if index == 1 else samples_value(samples, agent, "otelcol_receiver_accepted_log_records_total")
            cpu = 0.0 if index == 1 else samples_value(samples, agent, scaling.CPU)
            for second in range(int(load + 20)):  # load, then 20 s of cool-down
                now = start + second
                in_ramp = second < stabilise
                in_load = second < load
                per_agent = rate / 2 if in_load and not in_ramp else (rate / 20 if in_load else 0.0)
                accepted += per_agent
                cpu += 0.5 if in_load and not in_ramp else 0.05
                spike = in_ramp or second >= load - 1
                for metric, value in ((scaling.CPU, cpu), (scaling.RSS, 100 * 2**20),
                                      ("otelcol_receiver_accepted_log_records_total", accepted),
                                      ("loki_write_queue_bytes", 1000.0 if spike else 100.0),
                                      ("loki_write_queue_capacity_bytes", 1000.0)):
                    samples.append(scaling.Sample(now, index, rate if in_load else 0.0, agent, metric, value))
        t = start + load + 20
    return samples, rounds


def samples_value(samples, process, metric):
    return max(s.value for s in samples if s.process == process and s.metric == metric)


def test_rows_average_the_middle_of_the_sustained_window():
    samples, rounds = synthetic()
    rows = scaling.summarize(samples, rounds, edge=0.2)
    assert [row["target_rate"] for row in rows] == [1000.0, 4000.0]
    for row, r in zip(rows, rounds):
        assert math.isclose(row["received_rate"], r.rate, rel_tol=1e-9)
        assert math.isclose(row["avg_cpu_cores"], 1.0, rel_tol=1e-9)  # two agents at 0.5
        assert math.isclose(row["max_cpu_cores"], 1.0, rel_tol=1e-9)
        assert math.isclose(row["avg_mem_mib"], 200.0)
        assert row["queue_pct"] == pytest.approx(10.0)  # the spikes are outside the window
        assert row["loss_pct"] == 0.0
        # The row agrees with the samples of the same window, worked out by hand.
        a, b = r.window(0.2)
        inside = sorted((s.timestamp, s.value) for s in samples if s.process == "agent-0"
                        and s.metric == "otelcol_receiver_accepted_log_records_total" and a <= s.timestamp <= b)
        by_hand = (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])
        assert math.isclose(row["received_rate"], 2 * by_hand)
    # A window that touches the ramp or the cool-down would not be this exact:
    wide = scaling.summarize(samples, [scaling.Round(1, 1000.0, rounds[0].load_start, rounds[0].load_end + 15, 0.0)],
                             edge=0.0)
    assert wide[0]["received_rate"] < 900 and wide[0]["queue_pct"] == 100.0
    assert scaling.saturation(samples, rounds, rows, queue_threshold=80) is None


def test_saturation_names_the_first_signal():
    samples, rounds = synthetic()
    r = rounds[1]
    # The second round's agents refuse records from 20 s in; its queue passes 80% only later.
    for s in samples:
        if s.round == 2 and s.metric == "loki_write_queue_bytes" and r.load_start + 30 <= s.timestamp < r.load_end - 1:
            s.value = 900.0
    for second in range(int(r.load_end - r.load_start)):
        refused = 0.0 if second < 20 else (second - 19) * 100.0
        samples.append(scaling.Sample(r.load_start + second, 2, 4000.0, "agent-1",
                                      "otelcol_receiver_refused_log_records_total", refused))
    rows = scaling.summarize(samples, rounds)
    verdict = scaling.saturation(samples, rounds, rows, queue_threshold=80)
    assert verdict["rate"] == 4000.0
    assert verdict["component"] == "agent-1"
    assert verdict["metric"] == "otelcol_receiver_refused_log_records_total"
    assert any("loki_write_queue_bytes" in signal for signal in verdict["signals"][1:])


def test_csv_schema(tmp_path):
    samples, rounds = synthetic()
    rows = scaling.summarize(samples, rounds)
    scaling.write_results(tmp_path / "results.csv", rows)
    scaling.write_samples(tmp_path / "samples.csv", samples)
    with open(tmp_path / "results.csv") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == ["target_rate", "throughput_mb_s", "received_rate", "sent_rate", "loss_pct",
                                     "avg_cpu_cores", "max_cpu_cores", "avg_mem_mib", "max_mem_mib", "queue_pct",
                                     "dist_lines_rate", "flush_queue_max", "p99_ms", "dropped", "verified_missing",
                                     "verified_duplicates"]
        parsed = list(reader)
    assert [float(row["target_rate"]) for row in parsed] == [1000.0, 4000.0]
    assert all(float(row["received_rate"]) > 0 for row in parsed)
    with open(tmp_path / "samples.csv") as f:
        assert f.readline().strip() == "timestamp,round,rate,process,metric,value"
    again = scaling.read_samples(tmp_path / "samples.csv")
    assert len(again) == len(samples) and again[0].metric == samples[0].metric


@pytest.mark.skipif(not os.environ.get("LOADGEN_BIN"), reason="needs LOADGEN_BIN (scripts/test builds it)")
def test_short_run_with_two_replicas_loses_nothing_and_plots(tmp_path):
    out = tmp_path / "out"
    code = scaling_run.main([
        "--rates", "1000", "2000", "4000", "--duration", "12", "--stabilise", "6", "--cooldown", "2",
        "--replicas", "2", "--sample-interval", "1", "--records-per-request", "200",
        "--estuary", os.environ["ESTUARY_BIN"], "--loadgen", os.environ["LOADGEN_BIN"], "--out", str(out)])
    assert code == 0
    results = list(out.glob("scaling-results-*.csv"))
    assert len(results) == 1
    with open(results[0]) as f:
        rows = list(csv.DictReader(f))
    assert [float(r["target_rate"]) for r in rows] == [1000.0, 2000.0, 4000.0]
    for r in rows:
        assert float(r["loss_pct"]) == 0.0, r
        assert r["verified_missing"] == "0" and r["verified_duplicates"] == "0", r
        assert float(r["dropped"]) == 0.0, r
        assert float(r["received_rate"]) == pytest.approx(float(r["target_rate"]), rel=0.1), r
        assert float(r["avg_cpu_cores"]) > 0 and float(r["max_mem_mib"]) > 0, r
    assert (out / "scaling.png").stat().st_size > 10_000
    samples = scaling.read_samples(out / "perf-metrics-samples.csv")
    assert {s.process for s in samples} == {"backend", "agent-0", "agent-1"}
    summary = (out / "summary.md").read_text()
    assert "No round saturated" in summary
    assert "verified missing | verified duplicates" in summary and "loadgen verify" in summary


@pytest.mark.skipif(not os.environ.get("LOADGEN_BIN"), reason="needs LOADGEN_BIN (scripts/test builds it)")
def test_a_replica_replaced_mid_round_loses_no_acknowledged_record(tmp_path, capsys):
    """Three clustered replicas behind a round-robin front; halfway through the round the oldest gets SIGTERM and a
    new one joins the cluster. `loadgen verify` finds every acknowledged record, once."""
    out = tmp_path / "out"
    code = scaling_run.main([
        "--rates", "3000", "--duration", "8", "--stabilise", "2", "--cooldown", "2", "--replicas", "3",
        "--membership-change", "--sample-interval", "1", "--records-per-request", "200", "--no-plot",
        "--estuary", os.environ["ESTUARY_BIN"], "--loadgen", os.environ["LOADGEN_BIN"], "--out", str(out)])
    assert code == 0
    assert "membership change: agent-0 left, agent-3 joined" in capsys.readouterr().out
    with open(next(out.glob("scaling-results-*.csv"))) as f:
        (row,) = list(csv.DictReader(f))
    assert row["verified_missing"] == "0" and row["verified_duplicates"] == "0", row
    assert float(row["sent_rate"]) > 1000, row
    samples = scaling.read_samples(out / "perf-metrics-samples.csv")
    assert {"agent-0", "agent-1", "agent-2", "agent-3"} <= {s.process for s in samples}


def test_verified_loss_replaces_the_stored_count():
    samples, rounds = synthetic()
    rounds[0].verified = {"expected": 40_000, "received": 39_990, "missing": 20, "duplicated": 3, "passed": False}
    rounds[0].stored = 0  # what a count would have said; verify wins
    rows = scaling.summarize(samples, rounds)
    assert rows[0]["loss_pct"] == pytest.approx(0.05)
    assert rows[0]["verified_missing"] == 20 and rows[0]["verified_duplicates"] == 3
    assert rows[1]["verified_missing"] is None and rows[1]["loss_pct"] == 0.0
    table = scaling.markdown(rows, None)
    assert "| 20 | 3 |" in table and "| - | - |" in table


def test_split_layout_gives_each_module_its_config():
    ports = {t: {"http": 1000 + i, "grpc": 2000 + i, "gossip": 3000 + i} for i, t in enumerate(scaling_run.SPLIT_TARGETS)}
    querier = scaling_run.split_config("querier", ports)
    assert "target: querier" in querier and "frontend_address: 127.0.0.1:2003" in querier
    assert "bind_port: 3002" in querier and "127.0.0.1:3000" in querier and "127.0.0.1:3002" not in querier
    assert "frontend_address" not in scaling_run.split_config("ingester", ports)


@pytest.mark.skipif(not os.environ.get("LOADGEN_BIN"), reason="needs LOADGEN_BIN (scripts/test builds it)")
def test_split_layout_says_exactly_when_the_backend_cannot_run_split(tmp_path, capsys):
    code = scaling_run.main([
        "--backend-layout", "split", "--rates", "1000", "--duration", "2", "--stabilise", "0",
        "--estuary", os.environ["ESTUARY_BIN"], "--loadgen", os.environ["LOADGEN_BIN"], "--out", str(tmp_path)])
    err = capsys.readouterr().err
    if code == 0:
        pytest.skip("this backend runs split: the refusal no longer applies")
    assert code == 2
    assert "--backend-layout split: `estuary backend -target=ingester` exited with status" in err
    assert "use --backend-layout single" in err


def test_help_prints_at_once_without_building(tmp_path):
    """`run-scaling-test.sh --help` needs no binary: with no `swift` on the PATH it still prints the options."""
    import subprocess
    python_dir = os.path.dirname(sys.executable)
    env = dict(os.environ, PATH=f"{python_dir}:/usr/bin:/bin")
    env.pop("SKIP_BUILD", None)
    script = ROOT / "load_test" / "run-scaling-test.sh"
    done = subprocess.run(["bash", str(script), "--help"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "--rates" in done.stdout and "building" not in done.stderr
