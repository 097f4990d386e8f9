"""The Argo CD Application: where it points, how it syncs, and that it skips itself."""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

import pytest

from prodstack.config import ConfigError, parse_environment
from prodstack.render import render
from prodstack.synth import ResourceGraph
from tests.support.stacks import varied


def application(graph: ResourceGraph) -> dict[str, Any]:
    return dict(graph.one("Application").inputs)


def test_production_syncs_its_rendered_folder_as_the_reference_does(
    production: ResourceGraph,
) -> None:
    app = application(production)
    assert app["metadata"]["namespace"] == "argocd"
    spec = app["spec"]
    assert spec["source"]["path"] == "rendered/production"
    assert spec["destination"]["namespace"] == "shop-production"
    policy = spec["syncPolicy"]
    assert policy["automated"] == {"prune": True, "selfHeal": True}
    assert "CreateNamespace=true" in policy["syncOptions"]
    assert policy["retry"] == {
        "limit": 5,
        "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"},
    }
    labels = policy["managedNamespaceMetadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_application_excludes_its_own_file_from_the_sync(
    production: ResourceGraph, tmp_path: Path
) -> None:
    result = render(production, tmp_path)
    pattern = application(production)["spec"]["source"]["directory"]["exclude"]
    names = [path.name for path in result.directory.glob("*.yaml")]
    excluded = [name for name in names if fnmatch.fnmatch(name, pattern)]
    assert len(excluded) == 1 and "application" in excluded[0]


def test_gitops_is_optional(graph: ResourceGraph) -> None:
    if graph.stack != "production":
        assert not graph.kind("Application")


def test_bad_repository_url_names_the_key() -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["gitops"]["repoUrl"] = "ftp://example.com/repo"

    with pytest.raises(ConfigError) as caught:
        parse_environment(varied("production", change))
    assert [key for key, _ in caught.value.problems] == ["prodstack:gitops.repoUrl"]
