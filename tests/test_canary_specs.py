"""Pure spec builders of the canary: steps, strategy, analysis templates, pod template."""

from __future__ import annotations

import itertools
import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from prodstack.config import AnalysisConfig, CanaryConfig, CanaryStep
from prodstack.specs import analysis
from prodstack.specs.canary import (
    AnalysisRefs,
    argo_step_index,
    argo_steps,
    canary_strategy,
)
from tests.support.argo_expr import phase

GATE = ["app-success-rate-gate", "app-latency-gate"]


@st.composite
def canaries(draw: st.DrawFn) -> CanaryConfig:
    weights = sorted(draw(st.sets(st.integers(min_value=1, max_value=99), min_size=1, max_size=8)))
    steps = [
        CanaryStep(
            weight=w,
            pause=draw(
                st.one_of(st.none(), st.just("manual"), st.sampled_from(["30s", "2m", "1h"]))
            ),
            analysis=draw(st.booleans()),
        )
        for w in weights
    ]
    start = draw(st.integers(min_value=0, max_value=len(steps) - 1))
    return CanaryConfig(
        steps=tuple(steps),
        analysis=AnalysisConfig(background={"start_with_step": start}),
    )


@given(canaries())
def test_argo_weights_are_the_configured_ones_in_order(canary: CanaryConfig) -> None:
    steps = argo_steps(canary, GATE)
    weights = [s["setWeight"] for s in steps if "setWeight" in s]
    assert weights == [s.weight for s in canary.steps]
    assert all(a < b for a, b in itertools.pairwise(weights))
    assert all(0 < w < 100 for w in weights)


@given(canaries())
def test_every_configured_step_expands_to_weight_pause_gate(canary: CanaryConfig) -> None:
    steps = argo_steps(canary, GATE)
    position = 0
    for step in canary.steps:
        assert steps[position] == {"setWeight": step.weight}
        position += 1
        if step.pause is not None:
            expected = {} if step.pause == "manual" else {"duration": step.pause}
            assert steps[position] == {"pause": expected}
            position += 1
        if step.analysis:
            names = [t["templateName"] for t in steps[position]["analysis"]["templates"]]
            assert names == GATE
            position += 1
    assert position == len(steps)


@given(canaries())
def test_background_analysis_starts_at_the_configured_weight(canary: CanaryConfig) -> None:
    strategy = canary_strategy(
        canary,
        stable_service="app",
        canary_service="app-canary",
        analysis=AnalysisRefs(background=["app-success-rate"], gate=GATE),
    )
    assert canary.analysis.background is not None
    start = strategy["analysis"]["startingStep"]
    configured = canary.steps[canary.analysis.background.start_with_step]
    assert strategy["steps"][start] == {"setWeight": configured.weight}
    # Monotonic: a later configured step never maps to an earlier Argo step.
    indices = [argo_step_index(canary, i) for i in range(len(canary.steps))]
    assert indices == sorted(set(indices))


def test_reference_schedule_matches_the_reference_text() -> None:
    canary = CanaryConfig(
        steps=(
            CanaryStep(weight=5, pause="2m"),
            CanaryStep(weight=10, pause="2m", analysis=True),
            CanaryStep(weight=25, pause="5m"),
            CanaryStep(weight=50, pause="10m"),
            CanaryStep(weight=75, pause="10m"),
        ),
    )
    shape = [next(iter(step)) for step in argo_steps(canary, GATE)]
    assert shape == [
        "setWeight", "pause", "setWeight", "pause", "analysis",
        "setWeight", "pause", "setWeight", "pause", "setWeight", "pause",
    ]  # fmt: skip
    assert argo_step_index(canary, 1) == 2  # the reference's startingStep: 2


def _templates(config: AnalysisConfig) -> dict[str, dict[str, Any]]:
    checks = analysis.checks("app", "prod", config)
    return {
        name: analysis.analysis_template_spec(check, config, gate=False)["metrics"][0]
        for name, check in checks.items()
    }


def test_queries_select_only_the_canary_pods() -> None:
    for metric in _templates(AnalysisConfig()).values():
        query = metric["provider"]["prometheus"]["query"]
        assert 'rollouts_pod_template_hash="{{args.canary-hash}}"' in query
        assert 'job="app"' in query and 'namespace="prod"' in query


def test_latency_sums_buckets_by_le_before_the_quantile() -> None:
    query = _templates(AnalysisConfig())["latency"]["provider"]["prometheus"]["query"]
    # The measured expression, before the minimum-traffic guard (`and on () ...`).
    assert query.removeprefix("(\n").startswith("histogram_quantile(0.95, sum by (le) (rate(")


@given(
    st.floats(min_value=0.5, max_value=0.999),
    st.one_of(st.floats(min_value=0, max_value=1), st.just(math.nan)),
)
def test_success_rate_measurement_phases(threshold: float, value: float) -> None:
    metric = _templates(AnalysisConfig(min_success_rate=threshold))["success-rate"]
    judged = phase(metric["successCondition"], metric["failureCondition"], [value])
    if math.isnan(value):
        assert judged == "Inconclusive"
    elif value >= float(f"{threshold:g}"):
        assert judged == "Successful"
    else:
        assert judged == "Failed"


def test_no_data_is_inconclusive_not_a_verdict() -> None:
    for metric in _templates(AnalysisConfig()).values():
        success, failure = metric["successCondition"], metric["failureCondition"]
        assert phase(success, failure, []) == "Inconclusive"  # no traffic yet: empty vector
        assert phase(success, failure, [math.nan]) == "Inconclusive"  # 0/0


def test_latency_measurement_phases() -> None:
    metric = _templates(AnalysisConfig(max_p95_latency_seconds=0.5))["latency"]
    success, failure = metric["successCondition"], metric["failureCondition"]
    assert phase(success, failure, [0.2]) == "Successful"
    assert phase(success, failure, [0.5]) == "Successful"
    assert phase(success, failure, [0.75]) == "Failed"


def test_gate_templates_measure_a_fixed_count_background_ones_run_on() -> None:
    config = AnalysisConfig(gate_measurements=4, interval="30s")
    check = analysis.checks("app", "prod", config)["success-rate"]
    gate = analysis.analysis_template_spec(check, config, gate=True)["metrics"][0]
    background = analysis.analysis_template_spec(check, config, gate=False)["metrics"][0]
    assert (gate["count"], gate["interval"]) == (4, "30s")
    assert "count" not in background and background["interval"] == "30s"
    for metric in (gate, background):
        assert metric["failureLimit"] == config.failure_limit
        assert metric["inconclusiveLimit"] == config.inconclusive_limit
