"""DORA recording rules from the Argo Rollouts controller's events.

A *deployment* is a rollout that completed (``RolloutCompleted``); a *failed change* is one the
canary caught and rolled back (``RolloutAborted``). Deployment frequency is the count of
deployments per day (and per week); change failure rate is the share of attempts (completed or
aborted) within a week that aborted. Lead time and time to restore need data from outside the
cluster: docs/observability.md says how they are measured.
"""

from __future__ import annotations

from typing import Any

from prodstack import queries

Manifest = dict[str, Any]

COMPLETED = "RolloutCompleted"
ABORTED = "RolloutAborted"

DEPLOYMENTS_1D = "namespace_name:dora_deployments:increase1d"
DEPLOYMENTS_7D = "namespace_name:dora_deployments:increase7d"
ATTEMPTS_7D = "namespace_name:dora_deployment_attempts:increase7d"
FAILED_7D = "namespace_name:dora_failed_deployments:increase7d"
CHANGE_FAILURE_RATE_7D = "namespace_name:dora_change_failure_rate:ratio7d"

RECORDED = (DEPLOYMENTS_1D, DEPLOYMENTS_7D, ATTEMPTS_7D, FAILED_7D, CHANGE_FAILURE_RATE_7D)


def recording_rules(namespace: str, rollout: str) -> list[Manifest]:
    """Rules in evaluation order: later ones read what earlier ones recorded (for this Rollout
    only: other apps' rules record the same names with their own labels)."""

    def events(reasons: tuple[str, ...], window: str) -> str:
        return queries.rollout_events(namespace, rollout, reasons, window)

    own = queries.matchers({"namespace": namespace, "name": rollout})
    return [
        {"record": DEPLOYMENTS_1D, "expr": events((COMPLETED,), "1d")},
        {"record": DEPLOYMENTS_7D, "expr": events((COMPLETED,), "7d")},
        {"record": ATTEMPTS_7D, "expr": events((COMPLETED, ABORTED), "7d")},
        {
            # A Rollout that never aborted has no RolloutAborted series: 0, not nothing.
            "record": FAILED_7D,
            "expr": f"{events((ABORTED,), '7d')}\nor\n{ATTEMPTS_7D}{own} * 0",
        },
        {
            # No attempt within the week: no rate at all rather than 0/0.
            "record": CHANGE_FAILURE_RATE_7D,
            "expr": f"{FAILED_7D}{own}\n/\n({ATTEMPTS_7D}{own} > 0)",
        },
    ]


def dora_group(namespace: str, rollout: str) -> Manifest:
    return {"name": f"{rollout}.dora", "rules": recording_rules(namespace, rollout)}
