"""A namespace's labels: Pod Security Admission at ``restricted``, pinned to a version, and the
environment it belongs to."""

from __future__ import annotations

from prodstack import labels as lbl

PSA_LEVEL = "restricted"
ENVIRONMENT_LABEL = "prodstack.io/environment"


def namespace_labels(pod_security_version: str, environment: str | None = None) -> dict[str, str]:
    """Pod Security Admission enforces, audits and warns at ``restricted``, pinned to a version
    so a cluster upgrade cannot change what is admitted without a change here. The environment
    label tells ``prodstack check`` (and people) which rules the namespace's objects follow."""
    labels = {lbl.MANAGED_BY: "pulumi"}
    for mode in ("enforce", "audit", "warn"):
        labels[f"pod-security.kubernetes.io/{mode}"] = PSA_LEVEL
        labels[f"pod-security.kubernetes.io/{mode}-version"] = pod_security_version
    if environment is not None:
        labels[ENVIRONMENT_LABEL] = environment
    return labels
