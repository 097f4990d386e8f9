"""The ``type: LoadBalancer`` Service that AWS provisions as a Network Load Balancer.

Two controllers can provision it, and they read different annotations:

- the AWS Load Balancer Controller (``aws-load-balancer-type: external``): explicit
  ``aws-load-balancer-scheme``, ``nlb-target-type`` (``ip`` sends traffic straight to pod IPs),
  cross-zone and idle timeout as load balancer and listener attributes, the target group's
  deregistration delay and connection termination, an HTTP health check on the readiness
  path, and TLS with ACM certificates (aws-load-balancer-controller
  docs/guide/service/annotations.md);
- the legacy in-tree cloud provider (``aws-load-balancer-type: nlb``): instance targets only,
  internal via ``aws-load-balancer-internal``, no idle timeout for NLBs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prodstack.config.load_balancer import LB_CONTROLLER, LoadBalancerConfig
from prodstack.specs.drain import Drain
from prodstack.specs.pod import HTTP_PORT_NAME

Manifest = dict[str, Any]

PREFIX = "service.beta.kubernetes.io/aws-load-balancer-"
TYPE = PREFIX + "type"
SCHEME = PREFIX + "scheme"
TARGET_TYPE = PREFIX + "nlb-target-type"
ATTRIBUTES = PREFIX + "attributes"
INTERNAL = PREFIX + "internal"
CROSS_ZONE_IN_TREE = PREFIX + "cross-zone-load-balancing-enabled"
TARGET_GROUP_ATTRIBUTES = PREFIX + "target-group-attributes"
HEALTHCHECK = PREFIX + "healthcheck-"
SSL_CERT = PREFIX + "ssl-cert"
SSL_PORTS = PREFIX + "ssl-ports"
SSL_POLICY = PREFIX + "ssl-negotiation-policy"
READINESS_GATE_LABEL = "elbv2.k8s.aws/pod-readiness-gate-inject"


def listener_attributes_key(port: int, protocol: str = "TCP") -> str:
    return f"{PREFIX}listener-attributes.{protocol}-{port}"


def _bool(value: bool) -> str:
    return "true" if value else "false"


def service_annotations(
    lb: LoadBalancerConfig, *, health_path: str = "/ready", drain: Drain | None = None
) -> dict[str, str]:
    """The controller-specific annotations; every choice is written out, none left implicit.

    ``health_path`` is the readiness probe's path: the NLB checks each pod over HTTP there, so
    a pod that is not ready gets no new flows. ``drain`` sets the deregistration delay (a
    deregistering target keeps its connections while the pod can still answer them, then they
    are closed)."""
    if lb.controller == LB_CONTROLLER:
        health = lb.health_check
        found = {
            TYPE: "external",
            TARGET_TYPE: lb.effective_target_type,
            SCHEME: lb.scheme,
            ATTRIBUTES: f"load_balancing.cross_zone.enabled={_bool(lb.cross_zone)}",
            HEALTHCHECK + "protocol": "http",
            HEALTHCHECK + "path": health_path,
            HEALTHCHECK + "port": "traffic-port",
            HEALTHCHECK + "interval": str(health.interval_seconds),
            HEALTHCHECK + "timeout": str(health.timeout_seconds),
            HEALTHCHECK + "healthy-threshold": str(health.healthy_threshold),
            HEALTHCHECK + "unhealthy-threshold": str(health.unhealthy_threshold),
            HEALTHCHECK + "success-codes": "200-399",
        }
        if drain is not None:
            found[TARGET_GROUP_ATTRIBUTES] = (
                f"deregistration_delay.timeout_seconds={drain.deregistration_delay_seconds},"
                "deregistration_delay.connection_termination.enabled=true"
            )
        listener_port = lb.tls.port if lb.tls is not None else lb.port
        if lb.idle_timeout_seconds is not None:
            found[listener_attributes_key(listener_port)] = (
                f"tcp.idle_timeout.seconds={lb.idle_timeout_seconds}"
            )
        if lb.tls is not None:
            found[SSL_CERT] = ",".join(lb.tls.certificate_arns)
            found[SSL_PORTS] = str(lb.tls.port)
            found[SSL_POLICY] = lb.tls.ssl_policy
        return found
    found = {TYPE: "nlb", CROSS_ZONE_IN_TREE: _bool(lb.cross_zone)}
    if lb.scheme == "internal":
        found[INTERNAL] = "true"
    return found


def service_spec(lb: LoadBalancerConfig, selector: Mapping[str, str]) -> Manifest:
    """Port ``lb.port`` to the pods' named ``http`` port, over every pod of the app.

    The selector covers stable and canary pods alike: without a traffic router, Argo Rollouts
    splits traffic by pod count, so the load balancer must reach both. With ``ip`` targets no
    node ports are allocated: nothing listens on every node for this service.
    """
    port = lb.tls.port if lb.tls is not None else lb.port
    spec: Manifest = {
        "type": "LoadBalancer",
        "selector": dict(selector),
        "ports": [
            {
                # With TLS the NLB terminates it on this port and forwards plain HTTP.
                "name": "https" if lb.tls is not None else HTTP_PORT_NAME,
                "port": port,
                "targetPort": HTTP_PORT_NAME,
                "protocol": "TCP",
            }
        ],
        "sessionAffinity": "None",
    }
    if lb.effective_target_type == "ip":
        spec["allocateLoadBalancerNodePorts"] = False
    if lb.source_ranges:
        spec["loadBalancerSourceRanges"] = [str(cidr) for cidr in lb.source_ranges]
    return spec


def namespace_labels(lb: LoadBalancerConfig) -> dict[str, str]:
    """Labels the app's namespace needs: with ip targets, the AWS Load Balancer Controller's
    webhook gives each new pod a readiness gate that opens once the NLB has the pod healthy,
    so a rollout never scales the old pods down while the NLB has no healthy new target."""
    return {READINESS_GATE_LABEL: "enabled"} if lb.uses_readiness_gate else {}
