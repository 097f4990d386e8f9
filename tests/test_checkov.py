"""checkov's Kubernetes checks on every rendered stack, Rollout pod templates included:
zero failures; a skip only with a reason documented in docs/security.md; none in production."""

from __future__ import annotations

import pytest

from prodstack.synth import ResourceGraph
from prodstack.synth.manifests import manifests
from tests.support import checkov
from tests.support.stacks import ROOT
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
    """A Rollout with a privileged container must fail: proof that checkov saw inside it."""
    documents = manifests(production)
    rollout = next(d for d in documents if d["kind"] == "Rollout")
    rollout["spec"]["template"]["spec"]["containers"][0]["securityContext"]["privileged"] = True
    result = checkov.scan([rollout])
    assert ("CKV_K8S_16", "Deployment.shop-production.shop-api") in result.failed
