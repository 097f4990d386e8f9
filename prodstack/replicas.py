"""Who owns a workload's replica count: a fixed number in its spec, or an autoscaler."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExternallyScaled:
    """The replica count belongs to an autoscaler: the workload leaves ``replicas`` unset so
    that ``pulumi up`` never resets what the autoscaler chose."""

    owner: str = "HorizontalPodAutoscaler"


Replicas = int | ExternallyScaled
