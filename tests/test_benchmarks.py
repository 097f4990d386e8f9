"""The benchmarks' honesty: the floor registers what prodstack registers, the platform's services
do not clash, the targets are judged right, and the quick mode runs end to end (not timed)."""

from __future__ import annotations

import asyncio
import functools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest

from benchmarks.harness import ROOT, Samples
from benchmarks.platform import (
    BASE_SERVICE,
    PLATFORM_STACK,
    SERVICES_PER_NAMESPACE,
    platform_program,
    platform_values,
)
from benchmarks.replay import (
    ReplayError,
    plan,
    prepare,
    replay_program,
    resource_factory,
    snake_case,
)
from benchmarks.report import Row, verdicts
from prodstack.synth import ResourceGraph, Secret, Unknown, synthesize
from tests.support.stacks import PROJECT

Key = tuple[str, str]


def custom_view(graph: ResourceGraph) -> dict[Key, dict[str, Any]]:
    """Each custom resource by (type, name): its inputs, its dependencies by (type, name), and
    its provider by (type, name). URNs differ (the floor has no components), keys must not."""
    by_urn = {resource.urn: (resource.type, resource.name) for resource in graph}
    view: dict[Key, dict[str, Any]] = {}
    for resource in graph:
        if not resource.custom:
            continue
        provider_urn = "::".join((resource.provider or "").split("::")[:4])
        view[(resource.type, resource.name)] = {
            "inputs": resource.inputs,
            "dependencies": sorted(by_urn[urn] for urn in resource.dependencies),
            "provider": by_urn.get(provider_urn),
        }
    return view


def replayed(graph: ResourceGraph) -> ResourceGraph:
    recorded = plan(graph)
    program = replay_program(prepare(recorded.declarations), recorded.outputs)
    return synthesize(program, stack=graph.stack)


def test_the_floor_registers_the_same_resources_with_equal_inputs() -> None:
    graph = synthesize(platform_program(platform_values(2, PROJECT)), stack=PLATFORM_STACK)
    floor = replayed(graph)
    assert graph.components(), "prodstack builds components; the floor must not"
    assert not floor.components()
    assert custom_view(floor) == custom_view(graph)
    assert floor.outputs == graph.outputs
    assert set(floor.outputs["services"]) == {"shop-api-000", "shop-api-001"}


def test_the_floor_replays_aws_resources_providers_secrets_and_unknowns() -> None:
    def program() -> None:
        cluster = k8s.Provider("cluster", kubeconfig="{}", namespace="apps")
        future: asyncio.Future[Any] = asyncio.get_event_loop().create_future()
        future.set_result(None)
        known: asyncio.Future[bool] = asyncio.get_event_loop().create_future()
        known.set_result(False)
        unknown: pulumi.Output[str] = pulumi.Output(set(), future, is_known=known)
        namespace = k8s.core.v1.Namespace(
            "ns", metadata={"name": "apps"}, opts=pulumi.ResourceOptions(provider=cluster)
        )
        k8s.core.v1.Secret(
            "creds",
            metadata={"name": "creds", "namespace": "apps"},
            string_data={"password": pulumi.Output.secret("hunter2")},
            type="Opaque",
            opts=pulumi.ResourceOptions(provider=cluster, depends_on=[namespace]),
        )
        k8s.networking.v1.NetworkPolicy(
            "deny",
            metadata={"name": "deny", "namespace": "apps", "labels": {"at": unknown}},
            spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
            opts=pulumi.ResourceOptions(provider=cluster),
        )
        bucket = aws.s3.Bucket("backups", force_destroy=False, tags={"team": "backend"})
        aws.s3.BucketVersioning(
            "backups-versioning",
            bucket=bucket.bucket,
            versioning_configuration={"status": "Enabled"},
        )
        aws.s3.BucketLifecycleConfiguration(
            "backups-lifecycle",
            bucket=bucket.bucket,
            rules=[{"id": "expire", "status": "Enabled", "expiration": {"days": 30}}],
        )
        pulumi.export("bucket", bucket.bucket)
        pulumi.export("token", pulumi.Output.secret({"value": "s3cr3t"}))

    graph = synthesize(program, stack="replay")
    floor = replayed(graph)
    assert custom_view(floor) == custom_view(graph)
    assert floor.outputs == graph.outputs
    secret = custom_view(floor)[("kubernetes:core/v1:Secret", "creds")]
    assert secret["provider"] == ("pulumi:providers:kubernetes", "cluster")
    assert isinstance(secret["inputs"]["stringData"], Secret)
    policy = custom_view(floor)[("kubernetes:networking.k8s.io/v1:NetworkPolicy", "deny")]
    assert isinstance(policy["inputs"]["metadata"]["labels"]["at"], Unknown)


def test_type_tokens_map_to_the_sdk_classes() -> None:
    assert resource_factory("kubernetes:core/v1:Service") == (k8s.core.v1.Service, True)
    assert resource_factory("kubernetes:networking.k8s.io/v1:NetworkPolicy") == (
        k8s.networking.v1.NetworkPolicy,
        True,
    )
    assert resource_factory("kubernetes:policy/v1:PodDisruptionBudget")[0] is (
        k8s.policy.v1.PodDisruptionBudget
    )
    assert resource_factory("aws:s3/bucket:Bucket") == (aws.s3.Bucket, True)
    assert resource_factory("aws:index/provider:Provider")[0] is aws.Provider
    assert resource_factory("pulumi:providers:kubernetes") == (k8s.Provider, True)
    rollout, typed = resource_factory("kubernetes:argoproj.io/v1alpha1:Rollout")
    assert not typed and isinstance(rollout, functools.partial)
    assert rollout.func is k8s.apiextensions.CustomResource
    assert rollout.keywords == {"api_version": "argoproj.io/v1alpha1", "kind": "Rollout"}


@pytest.mark.parametrize(
    "token", ["kubernetes:core/v1:NoSuchKind", "nosuchprovider:x/y:Z", "not-a-token"]
)
def test_a_token_without_an_sdk_class_says_where_to_add_it(token: str) -> None:
    with pytest.raises(ReplayError, match=r"package:module:Type|resource_factory"):
        resource_factory(token)


@pytest.mark.parametrize(
    ("wire", "python"),
    [
        ("apiVersion", "api_version"),
        ("spec", "spec"),
        ("automountServiceAccountToken", "automount_service_account_token"),
        ("versioningConfiguration", "versioning_configuration"),
        ("ipv6CidrBlock", "ipv6_cidr_block"),
    ],
)
def test_wire_names_become_python_keywords(wire: str, python: str) -> None:
    assert snake_case(wire) == python


def test_the_platform_is_one_stack_of_services_sharing_namespaces() -> None:
    count = SERVICES_PER_NAMESPACE + 2
    values = platform_values(count, PROJECT)
    services = values["services"]
    assert len(services) == count and all(name.startswith(BASE_SERVICE) for name in services)
    assert "defaults" in values  # the production stack's defaults do the work, as there

    graph = synthesize(platform_program(values), stack=PLATFORM_STACK)
    namespaces = sorted(r.object_name for r in graph.kind("Namespace"))
    assert namespaces == ["shop-production-000", "shop-production-001"]
    for namespace in namespaces:
        deny = [r for r in graph.kind("NetworkPolicy", "networking.k8s.io/v1")
                if r.namespace == namespace and r.object_name == "default-deny"]  # fmt: skip
        assert len(deny) == 1  # one baseline per namespace, however many services share it
    assert len(graph.kind("Rollout")) == count
    calls = sorted(r.object_name for r in graph.kind("NetworkPolicy") if "-to-" in r.object_name)
    assert len(calls) == count - 1  # each service calls the one before it
    assert set(graph.outputs["services"]) == set(services)


def samples(seconds: float, memory: float = 100.0) -> Samples:
    found = Samples()
    found.add({"seconds": seconds, "cpu_seconds": seconds, "peak_rss_mb": memory})
    return found


def row(label: str, ours: float, floor: float, memory: float = 100.0) -> Row:
    return Row("section", label, samples(ours, memory), samples(floor))


def test_targets_pass_and_miss_where_the_issue_says() -> None:
    platform = {
        10: row("N=10", 1.0, 0.9),
        200: row("N=200", 24.0, 21.0),
    }
    imports = [row("`import prodstack`", 0.26, 0.2)]
    found = {verdict.target: verdict for verdict in verdicts(platform, imports)}
    overhead = next(v for t, v in found.items() if t.startswith("component overhead"))
    assert overhead.passed and "1.14x at N=200" in overhead.detail
    linear = next(v for t, v in found.items() if t.startswith("linear"))
    assert linear.passed is True and linear.detail.startswith("24.0x")
    assert found["`import prodstack` <= 1.3x the floor"].passed is True

    slow = {10: row("N=10", 1.0, 0.9), 200: row("N=200", 31.0, 20.0, memory=2100)}
    found = {v.target.split(":")[0].split(" ")[0]: v for v in verdicts(slow, [])}
    assert found["component"].passed is False
    assert found["linear"].passed is False
    assert found["N=200"].passed is False and "2100 MB" in found["N=200"].detail


def test_targets_that_this_run_cannot_judge_are_not_judged() -> None:
    found = verdicts({1: row("N=1", 0.02, 0.02), 2: row("N=2", 0.04, 0.04)}, [])
    scale = next(v for v in found if v.target.startswith("N=200"))
    assert scale.passed is None and scale.line().startswith("n/a")


def test_quick_mode_runs_end_to_end(tmp_path: Path) -> None:
    """CI's proof that the benchmark works; its numbers are not looked at."""
    report = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json", str(report)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for expected in ("| synth |", "| N=1 |", "| N=2 |", "`from prodstack import CanaryApp`"):
        assert expected in done.stdout
    assert "targets:" in done.stdout and "machine:" in done.stdout
    rows = json.loads(report.read_text())["rows"]
    platform = [r for r in rows if r["label"].startswith("N=")]
    assert [len(r["prodstack"]) for r in platform] == [1, 1]
    assert all(r["prodstack"][0]["customs"] == r["floor"][0]["customs"] for r in platform)
