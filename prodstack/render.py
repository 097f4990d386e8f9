"""Writing a synthesized stack to disk: one YAML file per Kubernetes object, plus the cloud
resources as JSON. Output is byte-identical across runs and replaced atomically.

Two layouts, chosen per object by the provider it is bound to:

- objects Pulumi applies to a cluster go under ``<namespace>/`` (namespace-wide objects) or
  ``<namespace>/<service>/`` (a service's), named ``<NN>-<kind>-<name>.yaml`` where ``NN`` is
  the kind's place in the apply order, so ``kubectl apply -R -f`` applies them in order and a
  removed object never renames another; cluster-scoped objects other than Namespaces go
  under ``_cluster/``;
- objects bound to a render-mode provider (``renderYamlToDirectory``: the GitOps folder) go
  exactly where that provider writes them, relative to the render directories' common
  parent: ``<dir>/1-manifest/<apiVersion>-<kind>-<namespace>-<name>.yaml``.
"""

from __future__ import annotations

import json
import posixpath
import shutil
import tempfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from prodstack import kinds
from prodstack.labels import SERVICE
from prodstack.synth.graph import Resource, ResourceGraph
from prodstack.synth.manifests import apply_order, manifest, to_yaml
from prodstack.synth.monitor import PLACEHOLDER_PREFIX
from prodstack.synth.values import Secret, Unknown, plain

CLOUD_FILE = "cloud-resources.json"
CLUSTER_FOLDER = "_cluster"


@dataclass(frozen=True)
class RenderResult:
    directory: Path
    files: tuple[Path, ...]
    kinds: Counter[str]
    cloud_types: Counter[str]

    def summary(self) -> str:
        lines = [f"rendered {sum(self.kinds.values())} Kubernetes objects to {self.directory}"]
        lines += [f"  {count:4d}  {kind}" for kind, count in sorted(self.kinds.items())]
        lines.append(f"{sum(self.cloud_types.values())} cloud resources in {CLOUD_FILE}")
        lines += [f"  {count:4d}  {kind}" for kind, count in sorted(self.cloud_types.items())]
        return "\n".join(lines)


def cloud_resources(graph: ResourceGraph) -> list[dict[str, Any]]:
    """Non-Kubernetes resources with their inputs (secrets redacted), in a stable order."""
    entries = [
        {
            "type": resource.type,
            "name": resource.name,
            "urn": resource.urn,
            "parent": resource.parent,
            "dependencies": list(resource.dependencies),
            "protect": resource.protect,
            "retainOnDelete": resource.retain_on_delete,
            "inputs": plain(resource.inputs),
        }
        for resource in graph.cloud_resources()
    ]
    return sorted(entries, key=lambda entry: (entry["type"], entry["name"]))


def render_directories(graph: ResourceGraph) -> dict[str, str]:
    """URN of each render-mode Kubernetes provider -> its ``renderYamlToDirectory``."""
    return {
        resource.urn: str(resource.inputs["renderYamlToDirectory"])
        for resource in graph.of_type("pulumi:providers:kubernetes")
        if resource.inputs.get("renderYamlToDirectory")
    }


def provider_file(resource: Resource) -> PurePosixPath:
    """Where pulumi-kubernetes' render mode writes an object, below its directory
    (pulumi/pulumi-kubernetes provider/pkg/provider/provider.go ``renderPathForResource``)."""
    api_version = resource.api_version.replace("/", "_").replace(":", "_")
    namespace = resource.namespace or "default"
    name = f"{api_version}-{resource.kind.lower()}-{namespace}-{resource.object_name}.yaml"
    crd = resource.kind == "CustomResourceDefinition" and resource.api_version.startswith(
        "apiextensions.k8s.io/"
    )
    return PurePosixPath("0-crd" if crd else "1-manifest", name)


def gitops_problems(graph: ResourceGraph) -> list[str]:
    """Values that would reach git unusable: unknown until deployment, secret (a render-mode
    provider writes secrets in plain text), or a placeholder for what only the cloud knows.
    Each names the object and the field."""
    directories = render_directories(graph)
    problems = []
    for resource in apply_order(graph.kubernetes_objects()):
        if (resource.provider or "") not in directories:
            continue
        for path, what in _unusable(resource.inputs, ""):
            where = f"{resource.namespace}/" if resource.namespace else ""
            problems.append(f"{resource.kind} {where}{resource.object_name}: {path} is {what}")
    return problems


def _unusable(value: Any, path: str) -> list[tuple[str, str]]:
    if isinstance(value, Unknown):
        return [(path, "unknown until deployment")]
    if isinstance(value, Secret):
        return [(path, "a secret, which the render would write in plain text")]
    if isinstance(value, str) and PLACEHOLDER_PREFIX in value:
        return [(path, f"a placeholder ({value})")]
    if isinstance(value, Mapping):
        found = []
        for key, item in value.items():
            found += _unusable(item, f"{path}.{key}" if path else str(key))
        return found
    if isinstance(value, list):
        return [
            hit for index, item in enumerate(value) for hit in _unusable(item, f"{path}[{index}]")
        ]
    return []


def cluster_file(resource: Resource) -> PurePosixPath:
    """Where an object applied to a cluster goes in ``prodstack render``'s own layout."""
    name = (
        f"{kinds.apply_rank(resource.kind):02d}-{resource.kind.lower()}-{resource.object_name}.yaml"
    )
    if resource.kind == "Namespace":
        return PurePosixPath(resource.object_name, name)
    if not kinds.is_namespaced(resource.kind):
        return PurePosixPath(CLUSTER_FOLDER, name)
    namespace = resource.namespace or "default"
    labels = (resource.inputs.get("metadata") or {}).get("labels") or {}
    service = labels.get(SERVICE)
    if isinstance(service, str) and service:
        return PurePosixPath(namespace, service, name)
    return PurePosixPath(namespace, name)


def layout(graph: ResourceGraph) -> dict[PurePosixPath, str]:
    """Every file of the render, by its path below ``<out>/<stack>/``."""
    directories = render_directories(graph)
    common = _common_parent(list(directories.values()))
    files: dict[PurePosixPath, str] = {}
    for resource in apply_order(graph.kubernetes_objects()):
        directory = directories.get(resource.provider or "")
        if directory is not None:
            relative = posixpath.relpath(posixpath.normpath(directory), common)
            path = PurePosixPath(relative) / provider_file(resource)
        else:
            path = cluster_file(resource)
        if path in files:
            raise ValueError(f"two objects would be written to {path}")
        files[path] = to_yaml(manifest(resource))
    files[PurePosixPath(CLOUD_FILE)] = (
        json.dumps(cloud_resources(graph), indent=2, sort_keys=True) + "\n"
    )
    return files


def _common_parent(directories: list[str]) -> str:
    if not directories:
        return "."
    normalized = [posixpath.normpath(d) for d in directories]
    if len(normalized) == 1:
        return posixpath.dirname(normalized[0]) or "."
    return posixpath.commonpath(normalized) or "."


def render(graph: ResourceGraph, out: Path) -> RenderResult:
    """Write ``out/<stack>/``; the previous contents are replaced only once all files exist."""
    files = layout(graph)
    target = out / graph.stack
    _write_tree(out, target, files)
    objects = graph.kubernetes_objects()
    cloud = graph.cloud_resources()
    return RenderResult(
        target,
        tuple(target / path for path in files),
        Counter(resource.kind for resource in objects),
        Counter(resource.type for resource in cloud),
    )


def _write_tree(out: Path, target: Path, files: Mapping[PurePosixPath, str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=out))
    try:
        for path, text in files.items():
            destination = staging / path
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_text(text)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
