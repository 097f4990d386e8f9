"""EntryPoint: how clients outside the cluster reach a service on AWS: an NLB (a ``type:
LoadBalancer`` Service) or an ALB (an Ingress whose traffic Argo Rollouts splits)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from prodstack import kinds
from prodstack.components.args import ComponentArgs, DerivedName, names_of
from prodstack.config.load_balancer import LoadBalancerConfig
from prodstack.identity import AppIdentity
from prodstack.specs import ingress as ingress_spec
from prodstack.specs import load_balancer as lb_spec
from prodstack.specs.drain import Drain
from prodstack.specs.ingress import AlbRouting

# prodstack 0.1 created the NLB Service as a child of the service's Autoscaling component.
PREVIOUS_PARENT_TYPE = "prodstack:index:Autoscaling"


@dataclass(frozen=True, kw_only=True)
class EntryPointArgs(ComponentArgs):
    """Inputs of an EntryPoint.

    ``load_balancer`` says which (``type: nlb`` or ``alb``) and how; ``health_path`` is the
    readiness probe's path (the load balancer's health check), ``drain`` the pods' drain
    (``prodstack.specs.drain.drain``: the deregistration delay follows it). An ALB needs
    ``routing``, the same value the CanaryApp's Rollout routes through
    (``CanaryAppArgs(traffic_routing=...)``).
    """

    identity: AppIdentity
    load_balancer: LoadBalancerConfig
    health_path: str = "/ready"
    drain: Drain | None = None
    routing: AlbRouting | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.load_balancer.type == "alb" and self.routing is None:
            raise ValueError(
                "EntryPointArgs.routing: an ALB entry point needs the Rollout's traffic "
                "routing (AlbRouting: the Ingress and the root Service)"
            )
        if self.load_balancer.type == "nlb" and self.routing is not None:
            raise ValueError(
                "EntryPointArgs.routing: an NLB is L4 and routes nothing; remove routing, or "
                "use load_balancer.type: alb"
            )

    def derived_names(self) -> Iterator[DerivedName]:
        names = self.identity.names
        if self.load_balancer.type == "alb":
            yield from names_of("identity.name", [(kinds.INGRESS, names.ingress)])
        else:
            yield from names_of("identity.name", [(kinds.SERVICE, names.load_balancer_service)])


class EntryPoint(pulumi.ComponentResource):
    """An NLB Service over the app's stable and canary pods (weights are pod ratios), or an ALB
    Ingress to the root Service's action, which Argo Rollouts writes with exact weights."""

    load_balancer_hostname: pulumi.Output[str | None]
    object_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: EntryPointArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("prodstack:index:EntryPoint", name, None, opts)
        identity = args.identity
        names = identity.names
        lb = args.load_balancer
        resource: k8s.core.v1.Service | k8s.networking.v1.Ingress
        if lb.type == "alb":
            assert args.routing is not None  # checked by the args
            object_name = names.ingress
            resource = k8s.networking.v1.Ingress(
                f"{name}-alb",
                metadata=identity.metadata(
                    object_name,
                    "load-balancer",
                    annotations=ingress_spec.ingress_annotations(
                        lb, health_path=args.health_path, drain=args.drain
                    ),
                ),
                spec=ingress_spec.ingress_spec(lb, args.routing),
                opts=pulumi.ResourceOptions(parent=self),
            )
        else:
            object_name = names.load_balancer_service
            resource = k8s.core.v1.Service(
                f"{name}-nlb",
                metadata=identity.metadata(
                    object_name,
                    "load-balancer",
                    annotations=lb_spec.service_annotations(
                        lb, health_path=args.health_path, drain=args.drain
                    ),
                ),
                spec=lb_spec.service_spec(lb, identity.selector()),
                opts=pulumi.ResourceOptions(
                    parent=self,
                    aliases=[pulumi.Alias(name=f"{name}-nlb", parent=_previous_parent(name))],
                ),
            )
        self.object_name = resource.urn.apply(lambda _: object_name)
        self.load_balancer_hostname = resource.status.apply(_hostname)
        self.register_outputs(
            {
                "object_name": self.object_name,
                "load_balancer_hostname": self.load_balancer_hostname,
            }
        )


def _previous_parent(name: str) -> str:
    return (
        f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{PREVIOUS_PARENT_TYPE}::{name}"
    )


def _hostname(status: Any) -> str | None:
    """The load balancer's DNS name, once AWS has provisioned it (pulumi waits for it on
    ``up``: pulumi-kubernetes awaits a LoadBalancer Service's and an Ingress's address)."""
    ingress = (status.load_balancer.ingress if status and status.load_balancer else None) or []
    return ingress[0].hostname if ingress else None
