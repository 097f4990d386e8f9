"""A stack deployed by prodstack 0.1 upgrades without replacing a live object.

``tests/fixtures/release-0.1/<stack>.json`` records every resource 0.1 registered (engine
URNs). The current release must reach each live object under the same URN or an alias to it,
with the same identity (so the engine updates it in place), and must never declare an object
0.1 had under a URN the engine cannot match (it would try to create it while the old one is
deleted at the end of the update).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from prodstack import kinds
from prodstack.synth import Resource, ResourceGraph
from prodstack.synth.monitor import PLACEHOLDER_PREFIX
from tests.support.stacks import STACKS, environment, synthesize_environment

FIXTURES = Path(__file__).parent / "fixtures" / "release-0.1"

# 0.1's per-app NetworkPolicies in the shared namespace are now the service's own
# (<service>-allow-...): new objects are created first, the old ones deleted at the end of
# the update, so traffic is allowed throughout. Nothing else may go away.
# Removed because the stack's configuration replaces them, not by the refactor: production's
# API moves from the NLB to an ALB Ingress (issue 14, exact canary weights). The engine creates
# the Ingress first and deletes the NLB Service at the end of the update; the public DNS name
# changes, so the record must point at the ALB before the update (docs/components/entry-point.md).
REPLACED_ON_PURPOSE = {("production", "Service", "shop-api-nlb")}
RENAMED_FLOWS = {
    "allow-ingress-controller",
    "allow-peers",
    "allow-load-balancer",
    "allow-database",
    "allow-redis",
    "allow-https",
    "allow-backup-database",
    "allow-backup-https",
}
# 0.1 let Pulumi name the backup jobs' IAM roles; they are named now so that their ARNs are
# known before deployment (GitOps renders them into git). The engine replaces each role
# (create, then delete the old one at the end); nothing outside the stack refers to them.
RENAMED_CLOUD_TYPES = {"aws:iam/role:Role"}


def old_resources(stack: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads((FIXTURES / f"{stack}.json").read_text())
    return entries


def identity(resource: Resource) -> dict[str, Any]:
    if resource.is_kubernetes_object:
        return {
            "group": kinds.api_group(resource.api_version),
            "kind": resource.kind,
            "namespace": resource.namespace or "",
            "name": resource.object_name,
        }
    inputs = resource.inputs
    return {
        k: inputs[k]
        for k in ("bucket", "name")
        if isinstance(inputs.get(k), str) and not inputs[k].startswith(PLACEHOLDER_PREFIX)
    }


def old_identity(entry: Mapping[str, Any]) -> dict[str, Any]:
    found = dict(entry.get("object") or {})
    if "kind" in found:
        return {
            "group": kinds.api_group(found["apiVersion"]),
            "kind": found["kind"],
            "namespace": found.get("namespace") or "",
            "name": found["name"],
        }
    return found


def upgrade_graph(stack: str) -> ResourceGraph:
    """What the first update on the new release runs. Production hands its objects over to
    Argo CD: its first update is the hand-over, on the cluster provider."""

    def hand_over(raw: dict[str, Any]) -> None:
        if "gitops" in raw:
            raw["gitops"]["handOver"] = "prepare"

    return synthesize_environment(environment(stack, hand_over), stack)


@pytest.mark.parametrize("stack", STACKS)
def test_every_live_object_keeps_its_pulumi_identity(stack: str) -> None:
    graph = upgrade_graph(stack)
    by_urn = {r.urn: r for r in graph}
    for resource in graph:
        for alias in resource.aliases:
            by_urn.setdefault(alias, resource)
    kept, removed = [], []
    for entry in old_resources(stack):
        if not entry["custom"]:
            continue  # components are only names: their children's aliases carry over
        new = by_urn.get(entry["urn"])
        if new is None:
            removed.append(entry)
            continue
        kept.append(entry["urn"])
        assert new.custom, entry["urn"]
        if entry["type"] in RENAMED_CLOUD_TYPES:
            continue
        assert identity(new) == old_identity(entry), entry["urn"]
        # The same provider applies it: a change of provider would replace it.
        assert new.provider is None, entry["urn"]
    assert kept
    for entry in removed:
        found = entry.get("object") or {}
        if (stack, found.get("kind"), found.get("name")) in REPLACED_ON_PURPOSE:
            continue
        assert found.get("kind") == "NetworkPolicy" and found["name"] in RENAMED_FLOWS, entry


@pytest.mark.parametrize("stack", STACKS)
def test_no_old_object_is_declared_again_under_a_new_identity(stack: str) -> None:
    """An object of 0.1 that is not matched through an alias must not be declared anew: the
    engine would create it (failing, it exists) and delete the old one at the end."""
    graph = upgrade_graph(stack)
    matched = {r.urn for r in graph} | {a for r in graph for a in r.aliases}
    unmatched = [
        old_identity(entry)
        for entry in old_resources(stack)
        if entry["custom"] and entry["urn"] not in matched and entry.get("object")
    ]
    declared = [identity(r) for r in graph if r.custom]
    for gone in unmatched:
        assert gone not in declared, gone


def test_the_namespace_baseline_claims_the_old_namespace_objects() -> None:
    graph = upgrade_graph("production")
    namespace = graph.one("Namespace", "shop-production")
    assert namespace.aliases[0] == (
        "urn:pulumi:production::prodstack::prodstack:index:SecurityBaseline"
        "$kubernetes:core/v1:Namespace::security-namespace"
    )
    other = graph.one("Namespace", "shop-web")
    assert not [a for a in other.aliases if "SecurityBaseline" in a]


def test_a_fresh_stack_claims_nothing_of_a_single_app_stack() -> None:
    def fresh(raw: dict[str, Any]) -> None:
        raw.pop("upgrade")

    graph = synthesize_environment(environment("staging", fresh), "staging")
    legacy = [a for r in graph for a in r.aliases if "SecurityBaseline" in a and "role" in a]
    assert legacy == []
