"""The deployment files in deploy/: rendered with `kubectl kustomize`, checked against the Kubernetes schemas
(kubernetes-validate, strict), KEDA objects checked field by field, and every cross-reference resolved.

No cluster is needed; CI installs kubectl when it is missing (.ci/services.sh).
"""
import configparser
import json
import re
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
OVERLAYS = sorted(path.name for path in (DEPLOY / "kubernetes" / "overlays").iterdir() if path.is_dir())
K8S_VERSION = "1.30.0"  # the oldest Kubernetes the manifests promise to run on (policy/v1, autoscaling/v2)
WORKER_COMPONENTS = {"inference-cpu", "inference-gpu", "training", "webhooks"}


def render(target: Path) -> list[dict]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is needed to render the manifests (.ci/services.sh installs it)"
    result = subprocess.run([kubectl, "kustomize", str(target)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module", params=["base", *OVERLAYS])
def manifests(request) -> tuple[str, list[dict]]:
    target = DEPLOY / "kubernetes" / ("base" if request.param == "base" else f"overlays/{request.param}")
    return request.param, render(target)


def _by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def _pod_labels(deployment: dict) -> dict:
    return deployment["spec"]["template"]["metadata"]["labels"]


def _selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def test_overlays_exist():
    assert {"production", "rabbitmq"} <= set(OVERLAYS)


def test_every_builtin_object_passes_the_kubernetes_schema(manifests):
    _name, docs = manifests
    checked = 0
    for doc in docs:
        if doc["apiVersion"].startswith("keda.sh/"):
            continue
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)  # raises ValidationError with the path
        checked += 1
    assert checked >= 15


def test_keda_objects_are_complete_and_point_at_real_deployments(manifests):
    name, docs = manifests
    deployments = _by_kind(docs, "Deployment")
    auths = _by_kind(docs, "TriggerAuthentication")
    scaled = _by_kind(docs, "ScaledObject")
    from inference.dispatch import PREFIX, queue_keys

    targets = set()
    names: set[str] = set()
    for obj in scaled.values():
        assert obj["apiVersion"] == "keda.sh/v1alpha1"
        spec = obj["spec"]
        target = spec["scaleTargetRef"]["name"]
        assert target in deployments, target
        targets.add(_pod_labels(deployments[target])["app.kubernetes.io/component"])
        assert 0 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
        assert spec["triggers"], obj["metadata"]["name"]
        for trigger in spec["triggers"]:
            assert trigger["authenticationRef"]["name"] in auths
            meta = trigger["metadata"]
            if trigger["type"] == "redis":
                assert meta["address"] and meta["listName"] and int(meta["listLength"]) >= 1
                names.add(meta["listName"])
                queue = meta["listName"].split("\x06")[0]
                if queue.startswith(PREFIX):  # the Redis dispatch's lists of a prediction queue
                    queue = queue.removeprefix(PREFIX + ":").rsplit(":", 1)[0]
                    assert meta["listName"] in queue_keys(queue), meta["listName"]
                assert queue in {"inference-cpu", "inference-gpu", "training", "webhooks"}
            else:
                assert trigger["type"] == "rabbitmq", trigger
                assert meta["queueName"] and meta["mode"] == "QueueLength" and int(meta["value"]) >= 1
    assert targets == WORKER_COMPONENTS  # every worker class scales on its own queue
    if name != "rabbitmq":  # predictions wait in the Redis dispatch's lists with a Redis broker: both are watched
        assert {*queue_keys("inference-cpu"), *queue_keys("inference-gpu")} <= names, names
    for auth in auths.values():
        for ref in auth["spec"]["secretTargetRef"]:
            secret = _by_kind(docs, "Secret")[ref["name"]]
            assert ref["key"] in secret["stringData"], ref
    expected = "rabbitmq" if name == "rabbitmq" else "redis"
    assert {t["type"] for obj in scaled.values() for t in obj["spec"]["triggers"]} == {expected}


def test_references_resolve_and_roles_are_shaped_right(manifests):
    _name, docs = manifests
    deployments = _by_kind(docs, "Deployment")
    config_maps, secrets = _by_kind(docs, "ConfigMap"), _by_kind(docs, "Secret")
    components = {_pod_labels(d)["app.kubernetes.io/component"]: d for d in deployments.values()}
    assert {"web", "beat", *WORKER_COMPONENTS} <= set(components)
    for deployment in [*deployments.values(), *_by_kind(docs, "Job").values()]:
        spec = deployment["spec"]
        if deployment["kind"] == "Deployment":
            assert _selects(spec["selector"]["matchLabels"], _pod_labels(deployment))
        for container in spec["template"]["spec"]["containers"]:
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in config_maps
                if "secretRef" in source:
                    assert source["secretRef"]["name"] in secrets
            assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
    # The web tier: a Service that selects it, probes on /readyz and /livez, a PDB and an HPA.
    web = components["web"]
    services = [s for s in _by_kind(docs, "Service").values() if _selects(s["spec"]["selector"], _pod_labels(web))]
    assert services, "no Service selects the web pods"
    container = web["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    hpas = _by_kind(docs, "HorizontalPodAutoscaler")
    assert [h["spec"]["scaleTargetRef"]["name"] for h in hpas.values()] == [web["metadata"]["name"]]
    # GPU workers: a GPU limit, a GPU node selector and the NVIDIA taint tolerated.
    gpu = components["inference-gpu"]["spec"]["template"]["spec"]
    assert gpu["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert gpu["nodeSelector"] and any(t["key"] == "nvidia.com/gpu" for t in gpu["tolerations"])
    assert "nvidia.com/gpu" not in json.dumps(components["inference-cpu"]["spec"]["template"]["spec"]["containers"])
    # Beat is a singleton: one replica, Recreate, and nothing that scales or budgets it.
    beat = components["beat"]
    assert beat["spec"]["replicas"] == 1 and beat["spec"]["strategy"]["type"] == "Recreate"
    beat_name = beat["metadata"]["name"]
    assert beat_name not in {o["spec"]["scaleTargetRef"]["name"] for o in _by_kind(docs, "ScaledObject").values()}
    # Every PDB selects pods of exactly one Deployment; web and every worker class has one; beat has none.
    budgeted = set()
    for pdb in _by_kind(docs, "PodDisruptionBudget").values():
        matched = [c for c, d in components.items() if _selects(pdb["spec"]["selector"]["matchLabels"], _pod_labels(d))]
        assert len(matched) == 1, (pdb["metadata"]["name"], matched)
        budgeted.add(matched[0])
    assert budgeted == {"web", *WORKER_COMPONENTS}
    # Workers get time to drain their batch on SIGTERM; migrations run as a Job.
    for component in WORKER_COMPONENTS:
        assert components[component]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 60
    jobs = _by_kind(docs, "Job")
    assert any(c["command"][-2:] == ["migrate", "--noinput"] for j in jobs.values()
               for c in j["spec"]["template"]["spec"]["containers"])
    # Config keys the app reads exist, and production never runs with DEBUG on.
    config = next(iter(config_maps.values()))["data"]
    assert config["DEBUG"] == "False" and config["LOG_FORMAT"] == "json"
    assert {"SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "METRICS_TOKEN"} <= set(next(iter(secrets.values()))
                                                                                       ["stringData"])


def test_grafana_dashboard_only_uses_metrics_the_app_exports(db):
    from prometheus_client import REGISTRY

    import config.metrics  # noqa: F401 - registers the metrics
    from config.metrics_collectors import ScrapeTimeCollector

    dashboard = json.loads((DEPLOY / "grafana" / "modelmarket-dashboard.json").read_text())
    exported = {sample_name for metric in REGISTRY.collect() for sample_name in
                [metric.name, *(f"{metric.name}{suffix}" for suffix in ("_total", "_bucket", "_sum", "_count"))]}
    exported |= {metric.name for metric in ScrapeTimeCollector().collect()}
    used = {name for panel in dashboard["panels"] for target in panel["targets"]
            for name in re.findall(r"modelmarket_[a-z_]+", target["expr"])}
    assert len(dashboard["panels"]) >= 10
    assert used and used <= exported, used - exported
    for wanted in ("modelmarket_queue_depth", "modelmarket_batch_size_bucket", "modelmarket_ledger_postings_total",
                   "modelmarket_webhook_deliveries_total", "modelmarket_model_cache_total",
                   "modelmarket_prediction_queue_seconds_bucket", "modelmarket_model_load_seconds_bucket",
                   "modelmarket_predict_seconds_bucket", "modelmarket_workers_alive"):
        assert wanted in used, wanted


def test_vm_units_and_procfile_start_every_role():
    units = {}
    for path in sorted((DEPLOY / "vm" / "systemd").glob("*.service")):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str
        parser.read(path)
        units[path.stem] = parser
        assert parser["Service"]["ExecStart"].startswith("/opt/modelmarket/.venv/bin/"), path
        assert parser["Service"].get("EnvironmentFile") == "/etc/modelmarket/env", path
    assert {"modelmarket-web", "modelmarket-inference", "modelmarket-webhooks", "modelmarket-training",
            "modelmarket-beat", "modelmarket-migrate"} <= set(units)
    # Workers drain: SIGTERM to the main process only, enough time to finish the batch.
    inference = units["modelmarket-inference"]["Service"]
    assert inference["KillMode"] == "mixed" and int(inference["TimeoutStopSec"]) >= 60
    roles = dict(line.split(":", 1) for line in (DEPLOY / "vm" / "Procfile").read_text().splitlines()
                 if line and not line.startswith("#"))
    assert {"release", "web", "inference", "webhooks", "training", "beat"} <= set(roles)
    assert "manage.py inference_worker" in roles["inference"]
