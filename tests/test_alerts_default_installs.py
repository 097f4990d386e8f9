"""Alerts, recording rules and dashboard panels that read exporters' series work on default
installs: promtool over series labelled exactly as they arrive there.

- The argo-rollouts Helm chart's ServiceMonitor (argo-helm charts/argo-rollouts 2.41.0,
  templates/controller/servicemonitor.yaml) sets no honorLabels: the controller's series get
  the scrape target's job, instance, service, endpoint, pod, container and namespace (the
  Prometheus Operator's relabelling, pkg/prometheus/promcfg.go), and the Rollout's namespace
  moves to ``exported_namespace``.
- kube-prometheus-stack (88.5.3, values.yaml ``kube-state-metrics.prometheus.monitor.http
  .honorLabels: true``) keeps kube-state-metrics' namespace, pod and container; the
  kube-state-metrics chart alone (8.4.0, honorLabels false by default) renames them
  ``exported_*``.

The unit tests are tests/promtool/default_installs/*.yaml, run on the production stack's
shop-api rules as the Prometheus Operator writes them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from prodstack import metric_contract as mc
from prodstack.specs import dora
from prodstack.synth import ResourceGraph
from tests.support import promtool
from tests.support.promql import metric_names
from tests.support.stacks import API, ROOT

NAMESPACE = "shop-production"
TEST_FILES = sorted((ROOT / "tests" / "promtool" / "default_installs").glob("*.yaml"))
EXPORTER_SERIES = frozenset(
    name for metric in mc.CONTRACT if metric.source != "app" for name in metric.series_names()
)
EXPORTER_ALERTS = {
    "LowReplicas",
    "RolloutAborted",
    "PodCrashLooping",
    "BackupMissing",
    "BackupRestoreCheckFailed",
}
RENAMED_NAMESPACE = f'{mc.RENAMED_PREFIX}namespace="{NAMESPACE}"'


def api_rule_groups(production: ResourceGraph) -> list[dict[str, Any]]:
    return promtool.rule_groups(production)[f"{API}-rules"]


def run_unit_tests(
    test_file: Path, groups: list[dict[str, Any]], directory: Path
) -> tuple[int, str]:
    promtool.write_rules(groups, directory / "rules.yaml")
    return promtool.run_unit_tests(test_file, directory, promtool.ha_floor(groups))


def _cases() -> list[tuple[str, dict[str, Any]]]:
    return [
        (path.stem, case)
        for path in TEST_FILES
        for case in yaml.safe_load(path.read_text())["tests"]
    ]


def _labels(series: str) -> dict[str, str]:
    return dict(re.findall(r'(\w+)="([^"]*)"', series.split("{", 1)[1]))


@pytest.mark.parametrize("test_file", TEST_FILES, ids=lambda path: path.stem)
def test_unit_tests_pass_on_default_install_labels(
    test_file: Path, production: ResourceGraph, tmp_path: Path
) -> None:
    code, output = run_unit_tests(test_file, api_rule_groups(production), tmp_path)
    assert code == 0, output


@pytest.mark.parametrize("test_file", TEST_FILES, ids=lambda path: path.stem)
def test_rules_reading_only_kept_labels_fail_them(
    test_file: Path, production: ResourceGraph, tmp_path: Path
) -> None:
    """Rules that never match a renamed namespace (what they were before) fail every file:
    each has a case the default installs' renamed labels decide."""
    groups = api_rule_groups(production)
    unmatchable = f'{mc.RENAMED_PREFIX}namespace="not-{NAMESPACE}"'
    kept_only = [
        {
            **group,
            "rules": [
                {**rule, "expr": rule["expr"].replace(RENAMED_NAMESPACE, unmatchable)}
                for rule in group["rules"]
            ],
        }
        for group in groups
    ]
    assert kept_only != groups
    code, output = run_unit_tests(test_file, kept_only, tmp_path)
    assert code != 0, output


def test_every_rule_reading_exporter_series_is_tested_on_renamed_labels(
    production: ResourceGraph,
) -> None:
    groups = api_rule_groups(production)
    reading = {
        r.get("alert") or r["record"]
        for g in groups
        for r in g["rules"]
        if metric_names(r["expr"]) & EXPORTER_SERIES
    }
    assert reading >= EXPORTER_ALERTS
    fired_renamed: set[str] = set()
    recorded_renamed: set[str] = set()
    for _, case in _cases():
        renamed = any(
            f"{mc.RENAMED_PREFIX}namespace" in _labels(s["series"])
            for s in case.get("input_series") or []
        )
        if not renamed:
            continue
        fired_renamed |= {
            t["alertname"] for t in case.get("alert_rule_test", []) if t["exp_alerts"]
        }
        recorded_renamed |= {
            t["expr"] for t in case.get("promql_expr_test", []) if t["exp_samples"]
        }
    assert fired_renamed >= EXPORTER_ALERTS
    recorded = reading - EXPORTER_ALERTS
    assert recorded == {dora.DEPLOYMENTS_1D, dora.DEPLOYMENTS_7D, dora.ATTEMPTS_7D, dora.FAILED_7D}
    # The change failure rate reads the recorded series; it is tested from the same events.
    assert recorded | {dora.CHANGE_FAILURE_RATE_7D} >= recorded_renamed - {
        dora.CHANGE_FAILURE_RATE_7D
    }
    assert dora.CHANGE_FAILURE_RATE_7D in recorded_renamed


def test_the_series_carry_every_label_the_scrape_target_sets() -> None:
    """As the Prometheus Operator's ServiceMonitor relabelling sets them: no test series is
    missing one, and renamed series are renamed all together."""
    for stem, case in _cases():
        for given in case.get("input_series") or []:
            name = given["series"].split("{", 1)[0]
            if name not in EXPORTER_SERIES:
                continue
            labels = _labels(given["series"])
            assert set(mc.TARGET_LABELS) <= set(labels), (stem, given["series"])
            metric = next(m for m in mc.CONTRACT if name in m.series_names())
            renamed = {k for k in metric.target_labels if mc.RENAMED_PREFIX + k in labels}
            assert renamed in (set(), set(metric.target_labels)), (stem, given["series"])


# --- the dashboard's panels ---------------------------------------------------------------------

# The scrape targets' labels (the Prometheus Operator's relabelling): the argo-rollouts chart's
# controller in argo-rollouts; kube-state-metrics in monitoring, under kube-prometheus-stack
# (which honours its labels) or as its own chart (which does not).
CONTROLLER_TARGET = {
    "job": "argo-rollouts-metrics",
    "instance": "10.40.70.21:8090",
    "namespace": "argo-rollouts",
    "service": "argo-rollouts-metrics",
    "endpoint": "metrics",
    "pod": "argo-rollouts-6b9c5d7f84-q8w2z",
    "container": "argo-rollouts",
}
KUBE_PROMETHEUS_STACK_KSM_TARGET = {
    "job": "kube-state-metrics",
    "instance": "10.40.66.14:8080",
    "namespace": "monitoring",
    "service": "kube-prometheus-stack-kube-state-metrics",
    "endpoint": "http",
    "pod": "kube-prometheus-stack-kube-state-metrics-7d9f8c6b5-m4n7p",
    "container": "kube-state-metrics",
}
KSM_CHART_TARGET = {
    **KUBE_PROMETHEUS_STACK_KSM_TARGET,
    "service": "kube-state-metrics",
    "pod": "kube-state-metrics-5f6d8b9c7-h2j4k",
}
APP_POD = f"{API}-6d4cf56db6-x7k2p"

# metric: (its own labels, its value over 20 minutes, the panel's expected samples)
DASHBOARD_SCENARIO: dict[str, tuple[dict[str, str], str, list[tuple[dict[str, str], float]]]] = {
    mc.ROLLOUT_INFO.name: (
        {
            "namespace": NAMESPACE,
            "name": API,
            "strategy": "canary",
            "traffic_router": "ALB",
            "phase": "Progressing",
        },
        "1x20",
        [({"namespace": NAMESPACE, "name": API, "phase": "Progressing"}, 1)],
    ),
    mc.ROLLOUT_AVAILABLE.name: (
        {"namespace": NAMESPACE, "name": API},
        "5x20",
        [({"namespace": NAMESPACE, "name": API}, 5)],
    ),
    mc.RESTARTS.name: (
        {"namespace": NAMESPACE, "pod": APP_POD, "container": API, "uid": "u1"},
        "0+1x20",
        [({"namespace": NAMESPACE, "pod": APP_POD, "container": API}, 15)],
    ),
    mc.CRONJOB_LAST_SUCCESS.name: (
        {"namespace": NAMESPACE, "cronjob": f"{API}-db-backup"},
        "0x20",
        [({"namespace": NAMESPACE, "cronjob": f"{API}-db-backup"}, 1200)],
    ),
    mc.JOB_STATUS_FAILED.name: (
        {"namespace": NAMESPACE, "job_name": f"{API}-db-restore-check-28934560"},
        "2x20",
        [({"namespace": NAMESPACE, "job_name": f"{API}-db-restore-check-28934560"}, 2)],
    ),
    **{
        metric.name: (
            {"namespace": NAMESPACE, "horizontalpodautoscaler": API},
            f"{value}x20",
            [({"namespace": NAMESPACE, "horizontalpodautoscaler": API}, value)],
        )
        for metric, value in (
            (mc.HPA_CURRENT, 6),
            (mc.HPA_DESIRED, 8),
            (mc.HPA_MIN, 6),
            (mc.HPA_MAX, 100),
        )
    },
}


def _scraped(name: str, own: dict[str, str], *, renamed: bool) -> str:
    """The series as Prometheus stores it: with honorLabels its own labels win over the
    target's; without, the target's win and its own colliding ones become exported_*."""
    metric = next(m for m in mc.CONTRACT if m.name == name)
    if metric.source == "argo-rollouts":
        target = CONTROLLER_TARGET
    else:
        target = KSM_CHART_TARGET if renamed else KUBE_PROMETHEUS_STACK_KSM_TARGET
    if renamed:
        labels = {**target}
        for key, value in own.items():
            labels[mc.RENAMED_PREFIX + key if key in target else key] = value
    else:
        labels = {**target, **own}
    return name + _promql_labels(labels)


def _promql_labels(labels: dict[str, str]) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def _dashboard_targets(production: ResourceGraph) -> list[str]:
    (config_map,) = [c for c in production.kind("ConfigMap") if c.object_name == f"{API}-dashboard"]
    (text,) = config_map.inputs["data"].values()
    model = json.loads(text)
    return [
        target["expr"]
        for panel in model["panels"]
        if panel["type"] != "row"
        for target in panel["targets"]
        if metric_names(target["expr"]) & EXPORTER_SERIES
    ]


@pytest.mark.parametrize("renamed", [True, False], ids=["renamed", "kept"])
def test_dashboard_panels_show_the_same_on_either_scrape(
    renamed: bool, production: ResourceGraph, tmp_path: Path
) -> None:
    targets = _dashboard_targets(production)
    assert {m for e in targets for m in metric_names(e)} == set(DASHBOARD_SCENARIO)
    tests = []
    for expr in targets:
        (name,) = metric_names(expr)
        _, _, expected = DASHBOARD_SCENARIO[name]
        samples = [{"labels": _promql_labels(labels), "value": value} for labels, value in expected]
        tests.append({"expr": expr, "eval_time": "20m", "exp_samples": samples})
    input_series = [
        {"series": _scraped(name, labels, renamed=renamed), "values": values}
        for name, (labels, values, _) in DASHBOARD_SCENARIO.items()
    ]
    result = promtool.test_expressions(tmp_path, input_series, tests, file_name="dashboard.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_documented_low_replicas_expression_is_the_rendered_one(
    production: ResourceGraph,
) -> None:
    text = (ROOT / "docs" / "observability.md").read_text()
    section = text.split("### Exporters' labels on default installs", 1)[1].split("\n## ", 1)[0]
    (documented,) = re.findall(r"```promql\n(.*?)\n```", section, flags=re.DOTALL)
    groups = api_rule_groups(production)
    (rendered,) = [r["expr"] for g in groups for r in g["rules"] if r.get("alert") == "LowReplicas"]
    assert documented == rendered
