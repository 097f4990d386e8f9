"""The custom resource schemas shipped in ``prodstack/schemas``, looked up by apiVersion and kind
and made strict the way the API server treats a structural schema.

Strict means what the API server's pruning would do silently is an error here: a field the
schema does not declare is unknown, except under ``x-kubernetes-preserve-unknown-fields``. An
object's own ``metadata`` is left to the API server (the CRD declares it only as ``object``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

import jsonschema
from jsonschema.protocols import Validator

from prodstack.check.schema.compact import FORMAT, INDEX

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable


@dataclass(frozen=True)
class ShippedVersion:
    """One version of one custom kind in the index; ``file`` is None when it is not served."""

    group: str
    kind: str
    version: str
    served: bool
    file: str | None
    source: Mapping[str, str] = field(compare=False)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"

    def describe(self) -> str:
        return f"{self.kind} {self.api_version}"


class CatalogError(RuntimeError):
    """The shipped schema folder is broken (a packaging fault, not a user error)."""


class Catalog:
    """Every custom kind prodstack ships a schema for, with a strict validator per version."""

    def __init__(self, folder: Traversable) -> None:
        self._folder = folder
        try:
            index = json.loads(folder.joinpath(INDEX).read_text())
        except (OSError, ValueError) as exc:
            raise CatalogError(f"cannot read the schema index {INDEX}: {exc}") from None
        if index.get("format") != FORMAT:
            raise CatalogError(f"{INDEX} has format {index.get('format')!r}, expected {FORMAT}")
        self.versions = tuple(
            ShippedVersion(
                group=k["group"],
                kind=k["kind"],
                version=k["version"],
                served=k["served"],
                file=k.get("file"),
                source=k["source"],
            )
            for k in index["kinds"]
        )
        self._by_key = {(v.api_version, v.kind): v for v in self.versions}
        self._validators: dict[str, Validator] = {}

    def lookup(self, api_version: str, kind: str) -> ShippedVersion | None:
        return self._by_key.get((api_version, kind))

    def versions_of(self, group: str, kind: str) -> list[ShippedVersion]:
        return [v for v in self.versions if v.group == group and v.kind == kind]

    def defines_group(self, group: str) -> bool:
        return any(v.group == group for v in self.versions)

    def served(self) -> Iterator[ShippedVersion]:
        return (v for v in self.versions if v.served)

    def kinds(self) -> list[str]:
        """``Kind group/version`` of every served version, for messages."""
        return sorted(v.describe() for v in self.served())

    def schema(self, version: ShippedVersion) -> dict[str, Any]:
        """The strict schema of a served version."""
        if version.file is None:
            raise CatalogError(f"{version.describe()} is not served and has no schema")
        try:
            raw = json.loads(self._folder.joinpath(version.file).read_text())
        except (OSError, ValueError) as exc:
            raise CatalogError(f"cannot read {version.file}: {exc}") from None
        return strict(raw)

    def validator(self, version: ShippedVersion) -> Validator:
        key = version.api_version + "/" + version.kind
        if key not in self._validators:
            self._validators[key] = StructuralValidator(self.schema(version))
        return self._validators[key]


@functools.cache
def shipped() -> Catalog:
    """The schemas in the installed package."""
    return Catalog(resources.files("prodstack").joinpath("schemas"))


def strict(schema: Mapping[str, Any], top: bool = True, branch: bool = False) -> dict[str, Any]:
    """A structural schema as JSON Schema that refuses unknown fields.

    ``branch`` marks the inside of anyOf/allOf/oneOf/not: a structural schema declares its
    fields outside them, so closing an object there would refuse fields declared elsewhere.
    """
    result = dict(schema)
    preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
    is_object = schema.get("type") == "object" or "properties" in schema
    if is_object and not preserve and not branch and "additionalProperties" not in schema:
        result["additionalProperties"] = False
    if schema.get("x-kubernetes-int-or-string") and "anyOf" not in schema:
        result["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if schema.get("nullable") and isinstance(schema.get("type"), str):
        result["type"] = [schema["type"], "null"]
    if schema.get("x-kubernetes-list-type") == "set":
        result["uniqueItems"] = True
    if "properties" in schema:
        result["properties"] = {
            name: {"type": "object"}
            if top and name == "metadata"
            else strict(child, top=False, branch=branch)
            for name, child in schema["properties"].items()
        }
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), Mapping):
            result[key] = strict(schema[key], top=False, branch=branch)
    if isinstance(schema.get("not"), Mapping):
        result["not"] = strict(schema["not"], top=False, branch=True)
    for key in ("anyOf", "allOf", "oneOf"):
        if key in schema:
            result[key] = [strict(child, top=False, branch=True) for child in schema[key]]
    return result


def _list_map_keys(
    validator: Validator, keys: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    """``x-kubernetes-list-type: map``: no two items share the same values of the key fields."""
    if schema.get("x-kubernetes-list-type") != "map" or not isinstance(instance, list):
        return
    seen: dict[tuple[str, ...], int] = {}
    for position, item in enumerate(instance):
        if not isinstance(item, Mapping):
            continue
        value = tuple(json.dumps(item.get(k), sort_keys=True) for k in keys)
        if value in seen:
            named = ", ".join(f"{k}={item.get(k)!r}" for k in keys)
            yield jsonschema.ValidationError(
                f"items {seen[value]} and {position} have the same key ({named}); "
                "the list is a map keyed by " + ", ".join(keys)
            )
        else:
            seen[value] = position


# OpenAPI v3.0, which CRD schemas are written in, follows JSON Schema draft 4 (for instance a
# boolean exclusiveMinimum); the list-map keyword is the API server's, checked here as well.
StructuralValidator = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
    jsonschema.Draft4Validator, {"x-kubernetes-list-map-keys": _list_map_keys}
)
