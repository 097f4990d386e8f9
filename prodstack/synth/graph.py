"""The resource graph a program registers: what the offline engine returns."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from prodstack import labels
from prodstack.kinds import KUBERNETES_PREFIX

PROVIDER_PREFIX = "pulumi:providers:"


@dataclass(frozen=True)
class Resource:
    """One registration: custom resources carry normalized inputs; components carry none.
    ``protect`` and ``retain_on_delete`` are the resource options that guard against deletion;
    ``aliases`` the URNs it was known by (as the engine computes them from the alias specs,
    and every alias inherited from its parent's). ``provider`` is the URN of its explicit
    provider, None for the default one. ``read`` resources are not the program's: it reads
    their state (a StackReference, a ``get``), and nothing is created or applied for them."""

    urn: str
    type: str
    name: str
    parent: str | None
    dependencies: tuple[str, ...]
    provider: str | None
    custom: bool
    inputs: Mapping[str, Any] = field(default_factory=dict)
    protect: bool = False
    retain_on_delete: bool = False
    aliases: tuple[str, ...] = ()
    read: bool = False

    @property
    def is_kubernetes_object(self) -> bool:
        return (
            self.custom
            and not self.read
            and self.type.startswith(KUBERNETES_PREFIX)
            and "kind" in self.inputs
            and "apiVersion" in self.inputs
        )

    @property
    def is_provider(self) -> bool:
        return self.type.startswith(PROVIDER_PREFIX)

    @property
    def kind(self) -> str:
        return str(self.inputs.get("kind", ""))

    @property
    def api_version(self) -> str:
        return str(self.inputs.get("apiVersion", ""))

    @property
    def object_name(self) -> str:
        return str(self.inputs.get("metadata", {}).get("name", ""))

    @property
    def namespace(self) -> str | None:
        namespace = self.inputs.get("metadata", {}).get("namespace")
        return None if namespace is None else str(namespace)


@dataclass(frozen=True)
class ResourceGraph:
    """Registrations in order, with look-ups by URN, type and Kubernetes kind."""

    project: str
    stack: str
    resources: tuple[Resource, ...]
    outputs: Mapping[str, Any] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.resources)

    def __len__(self) -> int:
        return len(self.resources)

    def by_urn(self, urn: str) -> Resource:
        for resource in self.resources:
            if resource.urn == urn:
                return resource
        raise KeyError(urn)

    def of_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def kubernetes_objects(self) -> list[Resource]:
        return [r for r in self.resources if r.is_kubernetes_object]

    def kind(self, kind: str, api_version: str | None = None) -> list[Resource]:
        return [
            r
            for r in self.kubernetes_objects()
            if r.kind == kind and (api_version is None or r.api_version == api_version)
        ]

    def service_objects(self, service: str) -> list[Resource]:
        """The Kubernetes objects of one service (labelled ``prodstack.io/service``)."""
        return [
            r
            for r in self.kubernetes_objects()
            if ((r.inputs.get("metadata") or {}).get("labels") or {}).get(labels.SERVICE) == service
        ]

    def one(self, kind: str, name: str | None = None) -> Resource:
        """The single object of a kind (and name); raises when there is not exactly one."""
        found = [r for r in self.kind(kind) if name is None or r.object_name == name]
        if len(found) != 1:
            raise LookupError(f"expected one {kind} {name or ''}, found {len(found)}")
        return found[0]

    def cloud_resources(self) -> list[Resource]:
        """Custom resources that are not Kubernetes objects or providers (AWS and the like)."""
        return [
            r
            for r in self.resources
            if r.custom
            and not r.read
            and not r.is_provider
            and not r.type.startswith(KUBERNETES_PREFIX)
        ]

    def components(self) -> list[Resource]:
        return [r for r in self.resources if not r.custom and r.type != "pulumi:pulumi:Stack"]

    def children(self, parent: Resource) -> list[Resource]:
        return [r for r in self.resources if r.parent == parent.urn]
