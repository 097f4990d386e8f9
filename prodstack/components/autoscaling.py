"""Autoscaling: the HorizontalPodAutoscaler of an app's Rollout."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

import pulumi
import pulumi_kubernetes as k8s

from prodstack import kinds
from prodstack.components.args import ComponentArgs, DerivedName, names_of
from prodstack.config.autoscaling import AutoscalingConfig
from prodstack.identity import AppIdentity
from prodstack.specs import autoscaling as autoscaling_spec


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
    HPA chose on every update). The entry point (NLB or ALB) is EntryPoint's.
    """

    identity: AppIdentity
    target: ScaleTarget
    autoscaling: AutoscalingConfig

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.target.externally_scaled:
            raise ValueError(
                "AutoscalingArgs.target: the workload sets its own replica count, which pulumi "
                "up would reset over the HPA's on every update; create it with "
                "replicas=ExternallyScaled()"
            )

    def derived_names(self) -> Iterator[DerivedName]:
        names = self.identity.names
        yield from names_of("identity.name", [(kinds.HORIZONTAL_POD_AUTOSCALER, names.autoscaler)])


class Autoscaling(pulumi.ComponentResource):
    """An ``autoscaling/v2`` HPA bound to the app's Argo Rollout."""

    hpa_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: AutoscalingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("prodstack:index:Autoscaling", name, None, opts)
        identity = args.identity
        names = identity.names
        hpa_name = names.autoscaler
        hpa = k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{name}-hpa",
            metadata=identity.metadata(hpa_name, "autoscaler"),
            spec=autoscaling_spec.hpa_spec(args.autoscaling, args.target.scale_target_ref),
            # The HPA scales what exists: create it after its target.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.target.rollout]),
        )
        self.hpa_name = hpa.urn.apply(lambda _: hpa_name)
        self.register_outputs({"hpa_name": self.hpa_name})
