"""Validate one manifest-shaped object: built-in kinds against the Kubernetes OpenAPI, custom
resources against the shipped CRD schemas, and the Kubernetes types custom resources embed (a
Rollout's pod template) against the Kubernetes OpenAPI as well."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jsonschema
from jsonschema.protocols import Validator

from prodstack.check.schema.catalog import Catalog, shipped
from prodstack.check.schema.kubernetes import KubernetesSchemas, minor_of, schemas_for
from prodstack.check.schema.paths import format_path, reach
from prodstack.kinds import api_group

# The API server checks a custom resource's metadata as any object's (the CRD leaves it out).
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
# Kubernetes types inside custom resources, by (group, kind): where they sit and their type.
# Argo Rollouts' CRDs type these loosely (volumes and resources keep unknown fields), while the
# controller hands them to Kubernetes as they are; so they must also be valid Kubernetes objects.
EMBEDDED_KUBERNETES_TYPES: Mapping[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("argoproj.io", "Rollout"): (("spec.template", "io.k8s.api.core.v1.PodTemplateSpec"),),
    ("argoproj.io", "AnalysisTemplate"): (
        ("spec.metrics[].provider.job.spec", "io.k8s.api.batch.v1.JobSpec"),
    ),
}


@dataclass(frozen=True)
class SchemaError:
    """One schema error: the object (``Kind namespace/name``), the JSON path in it, why."""

    subject: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.subject}: {self.path or '(object)'}: {self.message}"


def describe(document: Mapping[str, Any]) -> str:
    """``Kind namespace/name`` (``Kind name`` when cluster-scoped)."""
    metadata = document.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    namespace = metadata.get("namespace")
    where = f"{namespace}/" if namespace else ""
    return f"{document.get('kind', '?')} {where}{metadata.get('name', '?')}"


def is_built_in(api_version: str, catalog: Catalog) -> bool:
    """Core, dot-less (``apps``) and ``*.k8s.io`` groups are Kubernetes' own, unless a shipped
    CRD defines the group (Gateway API's ``gateway.networking.k8s.io`` is a CRD)."""
    group = api_group(api_version)
    if catalog.defines_group(group):
        return False
    return "." not in group or group.endswith(".k8s.io")


def validate_object(
    document: Mapping[str, Any],
    kubernetes_version: str = "1.33",
    catalog: Catalog | None = None,
) -> list[SchemaError]:
    """Every schema error of one object (an empty list when it is valid).

    Raises KubernetesVersionError for a Kubernetes minor the installed kubernetes-validate has no
    schemas for.
    """
    kubernetes = schemas_for(minor_of(kubernetes_version))
    catalog = catalog or shipped()
    api_version, kind = document.get("apiVersion"), document.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str) or not kind:
        found = [("", "an object needs a string apiVersion and kind")]
    elif is_built_in(api_version, catalog):
        found = _built_in(document, api_version, kind, kubernetes)
    else:
        found = _custom(document, api_version, kind, catalog, kubernetes)
    subject = describe(document)
    return [SchemaError(subject, path, message) for path, message in found]


def _built_in(
    document: Mapping[str, Any], api_version: str, kind: str, kubernetes: KubernetesSchemas
) -> list[tuple[str, str]]:
    validator = kubernetes.for_kind(api_version, kind)
    if validator is None:
        return [("", f"Kubernetes {kubernetes.minor} does not serve {kind} {api_version}")]
    return list(errors(validator, document))


def _custom(
    document: Mapping[str, Any],
    api_version: str,
    kind: str,
    catalog: Catalog,
    kubernetes: KubernetesSchemas,
) -> list[tuple[str, str]]:
    group = api_group(api_version)
    version = catalog.lookup(api_version, kind)
    served = ", ".join(v.api_version for v in catalog.versions_of(group, kind) if v.served)
    if version is None and served:
        return [("", f"no schema for {kind} {api_version}; its CRD serves {served}")]
    if version is None:
        shipped_kinds = "; ".join(catalog.kinds())
        return [("", f"no schema ships for {kind} {api_version}; prodstack has {shipped_kinds}")]
    if not version.served:
        return [("", f"{kind} {api_version} is no longer served by its CRD (use {served})")]
    found = dict(errors(catalog.validator(version), document))
    embedded = (("metadata", OBJECT_META), *EMBEDDED_KUBERNETES_TYPES.get((group, kind), ()))
    for location, definition in embedded:
        validator = kubernetes.for_definition(definition)
        for prefix, value in reach(document, location):
            # The Kubernetes message replaces the CRD's for the same path: one error per typo.
            found.update(errors(validator, value, prefix))
    return sorted(found.items())


def errors(
    validator: Validator, instance: Any, prefix: Sequence[str | int] = ()
) -> Iterator[tuple[str, str]]:
    """(path, message) of every error, unknown fields named one by one at their own path."""
    for error in validator.iter_errors(instance):
        yield from _explain(error, tuple(prefix))


def _explain(
    error: jsonschema.ValidationError, prefix: tuple[str | int, ...]
) -> Iterator[tuple[str, str]]:
    path = (*prefix, *error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        schema = error.schema if isinstance(error.schema, Mapping) else {}
        declared = schema.get("properties") or {}
        for key in sorted(k for k in error.instance if k not in declared):
            yield format_path((*path, key)), _unknown_field(key, declared)
        return
    if error.context and error.validator in ("anyOf", "oneOf"):
        if all(e.validator == "type" for e in error.context):
            types = " or ".join(sorted({str(t) for e in error.context for t in _types(e)}))
            yield format_path(path), f"{error.instance!r} is not of type {types}"
            return
        # The closest branch says more than "is not valid under any of the given schemas".
        best = jsonschema.exceptions.best_match(error.context)
        if best is not None:
            yield from _explain(best, prefix)
            return
    yield format_path(path), error.message


def _types(error: jsonschema.ValidationError) -> list[Any]:
    declared = error.validator_value
    return list(declared) if isinstance(declared, list) else [declared]


def _unknown_field(key: str, declared: Mapping[str, Any]) -> str:
    unknown = "unknown field (the API server would drop or refuse it)"
    if not declared:
        return f"{unknown}; this object has no fields"
    close = difflib.get_close_matches(key, list(declared), n=3, cutoff=0.6)
    if close:
        return f"{unknown}; did you mean {' or '.join(close)}?"
    names = sorted(declared)
    shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    return f"{unknown}; the fields here are {shown}"
