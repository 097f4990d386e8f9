"""High availability: spreading pods over nodes and zones, and a disruption budget.

The *HA floor* is the fewest replicas the HA policy needs: with a PodDisruptionBudget it is the
budget's number plus one (``minAvailable + 1``, or ``maxUnavailable + 1``), the smallest count
at which a node drain can evict a pod *and* at least one pod keeps serving. Without a budget it
is 1. The stack refuses a replica minimum (``autoscaling.minReplicas``, or ``app.replicas``
without autoscaling) below the floor.
"""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from prodstack.config.autoscaling import ReplicaRange
from prodstack.config.base import ConfigModel, Violation, raise_violations
from prodstack.config.types import PositiveInt

Path = tuple[str | int, ...]


class DisruptionBudgetConfig(ConfigModel):
    """A ``policy/v1`` PodDisruptionBudget over the app's pods, stable and canary alike.

    ``maxUnavailable`` (default 1) scales with the replica count the HPA chooses;
    ``minAvailable`` is a fixed number of pods. Set one of them, not both.
    """

    max_unavailable: PositiveInt | None = None
    min_available: PositiveInt | None = None
    unhealthy_pod_eviction_policy: Literal["AlwaysAllow", "IfHealthyBudget"] = "AlwaysAllow"

    @property
    def field(self) -> Literal["minAvailable", "maxUnavailable"]:
        return "minAvailable" if self.min_available is not None else "maxUnavailable"

    @property
    def value(self) -> int:
        if self.min_available is not None:
            return self.min_available
        return self.max_unavailable if self.max_unavailable is not None else 1

    @property
    def floor(self) -> int:
        """Fewest replicas at which a drain may evict a pod and one pod still serves."""
        return self.value + 1

    def available_at(self, replicas: int) -> int:
        """Pods the budget keeps running through voluntary disruptions at ``replicas``."""
        if self.min_available is not None:
            return min(self.min_available, replicas)
        return max(replicas - self.value, 0)

    @model_validator(mode="after")
    def _one_form(self) -> DisruptionBudgetConfig:
        if self.min_available is not None and self.max_unavailable is not None:
            raise_violations(
                [
                    Violation(
                        ("minAvailable",),
                        "set minAvailable or maxUnavailable, not both (Kubernetes accepts one)",
                    )
                ]
            )
        return self


class ZoneSpreadConfig(ConfigModel):
    """A topology spread constraint over ``topology.kubernetes.io/zone``, per revision."""

    max_skew: PositiveInt = 1
    when_unsatisfiable: Literal["DoNotSchedule", "ScheduleAnyway"] = "DoNotSchedule"
    min_domains: PositiveInt | None = None

    @model_validator(mode="after")
    def _min_domains_needs_do_not_schedule(self) -> ZoneSpreadConfig:
        if self.min_domains is not None and self.when_unsatisfiable != "DoNotSchedule":
            raise_violations(
                [
                    Violation(
                        ("minDomains",),
                        "Kubernetes accepts minDomains only with whenUnsatisfiable: DoNotSchedule",
                    )
                ]
            )
        return self


class HAConfig(ConfigModel):
    """Anti-affinity over nodes and zones, zone spread, and a disruption budget.

    ``nodeAntiAffinity: required`` puts at most one pod of a revision on a node; it needs
    ``nodeCount`` (the nodes the app can schedule on) to be at least the maximum replica
    count, or the pods beyond it never schedule.
    """

    node_anti_affinity: Literal["preferred", "required"] = "preferred"
    node_count: PositiveInt | None = None
    zone_spread: ZoneSpreadConfig | None = ZoneSpreadConfig()
    disruption_budget: DisruptionBudgetConfig | None = DisruptionBudgetConfig()

    @property
    def floor(self) -> int:
        """The HA floor (see the module docstring)."""
        return 1 if self.disruption_budget is None else self.disruption_budget.floor

    @model_validator(mode="after")
    def _required_needs_node_count(self) -> HAConfig:
        if self.node_anti_affinity == "required" and self.node_count is None:
            raise_violations(
                [
                    Violation(
                        ("nodeCount",),
                        "required node anti-affinity needs the number of nodes the app can "
                        "schedule on (at least the maximum replicas); declare it, or use "
                        "nodeAntiAffinity: preferred",
                    )
                ]
            )
        return self


def _key(path: Path) -> str:
    return ".".join(str(part) for part in path)


def replica_violations(
    ha: HAConfig, replicas: ReplicaRange, ha_key: Path = ("ha",)
) -> list[Violation]:
    """Where the replica range and the HA policy contradict each other, keyed from the root."""
    violations: list[Violation] = []
    budget = ha.disruption_budget
    if budget is not None:
        budget_key = (*ha_key, "disruptionBudget")
        if replicas.maximum < 2:
            violations.append(
                Violation(
                    budget_key,
                    f"refused: at most {replicas.maximum} replica can run "
                    f"({_key(replicas.maximum_key)}), and a disruption budget over one pod "
                    "either blocks every node drain or guarantees nothing; set "
                    f"{_key(budget_key)}: null, or run at least 2 replicas",
                )
            )
        elif replicas.minimum < budget.floor:
            form = f"{_key((*budget_key, budget.field))} {budget.value}"
            harm = (
                "blocks every voluntary disruption (node drains hang)"
                if budget.field == "minAvailable"
                else "lets a drain evict every pod"
            )
            violations.append(
                Violation(
                    replicas.minimum_key,
                    f"must be at least {budget.floor}, the HA floor ({form} + 1): at "
                    f"{replicas.minimum} replicas the budget {harm}",
                )
            )
    nodes = ha.node_count
    if ha.node_anti_affinity == "required" and nodes is not None and nodes < replicas.maximum:
        violations.append(
            Violation(
                (*ha_key, "nodeCount"),
                f"{nodes} nodes cannot hold {replicas.maximum} replicas "
                f"({_key(replicas.maximum_key)}) with required node anti-affinity; pods "
                "beyond one per node would never schedule. Declare at least "
                f"{replicas.maximum} nodes, lower {_key(replicas.maximum_key)}, or use "
                "nodeAntiAffinity: preferred",
            )
        )
    return violations
