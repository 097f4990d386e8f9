"""The ALB entry point: an Ingress of the AWS Load Balancer Controller whose traffic Argo Rollouts
splits between the stable and canary Services with exact weights.

Argo Rollouts' ALB routing (argo-rollouts rollout/trafficrouting/alb/alb.go) writes the
annotation ``alb.ingress.kubernetes.io/actions.<rootService>``: a forward action to the canary
and stable Services (target groups of pod IPs) with the current weight. The Ingress rule's
backend is the root Service on the port named ``use-annotation``, which tells the controller to
take the action from that annotation (aws-load-balancer-controller
pkg/ingress/enhanced_backend_builder.go); until the Rollouts controller first writes it, the
controller answers that rule with 503. prodstack never writes the actions annotation itself:
neither Pulumi (server-side apply owns only the fields it sets) nor Argo CD undoes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from prodstack.config.load_balancer import LoadBalancerConfig
from prodstack.specs.drain import Drain

Manifest = dict[str, Any]

ALB = "alb.ingress.kubernetes.io/"
INGRESS_CLASS = "alb"
USE_ANNOTATION = "use-annotation"
# The stable and canary Services listen on 80 (prodstack.components.canary_app.service_spec).
SERVICE_PORT = 80


@dataclass(frozen=True)
class AlbRouting:
    """What the Rollout's ``trafficRouting.alb`` names: the Ingress, the root Service whose
    action the controller writes, and the port of the stable and canary Services."""

    ingress: str
    root_service: str
    service_port: int = SERVICE_PORT

    def manifest(self) -> Manifest:
        return {
            "alb": {
                "ingress": self.ingress,
                "rootService": self.root_service,
                "servicePort": self.service_port,
            }
        }


def ingress_annotations(
    lb: LoadBalancerConfig, *, health_path: str, drain: Drain | None
) -> dict[str, str]:
    """Scheme, IP targets, listeners (HTTP, and HTTPS with a redirect when TLS is set), health
    check on the readiness path, deregistration delay, who may connect, WAF."""
    health = lb.health_check
    listeners: list[dict[str, int]] = [{"HTTP": lb.port}]
    found = {
        ALB + "scheme": lb.scheme,
        ALB + "target-type": "ip",
        ALB + "healthcheck-protocol": "HTTP",
        ALB + "healthcheck-path": health_path,
        ALB + "healthcheck-port": "traffic-port",
        ALB + "healthcheck-interval-seconds": str(health.interval_seconds),
        ALB + "healthcheck-timeout-seconds": str(health.timeout_seconds),
        ALB + "healthy-threshold-count": str(health.healthy_threshold),
        ALB + "unhealthy-threshold-count": str(health.unhealthy_threshold),
        ALB + "success-codes": "200-399",
    }
    if lb.tls is not None:
        listeners.append({"HTTPS": lb.tls.port})
        found[ALB + "certificate-arn"] = ",".join(lb.tls.certificate_arns)
        found[ALB + "ssl-policy"] = lb.tls.ssl_policy
        found[ALB + "ssl-redirect"] = str(lb.tls.port)
    found[ALB + "listen-ports"] = json.dumps(listeners, separators=(",", ":"))
    if drain is not None:
        found[ALB + "target-group-attributes"] = (
            f"deregistration_delay.timeout_seconds={drain.deregistration_delay_seconds}"
        )
    if lb.idle_timeout_seconds is not None:
        found[ALB + "load-balancer-attributes"] = (
            f"idle_timeout.timeout_seconds={lb.idle_timeout_seconds}"
        )
    if lb.source_ranges:
        found[ALB + "inbound-cidrs"] = ",".join(str(cidr) for cidr in lb.source_ranges)
    if lb.waf_acl_arn is not None:
        found[ALB + "wafv2-acl-arn"] = lb.waf_acl_arn
    if lb.group_name is not None:
        found[ALB + "group.name"] = lb.group_name
    return found


def ingress_spec(lb: LoadBalancerConfig, routing: AlbRouting) -> Manifest:
    """One rule per host (or one for any host): every path to the root Service's action."""
    path = {
        "path": "/",
        "pathType": "Prefix",
        "backend": {"service": {"name": routing.root_service, "port": {"name": USE_ANNOTATION}}},
    }
    rules: list[Manifest] = (
        [{"host": host, "http": {"paths": [path]}} for host in lb.hosts]
        if lb.hosts
        else [{"http": {"paths": [path]}}]
    )
    return {"ingressClassName": INGRESS_CLASS, "rules": rules}
