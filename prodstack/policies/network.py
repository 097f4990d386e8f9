"""Policy: every namespace with workloads starts from a default-deny NetworkPolicy."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prodstack.pod_security import pod_templates
from prodstack.policies.model import PolicyContext, StackPolicy, Subject


def is_default_deny(subject: Subject) -> bool:
    spec = subject.props.get("spec") or {}
    return (
        subject.kind == "NetworkPolicy"
        and (spec.get("podSelector") or {}) in ({}, {"matchLabels": {}})
        and {"Ingress", "Egress"} <= set(spec.get("policyTypes") or [])
        and not spec.get("ingress")
        and not spec.get("egress")
    )


def default_deny_per_namespace(
    subjects: Sequence[Subject], context: PolicyContext
) -> Iterator[tuple[Subject | None, str]]:
    guarded = {s.namespace for s in subjects if is_default_deny(s)}
    namespaces: dict[str, Subject] = {}
    for subject in subjects:
        if subject.kind == "Namespace":
            namespaces.setdefault(subject.object_name, subject)
        elif subject.is_kubernetes and list(pod_templates(dict(subject.props))):
            namespaces.setdefault(subject.namespace, subject)
    for namespace, subject in sorted(namespaces.items()):
        if namespace not in guarded:
            yield (
                subject,
                (
                    f"namespace {namespace!r} has no default-deny NetworkPolicy (podSelector {{}}, "
                    "policyTypes Ingress and Egress, no rules): every pod there is open; add one "
                    "(NamespaceBaseline does)"
                ),
            )


POLICIES = (
    StackPolicy(
        "default-deny-network",
        "Every namespace that runs pods has a default-deny NetworkPolicy for ingress and egress.",
        default_deny_per_namespace,
    ),
)
