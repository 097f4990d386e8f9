"""Policy on API versions a current cluster no longer serves."""

from __future__ import annotations

from collections.abc import Iterator

from prodstack.policies.model import PolicyContext, ResourcePolicy, Subject

# apiVersion (optionally with kind) -> the version to use instead.
UNSERVED = {
    "external-secrets.io/v1beta1": "external-secrets.io/v1",
    "external-secrets.io/v1alpha1": "external-secrets.io/v1",
    "policy/v1beta1": "policy/v1",
    "autoscaling/v2beta1": "autoscaling/v2",
    "autoscaling/v2beta2": "autoscaling/v2",
    "batch/v1beta1": "batch/v1",
    "networking.k8s.io/v1beta1": "networking.k8s.io/v1",
    "extensions/v1beta1": "apps/v1 or networking.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1": "rbac.authorization.k8s.io/v1",
}


def served_api_version(subject: Subject, context: PolicyContext) -> Iterator[str]:
    if subject.is_kubernetes and subject.api_version in UNSERVED:
        yield (
            f"{subject.api_version} is no longer served by current clusters; "
            f"use {UNSERVED[subject.api_version]}"
        )


POLICIES = (
    ResourcePolicy(
        "served-api-versions",
        "Objects use API versions that current clusters and operators still serve.",
        served_api_version,
    ),
)
