"""Graph tests on the synthesized stacks (every service's CanaryApp) and on CanaryApp used on
its own."""

from __future__ import annotations

import re
from typing import Any, cast

import pulumi
import pytest

from prodstack import AppConfig, CanaryApp, CanaryAppArgs, ExternallyScaled
from prodstack import labels as lbl
from prodstack.config import EnvironmentConfig, ServiceConfig
from prodstack.names import ServiceNames
from prodstack.specs.drain import drain as needed_drain
from prodstack.synth import Resource, ResourceGraph, synthesize
from tests.support.stacks import API, environment

RESTRICTED_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def services(graph: ResourceGraph) -> dict[str, ServiceConfig]:
    """The stack's services, as its configuration declares them."""
    return dict(environment(graph.stack).services)


def rollout(graph: ResourceGraph, service: str = API) -> dict[str, Any]:
    return dict(graph.one("Rollout", service).inputs)


def pod_labels(graph: ResourceGraph, service: str = API) -> dict[str, str]:
    return dict(rollout(graph, service)["spec"]["template"]["metadata"]["labels"])


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def test_every_service_has_one_rollout_in_its_namespace(graph: ResourceGraph) -> None:
    env = environment(graph.stack)
    rollouts = {(r.namespace, r.object_name) for r in graph.kind("Rollout")}
    assert rollouts == {(env.namespace_of(s), name) for name, s in env.services.items()}


def test_rollout_steps_equal_the_configuration(graph: ResourceGraph) -> None:
    for name, service in services(graph).items():
        canary = rollout(graph, name)["spec"]["strategy"]["canary"]
        steps = canary["steps"]
        expected: list[dict[str, Any]] = []
        for step in service.app.canary.steps:
            expected.append({"setWeight": step.weight})
            if step.pause:
                expected.append({"pause": {"duration": step.pause}})
            if step.analysis:
                expected.append({"analysis": steps[len(expected)]["analysis"]})
        assert steps == expected, name
        if "trafficRouting" in canary:
            # The load balancer sets the weights; surge and unavailability do not apply.
            assert "maxUnavailable" not in canary and "maxSurge" not in canary, name
        else:
            assert canary["maxUnavailable"] == service.app.canary.max_unavailable, name
            assert canary["maxSurge"] == service.app.canary.max_surge, name


def test_every_service_selects_the_pods_of_its_own_service(graph: ResourceGraph) -> None:
    names = services(graph)
    assert graph.kind("Service")
    for service in graph.kind("Service"):
        owner = service.inputs["metadata"]["labels"][lbl.SERVICE]
        assert owner in names, service.object_name
        selector = service.inputs["spec"]["selector"]
        assert selects(selector, pod_labels(graph, owner)), service.object_name
        for other in names.keys() - {owner}:
            assert not selects(selector, pod_labels(graph, other)), (service.object_name, other)
    for name in names:
        assert selects(
            rollout(graph, name)["spec"]["selector"]["matchLabels"], pod_labels(graph, name)
        )


def test_rollout_names_services_that_exist(graph: ResourceGraph) -> None:
    for name in services(graph):
        canary = rollout(graph, name)["spec"]["strategy"]["canary"]
        namespace = graph.one("Rollout", name).namespace
        existing = {s.object_name for s in graph.kind("Service") if s.namespace == namespace}
        assert {canary["stableService"], canary["canaryService"]} <= existing, name
        assert canary["stableService"] != canary["canaryService"]


def test_referenced_analysis_templates_exist_and_take_the_args_given(graph: ResourceGraph) -> None:
    for name in services(graph):
        canary = rollout(graph, name)["spec"]["strategy"]["canary"]
        namespace = graph.one("Rollout", name).namespace
        templates = {
            t.object_name: t for t in graph.kind("AnalysisTemplate") if t.namespace == namespace
        }
        blocks = [s["analysis"] for s in canary["steps"] if "analysis" in s]
        if "analysis" in canary:
            blocks.append(canary["analysis"])
        assert blocks, name
        for block in blocks:
            given = {arg["name"] for arg in block["args"]}
            for ref in block["templates"]:
                assert ref["templateName"].startswith(f"{name}-"), ref  # its own templates
                template = templates[ref["templateName"]]
                declared = {arg["name"] for arg in template.inputs["spec"]["args"]}
                assert declared <= given, ref["templateName"]


def test_pod_security_context_is_complete(graph: ResourceGraph) -> None:
    for name, service in services(graph).items():
        spec = rollout(graph, name)["spec"]["template"]["spec"]
        security = service.app.security
        assert spec["automountServiceAccountToken"] is False
        assert spec["securityContext"] == {
            "runAsNonRoot": True,
            "runAsUser": security.run_as_user,
            "runAsGroup": security.run_as_group,
            "fsGroup": security.fs_group,
            "seccompProfile": {"type": "RuntimeDefault"},
        }
        for container in spec["containers"]:
            context = container["securityContext"]
            assert {k: context[k] for k in RESTRICTED_CONTAINER} == RESTRICTED_CONTAINER
            assert context["runAsUser"] == security.run_as_user
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            volumes = {v["name"]: v for v in spec["volumes"]}
            assert "emptyDir" in volumes[mounts["/tmp"]]


def test_probes_resources_and_drain(graph: ResourceGraph) -> None:
    for name, service in services(graph).items():
        app = service.app
        spec = rollout(graph, name)["spec"]["template"]["spec"]
        container = spec["containers"][0]
        assert container["name"] == name
        assert container["livenessProbe"]["httpGet"]["path"] == app.probes.liveness.path
        assert container["readinessProbe"]["httpGet"]["path"] == app.probes.readiness.path
        assert container["startupProbe"]["httpGet"]["port"] == "http"
        assert container["resources"]["limits"]["memory"] == app.resources.limits.memory
        drain = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        # drainSeconds is a minimum: behind a load balancer the pod waits out its propagation.
        assert drain == needed_drain(app.shutdown, service.load_balancer).pre_stop_seconds
        assert drain >= app.shutdown.drain_seconds
        assert spec["terminationGracePeriodSeconds"] > drain + app.shutdown.app_shutdown_seconds
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"http": app.port, "metrics": app.metrics_port}


def test_recommended_labels_on_every_object(graph: ResourceGraph) -> None:
    names = services(graph)
    for resource in graph.kubernetes_objects():
        if resource.kind == "Namespace":
            continue
        labels = resource.inputs["metadata"]["labels"]
        assert labels[lbl.MANAGED_BY] == "pulumi", (resource.kind, resource.object_name)
        assert lbl.COMPONENT in labels, (resource.kind, resource.object_name)
        owner = labels.get(lbl.SERVICE)
        if owner is None:
            # Shared by the namespace's services (its baseline) or the stack's (Argo CD's
            # Applications): no one service's name or instance.
            assert resource.kind in {"NetworkPolicy", "Application"}, resource.object_name
            assert lbl.NAME not in labels and lbl.INSTANCE not in labels, resource.object_name
            continue
        assert owner in names, resource.object_name
        for key in (lbl.NAME, lbl.INSTANCE):
            assert key in labels, (resource.kind, resource.object_name, key)
        # Only what a release changes anyway carries the version (no churn elsewhere).
        versioned = resource.kind == "Rollout"
        assert (lbl.VERSION in labels) == versioned, resource.kind
    for name in names:
        assert lbl.VERSION in pod_labels(graph, name)
        # The service label is on objects only: a new pod label would roll every pod.
        assert lbl.SERVICE not in pod_labels(graph, name)


def test_clients_reach_stable_and_canary_pods_through_the_app_service(
    graph: ResourceGraph,
) -> None:
    env: EnvironmentConfig = environment(graph.stack)
    for name, service in env.services.items():
        names = ServiceNames(name, env.namespace_of(service))
        spec = rollout(graph, name)["spec"]
        canary = spec["strategy"]["canary"]
        client = graph.one("Service", names.client_service)
        assert client.namespace == names.namespace
        assert client.inputs["spec"]["selector"] == spec["selector"]["matchLabels"]
        # Argo narrows these two to one revision each; clients must not depend on them.
        assert {canary["stableService"], canary["canaryService"]} == {
            names.stable_service,
            names.canary_service,
        }
        assert client.object_name not in {canary["stableService"], canary["canaryService"]}


def test_component_conventions(production: ResourceGraph) -> None:
    env = environment(production.stack)
    apps = production.of_type("prodstack:index:CanaryApp")
    assert sorted(app.name for app in apps) == sorted(env.services)
    for app in apps:
        children = production.children(app)
        assert children
        for child in children:
            assert child.name.startswith(f"{app.name}-")
            assert child.namespace == env.namespace_of(env.services[app.name])
    outputs = graph_outputs(production)
    api = outputs["services"][API]
    assert {key: api[key] for key in ("namespace", "rolloutName", "serviceName")} == {
        "namespace": "shop-production",
        "rolloutName": "shop-api",
        "serviceName": "shop-api",
    }
    assert api["stableServiceName"] == "shop-api-stable"
    assert api["canaryServiceName"] == "shop-api-canary"
    for name, service in env.services.items():
        exported = outputs["services"][name]
        assert exported["namespace"] == env.namespace_of(service)
        assert exported["rolloutName"] == exported["serviceName"] == name


def graph_outputs(graph: ResourceGraph) -> dict[str, Any]:
    return dict(graph.outputs)


def test_rollout_waits_for_what_it_names(graph: ResourceGraph) -> None:
    for name in services(graph):
        rollout_resource = graph.one("Rollout", name)
        depends = {graph.by_urn(urn).object_name for urn in rollout_resource.dependencies}
        assert {f"{name}-stable", f"{name}-canary", f"{name}-success-rate-gate"} <= depends
        spec = rollout_resource.inputs["spec"]
        if "analysis" in spec["strategy"]["canary"]:
            assert f"{name}-success-rate" in depends


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


def test_args_refuse_negative_replicas_and_foreign_scheduling_keys() -> None:
    app = AppConfig(name="a", image="a:1", version="1", canary={"steps": [{"weight": 50}]})
    with pytest.raises(ValueError, match="replicas"):
        CanaryAppArgs(app=app, namespace="a", replicas=-1)
    with pytest.raises(ValueError, match="scheduling"):
        CanaryAppArgs(app=app, namespace="a", scheduling=cast(Any, {"containers": []}))


def test_no_replicas_when_an_autoscaler_owns_the_count() -> None:
    spec = rollout(_standalone(ExternallyScaled()), "orders")["spec"]
    assert "replicas" not in spec


@pytest.mark.parametrize(("replicas", "expected"), [(None, 2), (4, 4)])
def test_fixed_replicas(replicas: int | None, expected: int) -> None:
    assert rollout(_standalone(replicas), "orders")["spec"]["replicas"] == expected


def test_standalone_use_without_stack_config() -> None:
    graph = _standalone(None)
    assert not graph.kind("ServiceAccount")  # the caller brought its own account
    spec = rollout(graph, "orders")["spec"]
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


def test_the_component_page_example_builds() -> None:
    from tests.support.stacks import ROOT

    text = (ROOT / "docs" / "components" / "canary-app.md").read_text()
    example = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)[0]

    def program() -> None:
        exec(compile(example, "canary-app.md", "exec"), {})

    graph = synthesize(program, stack="docs")
    spec = rollout(graph, "orders")["spec"]
    assert "replicas" not in spec  # ExternallyScaled
    assert graph.outputs["rollout"] == "orders"
    assert {t.object_name for t in graph.kind("AnalysisTemplate")} == {
        "orders-success-rate",
        "orders-latency",
        "orders-success-rate-gate",
        "orders-latency-gate",
    }
