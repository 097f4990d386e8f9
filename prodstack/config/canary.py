"""Canary schedule and automated analysis settings of an app."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from prodstack.config.base import ConfigModel, Violation, raise_violations
from prodstack.config.types import (
    Duration,
    IntOrPercent,
    NonNegativeInt,
    PositiveInt,
    duration_seconds,
    is_zero,
)


def _check_weight(value: int) -> int:
    if not 1 <= value <= 99:
        raise ValueError(
            "must be between 1 and 99 (100% is the promotion Argo does after the last step)"
        )
    return value


def _check_pause(value: str) -> str:
    if value != MANUAL:
        duration_seconds(value)
    return value


MANUAL = "manual"
Weight = Annotated[int, AfterValidator(_check_weight)]
Pause = Annotated[str, AfterValidator(_check_pause)]


class CanaryStep(ConfigModel):
    """Shift ``weight`` percent of the pods to the new version, then wait, then optionally gate.

    ``pause`` is a duration, ``manual`` (wait for ``kubectl argo rollouts promote``) or absent.
    ``analysis: true`` runs the gate analysis (a finite number of measurements) after the pause;
    the rollout only goes on when it succeeds.
    """

    weight: Weight
    pause: Pause | None = None
    analysis: bool = False


class BackgroundAnalysis(ConfigModel):
    """Analysis that runs for the rest of the rollout once ``startWithStep`` is reached."""

    start_with_step: NonNegativeInt = 0


class AnalysisConfig(ConfigModel):
    """Automated canary analysis over Prometheus; a failure aborts and rolls back.

    Queries select the canary's pods only (by their ``rollouts-pod-template-hash``). A
    measurement with no data (no traffic yet, or a NaN ratio) is *inconclusive*, neither a pass
    nor a failure; more than ``inconclusiveLimit`` of them pause the rollout for a human.
    """

    prometheus_address: Annotated[str, Field(pattern=r"^https?://[^\s]+$")] = (
        "http://kube-prometheus-stack-prometheus.monitoring.svc:9090"
    )
    interval: Duration = "1m"
    window: Duration = "2m"
    failure_limit: NonNegativeInt = 1
    inconclusive_limit: NonNegativeInt = 2
    gate_measurements: PositiveInt = 5
    min_success_rate: Annotated[float, Field(gt=0, le=1)] = 0.99
    max_p95_latency_seconds: Annotated[float, Field(gt=0)] = 1.0
    background: BackgroundAnalysis | None = BackgroundAnalysis()


class CanaryConfig(ConfigModel):
    """The canary schedule: surge limits, weighted steps, and analysis.

    ``maxSurge`` and ``maxUnavailable`` shape the basic canary (weights as pod ratios);
    ``dynamicStableScale`` (stable scales down as the canary's weight grows, and back up at
    once on an abort) and ``abortScaleDownDelaySeconds`` need a traffic router (an ALB entry
    point): Argo Rollouts refuses them without one."""

    max_surge: IntOrPercent = "25%"
    max_unavailable: IntOrPercent = 0
    steps: Annotated[tuple[CanaryStep, ...], Field(min_length=1)]
    analysis: AnalysisConfig = AnalysisConfig()
    dynamic_stable_scale: bool = False
    abort_scale_down_delay_seconds: Annotated[int, Field(ge=0, le=3600)] | None = None

    @property
    def uses_gate(self) -> bool:
        """True when any step runs the gate analysis."""
        return any(step.analysis for step in self.steps)

    @model_validator(mode="after")
    def _rules(self) -> CanaryConfig:
        violations: list[Violation] = []
        for index in range(1, len(self.steps)):
            before, step = self.steps[index - 1].weight, self.steps[index].weight
            if step <= before:
                violations.append(
                    Violation(
                        ("steps", index, "weight"),
                        f"weights must increase strictly: {step} follows {before} "
                        f"at steps[{index - 1}]",
                    )
                )
        background = self.analysis.background
        if background is not None and background.start_with_step >= len(self.steps):
            violations.append(
                Violation(
                    ("analysis", "background", "startWithStep"),
                    f"must name one of the {len(self.steps)} steps (0 to {len(self.steps) - 1})",
                )
            )
        analysis = self.analysis
        allowed_misses = analysis.failure_limit + analysis.inconclusive_limit
        if self.uses_gate and analysis.gate_measurements <= allowed_misses:
            violations.append(
                Violation(
                    ("analysis", "gateMeasurements"),
                    f"must be above failureLimit + inconclusiveLimit = {allowed_misses}, or a gate "
                    "could pass without a single successful measurement",
                )
            )
        if is_zero(self.max_surge) and is_zero(self.max_unavailable):
            violations.append(
                Violation(
                    ("maxSurge",),
                    "maxSurge and maxUnavailable cannot both be 0: nothing could move",
                )
            )
        raise_violations(violations)
        return self
