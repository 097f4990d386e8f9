"""The service's entry point on AWS: a Network Load Balancer (L4, a ``type: LoadBalancer``
Service) or an Application Load Balancer (L7, an Ingress of the AWS Load Balancer Controller
that Argo Rollouts routes canary traffic through); who may reach it, TLS, health checks and
how targets drain."""

from __future__ import annotations

import re
from typing import Annotated, Final, Literal

from pydantic import Field, IPvAnyNetwork, model_validator

from prodstack.config.base import ConfigModel, Violation, raise_violations
from prodstack.config.types import CidrText, Port, matching

LB_CONTROLLER: Final = "aws-load-balancer-controller"
IN_TREE: Final = "in-tree"

# NLB TCP listener idle timeout bounds; AWS uses 350 s when it is not set.
MIN_IDLE_TIMEOUT = 60
MAX_IDLE_TIMEOUT = 6000
# ALB idle timeout bounds (load balancer attribute idle_timeout.timeout_seconds).
MAX_ALB_IDLE_TIMEOUT = 4000
# Target group deregistration delay bounds (AWS: 0-3600 s).
MAX_DEREGISTRATION_DELAY = 3600

# How long a load balancer keeps sending new connections to a target after the pod starts
# terminating, by entry point. An NLB with IP targets does for about two minutes, whatever the
# deregistration delay (aws-load-balancer-controller issues #1834, #2366, #3270: "a limitation
# from the NLB side"); an ALB stops routing new requests to a deregistering target, so what is
# left is the controller's reaction to the endpoint change.
NLB_IP_PROPAGATION_SECONDS = 120
NLB_INSTANCE_PROPAGATION_SECONDS = 15
ALB_PROPAGATION_SECONDS = 20

_ACM_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]{36}$")
_WAF_ARN = re.compile(
    r"^arn:aws(-cn|-us-gov)?:wafv2:[a-z0-9-]+:[0-9]{12}:regional/webacl/[A-Za-z0-9_-]+/[0-9a-f-]{36}$"
)
_HOST = re.compile(
    r"^(\*\.)?[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$"
)
_GROUP = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$")
# ELB security policies for TLS listeners (both NLB and ALB): TLS 1.2 at least.
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


AcmCertificateArn = Annotated[
    str,
    matching(
        _ACM_ARN, "is not an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)"
    ),
]
WafAclArn = Annotated[
    str,
    matching(
        _WAF_ARN,
        "is not a regional WAFv2 web ACL ARN "
        "(arn:aws:wafv2:<region>:<account>:regional/webacl/...)",
    ),
]
HostName = Annotated[str, matching(_HOST, "is not a host name (api.example.com, or *.example.com)")]


class TlsConfig(ConfigModel):
    """TLS at the load balancer with certificates from ACM (the first is the default one).
    An ALB also redirects HTTP to HTTPS; an NLB (L4) listens on the TLS port only."""

    certificate_arns: Annotated[tuple[AcmCertificateArn, ...], Field(min_length=1)]
    ssl_policy: Annotated[str, Field(pattern=r"^ELBSecurityPolicy-[A-Za-z0-9-]+$")] = SSL_POLICY
    port: Port = 443


class HealthCheckConfig(ConfigModel):
    """The load balancer's HTTP health check of each pod, on the readiness probe's path and the
    ``http`` port: a pod that is not ready (or is terminating) gets no new traffic."""

    interval_seconds: Annotated[int, Field(ge=5, le=300)] = 10
    timeout_seconds: Annotated[int, Field(ge=2, le=120)] = 5
    healthy_threshold: Annotated[int, Field(ge=2, le=10)] = 2
    unhealthy_threshold: Annotated[int, Field(ge=2, le=10)] = 2


class LoadBalancerConfig(ConfigModel):
    """The service's entry point: ``type: nlb`` (a ``type: LoadBalancer`` Service provisioned
    as an NLB; canary weights are replica ratios) or ``type: alb`` (an Ingress of the AWS Load
    Balancer Controller; Argo Rollouts sets exact weights on the stable and canary target
    groups).

    ``scheme`` has no default that opens the service to the internet: it is ``internal``
    unless the stack says ``internet-facing``, and an internet-facing load balancer must list
    the client ranges it admits (``0.0.0.0/0`` for everyone, on purpose) and, in production,
    terminate TLS (``allowPlaintext: true`` is the explicit opt-out).
    ``drainPropagationSeconds`` is how long the load balancer may still send new connections
    to a terminating pod: the pod's pre-stop drain is at least that long.
    """

    type: Literal["nlb", "alb"] = "nlb"
    scheme: Literal["internal", "internet-facing"] = "internal"
    controller: Literal["aws-load-balancer-controller", "in-tree"] = LB_CONTROLLER
    target_type: Literal["ip", "instance"] | None = None
    cross_zone: bool = True
    idle_timeout_seconds: Annotated[int, Field(ge=1, le=MAX_IDLE_TIMEOUT)] | None = None
    source_ranges: tuple[Annotated[IPvAnyNetwork, CidrText], ...] = ()
    port: Port = 80
    pod_readiness_gate: bool = True
    tls: TlsConfig | None = None
    allow_plaintext: bool = False
    health_check: HealthCheckConfig = HealthCheckConfig()
    drain_propagation_seconds: Annotated[int, Field(ge=0, le=600)] | None = None
    hosts: tuple[HostName, ...] = ()
    waf_acl_arn: WafAclArn | None = None
    group_name: Annotated[str, Field(max_length=63)] | None = None

    @property
    def effective_target_type(self) -> Literal["ip", "instance"]:
        """``ip`` with the AWS Load Balancer Controller; the in-tree controller only has nodes."""
        if self.target_type is not None:
            return self.target_type
        return "ip" if self.controller == LB_CONTROLLER else "instance"

    @property
    def uses_readiness_gate(self) -> bool:
        """Pods count as ready only once the load balancer has them healthy (ip targets only:
        instance targets are nodes, and the controller cannot see pods behind them)."""
        return self.pod_readiness_gate and self.effective_target_type == "ip"

    @property
    def propagation_seconds(self) -> int:
        """How long new connections may still reach a terminating pod (see the module)."""
        if self.drain_propagation_seconds is not None:
            return self.drain_propagation_seconds
        if self.type == "alb":
            return ALB_PROPAGATION_SECONDS
        if self.effective_target_type == "ip":
            return NLB_IP_PROPAGATION_SECONDS
        return NLB_INSTANCE_PROPAGATION_SECONDS

    @property
    def internet_facing(self) -> bool:
        return self.scheme == "internet-facing"

    @model_validator(mode="after")
    def _rules(self) -> LoadBalancerConfig:
        violations = []
        if self.internet_facing and not self.source_ranges:
            violations.append(
                Violation(
                    ("sourceRanges",),
                    "an internet-facing load balancer must list the client CIDRs it admits; "
                    "write [0.0.0.0/0] to admit the whole internet on purpose",
                )
            )
        if self.tls is not None and self.allow_plaintext:
            violations.append(
                Violation(("allowPlaintext",), "tls is configured: remove allowPlaintext")
            )
        if self.type == "alb":
            violations.extend(self._alb_violations())
        else:
            violations.extend(self._nlb_violations())
        raise_violations(violations)
        return self

    def _alb_violations(self) -> list[Violation]:
        violations = []
        if self.controller == IN_TREE:
            violations.append(
                Violation(
                    ("controller",),
                    "an ALB is an Ingress of the AWS Load Balancer Controller; the in-tree "
                    "controller provisions NLBs and Classic ELBs only",
                )
            )
        if self.target_type == "instance":
            violations.append(
                Violation(
                    ("targetType",),
                    "Argo Rollouts' ALB routing needs ip targets (the stable and canary Services "
                    "become target groups of pods); use targetType: ip",
                )
            )
        if (
            self.idle_timeout_seconds is not None
            and self.idle_timeout_seconds > MAX_ALB_IDLE_TIMEOUT
        ):
            violations.append(
                Violation(
                    ("idleTimeoutSeconds",),
                    f"an ALB's idle timeout is at most {MAX_ALB_IDLE_TIMEOUT} s",
                )
            )
        if not self.cross_zone:
            violations.append(
                Violation(
                    ("crossZone",),
                    "an ALB always balances across zones; remove crossZone: false",
                )
            )
        if self.group_name is not None and _GROUP.match(self.group_name) is None:
            violations.append(
                Violation(
                    ("groupName",),
                    f"{self.group_name!r} is not an IngressGroup name (lower-case letters, "
                    "digits, '-' and '.', at most 63)",
                )
            )
        return violations

    def _nlb_violations(self) -> list[Violation]:
        violations = []
        for key in ("hosts", "waf_acl_arn", "group_name"):
            if key in self.model_fields_set:
                alias = type(self).model_fields[key].alias or key
                violations.append(
                    Violation(
                        (alias,),
                        f"{alias} is an ALB setting (an NLB is L4: no hosts, WAF or "
                        "IngressGroup); remove it, or use type: alb",
                    )
                )
        if self.idle_timeout_seconds is not None and self.idle_timeout_seconds < MIN_IDLE_TIMEOUT:
            violations.append(
                Violation(
                    ("idleTimeoutSeconds",),
                    f"an NLB's idle timeout is {MIN_IDLE_TIMEOUT} to {MAX_IDLE_TIMEOUT} s",
                )
            )
        if self.controller == IN_TREE:
            if self.target_type == "ip":
                violations.append(
                    Violation(
                        ("targetType",),
                        "the in-tree controller registers nodes only (instance targets); "
                        "use controller: aws-load-balancer-controller for ip targets",
                    )
                )
            if self.idle_timeout_seconds is not None:
                violations.append(
                    Violation(
                        ("idleTimeoutSeconds",),
                        "the in-tree controller cannot set an NLB's idle timeout (its "
                        "connection-idle-timeout annotation applies to Classic ELBs only); "
                        "use controller: aws-load-balancer-controller (v2.9+), or leave it "
                        "out for AWS's 350 s",
                    )
                )
            if self.tls is not None:
                violations.append(
                    Violation(
                        ("tls",),
                        "TLS with target group health checks and deregistration settings "
                        "needs the AWS Load Balancer Controller; use controller: "
                        "aws-load-balancer-controller",
                    )
                )
        return violations


def production_violations(lb: LoadBalancerConfig) -> list[Violation]:
    """Rules of the production environment, paths relative to this section."""
    if lb.internet_facing and lb.tls is None and not lb.allow_plaintext:
        return [
            Violation(
                ("tls",),
                "production refuses an internet-facing entry point without TLS: give "
                "tls.certificateArns (ACM), or set allowPlaintext: true to serve plain HTTP on "
                "purpose (docs/components/autoscaling.md#tls)",
            )
        ]
    return []
