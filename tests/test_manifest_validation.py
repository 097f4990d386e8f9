"""Every rendered manifest validates strictly: built-in kinds against the Kubernetes OpenAPI
schemas, custom resources against the upstream CRDs (when PRODSTACK_CRD_DIR names them)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from prodstack.synth import ResourceGraph
from prodstack.synth.manifests import manifests
from tests.support import schemas

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
