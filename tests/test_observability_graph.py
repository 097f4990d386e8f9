"""Graph tests of Observability: what the ServiceMonitor scrapes, the labels series end up with,
the PrometheusRule's alerts, and the component used on its own."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from prodstack import AlertsConfig, AppIdentity, BackupJobs, Observability, ObservabilityArgs
from prodstack.config import ObservabilityConfig
from prodstack.labels import POD_TEMPLATE_HASH
from prodstack.plan import EnvironmentPlan, ServicePlan, plan_environment
from prodstack.specs.alerts import ALERT_NAMES, runbook_url
from prodstack.synth import Resource, ResourceGraph, synthesize
from tests.support.stacks import API, environment

BASE_URL = "https://git.example.com/platform/prodstack/blob/main/"


def selects(selector: dict[str, str], object_labels: dict[str, str]) -> bool:
    return bool(selector) and all(object_labels.get(k) == v for k, v in selector.items())


def observed(graph: ResourceGraph) -> tuple[EnvironmentPlan, list[ServicePlan]]:
    """The stack's plan and the services it watches (every service, in the stacks here)."""
    plan = plan_environment(environment(graph.stack))
    services = [s for s in plan.services if s.observability is not None]
    assert services
    return plan, services


def pod_template(graph: ResourceGraph, service: str = API) -> dict[str, Any]:
    return dict(graph.one("Rollout", service).inputs["spec"]["template"])


def metrics_service(graph: ResourceGraph, service: str = API) -> Resource:
    return graph.one("Service", f"{service}-metrics")


def alert_rules(graph: ResourceGraph, service: str | None = API) -> list[dict[str, Any]]:
    """The alerts of a service's PrometheusRule (of the only one when ``service`` is None)."""
    if service is None:
        (rule,) = graph.kind("PrometheusRule")
    else:
        rule = graph.one("PrometheusRule", f"{service}-rules")
    return [r for g in rule.inputs["spec"]["groups"] for r in g["rules"] if "alert" in r]


def test_every_service_is_watched_by_its_own_objects(graph: ResourceGraph) -> None:
    _, services = observed(graph)
    for kind, suffix in (
        ("Service", "-metrics"),
        ("ServiceMonitor", "-metrics"),
        ("PrometheusRule", "-rules"),
        ("ConfigMap", "-dashboard"),
    ):
        found = sorted(
            (r.namespace, r.object_name) for r in graph.kind(kind) if r.object_name.endswith(suffix)
        )
        assert found == sorted((s.namespace, f"{s.name}{suffix}") for s in services), kind


def test_metrics_service_covers_stable_and_canary_pods(graph: ResourceGraph) -> None:
    _, services = observed(graph)
    for plan in services:
        service = metrics_service(graph, plan.name)
        rollout = graph.one("Rollout", plan.name).inputs["spec"]
        canary = rollout["strategy"]["canary"]
        # Argo narrows the Services the Rollout names to one revision; this one it does not know.
        assert service.object_name not in {canary["stableService"], canary["canaryService"]}
        assert service.inputs["spec"]["selector"] == rollout["selector"]["matchLabels"]
        labels = pod_template(graph, plan.name)["metadata"]["labels"]
        assert selects(service.inputs["spec"]["selector"], labels)
        for other in services:
            if other.name != plan.name:
                other_labels = pod_template(graph, other.name)["metadata"]["labels"]
                assert not selects(service.inputs["spec"]["selector"], other_labels)


def test_metrics_port_reaches_the_containers_metrics_port(graph: ResourceGraph) -> None:
    _, services = observed(graph)
    for plan in services:
        metrics_port = plan.config.app.metrics_port
        (port,) = metrics_service(graph, plan.name).inputs["spec"]["ports"]
        assert port == {"name": "metrics", "port": metrics_port, "targetPort": "metrics",
                        "protocol": "TCP"}  # fmt: skip
        container = pod_template(graph, plan.name)["spec"]["containers"][0]
        assert {"name": "metrics", "containerPort": metrics_port, "protocol": "TCP"} in (
            container["ports"]
        )


def test_service_monitor_selects_only_the_metrics_service(graph: ResourceGraph) -> None:
    _, services = observed(graph)
    for plan in services:
        monitor = graph.one("ServiceMonitor", f"{plan.name}-metrics").inputs
        selector = monitor["spec"]["selector"]["matchLabels"]
        assert monitor["spec"]["namespaceSelector"]["matchNames"] == [plan.namespace]
        selected = [
            s.object_name
            for s in graph.kind("Service")
            if s.namespace in monitor["spec"]["namespaceSelector"]["matchNames"]
            and selects(selector, s.inputs["metadata"]["labels"])
        ]
        assert selected == [f"{plan.name}-metrics"]
        ports = {p["name"] for p in metrics_service(graph, plan.name).inputs["spec"]["ports"]}
        assert {e["port"] for e in monitor["spec"]["endpoints"]} <= ports


def test_series_carry_the_job_namespace_and_template_hash_the_queries_select(
    graph: ResourceGraph,
) -> None:
    _, services = observed(graph)
    for plan in services:
        name, namespace = plan.name, plan.namespace
        monitor = graph.one("ServiceMonitor", f"{name}-metrics").inputs["spec"]
        service_labels = metrics_service(graph, name).inputs["metadata"]["labels"]
        # jobLabel: the Service label whose value becomes `job` (else the Service's name).
        assert service_labels[monitor["jobLabel"]] == name
        assert monitor["podTargetLabels"] == [POD_TEMPLATE_HASH]
        templates = [t for t in graph.service_objects(name) if t.kind == "AnalysisTemplate"]
        assert templates
        for template in templates:
            query = template.inputs["spec"]["metrics"][0]["provider"]["prometheus"]["query"]
            # Prometheus turns the pod label's dashes into underscores.
            assert f'job="{name}"' in query
            assert f'namespace="{namespace}"' in query
            assert "rollouts_pod_template_hash=" in query
        high_error_rate = next(r for r in alert_rules(graph, name) if r["alert"] == "HighErrorRate")
        assert f'job="{name}",namespace="{namespace}"' in high_error_rate["expr"]


def test_prometheus_selects_the_monitor_and_the_rules(graph: ResourceGraph) -> None:
    _, services = observed(graph)
    for plan in services:
        assert plan.observability is not None
        wanted = plan.observability.prometheus_labels
        for kind, object_name in (
            ("ServiceMonitor", f"{plan.name}-metrics"),
            ("PrometheusRule", f"{plan.name}-rules"),
        ):
            labels = graph.one(kind, object_name).inputs["metadata"]["labels"]
            assert labels.items() >= wanted.items(), kind


def test_alerts_carry_severity_team_and_a_runbook(graph: ResourceGraph) -> None:
    _, services = observed(graph)
    for plan in services:
        platform = plan.observability
        assert platform is not None
        rules = alert_rules(graph, plan.name)
        expected = set(ALERT_NAMES) if plan.backup_alerts else set(ALERT_NAMES[:5])
        assert {r["alert"] for r in rules} == expected, plan.name
        for rule in rules:
            assert rule["labels"]["severity"] in {"critical", "warning", "info"}
            assert rule["labels"]["team"] in {plan.config.app.team, platform.platform_team}
            assert rule["labels"]["namespace"] == plan.namespace
            assert rule["labels"]["app"] == plan.name
            assert rule["annotations"]["summary"] and rule["annotations"]["description"]
            assert rule["annotations"]["runbook_url"] == runbook_url(
                platform.runbook_base_url, rule["alert"]
            )


def test_alert_thresholds_and_severities_are_the_services(graph: ResourceGraph) -> None:
    _, services = observed(graph)
    for plan in services:
        assert plan.config.observability is not None
        alerts = plan.config.observability.alerts
        rules = {r["alert"]: r for r in alert_rules(graph, plan.name)}
        assert rules["HighErrorRate"]["labels"]["severity"] == alerts.high_error_rate.severity
        assert rules["HighErrorRate"]["for"] == alerts.high_error_rate.for_
        assert rules["HighErrorRate"]["expr"].endswith(f"> {alerts.high_error_rate.threshold:g}")
        assert rules["HighLatency"]["labels"]["severity"] == alerts.high_latency.severity
        assert rules["HighLatency"]["for"] == alerts.high_latency.for_
        assert rules["LowReplicas"]["expr"].endswith(f"< {plan.min_available_replicas}")


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
    _, services = observed(graph)
    for plan in services:
        names = {r["alert"] for r in alert_rules(graph, plan.name)}
        assert plan.config.observability is not None
        watched = plan.config.observability.backup_alerts and plan.config.db_backup is not None
        assert ("BackupMissing" in names) == watched, plan.name
    if graph.stack == "dev":
        assert not any("BackupMissing" in str(r.inputs) for r in graph.kind("PrometheusRule"))


def test_component_conventions(production: ResourceGraph) -> None:
    _, services = observed(production)
    components = production.of_type("prodstack:index:Observability")
    assert sorted(c.name for c in components) == sorted(f"{s.name}-observability" for s in services)
    for component in components:
        plan = next(s for s in services if component.name == f"{s.name}-observability")
        children = production.children(component)
        assert {c.kind for c in children} == {
            "Service",
            "ServiceMonitor",
            "PrometheusRule",
            "ConfigMap",
        }
        for child in children:
            assert child.name.startswith(f"{component.name}-")
            assert child.namespace == plan.namespace
        monitor = production.one("ServiceMonitor", f"{plan.name}-metrics")
        assert metrics_service(production, plan.name).urn in monitor.dependencies


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
    rules = alert_rules(graph, None)
    assert {r["alert"] for r in rules} == set(ALERT_NAMES[:5])
    assert all(r["labels"]["team"] in {"payments", "platform"} for r in rules)
    assert graph.one("ServiceMonitor").inputs["metadata"]["labels"]["release"] == (
        "kube-prometheus-stack"
    )


def test_backup_alerts_watch_the_cronjobs_named() -> None:
    graph = _standalone(backups=BackupJobs(backup="orders-pg-backup", restore_check="orders-pg-rc"))
    rules = {r["alert"]: r for r in alert_rules(graph, None)}
    assert 'cronjob="orders-pg-backup"' in rules["BackupMissing"]["expr"]
    assert 'job_name=~"orders-pg-rc-.+"' in rules["BackupRestoreCheckFailed"]["expr"]
    only_backup = _standalone(backups=BackupJobs(backup="orders-pg-backup"))
    assert "BackupRestoreCheckFailed" not in {r["alert"] for r in alert_rules(only_backup, None)}


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


def test_the_services_alerts_reach_the_rules() -> None:
    alerts = AlertsConfig(
        high_error_rate={"threshold": 0.02, "for": "2m", "severity": "warning"},
        low_replicas={"severity": "info"},
    )
    rules = {r["alert"]: r for r in alert_rules(_standalone(alerts=alerts), None)}
    assert rules["HighErrorRate"]["expr"].endswith("> 0.02")
    assert rules["HighErrorRate"]["for"] == "2m"
    assert rules["HighErrorRate"]["labels"]["severity"] == "warning"
    assert rules["LowReplicas"]["labels"]["severity"] == "info"
    assert rules["LowReplicas"]["expr"].endswith("< 2")  # min_available_replicas
