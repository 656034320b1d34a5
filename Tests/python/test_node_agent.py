"""The node agent end to end: `loadgen file` writes a /var/log/pods tree as the kubelet does (CRI lines, P/F
partials, stdout and stderr, rotation by rename and by copy-truncate), `estuary run config/daemonset.alloy` tails it
and ships it into a running `estuary backend`, and `loadgen verify` proves every line arrived exactly once. Also:
the node's journal (files written by systemd-journal-remote), and restarts of the agent mid-run by SIGTERM and
SIGKILL."""
import json
import os
import subprocess
import time

import pytest
import requests

from conftest import ROOT
from test_gateway import query

LOADGEN = os.environ.get("LOADGEN_BIN")
JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"
pytestmark = pytest.mark.skipif(not LOADGEN, reason="needs LOADGEN_BIN (scripts/test builds it)")
DAEMONSET = str(ROOT / "config" / "daemonset.alloy")


def write_journal(directory, messages):
    """A journal file in `directory` holding `messages` (unit, priority, text), written by systemd itself."""
    os.makedirs(directory, exist_ok=True)
    now = int(time.time() * 1e6)
    export = ""
    for i, (unit, priority, text) in enumerate(messages):
        export += (f"__REALTIME_TIMESTAMP={now - (len(messages) - i) * 1000}\n__MONOTONIC_TIMESTAMP={1000 + i}\n"
                   f"_BOOT_ID=0123456789abcdef0123456789abcdef\n_SYSTEMD_UNIT={unit}\nPRIORITY={priority}\n"
                   f"MESSAGE={text}\n\n")
    source = os.path.join(directory, "input.export")
    with open(source, "w") as f:
        f.write(export)
    subprocess.run([JOURNAL_REMOTE, "-o", os.path.join(directory, "node.journal"), source], check=True,
                   capture_output=True)
    os.unlink(source)


def node_agent(make_agent, backend, tree, journal, start=True):
    env = {"POD_LOGS_PATH": str(tree), "JOURNAL_PATH": str(journal), "NODE_NAME": "node-7",
           "LOKI_PUSH_URL": f"{backend.url}/loki/api/v1/push", "LOKI_TENANT_ID": "fake"}
    return make_agent(DAEMONSET, env)


def loadgen_file(tree, out, *args):
    """Runs `loadgen file` into `tree`; the RESULT line (the run's manifest) goes to `out`."""
    with open(out, "w") as f:
        subprocess.run([LOADGEN, "file", "--dir", str(tree), "--progress", "0s", *args], check=True, stdout=f,
                       stderr=subprocess.PIPE, timeout=300)


def files_active(agent):
    metrics = requests.get(agent.url + "/metrics", timeout=5).text
    return sum(float(l.rsplit(" ", 1)[1]) for l in metrics.splitlines()
               if l.startswith("loki_source_file_files_active_total{"))


def prime(agent, tree, out, files, *args):
    """Creates the pods' files with one line each and waits until the agent tails them all: local.file_match finds
    new files every sync_period (5s), and a file rotated away before it was found is not read (as with Alloy), so a
    test that writes fast from the first moment starts from pods the agent knows, as on a node."""
    loadgen_file(tree, out, "--rate", "0", "--count", str(files), *args)
    deadline = time.monotonic() + 30
    while files_active(agent) < files and time.monotonic() < deadline:
        time.sleep(0.1)  # not-a-wait: poll interval of a deadline-bounded wait
    assert files_active(agent) >= files, agent.log()


def verify(backend, manifest, stalled_after=60, at_most=600):
    """`loadgen verify` of the run in `manifest`, repeated until nothing is missing; the VERIFY summary.

    The agent may still be shipping: a slow (debug, loaded) machine catches up later, not less. So the wait ends
    when nothing is missing, when the missing count has not gone down for `stalled_after` seconds (lines that will
    never come), or after `at_most` seconds in all."""
    start = time.monotonic()
    least, progressed = None, start
    while True:
        requests.post(f"{backend.url}/flush", timeout=30)
        done = subprocess.run([LOADGEN, "verify", "--url", backend.url, "--run", str(manifest)],
                              capture_output=True, text=True, timeout=120)
        line = next((l for l in done.stdout.splitlines() if l.startswith("VERIFY ")), None)
        assert line, done.stdout + done.stderr
        summary = json.loads(line[len("VERIFY "):])
        now = time.monotonic()
        if least is None or summary["missing"] < least:
            least, progressed = summary["missing"], now
        if summary["missing"] == 0 or now - progressed > stalled_after or now - start > at_most:
            summary["output"] = done.stdout
            return summary
        time.sleep(1)  # not-a-wait: between verify attempts, bounded by stalled_after and at_most


def test_pods_tree_with_partials_stderr_and_both_rotations_arrives_exactly_once(backend, make_agent, tmp_path):
    tree, journal = tmp_path / "pods", tmp_path / "journal"
    tree.mkdir()
    write_journal(journal, [("kubelet.service", 6, "journal hello"), ("containerd.service", 3, "journal oops")])
    agent = node_agent(make_agent, backend, tree, journal)
    for rotation in ("rename", "copytruncate"):
        out = tmp_path / f"{rotation}.out"
        pods = ["--pods", "3", "--containers", "2", "--seed", "11" if rotation == "rename" else "12"]
        prime(agent, tree, tmp_path / "prime.out", 6 * (1 if rotation == "rename" else 2), *pods)
        loadgen_file(tree, out, *pods, "--rate", "3000", "--count", "6000",
                     "--line-bytes", "200", "--rotate-bytes", "96KiB", "--rotation", rotation, "--keep", "2",
                     "--partial-every", "7", "--fragment-bytes", "50", "--stderr-every", "5")
        summary = verify(backend, out)
        assert summary["missing"] == 0 and summary["duplicated"] == 0, summary["output"] + agent.log()

    streams = query(backend, '{namespace="loadgen"}', 5000, time.time_ns() - 600 * 10**9)
    labels = [s["stream"] for s in streams]
    assert {l["stream"] for l in labels} == {"stdout", "stderr"}
    assert all(l["node"] == "node-7" and l["pod"] and l["container"] for l in labels), labels[:3]
    assert all("filename" not in l for l in labels)
    assert all(l["job"] == f"loadgen/{l['container']}" for l in labels)
    # P fragments were joined: no stored line is a fragment, every one ends in its marker.
    values = [v[1] for s in streams for v in s["values"]]
    assert values and all(" run=" in v and " seq=" in v for v in values)

    journal_streams = query(backend, '{job="node/journal"}', 100, time.time_ns() - 600 * 10**9)
    by_unit = {s["stream"]["unit"]: [v[1] for v in s["values"]] for s in journal_streams}
    assert by_unit == {"kubelet.service": ["journal hello"], "containerd.service": ["journal oops"]}
    assert {s["stream"]["level"] for s in journal_streams} == {"info", "error"}
    health = requests.get(agent.url + "/-/healthy", timeout=5)
    assert health.status_code == 200, health.text


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_a_restart_mid_run_loses_nothing(backend, make_agent, tmp_path, how):
    tree, journal = tmp_path / "pods", tmp_path / "journal"
    tree.mkdir()
    write_journal(journal, [("kubelet.service", 6, "boot")])
    agent = node_agent(make_agent, backend, tree, journal)
    out = tmp_path / "run.out"
    prime(agent, tree, tmp_path / "prime.out", 4, "--pods", "4", "--containers", "1", "--seed", "21")
    writer = subprocess.Popen(
        [LOADGEN, "file", "--dir", str(tree), "--progress", "0s", "--pods", "4", "--containers", "1", "--rate", "4000",
         "--count", "24000", "--line-bytes", "200", "--rotate-bytes", "256KiB", "--keep", "40", "--seed", "21"],
        stdout=open(out, "w"), stderr=subprocess.PIPE)
    # A file rotates about every 1.3 s per stream, so a restart spans several rotations: the agent finishes the file it
    # was reading and then those rotated after it. The writer keeps 40 rotated files (about 50 s), so that a restart
    # slowed by a loaded machine still finds them all.
    # Restart once lines are flowing: the agent has shipped some and is reading more.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        metrics = requests.get(agent.url + "/metrics", timeout=5).text
        sent = sum(float(l.rsplit(" ", 1)[1]) for l in metrics.splitlines()
                   if l.startswith("loki_write_sent_entries_total{"))
        if sent >= 4000:
            break
        time.sleep(0.1)  # not-a-wait: poll interval of a deadline-bounded wait
    if how == "SIGKILL":
        agent.proc.kill()
        agent.proc.wait(timeout=30)
        agent.proc = None
    else:
        assert agent.stop() == 0
    agent.start()
    assert writer.wait(timeout=120) == 0
    summary = verify(backend, out)
    assert summary["missing"] == 0, summary["output"] + agent.log()
    if how == "SIGTERM":
        assert summary["duplicated"] == 0, summary["output"]
    else:
        # The documented bound: at most the lines delivered in the last second before the kill (4000 lines/s).
        assert summary["duplicated"] <= 4000, summary["output"]


def test_container_restarts_deleted_pods_and_16k_splits_arrive_exactly_once(backend, make_agent, tmp_path):
    tree, journal = tmp_path / "pods", tmp_path / "journal"
    tree.mkdir()
    write_journal(journal, [("kubelet.service", 6, "boot")])
    agent = node_agent(make_agent, backend, tree, journal)
    pods = ["--pods", "3", "--containers", "2", "--seed", "31"]
    prime(agent, tree, tmp_path / "prime.out", 6, *pods)
    out = tmp_path / "churn.out"
    # A restarted container writes <n+1>.log and a replacement pod gets a new directory: both are found at the next
    # local.file_match sync (5s), so the grace before a deleted pod's directory goes is longer than that, as the
    # kubelet's is. One message in a hundred is 40 kB: containerd's 16 KiB P/F splits, joined again by stage.cri.
    loadgen_file(tree, out, *pods, "--rate", "600", "--count", "3000", "--line-bytes-dist", "weighted:200=99,40000=1",
                 "--restart-every", "200", "--delete-pod-after", "400", "--delete-grace", "7s")
    summary = verify(backend, out)
    assert summary["missing"] == 0 and summary["duplicated"] == 0, summary["output"] + agent.log()
    result = json.loads(next(l for l in open(out) if l.startswith("RESULT "))[len("RESULT "):])
    assert result["restarts"] > 0 and result["pods_deleted"] > 0, result
    streams = query(backend, '{namespace="loadgen"}', 5000, time.time_ns() - 600 * 10**9)
    assert max(len(v[1]) for s in streams for v in s["values"]) > 16384, "a 40 kB message arrived whole"
