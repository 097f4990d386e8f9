"""Kubernetes manifests from a resource graph: ordered for apply, keys in a stable order."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

from prodstack import kinds
from prodstack.synth.graph import Resource, ResourceGraph
from prodstack.synth.values import plain

APPLY_ORDER = kinds.APPLY_ORDER
TOP_LEVEL = ("apiVersion", "kind", "metadata")


def manifest(resource: Resource) -> dict[str, Any]:
    """The object as it would be applied: secrets redacted, keys in a stable order."""
    body = plain(resource.inputs)
    ordered = {key: _sorted(body[key]) for key in TOP_LEVEL if key in body}
    ordered.update({key: _sorted(body[key]) for key in sorted(body) if key not in TOP_LEVEL})
    return ordered


def apply_order(resources: Iterable[Resource]) -> list[Resource]:
    """Objects sorted by kind rank (unknown kinds last), then namespace, then name."""

    def key(resource: Resource) -> tuple[int, str, str, str]:
        return (
            kinds.apply_rank(resource.kind),
            resource.kind,
            resource.namespace or "",
            resource.object_name,
        )

    return sorted(resources, key=key)


def manifests(graph: ResourceGraph) -> list[dict[str, Any]]:
    return [manifest(resource) for resource in apply_order(graph.kubernetes_objects())]


def to_yaml(document: Any) -> str:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (PromQL, scripts) as literal blocks; no anchors or aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _represent_str)
