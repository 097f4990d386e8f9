"""Writing a synthesized stack to disk: one YAML file per Kubernetes object, plus the cloud
resources as JSON. Output is byte-identical across runs and replaced atomically, and only a
folder prodstack wrote is ever replaced (prodstack.output).

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
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from prodstack import kinds
from prodstack.labels import SERVICE
from prodstack.output import MARKER, write_tree
from prodstack.synth.encrypted import EncryptedPlaceholder
from prodstack.synth.graph import Resource, ResourceGraph
from prodstack.synth.manifests import apply_order, manifest, to_yaml
from prodstack.synth.monitor import KUBERNETES_PROVIDER_TYPE, PLACEHOLDER_PREFIX
from prodstack.synth.values import Secret, Unknown, plain

CLOUD_FILE = "cloud-resources.json"
CLUSTER_FOLDER = "_cluster"


class RenderRefused(Exception):
    """The manifests would carry an encrypted value's placeholder, or a decrypted secret in
    clear; nothing was written. The message names the object and the key."""


class IntegrityRefused(Exception):
    """The manifests fail the graph-integrity checks of ``prodstack check`` (a name one object
    uses to reach another resolves to nothing in the stack); nothing was written. ``findings``
    holds one line per finding."""

    def __init__(self, stack: str, findings: Sequence[str]) -> None:
        self.findings = list(findings)
        super().__init__(
            f"{stack}'s manifests reference objects that are not in the stack "
            f"({len(self.findings)} finding(s) of prodstack check's graph integrity); nothing "
            "was written:\n" + "\n".join(f"  {finding}" for finding in self.findings)
        )


class GitOpsRefused(Exception):
    """A GitOps manifest would carry a value that does not work from git (unknown until
    deployment, a secret, a placeholder); nothing was written. ``problems`` holds one line each
    (``gitops_problems``)."""

    def __init__(self, stack: str, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(
            f"{stack}'s GitOps manifests would not work from git ({len(self.problems)} "
            "value(s)); nothing was written:\n" + "\n".join(f"  {p}" for p in self.problems)
        )


@dataclass(frozen=True)
class RenderResult:
    directory: Path
    files: tuple[Path, ...]
    kinds: Counter[str]
    cloud_types: Counter[str]
    kept: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def summary(self) -> str:
        lines = [f"rendered {sum(self.kinds.values())} Kubernetes objects to {self.directory}"]
        lines += [f"  {count:4d}  {kind}" for kind, count in sorted(self.kinds.items())]
        lines.append(f"{sum(self.cloud_types.values())} cloud resources in {CLOUD_FILE}")
        lines += [f"  {count:4d}  {kind}" for kind, count in sorted(self.cloud_types.items())]
        if self.kept:
            lines.append(
                f"kept {len(self.kept)} file(s) that prodstack did not write (not in {MARKER}):"
            )
            lines += [f"        {path}" for path in self.kept]
        lines += [f"warning: {warning}" for warning in self.warnings]
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
        for resource in graph.of_type(KUBERNETES_PROVIDER_TYPE)
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


def integrity_findings(graph: ResourceGraph) -> list[str]:
    """What the graph-integrity family of ``prodstack check`` finds (prodstack.check.references:
    scale targets, selectors, monitors, Rollout, secret store, pod and role references), one
    ``[check] Kind namespace/name: why`` line each."""
    from prodstack.check.references import CHECKS, Index
    from prodstack.check.report import subjects

    index = Index(subjects(graph))
    return [
        f"[{name}] {subject.describe()}: {message}"
        for name, run in CHECKS
        for subject, message in run(index)
    ]


def render(
    graph: ResourceGraph, out: Path, *, plaintexts: Iterable[tuple[str, str]] = ()
) -> RenderResult:
    """Write ``out/<stack>/``; the previous contents are replaced only once all files exist.

    ``plaintexts`` are ``(key, decrypted value)`` pairs (``StackConfig.plaintexts``): a file that
    would contain one in clear is refused, as is any value holding an EncryptedPlaceholder.
    Raises IntegrityRefused when the manifests fail ``prodstack check``'s graph integrity,
    GitOpsRefused when a GitOps manifest holds a value that does not work from git,
    RenderRefused, or prodstack.output.OutputError when ``out`` is not safe to write."""
    objects = graph.kubernetes_objects()
    findings = integrity_findings(graph)
    if findings:
        raise IntegrityRefused(graph.stack, findings)
    problems = gitops_problems(graph)
    if problems:
        raise GitOpsRefused(graph.stack, problems)
    _refuse_placeholders([*objects, *graph.cloud_resources()])
    files = {str(path): text.encode() for path, text in layout(graph).items()}
    _refuse_plaintexts(files, plaintexts)
    written = write_tree(out, graph.stack, files)
    return RenderResult(
        written.directory,
        tuple(written.directory / name for name in files),
        Counter(resource.kind for resource in objects),
        Counter(resource.type for resource in graph.cloud_resources()),
        written.kept,
        written.warnings,
    )


def _refuse_placeholders(resources: Iterable[Resource]) -> None:
    found = [
        f"  {resource.type} {resource.name}: {placeholder.key}"
        for resource in resources
        for placeholder in EncryptedPlaceholder.find(resource.inputs)
    ]
    if found:
        raise RenderRefused(
            "encrypted values that were not decrypted reach the manifests (nothing written):\n"
            + "\n".join(sorted(set(found)))
            + "\nrender with a Pulumi CLI that can decrypt the stack's secrets, or move the "
            "values to the secret store"
        )


def _refuse_plaintexts(files: dict[str, bytes], plaintexts: Iterable[tuple[str, str]]) -> None:
    found = sorted(
        {
            f"  {name}: {key}"
            for key, text in plaintexts
            for name, content in files.items()
            if text.encode() in content
        }
    )
    if found:
        raise RenderRefused(
            "decrypted secret values would be written in clear (nothing written):\n"
            + "\n".join(found)
            + "\nread them with pulumi.Config.get_secret (or wrap them in pulumi.Output.secret) "
            "so that the render redacts them"
        )
