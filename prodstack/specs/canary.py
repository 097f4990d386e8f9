"""The Argo Rollouts canary strategy: weighted steps, pauses, gates and background analysis."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from prodstack.config.app import AppConfig
from prodstack.config.canary import MANUAL, CanaryConfig, CanaryStep
from prodstack.config.types import duration_seconds

Manifest = dict[str, Any]

CANARY_HASH_ARG = "canary-hash"


@dataclass(frozen=True)
class AnalysisRefs:
    """AnalysisTemplate names: the background set runs indefinitely, the gate set a fixed count."""

    background: Sequence[str]
    gate: Sequence[str]


def argo_steps_for(step: CanaryStep, gate_templates: Sequence[str]) -> list[Manifest]:
    """One configured step as Argo steps: setWeight, then pause, then the gate analysis."""
    steps: list[Manifest] = [{"setWeight": step.weight}]
    if step.pause == MANUAL:
        steps.append({"pause": {}})
    elif step.pause is not None:
        steps.append({"pause": {"duration": step.pause}})
    if step.analysis:
        steps.append({"analysis": analysis_block(gate_templates)})
    return steps


def argo_steps(canary: CanaryConfig, gate_templates: Sequence[str]) -> list[Manifest]:
    return [s for step in canary.steps for s in argo_steps_for(step, gate_templates)]


def argo_step_index(canary: CanaryConfig, configured_step: int) -> int:
    """Argo step index of the setWeight that starts ``canary.steps[configured_step]``."""
    return sum(len(argo_steps_for(step, ("x",))) for step in canary.steps[:configured_step])


def analysis_block(templates: Sequence[str]) -> Manifest:
    """Templates plus the argument that points their queries at the newest (canary) pods."""
    return {
        "templates": [{"templateName": name} for name in templates],
        "args": [{"name": CANARY_HASH_ARG, "valueFrom": {"podTemplateHashValue": "Latest"}}],
    }


def canary_strategy(
    canary: CanaryConfig,
    *,
    stable_service: str,
    canary_service: str,
    analysis: AnalysisRefs,
) -> Manifest:
    """``spec.strategy.canary`` of the Rollout."""
    strategy: Manifest = {
        "stableService": stable_service,
        "canaryService": canary_service,
        "maxSurge": canary.max_surge,
        "maxUnavailable": canary.max_unavailable,
        "steps": argo_steps(canary, analysis.gate),
    }
    background = canary.analysis.background
    if background is not None and analysis.background:
        block = analysis_block(analysis.background)
        block["startingStep"] = argo_step_index(canary, background.start_with_step)
        strategy["analysis"] = block
    return strategy


# pulumi-kubernetes' await annotations (v4.18+; provider/pkg/metadata/annotations.go). A
# custom resource is not awaited unless told what to wait for.
WAIT_FOR = "pulumi.com/waitFor"
TIMEOUT_SECONDS = "pulumi.com/timeoutSeconds"
ROLLOUT_HEALTHY = "jsonpath={.status.phase}=Healthy"
AWAIT_MARGIN_SECONDS = 300


def rollout_timeout_seconds(app: AppConfig) -> int:
    """How long a healthy canary takes at most: every pause and gate analysis, a start-up
    budget for the pods of each step and of the promotion, and a margin."""
    canary = app.canary
    analysis = canary.analysis
    startup = app.probes.startup
    start_budget = (
        startup.initial_delay_seconds + startup.period_seconds * startup.failure_threshold
    )
    seconds = AWAIT_MARGIN_SECONDS + (len(canary.steps) + 1) * start_budget
    for step in canary.steps:
        if step.pause is not None and step.pause != MANUAL:
            seconds += duration_seconds(step.pause)
        if step.analysis:
            seconds += analysis.gate_measurements * duration_seconds(analysis.interval)
    return seconds


def rollout_await_annotations(app: AppConfig) -> dict[str, str]:
    """Make ``pulumi up`` wait until the Rollout is Healthy: an aborted or stuck canary fails
    the update when the timeout derived from the schedule runs out (the provider has no
    expression for failing sooner). A schedule with a manual pause waits for a person, so
    ``pulumi up`` does not wait on it."""
    if any(step.pause == MANUAL for step in app.canary.steps):
        return {}
    return {WAIT_FOR: ROLLOUT_HEALTHY, TIMEOUT_SECONDS: str(rollout_timeout_seconds(app))}
