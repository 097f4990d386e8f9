"""SecurityBaseline: the namespace under Pod Security Admission, a default-deny network with
exactly the declared flows, and least-privilege API access for the app."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from prodstack.config.security import ApiAccessRule
from prodstack.identity import AppIdentity
from prodstack.specs.network import Flow, default_deny_spec, flow_spec
from prodstack.specs.rbac import role_rules

PSA_LEVEL = "restricted"
DEFAULT_DENY = "default-deny"


def namespace_labels(pod_security_version: str) -> dict[str, str]:
    """Pod Security Admission enforces, audits and warns at ``restricted``, pinned to a version
    so a cluster upgrade cannot change what is admitted without a change here."""
    labels = {"app.kubernetes.io/managed-by": "pulumi"}
    for mode in ("enforce", "audit", "warn"):
        labels[f"pod-security.kubernetes.io/{mode}"] = PSA_LEVEL
        labels[f"pod-security.kubernetes.io/{mode}-version"] = pod_security_version
    return labels


@dataclass(frozen=True, kw_only=True)
class SecurityBaselineArgs:
    """``identity`` names the namespace and labels the objects; ``flows`` are every allowed
    flow (all else is denied); ``api_access`` rules bind to ``service_account_name``."""

    identity: AppIdentity
    pod_security_version: str = "v1.33"
    flows: Sequence[Flow] = ()
    api_access: Sequence[ApiAccessRule] = ()
    service_account_name: str | None = None
    create_namespace: bool = True
    extra_namespace_labels: dict[str, str] = field(default_factory=dict)


class SecurityBaseline(pulumi.ComponentResource):
    """Namespace (Pod Security ``restricted``), default-deny NetworkPolicy plus one policy per
    flow, and a Role/RoleBinding only when the app needs API access."""

    namespace_name: pulumi.Output[str]
    network_policy_names: pulumi.Output[list[str]]
    role_name: pulumi.Output[str | None]

    def __init__(
        self, name: str, args: SecurityBaselineArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("prodstack:index:SecurityBaseline", name, None, opts)
        identity = args.identity
        self.namespace: k8s.core.v1.Namespace | None = None
        after_namespace = pulumi.ResourceOptions(parent=self)
        if args.create_namespace:
            self.namespace = k8s.core.v1.Namespace(
                f"{name}-namespace",
                metadata={
                    "name": identity.namespace,
                    "labels": {
                        **namespace_labels(args.pod_security_version),
                        **args.extra_namespace_labels,
                    },
                },
                # Created by the stack program itself before SecurityBaseline existed.
                opts=pulumi.ResourceOptions(
                    parent=self,
                    aliases=[pulumi.Alias(name="namespace", parent=pulumi.ROOT_STACK_RESOURCE)],
                ),
            )
            after_namespace = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])

        policies = [
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{DEFAULT_DENY}",
                metadata=identity.metadata(DEFAULT_DENY, "network-policy"),
                spec=default_deny_spec(),
                opts=after_namespace,
            )
        ]
        for flow in args.flows:
            policies.append(
                k8s.networking.v1.NetworkPolicy(
                    f"{name}-{flow.name}",
                    metadata=identity.metadata(
                        flow.name,
                        "network-policy",
                        annotations={"prodstack.io/flow": flow.description},
                    ),
                    spec=flow_spec(flow),
                    opts=after_namespace,
                )
            )

        role_name: str | None = None
        if args.api_access:
            if args.service_account_name is None:
                raise ValueError("api_access needs service_account_name: the account to bind")
            role_name = f"{identity.name}-api"
            role = k8s.rbac.v1.Role(
                f"{name}-role",
                metadata=identity.metadata(role_name, "rbac"),
                rules=role_rules(args.api_access),
                opts=after_namespace,
            )
            k8s.rbac.v1.RoleBinding(
                f"{name}-role-binding",
                metadata=identity.metadata(role_name, "rbac"),
                role_ref={
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": role_name,
                },
                subjects=[
                    {
                        "kind": "ServiceAccount",
                        "name": args.service_account_name,
                        "namespace": identity.namespace,
                    }
                ],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[role]),
            )

        names = [DEFAULT_DENY, *(flow.name for flow in args.flows)]
        self.namespace_name = (
            self.namespace.metadata.apply(lambda _: identity.namespace)
            if self.namespace is not None
            else pulumi.Output.from_input(identity.namespace)
        )
        self.network_policy_names = pulumi.Output.all(*(p.urn for p in policies)).apply(
            lambda _: names
        )
        self.role_name = pulumi.Output.from_input(role_name)
        self.register_outputs(
            {
                "namespace_name": self.namespace_name,
                "network_policy_names": self.network_policy_names,
                "role_name": self.role_name,
            }
        )
