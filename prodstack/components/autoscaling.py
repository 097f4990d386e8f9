"""Autoscaling: the HorizontalPodAutoscaler of an app's Rollout and the NLB in front of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from prodstack.config.autoscaling import AutoscalingConfig
from prodstack.config.load_balancer import LoadBalancerConfig
from prodstack.identity import AppIdentity
from prodstack.specs import autoscaling as autoscaling_spec
from prodstack.specs import load_balancer as lb_spec


@dataclass(frozen=True, kw_only=True)
class AutoscalingArgs:
    """Inputs of an Autoscaling component.

    ``rollout_name`` is the Rollout the HPA scales (pass ``CanaryApp.rollout_name`` so the HPA
    waits for it; default: the app's name). Give the Rollout ``replicas=ExternallyScaled()``
    so that ``pulumi up`` never resets the count the HPA chose. ``autoscaling`` and
    ``load_balancer`` are each optional: the component builds what it is given.
    """

    identity: AppIdentity
    rollout_name: pulumi.Input[str] | None = None
    autoscaling: AutoscalingConfig | None = None
    load_balancer: LoadBalancerConfig | None = None


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
        none: pulumi.Output[Any] = pulumi.Output.from_input(None)

        self.hpa_name = none
        if args.autoscaling is not None:
            config = args.autoscaling
            target = pulumi.Output.from_input(
                identity.name if args.rollout_name is None else args.rollout_name
            )
            hpa = k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-hpa",
                metadata=identity.metadata(identity.name, "autoscaler"),
                spec=target.apply(lambda rollout: autoscaling_spec.hpa_spec(config, rollout)),
                opts=child,
            )
            self.hpa_name = hpa.urn.apply(lambda _: identity.name)

        self.load_balancer_service_name = none
        self.load_balancer_hostname = none
        if args.load_balancer is not None:
            lb = args.load_balancer
            service_name = f"{identity.name}-nlb"
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
