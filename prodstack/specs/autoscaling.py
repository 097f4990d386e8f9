"""The HorizontalPodAutoscaler of a Rollout, and the prometheus-adapter rule its custom metric
needs."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from prodstack import kinds, queries
from prodstack.config.autoscaling import (
    AutoscalingConfig,
    RequestsMetric,
    ScalingBehavior,
    ScalingRules,
)

Manifest = dict[str, Any]

ROLLOUT_API_VERSION = kinds.ROLLOUT.api_version
ADAPTER_RATE_WINDOW = "2m"


def quantity(value: float) -> str:
    """A Kubernetes quantity: whole numbers as they are, fractions in milli-units."""
    exact = Decimal(str(value))
    if exact == exact.to_integral_value():
        return str(int(exact))
    milli = (exact * 1000).to_integral_value()
    if milli <= 0:
        raise ValueError(f"{value} is below the smallest quantity, 1m (0.001)")
    return f"{milli}m"


def metrics(config: AutoscalingConfig) -> list[Manifest]:
    """Resource metrics as utilization of the pods' requests; requests/s as a per-pod average."""
    found: list[Manifest] = []
    for resource, target in (
        ("cpu", config.cpu_utilization),
        ("memory", config.memory_utilization),
    ):
        if target is not None:
            found.append(
                {
                    "type": "Resource",
                    "resource": {
                        "name": resource,
                        "target": {"type": "Utilization", "averageUtilization": target},
                    },
                }
            )
    if config.requests_per_second is not None:
        found.append(pods_metric(config.requests_per_second))
    return found


def pods_metric(metric: RequestsMetric) -> Manifest:
    return {
        "type": "Pods",
        "pods": {
            "metric": {"name": metric.name},
            "target": {"type": "AverageValue", "averageValue": quantity(metric.average_value)},
        },
    }


def scaling_rules(rules: ScalingRules) -> Manifest:
    return {
        "stabilizationWindowSeconds": rules.stabilization_window_seconds,
        "policies": [
            {"type": p.type, "value": p.value, "periodSeconds": p.period_seconds}
            for p in rules.policies
        ],
        "selectPolicy": rules.select_policy,
    }


def behavior(config: ScalingBehavior) -> Manifest:
    return {
        "scaleUp": scaling_rules(config.scale_up),
        "scaleDown": scaling_rules(config.scale_down),
    }


def rollout_ref(name: str) -> Manifest:
    """A ``scaleTargetRef`` to the Rollout ``name`` (scaled through its scale subresource)."""
    return {"apiVersion": ROLLOUT_API_VERSION, "kind": kinds.ROLLOUT.kind, "name": name}


def hpa_spec(config: AutoscalingConfig, target: Mapping[str, str] | str) -> Manifest:
    """``autoscaling/v2`` spec that scales its target (a Rollout, through its scale
    subresource): a reference ``{apiVersion, kind, name}``, or the name of a Rollout."""
    reference = rollout_ref(target) if isinstance(target, str) else dict(target)
    return {
        "scaleTargetRef": reference,
        "minReplicas": config.min_replicas,
        "maxReplicas": config.max_replicas,
        "metrics": metrics(config),
        "behavior": behavior(config.behavior),
    }


def adapter_rule(metric: RequestsMetric, window: str = ADAPTER_RATE_WINDOW) -> Manifest:
    """The prometheus-adapter rule that serves ``metric`` per pod from the app's request
    counter (``rules.custom`` in the adapter's Helm values, or ``rules:`` in its config file).

    The adapter fills ``<<.Series>>``, ``<<.LabelMatchers>>`` and ``<<.GroupBy>>`` per query.
    """
    return {
        "seriesQuery": f'{queries.REQUESTS}{{namespace!="",pod!=""}}',
        "resources": {
            "overrides": {
                "namespace": {"resource": "namespace"},
                "pod": {"resource": "pod"},
            }
        },
        "name": {"matches": f"^{queries.REQUESTS}$", "as": metric.name},
        "metricsQuery": (
            f"sum(rate(<<.Series>>{{<<.LabelMatchers>>}}[{window}])) by (<<.GroupBy>>)"
        ),
    }
