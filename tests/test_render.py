"""Rendering: deterministic, ordered for apply, secrets never written, replaced atomically."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
import pytest
import yaml

from prodstack.render import CLOUD_FILE, render
from prodstack.synth import ResourceGraph, synthesize, synthesize_stack
from prodstack.synth.manifests import APPLY_ORDER
from tests.support.stacks import PROJECT, STACKS


def tree(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


@pytest.mark.parametrize("stack", STACKS)
def test_two_renders_are_byte_identical(stack: str, tmp_path: Path) -> None:
    first = render(synthesize_stack(stack, PROJECT), tmp_path / "a")
    second = render(synthesize_stack(stack, PROJECT), tmp_path / "b")
    assert tree(first.directory) == tree(second.directory)
    assert len(first.files) == len(list(first.directory.iterdir()))


def test_namespaces_come_first_and_kinds_follow_apply_order(
    graph: ResourceGraph, tmp_path: Path
) -> None:
    result = render(graph, tmp_path)
    kinds = [
        yaml.safe_load(path.read_text())["kind"] for path in sorted(result.directory.glob("*.yaml"))
    ]
    assert kinds[0] == "Namespace"
    ranks = [APPLY_ORDER.index(kind) for kind in kinds]
    assert ranks == sorted(ranks)
    assert sum(result.kinds.values()) == len(kinds) == len(graph.kubernetes_objects())


def test_documents_lead_with_api_version_kind_metadata(
    production: ResourceGraph, tmp_path: Path
) -> None:
    result = render(production, tmp_path)
    for path in result.directory.glob("*.yaml"):
        first_keys = list(yaml.safe_load(path.read_text()))[:3]
        assert first_keys == ["apiVersion", "kind", "metadata"], path.name


def _program_with_secret() -> None:
    k8s.core.v1.ConfigMap(
        "settings",
        metadata={"name": "settings", "namespace": "app"},
        data={"password": pulumi.Output.secret("hunter2-do-not-print"), "mode": "fast"},
    )


def test_secret_values_are_never_written(tmp_path: Path) -> None:
    result = render(synthesize(_program_with_secret, stack="secrets"), tmp_path)
    written = b"".join(path.read_bytes() for path in result.directory.iterdir())
    assert b"hunter2-do-not-print" not in written
    document = yaml.safe_load((result.directory / "000-configmap-settings.yaml").read_text())
    # Pulumi marks the whole input that holds a secret as secret; all of it is redacted.
    assert document["data"] == "[secret]"


def test_cloud_resources_file_lists_non_kubernetes_resources(tmp_path: Path) -> None:
    import pulumi_aws as aws

    def program() -> None:
        aws.s3.Bucket("backups", force_destroy=False)

    result = render(synthesize(program, stack="cloud"), tmp_path)
    entries = json.loads((result.directory / CLOUD_FILE).read_text())
    assert [(e["type"], e["name"]) for e in entries] == [("aws:s3/bucket:Bucket", "backups")]
    assert entries[0]["inputs"]["forceDestroy"] is False
    assert result.cloud_types == {"aws:s3/bucket:Bucket": 1}


def test_previous_output_is_replaced_whole(production: ResourceGraph, tmp_path: Path) -> None:
    stale = tmp_path / "production" / "999-stale.yaml"
    stale.parent.mkdir(parents=True)
    stale.write_text("kind: Stale\n")
    render(production, tmp_path)
    assert not stale.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
