"""Writing a synthesized stack to disk: one YAML file per Kubernetes object, plus the cloud
resources as JSON. Output is byte-identical across runs and replaced atomically."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prodstack.synth.graph import ResourceGraph
from prodstack.synth.manifests import apply_order, manifest, to_yaml
from prodstack.synth.values import plain

CLOUD_FILE = "cloud-resources.json"


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


def render(graph: ResourceGraph, out: Path) -> RenderResult:
    """Write ``out/<stack>/``; the previous contents are replaced only once all files exist."""
    target = out / graph.stack
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{graph.stack}-", dir=out))
    try:
        files: list[Path] = []
        kinds: Counter[str] = Counter()
        for index, resource in enumerate(apply_order(graph.kubernetes_objects())):
            name = f"{index:03d}-{resource.kind.lower()}-{resource.object_name}.yaml"
            (staging / name).write_text(to_yaml(manifest(resource)))
            files.append(target / name)
            kinds[resource.kind] += 1
        cloud = cloud_resources(graph)
        (staging / CLOUD_FILE).write_text(json.dumps(cloud, indent=2, sort_keys=True) + "\n")
        files.append(target / CLOUD_FILE)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return RenderResult(target, tuple(files), kinds, Counter(entry["type"] for entry in cloud))
