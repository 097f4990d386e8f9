"""Rendering: deterministic, stable file names, ordered for ``kubectl apply -R``, the GitOps
folder laid out as the render-mode provider writes it, secrets never written, replaced
atomically and only when prodstack wrote the folder (tests/test_output_safety.py has the
details)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
import yaml

from prodstack import kinds
from prodstack.output import OutputError
from prodstack.render import (
    CLOUD_FILE,
    GitOpsRefused,
    RenderRefused,
    gitops_problems,
    layout,
    provider_file,
    render,
)
from prodstack.synth import EncryptedPlaceholder, ResourceGraph, synthesize, synthesize_stack
from tests.support.golden import read_tree
from tests.support.projects import run, tiny_project
from tests.support.stacks import API, PROJECT, STACKS, environment, svc, synthesize_environment


@pytest.mark.parametrize("stack", STACKS)
def test_two_renders_are_byte_identical(stack: str, tmp_path: Path) -> None:
    first = render(synthesize_stack(stack, PROJECT), tmp_path / "a")
    second = render(synthesize_stack(stack, PROJECT), tmp_path / "b")
    assert read_tree(first.directory) == read_tree(second.directory)
    assert sorted(str(p.relative_to(first.directory)) for p in first.files) == sorted(
        read_tree(first.directory)
    )


def manifests_in(folder: Path) -> dict[str, dict[str, Any]]:
    return {
        str(path.relative_to(folder)): yaml.safe_load(path.read_text())
        for path in sorted(folder.rglob("*.yaml"))
    }


def test_kubectl_apply_order_holds_across_folders(tmp_path: Path) -> None:
    """``kubectl apply -R -f`` walks files in lexical order: a namespace comes before what is
    in it, and in every folder kinds come in apply order."""
    for stack in ("dev", "staging"):
        result = render(synthesize_stack(stack, PROJECT), tmp_path / stack)
        documents = manifests_in(result.directory)
        seen_namespaces: set[str] = set()
        for path, document in documents.items():
            metadata = document["metadata"]
            if document["kind"] == "Namespace":
                seen_namespaces.add(metadata["name"])
            elif kinds.is_namespaced(document["kind"]):
                assert metadata["namespace"] in seen_namespaces, path
        by_folder: dict[str, list[int]] = {}
        for path, document in documents.items():
            folder, _, name = path.rpartition("/")
            rank = int(name.split("-", 1)[0])
            assert rank == kinds.apply_rank(document["kind"]), path
            by_folder.setdefault(folder, []).append(rank)
        assert all(ranks == sorted(ranks) for ranks in by_folder.values())
        assert sum(result.kinds.values()) == len(documents)


def test_a_service_is_grouped_under_its_namespace(tmp_path: Path) -> None:
    result = render(synthesize_stack("staging", PROJECT), tmp_path)
    documents = manifests_in(result.directory)
    for path, document in documents.items():
        labels = document["metadata"].get("labels") or {}
        service = labels.get("prodstack.io/service")
        parts = path.split("/")
        if document["kind"] == "Namespace" or service is None:
            assert len(parts) == 2, path
        else:
            assert parts[:2] == [document["metadata"]["namespace"], service], path


def test_removing_an_object_renames_no_other_file(graph: ResourceGraph) -> None:
    before = set(layout(graph))

    def no_backups(raw: dict[str, Any]) -> None:
        del svc(raw)["dbBackup"]  # its jobs, stores, secrets and network policies go

    after = set(layout(synthesize_environment(environment(graph.stack, no_backups), graph.stack)))
    assert after < before
    removed = before - after
    assert all(API in str(path) for path in removed), removed


def test_documents_lead_with_api_version_kind_metadata(
    production: ResourceGraph, tmp_path: Path
) -> None:
    result = render(production, tmp_path)
    for path in result.directory.rglob("*.yaml"):
        first_keys = list(yaml.safe_load(path.read_text()))[:3]
        assert first_keys == ["apiVersion", "kind", "metadata"], path.name


def test_the_gitops_folder_is_laid_out_as_the_render_provider_writes_it(
    production: ResourceGraph, tmp_path: Path
) -> None:
    result = render(production, tmp_path)
    for resource in production.kubernetes_objects():
        if resource.kind == "Application":
            continue
        namespace = resource.namespace or resource.object_name
        expected = result.directory / namespace / provider_file(resource)
        assert expected.is_file(), expected
        assert str(provider_file(resource)).startswith("1-manifest/")


def test_every_file_argo_cd_syncs_is_a_kubernetes_object(
    production: ResourceGraph, tmp_path: Path
) -> None:
    """Argo CD reads every *.yaml, *.yml and *.json below an Application's path as a manifest
    (argo-cd reposerver/repository/repository.go); a JSON inventory there fails the sync."""
    result = render(production, tmp_path)
    applications = production.kind("Application")
    assert applications
    stack_path = PROJECT.root / "rendered" / "production"
    for application in applications:
        synced = Path(application.inputs["spec"]["source"]["path"])
        folder = result.directory / synced.relative_to(stack_path.relative_to(PROJECT.root))
        files = [p for p in folder.rglob("*") if p.is_file()]
        assert files
        for path in files:
            assert path.suffix in (".yaml", ".yml", ".json"), path
            document = yaml.safe_load(path.read_text())
            assert isinstance(document, dict), path
            assert {"apiVersion", "kind", "metadata"} <= set(document), path
            assert document["metadata"].get("name"), path
    # The AWS inventory is at the stack's root, outside every Application's folder.
    assert (result.directory / CLOUD_FILE).is_file()
    assert all(Path(a.inputs["spec"]["source"]["path"]).name for a in applications)


def test_no_gitops_manifest_carries_a_placeholder(production: ResourceGraph) -> None:
    assert gitops_problems(production) == []


def _render_mode_program(value: Any) -> None:
    provider = k8s.Provider("manifests", render_yaml_to_directory="out/app")
    k8s.core.v1.ConfigMap(
        "settings",
        metadata={"name": "settings", "namespace": "app"},
        data={"value": value},
        opts=pulumi.ResourceOptions(provider=provider),
    )


def test_render_refuses_unknown_and_secret_values_in_gitops_manifests() -> None:
    secret = synthesize(lambda: _render_mode_program(pulumi.Output.secret("s3cr3t")))
    assert gitops_problems(secret) == [
        "ConfigMap app/settings: data is a secret, which the render would write in plain text"
    ]
    import pulumi_aws as aws

    def unknown() -> None:
        role = aws.iam.Role("role", assume_role_policy="{}")
        _render_mode_program(role.arn)

    found = gitops_problems(synthesize(unknown))
    assert len(found) == 1 and found[0].startswith(
        "ConfigMap app/settings: data.value is a placeholder"
    )


def test_render_refuses_a_gitops_manifest_that_would_not_work_from_git(tmp_path: Path) -> None:
    graph = synthesize(lambda: _render_mode_program(pulumi.Output.secret("s3cr3t")), stack="git")
    with pytest.raises(GitOpsRefused) as caught:
        render(graph, tmp_path / "out")
    assert caught.value.problems == [
        "ConfigMap app/settings: data is a secret, which the render would write in plain text"
    ]
    assert str(caught.value).startswith("git's GitOps manifests would not work from git")
    assert not (tmp_path / "out").exists()


def test_the_cli_exits_1_on_a_gitops_manifest_that_would_not_work_from_git(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    program = """\
import pulumi, pulumi_kubernetes as k8s
provider = k8s.Provider("manifests", render_yaml_to_directory="out/app")
k8s.core.v1.ConfigMap("settings", metadata={"name": "settings", "namespace": "app"},
    data={"value": pulumi.Output.secret("s3cr3t")},
    opts=pulumi.ResourceOptions(provider=provider))
"""
    project = tiny_project(tmp_path, program=program)
    out = tmp_path / "rendered"
    status, stdout, err = run(capsys, "--project", str(project), "render", "dev", "--out", str(out))
    assert (status, stdout) == (1, "")
    assert err == (
        "prodstack: dev's GitOps manifests would not work from git (1 value(s)); nothing was "
        "written:\n  ConfigMap app/settings: data is a secret, which the render would write in "
        "plain text\n"
    )
    assert not out.exists()


def _program_with_secret() -> None:
    k8s.core.v1.ConfigMap(
        "settings",
        metadata={"name": "settings", "namespace": "app"},
        data={"password": pulumi.Output.secret("hunter2-do-not-print"), "mode": "fast"},
    )


def test_secret_values_are_never_written(tmp_path: Path) -> None:
    result = render(synthesize(_program_with_secret, stack="secrets"), tmp_path)
    written = b"".join(read_tree(result.directory).values())
    assert b"hunter2-do-not-print" not in written
    document = yaml.safe_load((result.directory / "app" / "07-configmap-settings.yaml").read_text())
    # Pulumi marks the whole input that holds a secret as secret; all of it is redacted.
    assert document["data"] == "[secret]"


def test_cloud_resources_file_lists_non_kubernetes_resources(tmp_path: Path) -> None:
    import pulumi_aws as aws

    def program() -> None:
        aws.s3.Bucket("backups", force_destroy=False)

    result = render(synthesize(program, stack="cloud"), tmp_path)
    entries = json.loads((result.directory / CLOUD_FILE).read_text())
    assert [(e["type"], e["name"]) for e in entries] == [("aws:s3/bucket:Bucket", "backups")]
    assert entries[0]["urn"] == "urn:pulumi:cloud::prodstack::aws:s3/bucket:Bucket::backups"
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
    mine = tmp_path / "production" / "mine.yaml"
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
    with pytest.raises(RenderRefused, match=r"app/07-configmap-settings.yaml: prodstack:token"):
        render(graph, tmp_path, plaintexts=[("prodstack:token", "tok-123456")])
    assert not (tmp_path / "decrypted").exists()
    # Marked secret, it is redacted and the render goes through.
    render(
        synthesize(_program_with_secret, stack="decrypted"),
        tmp_path,
        plaintexts=[("prodstack:password", "hunter2-do-not-print")],
    )
