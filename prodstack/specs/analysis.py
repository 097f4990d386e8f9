"""AnalysisTemplates that judge the canary's pods from Prometheus.

Each measurement is one of three outcomes. A query returns nothing while the canary (or, when
compared, the stable revision) served fewer than ``minRequestRate`` requests per second over
the window, and nothing or NaN (0/0) before any traffic; both conditions guard against that, so
neither holds and the measurement is *inconclusive*: more than ``inconclusiveLimit`` of them
pause the rollout for a human instead of promoting or aborting on no evidence. With
``whenNoTraffic: pass`` (environments without traffic) such a measurement counts as a success
instead; a measured value is judged the same either way.

Every metric of a run must pass: Argo Rollouts ends an AnalysisRun with the worst phase of its
metrics (utils/analysis/helpers.go ``analysisStatusOrder``: Failed is worse than Inconclusive,
which is worse than Successful), so with ``compareWithStable`` a canary as bad as a bad stable
revision still fails on the absolute threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prodstack import queries
from prodstack.config.canary import AnalysisConfig
from prodstack.names import STABLE_COMPARISON_CHECK
from prodstack.specs.canary import CANARY_HASH_ARG, STABLE_HASH_ARG

Manifest = dict[str, Any]

# Argo Rollouts evaluates conditions with expr-lang, whose ``&&`` and ``||`` short-circuit (one
# compiler setting for both), so ``result[0]`` is only read when there is one.
HAS_VALUE = "len(result) > 0 && !isNaN(result[0])"
NO_VALUE = "len(result) == 0 || isNaN(result[0])"


@dataclass(frozen=True)
class Check:
    """One analysis metric: its PromQL, the threshold on ``result[0]``, and the pod template
    hashes (Rollout arguments) the query reads."""

    metric: str
    query: str
    success: str
    failure: str
    args: tuple[str, ...] = (CANARY_HASH_ARG,)


def pod_labels(app_name: str, namespace: str, hash_arg: str = CANARY_HASH_ARG) -> dict[str, str]:
    """Label matchers of one revision's pods; the hash comes from the Rollout's args."""
    return {
        "job": app_name,
        "namespace": namespace,
        "rollouts_pod_template_hash": "{{args." + hash_arg + "}}",
    }


def conditions(analysis: AnalysisConfig, passing: str, failing: str) -> tuple[str, str]:
    """(successCondition, failureCondition) for a measured value; no value is inconclusive, or
    a success with ``whenNoTraffic: pass``. It is never a failure."""
    failure = f"{HAS_VALUE} && {failing}"
    if analysis.when_no_traffic == "pass":
        return f"{NO_VALUE} || {passing}", failure
    return f"{HAS_VALUE} && {passing}", failure


def checks(
    app_name: str, namespace: str, analysis: AnalysisConfig, status_label: str = "status"
) -> dict[str, Check]:
    """The canary's checks: the alerts' queries (``prodstack.queries``) on the canary pods,
    each only while they served ``minRequestRate``; with ``compareWithStable``, the drop of
    the canary's success rate below the stable pods' (both with that much traffic)."""
    canary = pod_labels(app_name, namespace, CANARY_HASH_ARG)
    stable = pod_labels(app_name, namespace, STABLE_HASH_ARG)
    window, minimum = analysis.window, analysis.min_request_rate
    rate = f"{analysis.min_success_rate:g}"
    latency = f"{analysis.max_p95_latency_seconds:g}"
    found = {
        "success-rate": Check(
            "success-rate",
            queries.with_traffic(
                queries.success_ratio(canary, window, status_label), [canary], window, minimum
            ),
            *conditions(analysis, f"result[0] >= {rate}", f"result[0] < {rate}"),
        ),
        "latency": Check(
            "latency-p95",
            queries.with_traffic(
                queries.latency_quantile(canary, window), [canary], window, minimum
            ),
            *conditions(analysis, f"result[0] <= {latency}", f"result[0] > {latency}"),
        ),
    }
    comparison = analysis.compare_with_stable
    if comparison is not None:
        drop = f"{comparison.max_success_rate_drop:g}"
        found[STABLE_COMPARISON_CHECK] = Check(
            STABLE_COMPARISON_CHECK,
            queries.with_traffic(
                queries.success_ratio_drop(stable, canary, window, status_label),
                [canary, stable],
                window,
                minimum,
            ),
            *conditions(analysis, f"result[0] <= {drop}", f"result[0] > {drop}"),
            args=(CANARY_HASH_ARG, STABLE_HASH_ARG),
        )
    return found


def analysis_template_spec(check: Check, analysis: AnalysisConfig, *, gate: bool) -> Manifest:
    """A template with one metric. ``gate``: a fixed number of measurements that block a step;
    otherwise it measures until the rollout completes (background analysis)."""
    metric: Manifest = {
        "name": check.metric,
        "interval": analysis.interval,
        "successCondition": check.success,
        "failureCondition": check.failure,
        "failureLimit": analysis.failure_limit,
        "inconclusiveLimit": analysis.inconclusive_limit,
        "provider": {
            "prometheus": {
                "address": analysis.prometheus_address,
                "query": check.query,
                "timeout": 30,
            }
        },
    }
    if gate:
        metric["count"] = analysis.gate_measurements
    return {"args": [{"name": arg} for arg in check.args], "metrics": [metric]}
