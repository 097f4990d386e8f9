"""Every rendered manifest validates strictly: built-in kinds against the Kubernetes OpenAPI
schemas, custom resources against the CRD schemas prodstack ships, and the pod templates inside
Rollouts as Kubernetes pod templates."""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
import pytest

from prodstack.check.schema.catalog import shipped
from prodstack.check.schema.validate import is_built_in
from prodstack.synth import ResourceGraph
from prodstack.synth.manifests import manifests
from tests.support import schemas


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
