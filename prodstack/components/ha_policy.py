"""HAPolicy: where an app's pods may run (nodes, zones) and how many a drain may take."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from prodstack.components.args import ComponentArgs, refuse_violations
from prodstack.config.autoscaling import ReplicaRange
from prodstack.config.ha import HAConfig, replica_violations
from prodstack.identity import AppIdentity
from prodstack.specs import ha as ha_spec
from prodstack.specs.pod import Scheduling


@dataclass(frozen=True, kw_only=True)
class HAPolicyArgs(ComponentArgs):
    """Inputs of an HAPolicy.

    ``replicas`` is the range the app runs at (``EnvironmentConfig.replica_range``, or
    ``ReplicaRange.fixed(n)``); a range the policy cannot protect is refused (ArgsError), as
    stack validation does.
    """

    identity: AppIdentity
    ha: HAConfig
    replicas: ReplicaRange

    def __post_init__(self) -> None:
        super().__post_init__()
        refuse_violations("HAPolicyArgs", (), replica_violations(self.ha, self.replicas))


class HAPolicy(pulumi.ComponentResource):
    """Anti-affinity and zone spread for the pod template (``scheduling``, a plain value that
    is known before the app exists: pass it as ``CanaryAppArgs(scheduling=...)``) and the
    PodDisruptionBudget over the app's stable and canary pods."""

    disruption_budget_name: pulumi.Output[str | None]
    floor: pulumi.Output[int]

    def __init__(
        self, name: str, args: HAPolicyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
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
