"""CanaryApp: a service delivered by an Argo Rollouts canary with automated Prometheus analysis."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from prodstack import kinds
from prodstack.components.args import ComponentArgs, DerivedName, names_of, refuse_violations
from prodstack.components.outputs import known_after
from prodstack.config.app import AppConfig
from prodstack.config.service import production_app_violations
from prodstack.config.types import DnsLabel, LabelValue, ObjectName
from prodstack.identity import AppIdentity
from prodstack.names import ANALYSIS_CHECKS, ServiceNames
from prodstack.replicas import ExternallyScaled
from prodstack.specs import analysis as analysis_spec
from prodstack.specs.autoscaling import rollout_ref
from prodstack.specs.canary import AnalysisRefs, canary_strategy, rollout_await_annotations
from prodstack.specs.ingress import AlbRouting
from prodstack.specs.notifications import subscription_annotations
from prodstack.specs.pod import (
    HTTP_PORT_NAME,
    Manifest,
    PodWiring,
    Scheduling,
    pod_spec,
    pod_template,
)

ROLLOUT_API_VERSION = kinds.ROLLOUT.api_version

__all__ = ["CanaryApp", "CanaryAppArgs", "ExternallyScaled", "rollout_spec", "service_spec"]


@dataclass(frozen=True, kw_only=True)
class CanaryAppArgs(ComponentArgs):
    """Inputs of a CanaryApp.

    ``app`` says what runs (image, ports, probes, resources, canary schedule); the rest says
    where and how it is wired. ``replicas`` defaults to ``app.replicas``; pass
    ``ExternallyScaled()`` when an autoscaler owns the count. ``wiring`` are the pod pieces
    other components provide (``VaultSecrets.pod_wiring``, ``ServiceSecurity.api_token``).
    ``environment`` turns on its rules (``production``: images pinned by digest).
    ``traffic_routing`` routes the canary's weights through an ALB (the EntryPoint's Ingress):
    exact weights at any replica count.
    """

    app: AppConfig
    namespace: DnsLabel
    instance: LabelValue | None = None
    replicas: int | ExternallyScaled | None = None
    environment: DnsLabel | None = None
    service_account_name: ObjectName | pulumi.Output[str] | None = None
    automount_service_account_token: bool = False
    scheduling: Scheduling | None = None
    wiring: Sequence[PodWiring] = ()
    traffic_routing: AlbRouting | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.replicas, int) and self.replicas < 0:
            raise ValueError(f"replicas must be 0 or more, not {self.replicas}")
        unknown = set(self.scheduling or {}) - set(Scheduling.__annotations__)
        if unknown:
            raise ValueError(
                f"scheduling may only set {sorted(Scheduling.__annotations__)}: {unknown}"
            )
        canary = self.app.canary
        if self.traffic_routing is None and (
            canary.dynamic_stable_scale or canary.abort_scale_down_delay_seconds is not None
        ):
            raise ValueError(
                "CanaryAppArgs.app.canary: dynamicStableScale and abortScaleDownDelaySeconds "
                "need traffic_routing (Argo Rollouts refuses them without a traffic router)"
            )
        if self.environment == "production":
            refuse_violations("CanaryAppArgs", (), production_app_violations(self.app))

    def derived_names(self) -> Iterator[DerivedName]:
        names = self.names
        yield from names_of(
            "app.name",
            [
                (kinds.ROLLOUT, names.rollout),
                (kinds.SERVICE, names.stable_service),
                (kinds.SERVICE, names.canary_service),
                *(
                    (kinds.ANALYSIS_TEMPLATE, names.analysis_template(check, gate=True))
                    for check in ANALYSIS_CHECKS
                ),
            ],
        )

    @property
    def identity(self) -> AppIdentity:
        return AppIdentity(
            name=self.app.name,
            namespace=self.namespace,
            instance=self.instance,
            version=self.app.version,
            part_of=self.app.part_of,
        )

    @property
    def names(self) -> ServiceNames:
        return ServiceNames(self.app.name, self.namespace)


def rollout_spec(
    args: CanaryAppArgs,
    *,
    service_account_name: pulumi.Input[str],
    stable_service: str,
    canary_service: str,
    analysis: AnalysisRefs,
) -> Manifest:
    """The Rollout's ``spec``; no ``replicas`` when the count is externally scaled."""
    app = args.app
    identity = args.identity
    wiring = PodWiring.combine(args.wiring)
    spec: Manifest = {
        "revisionHistoryLimit": app.revision_history_limit,
        "selector": {"matchLabels": identity.selector()},
        "template": pod_template(
            identity.labels("server", versioned=True),
            pod_spec(
                app,
                service_account_name=service_account_name,
                automount_service_account_token=args.automount_service_account_token,
                scheduling=args.scheduling,
                env_from=wiring.env_from,
                extra_env=wiring.env,
                extra_volumes=wiring.volumes,
                extra_mounts=wiring.volume_mounts,
            ),
            wiring.annotations,
        ),
        "strategy": {
            "canary": canary_strategy(
                app.canary,
                stable_service=stable_service,
                canary_service=canary_service,
                analysis=analysis,
                traffic_routing=(
                    args.traffic_routing.manifest() if args.traffic_routing is not None else None
                ),
            )
        },
    }
    replicas = app.replicas if args.replicas is None else args.replicas
    if not isinstance(replicas, ExternallyScaled):
        spec["replicas"] = replicas
    return spec


def service_spec(selector: Mapping[str, str], port: int = 80) -> Manifest:
    """A ClusterIP Service on the app's http port."""
    return {
        "type": "ClusterIP",
        "selector": dict(selector),
        "ports": [
            {"name": HTTP_PORT_NAME, "port": port, "targetPort": HTTP_PORT_NAME, "protocol": "TCP"}
        ],
    }


class CanaryApp(pulumi.ComponentResource):
    """An Argo Rollout with a canary schedule, analysis templates and stable/canary Services."""

    rollout_name: pulumi.Output[str]
    service_name: pulumi.Output[str]
    stable_service_name: pulumi.Output[str]
    canary_service_name: pulumi.Output[str]
    service_account_name: pulumi.Output[str]
    selector_labels: pulumi.Output[dict[str, str]]
    analysis_template_names: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: CanaryAppArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("prodstack:index:CanaryApp", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        app = args.app
        identity = args.identity
        names = args.names
        selector = identity.selector()
        meta = identity.metadata

        created: list[pulumi.Resource] = []
        sa_name = args.service_account_name
        if sa_name is None:
            sa_name = names.service_account
            created.append(
                k8s.core.v1.ServiceAccount(
                    f"{name}-sa",
                    metadata=meta(sa_name, "server"),
                    automount_service_account_token=False,
                    opts=child,
                )
            )

        # Clients call <app>, which selects stable and canary pods alike: without a traffic
        # router, the canary's share is its share of the pods. Argo narrows <app>-stable and
        # <app>-canary to one revision each (for analysis, smoke tests and debugging).
        services = {
            role: k8s.core.v1.Service(
                f"{name}-{role}",
                metadata=meta(service_name, "server"),
                spec=service_spec(selector),
                opts=child,
            )
            for role, service_name in (
                ("service", names.client_service),
                ("stable", names.stable_service),
                ("canary", names.canary_service),
            )
        }

        checks = analysis_spec.checks(
            app.name, args.namespace, app.canary.analysis, app.metrics_status_label
        )
        modes = {
            "background": app.canary.analysis.background is not None,
            "gate": app.canary.uses_gate,
        }
        template_names: dict[str, list[str]] = {"background": [], "gate": []}
        templates: list[pulumi.Resource] = []
        for mode, wanted in modes.items():
            for check_name, check in checks.items() if wanted else ():
                template_name = names.analysis_template(check_name, gate=mode == "gate")
                template_names[mode].append(template_name)
                templates.append(
                    k8s.apiextensions.CustomResource(
                        f"{name}-{template_name.removeprefix(app.name + '-')}",
                        api_version=ROLLOUT_API_VERSION,
                        kind="AnalysisTemplate",
                        metadata=meta(template_name, "canary-analysis"),
                        spec=analysis_spec.analysis_template_spec(
                            check, app.canary.analysis, gate=mode == "gate"
                        ),
                        opts=child,
                    )
                )
        refs = AnalysisRefs(background=template_names["background"], gate=template_names["gate"])

        rollout = k8s.apiextensions.CustomResource(
            f"{name}-rollout",
            api_version=ROLLOUT_API_VERSION,
            kind="Rollout",
            metadata=meta(
                names.rollout,
                "server",
                versioned=True,
                annotations={
                    **rollout_await_annotations(app),
                    **subscription_annotations(app.canary.notifications),
                    **app.annotations,
                }
                or None,
            ),
            spec=rollout_spec(
                args,
                service_account_name=sa_name,
                stable_service=names.stable_service,
                canary_service=names.canary_service,
                analysis=refs,
            ),
            # The Rollout names its Services, templates and account: create those first.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[*services.values(), *templates, *created]
            ),
        )

        self.rollout_name = known_after(rollout, names.rollout)
        self.service_name = known_after(services["service"], names.client_service)
        self.stable_service_name = known_after(services["stable"], names.stable_service)
        self.canary_service_name = known_after(services["canary"], names.canary_service)
        self.service_account_name = (
            known_after(created[0], names.service_account)
            if created
            else pulumi.Output.from_input(sa_name)
        )
        self.selector_labels = pulumi.Output.from_input(selector)
        self.analysis_template_names = pulumi.Output.from_input([*refs.background, *refs.gate])
        self.rollout = rollout
        self.identity = identity
        # What an autoscaler needs of its target (plain values, known before deployment).
        self.scale_target_ref: Manifest = rollout_ref(names.rollout)
        self.externally_scaled = isinstance(args.replicas, ExternallyScaled)
        self.register_outputs(
            {
                "rollout_name": self.rollout_name,
                "service_name": self.service_name,
                "stable_service_name": self.stable_service_name,
                "canary_service_name": self.canary_service_name,
                "service_account_name": self.service_account_name,
                "selector_labels": self.selector_labels,
                "analysis_template_names": self.analysis_template_names,
            }
        )
