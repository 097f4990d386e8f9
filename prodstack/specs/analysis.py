"""AnalysisTemplates that judge the canary's pods from Prometheus.

Each measurement is one of three outcomes. Both conditions guard against an empty result (no
traffic reached the canary yet) and NaN (0/0): then neither holds, the measurement is
*inconclusive*, and more than ``inconclusiveLimit`` of them pause the rollout for a human
instead of promoting or aborting on no evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prodstack import queries
from prodstack.config.canary import AnalysisConfig
from prodstack.specs.canary import CANARY_HASH_ARG

Manifest = dict[str, Any]

HAS_VALUE = "len(result) > 0 && !isNaN(result[0])"


@dataclass(frozen=True)
class Check:
    """One analysis metric: its PromQL and the threshold on ``result[0]``."""

    metric: str
    query: str
    success: str
    failure: str


def canary_labels(app_name: str, namespace: str) -> dict[str, str]:
    """Label matchers of the canary pods' series; the hash comes from the Rollout's args."""
    return {
        "job": app_name,
        "namespace": namespace,
        "rollouts_pod_template_hash": "{{args." + CANARY_HASH_ARG + "}}",
    }


def checks(
    app_name: str, namespace: str, analysis: AnalysisConfig, status_label: str = "status"
) -> dict[str, Check]:
    """The canary's checks: the alerts' queries (``prodstack.queries``) on the canary pods."""
    labels = canary_labels(app_name, namespace)
    rate = f"{analysis.min_success_rate:g}"
    latency = f"{analysis.max_p95_latency_seconds:g}"
    return {
        "success-rate": Check(
            metric="success-rate",
            query=queries.success_ratio(labels, analysis.window, status_label),
            success=f"{HAS_VALUE} && result[0] >= {rate}",
            failure=f"{HAS_VALUE} && result[0] < {rate}",
        ),
        "latency": Check(
            metric="latency-p95",
            query=queries.latency_quantile(labels, analysis.window),
            success=f"{HAS_VALUE} && result[0] <= {latency}",
            failure=f"{HAS_VALUE} && result[0] > {latency}",
        ),
    }


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
    return {"args": [{"name": CANARY_HASH_ARG}], "metrics": [metric]}
