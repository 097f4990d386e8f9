"""The Argo Rollouts canary strategy: weighted steps, pauses, gates and background analysis."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from prodstack.config.app import AppConfig
from prodstack.config.canary import MANUAL, CanaryConfig, CanaryStep
from prodstack.config.types import duration_seconds

Manifest = dict[str, Any]

CANARY_HASH_ARG = "canary-hash"
STABLE_HASH_ARG = "stable-hash"
# Argo Rollouts sets these from the new and the stable ReplicaSet's rollouts-pod-template-hash
# (utils/analysis/factory.go BuildArgumentsForRolloutAnalysisRun; v1alpha1 Latest and Stable).
HASH_ARGS = {CANARY_HASH_ARG: "Latest", STABLE_HASH_ARG: "Stable"}


@dataclass(frozen=True)
class AnalysisRefs:
    """AnalysisTemplate names: the background set runs indefinitely, the gate set a fixed count."""

    background: Sequence[str]
    gate: Sequence[str]


def argo_steps_for(
    step: CanaryStep, gate_templates: Sequence[str], args: Sequence[str] = (CANARY_HASH_ARG,)
) -> list[Manifest]:
    """One configured step as Argo steps: setWeight, then pause, then the gate analysis."""
    steps: list[Manifest] = [{"setWeight": step.weight}]
    if step.pause == MANUAL:
        steps.append({"pause": {}})
    elif step.pause is not None:
        steps.append({"pause": {"duration": step.pause}})
    if step.analysis:
        steps.append({"analysis": analysis_block(gate_templates, args)})
    return steps


def hash_args(canary: CanaryConfig) -> tuple[str, ...]:
    """The pod template hashes the analysis reads: the canary's, and the stable revision's
    when it is compared with it."""
    if canary.analysis.compare_with_stable is None:
        return (CANARY_HASH_ARG,)
    return (CANARY_HASH_ARG, STABLE_HASH_ARG)


def argo_steps(canary: CanaryConfig, gate_templates: Sequence[str]) -> list[Manifest]:
    args = hash_args(canary)
    return [s for step in canary.steps for s in argo_steps_for(step, gate_templates, args)]


def argo_step_index(canary: CanaryConfig, configured_step: int) -> int:
    """Argo step index of the setWeight that starts ``canary.steps[configured_step]``."""
    return sum(len(argo_steps_for(step, ("x",))) for step in canary.steps[:configured_step])


def analysis_block(templates: Sequence[str], args: Sequence[str] = (CANARY_HASH_ARG,)) -> Manifest:
    """Templates plus the arguments that point their queries at the newest (canary) pods and,
    for the comparison, at the stable ones."""
    return {
        "templates": [{"templateName": name} for name in templates],
        "args": [
            {"name": arg, "valueFrom": {"podTemplateHashValue": HASH_ARGS[arg]}} for arg in args
        ],
    }


def canary_strategy(
    canary: CanaryConfig,
    *,
    stable_service: str,
    canary_service: str,
    analysis: AnalysisRefs,
    traffic_routing: Manifest | None = None,
) -> Manifest:
    """``spec.strategy.canary`` of the Rollout. With ``traffic_routing`` (the ALB's), weights
    are set on the load balancer: ``maxSurge``/``maxUnavailable`` do not apply (Argo Rollouts
    docs/features/canary: they shape the basic canary only) and the scale options do."""
    strategy: Manifest = {
        "stableService": stable_service,
        "canaryService": canary_service,
        "steps": argo_steps(canary, analysis.gate),
    }
    if traffic_routing is None:
        strategy["maxSurge"] = canary.max_surge
        strategy["maxUnavailable"] = canary.max_unavailable
    else:
        strategy["trafficRouting"] = traffic_routing
        if canary.dynamic_stable_scale:
            strategy["dynamicStableScale"] = True
        if canary.abort_scale_down_delay_seconds is not None:
            strategy["abortScaleDownDelaySeconds"] = canary.abort_scale_down_delay_seconds
    background = canary.analysis.background
    if background is not None and analysis.background:
        block = analysis_block(analysis.background, hash_args(canary))
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


def surge_pods(max_surge: int | str, replicas: int) -> int:
    """``maxSurge`` in pods: a percentage of the replicas rounded up (Argo Rollouts
    utils/replicaset ``resolveFenceposts``)."""
    if isinstance(max_surge, int):
        return max_surge
    return math.ceil(replicas * int(max_surge.rstrip("%")) / 100)


def basic_canary_pods(replicas: int, weight: int, max_surge: int) -> tuple[int, int]:
    """(canary, stable) pods Argo Rollouts runs for ``weight`` without a traffic router: of
    ``replicas`` (or one more when it may surge) the count closest to the weight, the larger on a
    tie, and never 0 of either for a weight of 1-99 above one replica (Argo Rollouts
    utils/replicaset/canary.go ``approximateWeightedCanaryStableReplicaCounts``). Traffic
    follows the pods: the canary's share is canary / (canary + stable)."""
    if replicas == 0:
        return 0, 0
    exact = replicas * weight / 100
    ceil, floor = math.ceil(exact), math.floor(exact)
    zero_allowed = weight in (0, 100) or (replicas == 1 and max_surge == 0)

    def tied(total: int) -> bool:
        return math.modf(total * weight / 100)[0] == 0.5

    options: list[tuple[int, int]] = []
    if ceil < replicas or zero_allowed:
        options.append((ceil, replicas))
    if not tied(replicas) and (floor != 0 or zero_allowed):
        options.append((floor, replicas))
    if max_surge > 0:
        options.append((ceil, replicas + 1))
        if not tied(replicas + 1) and (floor != 0 or zero_allowed):
            options.append((floor, replicas + 1))
    if not options:
        return 0, replicas
    best = min(options, key=lambda o: (abs(o[0] * 100 / o[1] - weight), options.index(o)))
    return best[0], best[1] - best[0]


@dataclass(frozen=True)
class StepTraffic:
    """What one step of a canary really sends to the canary at a replica count."""

    weight: int
    canary_pods: int
    stable_pods: int
    canary_percent: float


def traffic_per_step(
    canary: CanaryConfig, replicas: int, *, routed: bool = False
) -> list[StepTraffic]:
    """Each step's real split: the weight itself with a traffic router (the ALB), else the pod
    ratio (with the router, the canary runs ceil(weight x replicas / 100) pods beside all of
    stable's, or fewer stable ones with dynamicStableScale)."""
    found = []
    for step in canary.steps:
        if routed:
            canary_pods = math.ceil(step.weight * replicas / 100)
            stable_pods = (
                math.ceil((100 - step.weight) * replicas / 100)
                if canary.dynamic_stable_scale
                else replicas
            )
            found.append(StepTraffic(step.weight, canary_pods, stable_pods, float(step.weight)))
            continue
        surge = surge_pods(canary.max_surge, replicas)
        canary_pods, stable_pods = basic_canary_pods(replicas, step.weight, surge)
        share = 100 * canary_pods / (canary_pods + stable_pods)
        found.append(StepTraffic(step.weight, canary_pods, stable_pods, round(share, 1)))
    return found
