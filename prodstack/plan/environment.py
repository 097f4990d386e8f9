"""What an environment gets, computed from its validated configuration without Pulumi: one
baseline per namespace, and per service its identity, replicas, flows, calls and parts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from prodstack.config.app import AppConfig
from prodstack.config.environment import EnvironmentConfig, callee_port
from prodstack.config.gitops import GitOpsConfig
from prodstack.config.observability import ObservabilityConfig
from prodstack.config.service import ServiceConfig
from prodstack.identity import AppIdentity
from prodstack.names import ServiceNames
from prodstack.plan.network import CallFlows, Endpoint, call_flows, namespace_flows, service_flows
from prodstack.replicas import ExternallyScaled, Replicas
from prodstack.specs import drain as drain_spec
from prodstack.specs import load_balancer as lb_spec
from prodstack.specs.drain import Drain
from prodstack.specs.gitops import source_path
from prodstack.specs.ha import ha_floor, min_available
from prodstack.specs.ingress import AlbRouting
from prodstack.specs.namespace import namespace_labels
from prodstack.specs.network import Flow


@dataclass(frozen=True)
class NamespacePlan:
    """A namespace and its baseline: Pod Security labels, default deny, the shared flows.

    ``adopts_single_app_stack``: this is the namespace a prodstack 0.1 stack created, whose
    baseline objects keep their Pulumi identities (aliases) so that nothing is replaced.
    """

    name: str
    environment: str
    labels: Mapping[str, str]
    flows: tuple[Flow, ...]
    services: tuple[str, ...]
    adopts_single_app_stack: bool = False
    application: ApplicationPlan | None = None


@dataclass(frozen=True)
class ApplicationPlan:
    """The Argo CD Application that syncs one namespace: its component's logical name, its
    object name, and the folder (below the project and in the repository) it syncs."""

    logical_name: str
    name: str
    path: str


# Who applies the Kubernetes objects: Pulumi (to the cluster), Argo CD (Pulumi writes them to
# the GitOps folder), or Pulumi while handing them over (it keeps them, retained on delete).
KubernetesOwner = Literal["pulumi", "gitops", "handover"]


@dataclass(frozen=True)
class ServicePlan:
    """One service: who it is, how many replicas and who owns the count, its own flows, the
    calls it makes and receives, and the configuration of each of its parts."""

    config: ServiceConfig
    environment: str
    names: ServiceNames
    identity: AppIdentity
    app: AppConfig
    drain: Drain
    routing: AlbRouting | None
    replicas: Replicas
    flows: tuple[Flow, ...]
    calls: tuple[CallFlows, ...]
    callers: tuple[CallFlows, ...]
    observability: ObservabilityConfig | None
    min_available_replicas: int
    adopts_single_app_stack: bool = False

    @property
    def name(self) -> str:
        return self.names.service

    @property
    def namespace(self) -> str:
        return self.names.namespace

    @property
    def backup_alerts(self) -> bool:
        """Observed, with backups, and not switched off."""
        service = self.config.observability
        return (
            self.observability is not None
            and service is not None
            and service.backup_alerts
            and self.config.db_backup is not None
        )


@dataclass(frozen=True)
class EnvironmentPlan:
    environment: str
    default_namespace: str
    namespaces: tuple[NamespacePlan, ...]
    services: tuple[ServicePlan, ...]
    config: EnvironmentConfig = field(repr=False)
    gitops: GitOpsConfig | None = None
    kubernetes_owner: KubernetesOwner = "pulumi"

    def service(self, name: str) -> ServicePlan:
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(name)

    def namespace(self, name: str) -> NamespacePlan:
        for namespace in self.namespaces:
            if namespace.name == name:
                return namespace
        raise KeyError(name)


def plan_environment(env: EnvironmentConfig) -> EnvironmentPlan:
    """The whole environment, services in the order the configuration lists them."""
    names = {key: env.names_of(service) for key, service in env.services.items()}
    calls: dict[str, list[CallFlows]] = {key: [] for key in env.services}
    callers: dict[str, list[CallFlows]] = {key: [] for key in env.services}
    for key, service in env.services.items():
        for call in service.calls:
            port = callee_port(env, call.service, call.port)
            assert port is not None  # validated
            flows = call_flows(
                Endpoint.of(names[key]),
                Endpoint.of(names[call.service]),
                port,
                call.port if isinstance(call.port, str) else None,
            )
            calls[key].append(flows)
            callers[call.service].append(flows)
    adopted = env.upgrade.single_app_service if env.upgrade is not None else None
    services = tuple(
        _service_plan(
            env,
            service,
            names[key],
            calls=tuple(calls[key]),
            callers=tuple(callers[key]),
            adopted=key == adopted,
        )
        for key, service in env.services.items()
    )
    namespaces = tuple(_namespace_plan(env, name, services) for name in env.namespaces())
    owner: KubernetesOwner = "pulumi"
    if env.gitops is not None:
        owner = "handover" if env.gitops.hand_over == "prepare" else "gitops"
    return EnvironmentPlan(
        env.environment,
        env.namespace,
        namespaces,
        services,
        env,
        gitops=env.gitops,
        kubernetes_owner=owner,
    )


def _service_plan(
    env: EnvironmentConfig,
    service: ServiceConfig,
    names: ServiceNames,
    *,
    calls: tuple[CallFlows, ...],
    callers: tuple[CallFlows, ...],
    adopted: bool,
) -> ServicePlan:
    app = service.app
    identity = AppIdentity(
        name=names.service,
        namespace=names.namespace,
        instance=names.instance,
        version=app.version,
        part_of=app.part_of,
    )
    replicas: Replicas = ExternallyScaled() if service.autoscaling is not None else app.replicas
    observed = env.observability if service.observability is not None else None
    lb = service.load_balancer
    routing = (
        AlbRouting(ingress=names.ingress, root_service=names.client_service)
        if service.traffic_routed
        else None
    )
    return ServicePlan(
        config=service,
        environment=env.environment,
        names=names,
        identity=identity,
        # The pre-stop drain lasts as long as the load balancer may send new connections.
        app=drain_spec.behind(app, lb),
        drain=drain_spec.drain(app.shutdown, lb),
        routing=routing,
        replicas=replicas,
        flows=tuple(service_flows(service, names, env.network.pod_cidrs)),
        calls=calls,
        callers=callers,
        observability=observed,
        # LowReplicas: fewer pods available than the disruption budget keeps at the minimum
        # replica count (more missing than a voluntary disruption may take).
        min_available_replicas=min_available(service) or ha_floor(service),
        adopts_single_app_stack=adopted,
    )


def _namespace_plan(
    env: EnvironmentConfig, namespace: str, services: tuple[ServicePlan, ...]
) -> NamespacePlan:
    here = tuple(s for s in services if s.namespace == namespace)
    labels = dict(namespace_labels(env.pod_security_version, env.environment))
    for service in here:
        if service.config.load_balancer is not None:
            labels.update(lb_spec.namespace_labels(service.config.load_balancer))
    return NamespacePlan(
        name=namespace,
        environment=env.environment,
        labels=labels,
        flows=tuple(namespace_flows(env.network)),
        services=tuple(s.name for s in here),
        adopts_single_app_stack=namespace == env.namespace,
        application=_application_plan(env, namespace),
    )


def _application_plan(env: EnvironmentConfig, namespace: str) -> ApplicationPlan | None:
    if env.gitops is None:
        return None
    path = source_path(env.gitops, namespace)
    if env.upgrade is not None and namespace == env.namespace:
        # prodstack 0.1 named its one Application after the app's instance: keep it (a new
        # name would delete the old one, and 0.1 gave it the cascading finalizer).
        legacy = env.upgrade.single_app_service
        return ApplicationPlan(f"{legacy}-gitops", f"{legacy}-{env.environment}", path)
    return ApplicationPlan(f"{namespace}-gitops", namespace, path)
