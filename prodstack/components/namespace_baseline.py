"""NamespaceBaseline: a namespace under Pod Security Admission, denied all traffic by default,
with what every pod in it needs: name resolution, and Prometheus on its metrics port."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from prodstack.components.args import ComponentArgs
from prodstack.config.security import DEFAULT_POD_SECURITY_VERSION, PlatformNetwork
from prodstack.config.types import DnsLabel, LabelMap
from prodstack.plan.network import namespace_flows
from prodstack.specs.namespace import namespace_labels
from prodstack.specs.network import FLOW_ANNOTATION, Flow, default_deny_spec, flow_spec

DEFAULT_DENY = "default-deny"
NETWORK_POLICY_COMPONENT = "network-policy"
# prodstack 0.1 created these objects as children of one SecurityBaseline named "security".
LEGACY_PARENT_TYPE = "prodstack:index:SecurityBaseline"
LEGACY_PARENT_NAME = "security"


@dataclass(frozen=True, kw_only=True)
class NamespaceBaselineArgs(ComponentArgs):
    """``labels`` go on the Namespace (use ``prodstack.specs.namespace.namespace_labels`` for
    Pod Security ``restricted``); ``flows`` are the namespace-wide flows (by default DNS and
    the Prometheus scrape of the default platform). ``adopts_single_app_stack`` keeps the
    identities of a prodstack 0.1 stack's namespace objects, so an upgrade replaces nothing."""

    namespace: DnsLabel
    labels: LabelMap = field(default_factory=lambda: namespace_labels(DEFAULT_POD_SECURITY_VERSION))
    flows: Sequence[Flow] = field(default_factory=lambda: namespace_flows(PlatformNetwork()))
    adopts_single_app_stack: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        names = [flow.name for flow in self.flows]
        repeated = sorted({n for n in names if names.count(n) > 1} | ({DEFAULT_DENY} & set(names)))
        if repeated:
            raise ValueError(f"NamespaceBaselineArgs.flows: names {repeated} are taken")


class NamespaceBaseline(pulumi.ComponentResource):
    """The Namespace, a default-deny NetworkPolicy and one policy per namespace-wide flow.

    Create one per namespace, whatever number of services share it; each service adds its own
    flows with ServiceSecurity.
    """

    namespace_name: pulumi.Output[str]
    network_policy_names: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: NamespaceBaselineArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("prodstack:index:NamespaceBaseline", name, None, opts)
        namespace = args.namespace
        legacy = args.adopts_single_app_stack

        def aliases(legacy_name: str, *older: pulumi.Alias) -> list[pulumi.Alias]:
            if not legacy:
                return []
            return [pulumi.Alias(name=legacy_name, parent=_legacy_parent_urn()), *older]

        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": namespace, "labels": dict(args.labels)},
            opts=pulumi.ResourceOptions(
                parent=self,
                # 0.1 named it security-namespace; before, the stack program created it.
                aliases=aliases(
                    "security-namespace",
                    pulumi.Alias(name="namespace", parent=pulumi.ROOT_STACK_RESOURCE),
                ),
            ),
        )
        metadata_labels = {"app.kubernetes.io/managed-by": "pulumi"}
        policies = []
        for flow_name, spec, flow_annotations in (
            (DEFAULT_DENY, default_deny_spec(), None),
            *((f.name, flow_spec(f), {FLOW_ANNOTATION: f.description}) for f in args.flows),
        ):
            metadata: dict[str, object] = {
                "name": flow_name,
                "namespace": namespace,
                "labels": {
                    **metadata_labels,
                    "app.kubernetes.io/component": NETWORK_POLICY_COMPONENT,
                },
            }
            if flow_annotations:
                metadata["annotations"] = flow_annotations
            policies.append(
                k8s.networking.v1.NetworkPolicy(
                    f"{name}-{flow_name}",
                    metadata=metadata,
                    spec=spec,
                    opts=pulumi.ResourceOptions(
                        parent=self,
                        depends_on=[self.namespace],
                        aliases=aliases(f"{LEGACY_PARENT_NAME}-{flow_name}"),
                    ),
                )
            )
        names = [DEFAULT_DENY, *(flow.name for flow in args.flows)]
        self.namespace_name = self.namespace.metadata.apply(lambda _: namespace)
        self.network_policy_names = pulumi.Output.all(*(p.urn for p in policies)).apply(
            lambda _: names
        )
        self.register_outputs(
            {
                "namespace_name": self.namespace_name,
                "network_policy_names": self.network_policy_names,
            }
        )


def _legacy_parent_urn() -> str:
    """The URN prodstack 0.1 gave its SecurityBaseline (a child of the stack)."""
    return (
        f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::"
        f"{LEGACY_PARENT_TYPE}::{LEGACY_PARENT_NAME}"
    )


def legacy_child_urn(type_: str, name: str) -> str:
    """The URN a child of prodstack 0.1's SecurityBaseline had (for ServiceSecurity too)."""
    return (
        f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::"
        f"{LEGACY_PARENT_TYPE}${type_}::{name}"
    )
