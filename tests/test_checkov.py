"""checkov's Kubernetes checks on every rendered stack, Rollout pod templates included:
zero failures; a skip only with a reason documented in docs/security.md; none in production."""

from __future__ import annotations

import pytest

from prodstack.synth import ResourceGraph
from prodstack.synth.manifests import manifests
from tests.support import checkov
from tests.support.stacks import ROOT, environment
from tests.support.tools import require


@pytest.fixture(autouse=True)
def _checkov_installed() -> None:
    require(checkov.available(), "checkov (.tools/checkov)")


def test_no_failed_checks_and_only_documented_skips(graph: ResourceGraph) -> None:
    result = checkov.scan(manifests(graph))
    assert result.failed == []
    assert result.passed > 50
    documented = (ROOT / "docs" / "security.md").read_text()
    for check, resource, reason in result.skipped:
        assert reason, f"{check} on {resource} is skipped without a reason"
        assert check in documented, f"{check} is skipped but not explained in docs/security.md"
    if graph.stack == "production":
        assert result.skipped == []


def test_rollout_pod_templates_are_scanned(production: ResourceGraph) -> None:
    """A Rollout with a privileged container must fail: proof that checkov saw inside it,
    for every service's Rollout."""
    rollouts = [d for d in manifests(production) if d["kind"] == "Rollout"]
    assert {r["metadata"]["name"] for r in rollouts} == set(environment("production").services)
    for rollout in rollouts:
        container = rollout["spec"]["template"]["spec"]["containers"][0]
        container["securityContext"]["privileged"] = True
    result = checkov.scan(rollouts)
    privileged = {resource for check, resource in result.failed if check == "CKV_K8S_16"}
    assert privileged == {
        f"Deployment.{r['metadata']['namespace']}.{r['metadata']['name']}" for r in rollouts
    }
