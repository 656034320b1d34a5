"""Both processes report Prometheus' `process_*` metrics, so a deployment's CPU and memory columns work."""
import os

import requests

from test_cluster import config

NAMES = ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes",
         "process_open_fds", "process_max_fds", "process_start_time_seconds"]


def values(url):
    text = requests.get(url + "/metrics", timeout=10).text
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition(" ")
            if name in NAMES:
                found[name] = float(value)
    return found


def check(found, pid):
    assert sorted(found) == sorted(NAMES)
    with open(f"/proc/{pid}/status") as f:
        rss_kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    # Measured at slightly different moments: within a factor of two of what the kernel says now.
    assert rss_kb * 1024 / 2 < found["process_resident_memory_bytes"] < rss_kb * 1024 * 2
    assert found["process_open_fds"] >= 3 and found["process_max_fds"] >= found["process_open_fds"]
    assert found["process_cpu_seconds_total"] > 0
    assert found["process_virtual_memory_bytes"] >= found["process_resident_memory_bytes"]
    assert abs(found["process_start_time_seconds"] - os.stat(f"/proc/{pid}").st_ctime) < 120


def test_agent_and_backend_export_process_metrics(backend, make_agent):
    agent = make_agent(config())
    check(values(agent.url), agent.proc.pid)
    check(values(backend.url), backend.proc.pid)
