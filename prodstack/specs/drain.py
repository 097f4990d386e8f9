"""How a pod leaves its load balancer without dropping a connection: the arithmetic that ties
the pre-stop drain, the app's shutdown, the grace period and the target group's deregistration
delay together.

When a pod starts terminating, Kubernetes removes it from the endpoints and the load balancer
controller deregisters its target; the load balancer may still send new connections for a
while (``LoadBalancerConfig.propagation_seconds``: about two minutes for an NLB with IP
targets). So:

- the pre-stop drain (the pod keeps serving, SIGTERM not sent yet) lasts at least that long;
- then the app gets ``appShutdownSeconds`` to finish what it has in flight;
- the grace period covers both, plus a margin, or the kubelet kills the app mid-shutdown;
- the target group's deregistration delay covers both too: connections in flight are not cut
  while the pod can still answer them (an NLB closes the rest at the end of the delay).
"""

from __future__ import annotations

from dataclasses import dataclass

from prodstack.config.app import AppConfig, Shutdown
from prodstack.config.load_balancer import LoadBalancerConfig

GRACE_MARGIN_SECONDS = 5


@dataclass(frozen=True)
class Drain:
    pre_stop_seconds: int
    app_shutdown_seconds: int
    grace_period_seconds: int

    @property
    def deregistration_delay_seconds(self) -> int:
        """How long the target group keeps a deregistering target's connections open."""
        return self.pre_stop_seconds + self.app_shutdown_seconds


def drain(shutdown: Shutdown, lb: LoadBalancerConfig | None) -> Drain:
    """The drain a pod needs behind ``lb`` (None: no load balancer, the app's own drain)."""
    pre_stop = shutdown.drain_seconds
    if lb is not None:
        pre_stop = max(pre_stop, lb.propagation_seconds)
    grace = shutdown.termination_grace_period_seconds
    if grace is None:
        grace = pre_stop + shutdown.app_shutdown_seconds + GRACE_MARGIN_SECONDS
    return Drain(pre_stop, shutdown.app_shutdown_seconds, grace)


def behind(app: AppConfig, lb: LoadBalancerConfig | None) -> AppConfig:
    """The app with its drain lengthened to what its load balancer needs (the configured
    ``drainSeconds`` is a minimum); its grace period follows unless it is set."""
    needed = drain(app.shutdown, lb)
    if needed.pre_stop_seconds == app.shutdown.drain_seconds:
        return app
    shutdown = app.shutdown.model_copy(update={"drain_seconds": needed.pre_stop_seconds})
    return app.model_copy(update={"shutdown": shutdown})
