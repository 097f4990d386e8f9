"""Canary analysis that can tell: the rendered AnalysisTemplates' queries, with the Rollout's
arguments filled in as Argo Rollouts fills them, evaluated by promtool over synthetic series;
then the rendered successCondition and failureCondition judge each result as Argo's analysis
controller does (tests/support/argo_expr.py), and the run takes the worst phase of its metrics
(Argo Rollouts utils/analysis/helpers.go ``analysisStatusOrder``).

Expected values follow Prometheus's arithmetic (a rate over samples on the window's edges is
the increase over the window's seconds; ``histogram_quantile`` interpolates in the bucket the
rank falls in); promtool checks each query's result is within 1e-9 of it, or empty.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from prodstack.config import AnalysisConfig
from prodstack.config.canary import CompareWithStable
from prodstack.config.errors import ConfigError
from prodstack.specs import analysis
from prodstack.specs.canary import CANARY_HASH_ARG, HASH_ARGS, STABLE_HASH_ARG
from prodstack.synth import ResourceGraph
from tests.conftest import stack_graph
from tests.support import promtool
from tests.support.argo_expr import phase
from tests.support.stacks import API, ROOT, environment, svc

NAMESPACE = "shop-production"
CANARY, STABLE = "6f7d9c8b5", "58c4d7f9b"
EVAL_MINUTE = 10
RUN_ORDER = ("Successful", "Inconclusive", "Failed")  # best to worst (Running etc. aside)
TOLERANCE = 1e-9


# --- what the rendered templates hold ------------------------------------------------------


def templates(graph: ResourceGraph, service: str = API) -> dict[str, dict[str, Any]]:
    """The service's AnalysisTemplates' metric, by template name."""
    found = {}
    for template in graph.kind("AnalysisTemplate"):
        if template.object_name.startswith(service + "-"):
            (metric,) = template.inputs["spec"]["metrics"]
            found[template.object_name] = {**metric, "args": template.inputs["spec"]["args"]}
    return found


def gate_metrics(graph: ResourceGraph, service: str = API) -> dict[str, dict[str, Any]]:
    """The gate templates' metrics by metric name; the background ones measure the same."""
    found = templates(graph, service)
    gates = {m["name"]: m for name, m in found.items() if name.endswith("-gate")}
    background = {m["name"]: m for name, m in found.items() if not name.endswith("-gate")}
    for name, metric in background.items():
        assert metric["provider"] == gates[name]["provider"], name
        conditions = ("successCondition", "failureCondition")
        assert [metric[c] for c in conditions] == [gates[name][c] for c in conditions]
    return gates


def filled(query: str) -> str:
    """The query as Argo runs it: ``{{args.*}}`` replaced by the ReplicaSets' hashes."""
    text = query.replace("{{args." + CANARY_HASH_ARG + "}}", CANARY)
    text = text.replace("{{args." + STABLE_HASH_ARG + "}}", STABLE)
    assert "{{" not in text, text
    return text


# --- synthetic pods and Prometheus's arithmetic ----------------------------------------------


@dataclass(frozen=True)
class Revision:
    """One revision's pod: requests per minute by status, every one under 100 ms."""

    hash: str
    ok: int
    errors: int = 0

    @property
    def total(self) -> int:
        return self.ok + self.errors

    def series(self, namespace: str) -> list[dict[str, str]]:
        pod = f"{API}-{self.hash}-x7k2p"
        labels = (
            f'job="{API}",namespace="{namespace}",pod="{pod}",container="{API}",'
            f'service="{API}-metrics",endpoint="metrics",instance="10.40.65.12:9090",'
            f'rollouts_pod_template_hash="{self.hash}"'
        )
        found = []
        for status, count in (("200", self.ok), ("503", self.errors)):
            if count:
                found.append(series(f'http_requests_total{{{labels},status="{status}"}}', count))
        for le in ("0.1", "0.25", "1", "+Inf"):
            bucket = f'http_request_duration_seconds_bucket{{{labels},le="{le}"}}'
            found.append(series(bucket, self.total))
        return found


def series(selector: str, per_minute: int) -> dict[str, str]:
    return {"series": selector, "values": f"0+{per_minute}x{EVAL_MINUTE + 5}"}


def rate(per_minute: int, window_seconds: float) -> float:
    """Prometheus's rate() over samples every minute that sit on the window's edges."""
    minutes = window_seconds / 60
    return (per_minute * minutes) / window_seconds


def success_ratio(revision: Revision, window_seconds: float) -> float:
    good = rate(revision.ok, window_seconds) if revision.ok else 0.0
    errors = rate(revision.errors, window_seconds) if revision.errors else None
    total = good if errors is None else good + errors
    return good / total


def p95_in_first_bucket(revision: Revision, window_seconds: float) -> float:
    """histogram_quantile(0.95, ...) with every request in the first bucket (le=0.1)."""
    count = rate(revision.total, window_seconds)
    return 0.0 + (0.1 - 0.0) * ((0.95 * count) / count)


# --- the cases --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """Pods serving traffic, and per metric the value its query returns (None: no result) and
    the phase Argo gives that measurement."""

    name: str
    revisions: Sequence[Revision]
    expected: Callable[[float], dict[str, tuple[float | None, str]]]
    run: str
    stack: str = "production"
    extra: dict[str, Any] = field(default_factory=dict)


def _production_cases() -> list[Case]:
    healthy, stable = Revision(CANARY, ok=960), Revision(STABLE, ok=2880)
    worse = Revision(CANARY, ok=994, errors=6)  # 99.4%: above minSuccessRate 99%
    low = Revision(CANARY, ok=120, errors=120)  # 4 requests/s, half of them failing
    bad_stable = Revision(STABLE, ok=2850, errors=150)  # 95%
    bad_canary = Revision(CANARY, ok=948, errors=52)  # 94.8%: 0.2 points below stable
    quiet_stable = Revision(STABLE, ok=240)  # 4 requests/s (the 75% step of a quiet hour)

    def values(
        canary: Revision, stable: Revision | None, phases: tuple[str, str, str]
    ) -> Callable[[float], dict[str, tuple[float | None, str]]]:
        def expected(window: float) -> dict[str, tuple[float | None, str]]:
            drop = (
                success_ratio(stable, window) - success_ratio(canary, window)
                if stable is not None
                else None
            )
            return {
                "success-rate": (success_ratio(canary, window), phases[0]),
                "latency-p95": (p95_in_first_bucket(canary, window), phases[1]),
                "success-rate-vs-stable": (drop, phases[2]),
            }

        return expected

    def nothing(metrics: dict[str, str]) -> Callable[[float], dict[str, tuple[float | None, str]]]:
        return lambda window: {name: (None, verdict) for name, verdict in metrics.items()}

    every = ("success-rate", "latency-p95", "success-rate-vs-stable")
    return [
        Case(
            "healthy canary: every metric Successful",
            [healthy, stable],
            values(healthy, stable, ("Successful", "Successful", "Successful")),
            run="Successful",
        ),
        Case(
            "low traffic (4 requests/s, half failing): no result, Inconclusive, never Failed",
            [low, stable],
            nothing(dict.fromkeys(every, "Inconclusive")),
            run="Inconclusive",
        ),
        Case(
            "canary 0.6 points worse than stable: only the comparison catches it, Failed",
            [worse, stable],
            values(worse, stable, ("Successful", "Successful", "Failed")),
            run="Failed",
        ),
        Case(
            "both bad: the comparison passes, minSuccessRate fails the canary",
            [bad_canary, bad_stable],
            values(bad_canary, bad_stable, ("Failed", "Successful", "Successful")),
            run="Failed",
        ),
        Case(
            "stable too quiet to compare: the comparison is Inconclusive, the rest judged",
            [healthy, quiet_stable],
            values(healthy, None, ("Successful", "Successful", "Inconclusive")),
            run="Inconclusive",
        ),
        Case(
            "no data at all: Inconclusive",
            [],
            nothing(dict.fromkeys(every, "Inconclusive")),
            run="Inconclusive",
        ),
        Case(
            "no canary series yet, stable serving: Inconclusive",
            [stable],
            nothing(dict.fromkeys(every, "Inconclusive")),
            run="Inconclusive",
        ),
    ]


def _dev_cases() -> list[Case]:
    bad = Revision(CANARY, ok=30, errors=30)  # 1 request/s, half failing
    return [
        Case(
            "dev without traffic: whenNoTraffic pass, Successful, the deploy goes on",
            [],
            lambda window: {
                "success-rate": (None, "Successful"),
                "latency-p95": (None, "Successful"),
            },
            run="Successful",
            stack="dev",
        ),
        Case(
            "dev traffic that fails is still judged: Failed",
            [bad],
            lambda window: {
                "success-rate": (success_ratio(bad, window), "Failed"),
                "latency-p95": (p95_in_first_bucket(bad, window), "Successful"),
            },
            run="Failed",
            stack="dev",
        ),
    ]


CASES = _production_cases() + _dev_cases()


def _window_seconds(metric: dict[str, Any]) -> float:
    (window,) = set(re.findall(r"\[(\d+)m\]", metric["provider"]["prometheus"]["query"]))
    return int(window) * 60.0


def _run_promtool(
    case: Case, metrics: dict[str, dict[str, Any]], namespace: str, directory: Path
) -> None:
    tests = []
    for name, metric in metrics.items():
        value, _ = case.expected(_window_seconds(metric))[name]
        query = filled(metric["provider"]["prometheus"]["query"])
        if value is None:
            expr, samples = query, []
        else:
            # Within 1e-9 of the value: floating-point rounding differs between Prometheus
            # releases (2.42 multiplies by 1/range, later ones divide).
            expr, samples = f"abs((\n{query}\n) - {value!r}) < bool {TOLERANCE}", [{"value": 1}]
        tests.append({"expr": expr, "eval_time": f"{EVAL_MINUTE}m", "exp_samples": samples})
    input_series = [s for revision in case.revisions for s in revision.series(namespace)]
    result = promtool.test_expressions(
        directory, input_series, tests, name=case.name, file_name="analysis.yaml"
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name.split(":")[0])
def test_each_case_is_measured_and_judged_as_argo_would(case: Case, tmp_path: Path) -> None:
    graph = stack_graph(case.stack)
    metrics = gate_metrics(graph)
    expected = case.expected(60.0)
    assert set(metrics) == set(expected), "every rendered metric has an expectation"
    namespace = graph.one("Rollout", API).namespace
    assert namespace is not None
    _run_promtool(case, metrics, namespace, tmp_path)
    phases = []
    for name, metric in metrics.items():
        value, verdict = case.expected(_window_seconds(metric))[name]
        result = [] if value is None else [value]
        judged = phase(metric["successCondition"], metric["failureCondition"], result)
        assert judged == verdict, (name, result)
        phases.append(judged)
    assert max(phases, key=RUN_ORDER.index) == case.run


# --- how the templates and the Rollout are wired -----------------------------------------------


def test_templates_declare_the_hashes_the_rollout_passes(production: ResourceGraph) -> None:
    rollout = production.one("Rollout", API)
    canary = rollout.inputs["spec"]["strategy"]["canary"]
    blocks = [canary["analysis"], *(s["analysis"] for s in canary["steps"] if "analysis" in s)]
    found = templates(production)
    for block in blocks:
        passed = {a["name"]: a["valueFrom"]["podTemplateHashValue"] for a in block["args"]}
        # Argo Rollouts' two values (v1alpha1 ValueFromPodTemplateHash): the new ReplicaSet's
        # hash, and the stable one's.
        assert passed == {CANARY_HASH_ARG: "Latest", STABLE_HASH_ARG: "Stable"} == HASH_ARGS
        for ref in block["templates"]:
            declared = {a["name"] for a in found[ref["templateName"]]["args"]}
            assert declared <= set(passed), ref
    comparison = found[f"{API}-success-rate-vs-stable-gate"]
    assert {a["name"] for a in comparison["args"]} == {CANARY_HASH_ARG, STABLE_HASH_ARG}
    assert [a["name"] for a in found[f"{API}-latency-gate"]["args"]] == [CANARY_HASH_ARG]


def test_without_comparison_the_rollout_passes_only_the_canary_hash() -> None:
    rollout = stack_graph("dev").one("Rollout", API)
    steps = rollout.inputs["spec"]["strategy"]["canary"]["steps"]
    (gate,) = [s["analysis"] for s in steps if "analysis" in s]
    assert [a["name"] for a in gate["args"]] == [CANARY_HASH_ARG]
    assert not any(name.endswith("-vs-stable-gate") for name in templates(stack_graph("dev")))


def test_every_query_is_guarded_by_the_minimum_request_rate(production: ResourceGraph) -> None:
    config = environment("production").services[API].app.canary.analysis
    for name, metric in gate_metrics(production).items():
        query = metric["provider"]["prometheus"]["query"]
        guards = re.findall(r"and on \(\)\n\(sum\(rate\(.*?\)\) >= ([\d.]+)\)", query)
        revisions = 2 if name == "success-rate-vs-stable" else 1
        assert guards == [f"{config.min_request_rate:g}"] * revisions, name


def test_a_minimum_of_zero_leaves_the_query_unguarded() -> None:
    (check, *_) = analysis.checks(API, NAMESPACE, AnalysisConfig(min_request_rate=0)).values()
    assert "and on ()" not in check.query


def test_no_traffic_never_fails_in_either_mode() -> None:
    for mode in ("inconclusive", "pass"):
        config = AnalysisConfig(when_no_traffic=mode, compare_with_stable=CompareWithStable())
        for check in analysis.checks(API, NAMESPACE, config).values():
            for result in ([], [math.nan]):
                verdict = phase(check.success, check.failure, result)
                assert verdict == ("Successful" if mode == "pass" else "Inconclusive")


def test_the_comparison_must_be_able_to_fail_on_its_own() -> None:
    def change(raw: dict[str, Any]) -> None:
        svc(raw)["app"]["canary"]["analysis"]["compareWithStable"] = {"maxSuccessRateDrop": 0.01}

    with pytest.raises(ConfigError, match=r"1 - minSuccessRate = 0\.01") as raised:
        environment("production", change)
    assert "app.canary.analysis.compareWithStable.maxSuccessRateDrop" in str(raised.value)


def test_shipped_stacks_analysis_settings() -> None:
    production = environment("production").services[API].app.canary.analysis
    assert production.when_no_traffic == "inconclusive"  # production's gate judges traffic
    assert production.min_request_rate >= 1 and production.compare_with_stable is not None
    dev = environment("dev")
    for service in dev.services.values():
        assert service.app.canary.analysis.when_no_traffic == "pass"


# --- the docs show the rendered queries ------------------------------------------------------


def test_the_documented_queries_are_the_production_ones(production: ResourceGraph) -> None:
    text = (ROOT / "docs" / "components" / "canary-app.md").read_text()
    section = text.split("### Queries", 1)[1].split("\n### ", 1)[0]
    documented = re.findall(r"```promql\n(.*?)\n```", section, flags=re.DOTALL)
    # In the order the Rollout's gate names its templates (the graph's order is the order the
    # engine's threads registered them in).
    rollout = next(r for r in production.kind("Rollout") if r.object_name == API)
    steps = rollout.inputs["spec"]["strategy"]["canary"]["steps"]
    (gate,) = [s["analysis"] for s in steps if "analysis" in s]
    by_template = templates(production)
    rendered = [
        by_template[t["templateName"]]["provider"]["prometheus"]["query"] for t in gate["templates"]
    ]
    assert documented == rendered
