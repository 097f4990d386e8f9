"""The rendered PrometheusRules, proven with promtool: ``check rules`` on every stack's rules,
and ``test rules`` unit tests (tests/promtool/*.yaml) on the production stack's rules.

The unit tests run against the rules file generated from the rendered PrometheusRule's
``spec.groups``, as the Prometheus Operator would write it. They also fail on the reference's
alert expressions, which shows they can tell a working alert from a broken one.
"""

from __future__ import annotations

from pathlib import Path
from string import Template
from typing import Any

import pytest
import yaml

from prodstack import queries
from prodstack.config import AnalysisConfig
from prodstack.specs import analysis
from prodstack.specs.alerts import ALERT_NAMES
from prodstack.specs.canary import CANARY_HASH_ARG
from prodstack.synth import ResourceGraph
from tests.support import promtool
from tests.support.stacks import API, ROOT, environment

PROMTOOL_TESTS = sorted((ROOT / "tests" / "promtool").glob("*.yaml"))
NAMESPACE = "shop-production"
APP = API


def api_groups(production: ResourceGraph) -> list[dict[str, Any]]:
    """The rule groups of the API's PrometheusRule: the service the unit tests are about."""
    return promtool.rule_groups(production)[f"{APP}-rules"]


def _production_rules(production: ResourceGraph, directory: Path) -> Path:
    return promtool.write_rules(api_groups(production), directory / "rules.yaml")


def ha_floor(production: ResourceGraph) -> int:
    return promtool.ha_floor(api_groups(production))


def test_promtool_checks_every_rendered_rule(graph: ResourceGraph, tmp_path: Path) -> None:
    rules = promtool.rule_groups(graph)
    # Every stack here configures observability, and every service gets its own rule.
    assert sorted(rules) == sorted(f"{name}-rules" for name in environment(graph.stack).services)
    for name, groups in rules.items():
        path = promtool.write_rules(groups, tmp_path / f"{name}.yaml")
        result = promtool.run("check", "rules", path.name, cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("test_file", PROMTOOL_TESTS, ids=lambda path: path.stem)
def test_promtool_unit_tests_pass(
    test_file: Path, production: ResourceGraph, tmp_path: Path
) -> None:
    _production_rules(production, tmp_path)
    code, output = promtool.run_unit_tests(test_file, tmp_path, ha_floor(production))
    assert code == 0, output


def _alert_cases() -> dict[str, dict[str, bool]]:
    """Per alert: has a case where it fires, one where it stays silent, one with no data."""
    cases: dict[str, dict[str, bool]] = {}
    for path in PROMTOOL_TESTS:
        for group in yaml.safe_load(path.read_text())["tests"]:
            for case in group.get("alert_rule_test", []):
                seen = cases.setdefault(
                    case["alertname"], {"fires": False, "silent": False, "no data": False}
                )
                seen["fires" if case["exp_alerts"] else "silent"] = True
                if not group["input_series"]:
                    seen["no data"] = True
    return cases


def test_every_rendered_alert_has_unit_tests_that_fire_and_stay_silent(
    production: ResourceGraph,
) -> None:
    alerts = {
        rule["alert"]
        for group in api_groups(production)
        for rule in group["rules"]
        if "alert" in rule
    }
    assert alerts == set(ALERT_NAMES)
    cases = _alert_cases()
    for alert in sorted(alerts):
        assert cases.get(alert) == {"fires": True, "silent": True, "no data": True}, alert


# The reference's expressions (names adapted to the production stack): each one must fail the
# unit tests of its alert. The increase-only RolloutAborted misses a Rollout's first abort.
REFERENCE_EXPRESSIONS = {
    "HighErrorRate": (
        f'rate(http_requests_total{{job="{APP}",namespace="{NAMESPACE}",status=~"5.."}}[5m]) > 0.05'
    ),
    "HighLatency": (
        "histogram_quantile(0.95, rate(http_request_duration_seconds_bucket"
        f'{{job="{APP}",namespace="{NAMESPACE}"}}[5m])) > 1'
    ),
    "PodCrashLooping": (
        "rate(kube_pod_container_status_restarts_total"
        f'{{namespace="{NAMESPACE}",pod=~"{APP}-.*"}}[15m]) > 0'
    ),
    "LowReplicas": (
        f'kube_deployment_status_replicas_available{{deployment="{APP}",namespace="{NAMESPACE}"}}'
        " < $floor"
    ),
    "RolloutAborted": (
        "sum by (namespace, name) (increase(rollout_events_total"
        f'{{namespace="{NAMESPACE}",name="{APP}",reason="RolloutAborted"}}[15m])) > 0'
    ),
}


@pytest.mark.parametrize("alert", sorted(REFERENCE_EXPRESSIONS))
def test_unit_tests_reject_the_reference_expressions(
    alert: str, production: ResourceGraph, tmp_path: Path
) -> None:
    groups = api_groups(production)
    reference = Template(REFERENCE_EXPRESSIONS[alert]).substitute(floor=ha_floor(production))
    broken: list[dict[str, Any]] = [
        {
            **group,
            "rules": [
                {**rule, "expr": reference} if rule.get("alert") == alert else rule
                for rule in group["rules"]
            ],
        }
        for group in groups
    ]
    promtool.write_rules(broken, tmp_path / "rules.yaml")
    assert promtool.run("check", "rules", "rules.yaml", cwd=tmp_path).returncode == 0
    test_file = next(p for p in PROMTOOL_TESTS if p.stem.replace("_", "") == alert.lower())
    code, output = promtool.run_unit_tests(test_file, tmp_path, ha_floor(production))
    assert code != 0, f"the {alert} unit tests pass on the reference's expression:\n{output}"


def _series(hash_value: str, pod: str, status: str, per_minute: int) -> dict[str, str]:
    return {
        "series": (
            f'http_requests_total{{job="{APP}",namespace="{NAMESPACE}",pod="{pod}",'
            f'rollouts_pod_template_hash="{hash_value}",status="{status}"}}'
        ),
        "values": f"0+{per_minute}x20",
    }


def test_canary_analysis_is_the_alert_query_on_the_canary_pods(tmp_path: Path) -> None:
    """The analysis measures the canary's pods only, with the alerts' query, in promtool."""
    promtool.promtool()
    # Without the minimum-traffic guard (tests/test_canary_analysis.py covers it).
    config = AnalysisConfig(window="2m", min_request_rate=0)
    check = analysis.checks(APP, NAMESPACE, config)["success-rate"]
    app_labels = {"job": APP, "namespace": NAMESPACE}
    hash_value = "{{args." + CANARY_HASH_ARG + "}}"
    assert check.query == queries.success_ratio(
        {**app_labels, "rollouts_pod_template_hash": hash_value}, config.window
    )

    def canary(hash_name: str) -> str:
        return check.query.replace(hash_value, hash_name)

    alert_query = queries.error_ratio(app_labels, config.window)
    stable_pods = [
        _series("stable1", "shop-api-stable1-aaaaa", "200", 60),
        _series("stable1", "shop-api-stable1-aaaaa", "500", 60),  # stable at 50% errors
    ]
    test_file = {
        "rule_files": [],
        "evaluation_interval": "1m",
        "tests": [
            {
                # Per-minute counts that make exact per-second rates (promtool compares exactly).
                "name": "canary at 25% errors beside a stable revision at 50%",
                "interval": "1m",
                "input_series": [
                    *stable_pods,
                    _series("canary1", "shop-api-canary1-bbbbb", "200", 90),
                    _series("canary1", "shop-api-canary1-bbbbb", "500", 30),
                ],
                "promql_expr_test": [
                    {
                        "expr": canary("canary1"),
                        "eval_time": "10m",
                        "exp_samples": [{"value": 0.75}],
                    },
                    # The alert's query over both revisions: (60 + 30) / 240 = 37.5% errors.
                    {"expr": alert_query, "eval_time": "10m", "exp_samples": [{"value": 0.375}]},
                ],
            },
            {
                "name": "a canary that fails every request scores 0, not inconclusive",
                "interval": "1m",
                "input_series": [
                    *stable_pods,
                    _series("canary1", "shop-api-canary1-bbbbb", "503", 30),
                ],
                "promql_expr_test": [
                    {"expr": canary("canary1"), "eval_time": "10m", "exp_samples": [{"value": 0}]}
                ],
            },
            {
                "name": "no canary traffic yet: no result (inconclusive), whatever the stable does",
                "interval": "1m",
                "input_series": stable_pods,
                "promql_expr_test": [
                    {"expr": canary("canary1"), "eval_time": "10m", "exp_samples": []}
                ],
            },
        ],
    }
    (tmp_path / "analysis.yaml").write_text(yaml.safe_dump(test_file, sort_keys=False))
    result = promtool.run("test", "rules", "analysis.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
