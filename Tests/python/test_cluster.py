"""Agent clustering across real `estuary run` processes on loopback: members find each other through the join
addresses, the peers API shows Alloy's shape, a killed member is dropped within 10 s, a member stopped with SIGTERM
is `terminating` at once, another --cluster.name is refused, and --cluster.wait-for-size holds /-/ready."""
import os
import signal
import tempfile
import time

import requests

CONFIG = None


def config():
    global CONFIG
    if CONFIG is None:
        fd, CONFIG = tempfile.mkstemp(suffix=".alloy", prefix="estuary-cluster-")
        os.write(fd, b'logging {\n  level = "warn"\n}\n')
        os.close(fd)
    return CONFIG


def member(make_agent, name, join=(), extra=()):
    args = ["--cluster.enabled", f"--cluster.node-name={name}"]
    if join:
        args.append("--cluster.join-addresses=" + ",".join(a.url.removeprefix("http://") for a in join))
    return make_agent(config(), args=args + list(extra))


def peers(agent):
    r = requests.get(agent.url + "/api/v0/web/peers", timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def view(agent):
    return sorted((p["name"], p["state"]) for p in peers(agent))


def failed_sends(agent):
    for line in requests.get(agent.url + "/metrics", timeout=5).text.splitlines():
        if line.startswith("cluster_transport_tx_packets_failed_total "):
            return float(line.split()[1])
    return 0


def wait_for(condition, what, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.05)


def test_members_converge_and_a_killed_member_is_dropped_within_ten_seconds(make_agent):
    a = member(make_agent, "a")
    b = member(make_agent, "b", join=[a])
    c = member(make_agent, "c", join=[b])
    everyone = [("a", "participant"), ("b", "participant"), ("c", "participant")]
    wait_for(lambda: all(view(x) == everyone for x in (a, b, c)), "three participants everywhere")

    listed = peers(a)
    assert [p for p in listed if p["isSelf"]] == [{"name": "a", "addr": a.url.removeprefix("http://"),
                                                    "isSelf": True, "state": "participant"}]
    assert set(listed[0]) == {"name", "addr", "isSelf", "state"}
    cluster = requests.get(b.url + "/api/v0/web/cluster", timeout=5).json()
    assert len(cluster["peers"]) == 3 and cluster["enabled"] is True

    metrics = requests.get(a.url + "/metrics", timeout=5).text
    assert 'cluster_node_peers{state="participant"} 3' in metrics
    assert 'cluster_node_info{state="participant"} 1' in metrics
    for name in ("cluster_node_lamport_time", "cluster_node_update_observers", "cluster_transport_rx_bytes_total",
                 "cluster_transport_tx_bytes_total", "cluster_node_gossip_received_events_total"):
        assert name in metrics, name

    killed_at = time.monotonic()
    c.proc.send_signal(signal.SIGKILL)
    c.proc.wait()
    survivors = [("a", "participant"), ("b", "participant")]
    wait_for(lambda: view(a) == survivors and view(b) == survivors, "c dropped", timeout=10)
    assert time.monotonic() - killed_at < 10


def test_sigterm_announces_terminating_before_leaving(make_agent):
    a = member(make_agent, "a")
    b = member(make_agent, "b", join=[a])
    wait_for(lambda: view(a) == [("a", "participant"), ("b", "participant")], "two participants")
    b.proc.send_signal(signal.SIGTERM)
    assert b.proc.wait(timeout=30) == 0
    # b told a before it exited: no wait for failure detection.
    assert view(a) == [("a", "participant"), ("b", "terminating")]
    wait_for(lambda: view(a) == [("a", "participant")], "b forgotten")


def test_another_cluster_name_and_garbage_are_refused(make_agent):
    a = member(make_agent, "a", extra=["--cluster.name=blue"])
    b = member(make_agent, "b", join=[a], extra=["--cluster.name=green"])
    r = requests.post(a.url + "/api/v0/cluster/gossip", data=b"\xff\x01garbage",
                      headers={"Content-Type": "application/x.estuary-gossip"}, timeout=5)
    assert r.status_code == 400 and "gossip message" in r.text
    wait_for(lambda: failed_sends(b) > 0, "b's refused join counted")
    assert view(a) == [("a", "participant")]
    assert view(b) == [("b", "participant")]


def test_wait_for_size_holds_readiness(make_agent):
    a = member(make_agent, "a", extra=["--cluster.wait-for-size=2"])
    r = requests.get(a.url + "/-/ready", timeout=5)
    assert r.status_code == 503 and "wait-for-size" in r.text
    assert requests.get(a.url + "/api/v0/web/cluster", timeout=5).json()["ready"] is False
    member(make_agent, "b", join=[a], extra=["--cluster.wait-for-size=2"])
    wait_for(lambda: requests.get(a.url + "/-/ready", timeout=5).status_code == 200, "a ready")


def test_bad_flags_are_start_up_errors(make_agent):
    import subprocess
    from conftest import BINARY
    for flag, needle in [("--cluster.wait-timeout=soon", "--cluster.wait-timeout"),
                         ("--cluster.advertise-address=host:99999", "--cluster.advertise-address"),
                         ("--cluster.join-addresses=a,,b", "--cluster.join-addresses")]:
        p = subprocess.run([BINARY, "run", config(), "--server.http.listen-addr=127.0.0.1:0", "--cluster.enabled",
                            flag], capture_output=True, timeout=60)
        assert p.returncode != 0
        assert needle in p.stderr.decode(), p.stderr.decode()


def test_without_clustering_the_agent_is_a_one_member_cluster(make_agent):
    a = make_agent(config())
    listed = peers(a)
    assert len(listed) == 1 and listed[0]["isSelf"] and listed[0]["state"] == "participant"
    r = requests.post(a.url + "/api/v0/cluster/gossip", data=b"", timeout=5)
    assert r.status_code == 404


def test_hostile_gossip_bodies_get_4xx_and_the_member_keeps_running(make_agent):
    import random
    a = member(make_agent, "a")
    b = member(make_agent, "b", join=[a])
    wait_for(lambda: view(a) == [("a", "participant"), ("b", "participant")], "two participants")
    rng = random.Random(1717)
    statuses = set()
    for i in range(300):
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 200)))
        if i % 3 == 0:  # a plausible prefix: cluster name field, then garbage
            body = b"\x0a\x00\x12\x01x\x22" + body
        r = requests.post(a.url + "/api/v0/cluster/gossip", data=body, timeout=5)
        statuses.add(r.status_code)
        assert r.status_code in (200, 400), (r.status_code, r.text)
    assert 400 in statuses
    r = requests.post(a.url + "/api/v0/cluster/gossip", data=b"\x00" * (5 << 20), timeout=30)
    assert r.status_code == 413
    assert a.proc.poll() is None
    wait_for(lambda: ("b", "participant") in view(a), "b still a member")
