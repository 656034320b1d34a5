"""config/kubernetes: both variants render with `kubectl kustomize`, every object passes the Kubernetes 1.31 schema
(kubernetes-validate, strict: unknown fields fail), and the objects fit together as a user needs them to: the agent
reads /var/log/pods read-only, RBAC exists only in the discovery variant, every config file a container is started
with is in the ConfigMap mounted where it looks, every Service selects pods and ports that exist, the agents push
to a Service of the render."""
import copy
import os
import pathlib
import shutil
import subprocess
import tempfile
import urllib.parse

import kubernetes_validate
import pytest
import yaml

from conftest import ROOT

KUBERNETES = ROOT / "config" / "kubernetes"
VARIANTS = {"default": KUBERNETES, "discovery": KUBERNETES / "discovery"}
KUBECTL = shutil.which("kubectl")
RBAC_KINDS = {"ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}
WORKLOAD_KINDS = {"Deployment", "DaemonSet", "StatefulSet"}
# The configuration files the kustomization's configMapGenerator reads, relative to config/kubernetes/base.
GENERATED_FROM = ["../../daemonset.alloy", "../../daemonset-kubernetes.alloy", "../../gateway.alloy", "../backend.yaml"]

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="no kubectl binary on PATH: cannot render the kustomization")


def render(directory):
    missing = [p for p in GENERATED_FROM if not (KUBERNETES / "base" / p).resolve().exists()]
    assert not missing, f"config/kubernetes/base/kustomization.yaml generates ConfigMaps from files that do not exist: {missing}"
    # The ConfigMaps come from config/*.alloy, outside the kustomization's root: kustomize reads them only so.
    result = subprocess.run([KUBECTL, "kustomize", "--load-restrictor=LoadRestrictionsNone", str(directory)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"kubectl kustomize {directory} failed:\n{result.stderr}"
    return result.stdout, [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def variant(request):
    text, docs = render(VARIANTS[request.param])
    return request.param, text, docs


def by_kind(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def one(docs, kind, name):
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_spec(workload):
    return workload["spec"]["template"]["spec"]


def container(workload):
    containers = pod_spec(workload)["containers"]
    assert len(containers) == 1, f"{workload['metadata']['name']}: one container expected"
    return containers[0]


def mounts(workload):
    """mountPath -> (volumeMount, volume) of the workload's container."""
    volumes = {v["name"]: v for v in pod_spec(workload).get("volumes", [])}
    claims = {c["metadata"]["name"]: {"name": c["metadata"]["name"], "persistentVolumeClaim": c["spec"]}
              for c in workload["spec"].get("volumeClaimTemplates", [])}
    out = {}
    for mount in container(workload).get("volumeMounts", []):
        volume = volumes.get(mount["name"]) or claims.get(mount["name"])
        assert volume is not None, f"{workload['metadata']['name']}: mount {mount['name']} has no volume"
        out[mount["mountPath"]] = (mount, volume)
    return out


# 1.31, and the newest schema the installed kubernetes-validate ships (1.37 with kubernetes-validate 1.37.0).
@pytest.mark.parametrize("version", ["1.31", ".".join(kubernetes_validate.latest_version().split(".")[:2])])
def test_every_object_passes_the_kubernetes_schema(variant, version):
    name, _, docs = variant
    assert docs, f"{name}: nothing rendered"
    for doc in docs:
        checked = kubernetes_validate.validate(doc, version, strict=True)
        assert checked == version, f"{doc['kind']} {doc['metadata']['name']} checked against {checked}"


def test_the_schema_check_catches_a_misspelt_field(variant):
    _, _, docs = variant
    daemonset = copy.deepcopy(one(docs, "DaemonSet", "estuary-agent"))
    container(daemonset)["volumeMounts"][0]["readonly"] = True  # not readOnly: silently ignored by a cluster
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(daemonset, "1.31", strict=True)


def test_everything_lives_in_the_estuary_namespace(variant):
    _, _, docs = variant
    one(docs, "Namespace", "estuary")
    for doc in docs:
        if doc["kind"] not in {"Namespace", "ClusterRole", "ClusterRoleBinding"}:
            assert doc["metadata"].get("namespace") == "estuary", f"{doc['kind']} {doc['metadata']['name']}"


def test_the_agent_reads_the_node_logs_read_only_and_keeps_positions_on_the_node(variant):
    _, _, docs = variant
    agent = one(docs, "DaemonSet", "estuary-agent")
    found = mounts(agent)
    for path in ["/var/log/pods", "/var/log/journal", "/run/log/journal", "/etc/machine-id"]:
        mount, volume = found[path]
        assert mount.get("readOnly") is True, f"{path} must be mounted read-only"
        assert volume["hostPath"]["path"] == path
    mount, volume = found["/var/lib/estuary-agent"]
    assert volume["hostPath"]["path"] == "/var/lib/estuary-agent" and not mount.get("readOnly")
    assert "--storage.path=/var/lib/estuary-agent" in container(agent)["args"]
    env = {e["name"]: e for e in container(agent)["env"]}
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    assert pod_spec(agent)["tolerations"] == [{"operator": "Exists"}], "the agent must run on every node"
    resources = container(agent)["resources"]
    assert resources["requests"] == {"cpu": "100m", "memory": "64Mi"}
    assert resources["limits"] == {"memory": "256Mi"}
    security = container(agent)["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["runAsUser"] == 0
    assert security["allowPrivilegeEscalation"] is False and security["capabilities"]["drop"] == ["ALL"]
    probes = {container(agent)["readinessProbe"]["httpGet"]["path"], container(agent)["livenessProbe"]["httpGet"]["path"]}
    assert probes == {"/-/ready", "/-/healthy"}


def test_rbac_only_in_the_discovery_variant():
    _, default = render(VARIANTS["default"])
    _, discovery = render(VARIANTS["discovery"])
    assert [d["kind"] for d in default if d["kind"] in RBAC_KINDS] == []
    assert pod_spec(one(default, "DaemonSet", "estuary-agent"))["automountServiceAccountToken"] is False
    assert "/etc/estuary/daemonset.alloy" in container(one(default, "DaemonSet", "estuary-agent"))["args"]

    agent = one(discovery, "DaemonSet", "estuary-agent")
    assert "/etc/estuary/daemonset-kubernetes.alloy" in container(agent)["args"]
    account = pod_spec(agent)["serviceAccountName"]
    one(discovery, "ServiceAccount", account)
    binding = one(discovery, "ClusterRoleBinding", "estuary-agent-discovery")
    assert {"kind": "ServiceAccount", "name": account, "namespace": "estuary"} in binding["subjects"]
    role = one(discovery, "ClusterRole", binding["roleRef"]["name"])
    granted = {(resource, verb) for rule in role["rules"] for resource in rule["resources"] for verb in rule["verbs"]}
    assert {("pods", "get"), ("pods", "list"), ("pods", "watch"), ("nodes/proxy", "get")} <= granted
    assert not any(verb in {"create", "update", "patch", "delete", "*"} for _, verb in granted), "read-only RBAC"
    # The rest is the same objects: the overlay changes the agent, nothing else.
    names = lambda docs: sorted((d["kind"], d["metadata"]["name"]) for d in docs if d["kind"] not in RBAC_KINDS)
    assert names(default) == names(discovery)


def test_every_config_file_a_container_is_started_with_is_in_its_configmap(variant):
    _, _, docs = variant
    configmaps = {d["metadata"]["name"]: d for d in by_kind(docs, "ConfigMap")}
    workloads = [d for d in docs if d["kind"] in WORKLOAD_KINDS]
    assert sorted(w["metadata"]["name"] for w in workloads) == ["estuary-agent", "estuary-backend", "estuary-gateway"]
    for workload in workloads:
        args = container(workload)["args"]
        files = [a.split("=", 1)[-1] for a in args if "/etc/estuary/" in a]
        assert len(files) == 1, f"{workload['metadata']['name']}: one config file expected in {args}"
        path = pathlib.PurePosixPath(files[0])
        mount, volume = mounts(workload)[str(path.parent)]
        assert mount.get("readOnly") is True
        configmap = configmaps[volume["configMap"]["name"]]  # the generated, hash-suffixed name
        assert path.name in configmap["data"], f"{configmap['metadata']['name']} has no {path.name}"
    # And the ConfigMaps hold the repository's files, byte for byte.
    agent = next(c for n, c in configmaps.items() if n.startswith("estuary-agent-"))
    gateway = next(c for n, c in configmaps.items() if n.startswith("estuary-gateway-"))
    assert agent["data"]["daemonset.alloy"] == (ROOT / "config" / "daemonset.alloy").read_text()
    assert agent["data"]["daemonset-kubernetes.alloy"] == (ROOT / "config" / "daemonset-kubernetes.alloy").read_text()
    assert gateway["data"]["gateway.alloy"] == (ROOT / "config" / "gateway.alloy").read_text()


def test_the_kubernetes_backend_config_is_the_local_one_with_in_cluster_paths():
    local = yaml.safe_load((ROOT / "config" / "backend-local.yaml").read_text())
    cluster = yaml.safe_load((KUBERNETES / "backend.yaml").read_text())
    assert cluster["common"]["path_prefix"] == "/var/lib/estuary"
    assert cluster["common"]["storage"]["filesystem"]["chunks_directory"] == "/var/lib/estuary/chunks"
    # In a pod the backend listens on every interface; on one machine, on loopback only.
    assert cluster["server"]["http_listen_address"] == "" and local["server"]["http_listen_address"] == "127.0.0.1"
    for config in (local, cluster):
        del config["common"]["path_prefix"]
        del config["common"]["storage"]["filesystem"]["chunks_directory"]
        del config["server"]["http_listen_address"]
    assert cluster == local, "config/kubernetes/backend.yaml drifted from config/backend-local.yaml"
    _, docs = render(VARIANTS["default"])
    backend = one(docs, "StatefulSet", "estuary-backend")
    mount, volume = mounts(backend)["/var/lib/estuary"]
    assert "persistentVolumeClaim" in volume, "the backend's data must be on a PersistentVolumeClaim"
    assert container(backend)["args"] == ["backend", "-config.file=/etc/estuary/backend.yaml"]


def test_services_select_pods_and_ports_that_exist(variant):
    _, _, docs = variant
    workloads = [d for d in docs if d["kind"] in WORKLOAD_KINDS]
    for service in by_kind(docs, "Service"):
        selector = service["spec"]["selector"]
        selected = [w for w in workloads
                    if selector.items() <= w["spec"]["template"]["metadata"]["labels"].items()]
        assert len(selected) == 1, f"Service {service['metadata']['name']} selects {len(selected)} workloads"
        ports = {p["name"]: p["containerPort"] for p in container(selected[0])["ports"]}
        for port in service["spec"]["ports"]:
            target = port["targetPort"]
            assert target in ports or target in ports.values(), f"{service['metadata']['name']}: no port {target}"
    headless = one(docs, "Service", "estuary-gateway-headless")
    assert headless["spec"]["clusterIP"] == "None" and headless["spec"]["publishNotReadyAddresses"] is True
    gateway = one(docs, "Service", "estuary-gateway")
    assert [p["port"] for p in gateway["spec"]["ports"]] == [4317, 4318]
    backend = one(docs, "StatefulSet", "estuary-backend")
    assert one(docs, "Service", backend["spec"]["serviceName"])["spec"]["clusterIP"] == "None"


def test_the_agents_push_to_the_distributor_service(variant):
    _, _, docs = variant
    services = {s["metadata"]["name"]: s for s in by_kind(docs, "Service")}
    for name, kind in [("estuary-agent", "DaemonSet"), ("estuary-gateway", "Deployment")]:
        env = {e["name"]: e.get("value") for e in container(one(docs, kind, name))["env"]}
        url = urllib.parse.urlsplit(env["LOKI_PUSH_URL"])
        host = url.hostname.split(".")
        assert host[1:] == ["estuary", "svc"], f"{name}: {url.hostname} is not a Service of namespace estuary"
        service = services[host[0]]
        assert url.port in [p["port"] for p in service["spec"]["ports"]]
        assert service["spec"]["selector"]["app.kubernetes.io/component"] == "backend"
        assert url.path == "/loki/api/v1/push"


def test_the_gateway_scales_on_cpu_and_memory_and_survives_drains(variant):
    _, _, docs = variant
    hpa = one(docs, "HorizontalPodAutoscaler", "estuary-gateway")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "estuary-gateway"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 6)
    assert hpa["spec"]["metrics"] == [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}},
        {"type": "Resource", "resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": 80}}}]
    deployment = one(docs, "Deployment", "estuary-gateway")
    assert "cpu" in container(deployment)["resources"]["requests"], "an HPA on CPU utilization needs a CPU request"
    assert container(deployment)["args"][:2] == ["run", "/etc/estuary/gateway.alloy"]
    assert "memory" in container(deployment)["resources"]["requests"], "an HPA on memory utilization needs a request"
    pdb = one(docs, "PodDisruptionBudget", "estuary-gateway")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


def test_the_gateway_replicas_form_one_cluster_through_the_headless_service(variant):
    """The replicas join through the headless Service's DNS name on their HTTP port, advertise their pod IP, and are
    ready only once the cluster has formed (the flags are checked by starting `estuary run` with them)."""
    _, _, docs = variant
    deployment = one(docs, "Deployment", "estuary-gateway")
    gateway = container(deployment)
    flags = dict(a.split("=", 1) for a in gateway["args"] if a.startswith("--cluster."))
    headless = one(docs, "Service", "estuary-gateway-headless")
    host, port = flags["--cluster.join-addresses"].rsplit(":", 1)
    assert host.split(".")[:3] == [headless["metadata"]["name"], "estuary", "svc"]
    assert int(port) in [p["port"] for p in headless["spec"]["ports"]]
    listen = next(a for a in gateway["args"] if a.startswith("--server.http.listen-addr=")).rsplit(":", 1)[1]
    assert flags["--cluster.advertise-address"] == f"$(POD_IP):{listen}" and port == listen
    env = {e["name"]: e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") for e in gateway["env"]}
    assert env["POD_IP"] == "status.podIP" and env["POD_NAME"] == "metadata.name"
    assert flags["--cluster.enabled"] == "true" and int(flags["--cluster.wait-for-size"]) >= 2
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/-/ready"
    # Every flag the manifest passes is one estuary accepts: a run with them (and a port of our own) starts and
    # lists itself as the one member it can find.
    import subprocess
    from conftest import BINARY
    fd, path = tempfile.mkstemp(suffix=".alloy")
    os.close(fd)
    args = [a.replace("$(POD_IP)", "127.0.0.1").replace("$(POD_NAME)", "pod-0") for a in gateway["args"][2:]
            if not a.startswith(("--server.http.listen-addr", "--storage.path", "--cluster.join-addresses"))]
    with tempfile.TemporaryDirectory() as storage:
        p = subprocess.Popen([BINARY, "run", path, "--server.http.listen-addr=127.0.0.1:0", f"--storage.path={storage}"]
                             + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            line = p.stdout.readline().decode()
            assert "agent listening on" in line, p.stderr.read().decode() if p.poll() is not None else line
        finally:
            p.terminate()
            p.wait(timeout=60)


def test_kubectl_apply_dry_run(variant):
    """`kubectl apply --dry-run=client` still asks an API server: discovery to map each kind to its resource and a GET
    of each live object to compute the patch; --validate=false only drops the OpenAPI download. So it runs against
    the cluster of $ESTUARY_TEST_KUBECONFIG when one is given and is skipped otherwise (never the user's own
    kubeconfig: a test must not talk to whatever cluster that names)."""
    name, text, docs = variant
    kubeconfig = os.environ.get("ESTUARY_TEST_KUBECONFIG")
    with tempfile.TemporaryDirectory() as home:
        if not kubeconfig:
            kubeconfig = os.path.join(home, "empty-kubeconfig")
            pathlib.Path(kubeconfig).write_text("apiVersion: v1\nkind: Config\n")
        result = subprocess.run(
            [KUBECTL, "apply", "--dry-run=client", "--validate=false", f"--kubeconfig={kubeconfig}", "-o", "name",
             "-f", "-"], input=text, capture_output=True, text=True, timeout=120,
            env={**os.environ, "HOME": home, "KUBECACHEDIR": os.path.join(home, "cache")})
    if result.returncode != 0 and not os.environ.get("ESTUARY_TEST_KUBECONFIG"):
        no_server = ["connection refused", "unable to recognize", "couldn't get current server API group list"]
        assert any(s in result.stderr for s in no_server), f"kubectl failed for another reason:\n{result.stderr}"
        pytest.skip("kubectl apply --dry-run=client needs an API server even with --validate=false (discovery and a "
                    "GET per object); set ESTUARY_TEST_KUBECONFIG to a cluster to run it")
    assert result.returncode == 0, result.stderr
    applied = sorted(line.strip() for line in result.stdout.splitlines() if line.strip())
    assert len(applied) == len(docs), f"{name}: {applied}"
