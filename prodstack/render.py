"""Writing a synthesized stack to disk: one YAML file per Kubernetes object, plus the cloud
resources as JSON. Output is byte-identical across runs and replaced atomically, and only a
folder prodstack wrote is ever replaced (prodstack.output)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prodstack.output import MARKER, write_tree
from prodstack.synth.encrypted import EncryptedPlaceholder
from prodstack.synth.graph import Resource, ResourceGraph
from prodstack.synth.manifests import apply_order, manifest, to_yaml
from prodstack.synth.values import plain

CLOUD_FILE = "cloud-resources.json"


class RenderRefused(Exception):
    """The manifests would carry an encrypted value's placeholder, or a decrypted secret in
    clear; nothing was written. The message names the object and the key."""


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


def render(
    graph: ResourceGraph, out: Path, *, plaintexts: Iterable[tuple[str, str]] = ()
) -> RenderResult:
    """Write ``out/<stack>/``; the previous contents are replaced only once all files exist.

    ``plaintexts`` are ``(key, decrypted value)`` pairs (``StackConfig.plaintexts``): a file that
    would contain one in clear is refused, as is any value holding an EncryptedPlaceholder.
    Raises RenderRefused, or prodstack.output.OutputError when ``out`` is not safe to write."""
    objects = apply_order(graph.kubernetes_objects())
    _refuse_placeholders([*objects, *graph.cloud_resources()])
    files: dict[str, bytes] = {}
    kinds: Counter[str] = Counter()
    for index, resource in enumerate(objects):
        name = f"{index:03d}-{resource.kind.lower()}-{resource.object_name}.yaml"
        files[name] = to_yaml(manifest(resource)).encode()
        kinds[resource.kind] += 1
    cloud = cloud_resources(graph)
    files[CLOUD_FILE] = (json.dumps(cloud, indent=2, sort_keys=True) + "\n").encode()
    _refuse_plaintexts(files, plaintexts)
    written = write_tree(out, graph.stack, files)
    return RenderResult(
        written.directory,
        tuple(written.directory / name for name in files),
        kinds,
        Counter(entry["type"] for entry in cloud),
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
