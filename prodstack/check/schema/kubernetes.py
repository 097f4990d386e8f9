"""Built-in Kubernetes kinds, validated against the OpenAPI of one Kubernetes minor version with
the strict JSON schemas that kubernetes-validate ships (unknown fields are errors).

``kubernetes_validate.validate`` stops at the first error and reads the 1.4 MB definitions file on
every call; prodstack reports every error of an object and checks whole stacks, so it loads each
minor's definitions once and builds its own validators over the same files. The layout it relies
on (``kubernetes-json-schema/v<minor>.0-local-strict/<kind>-<group>-<version>.json`` referring to
``_definitions.json``) is pinned by tests/test_schemas_validation.py against
``kubernetes_validate.validate``.
"""

from __future__ import annotations

import functools
import json
import re
from importlib import resources
from typing import TYPE_CHECKING, Any

import jsonschema
from jsonschema.protocols import Validator
from referencing import Registry, Resource

from prodstack.check.versions import VersionError

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

DEFINITIONS = "_definitions.json"
DEFINITIONS_ID = "https://kubernetes.io/api/_definitions.json"
_MINOR = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?$")


class KubernetesVersionError(VersionError):
    """A Kubernetes version prodstack cannot validate against."""


def _schemas_root() -> Traversable:
    return resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")


@functools.cache
def supported_minors() -> tuple[str, ...]:
    """The Kubernetes minors (``1.33``) the installed kubernetes-validate has strict schemas for."""
    found = set()
    for entry in _schemas_root().iterdir():
        match = re.fullmatch(r"v(\d+)\.(\d+)\.\d+-local-strict", entry.name)
        if match:
            found.add((int(match[1]), int(match[2])))
    return tuple(f"{major}.{minor}" for major, minor in sorted(found))


def minor_of(version: str) -> str:
    """``1.33``, ``v1.33`` or ``1.33.2`` -> ``1.33``; an unsupported minor is an error."""
    match = _MINOR.match(version.strip())
    if not match:
        raise KubernetesVersionError(
            f"Kubernetes version {version!r} is not a version; give a minor such as 1.33"
        )
    minor = f"{int(match[1])}.{int(match[2])}"
    supported = supported_minors()
    if minor not in supported:
        raise KubernetesVersionError(
            f"Kubernetes {minor} is not one of the minors the installed kubernetes-validate "
            f"has schemas for ({supported[0]} to {supported[-1]})"
        )
    return minor


def schema_name(api_version: str, kind: str) -> str:
    """kubernetes-validate's file for a kind: ``rbac.authorization.k8s.io/v1`` Role ->
    ``role-rbac-v1.json``, core ``v1`` Service -> ``service-v1.json``."""
    group, _, version = api_version.rpartition("/")
    prefix = f"{group.split('.')[0]}-" if group else ""
    return f"{kind.lower()}-{prefix}{version}.json"


class KubernetesSchemas:
    """The strict schemas of one Kubernetes minor, with a cached validator per kind."""

    def __init__(self, minor: str) -> None:
        self.minor = minor
        self._folder = _schemas_root().joinpath(f"v{minor}.0-local-strict")
        definitions = json.loads(self._folder.joinpath(DEFINITIONS).read_text())
        self._registry: Registry[Any] = Resource.from_contents(definitions) @ Registry()
        self._validators: dict[str, Validator | None] = {}

    def for_kind(self, api_version: str, kind: str) -> Validator | None:
        """The validator of a top-level kind; None when this minor does not serve it."""
        name = schema_name(api_version, kind)
        if name not in self._validators:
            path = self._folder.joinpath(name)
            self._validators[name] = (
                self._validator(json.loads(path.read_text())) if path.is_file() else None
            )
        return self._validators[name]

    def for_definition(self, definition: str) -> Validator:
        """The validator of a named type, such as ``io.k8s.api.core.v1.PodTemplateSpec``."""
        if definition not in self._validators:
            ref = {"$ref": f"{DEFINITIONS_ID}#/$defs/{definition}"}
            self._validators[definition] = self._validator(ref)
        validator = self._validators[definition]
        assert validator is not None
        return validator

    def _validator(self, schema: dict[str, Any]) -> Validator:
        return jsonschema.Draft202012Validator(schema, registry=self._registry)


@functools.cache
def schemas_for(minor: str) -> KubernetesSchemas:
    return KubernetesSchemas(minor)
