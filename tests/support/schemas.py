"""Schema validation in tests: the product's validator (prodstack.check.schema) with the shipped
schemas, and kubernetes-validate called directly as an independent oracle for built-in kinds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kubernetes_validate

from prodstack.check.schema import SchemaError, validate_object

KUBERNETES_VERSION = "1.33"


def errors(document: Mapping[str, Any]) -> list[SchemaError]:
    """Every schema error of the object (built-in or custom), at Kubernetes 1.33."""
    return validate_object(document, KUBERNETES_VERSION)


def assert_valid(document: Mapping[str, Any]) -> None:
    found = errors(document)
    assert not found, "\n".join(str(e) for e in found)


def validate_built_in(document: dict[str, Any]) -> None:
    """kubernetes-validate itself: raises kubernetes_validate.ValidationError on the first error."""
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def validate_pod_template(template: dict[str, Any], namespace: str = "default") -> None:
    """A custom resource's pod template, checked by kubernetes-validate as a Deployment's."""
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "pod-template-check", "namespace": namespace},
        "spec": {"selector": {"matchLabels": template["metadata"]["labels"]}, "template": template},
    }
    validate_built_in(deployment)
