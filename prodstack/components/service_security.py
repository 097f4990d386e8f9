"""ServiceSecurity: a service's own network flows, both halves of the calls it makes and
receives, and least-privilege API access for its account."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field

from prodstack.components.args import ComponentArgs
from prodstack.components.namespace_baseline import NETWORK_POLICY_COMPONENT, legacy_child_urn
from prodstack.config.security import ApiAccessRule
from prodstack.config.types import INT32_MAX, ObjectName
from prodstack.identity import AppIdentity
from prodstack.plan.network import CallFlows
from prodstack.specs.network import FLOW_ANNOTATION, Flow, flow_spec
from prodstack.specs.pod import PodWiring
from prodstack.specs.rbac import api_token_mount, api_token_volume, role_rules


@dataclass(frozen=True, kw_only=True)
class ServiceSecurityArgs(ComponentArgs):
    """Inputs of a ServiceSecurity.

    ``flows`` are the service's own flows (``prodstack.plan.service_flows``). ``calls`` are the
    calls this service makes (its egress halves are created here) and ``callers`` the calls it
    receives (their ingress halves are created here), both made with
    ``prodstack.plan.call_flows`` from the two services' endpoints. ``api_access`` rules bind
    to ``service_account_name`` (default: the app's own account).
    """

    identity: AppIdentity
    flows: Sequence[Flow] = ()
    calls: Sequence[CallFlows] = ()
    callers: Sequence[CallFlows] = ()
    api_access: Sequence[ApiAccessRule] = ()
    api_token_expiration_seconds: Annotated[int, Field(ge=600, le=INT32_MAX)] = 3600
    service_account_name: ObjectName | pulumi.Output[str] | None = None
    adopts_single_app_stack: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        identity = self.identity
        for index, call in enumerate(self.calls):
            if (call.caller.service, call.caller.namespace) != (identity.name, identity.namespace):
                raise ValueError(
                    f"ServiceSecurityArgs.calls[{index}]: the call is made by "
                    f"{call.caller.namespace}/{call.caller.service}, not by this service "
                    f"{identity.namespace}/{identity.name}"
                )
        for index, call in enumerate(self.callers):
            if (call.callee.service, call.callee.namespace) != (identity.name, identity.namespace):
                raise ValueError(
                    f"ServiceSecurityArgs.callers[{index}]: the call goes to "
                    f"{call.callee.namespace}/{call.callee.service}, not to this service "
                    f"{identity.namespace}/{identity.name}"
                )
        names = [flow.name for flow in self.policies]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"ServiceSecurityArgs: NetworkPolicy names {repeated} repeat")

    @property
    def policies(self) -> list[Flow]:
        """Every NetworkPolicy of the service, in the order they are created."""
        return [
            *self.flows,
            *(call.egress for call in self.calls),
            *(call.ingress for call in self.callers),
        ]


class ServiceSecurity(pulumi.ComponentResource):
    """One NetworkPolicy per flow and per call half, in the service's namespace (its
    NamespaceBaseline denies everything else), and a Role/RoleBinding scoped to named objects
    only when the service needs the Kubernetes API.

    ``api_token`` is the pod wiring of the expiring token that API access needs (empty without
    API access): hand it to ``CanaryAppArgs(wiring=...)``.
    """

    network_policy_names: pulumi.Output[list[str]]
    role_name: pulumi.Output[str | None]

    def __init__(
        self, name: str, args: ServiceSecurityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("prodstack:index:ServiceSecurity", name, None, opts)
        identity = args.identity
        names = identity.names
        policies = [
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{flow.name.removeprefix(identity.name + '-')}",
                metadata=identity.metadata(
                    flow.name,
                    NETWORK_POLICY_COMPONENT,
                    annotations={FLOW_ANNOTATION: flow.description},
                ),
                spec=flow_spec(flow),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for flow in args.policies
        ]

        role_name: str | None = None
        self.api_token = PodWiring()
        if args.api_access:
            legacy = args.adopts_single_app_stack
            kind = "kubernetes:rbac.authorization.k8s.io/v1"
            role_name = names.api_role
            role = k8s.rbac.v1.Role(
                f"{name}-role",
                metadata=identity.metadata(role_name, "rbac"),
                rules=role_rules(args.api_access),
                opts=pulumi.ResourceOptions(
                    parent=self,
                    aliases=[legacy_child_urn(f"{kind}:Role", "security-role")] if legacy else [],
                ),
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
                        "name": args.service_account_name or names.service_account,
                        "namespace": identity.namespace,
                    }
                ],
                opts=pulumi.ResourceOptions(
                    parent=self,
                    depends_on=[role],
                    aliases=(
                        [legacy_child_urn(f"{kind}:RoleBinding", "security-role-binding")]
                        if legacy
                        else []
                    ),
                ),
            )
            self.api_token = PodWiring(
                volumes=(api_token_volume(args.api_token_expiration_seconds),),
                volume_mounts=(api_token_mount(),),
            )

        policy_names = [flow.name for flow in args.policies]
        self.network_policy_names = pulumi.Output.all(*(p.urn for p in policies)).apply(
            lambda _: policy_names
        )
        self.role_name = pulumi.Output.from_input(role_name)
        self.register_outputs(
            {"network_policy_names": self.network_policy_names, "role_name": self.role_name}
        )
