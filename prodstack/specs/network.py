"""NetworkPolicies as declared flows: a default deny, then one policy per allowed flow."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from prodstack.config.security import INSTANCE_METADATA, NetworkConfig, PodPeer, ServiceEgress

Manifest = dict[str, Any]
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
# Each flow NetworkPolicy says in words what it admits (and prodstack check quotes it).
FLOW_ANNOTATION = "prodstack.io/flow"


@dataclass(frozen=True)
class Peer:
    """The other end of a flow: pods (in a namespace) or an IP block."""

    namespace: str | None = None
    pod_labels: Mapping[str, str] | None = None
    cidr: str | None = None
    excluded: tuple[str, ...] = ()

    def manifest(self) -> Manifest:
        if self.cidr is not None:
            block: Manifest = {"cidr": self.cidr}
            if self.excluded:
                block["except"] = list(self.excluded)
            return {"ipBlock": block}
        # Namespace and pod selectors in ONE peer: pods with these labels in that namespace
        # (two peers would allow the whole namespace, or those labels in any namespace).
        peer: Manifest = {}
        if self.namespace is not None:
            peer["namespaceSelector"] = {"matchLabels": {NAMESPACE_NAME_LABEL: self.namespace}}
        if self.pod_labels:
            peer["podSelector"] = {"matchLabels": dict(self.pod_labels)}
        return peer


@dataclass(frozen=True)
class Flow:
    """Traffic the stack needs: into (ingress) or out of (egress) the selected pods."""

    name: str
    description: str
    direction: Literal["ingress", "egress"]
    pods: Mapping[str, str]
    peers: tuple[Peer, ...]
    ports: tuple[tuple[int | str, str], ...]
    labels: Mapping[str, str] = field(default_factory=dict)


def default_deny_spec() -> Manifest:
    """Every pod in the namespace: no ingress, no egress, until a flow allows it."""
    return {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def flow_spec(flow: Flow) -> Manifest:
    rule: Manifest = {
        "from" if flow.direction == "ingress" else "to": [p.manifest() for p in flow.peers],
        "ports": [{"port": port, "protocol": protocol} for port, protocol in flow.ports],
    }
    return {
        "podSelector": {"matchLabels": dict(flow.pods)},
        "policyTypes": ["Ingress" if flow.direction == "ingress" else "Egress"],
        flow.direction: [rule],
    }


def pod_peer(peer: PodPeer) -> Peer:
    return Peer(namespace=peer.namespace, pod_labels=dict(peer.pod_labels) or None)


def cidr_peers(cidrs: Sequence[str], exclude: Sequence[str] = ()) -> tuple[Peer, ...]:
    """IP blocks; each excludes the listed blocks (and instance metadata) that fall inside it."""
    peers = []
    for cidr in cidrs:
        network = ipaddress.ip_network(cidr)
        inside = [
            block
            for block in (INSTANCE_METADATA, *exclude)
            if _within(ipaddress.ip_network(block), network) and block != cidr
        ]
        peers.append(Peer(cidr=cidr, excluded=tuple(dict.fromkeys(inside))))
    return tuple(peers)


def _within(block: ipaddress.IPv4Network | ipaddress.IPv6Network, network: Any) -> bool:
    return block.version == network.version and block.subnet_of(network)


def service_flow(
    name: str, description: str, pods: Mapping[str, str], target: ServiceEgress
) -> Flow:
    """Egress from ``pods`` to a backing service on its TCP port."""
    peers = (pod_peer(target.pods),) if target.pods else cidr_peers(target.cidrs)
    return Flow(name, description, "egress", pods, peers, ((target.port, "TCP"),))


def https_flow(
    name: str, description: str, pods: Mapping[str, str], network: NetworkConfig
) -> Flow:
    peers = cidr_peers(network.https.cidrs, network.https.exclude)
    return Flow(name, description, "egress", pods, peers, ((443, "TCP"),))
