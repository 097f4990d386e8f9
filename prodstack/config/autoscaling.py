"""Horizontal autoscaling of the app's Rollout: replica bounds, metric targets, scaling behavior."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field, model_validator

from prodstack.config.base import ConfigModel, Violation, raise_violations
from prodstack.config.types import NonNegativeInt, PositiveInt

Path = tuple[str | int, ...]

# The HPA API's own bounds (autoscaling/v2 validation).
MAX_STABILIZATION_SECONDS = 3600
MAX_POLICY_PERIOD_SECONDS = 1800

Utilization = Annotated[int, Field(ge=1, le=100)]


class ScalingPolicy(ConfigModel):
    """At most ``value`` pods (``Pods``) or ``value`` percent of the current count (``Percent``)
    may be added or removed per ``periodSeconds``."""

    type: Literal["Pods", "Percent"]
    value: PositiveInt
    period_seconds: Annotated[int, Field(ge=1, le=MAX_POLICY_PERIOD_SECONDS)] = 60


class ScalingRules(ConfigModel):
    """One direction of scaling: how long a recommendation must hold, and how fast to move."""

    stabilization_window_seconds: Annotated[NonNegativeInt, Field(le=MAX_STABILIZATION_SECONDS)] = 0
    policies: Annotated[tuple[ScalingPolicy, ...], Field(min_length=1)]
    select_policy: Literal["Max", "Min", "Disabled"] = "Max"


class ScalingBehavior(ConfigModel):
    """The usual setup's behavior: scale up fast (after 60 s, by 50 % or 10 pods a minute,
    whichever is more), scale down slowly (after 5 min, by 10 % a minute)."""

    scale_up: ScalingRules = ScalingRules(
        stabilization_window_seconds=60,
        policies=(
            ScalingPolicy(type="Percent", value=50, period_seconds=60),
            ScalingPolicy(type="Pods", value=10, period_seconds=60),
        ),
        select_policy="Max",
    )
    scale_down: ScalingRules = ScalingRules(
        stabilization_window_seconds=300,
        policies=(ScalingPolicy(type="Percent", value=10, period_seconds=60),),
        select_policy="Min",
    )


class RequestsMetric(ConfigModel):
    """A per-pod custom metric (requests per second) served by prometheus-adapter.

    Opt-in: without the adapter rule that produces it (docs/components/autoscaling.md), the
    metric is unavailable, and an HPA with an unavailable metric still scales up on the others
    but never scales down.
    """

    name: Annotated[str, Field(pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")] = "http_requests_per_second"
    average_value: Annotated[float, Field(gt=0, le=1_000_000)] = 50


class AutoscalingConfig(ConfigModel):
    """An ``autoscaling/v2`` HorizontalPodAutoscaler that owns the Rollout's replica count."""

    min_replicas: PositiveInt = 2
    max_replicas: PositiveInt = 10
    cpu_utilization: Utilization | None = 70
    memory_utilization: Utilization | None = 80
    requests_per_second: RequestsMetric | None = None
    behavior: ScalingBehavior = ScalingBehavior()

    @model_validator(mode="after")
    def _rules(self) -> AutoscalingConfig:
        violations = []
        if self.min_replicas > self.max_replicas:
            violations.append(
                Violation(
                    ("minReplicas",),
                    f"{self.min_replicas} is above maxReplicas {self.max_replicas}",
                )
            )
        if (
            self.cpu_utilization is None
            and self.memory_utilization is None
            and self.requests_per_second is None
        ):
            violations.append(
                Violation(
                    ("cpuUtilization",),
                    "the HPA needs at least one metric: set cpuUtilization, memoryUtilization "
                    "or requestsPerSecond",
                )
            )
        raise_violations(violations)
        return self


@dataclass(frozen=True)
class ReplicaRange:
    """The replica counts the app can run at, and the configuration keys that set them (so
    that errors about the range name the key to change)."""

    minimum: int
    maximum: int
    minimum_key: Path = ("replicas", "minimum")
    maximum_key: Path = ("replicas", "maximum")

    @classmethod
    def fixed(cls, replicas: int, key: Path = ("replicas",)) -> ReplicaRange:
        """A count that no autoscaler changes."""
        return cls(replicas, replicas, key, key)


def replica_range(app_replicas: int, autoscaling: AutoscalingConfig | None) -> ReplicaRange:
    """The HPA's bounds when autoscaling is configured, else the fixed ``app.replicas``."""
    if autoscaling is not None:
        return ReplicaRange(
            autoscaling.min_replicas,
            autoscaling.max_replicas,
            ("autoscaling", "minReplicas"),
            ("autoscaling", "maxReplicas"),
        )
    return ReplicaRange.fixed(app_replicas, ("app", "replicas"))
