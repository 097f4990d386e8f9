"""Canary schedule and automated analysis settings of an app."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from prodstack.config.base import ConfigModel, Violation, raise_violations
from prodstack.config.types import (
    Duration,
    IntOrPercent,
    NonNegativeInt,
    PositiveInt,
    duration_seconds,
    is_zero,
    shown,
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


class CompareWithStable(ConfigModel):
    """Judge the canary against the stable revision as well: its success rate may be lower
    than the stable pods' (over the same window) by at most ``maxSuccessRateDrop``."""

    max_success_rate_drop: Annotated[float, Field(ge=0, lt=1)] = 0.005


WhenNoTraffic = Literal["inconclusive", "pass"]


class AnalysisConfig(ConfigModel):
    """Automated canary analysis over Prometheus; a failure aborts and rolls back.

    Queries select the canary's pods only (by their ``rollouts-pod-template-hash``). A
    measurement with no data (no traffic yet, a NaN ratio, or fewer than ``minRequestRate``
    requests per second over the window) is *inconclusive*, neither a pass nor a failure; more
    than ``inconclusiveLimit`` of them pause the rollout for a human. ``whenNoTraffic: pass``
    counts such a measurement as a success instead (an environment without traffic). With
    ``compareWithStable`` the canary's success rate must also stay close to the stable pods'.
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
    min_request_rate: Annotated[float, Field(ge=0)] = 1.0
    when_no_traffic: WhenNoTraffic = "inconclusive"
    compare_with_stable: CompareWithStable | None = None
    background: BackgroundAnalysis | None = BackgroundAnalysis()

    @model_validator(mode="after")
    def _comparison_can_fail(self) -> AnalysisConfig:
        comparison = self.compare_with_stable
        # A canary at minSuccessRate or above trails a stable revision (at most 1) by at most
        # 1 - minSuccessRate: a larger margin lets the comparison fail only when the absolute
        # threshold fails too.
        headroom = round(1 - self.min_success_rate, 9)
        if comparison is not None and comparison.max_success_rate_drop >= headroom:
            raise_violations(
                [
                    Violation(
                        ("compareWithStable", "maxSuccessRateDrop"),
                        f"must be below 1 - minSuccessRate = {headroom:g}, or the comparison "
                        "could only fail where minSuccessRate fails anyway",
                    )
                ]
            )
        return self


# The triggers of Argo Rollouts' notification catalog (manifests/notifications-install.yaml):
# "on-" and the kebab-cased reason of the event that fires it (utils/record/record.go
# translateReasonToTrigger), each sending the template of the same name.
NOTIFICATION_TRIGGERS = (
    "on-analysis-run-error",
    "on-analysis-run-failed",
    "on-analysis-run-running",
    "on-rollout-aborted",
    "on-rollout-completed",
    "on-rollout-paused",
    "on-rollout-step-completed",
    "on-rollout-updated",
    "on-scaling-replica-set",
)
DEFAULT_NOTIFICATION_TRIGGERS = (
    "on-rollout-aborted",
    "on-rollout-paused",
    "on-rollout-completed",
    "on-analysis-run-failed",
)
SUBSCRIBE_PREFIX = "notifications.argoproj.io/subscribe."
# The name part of an annotation key (after the prefix's "/"): at most 63 characters.
_ANNOTATION_NAME_MAX = 63
# notifications-engine splits the key at "." (pkg/subscriptions/annotations.go ``iterate``), so
# a service name holds none; the rest is what an annotation key allows.
_SERVICE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_]*[A-Za-z0-9])?$")


def _check_trigger(value: str) -> str:
    if value not in NOTIFICATION_TRIGGERS:
        raise ValueError(
            f"{shown(value)} is not a trigger of Argo Rollouts' notification catalog; use one of "
            + ", ".join(NOTIFICATION_TRIGGERS)
        )
    return value


def _check_service(value: str) -> str:
    if _SERVICE.match(value) is None:
        raise ValueError(
            f"{shown(value)} is not a notification service name; use letters, digits, '-' and '_' "
            "(no '.'), as in the ConfigMap's service.<name> (slack, teams, ...)"
        )
    return value


def _check_recipient(value: str) -> str:
    if not value.strip() or value != value.strip() or ";" in value:
        raise ValueError(
            f"{shown(value)} is not a recipient; write a channel, address or id without ';' and "
            "without surrounding spaces (recipients are joined with ';')"
        )
    return value


Trigger = Annotated[str, AfterValidator(_check_trigger)]
NotificationService = Annotated[str, AfterValidator(_check_service)]
Recipient = Annotated[str, AfterValidator(_check_recipient)]


class NotificationsConfig(ConfigModel):
    """Argo Rollouts notifications about the Rollout: each of ``triggers`` sends its catalog
    template to ``recipients`` through ``service`` (a ``service.<name>`` of the controller's
    ``argo-rollouts-notification-configmap``)."""

    service: NotificationService
    recipients: Annotated[tuple[Recipient, ...], Field(min_length=1)]
    triggers: Annotated[tuple[Trigger, ...], Field(min_length=1)] = DEFAULT_NOTIFICATION_TRIGGERS

    @model_validator(mode="after")
    def _rules(self) -> NotificationsConfig:
        violations: list[Violation] = []
        for field, values in (("recipients", self.recipients), ("triggers", self.triggers)):
            for index, value in enumerate(values):
                if value in values[:index]:
                    violations.append(Violation((field, index), f"{shown(value)} is listed twice"))
        prefix = SUBSCRIBE_PREFIX.split("/", 1)[1] + max(self.triggers, key=len) + "."
        if len(prefix + self.service) > _ANNOTATION_NAME_MAX:
            violations.append(
                Violation(
                    ("service",),
                    f"too long: the annotation key's name {prefix + self.service!r} has "
                    f"{len(prefix + self.service)} characters, Kubernetes allows "
                    f"{_ANNOTATION_NAME_MAX}; with these triggers the service name may have "
                    f"{_ANNOTATION_NAME_MAX - len(prefix)}",
                )
            )
        raise_violations(violations)
        return self


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
    notifications: NotificationsConfig | None = None
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
