"""The Grafana dashboard: valid JSON the sidecar picks up, laid out on Grafana's grid, and every
panel on the metric contract (or on the DORA series recorded from it)."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from prodstack import metric_contract as mc
from prodstack.config import parse_environment
from prodstack.specs import dora
from prodstack.specs.dashboard import UID_MAX, dashboard_uid
from prodstack.synth import ResourceGraph
from tests.support.promql import metric_names
from tests.support.stacks import raw_config

ALLOWED = mc.contract_series() | set(dora.RECORDED)


def dashboard(graph: ResourceGraph) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ConfigMap's metadata and its parsed dashboard."""
    (config_map,) = [c for c in graph.kind("ConfigMap") if c.object_name.endswith("-dashboard")]
    data = config_map.inputs["data"]
    (text,) = data.values()
    return dict(config_map.inputs["metadata"]), json.loads(text)


def panels(model: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in model["panels"] if p["type"] != "row"]


def expressions(model: dict[str, Any]) -> list[str]:
    return [t["expr"] for panel in panels(model) for t in panel["targets"]]


def test_dashboard_config_map_is_labelled_for_the_grafana_sidecar(graph: ResourceGraph) -> None:
    env = parse_environment(raw_config(graph.stack))
    assert env.observability is not None
    metadata, model = dashboard(graph)
    assert metadata["labels"].items() >= env.observability.dashboard.labels.items()
    assert metadata["name"] == f"{env.app.name}-dashboard"
    assert model["uid"] == dashboard_uid(env.app.name, env.namespace)


def test_every_panel_expression_parses_and_reads_only_the_contract(graph: ResourceGraph) -> None:
    _, model = dashboard(graph)
    exprs = expressions(model)
    assert exprs
    for expr in exprs:
        names = metric_names(expr)
        assert names, expr
        assert names <= ALLOWED, (expr, names - ALLOWED)


def test_recorded_series_read_only_the_contract(production: ResourceGraph) -> None:
    (rule,) = production.kind("PrometheusRule")
    recorded: set[str] = set()
    for group in rule.inputs["spec"]["groups"]:
        for item in group["rules"]:
            names = metric_names(item["expr"])
            assert names <= mc.contract_series() | recorded, (item, names)
            if "record" in item:
                recorded.add(item["record"])
    assert recorded == set(dora.RECORDED)


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
    (rule,) = production.kind("PrometheusRule")
    exprs = expressions(model) + [
        item["expr"] for group in rule.inputs["spec"]["groups"] for item in group["rules"]
    ]
    read = set().union(*(metric_names(e) for e in exprs))
    for metric in mc.CONTRACT:
        assert read & set(metric.series_names()), metric.name


def test_panels_use_the_datasource_variable_and_fit_the_grid(graph: ResourceGraph) -> None:
    _, model = dashboard(graph)
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


def test_threshold_lines_are_the_alert_thresholds(production: ResourceGraph) -> None:
    env = parse_environment(raw_config("production"))
    assert env.observability is not None
    alerts = env.observability.alerts
    _, model = dashboard(production)
    by_title = {p["title"]: p for p in panels(model)}

    def line(title: str) -> float:
        steps = by_title[title]["fieldConfig"]["defaults"]["thresholds"]["steps"]
        return float(steps[-1]["value"])

    assert line("Errors (5xx share)") == alerts.high_error_rate.threshold
    assert line("Latency (p95)") == alerts.high_latency.threshold_seconds
    (rule,) = production.kind("PrometheusRule")
    (low,) = [
        r
        for g in rule.inputs["spec"]["groups"]
        for r in g["rules"]
        if r.get("alert") == "LowReplicas"
    ]
    assert low["expr"].endswith(f"< {line('Available replicas'):g}")


def test_backup_panels_only_when_backups_are_watched(graph: ResourceGraph) -> None:
    env = parse_environment(raw_config(graph.stack))
    assert env.observability is not None
    _, model = dashboard(graph)
    read = set().union(*(metric_names(e) for e in expressions(model)))
    assert (mc.CRONJOB_LAST_SUCCESS.name in read) == env.observability.backup_alerts


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
