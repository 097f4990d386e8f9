"""Upstream CustomResourceDefinitions -> the compact schemas prodstack ships.

A compact schema is a version's ``openAPIV3Schema`` with only the keys the validator evaluates
(descriptions, defaults, examples, formats and CEL rules dropped), written as JSON with sorted
keys, so the same CRD always gives the same bytes. Strictness (unknown fields are errors) is not
baked in: it is applied when the schemas are loaded (``prodstack.check.schema.catalog``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

INDEX = "index.json"
FORMAT = 1

# Keys that change what a document may contain; everything else is documentation or defaulting.
KEPT_KEYS = frozenset(
    {
        "type",
        "properties",
        "items",
        "additionalProperties",
        "required",
        "enum",
        "pattern",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minProperties",
        "maxProperties",
        "anyOf",
        "allOf",
        "oneOf",
        "not",
        "nullable",
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-int-or-string",
        "x-kubernetes-list-type",
        "x-kubernetes-list-map-keys",
    }
)
_SCHEMA_MAPS = ("properties",)
_SCHEMA_VALUES = ("items", "additionalProperties", "not")
_SCHEMA_LISTS = ("anyOf", "allOf", "oneOf")


class CRDError(ValueError):
    """An input that is not a usable CustomResourceDefinition manifest."""


@dataclass(frozen=True)
class Source:
    """Where an upstream CRD file came from, as the index records it."""

    project: str
    path: str
    commit: str
    date: str
    release: str

    def record(self, blob: str) -> dict[str, str]:
        return {
            "project": self.project,
            "path": self.path,
            "commit": self.commit,
            "date": self.date,
            "release": self.release,
            "blob": blob,
        }


def git_blob_id(data: bytes) -> str:
    """The id git gives the file (``git hash-object``): proof of which upstream file was used."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def compact(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The schema with only validation keys, recursively."""
    result: dict[str, Any] = {}
    for key, value in schema.items():
        if key not in KEPT_KEYS:
            continue
        if key in _SCHEMA_MAPS:
            result[key] = {name: compact(child) for name, child in value.items()}
        elif key in _SCHEMA_VALUES and isinstance(value, Mapping):
            result[key] = compact(value)
        elif key in _SCHEMA_LISTS:
            result[key] = [compact(child) for child in value]
        else:
            result[key] = value
    return result


def dumps(value: Any) -> str:
    """Deterministic JSON: sorted keys, one value per line (so a refresh reads as a diff)."""
    return json.dumps(value, sort_keys=True, indent=0, separators=(",", ":")) + "\n"


def schema_file(group: str, kind: str, version: str) -> str:
    return f"{group}_{kind.lower()}_{version}.json"


def crds_of(text: str, name: str) -> list[dict[str, Any]]:
    """Every CustomResourceDefinition in a (multi-document) manifest file."""
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        raise CRDError(f"{name}: not YAML: {exc}") from None
    crds = [
        d
        for d in documents
        if isinstance(d, dict)
        and d.get("kind") == "CustomResourceDefinition"
        and str(d.get("apiVersion", "")).startswith("apiextensions.k8s.io/")
    ]
    if not crds:
        raise CRDError(f"{name}: no apiextensions.k8s.io CustomResourceDefinition in the file")
    return crds


def entries(crd: Mapping[str, Any], name: str) -> Iterable[tuple[dict[str, Any], Any]]:
    """(index entry, compact schema or None when unserved) for each version of one CRD."""
    try:
        spec = crd["spec"]
        group, kind, versions = spec["group"], spec["names"]["kind"], spec["versions"]
    except (KeyError, TypeError):
        raise CRDError(
            f"{name}: a CRD without spec.group, spec.names.kind or spec.versions"
        ) from None
    for version in versions:
        served = bool(version.get("served", False))
        entry: dict[str, Any] = {
            "group": group,
            "kind": kind,
            "version": version["name"],
            "served": served,
        }
        if not served:
            yield entry, None
            continue
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        if not isinstance(schema, Mapping):
            raise CRDError(f"{name}: {kind} {version['name']} is served but has no openAPIV3Schema")
        entry["file"] = schema_file(group, kind, version["name"])
        entry["celRulesNotEvaluated"] = _count(schema, "x-kubernetes-validations")
        yield entry, compact(schema)


def build(inputs: Iterable[tuple[str, bytes, Source]]) -> dict[str, str]:
    """The files of a schema folder (name -> text) from (file name, bytes, source) inputs.

    The index lists every version of every kind, served or not, with the upstream source of its
    CRD; served versions name their schema file.
    """
    files: dict[str, str] = {}
    kinds: list[dict[str, Any]] = []
    for name, data, source in inputs:
        record = source.record(git_blob_id(data))
        for crd in crds_of(data.decode(), name):
            for entry, schema in entries(crd, name):
                kinds.append({**entry, "source": record})
                if schema is not None:
                    files[entry["file"]] = dumps(schema)
    return {**files, INDEX: index_text(kinds)}


def index_text(kinds: Iterable[Mapping[str, Any]]) -> str:
    ordered = sorted(kinds, key=lambda k: (k["group"], k["kind"], k["version"]))
    seen: set[tuple[str, str, str]] = set()
    for entry in ordered:
        key = (entry["group"], entry["kind"], entry["version"])
        if key in seen:
            raise CRDError(f"{key[1]} {key[0]}/{key[2]} is defined by more than one input")
        seen.add(key)
    # One entry per line keeps a refresh readable as a diff.
    lines = ",\n".join("  " + json.dumps(entry, sort_keys=True) for entry in ordered)
    return f'{{"format": {FORMAT}, "kinds": [\n{lines}\n]}}\n'


def _count(schema: Any, key: str) -> int:
    if isinstance(schema, Mapping):
        own = len(schema[key]) if isinstance(schema.get(key), list) else 0
        return own + sum(_count(value, key) for value in schema.values())
    if isinstance(schema, list):
        return sum(_count(item, key) for item in schema)
    return 0
