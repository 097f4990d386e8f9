"""Graph tests of Observability: what the ServiceMonitor scrapes, the labels series end up with,
the PrometheusRule's alerts, and the component used on its own."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from prodstack import AppIdentity, BackupJobs, Observability, ObservabilityArgs
from prodstack.config import ObservabilityConfig, parse_environment
from prodstack.labels import POD_TEMPLATE_HASH
from prodstack.specs.alerts import ALERT_NAMES, runbook_url
from prodstack.synth import Resource, ResourceGraph, synthesize
from tests.support.stacks import raw_config

BASE_URL = "https://git.example.com/platform/prodstack/blob/main/"


def selects(selector: dict[str, str], object_labels: dict[str, str]) -> bool:
    return bool(selector) and all(object_labels.get(k) == v for k, v in selector.items())


def pod_template(graph: ResourceGraph) -> dict[str, Any]:
    return dict(graph.one("Rollout").inputs["spec"]["template"])


def metrics_service(graph: ResourceGraph) -> Resource:
    return graph.one("Service", "shop-api-metrics")


def alert_rules(graph: ResourceGraph) -> list[dict[str, Any]]:
    (rule,) = graph.kind("PrometheusRule")
    return [r for g in rule.inputs["spec"]["groups"] for r in g["rules"] if "alert" in r]


def test_metrics_service_covers_stable_and_canary_pods(graph: ResourceGraph) -> None:
    service = metrics_service(graph)
    rollout = graph.one("Rollout").inputs["spec"]
    canary = rollout["strategy"]["canary"]
    # Argo narrows the Services the Rollout names to one revision; this one it does not know.
    assert service.object_name not in {canary["stableService"], canary["canaryService"]}
    assert service.inputs["spec"]["selector"] == rollout["selector"]["matchLabels"]
    assert selects(service.inputs["spec"]["selector"], pod_template(graph)["metadata"]["labels"])


def test_metrics_port_reaches_the_containers_metrics_port(graph: ResourceGraph) -> None:
    env = parse_environment(raw_config(graph.stack))
    (port,) = metrics_service(graph).inputs["spec"]["ports"]
    assert port == {"name": "metrics", "port": env.app.metrics_port, "targetPort": "metrics",
                    "protocol": "TCP"}  # fmt: skip
    container = pod_template(graph)["spec"]["containers"][0]
    assert {"name": "metrics", "containerPort": env.app.metrics_port, "protocol": "TCP"} in (
        container["ports"]
    )


def test_service_monitor_selects_only_the_metrics_service(graph: ResourceGraph) -> None:
    monitor = graph.one("ServiceMonitor").inputs
    selector = monitor["spec"]["selector"]["matchLabels"]
    selected = [
        s.object_name
        for s in graph.kind("Service")
        if s.namespace in monitor["spec"]["namespaceSelector"]["matchNames"]
        and selects(selector, s.inputs["metadata"]["labels"])
    ]
    assert selected == ["shop-api-metrics"]
    ports = {p["name"] for p in metrics_service(graph).inputs["spec"]["ports"]}
    assert {e["port"] for e in monitor["spec"]["endpoints"]} <= ports


def test_series_carry_the_job_namespace_and_template_hash_the_queries_select(
    graph: ResourceGraph,
) -> None:
    env = parse_environment(raw_config(graph.stack))
    monitor = graph.one("ServiceMonitor").inputs["spec"]
    service_labels = metrics_service(graph).inputs["metadata"]["labels"]
    # jobLabel: the Service label whose value becomes `job` (else the Service's name).
    assert service_labels[monitor["jobLabel"]] == env.app.name
    assert monitor["podTargetLabels"] == [POD_TEMPLATE_HASH]
    for template in graph.kind("AnalysisTemplate"):
        query = template.inputs["spec"]["metrics"][0]["provider"]["prometheus"]["query"]
        # Prometheus turns the pod label's dashes into underscores.
        assert f'job="{env.app.name}"' in query
        assert f'namespace="{env.namespace}"' in query
        assert "rollouts_pod_template_hash=" in query
    high_error_rate = next(r for r in alert_rules(graph) if r["alert"] == "HighErrorRate")
    assert f'job="{env.app.name}",namespace="{env.namespace}"' in high_error_rate["expr"]


def test_prometheus_selects_the_monitor_and_the_rules(graph: ResourceGraph) -> None:
    env = parse_environment(raw_config(graph.stack))
    assert env.observability is not None
    wanted = env.observability.prometheus_labels
    for kind in ("ServiceMonitor", "PrometheusRule"):
        assert graph.one(kind).inputs["metadata"]["labels"].items() >= wanted.items(), kind


def test_alerts_carry_severity_team_and_a_runbook(graph: ResourceGraph) -> None:
    env = parse_environment(raw_config(graph.stack))
    assert env.observability is not None
    rules = alert_rules(graph)
    expected = set(ALERT_NAMES) if env.observability.backup_alerts else set(ALERT_NAMES[:5])
    assert {r["alert"] for r in rules} == expected
    for rule in rules:
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert rule["labels"]["team"] in {env.app.team, env.observability.platform_team}
        assert rule["labels"]["namespace"] == env.namespace
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        assert rule["annotations"]["runbook_url"] == runbook_url(
            env.observability.runbook_base_url, rule["alert"]
        )


def test_production_severities_and_floor(production: ResourceGraph) -> None:
    rules = {r["alert"]: r for r in alert_rules(production)}
    assert rules["HighErrorRate"]["labels"]["severity"] == "critical"
    assert rules["HighErrorRate"]["for"] == "5m"
    assert rules["HighLatency"]["labels"]["severity"] == "warning"
    assert rules["HighLatency"]["for"] == "10m"
    assert rules["PodCrashLooping"]["labels"]["severity"] == "critical"
    assert "rollout_info_replicas_available" in rules["LowReplicas"]["expr"]
    assert "kube_deployment" not in rules["LowReplicas"]["expr"]


def test_dev_watches_no_backups(graph: ResourceGraph) -> None:
    env = parse_environment(raw_config(graph.stack))
    assert env.observability is not None
    names = {r["alert"] for r in alert_rules(graph)}
    assert ("BackupMissing" in names) == env.observability.backup_alerts


def test_component_conventions(production: ResourceGraph) -> None:
    (component,) = production.of_type("prodstack:index:Observability")
    children = production.children(component)
    assert {c.kind for c in children} == {
        "Service",
        "ServiceMonitor",
        "PrometheusRule",
        "ConfigMap",
    }
    for child in children:
        assert child.name.startswith(f"{component.name}-")
        assert child.namespace == "shop-production"
    monitor = production.one("ServiceMonitor")
    assert metrics_service(production).urn in monitor.dependencies


def _standalone(**overrides: Any) -> ResourceGraph:
    def program() -> None:
        import pulumi_kubernetes as k8s

        provider = k8s.Provider("other-cluster", kubeconfig="{}")
        args: dict[str, Any] = {
            "identity": AppIdentity(name="orders", namespace="orders"),
            "config": ObservabilityConfig(runbook_base_url=BASE_URL),
            "team": "payments",
            "min_available_replicas": 2,
            **overrides,
        }
        Observability(
            "orders-monitoring",
            ObservabilityArgs(**args),
            opts=pulumi.ResourceOptions(providers={"kubernetes": provider}),
        )

    return synthesize(program, stack="standalone")


def test_standalone_use_and_providers_reach_the_children() -> None:
    graph = _standalone()
    objects = graph.kubernetes_objects()
    assert {o.kind for o in objects} == {"Service", "ServiceMonitor", "PrometheusRule", "ConfigMap"}
    assert all(o.provider and "other-cluster" in o.provider for o in objects)
    rules = alert_rules(graph)
    assert {r["alert"] for r in rules} == set(ALERT_NAMES[:5])
    assert all(r["labels"]["team"] in {"payments", "platform"} for r in rules)
    assert graph.one("ServiceMonitor").inputs["metadata"]["labels"]["release"] == (
        "kube-prometheus-stack"
    )


def test_backup_alerts_watch_the_cronjobs_named() -> None:
    graph = _standalone(backups=BackupJobs(backup="orders-pg-backup", restore_check="orders-pg-rc"))
    rules = {r["alert"]: r for r in alert_rules(graph)}
    assert 'cronjob="orders-pg-backup"' in rules["BackupMissing"]["expr"]
    assert 'job_name=~"orders-pg-rc-.+"' in rules["BackupRestoreCheckFailed"]["expr"]
    only_backup = _standalone(backups=BackupJobs(backup="orders-pg-backup"))
    assert "BackupRestoreCheckFailed" not in {r["alert"] for r in alert_rules(only_backup)}


def test_dashboard_can_be_turned_off_or_moved() -> None:
    off = ObservabilityConfig(runbook_base_url=BASE_URL, dashboard={"enabled": False})
    assert not _standalone(config=off).kind("ConfigMap")
    moved = ObservabilityConfig(
        runbook_base_url=BASE_URL,
        dashboard={"namespace": "monitoring", "labels": {"grafana_dashboard": "orders"}},
    )
    config_map = _standalone(config=moved).one("ConfigMap").inputs["metadata"]
    assert config_map["namespace"] == "monitoring"
    assert config_map["labels"]["grafana_dashboard"] == "orders"


def test_a_floor_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ObservabilityArgs(
            identity=AppIdentity(name="orders", namespace="orders"),
            config=ObservabilityConfig(runbook_base_url=BASE_URL),
            team="payments",
            min_available_replicas=0,
        )
