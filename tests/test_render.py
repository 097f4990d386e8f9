"""Rendering: deterministic, ordered for apply, secrets never written, replaced atomically
and only when prodstack wrote the folder (tests/test_output_safety.py has the details)."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
import pytest
import yaml

from prodstack.output import MARKER, OutputError
from prodstack.render import CLOUD_FILE, RenderRefused, render
from prodstack.synth import EncryptedPlaceholder, ResourceGraph, synthesize, synthesize_stack
from prodstack.synth.manifests import APPLY_ORDER
from tests.support.stacks import PROJECT, STACKS


def tree(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def rendered(folder: Path) -> list[Path]:
    return [path for path in sorted(folder.iterdir()) if path.name != MARKER]


@pytest.mark.parametrize("stack", STACKS)
def test_two_renders_are_byte_identical(stack: str, tmp_path: Path) -> None:
    first = render(synthesize_stack(stack, PROJECT), tmp_path / "a")
    second = render(synthesize_stack(stack, PROJECT), tmp_path / "b")
    assert tree(first.directory) == tree(second.directory)
    assert list(first.files) == rendered(first.directory)


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
    def program() -> None:
        k8s.core.v1.ConfigMap("stale", metadata={"name": "stale", "namespace": "app"}, data={})

    stale = render(synthesize(program, stack="production"), tmp_path).files[0]
    render(production, tmp_path)
    assert not stale.exists()  # a file the previous render wrote and this one does not
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_folder_prodstack_did_not_write_is_never_replaced(
    production: ResourceGraph, tmp_path: Path
) -> None:
    mine = tmp_path / "production" / "999-mine.yaml"
    mine.parent.mkdir(parents=True)
    mine.write_text("kind: Mine\n")
    with pytest.raises(OutputError, match="was not written by prodstack"):
        render(production, tmp_path)
    assert mine.read_text() == "kind: Mine\n"


def test_an_encrypted_placeholder_never_reaches_a_manifest(tmp_path: Path) -> None:
    token = EncryptedPlaceholder("prodstack:token")

    def program() -> None:
        k8s.core.v1.ConfigMap(
            "settings",
            metadata={"name": "settings", "namespace": "app"},
            data={"url": f"https://user:{token.text}@example.com", "mode": "fast"},
        )
        k8s.core.v1.ConfigMap(
            "hidden",
            metadata={"name": "hidden", "namespace": "app"},
            data={"token": pulumi.Output.secret(token.text)},  # redacted, but still refused
        )

    with pytest.raises(RenderRefused) as refused:
        render(synthesize(program, stack="encrypted"), tmp_path)
    assert "kubernetes:core/v1:ConfigMap settings: prodstack:token" in str(refused.value)
    assert "kubernetes:core/v1:ConfigMap hidden: prodstack:token" in str(refused.value)
    assert not (tmp_path / "encrypted").exists()


def test_a_decrypted_value_is_never_written_in_clear(tmp_path: Path) -> None:
    def program() -> None:
        k8s.core.v1.ConfigMap(
            "settings", metadata={"name": "settings", "namespace": "app"}, data={"t": "tok-123456"}
        )

    graph = synthesize(program, stack="decrypted")
    with pytest.raises(RenderRefused, match=r"000-configmap-settings.yaml: prodstack:token"):
        render(graph, tmp_path, plaintexts=[("prodstack:token", "tok-123456")])
    assert not (tmp_path / "decrypted").exists()
    # Marked secret, it is redacted and the render goes through.
    render(
        synthesize(_program_with_secret, stack="decrypted"),
        tmp_path,
        plaintexts=[("prodstack:password", "hunter2-do-not-print")],
    )
