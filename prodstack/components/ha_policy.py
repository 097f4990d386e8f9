"""HAPolicy: where an app's pods may run (nodes, zones) and how many a drain may take."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from prodstack.components.args import ComponentArgs
from prodstack.config.autoscaling import ReplicaRange
from prodstack.config.errors import ConfigError, format_path
from prodstack.config.ha import HAConfig, replica_violations
from prodstack.identity import AppIdentity
from prodstack.specs import ha as ha_spec
from prodstack.specs.pod import Scheduling


@dataclass(frozen=True, kw_only=True)
class HAPolicyArgs(ComponentArgs):
    """Inputs of an HAPolicy.

    ``replicas`` is the range the app runs at (``EnvironmentConfig.replica_range``, or
    ``ReplicaRange.fixed(n)``); the policy refuses a range it cannot protect (ConfigError), as
    stack validation does.
    """

    identity: AppIdentity
    ha: HAConfig
    replicas: ReplicaRange


class HAPolicy(pulumi.ComponentResource):
    """Anti-affinity and zone spread for the pod template (``scheduling``, a plain value that
    is known before the app exists: pass it as ``CanaryAppArgs(scheduling=...)``) and the
    PodDisruptionBudget over the app's stable and canary pods."""

    disruption_budget_name: pulumi.Output[str | None]
    floor: pulumi.Output[int]

    def __init__(
        self, name: str, args: HAPolicyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        violations = replica_violations(args.ha, args.replicas)
        if violations:
            raise ConfigError(
                [(format_path("HAPolicyArgs", v.path), v.message) for v in violations]
            )
        super().__init__("prodstack:index:HAPolicy", name, None, opts)
        identity = args.identity
        selector = identity.selector()

        self.scheduling: Scheduling = ha_spec.scheduling(args.ha, selector)
        self.ha_floor: int = args.ha.floor

        budget = args.ha.disruption_budget
        if budget is not None:
            object_name = identity.name
            pdb = k8s.policy.v1.PodDisruptionBudget(
                f"{name}-pdb",
                metadata=identity.metadata(object_name, "disruption-budget"),
                spec=ha_spec.disruption_budget_spec(budget, selector),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.disruption_budget_name = pdb.urn.apply(lambda _: object_name)
        else:
            self.disruption_budget_name = pulumi.Output.from_input(None)
        self.floor = pulumi.Output.from_input(self.ha_floor)
        self.register_outputs(
            {"disruption_budget_name": self.disruption_budget_name, "floor": self.floor}
        )
