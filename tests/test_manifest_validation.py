"""Every rendered manifest validates strictly: built-in kinds against the Kubernetes OpenAPI
schemas, custom resources against the CRD schemas prodstack ships, the pod templates inside
Rollouts as Kubernetes pod templates; and the Rollouts carry the await annotations that make
`pulumi up` wait for the canary."""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
import pytest

from prodstack.check.schema.catalog import shipped
from prodstack.check.schema.validate import is_built_in
from prodstack.config.types import duration_seconds
from prodstack.specs.canary import TIMEOUT_SECONDS, WAIT_FOR, rollout_timeout_seconds
from prodstack.synth import Resource, ResourceGraph
from prodstack.synth.manifests import manifests
from tests.support import schemas
from tests.support.stacks import environment, service_config, svc, synthesize_environment


def test_every_object_validates_strictly(graph: ResourceGraph) -> None:
    documents = manifests(graph)
    for document in documents:
        schemas.assert_valid(document)
    custom = {d["kind"] for d in documents if not is_built_in(d["apiVersion"], shipped())}
    assert {"Rollout", "AnalysisTemplate", "ExternalSecret", "SecretStore"} <= custom


def test_built_in_kinds_agree_with_kubernetes_validate(graph: ResourceGraph) -> None:
    checked = 0
    for document in manifests(graph):
        if is_built_in(document["apiVersion"], shipped()):
            schemas.validate_built_in(document)
            checked += 1
    assert checked >= 3


def test_rollout_pod_templates_validate_as_kubernetes_pod_templates(graph: ResourceGraph) -> None:
    for document in manifests(graph):
        if document["kind"] == "Rollout":
            schemas.validate_pod_template(
                document["spec"]["template"], document["metadata"]["namespace"]
            )


def test_strict_validation_rejects_unknown_fields(production: ResourceGraph) -> None:
    service = next(d for d in manifests(production) if d["kind"] == "Service")
    broken = copy.deepcopy(service)
    broken["spec"]["selectr"] = {"a": "b"}
    with pytest.raises(kubernetes_validate.ValidationError):
        schemas.validate_built_in(broken)
    assert [e.path for e in schemas.errors(broken)] == ["spec.selectr"]


def test_crd_validation_is_strict(production: ResourceGraph) -> None:
    rollout: dict[str, Any] = copy.deepcopy(
        next(d for d in manifests(production) if d["kind"] == "Rollout")
    )
    rollout["spec"]["strategy"]["canary"]["stepz"] = []
    assert [e.path for e in schemas.errors(rollout)] == ["spec.strategy.canary.stepz"]


def test_unserved_versions_are_refused() -> None:
    (refused,) = schemas.errors(
        {
            "apiVersion": "external-secrets.io/v1beta1",
            "kind": "ExternalSecret",
            "metadata": {"name": "x"},
        }
    )
    assert refused.message == (
        "ExternalSecret external-secrets.io/v1beta1 is no longer served by its CRD "
        "(use external-secrets.io/v1)"
    )


# --- what `pulumi up` waits for -------------------------------------------------------------
# pulumi-kubernetes awaits a custom resource only when told what to wait for
# (pulumi.com/waitFor, provider v4.18+); Argo Rollouts reports status.phase Healthy once a
# rollout is complete and its pods are available (Degraded when aborted, Paused at a pause).


def rollout_annotations(rollout: Resource) -> dict[str, str]:
    annotations: dict[str, str] = rollout.inputs["metadata"].get("annotations") or {}
    return annotations


def least_canary_seconds(graph: ResourceGraph, rollout: Resource) -> int:
    """What a healthy canary takes at least, from the rendered objects: every timed pause,
    and each gate's measurements (its templates run side by side)."""
    templates = {t.object_name: t.inputs["spec"] for t in graph.kind("AnalysisTemplate")}
    seconds = 0
    for step in rollout.inputs["spec"]["strategy"]["canary"]["steps"]:
        if "pause" in step:
            seconds += duration_seconds(step["pause"]["duration"])
        if "analysis" in step:
            seconds += max(
                metric["count"] * duration_seconds(metric["interval"])
                for ref in step["analysis"]["templates"]
                for metric in templates[ref["templateName"]]["metrics"]
            )
    return seconds


def test_every_rollout_is_awaited_until_healthy(graph: ResourceGraph) -> None:
    env = environment(graph.stack)
    rollouts = graph.kind("Rollout")
    assert {r.object_name for r in rollouts} == set(env.services)
    for rollout in rollouts:
        annotations = rollout_annotations(rollout)
        assert annotations[WAIT_FOR] == "jsonpath={.status.phase}=Healthy"
        timeout = int(annotations[TIMEOUT_SECONDS])
        assert timeout == rollout_timeout_seconds(env.services[rollout.object_name].app)
        # A healthy canary never runs into its own timeout.
        assert timeout > least_canary_seconds(graph, rollout), rollout.object_name


def test_a_longer_pause_gives_a_longer_timeout() -> None:
    def timeouts(change: Any) -> dict[str, int]:
        graph = synthesize_environment(environment("staging", change), stack="staging")
        return {
            r.object_name: int(rollout_annotations(r)[TIMEOUT_SECONDS])
            for r in graph.kind("Rollout")
        }

    def longer(raw: dict[str, Any]) -> None:
        svc(raw)["app"]["canary"]["steps"][0]["pause"] = "1h"

    pause = service_config("staging").app.canary.steps[0].pause
    assert pause is not None and pause != "manual"
    before, after = timeouts(lambda raw: None), timeouts(longer)
    assert after.pop("shop-api") - before.pop("shop-api") == 3600 - duration_seconds(pause)
    assert after == before  # the other services keep theirs


def test_a_manual_pause_is_not_awaited() -> None:
    """A canary that waits for a person to promote it would hold `pulumi up` until the
    timeout and then fail it: such a Rollout is applied without waiting."""

    def manual(raw: dict[str, Any]) -> None:
        svc(raw)["app"]["canary"]["steps"][0]["pause"] = "manual"

    graph = synthesize_environment(environment("dev", manual), stack="dev")
    rollout = graph.one("Rollout", "shop-api")
    assert {"pause": {}} in rollout.inputs["spec"]["strategy"]["canary"]["steps"]
    annotations = rollout_annotations(rollout)
    assert WAIT_FOR not in annotations and TIMEOUT_SECONDS not in annotations
    for other in graph.kind("Rollout"):
        if other is not rollout:
            assert WAIT_FOR in rollout_annotations(other)
