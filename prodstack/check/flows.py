"""Which connections a stack's NetworkPolicies allow, evaluated the way Kubernetes does, and
whether that is exactly the set of flows the stack declares."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prodstack.check.references import Index, matches
from prodstack.config.environment import EnvironmentConfig
from prodstack.config.security import PodPeer
from prodstack.policies.model import Subject
from prodstack.specs.pod import HTTP_PORT_NAME, METRICS_PORT_NAME

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class Endpoint:
    """A pod (namespace and labels, and its named ports) or an address outside the cluster."""

    namespace: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    ip: str | None = None
    ports: Mapping[str, int] = field(default_factory=dict)

    @property
    def is_pod(self) -> bool:
        return self.namespace is not None


@dataclass(frozen=True)
class Connection:
    name: str
    source: Endpoint
    destination: Endpoint
    port: int
    protocol: str = "TCP"


class NetworkModel:
    """NetworkPolicy semantics over the stack's policies. Namespaces outside the stack have no
    policies the stack knows of, so their side of a connection is taken as open."""

    def __init__(self, index: Index) -> None:
        self.policies = index.of_kind("NetworkPolicy")
        self.namespace_labels: dict[str, dict[str, str]] = {}
        for namespace in index.of_kind("Namespace"):
            labels = dict((namespace.props.get("metadata") or {}).get("labels") or {})
            labels[NAMESPACE_NAME_LABEL] = namespace.object_name
            self.namespace_labels[namespace.object_name] = labels

    def allows(self, connection: Connection) -> bool:
        return self._side_allows(connection, "egress") and self._side_allows(connection, "ingress")

    def _side_allows(self, connection: Connection, direction: str) -> bool:
        pod = connection.source if direction == "egress" else connection.destination
        peer = connection.destination if direction == "egress" else connection.source
        if not pod.is_pod:
            return True
        policy_type = "Egress" if direction == "egress" else "Ingress"
        selecting = [
            p
            for p in self.policies
            if p.namespace == pod.namespace
            and policy_type in _policy_types(p)
            and matches((p.props.get("spec") or {}).get("podSelector") or {}, dict(pod.labels))
        ]
        if not selecting:
            return True  # not isolated in this direction
        for policy in selecting:
            for rule in (policy.props.get("spec") or {}).get(direction) or []:
                peers = rule.get("to" if direction == "egress" else "from")
                if peers and not any(self._peer_matches(p, peer, policy) for p in peers):
                    continue
                if _port_matches(rule.get("ports"), connection, connection.destination):
                    return True
        return False

    def _peer_matches(self, peer: Mapping[str, Any], other: Endpoint, policy: Subject) -> bool:
        if "ipBlock" in peer:
            if other.ip is None:
                return False
            block = peer["ipBlock"]
            address = ipaddress.ip_address(other.ip)
            if address not in ipaddress.ip_network(block["cidr"]):
                return False
            return not any(address in ipaddress.ip_network(e) for e in block.get("except") or [])
        if not other.is_pod:
            return False
        assert other.namespace is not None
        if "namespaceSelector" in peer:
            labels = self.namespace_labels.get(
                other.namespace, {NAMESPACE_NAME_LABEL: other.namespace}
            )
            if not matches(peer["namespaceSelector"] or {}, labels):
                return False
        elif other.namespace != policy.namespace:
            return False
        return "podSelector" not in peer or matches(peer["podSelector"] or {}, dict(other.labels))


def _policy_types(policy: Subject) -> list[str]:
    spec = policy.props.get("spec") or {}
    types = spec.get("policyTypes")
    if types:
        return list(types)
    return ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]


def _port_matches(
    ports: Sequence[Mapping[str, Any]] | None, connection: Connection, target: Endpoint
) -> bool:
    if not ports:
        return True
    for entry in ports:
        if entry.get("protocol", "TCP") != connection.protocol:
            continue
        port = entry.get("port")
        if port is None:
            return True
        number = target.ports.get(port) if isinstance(port, str) else port
        end = entry.get("endPort", number)
        if number is not None and number <= connection.port <= end:
            return True
    return False


def _pod(peer: PodPeer) -> Endpoint:
    return Endpoint(peer.namespace, dict(peer.pod_labels))


def _host_in(cidr: str, avoid: Sequence[str] = ()) -> str:
    """An address inside ``cidr`` outside every block in ``avoid``."""
    network = ipaddress.ip_network(cidr)
    blocked = [ipaddress.ip_network(block) for block in avoid]
    for offset in (10, 1000, 100000, 1 << 24):
        if offset >= network.num_addresses:
            continue
        candidate = network[offset]
        if not any(candidate in block for block in blocked):
            return str(candidate)
    return str(network[0])


def expected_connections(
    env: EnvironmentConfig, app_labels: Mapping[str, str]
) -> tuple[list[Connection], list[Connection]]:
    """The connections the configuration declares (must be allowed), and probes of what it
    does not (must be denied)."""
    app, network = env.app, env.security.network
    ports = {HTTP_PORT_NAME: app.port, METRICS_PORT_NAME: app.metrics_port}
    pods = Endpoint(env.namespace, dict(app_labels), ports=ports)
    prometheus = _pod(network.monitoring)
    dns = _pod(network.dns)
    allowed = [
        Connection("Prometheus scrapes the metrics port", prometheus, pods, app.metrics_port),
        Connection("the app resolves names over UDP", pods, dns, 53, "UDP"),
        Connection("the app resolves names over TCP", pods, dns, 53, "TCP"),
    ]
    if network.ingress_controller_namespace:
        controller = Endpoint(network.ingress_controller_namespace, {"app": "controller"})
        allowed.append(
            Connection("the ingress controller calls the app", controller, pods, app.port)
        )
    allowed.extend(
        Connection(f"peer {p.namespace} calls the app", _pod(p), pods, app.port)
        for p in network.peers
    )
    for cidr in network.load_balancer_sources:
        allowed.append(
            Connection(
                f"the load balancer ({cidr}) calls the app",
                Endpoint(ip=_host_in(cidr)),
                pods,
                app.port,
            )
        )
    database = network.database
    if database is not None:
        target = _pod(database.pods) if database.pods else Endpoint(ip=_host_in(database.cidrs[0]))
        allowed.append(Connection("the app reaches its database", pods, target, database.port))
    redis = network.redis
    if redis is not None:
        cache = _pod(redis.pods) if redis.pods else Endpoint(ip=_host_in(redis.cidrs[0]))
        allowed.append(Connection("the app reaches its Redis", pods, cache, redis.port))
    for cidr in network.https.cidrs:
        avoid = ["169.254.169.254/32", *network.https.exclude]
        allowed.append(
            Connection(
                f"the app calls HTTPS in {cidr}", pods, Endpoint(ip=_host_in(cidr, avoid)), 443
            )
        )

    stranger = Endpoint("prodstack-stranger", {"app": "stranger"})
    denied = [
        Connection("a pod of another namespace calls the app", stranger, pods, app.port),
        Connection("Prometheus calls the app port", prometheus, pods, app.port),
        Connection("an app pod calls another app pod", pods, pods, app.port),
        Connection("the app reads instance metadata", pods, Endpoint(ip="169.254.169.254"), 80),
        Connection(
            "the app reads instance metadata over 443", pods, Endpoint(ip="169.254.169.254"), 443
        ),
        Connection(
            "the app calls plain HTTP on the internet", pods, Endpoint(ip="198.51.100.7"), 80
        ),
        Connection(
            "the app reaches another kube-system pod on 53",
            pods,
            Endpoint(dns.namespace, {"app": "not-dns"}),
            53,
            "UDP",
        ),
    ]
    internet = ipaddress.ip_address("198.51.100.7")
    # Unless the load balancer's client ranges admit the whole internet on purpose.
    if not any(internet in ipaddress.ip_network(c) for c in network.load_balancer_sources):
        denied.append(
            Connection("the internet calls the app", Endpoint(ip=str(internet)), pods, app.port)
        )
    return allowed, denied


def backup_job_pods(index: Index, env: EnvironmentConfig) -> list[tuple[str, dict[str, str]]]:
    """The backup and restore-check CronJobs' pod labels, when the stack has them."""
    if env.db_backup is None:
        return []
    names = (f"{env.app.name}-db-backup", f"{env.app.name}-db-restore-check")
    return [
        (subject.object_name, labels)
        for subject, labels in index.pod_label_sets(env.namespace)
        if subject.kind == "CronJob" and subject.object_name in names
    ]


def job_connections(
    env: EnvironmentConfig, job: str, labels: Mapping[str, str], app_labels: Mapping[str, str]
) -> tuple[list[Connection], list[Connection]]:
    """A backup job reaches its database and S3/STS over HTTPS, and nothing of the app's."""
    network = env.security.network
    pods = Endpoint(env.namespace, dict(labels))
    app = Endpoint(env.namespace, dict(app_labels), ports={HTTP_PORT_NAME: env.app.port})
    allowed = []
    database = network.database
    if database is not None:
        target = _pod(database.pods) if database.pods else Endpoint(ip=_host_in(database.cidrs[0]))
        allowed.append(Connection(f"{job} reaches the database", pods, target, database.port))
    for cidr in network.https.cidrs:
        avoid = ["169.254.169.254/32", *network.https.exclude]
        address = Endpoint(ip=_host_in(cidr, avoid))
        allowed.append(Connection(f"{job} reaches S3 and STS in {cidr}", pods, address, 443))
    denied = [
        Connection(f"{job} reads instance metadata", pods, Endpoint(ip="169.254.169.254"), 80),
        Connection(f"{job} calls the app", pods, app, env.app.port),
        Connection(f"the app calls {job}", app, pods, env.app.port),
    ]
    return allowed, denied


def flow_problems(
    index: Index, env: EnvironmentConfig, app_labels: Mapping[str, str]
) -> Iterator[str]:
    """Declared flows that the policies block, and probes that they let through."""
    model = NetworkModel(index)
    allowed, denied = expected_connections(env, app_labels)
    for job, labels in backup_job_pods(index, env):
        more_allowed, more_denied = job_connections(env, job, labels, app_labels)
        allowed += more_allowed
        denied += more_denied
    for connection in allowed:
        if not model.allows(connection):
            yield f"declared flow is blocked: {_describe(connection)}"
    for connection in denied:
        if model.allows(connection):
            yield f"undeclared flow is allowed: {_describe(connection)}"


def _describe(connection: Connection) -> str:
    return f"{connection.name} ({connection.port}/{connection.protocol})"
