"""The AWS Network Load Balancer in front of the app: who provisions it, and who may reach it."""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import Field, IPvAnyNetwork, model_validator

from prodstack.config.base import ConfigModel, Violation, raise_violations
from prodstack.config.types import CidrText, Port

LB_CONTROLLER: Final = "aws-load-balancer-controller"
IN_TREE: Final = "in-tree"

# NLB TCP listener idle timeout bounds; AWS uses 350 s when it is not set.
MIN_IDLE_TIMEOUT = 60
MAX_IDLE_TIMEOUT = 6000


class LoadBalancerConfig(ConfigModel):
    """A ``type: LoadBalancer`` Service provisioned as an NLB.

    ``scheme`` has no default that opens the service to the internet: it is ``internal``
    unless the stack says ``internet-facing``, and an internet-facing NLB must list the
    client ranges it admits (``0.0.0.0/0`` for everyone, on purpose).
    """

    scheme: Literal["internal", "internet-facing"] = "internal"
    controller: Literal["aws-load-balancer-controller", "in-tree"] = LB_CONTROLLER
    target_type: Literal["ip", "instance"] | None = None
    cross_zone: bool = True
    idle_timeout_seconds: Annotated[int, Field(ge=MIN_IDLE_TIMEOUT, le=MAX_IDLE_TIMEOUT)] | None = (
        None
    )
    source_ranges: tuple[Annotated[IPvAnyNetwork, CidrText], ...] = ()
    port: Port = 80
    pod_readiness_gate: bool = True

    @property
    def effective_target_type(self) -> Literal["ip", "instance"]:
        """``ip`` with the AWS Load Balancer Controller; the in-tree controller only has nodes."""
        if self.target_type is not None:
            return self.target_type
        return "ip" if self.controller == LB_CONTROLLER else "instance"

    @property
    def uses_readiness_gate(self) -> bool:
        """Pods count as ready only once the NLB has them healthy (ip targets only: instance
        targets are nodes, and the controller cannot see pods behind them)."""
        return self.pod_readiness_gate and self.effective_target_type == "ip"

    @model_validator(mode="after")
    def _rules(self) -> LoadBalancerConfig:
        violations = []
        if self.scheme == "internet-facing" and not self.source_ranges:
            violations.append(
                Violation(
                    ("sourceRanges",),
                    "an internet-facing load balancer must list the client CIDRs it admits; "
                    "write [0.0.0.0/0] to admit the whole internet on purpose",
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
        raise_violations(violations)
        return self
