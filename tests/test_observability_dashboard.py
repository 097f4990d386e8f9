"""The Grafana dashboard: valid JSON the sidecar picks up, laid out on Grafana's grid, and every
panel on the metric contract (or on the DORA series recorded from it)."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from prodstack import metric_contract as mc
from prodstack.plan import ServicePlan, plan_environment
from prodstack.specs import dora
from prodstack.specs.dashboard import UID_MAX, dashboard_uid
from prodstack.synth import ResourceGraph
from tests.support.promql import metric_names
from tests.support.stacks import API, environment

ALLOWED = mc.contract_series() | set(dora.RECORDED)


def dashboard(graph: ResourceGraph, service: str = API) -> tuple[dict[str, Any], dict[str, Any]]:
    """A service's dashboard ConfigMap: its metadata and its parsed dashboard."""
    config_map = graph.one("ConfigMap", f"{service}-dashboard")
    data = config_map.inputs["data"]
    (text,) = data.values()
    return dict(config_map.inputs["metadata"]), json.loads(text)


def watched(graph: ResourceGraph) -> list[ServicePlan]:
    """The stack's services that are monitored (all of them, in the stacks here)."""
    services = [s for s in plan_environment(environment(graph.stack)).services if s.observability]
    assert services
    return services


def rule_groups(graph: ResourceGraph, service: str = API) -> list[dict[str, Any]]:
    return list(graph.one("PrometheusRule", f"{service}-rules").inputs["spec"]["groups"])


def panels(model: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in model["panels"] if p["type"] != "row"]


def expressions(model: dict[str, Any]) -> list[str]:
    return [t["expr"] for panel in panels(model) for t in panel["targets"]]


def test_dashboard_config_map_is_labelled_for_the_grafana_sidecar(graph: ResourceGraph) -> None:
    uids = set()
    for plan in watched(graph):
        assert plan.observability is not None
        metadata, model = dashboard(graph, plan.name)
        assert metadata["labels"].items() >= plan.observability.dashboard.labels.items()
        assert metadata["name"] == f"{plan.name}-dashboard"
        assert metadata["namespace"] == plan.namespace
        assert model["uid"] == dashboard_uid(plan.name, plan.namespace)
        uids.add(model["uid"])
    assert len(uids) == len(watched(graph))  # one dashboard per service, none overwritten


def test_every_panel_expression_parses_and_reads_only_the_contract(graph: ResourceGraph) -> None:
    for plan in watched(graph):
        _, model = dashboard(graph, plan.name)
        exprs = expressions(model)
        assert exprs
        for expr in exprs:
            names = metric_names(expr)
            assert names, expr
            assert names <= ALLOWED, (expr, names - ALLOWED)
            assert f'namespace="{plan.namespace}"' in expr, expr  # this service's series


def test_recorded_series_read_only_the_contract(graph: ResourceGraph) -> None:
    for plan in watched(graph):
        recorded: set[str] = set()
        for group in rule_groups(graph, plan.name):
            for item in group["rules"]:
                names = metric_names(item["expr"])
                assert names <= mc.contract_series() | recorded, (item, names)
                if "record" in item:
                    recorded.add(item["record"])
        assert recorded == set(dora.RECORDED), plan.name


def test_dashboard_shows_golden_signals_rollout_autoscaler_and_backups(
    production: ResourceGraph,
) -> None:
    _, model = dashboard(production)
    read = set().union(*(metric_names(e) for e in expressions(model)))
    wanted = {
        mc.HTTP_REQUESTS.name,  # traffic and errors
        mc.HTTP_DURATION.name + "_bucket",  # latency
        mc.HPA_CURRENT.name,  # saturation: autoscaler replicas
        mc.HPA_MAX.name,
        mc.ROLLOUT_INFO.name,  # rollout state
        mc.ROLLOUT_AVAILABLE.name,
        mc.RESTARTS.name,
        mc.CRONJOB_LAST_SUCCESS.name,  # backup freshness
        mc.JOB_STATUS_FAILED.name,
        dora.DEPLOYMENTS_1D,
        dora.CHANGE_FAILURE_RATE_7D,
    }
    assert wanted <= read, wanted - read


def test_every_contract_metric_is_read_by_an_alert_analysis_or_panel(
    production: ResourceGraph,
) -> None:
    _, model = dashboard(production)
    exprs = expressions(model) + [
        item["expr"] for group in rule_groups(production) for item in group["rules"]
    ]
    read = set().union(*(metric_names(e) for e in exprs))
    for metric in mc.CONTRACT:
        assert read & set(metric.series_names()), metric.name


def test_panels_use_the_datasource_variable_and_fit_the_grid(graph: ResourceGraph) -> None:
    for plan in watched(graph):
        _, model = dashboard(graph, plan.name)
        check_layout(model)


def check_layout(model: dict[str, Any]) -> None:
    variables = {v["name"]: v for v in model["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    ids = [p["id"] for p in model["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in model["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        area = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not area & cells, f"{panel['title']} overlaps another panel"
        cells |= area
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}"
            assert all(t["datasource"]["uid"] == "${datasource}" for t in panel["targets"])
            assert len({t["refId"] for t in panel["targets"]}) == len(panel["targets"])


def test_threshold_lines_are_the_alert_thresholds(graph: ResourceGraph) -> None:
    for plan in watched(graph):
        assert plan.config.observability is not None
        alerts = plan.config.observability.alerts
        _, model = dashboard(graph, plan.name)
        by_title = {p["title"]: p for p in panels(model)}

        def line(title: str, by_title: dict[str, Any] = by_title) -> float:
            steps = by_title[title]["fieldConfig"]["defaults"]["thresholds"]["steps"]
            return float(steps[-1]["value"])

        assert line("Errors (5xx share)") == alerts.high_error_rate.threshold
        assert line("Latency (p95)") == alerts.high_latency.threshold_seconds
        (low,) = [
            r
            for g in rule_groups(graph, plan.name)
            for r in g["rules"]
            if r.get("alert") == "LowReplicas"
        ]
        assert low["expr"].endswith(f"< {line('Available replicas'):g}")


def test_backup_panels_only_when_backups_are_watched(graph: ResourceGraph) -> None:
    for plan in watched(graph):
        _, model = dashboard(graph, plan.name)
        read = set().union(*(metric_names(e) for e in expressions(model)))
        assert (mc.CRONJOB_LAST_SUCCESS.name in read) == plan.backup_alerts, plan.name


_dns_label = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", fullmatch=True)


@given(_dns_label, _dns_label, _dns_label, _dns_label)
def test_dashboard_uids_are_short_stable_and_distinct(
    app: str, namespace: str, other_app: str, other_namespace: str
) -> None:
    uid = dashboard_uid(app, namespace)
    assert len(uid) <= UID_MAX
    assert re.fullmatch(r"[A-Za-z0-9_-]+", uid)
    assert uid == dashboard_uid(app, namespace)
    if (other_app, other_namespace) != (app, namespace):
        assert dashboard_uid(other_app, other_namespace) != uid
