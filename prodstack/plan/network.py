"""The flows an environment allows, as NetworkPolicy-shaped ``Flow`` values: a namespace's
shared baseline, each service's own flows, and the two halves of every declared call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from prodstack.config.security import NetworkConfig, PlatformNetwork
from prodstack.config.service import ServiceConfig
from prodstack.labels import selector_labels
from prodstack.names import ServiceNames
from prodstack.specs.network import Flow, Peer, cidr_peers, https_flow, pod_peer, service_flow
from prodstack.specs.pod import METRICS_PORT_NAME

TCP = "TCP"
DNS_FLOW = "allow-dns"
SCRAPE_FLOW = "allow-prometheus-scrape"


def namespace_flows(platform: PlatformNetwork) -> list[Flow]:
    """What every pod of a namespace gets, whichever services run there: name resolution
    through kube-dns, and Prometheus on the port named ``metrics`` of any pod that has one."""
    return [
        Flow(
            DNS_FLOW,
            "Every pod resolves names through kube-dns (UDP, and TCP for large answers).",
            "egress",
            {},
            (pod_peer(platform.dns),),
            ((53, "UDP"), (53, TCP)),
        ),
        Flow(
            SCRAPE_FLOW,
            "Prometheus scrapes the port named metrics of the namespace's pods.",
            "ingress",
            {},
            (pod_peer(platform.monitoring),),
            ((METRICS_PORT_NAME, TCP),),
        ),
    ]


def app_selector(names: ServiceNames) -> dict[str, str]:
    """The labels of every pod of the service's app, stable and canary alike."""
    return selector_labels(names.service, names.instance)


def backup_job_selector(names: ServiceNames) -> dict[str, str]:
    """The labels of the backup and restore-check jobs' pods (not the app's selector)."""
    return selector_labels(names.backup, names.backup_instance)


def service_flows(
    service: ServiceConfig, names: ServiceNames, pod_cidrs: Sequence[str] = ()
) -> list[Flow]:
    """The service's own flows, each a NetworkPolicy ``<service>-<flow>`` in its namespace.
    ``pod_cidrs`` are excluded from the load balancer's sources: an IP block that contains pod
    addresses would admit those pods too."""
    network = service.security.network
    app = app_selector(names)
    port = service.app.port
    flows: list[Flow] = []
    if network.ingress_controller_namespace is not None:
        flows.append(
            Flow(
                names.flow("allow-ingress-controller"),
                "The ingress controller forwards client requests to the app port.",
                "ingress",
                app,
                (Peer(namespace=network.ingress_controller_namespace),),
                ((port, TCP),),
            )
        )
    if network.peers:
        flows.append(
            Flow(
                names.flow("allow-peers"),
                "Configured client pods call the app port.",
                "ingress",
                app,
                tuple(pod_peer(peer) for peer in network.peers),
                ((port, TCP),),
            )
        )
    if network.load_balancer_sources:
        flows.append(
            Flow(
                names.flow("allow-load-balancer"),
                "The load balancer (its addresses for IP targets, or the preserved client "
                "addresses) reaches the app port, health checks included.",
                "ingress",
                app,
                cidr_peers(network.load_balancer_sources, pod_cidrs),
                ((port, TCP),),
            )
        )
    flows.extend(_backing_service_flows(network, names, app, prefix="", who="The app"))
    if service.db_backup is not None:
        flows.extend(
            _backing_service_flows(
                network,
                names,
                backup_job_selector(names),
                prefix="backup-",
                who="The backup jobs",
                jobs=True,
            )
        )
    return flows


def _backing_service_flows(
    network: NetworkConfig,
    names: ServiceNames,
    pods: Mapping[str, str],
    *,
    prefix: str,
    who: str,
    jobs: bool = False,
) -> list[Flow]:
    flows = []
    if network.database is not None:
        flows.append(
            service_flow(
                names.flow(f"allow-{prefix}database"),
                f"{who} reach{'' if jobs else 'es'} {'their' if jobs else 'its'} PostgreSQL "
                "database.",
                pods,
                network.database,
            )
        )
    if network.redis is not None and not jobs:
        flows.append(
            service_flow(
                names.flow("allow-redis"), f"{who} reaches its Redis.", pods, network.redis
            )
        )
    if network.https.cidrs:
        reason = "reach S3 and STS" if jobs else "calls HTTPS APIs"
        flows.append(
            https_flow(names.flow(f"allow-{prefix}https"), f"{who} {reason}.", pods, network)
        )
    return flows


@dataclass(frozen=True)
class Endpoint:
    """One end of a call: a service's pods (its selector) in its namespace."""

    service: str
    namespace: str
    pods: Mapping[str, str]

    @classmethod
    def of(cls, names: ServiceNames) -> Endpoint:
        return cls(names.service, names.namespace, app_selector(names))


@dataclass(frozen=True)
class CallFlows:
    """A call from ``caller`` to ``callee``'s ``port``: the caller's egress policy (in its
    namespace) and the callee's ingress policy (in its namespace). Both are needed: each
    namespace denies by default."""

    caller: Endpoint
    callee: Endpoint
    port: int
    port_name: str | None
    egress: Flow
    ingress: Flow


def call_flows(
    caller: Endpoint, callee: Endpoint, port: int, port_name: str | None = None
) -> CallFlows:
    caller_names = ServiceNames(caller.service, caller.namespace)
    callee_names = ServiceNames(callee.service, callee.namespace)
    on = f"port {port_name} ({port})" if port_name else f"port {port}"
    egress = Flow(
        caller_names.calls(callee.service),
        f"{caller.service} calls {callee.service} on {on}.",
        "egress",
        dict(caller.pods),
        (Peer(namespace=callee.namespace, pod_labels=dict(callee.pods)),),
        ((port, TCP),),
    )
    ingress = Flow(
        callee_names.called_by(caller.service),
        f"{caller.service} calls {callee.service} on {on}.",
        "ingress",
        dict(callee.pods),
        (Peer(namespace=caller.namespace, pod_labels=dict(caller.pods)),),
        ((port, TCP),),
    )
    return CallFlows(caller, callee, port, port_name, egress, ingress)
