"""Policies that look at a workload together with its autoscaler and disruption budget."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

from prodstack.kinds import api_group
from prodstack.pod_security import pod_templates
from prodstack.policies.model import PolicyContext, StackPolicy, Subject

Pair = tuple[Subject | None, str]


Key = tuple[str, str, str, str]


def _keyed(subjects: Sequence[Subject]) -> dict[Key, Subject]:
    """Kubernetes objects by (kind, namespace, name, API group); the first wins."""
    keyed: dict[Key, Subject] = {}
    for subject in subjects:
        if subject.is_kubernetes:
            key = (
                subject.kind,
                subject.namespace,
                subject.object_name,
                api_group(subject.api_version),
            )
            keyed.setdefault(key, subject)
    return keyed


def _target(hpa: Subject, keyed: dict[Key, Subject]) -> Subject | None:
    """The object an HPA's ``scaleTargetRef`` names (same namespace, kind, name and group)."""
    ref = (hpa.props.get("spec") or {}).get("scaleTargetRef") or {}
    key = (
        str(ref.get("kind")),
        hpa.namespace,
        str(ref.get("name")),
        api_group(str(ref.get("apiVersion", ""))),
    )
    return keyed.get(key)


def _hpa_minimums(subjects: Sequence[Subject]) -> dict[int, int]:
    """The first targeting HPA's minReplicas of each workload an HPA scales, by ``id``."""
    keyed = _keyed(subjects)
    minimums: dict[int, int] = {}
    for hpa in subjects:
        if hpa.kind == "HorizontalPodAutoscaler":
            target = _target(hpa, keyed)
            if target is not None:
                minimum = int((hpa.props.get("spec") or {}).get("minReplicas", 1))
                minimums.setdefault(id(target), minimum)
    return minimums


def no_replicas_beside_an_hpa(
    subjects: Sequence[Subject], context: PolicyContext
) -> Iterator[Pair]:
    keyed = _keyed(subjects)
    for hpa in subjects:
        if hpa.kind != "HorizontalPodAutoscaler":
            continue
        target = _target(hpa, keyed)
        if target is not None and "replicas" in (target.props.get("spec") or {}):
            yield (
                target,
                (
                    f"sets spec.replicas while HorizontalPodAutoscaler {hpa.object_name} owns "
                    "the count: every deployment would reset it; leave replicas out "
                    "(ExternallyScaled)"
                ),
            )


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    match = selector.get("matchLabels") or {}
    if not match and not selector.get("matchExpressions"):
        return True
    return all(labels.get(key) == value for key, value in match.items())


def _template_labels(subject: Subject) -> dict[str, str] | None:
    spec = subject.props.get("spec") or {}
    template = spec.get("template")
    if subject.kind in ("CronJob", "Job") or not isinstance(template, dict):
        return None
    return dict((template.get("metadata") or {}).get("labels") or {})


def _minimum(workload: Subject, minimums: dict[int, int]) -> int:
    """The fewest pods the workload can run: the HPA's minReplicas when one targets it."""
    if id(workload) in minimums:
        return minimums[id(workload)]
    return int((workload.props.get("spec") or {}).get("replicas", 1))


def allowed_disruptions(pdb_spec: dict[str, Any], replicas: int) -> int:
    """Voluntary evictions a PDB allows with ``replicas`` healthy pods (percentages round up)."""

    def scaled(value: int | str) -> int:
        if isinstance(value, str) and value.endswith("%"):
            return math.ceil(int(value[:-1]) * replicas / 100)
        return int(value)

    if "minAvailable" in pdb_spec:
        return max(0, replicas - scaled(pdb_spec["minAvailable"]))
    if "maxUnavailable" in pdb_spec:
        return max(0, scaled(pdb_spec["maxUnavailable"]))
    return replicas  # an empty budget protects nothing


def pdb_allows_disruption(subjects: Sequence[Subject], context: PolicyContext) -> Iterator[Pair]:
    minimums = _hpa_minimums(subjects)
    for pdb in subjects:
        if pdb.kind != "PodDisruptionBudget":
            continue
        spec = dict(pdb.props.get("spec") or {})
        for workload in subjects:
            labels = _template_labels(workload)
            if labels is None or workload.namespace != pdb.namespace:
                continue
            if not list(pod_templates(dict(workload.props))) or not _selects(
                spec.get("selector") or {}, labels
            ):
                continue
            replicas = _minimum(workload, minimums)
            if allowed_disruptions(spec, replicas) < 1:
                yield (
                    pdb,
                    (
                        f"allows no voluntary disruption when {workload.describe()} runs its "
                        f"minimum of {replicas} pod(s): node drains and upgrades would block; "
                        "lower minAvailable or use maxUnavailable: 1"
                    ),
                )


POLICIES = (
    StackPolicy(
        "no-replicas-under-hpa",
        "A workload scaled by a HorizontalPodAutoscaler declares no replica count of its own.",
        no_replicas_beside_an_hpa,
    ),
    StackPolicy(
        "pdb-allows-disruption",
        "A PodDisruptionBudget leaves at least one pod evictable at the workload's minimum size.",
        pdb_allows_disruption,
    ),
)
