"""Strict validation of rendered manifests: Kubernetes OpenAPI for built-in kinds
(kubernetes-validate) and upstream CRD schemas for custom resources."""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

KUBERNETES_VERSION = "1.33.0"
CRD_DIR_ENV = "PRODSTACK_CRD_DIR"


def is_built_in(document: dict[str, Any]) -> bool:
    """Core and ``*.k8s.io`` groups (and dot-less ones such as apps) are built into Kubernetes."""
    api_version = str(document["apiVersion"])
    group = api_version.rpartition("/")[0]
    return "." not in group or group.endswith(".k8s.io")


def validate_built_in(document: dict[str, Any]) -> None:
    """Raises kubernetes_validate.ValidationError on any schema error or unknown field."""
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def validate_pod_template(template: dict[str, Any], namespace: str = "default") -> None:
    """A custom resource's pod template, checked as the Deployment template it mirrors."""
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "pod-template-check", "namespace": namespace},
        "spec": {"selector": {"matchLabels": template["metadata"]["labels"]}, "template": template},
    }
    validate_built_in(deployment)


def crd_dir() -> Path | None:
    value = os.environ.get(CRD_DIR_ENV)
    return Path(value) if value else None


@functools.cache
def crd_schemas(directory: str) -> dict[tuple[str, str], dict[str, Any] | None]:
    """(apiVersion, kind) -> strict schema of every version; None where it is not served."""
    schemas: dict[tuple[str, str], dict[str, Any] | None] = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group = crd["spec"]["group"]
            kind = crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                key = (f"{group}/{version['name']}", kind)
                if not version.get("served", False):
                    schemas[key] = None
                    continue
                schemas[key] = _strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
    return schemas


def validate_custom(document: dict[str, Any], directory: Path) -> None:
    """Raises AssertionError for an unknown or unserved kind, jsonschema errors otherwise."""
    key = (str(document["apiVersion"]), str(document["kind"]))
    schemas = crd_schemas(str(directory))
    if key not in schemas:
        raise AssertionError(f"no CRD in {directory} defines {key[1]} {key[0]}")
    schema = schemas[key]
    if schema is None:
        raise AssertionError(f"{key[1]} {key[0]} is not served by its CRD")
    jsonschema.Draft7Validator(schema).validate(document)


def _strict(schema: dict[str, Any], top: bool = True) -> dict[str, Any]:
    """Unknown fields are errors, as with kubectl's strict field validation, except where the
    schema preserves unknown fields; ``metadata`` is checked by the API server, not the CRD."""
    if "properties" in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
        schema.setdefault("additionalProperties", False)
    if schema.get("x-kubernetes-int-or-string") and "anyOf" not in schema:
        schema["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    for name, child in schema.get("properties", {}).items():
        if not (top and name == "metadata"):
            _strict(child, top=False)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            _strict(schema[key], top=False)
    for key in ("anyOf", "allOf", "oneOf"):
        for child in schema.get(key, []):
            _strict(child, top=False)
    return schema
