"""prodstack's policies: one definition, run by CrossGuard (``prodstack/policy_pack``) and
``prodstack check``."""

from __future__ import annotations

from collections.abc import Sequence

from prodstack.policies import api_versions, network, scaling, storage, workloads
from prodstack.policies.model import (
    Finding,
    PolicyContext,
    ResourcePolicy,
    StackPolicy,
    Subject,
)

RESOURCE_POLICIES: tuple[ResourcePolicy, ...] = (*workloads.POLICIES, *api_versions.POLICIES)
STACK_POLICIES: tuple[StackPolicy, ...] = (
    *scaling.POLICIES,
    *network.POLICIES,
    *storage.POLICIES,
)

ALL_POLICIES: tuple[ResourcePolicy | StackPolicy, ...] = (*RESOURCE_POLICIES, *STACK_POLICIES)


def run_all(subjects: Sequence[Subject], context: PolicyContext) -> list[Finding]:
    """Every policy over the subjects, findings in policy order."""
    findings: list[Finding] = []
    for resource_policy in RESOURCE_POLICIES:
        findings.extend(resource_policy.run(subjects, context))
    for stack_policy in STACK_POLICIES:
        findings.extend(stack_policy.run(subjects, context))
    return findings


__all__ = [
    "ALL_POLICIES",
    "RESOURCE_POLICIES",
    "STACK_POLICIES",
    "Finding",
    "PolicyContext",
    "ResourcePolicy",
    "StackPolicy",
    "Subject",
    "run_all",
]
