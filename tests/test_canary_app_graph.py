"""Graph tests on the synthesized stacks and on CanaryApp used on its own."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from prodstack import AppConfig, CanaryApp, CanaryAppArgs, ExternallyScaled
from prodstack.config import parse_environment
from prodstack.synth import Resource, ResourceGraph, synthesize
from tests.support.stacks import raw_config

RESTRICTED_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def rollout(graph: ResourceGraph) -> dict[str, Any]:
    return dict(graph.one("Rollout").inputs)


def pod_labels(graph: ResourceGraph) -> dict[str, str]:
    return dict(rollout(graph)["spec"]["template"]["metadata"]["labels"])


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def test_rollout_steps_equal_the_configuration(graph: ResourceGraph) -> None:
    env = parse_environment(raw_config(graph.stack))
    steps = rollout(graph)["spec"]["strategy"]["canary"]["steps"]
    expected: list[dict[str, Any]] = []
    for step in env.app.canary.steps:
        expected.append({"setWeight": step.weight})
        if step.pause:
            expected.append({"pause": {"duration": step.pause}})
        if step.analysis:
            expected.append({"analysis": steps[len(expected)]["analysis"]})
    assert steps == expected
    assert (
        rollout(graph)["spec"]["strategy"]["canary"]["maxUnavailable"]
        == env.app.canary.max_unavailable
    )


def test_every_service_selects_the_pods(graph: ResourceGraph) -> None:
    labels = pod_labels(graph)
    services = graph.kind("Service")
    assert services
    for service in services:
        assert selects(service.inputs["spec"]["selector"], labels), service.object_name
    assert selects(rollout(graph)["spec"]["selector"]["matchLabels"], labels)


def test_rollout_names_services_that_exist(graph: ResourceGraph) -> None:
    canary = rollout(graph)["spec"]["strategy"]["canary"]
    names = {s.object_name for s in graph.kind("Service")}
    assert {canary["stableService"], canary["canaryService"]} <= names
    assert canary["stableService"] != canary["canaryService"]


def test_referenced_analysis_templates_exist_and_take_the_args_given(graph: ResourceGraph) -> None:
    canary = rollout(graph)["spec"]["strategy"]["canary"]
    templates = {t.object_name: t for t in graph.kind("AnalysisTemplate")}
    blocks = [s["analysis"] for s in canary["steps"] if "analysis" in s]
    if "analysis" in canary:
        blocks.append(canary["analysis"])
    assert blocks
    for block in blocks:
        given = {arg["name"] for arg in block["args"]}
        for ref in block["templates"]:
            template = templates[ref["templateName"]]
            declared = {arg["name"] for arg in template.inputs["spec"]["args"]}
            assert declared <= given, ref["templateName"]


def test_pod_security_context_is_complete(graph: ResourceGraph) -> None:
    spec = rollout(graph)["spec"]["template"]["spec"]
    env = parse_environment(raw_config(graph.stack))
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": env.app.security.run_as_user,
        "runAsGroup": env.app.security.run_as_group,
        "fsGroup": env.app.security.fs_group,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    for container in spec["containers"]:
        context = container["securityContext"]
        assert {k: context[k] for k in RESTRICTED_CONTAINER} == RESTRICTED_CONTAINER
        assert context["runAsUser"] == env.app.security.run_as_user
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert "emptyDir" in volumes[mounts["/tmp"]]


def test_probes_resources_and_drain(graph: ResourceGraph) -> None:
    env = parse_environment(raw_config(graph.stack))
    spec = rollout(graph)["spec"]["template"]["spec"]
    container = spec["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == env.app.probes.liveness.path
    assert container["readinessProbe"]["httpGet"]["path"] == env.app.probes.readiness.path
    assert container["startupProbe"]["httpGet"]["port"] == "http"
    assert container["resources"]["limits"]["memory"] == env.app.resources.limits.memory
    drain = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert drain == env.app.shutdown.drain_seconds
    assert spec["terminationGracePeriodSeconds"] > drain + env.app.shutdown.app_shutdown_seconds
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": env.app.port, "metrics": env.app.metrics_port}


def test_recommended_labels_on_every_object(graph: ResourceGraph) -> None:
    for resource in graph.kubernetes_objects():
        if resource.kind == "Namespace":
            continue
        labels = resource.inputs["metadata"]["labels"]
        for key in ("name", "instance", "version", "component", "managed-by"):
            assert f"app.kubernetes.io/{key}" in labels, (resource.kind, key)


def test_component_conventions(production: ResourceGraph) -> None:
    app = production.of_type("prodstack:index:CanaryApp")[0]
    children = production.children(app)
    assert children
    for child in children:
        assert child.name.startswith(f"{app.name}-")
    # Other components add their own outputs; these are CanaryApp's.
    assert {
        "namespace": "shop-production",
        "rolloutName": "shop-api",
        "stableServiceName": "shop-api",
        "canaryServiceName": "shop-api-canary",
    }.items() <= graph_outputs(production).items()


def graph_outputs(graph: ResourceGraph) -> dict[str, Any]:
    return dict(graph.outputs)


def test_rollout_waits_for_what_it_names(production: ResourceGraph) -> None:
    rollout_resource = production.one("Rollout")
    depends = {production.by_urn(urn).object_name for urn in rollout_resource.dependencies}
    assert {"shop-api", "shop-api-canary", "shop-api-success-rate"} <= depends


def _standalone(replicas: int | ExternallyScaled | None) -> ResourceGraph:
    app = AppConfig(
        name="orders",
        image="ghcr.io/acme/orders:1.2.3",
        version="1.2.3",
        canary={"steps": [{"weight": 20, "pause": "1m"}, {"weight": 60, "pause": "manual"}]},
    )

    def program() -> None:
        CanaryApp(
            "orders",
            CanaryAppArgs(
                app=app, namespace="orders", replicas=replicas, service_account_name="orders-sa"
            ),
        )

    return synthesize(program, stack="standalone")


def test_no_replicas_when_an_autoscaler_owns_the_count() -> None:
    spec = rollout(_standalone(ExternallyScaled()))["spec"]
    assert "replicas" not in spec


@pytest.mark.parametrize(("replicas", "expected"), [(None, 2), (4, 4)])
def test_fixed_replicas(replicas: int | None, expected: int) -> None:
    assert rollout(_standalone(replicas))["spec"]["replicas"] == expected


def test_standalone_use_without_stack_config() -> None:
    graph = _standalone(None)
    assert not graph.kind("ServiceAccount")  # the caller brought its own account
    spec = rollout(graph)["spec"]
    assert spec["template"]["spec"]["serviceAccountName"] == "orders-sa"
    assert spec["strategy"]["canary"]["steps"][-1] == {"pause": {}}
    assert {t.object_name for t in graph.kind("AnalysisTemplate")} == {
        "orders-success-rate",
        "orders-latency",
    }


def test_providers_reach_the_children() -> None:
    import pulumi_kubernetes as k8s

    def program() -> None:
        provider = k8s.Provider("other-cluster", kubeconfig="{}")
        app = AppConfig.model_validate(
            {
                "name": "orders",
                "image": "ghcr.io/acme/orders:1.2.3",
                "version": "1.2.3",
                "canary": {"steps": [{"weight": 50}]},
            }
        )
        CanaryApp(
            "orders",
            CanaryAppArgs(app=app, namespace="orders"),
            opts=pulumi.ResourceOptions(providers={"kubernetes": provider}),
        )

    graph = synthesize(program, stack="providers")
    objects: list[Resource] = graph.kubernetes_objects()
    assert objects
    assert all(r.provider and "other-cluster" in r.provider for r in objects)
