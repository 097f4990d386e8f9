"""Every rendered manifest validates strictly: built-in kinds against the Kubernetes OpenAPI
schemas, custom resources against the upstream CRDs (when PRODSTACK_CRD_DIR names them); and
the Rollouts carry the await annotations that make `pulumi up` wait for the canary."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from prodstack.config.types import duration_seconds
from prodstack.specs.canary import TIMEOUT_SECONDS, WAIT_FOR, rollout_timeout_seconds
from prodstack.synth import Resource, ResourceGraph
from prodstack.synth.manifests import manifests
from tests.support import schemas
from tests.support.stacks import environment, service_config, svc, synthesize_environment

requires_crds = pytest.mark.skipif(
    schemas.crd_dir() is None, reason=f"set {schemas.CRD_DIR_ENV} to the upstream CRD folder"
)


def test_built_in_kinds_validate_strictly(graph: ResourceGraph) -> None:
    checked = 0
    for document in manifests(graph):
        if schemas.is_built_in(document):
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


@pytest.mark.crds
@requires_crds
def test_custom_resources_validate_against_upstream_crds(graph: ResourceGraph) -> None:
    directory = schemas.crd_dir()
    assert directory is not None
    custom = [d for d in manifests(graph) if not schemas.is_built_in(d)]
    assert custom
    for document in custom:
        schemas.validate_custom(document, directory)


@pytest.mark.crds
@requires_crds
def test_crd_validation_is_strict(production: ResourceGraph) -> None:
    directory = schemas.crd_dir()
    assert directory is not None
    rollout: dict[str, Any] = copy.deepcopy(
        next(d for d in manifests(production) if d["kind"] == "Rollout")
    )
    rollout["spec"]["strategy"]["canary"]["stepz"] = []
    with pytest.raises(jsonschema.ValidationError):
        schemas.validate_custom(rollout, directory)


@pytest.mark.crds
@requires_crds
def test_unserved_versions_are_refused() -> None:
    directory = schemas.crd_dir()
    assert directory is not None
    if ("external-secrets.io/v1beta1", "ExternalSecret") not in schemas.crd_schemas(str(directory)):
        pytest.skip("the CRD folder has no External Secrets CRD")
    with pytest.raises(AssertionError, match="not served"):
        schemas.validate_custom(
            {
                "apiVersion": "external-secrets.io/v1beta1",
                "kind": "ExternalSecret",
                "metadata": {"name": "x"},
            },
            Path(directory),
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
