"""Autoscaling: the HorizontalPodAutoscaler of an app's Rollout and the NLB in front of it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import pulumi
import pulumi_kubernetes as k8s

from prodstack import kinds
from prodstack.components.args import ComponentArgs, DerivedName, names_of
from prodstack.config.autoscaling import AutoscalingConfig
from prodstack.config.load_balancer import LoadBalancerConfig
from prodstack.identity import AppIdentity
from prodstack.names import ServiceNames
from prodstack.specs import autoscaling as autoscaling_spec
from prodstack.specs import load_balancer as lb_spec


class ScaleTarget(Protocol):
    """What an autoscaler needs of the workload it scales (CanaryApp is one): the reference
    to it, whether its replica count is left to an autoscaler, and a resource to wait for."""

    @property
    def scale_target_ref(self) -> Mapping[str, str]: ...

    @property
    def externally_scaled(self) -> bool: ...

    @property
    def rollout(self) -> pulumi.Resource: ...


@dataclass(frozen=True, kw_only=True)
class AutoscalingArgs(ComponentArgs):
    """Inputs of an Autoscaling component.

    ``target`` is the workload the HPA scales: pass the CanaryApp itself, created with
    ``replicas=ExternallyScaled()`` (refused otherwise: ``pulumi up`` would reset the count the
    HPA chose on every update). ``autoscaling`` and ``load_balancer`` are each optional: the
    component builds what it is given.
    """

    identity: AppIdentity
    target: ScaleTarget | None = None
    autoscaling: AutoscalingConfig | None = None
    load_balancer: LoadBalancerConfig | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.autoscaling is None:
            return
        if self.target is None:
            raise ValueError("AutoscalingArgs.target: an HPA needs the workload it scales")
        if not self.target.externally_scaled:
            raise ValueError(
                "AutoscalingArgs.target: the workload sets its own replica count, which pulumi "
                "up would reset over the HPA's on every update; create it with "
                "replicas=ExternallyScaled()"
            )

    def derived_names(self) -> Iterator[DerivedName]:
        names = ServiceNames(self.identity.name, self.identity.namespace)
        yield from names_of("identity.name", [(kinds.SERVICE, names.load_balancer_service)])


class Autoscaling(pulumi.ComponentResource):
    """An ``autoscaling/v2`` HPA bound to the app's Argo Rollout, and a ``type: LoadBalancer``
    Service (an AWS NLB) over the app's stable and canary pods."""

    hpa_name: pulumi.Output[str | None]
    load_balancer_service_name: pulumi.Output[str | None]
    load_balancer_hostname: pulumi.Output[str | None]

    def __init__(
        self, name: str, args: AutoscalingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("prodstack:index:Autoscaling", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        identity = args.identity
        names = ServiceNames(identity.name, identity.namespace)
        none: pulumi.Output[Any] = pulumi.Output.from_input(None)

        self.hpa_name = none
        if args.autoscaling is not None:
            assert args.target is not None  # checked by the args
            hpa_name = names.autoscaler
            hpa = k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-hpa",
                metadata=identity.metadata(hpa_name, "autoscaler"),
                spec=autoscaling_spec.hpa_spec(args.autoscaling, args.target.scale_target_ref),
                # The HPA scales what exists: create it after its target.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[args.target.rollout]),
            )
            self.hpa_name = hpa.urn.apply(lambda _: hpa_name)

        self.load_balancer_service_name = none
        self.load_balancer_hostname = none
        if args.load_balancer is not None:
            lb = args.load_balancer
            service_name = names.load_balancer_service
            service = k8s.core.v1.Service(
                f"{name}-nlb",
                metadata=identity.metadata(
                    service_name, "load-balancer", annotations=lb_spec.service_annotations(lb)
                ),
                spec=lb_spec.service_spec(lb, identity.selector()),
                opts=child,
            )
            self.load_balancer_service_name = service.urn.apply(lambda _: service_name)
            self.load_balancer_hostname = service.status.apply(_hostname)

        self.register_outputs(
            {
                "hpa_name": self.hpa_name,
                "load_balancer_service_name": self.load_balancer_service_name,
                "load_balancer_hostname": self.load_balancer_hostname,
            }
        )


def _hostname(status: Any) -> str | None:
    """The NLB's DNS name, once AWS has provisioned it (pulumi waits for it on ``up``)."""
    ingress = (status.load_balancer.ingress if status and status.load_balancer else None) or []
    return ingress[0].hostname if ingress else None
