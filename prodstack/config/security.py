"""Security settings: a service's network flows and API access, the platform's shared peers."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from prodstack.config.base import ConfigModel, Violation, raise_violations
from prodstack.config.types import Cidr, DnsLabel, Labels, Port, PositiveInt

INSTANCE_METADATA = "169.254.169.254/32"


class PodPeer(ConfigModel):
    """Pods in a namespace, selected by the namespace's ``kubernetes.io/metadata.name`` label
    (which every namespace carries) and, optionally, by pod labels."""

    namespace: DnsLabel
    pod_labels: Labels = Field(default_factory=dict)


class ServiceEgress(ConfigModel):
    """A backing service the app reaches: pods in the cluster, or CIDR blocks."""

    port: Port
    pods: PodPeer | None = None
    cidrs: tuple[Cidr, ...] = ()

    @model_validator(mode="after")
    def _one_destination(self) -> ServiceEgress:
        if (self.pods is None) == (not self.cidrs):
            raise_violations(
                [Violation(("pods",), "give exactly one of pods or cidrs as the address")]
            )
        return self


class DatabaseEgress(ServiceEgress):
    """Where the app's PostgreSQL is: pods in the cluster, or CIDR blocks (RDS subnets)."""

    port: Port = 5432


class RedisEgress(ServiceEgress):
    """Where the app's Redis is: pods in the cluster, or CIDR blocks (ElastiCache subnets)."""

    port: Port = 6379


class HttpsEgress(ConfigModel):
    """HTTPS destinations by CIDR; the instance metadata address is always excluded."""

    cidrs: tuple[Cidr, ...] = ()
    exclude: tuple[Cidr, ...] = ()


class NetworkConfig(ConfigModel):
    """A service's flows; everything else is denied by the namespace's default deny."""

    ingress_controller_namespace: DnsLabel | None = None
    peers: tuple[PodPeer, ...] = ()
    load_balancer_sources: tuple[Cidr, ...] = ()
    database: DatabaseEgress | None = None
    redis: RedisEgress | None = None
    https: HttpsEgress = HttpsEgress()


class PlatformNetwork(ConfigModel):
    """Where the cluster's shared services run (every namespace's baseline admits them), and
    the address ranges pods get: with the VPC CNI, pods have VPC addresses, so an IP block that
    contains them admits every pod of the cluster."""

    monitoring: PodPeer = PodPeer(
        namespace="monitoring", pod_labels={"app.kubernetes.io/name": "prometheus"}
    )
    dns: PodPeer = PodPeer(namespace="kube-system", pod_labels={"k8s-app": "kube-dns"})
    pod_cidrs: tuple[Cidr, ...] = ()


Verb = Literal["get", "watch", "update", "patch", "delete"]


class ApiAccessRule(ConfigModel):
    """One RBAC rule for the app, scoped to named objects (``resourceNames``).

    ``list``, ``watch`` without names, ``create`` and ``deletecollection`` cannot be scoped by
    name, so they are not offered; nor are wildcards.
    """

    api_group: str = ""
    resource: Annotated[str, Field(pattern=r"^[a-z][a-z0-9.\-]*(/[a-z]+)?$")]
    resource_names: Annotated[tuple[DnsLabel, ...], Field(min_length=1)]
    verbs: Annotated[tuple[Verb, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _no_secret_reading(self) -> ApiAccessRule:
        if self.api_group == "" and self.resource == "secrets":
            raise_violations(
                [
                    Violation(
                        ("resource",),
                        "the app reads secrets as mounted files (VaultSecrets), not from the API",
                    )
                ]
            )
        return self


PodSecurityVersion = Annotated[str, Field(pattern=r"^(v1\.[0-9]+|latest)$")]
# The Pod Security Standards version namespaces pin unless the stack says otherwise.
DEFAULT_POD_SECURITY_VERSION = "v1.33"


class SecurityConfig(ConfigModel):
    """A service's network flows and its API access (Pod Security is the environment's)."""

    network: NetworkConfig = NetworkConfig()
    api_access: tuple[ApiAccessRule, ...] = ()
    api_token_expiration_seconds: Annotated[PositiveInt, Field(ge=600)] = 3600
