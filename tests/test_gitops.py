"""One owner per object: in GitOps mode Pulumi applies only the Argo CD Applications (and the
AWS resources) and writes every other Kubernetes object to the GitOps folder; the Applications
are safe to remove; moving a deployed stack between owners never deletes a live object."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from prodstack.config import ConfigError, parse_environment
from prodstack.ownership import OWNER_OUTPUT, HandOverRequired
from prodstack.specs.gitops import CASCADE_FINALIZER
from prodstack.synth import Resource, ResourceGraph, find_project, synthesize_stack
from tests.conftest import stack_graph
from tests.support.stacks import PROJECT, environment, synthesize_environment, varied


def render_directories(graph: ResourceGraph) -> dict[str, str]:
    return {
        provider.urn: str(provider.inputs.get("renderYamlToDirectory") or "")
        for provider in graph.of_type("pulumi:providers:kubernetes")
    }


def applies_to_a_cluster(resource: Resource, graph: ResourceGraph) -> bool:
    """The default provider, or an explicit one that does not render to a folder."""
    return resource.provider is None or not render_directories(graph).get(resource.provider)


def test_production_binds_only_its_applications_to_the_cluster(
    production: ResourceGraph,
) -> None:
    on_cluster = [r for r in production.kubernetes_objects() if applies_to_a_cluster(r, production)]
    assert {r.kind for r in on_cluster} == {"Application"}
    namespaces = sorted(r.object_name for r in production.kind("Namespace"))
    destinations = sorted(r.inputs["spec"]["destination"]["namespace"] for r in on_cluster)
    assert destinations == namespaces  # one Application per namespace


def test_every_render_provider_writes_its_namespace_folder_on_every_update(
    production: ResourceGraph,
) -> None:
    providers = production.of_type("pulumi:providers:kubernetes")
    assert providers
    for provider in providers:
        # Relative to where the engine starts the provider (the program's directory, main:
        # stacks/), so every machine and checkout gives the provider the same value.
        written = str(provider.inputs["renderYamlToDirectory"])
        assert not Path(written).is_absolute()
        directory = (PROJECT.program_directory / written).resolve()
        assert directory.parent == (PROJECT.root / "rendered" / "production").resolve()
        assert provider.inputs["alwaysRender"] in (True, "true")
        bound = [r for r in production.kubernetes_objects() if r.provider == provider.urn]
        assert bound and all((r.namespace or r.object_name) == directory.name for r in bound), (
            directory
        )


def test_the_render_directory_does_not_depend_on_the_checkout(tmp_path: Path) -> None:
    """Two checkouts of the project in different places give the providers the same inputs:
    a changed renderYamlToDirectory would replace the provider and every object it wrote."""
    copy = tmp_path / "elsewhere" / "checkout"
    shutil.copytree(
        PROJECT.root / "stacks", copy / "stacks", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(PROJECT.root / "Pulumi.yaml", copy / "Pulumi.yaml")
    here = synthesize_stack("production", PROJECT)
    there = synthesize_stack("production", find_project(copy))
    assert render_directories(here).values() and sorted(
        render_directories(here).values()
    ) == sorted(render_directories(there).values())


@pytest.mark.parametrize("stack", ["dev", "staging"])  # production is GitOps
def test_pulumi_up_stacks_apply_everything_themselves(stack: str) -> None:
    graph = stack_graph(stack)
    assert not graph.of_type("pulumi:providers:kubernetes")
    assert not graph.kind("Application")
    assert all(r.provider is None for r in graph.kubernetes_objects())
    assert graph.outputs[OWNER_OUTPUT] == "pulumi"


def application(production: ResourceGraph, namespace: str) -> dict[str, Any]:
    found = [
        r
        for r in production.kind("Application")
        if r.inputs["spec"]["destination"]["namespace"] == namespace
    ]
    assert len(found) == 1
    return dict(found[0].inputs)


def test_each_application_syncs_its_namespace_folder(production: ResourceGraph) -> None:
    for namespace in ("shop-production", "shop-web"):
        app = application(production, namespace)
        assert app["metadata"]["namespace"] == "argocd"
        spec = app["spec"]
        assert spec["source"]["path"] == f"rendered/production/{namespace}"
        assert spec["source"]["directory"] == {"recurse": True}
        policy = spec["syncPolicy"]
        assert policy["automated"] == {"prune": True, "selfHeal": True}
        assert "CreateNamespace=true" in policy["syncOptions"]
        assert policy["retry"] == {
            "limit": 5,
            "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"},
        }
        labels = policy["managedNamespaceMetadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_applications_are_safe_to_remove(production: ResourceGraph) -> None:
    """No cascading finalizer by default: deleting an Application (or removing gitops from a
    stack) stops Argo CD from managing its objects and leaves them running."""
    for resource in production.kind("Application"):
        assert resource.inputs["metadata"]["finalizers"] == []

    def cascade(raw: dict[str, Any]) -> None:
        raw["gitops"]["cascadeDelete"] = True

    graph = synthesize_environment(environment("production", cascade), "production")
    for resource in graph.kind("Application"):
        assert resource.inputs["metadata"]["finalizers"] == [CASCADE_FINALIZER]


def test_the_single_app_stack_keeps_its_application(production: ResourceGraph) -> None:
    """prodstack 0.1 named its one Application <app>-<environment>, with the cascading
    finalizer: a new name would delete it, and its objects with it."""
    legacy = production.one("Application", "shop-api-production")
    assert legacy.urn.endswith(
        "prodstack:index:ArgoCDApplication$kubernetes:argoproj.io/v1alpha1:Application"
        "::shop-api-gitops-application"
    )
    assert legacy.inputs["spec"]["destination"]["namespace"] == "shop-production"
    production.one("Application", "shop-web")

    def fresh(raw: dict[str, Any]) -> None:
        raw.pop("upgrade")

    graph = synthesize_environment(environment("production", fresh), "production")
    assert sorted(r.object_name for r in graph.kind("Application")) == [
        "shop-production",
        "shop-web",
    ]


def test_hand_over_keeps_every_object_on_the_cluster_and_retained() -> None:
    """The first of the two updates from Pulumi to Argo CD: the objects stay where they are and
    their state says retainOnDelete, so the next update's provider change leaves them running
    (the engine decides with the old state's flag)."""

    def prepare(raw: dict[str, Any]) -> None:
        raw["gitops"]["handOver"] = "prepare"

    graph = synthesize_environment(environment("production", prepare), "production")
    objects = graph.kubernetes_objects()
    assert objects and all(r.provider is None and r.retain_on_delete for r in objects)
    assert not graph.of_type("pulumi:providers:kubernetes")
    for resource in graph.kind("Application"):
        assert "automated" not in resource.inputs["spec"]["syncPolicy"]
    assert graph.outputs[OWNER_OUTPUT] == "handover"


@pytest.mark.parametrize(
    ("previous", "refused"),
    [
        ({}, False),  # never deployed
        ({"services": {}, OWNER_OUTPUT: "handover"}, False),
        ({"services": {}, OWNER_OUTPUT: "gitops"}, False),
        ({"services": {}, OWNER_OUTPUT: "pulumi"}, True),
        ({"rolloutName": "shop-api", "argocdApplication": "shop-api-production"}, True),  # 0.1
    ],
)
def test_moving_a_pulumi_applied_stack_straight_to_gitops_is_refused(
    previous: dict[str, Any], refused: bool
) -> None:
    outputs = {"production": previous}
    if refused:
        with pytest.raises(HandOverRequired, match=r"handOver: prepare"):
            synthesize_stack("production", PROJECT, stack_outputs=outputs)
    else:
        graph = synthesize_stack("production", PROJECT, stack_outputs=outputs)
        assert graph.outputs[OWNER_OUTPUT] == "gitops"


def test_bad_repository_settings_name_the_key() -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["gitops"]["repoUrl"] = "ftp://example.com/repo"
        raw["gitops"]["path"] = "../rendered"

    with pytest.raises(ConfigError) as caught:
        parse_environment(varied("production", change))
    assert sorted(key for key, _ in caught.value.problems) == [
        "prodstack:gitops.path",
        "prodstack:gitops.repoUrl",
    ]
