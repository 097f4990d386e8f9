"""Schema validation of every object of a stack or program, as ``prodstack check`` findings:
``schema`` (the object against the Kubernetes OpenAPI or its shipped CRD schema) and
``served-fields`` (fields the declared controller versions do not serve yet)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prodstack.check.schema.served import unserved_fields
from prodstack.check.schema.validate import SchemaError, validate_object
from prodstack.check.versions import DeclaredVersions

if TYPE_CHECKING:
    from prodstack.synth.graph import ResourceGraph

FAMILY = "schema"
SCHEMA_CHECKS = ("schema", "served-fields")


@dataclass(frozen=True)
class SchemaFinding:
    """One finding: its family and check, the object (``Kind namespace/name``), the JSON path."""

    family: str
    check: str
    subject: str
    path: str
    message: str


def schema_problems(
    objects: ResourceGraph | Iterable[Mapping[str, Any]],
    versions: DeclaredVersions | None = None,
) -> list[SchemaFinding]:
    """Every schema error and every unserved field of the objects (a graph's Kubernetes objects,
    or manifest-shaped dicts), at the declared versions (default: Kubernetes 1.33 and each
    controller's minimum)."""
    versions = versions or DeclaredVersions()
    findings: list[SchemaFinding] = []
    for document in _documents(objects):
        findings.extend(
            SchemaFinding(FAMILY, "schema", e.subject, e.path, _with_path(e.path, e.message))
            for e in validate_object(document, versions.kubernetes)
        )
        findings.extend(
            SchemaFinding(FAMILY, "served-fields", u.subject, u.path, u.message)
            for u in unserved_fields(document, versions)
        )
    return findings


def _documents(objects: ResourceGraph | Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    from prodstack.synth.graph import ResourceGraph
    from prodstack.synth.manifests import manifests

    if isinstance(objects, ResourceGraph):
        return list(manifests(objects))
    return list(objects)


def _with_path(path: str, message: str) -> str:
    return f"{path}: {message}" if path else message


__all__ = [
    "SCHEMA_CHECKS",
    "DeclaredVersions",
    "SchemaError",
    "SchemaFinding",
    "schema_problems",
    "validate_object",
]
