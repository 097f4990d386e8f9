"""The plan of an environment is computed without Pulumi: what each namespace and service gets."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from prodstack.names import ServiceNames
from prodstack.plan import plan_environment
from prodstack.replicas import ExternallyScaled
from tests.support.stacks import API, ROOT, STACKS, WEB, WORKER, environment


@pytest.mark.parametrize("stack", STACKS)
def test_one_namespace_plan_per_namespace_the_default_first(stack: str) -> None:
    env = environment(stack)
    plan = plan_environment(env)
    names = [namespace.name for namespace in plan.namespaces]
    assert names[0] == env.namespace
    assert sorted(names) == sorted({env.namespace_of(s) for s in env.services.values()})
    for namespace in plan.namespaces:
        assert {s.name for s in plan.services if s.namespace == namespace.name} == set(
            namespace.services
        )
        assert [flow.name for flow in namespace.flows] == ["allow-dns", "allow-prometheus-scrape"]
        assert namespace.labels["pod-security.kubernetes.io/enforce"] == "restricted"
        assert namespace.labels["prodstack.io/environment"] == stack


def test_the_autoscaler_owns_the_replicas_only_where_there_is_one() -> None:
    plan = plan_environment(environment("production"))
    assert isinstance(plan.service(API).replicas, ExternallyScaled)
    assert isinstance(plan.service(WEB).replicas, ExternallyScaled)
    assert plan.service(WORKER).replicas == 3


def test_a_call_is_one_value_shared_by_caller_and_callee() -> None:
    plan = plan_environment(environment("production"))
    worker, api, web = plan.service(WORKER), plan.service(API), plan.service(WEB)
    assert [c.callee.service for c in worker.calls] == [API]
    assert sorted(c.caller.service for c in api.callers) == [WORKER, WEB]
    assert worker.calls[0] in api.callers
    call = web.calls[0]
    assert (call.caller.namespace, call.callee.namespace) == ("shop-web", "shop-production")
    assert call.port == 3000 and call.port_name == "http"
    assert call.egress.name == "storefront-to-shop-api"
    assert call.ingress.name == "shop-api-from-storefront"
    assert call.egress.peers[0].namespace == "shop-production"
    assert call.ingress.peers[0].namespace == "shop-web"
    assert dict(call.egress.pods) == dict(call.caller.pods)
    assert dict(call.ingress.pods) == dict(call.callee.pods)


def test_flows_are_named_after_their_service() -> None:
    plan = plan_environment(environment("production"))
    for service in plan.services:
        assert all(flow.name.startswith(f"{service.name}-") for flow in service.flows)
    assert [f.name for f in plan.service(WORKER).flows] == [
        "order-worker-allow-redis",
        "order-worker-allow-https",
    ]


def test_the_readiness_gate_label_goes_where_an_ip_target_load_balancer_is() -> None:
    plan = plan_environment(environment("production"))
    gate = "elbv2.k8s.aws/pod-readiness-gate-inject"
    assert plan.namespace("shop-production").labels[gate] == "enabled"
    assert gate not in plan.namespace("shop-web").labels


def test_names_come_from_one_derivation() -> None:
    plan = plan_environment(environment("production"))
    api = plan.service(API)
    assert api.names == ServiceNames(API, "shop-production", "production")
    assert api.identity.instance == api.names.instance == "shop-api-production"
    assert api.names.iam_role("db-backup") == "shop-production-shop-api-db-backup"


def test_gitops_plans_one_application_per_namespace() -> None:
    plan = plan_environment(environment("production"))
    assert plan.kubernetes_owner == "gitops"
    applications = {n.name: n.application for n in plan.namespaces}
    assert applications["shop-web"] is not None
    assert applications["shop-web"].path == "rendered/production/shop-web"
    # 0.1 ran shop-api alone: its Application keeps its name and logical name.
    legacy = applications["shop-production"]
    assert legacy is not None and (legacy.logical_name, legacy.name) == (
        "shop-api-gitops",
        "shop-api-production",
    )

    def prepare(raw: dict[str, Any]) -> None:
        raw["gitops"]["handOver"] = "prepare"

    assert plan_environment(environment("production", prepare)).kubernetes_owner == "handover"
    assert plan_environment(environment("staging")).kubernetes_owner == "pulumi"


def test_planning_needs_no_provider_sdk() -> None:
    """Planning imports configuration and spec modules only: no provider SDK is loaded, no
    resource can be registered."""
    code = (
        "import sys\n"
        "from prodstack.plan import plan_environment\n"
        "from prodstack.config import parse_environment\n"
        "from prodstack.config.loader import decode_namespace\n"
        "from prodstack.synth.project import find_project, stack_config\n"
        "config, _ = stack_config(find_project(), 'production')\n"
        "plan = plan_environment(parse_environment(decode_namespace(config)))\n"
        "assert len(plan.services) == 3\n"
        "sdks = ('pulumi_kubernetes', 'pulumi_aws')\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(sdks))\n"
        "print(loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
