"""Which connections a program's NetworkPolicies allow, evaluated the way Kubernetes does.

Two families of findings:

- **pairing**, for any program: every flow a NetworkPolicy declares for its own pods towards
  (or from) pods of the program must also be admitted on the other side, whose namespace may
  deny it by default. A call declared by the caller's egress but missing the callee's ingress
  (or the reverse) is reported.
- **declared connections**, when the stack's configuration is known: every flow and call the
  configuration declares is allowed, and probes of what it does not declare (another
  namespace, another service, instance metadata, the internet...) are denied.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prodstack.check.references import Index, matches
from prodstack.config.environment import EnvironmentConfig, callee_port
from prodstack.config.security import INSTANCE_METADATA, PodPeer
from prodstack.config.service import ServiceConfig
from prodstack.plan.network import app_selector, backup_job_selector
from prodstack.policies.model import Subject
from prodstack.specs.network import FLOW_ANNOTATION, NAMESPACE_NAME_LABEL
from prodstack.specs.pod import HTTP_PORT_NAME, METRICS_PORT_NAME

STRANGER_NAMESPACE = "prodstack-stranger"
INTERNET_ADDRESS = "198.51.100.7"
METADATA_ADDRESS = str(ipaddress.ip_network(INSTANCE_METADATA).network_address)


@dataclass(frozen=True)
class Endpoint:
    """A pod (namespace and labels, and its named ports) or an address outside the cluster."""

    namespace: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    ip: str | None = None
    ports: Mapping[str, int] = field(default_factory=dict)
    name: str = ""

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
    """NetworkPolicy semantics over the program's policies. Namespaces outside the program
    have no policies it knows of, so their side of a connection is taken as open."""

    def __init__(self, index: Index) -> None:
        self.policies = index.of_kind("NetworkPolicy")
        # By (namespace, direction): each policy's pod selector, read once (check asks for
        # every connection between every pair of services).
        self._selectors: dict[tuple[str | None, str], list[tuple[Subject, dict[str, Any]]]] = (
            defaultdict(list)
        )
        for policy in self.policies:
            selector = (policy.props.get("spec") or {}).get("podSelector") or {}
            for policy_type in set(_policy_types(policy)):
                self._selectors[(policy.namespace, policy_type)].append((policy, selector))
        self.namespace_labels: dict[str, dict[str, str]] = {}
        for namespace in index.of_kind("Namespace"):
            labels = dict((namespace.props.get("metadata") or {}).get("labels") or {})
            labels[NAMESPACE_NAME_LABEL] = namespace.object_name
            self.namespace_labels[namespace.object_name] = labels

    def allows(self, connection: Connection) -> bool:
        return self.side_allows(connection, "egress") and self.side_allows(connection, "ingress")

    def side_allows(self, connection: Connection, direction: str) -> bool:
        pod = connection.source if direction == "egress" else connection.destination
        peer = connection.destination if direction == "egress" else connection.source
        if not pod.is_pod:
            return True
        selecting = self.selecting(pod, direction)
        if not selecting:
            return True  # not isolated in this direction
        for policy in selecting:
            for rule in (policy.props.get("spec") or {}).get(direction) or []:
                peers = rule.get("to" if direction == "egress" else "from")
                if peers and not any(self.peer_matches(p, peer, policy) for p in peers):
                    continue
                if _port_matches(rule.get("ports"), connection, connection.destination):
                    return True
        return False

    def selecting(self, pod: Endpoint, direction: str) -> list[Subject]:
        policy_type = "Egress" if direction == "egress" else "Ingress"
        labels = dict(pod.labels)
        return [
            policy
            for policy, selector in self._selectors.get((pod.namespace, policy_type), ())
            if matches(selector, labels)
        ]

    def peer_matches(self, peer: Mapping[str, Any], other: Endpoint, policy: Subject) -> bool:
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


def workloads(index: Index) -> list[Endpoint]:
    """Every pod of the program as an endpoint: its namespace, labels, named ports."""
    found = []
    for pod in index.pods():
        ports = {
            str(port["name"]): int(port["containerPort"])
            for container in pod.spec.get("containers") or []
            for port in container.get("ports") or []
            if port.get("name") and isinstance(port.get("containerPort"), int)
        }
        owner = pod.owner
        found.append(
            Endpoint(
                owner.namespace or "default",
                pod.labels,
                ports=ports,
                name=f"{owner.kind} {owner.namespace}/{owner.object_name}",
            )
        )
    return found


def pairing_problems(index: Index) -> Iterator[str]:
    """Flows a policy declares towards (or from) the program's own pods that the other side's
    policies block."""
    model = NetworkModel(index)
    pods = workloads(index)
    seen: set[tuple[str, str, int, str]] = set()
    for policy in model.policies:
        spec = policy.props.get("spec") or {}
        selected = [
            w
            for w in pods
            if w.namespace == policy.namespace
            and matches(spec.get("podSelector") or {}, dict(w.labels))
        ]
        annotations = (policy.props.get("metadata") or {}).get("annotations") or {}
        why = (
            annotations.get(FLOW_ANNOTATION)
            or f"NetworkPolicy {policy.namespace}/{policy.object_name}"
        )
        for direction in ("ingress", "egress"):
            for rule in spec.get(direction) or []:
                for peer in rule.get("from" if direction == "ingress" else "to") or []:
                    if "ipBlock" in peer:
                        continue
                    others = [w for w in pods if model.peer_matches(peer, w, policy)]
                    for own in selected:
                        for other in others:
                            source, destination = (
                                (other, own) if direction == "ingress" else (own, other)
                            )
                            for number, protocol in _rule_ports(rule, destination):
                                key = (source.name, destination.name, number, protocol)
                                if key in seen:
                                    continue
                                seen.add(key)
                                connection = Connection(why, source, destination, number, protocol)
                                blocked = "egress" if direction == "ingress" else "ingress"
                                if not model.side_allows(connection, blocked):
                                    where = (
                                        source.namespace
                                        if blocked == "egress"
                                        else destination.namespace
                                    )
                                    yield (
                                        f"declared flow is blocked: {why} ({source.name} -> "
                                        f"{destination.name} on {number}/{protocol}): no "
                                        f"{blocked} policy in namespace {where} admits it"
                                    )


def _rule_ports(rule: Mapping[str, Any], destination: Endpoint) -> list[tuple[int, str]]:
    ports = rule.get("ports") or []
    if not ports:
        return [(number, "TCP") for number in sorted(set(destination.ports.values()))]
    found = []
    for entry in ports:
        port = entry.get("port")
        protocol = str(entry.get("protocol", "TCP"))
        number = destination.ports.get(port) if isinstance(port, str) else port
        if isinstance(number, int):
            found.append((number, protocol))
    return found


def _pod(peer: PodPeer) -> Endpoint:
    return Endpoint(peer.namespace, dict(peer.pod_labels), name=f"pods of {peer.namespace}")


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


def _app(env: EnvironmentConfig, service: ServiceConfig) -> Endpoint:
    names = env.names_of(service)
    ports = {HTTP_PORT_NAME: service.app.port, METRICS_PORT_NAME: service.app.metrics_port}
    return Endpoint(names.namespace, app_selector(names), ports=ports, name=service.name)


def service_connections(
    env: EnvironmentConfig, service: ServiceConfig
) -> tuple[list[Connection], list[Connection]]:
    """One service's declared connections (must be allowed) and probes of what it does not
    declare (must be denied), calls between services aside."""
    app, network = service.app, service.security.network
    pods = _app(env, service)
    who = service.name
    prometheus = _pod(env.network.monitoring)
    dns = _pod(env.network.dns)
    allowed = [
        Connection(f"Prometheus scrapes {who}'s metrics port", prometheus, pods, app.metrics_port),
        Connection(f"{who} resolves names over UDP", pods, dns, 53, "UDP"),
        Connection(f"{who} resolves names over TCP", pods, dns, 53, "TCP"),
    ]
    if network.ingress_controller_namespace:
        controller = Endpoint(network.ingress_controller_namespace, {"app": "controller"})
        allowed.append(
            Connection(f"the ingress controller calls {who}", controller, pods, app.port)
        )
    allowed.extend(
        Connection(f"peer {p.namespace} calls {who}", _pod(p), pods, app.port)
        for p in network.peers
    )
    for cidr in network.load_balancer_sources:
        allowed.append(
            Connection(
                f"the load balancer ({cidr}) calls {who}",
                Endpoint(ip=_host_in(cidr)),
                pods,
                app.port,
            )
        )
    for what, target_config in (("database", network.database), ("Redis", network.redis)):
        if target_config is not None:
            target = (
                _pod(target_config.pods)
                if target_config.pods
                else Endpoint(ip=_host_in(target_config.cidrs[0]))
            )
            allowed.append(
                Connection(f"{who} reaches its {what}", pods, target, target_config.port)
            )
    for cidr in network.https.cidrs:
        avoid = [INSTANCE_METADATA, *network.https.exclude]
        allowed.append(
            Connection(
                f"{who} calls HTTPS in {cidr}", pods, Endpoint(ip=_host_in(cidr, avoid)), 443
            )
        )

    stranger = Endpoint(STRANGER_NAMESPACE, {"app": "stranger"})
    metadata = Endpoint(ip=METADATA_ADDRESS)
    denied = [
        Connection(f"a pod of another namespace calls {who}", stranger, pods, app.port),
        Connection(f"Prometheus calls {who}'s app port", prometheus, pods, app.port),
        Connection(f"{who} reads instance metadata", pods, metadata, 80),
        Connection(f"{who} reads instance metadata over 443", pods, metadata, 443),
        Connection(
            f"{who} calls plain HTTP on the internet", pods, Endpoint(ip=INTERNET_ADDRESS), 80
        ),
        Connection(
            f"{who} reaches another kube-system pod on 53",
            pods,
            Endpoint(dns.namespace, {"app": "not-dns"}),
            53,
            "UDP",
        ),
    ]
    if not any(c.service == service.name for c in service.calls):
        denied.append(Connection(f"a pod of {who} calls another", pods, pods, app.port))
    # With the VPC CNI a pod has a VPC address: an IP block with pods in it admits them.
    for cidr in env.network.pod_cidrs:
        at = _host_in(cidr)
        pod = Endpoint(STRANGER_NAMESPACE, {"app": "stranger"}, ip=at)
        denied.append(
            Connection(f"a pod of another namespace (at {at}) calls {who}", pod, pods, app.port)
        )
    internet = ipaddress.ip_address(INTERNET_ADDRESS)
    # Unless the load balancer's client ranges admit the whole internet on purpose.
    if not any(internet in ipaddress.ip_network(c) for c in network.load_balancer_sources):
        denied.append(
            Connection(f"the internet calls {who}", Endpoint(ip=str(internet)), pods, app.port)
        )
    if service.db_backup is not None:
        more_allowed, more_denied = job_connections(env, service)
        allowed += more_allowed
        denied += more_denied
    return allowed, denied


def job_connections(
    env: EnvironmentConfig, service: ServiceConfig
) -> tuple[list[Connection], list[Connection]]:
    """A service's backup jobs reach its database and S3/STS over HTTPS, nothing of the app."""
    network = service.security.network
    names = env.names_of(service)
    jobs = Endpoint(names.namespace, backup_job_selector(names), name=names.backup)
    app = _app(env, service)
    allowed = []
    database = network.database
    if database is not None:
        target = _pod(database.pods) if database.pods else Endpoint(ip=_host_in(database.cidrs[0]))
        allowed.append(
            Connection(f"{names.backup} reaches the database", jobs, target, database.port)
        )
    for cidr in network.https.cidrs:
        avoid = [INSTANCE_METADATA, *network.https.exclude]
        address = Endpoint(ip=_host_in(cidr, avoid))
        allowed.append(
            Connection(f"{names.backup} reaches S3 and STS in {cidr}", jobs, address, 443)
        )
    denied = [
        Connection(
            f"{names.backup} reads instance metadata", jobs, Endpoint(ip=METADATA_ADDRESS), 80
        ),
        Connection(f"{names.backup} calls {service.name}", jobs, app, service.app.port),
        Connection(f"{service.name} calls {names.backup}", app, jobs, service.app.port),
    ]
    return allowed, denied


def call_connections(env: EnvironmentConfig) -> tuple[list[Connection], list[Connection]]:
    """Every declared call is allowed; every other service-to-service connection is denied."""
    allowed, denied = [], []
    endpoints = {service.name: _app(env, service) for service in env.services.values()}
    for caller in env.services.values():
        source = endpoints[caller.name]
        declared = {(c.service, callee_port(env, c.service, c.port)) for c in caller.calls}
        for callee in env.services.values():
            destination = endpoints[callee.name]
            for port in sorted({callee.app.port, callee.app.metrics_port}):
                connection = Connection(
                    f"{caller.name} calls {callee.name}", source, destination, port
                )
                if (callee.name, port) in declared:
                    allowed.append(connection)
                elif callee is not caller:
                    denied.append(connection)
    return allowed, denied


def declared_problems(index: Index, env: EnvironmentConfig) -> Iterator[str]:
    """Declared flows that the policies block, and probes that they let through."""
    model = NetworkModel(index)
    allowed, denied = call_connections(env)
    for service in env.services.values():
        more_allowed, more_denied = service_connections(env, service)
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
