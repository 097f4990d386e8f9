"""High availability specs: the pod template's scheduling fragment and the disruption budget.

Every rule selects the app's pods with the same labels as the Rollout (stable and canary
alike), and the anti-affinity and spread rules count pods *per revision* (``matchLabelKeys:
[rollouts-pod-template-hash]``): during a canary the new revision spreads on its own instead of
being pushed around by the old one's pods, which are about to go.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prodstack import labels as lbl
from prodstack.config.ha import DisruptionBudgetConfig, HAConfig, ZoneSpreadConfig
from prodstack.config.service import ServiceConfig
from prodstack.specs.pod import Scheduling

Manifest = dict[str, Any]

HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
NODE_RULE_WEIGHT = 100
ZONE_RULE_WEIGHT = 50


def ha_floor(service: ServiceConfig) -> int:
    """The fewest replicas the HA policy needs: the disruption budget's number + 1, or 1
    without HA or a budget. Validation keeps the replica minimum at or above it."""
    return 1 if service.ha is None else service.ha.floor


def min_available(service: ServiceConfig) -> int | None:
    """Pods the disruption budget keeps running through voluntary disruptions at the
    minimum replica count (what a LowReplicas alert can compare availability with);
    None without a budget."""
    if service.ha is None or service.ha.disruption_budget is None:
        return None
    return service.ha.disruption_budget.available_at(service.replica_range.minimum)


def _term(selector: Mapping[str, str], topology_key: str) -> Manifest:
    return {
        "labelSelector": {"matchLabels": dict(selector)},
        "matchLabelKeys": [lbl.POD_TEMPLATE_HASH],
        "topologyKey": topology_key,
    }


def pod_anti_affinity(ha: HAConfig, selector: Mapping[str, str]) -> Manifest:
    """One ``podAntiAffinity`` holding both rules: nodes (preferred, or required when the
    config declares enough nodes) and zones (preferred). Each topology key appears once."""
    node = _term(selector, HOSTNAME)
    zone = {"weight": ZONE_RULE_WEIGHT, "podAffinityTerm": _term(selector, ZONE)}
    if ha.node_anti_affinity == "required":
        return {
            "requiredDuringSchedulingIgnoredDuringExecution": [node],
            "preferredDuringSchedulingIgnoredDuringExecution": [zone],
        }
    return {
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": NODE_RULE_WEIGHT, "podAffinityTerm": node},
            zone,
        ]
    }


def zone_spread(spread: ZoneSpreadConfig, selector: Mapping[str, str]) -> Manifest:
    """Spread each revision over zones. ``nodeTaintsPolicy: Honor`` leaves tainted nodes (such
    as the unreachable nodes of a failed zone) out of the count, so a zone outage does not
    block scheduling in the zones that remain."""
    constraint: Manifest = {
        "maxSkew": spread.max_skew,
        "topologyKey": ZONE,
        "whenUnsatisfiable": spread.when_unsatisfiable,
        "labelSelector": {"matchLabels": dict(selector)},
        "matchLabelKeys": [lbl.POD_TEMPLATE_HASH],
        "nodeTaintsPolicy": "Honor",
    }
    if spread.min_domains is not None:
        constraint["minDomains"] = spread.min_domains
    return constraint


def scheduling(ha: HAConfig, selector: Mapping[str, str]) -> Scheduling:
    """The pod template's scheduling fragment; CanaryApp merges it into the pod spec."""
    fragment: Scheduling = {"affinity": {"podAntiAffinity": pod_anti_affinity(ha, selector)}}
    if ha.zone_spread is not None:
        fragment["topologySpreadConstraints"] = [zone_spread(ha.zone_spread, selector)]
    return fragment


def disruption_budget_spec(budget: DisruptionBudgetConfig, selector: Mapping[str, str]) -> Manifest:
    """``policy/v1`` PodDisruptionBudget spec over every pod of the app.

    ``unhealthyPodEvictionPolicy: AlwaysAllow`` lets a drain evict pods that are not ready
    anyway (crash-looping, stuck): they serve nothing, and protecting them blocks the drain.
    """
    return {
        "selector": {"matchLabels": dict(selector)},
        budget.field: budget.value,
        "unhealthyPodEvictionPolicy": budget.unhealthy_pod_eviction_policy,
    }
