"""Graph tests: the HPA, the NLB Service, the PDB and the scheduling rules agree with the
Rollout and its pods in every stack, and the components work on their own."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from prodstack import AppConfig, CanaryApp, CanaryAppArgs, ExternallyScaled
from prodstack import labels as lbl
from prodstack.components.args import ArgsError
from prodstack.components.autoscaling import Autoscaling, AutoscalingArgs
from prodstack.components.entry_point import EntryPoint, EntryPointArgs
from prodstack.components.ha_policy import HAPolicy, HAPolicyArgs
from prodstack.config import (
    AutoscalingConfig,
    EnvironmentConfig,
    HAConfig,
    LoadBalancerConfig,
    ReplicaRange,
    ServiceConfig,
    parse_environment,
)
from prodstack.identity import AppIdentity
from prodstack.specs import load_balancer as lb_spec
from prodstack.synth import Resource, ResourceGraph, synthesize
from tests.support.stacks import (
    API,
    WORKER,
    environment,
    flattened,
    raw_config,
    svc,
    synthesize_environment,
)


def env_of(graph: ResourceGraph) -> EnvironmentConfig:
    return parse_environment(flattened(raw_config(graph.stack)))


def rollout(graph: ResourceGraph, service: str = API) -> Resource:
    return graph.one("Rollout", service)


def pod_template(graph: ResourceGraph, service: str = API) -> dict[str, Any]:
    return dict(rollout(graph, service).inputs["spec"]["template"])


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def owned(graph: ResourceGraph, kind: str, service: str) -> list[Resource]:
    """The service's objects of a kind."""
    return [r for r in graph.service_objects(service) if r.kind == kind]


def load_balancers(graph: ResourceGraph, service: str) -> list[Resource]:
    return [
        s
        for s in owned(graph, "Service", service)
        if s.inputs["spec"].get("type") == "LoadBalancer"
    ]


def test_hpa_scales_the_rollout_that_exists(graph: ResourceGraph) -> None:
    env = env_of(graph)
    assert len(graph.kind("HorizontalPodAutoscaler")) == sum(
        s.autoscaling is not None for s in env.services.values()
    )
    for name, service in env.services.items():
        hpas = owned(graph, "HorizontalPodAutoscaler", name)
        if service.autoscaling is None:
            assert hpas == [], name
            continue
        (hpa,) = hpas
        target = hpa.inputs["spec"]["scaleTargetRef"]
        the_rollout = rollout(graph, name)
        assert target == {
            "apiVersion": the_rollout.api_version,
            "kind": the_rollout.kind,
            "name": the_rollout.object_name,
        }
        assert hpa.api_version == "autoscaling/v2"
        assert hpa.namespace == the_rollout.namespace == env.namespace_of(service)
        spec = hpa.inputs["spec"]
        assert (spec["minReplicas"], spec["maxReplicas"]) == (
            service.autoscaling.min_replicas,
            service.autoscaling.max_replicas,
        )
        assert the_rollout.urn in hpa.dependencies  # created after the Rollout it scales


def test_rollout_has_no_replicas_when_the_hpa_owns_them(graph: ResourceGraph) -> None:
    for name, service in env_of(graph).services.items():
        spec = rollout(graph, name).inputs["spec"]
        if owned(graph, "HorizontalPodAutoscaler", name):
            assert "replicas" not in spec, name
        else:
            assert spec["replicas"] == service.app.replicas, name


def test_disruption_budget_selects_stable_and_canary_pods(graph: ResourceGraph) -> None:
    for name, service in env_of(graph).services.items():
        budgets = owned(graph, "PodDisruptionBudget", name)
        if service.ha is None or service.ha.disruption_budget is None:
            assert budgets == [], name
            continue
        (pdb,) = budgets
        labels = pod_template(graph, name)["metadata"]["labels"]
        selector = pdb.inputs["spec"]["selector"]["matchLabels"]
        assert selects(selector, labels)
        # No revision label: the budget counts the canary's pods with the stable ones.
        assert lbl.POD_TEMPLATE_HASH not in selector
        assert selector == rollout(graph, name).inputs["spec"]["selector"]["matchLabels"]
        assert pdb.inputs["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
        assert pdb.api_version == "policy/v1"


def test_scheduling_rules_select_the_pods_per_revision(graph: ResourceGraph) -> None:
    for name, service in env_of(graph).services.items():
        template = pod_template(graph, name)
        labels, spec = template["metadata"]["labels"], template["spec"]
        if service.ha is None:
            assert "affinity" not in spec, name
            continue
        anti = spec["affinity"]["podAntiAffinity"]
        terms = [
            *anti.get("requiredDuringSchedulingIgnoredDuringExecution", []),
            *(
                w["podAffinityTerm"]
                for w in anti["preferredDuringSchedulingIgnoredDuringExecution"]
            ),
        ]
        spread = spec.get("topologySpreadConstraints", [])
        for rule in [*terms, *spread]:
            assert selects(rule["labelSelector"]["matchLabels"], labels), name
            assert rule["matchLabelKeys"] == [lbl.POD_TEMPLATE_HASH]
        assert Counter(t["topologyKey"] for t in terms) == Counter(
            {"kubernetes.io/hostname": 1, "topology.kubernetes.io/zone": 1}
        )
        assert [c["topologyKey"] for c in spread] == (
            [] if service.ha.zone_spread is None else ["topology.kubernetes.io/zone"]
        )


def test_production_has_what_the_issue_asks_for(production: ResourceGraph) -> None:
    # The usual setup's app (shop-api): an HPA, a budget, an internet-facing entry point (the
    # ALB: exact canary weights), zone spread.
    assert len(owned(production, "HorizontalPodAutoscaler", API)) == 1
    assert len(owned(production, "PodDisruptionBudget", API)) == 1
    (alb,) = owned(production, "Ingress", API)
    annotations = alb.inputs["metadata"]["annotations"]
    assert annotations["alb.ingress.kubernetes.io/scheme"] == "internet-facing"
    assert annotations["alb.ingress.kubernetes.io/target-type"] == "ip"
    assert load_balancers(production, API) == []  # no NLB beside it
    spec = pod_template(production, API)["spec"]
    assert spec["topologySpreadConstraints"][0]["maxSkew"] == 1
    assert spec["topologySpreadConstraints"][0]["whenUnsatisfiable"] == "DoNotSchedule"


def test_load_balancer_reaches_the_pods_http_port(graph: ResourceGraph) -> None:
    for name, service in env_of(graph).services.items():
        services = load_balancers(graph, name)
        if service.load_balancer is None or service.load_balancer.type == "alb":
            # No NLB Service: the ALB's backends are checked in tests/test_entry_point.py.
            assert services == [], name
            continue
        (lb_service,) = services
        template = pod_template(graph, name)
        container_ports = {
            p["name"]: p["containerPort"]
            for c in template["spec"]["containers"]
            for p in c["ports"]
        }
        spec = lb_service.inputs["spec"]
        assert selects(spec["selector"], template["metadata"]["labels"])
        assert lbl.POD_TEMPLATE_HASH not in spec["selector"]  # stable and canary alike
        (port,) = spec["ports"]
        assert port["targetPort"] in container_ports
        assert container_ports[port["targetPort"]] == service.app.port
        assert port["port"] == service.load_balancer.port
        # Argo narrows the stable and canary Services; the NLB is a different one.
        canary = rollout(graph, name).inputs["spec"]["strategy"]["canary"]
        assert lb_service.object_name not in {canary["stableService"], canary["canaryService"]}
        scheme = lb_service.inputs["metadata"]["annotations"][lb_spec.SCHEME]
        assert scheme == service.load_balancer.scheme


def test_components_follow_the_conventions(production: ResourceGraph) -> None:
    env = env_of(production)

    def expected(token: str, service: ServiceConfig) -> set[str]:
        if token.endswith(":EntryPoint"):
            assert service.load_balancer is not None
            return {service.load_balancer.type}
        return {"pdb"} if token.endswith(":HAPolicy") else {"hpa"}

    for token in ("HAPolicy", "Autoscaling", "EntryPoint"):
        for component in production.of_type(f"prodstack:index:{token}"):
            service = env.services[component.name]  # named after its service
            children = production.children(component)
            names = {c.name.removeprefix(f"{component.name}-") for c in children}
            assert names == expected(component.type, service), component.urn
            for child in children:
                assert child.inputs["metadata"]["namespace"] == env.namespace_of(service)
                assert child.inputs["metadata"]["name"]
                assert child.inputs["metadata"]["labels"][lbl.SERVICE] == component.name
    scaled = {c.name for c in production.of_type("prodstack:index:Autoscaling")}
    assert scaled == {n for n, s in env.services.items() if s.autoscaling is not None}
    entries = {c.name for c in production.of_type("prodstack:index:EntryPoint")}
    assert entries == {n for n, s in env.services.items() if s.load_balancer is not None}
    assert API in scaled & entries


def test_required_node_anti_affinity_renders_when_nodes_suffice() -> None:
    def required(raw: dict[str, Any]) -> None:
        svc(raw)["ha"].update(nodeAntiAffinity="required", nodeCount=12)
        svc(raw)["autoscaling"]["maxReplicas"] = 12

    graph = synthesize_environment(environment("production", required))
    anti = pod_template(graph, API)["spec"]["affinity"]["podAntiAffinity"]
    (node,) = anti["requiredDuringSchedulingIgnoredDuringExecution"]
    assert node["topologyKey"] == "kubernetes.io/hostname"
    preferred = anti["preferredDuringSchedulingIgnoredDuringExecution"]
    assert [w["podAffinityTerm"]["topologyKey"] for w in preferred] == [
        "topology.kubernetes.io/zone"
    ]
    # The other services keep their preferred node rule.
    worker = pod_template(graph, WORKER)["spec"]["affinity"]["podAntiAffinity"]
    assert "requiredDuringSchedulingIgnoredDuringExecution" not in worker


def test_without_autoscaling_or_ha_the_rollout_keeps_its_count() -> None:
    def plain(raw: dict[str, Any]) -> None:
        for name in raw["services"]:
            for key in ("autoscaling", "loadBalancer", "ha"):
                svc(raw, name).pop(key, None)
        svc(raw)["security"]["network"]["loadBalancerSources"] = []  # nothing left to admit

    env = environment("staging", plain)
    graph = synthesize_environment(env)
    assert graph.kind("HorizontalPodAutoscaler") == []
    assert graph.kind("PodDisruptionBudget") == []
    assert graph.of_type("prodstack:index:Autoscaling") == []
    assert graph.of_type("prodstack:index:HAPolicy") == []
    for name, service in env.services.items():
        spec = pod_template(graph, name)["spec"]
        assert "affinity" not in spec and "topologySpreadConstraints" not in spec
        assert rollout(graph, name).inputs["spec"]["replicas"] == service.app.replicas


IDENTITY = AppIdentity(name="orders", namespace="orders", instance="orders-eu")


def _orders_app() -> AppConfig:
    return AppConfig.model_validate(
        {
            "name": "orders",
            "image": "ghcr.io/acme/orders:1.2.3",
            "version": "1.2.3",
            "canary": {"steps": [{"weight": 50}]},
        }
    )


def test_components_work_standalone_and_take_providers() -> None:
    scheduling: dict[str, Any] = {}

    def program() -> None:
        provider = k8s.Provider("other-cluster", kubeconfig="{}")
        opts = pulumi.ResourceOptions(providers={"kubernetes": provider})
        ha = HAPolicy(
            "orders",
            HAPolicyArgs(identity=IDENTITY, ha=HAConfig(), replicas=ReplicaRange(2, 8)),
            opts=opts,
        )
        scheduling.update(ha.scheduling)
        app = CanaryApp(
            "orders",
            CanaryAppArgs(
                app=_orders_app(),
                namespace=IDENTITY.namespace,
                instance=IDENTITY.instance,
                replicas=ExternallyScaled(),
                scheduling=ha.scheduling,
            ),
            opts=opts,
        )
        Autoscaling(
            "orders",
            AutoscalingArgs(
                identity=IDENTITY,
                target=app,
                autoscaling=AutoscalingConfig(min_replicas=2, max_replicas=8),
            ),
            opts=opts,
        )
        EntryPoint(
            "orders",
            EntryPointArgs(identity=IDENTITY, load_balancer=LoadBalancerConfig()),
            opts=opts,
        )

    graph = synthesize(program, stack="standalone")
    objects = graph.kubernetes_objects()
    assert all(o.provider and "other-cluster" in o.provider for o in objects)
    parts = [
        child
        for token in (
            "prodstack:index:Autoscaling",
            "prodstack:index:HAPolicy",
            "prodstack:index:EntryPoint",
        )
        for child in graph.children(graph.of_type(token)[0])
    ]
    assert sorted(o.kind for o in parts) == [
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Service",
    ]
    hpa = graph.one("HorizontalPodAutoscaler")
    the_rollout = graph.one("Rollout", "orders")
    assert hpa.inputs["spec"]["scaleTargetRef"] == {
        "apiVersion": the_rollout.api_version,
        "kind": "Rollout",
        "name": the_rollout.object_name,
    }
    assert the_rollout.urn in hpa.dependencies  # the target given, not a name re-spelled
    assert "replicas" not in the_rollout.inputs["spec"]
    pod_labels = the_rollout.inputs["spec"]["template"]["metadata"]["labels"]
    for selector in (
        graph.one("PodDisruptionBudget").inputs["spec"]["selector"]["matchLabels"],
        graph.one("Service", "orders-nlb").inputs["spec"]["selector"],
    ):
        assert selector == IDENTITY.selector()
        assert selects(selector, pod_labels)
    assert scheduling["affinity"]["podAntiAffinity"]  # known before any app exists


def test_an_hpa_needs_a_target_that_leaves_it_the_count() -> None:
    config = AutoscalingConfig(min_replicas=2, max_replicas=8)

    def program() -> None:
        app = CanaryApp("orders", CanaryAppArgs(app=_orders_app(), namespace="orders", replicas=3))
        AutoscalingArgs(identity=IDENTITY, target=app, autoscaling=config)

    with pytest.raises(ValueError, match=r"replicas=ExternallyScaled\(\)"):
        synthesize(program, stack="refused")


def test_standalone_ha_policy_refuses_a_range_it_cannot_protect() -> None:
    with pytest.raises(ArgsError) as caught:
        HAPolicyArgs(identity=IDENTITY, ha=HAConfig(), replicas=ReplicaRange.fixed(1))
    assert [key for key, _ in caught.value.problems] == ["HAPolicyArgs.ha.disruptionBudget"]


def test_namespace_opts_into_the_nlb_readiness_gate_with_ip_targets(graph: ResourceGraph) -> None:
    env = env_of(graph)
    for namespace in env.namespaces():
        labels = graph.one("Namespace", namespace).inputs["metadata"]["labels"]
        wanted = any(
            s.load_balancer is not None and s.load_balancer.effective_target_type == "ip"
            for s in env.services.values()
            if env.namespace_of(s) == namespace
        )
        assert (labels.get(lb_spec.READINESS_GATE_LABEL) == "enabled") == wanted, namespace


def test_no_readiness_gate_for_instance_targets_or_when_turned_off() -> None:
    assert lb_spec.namespace_labels(LoadBalancerConfig(target_type="instance")) == {}
    assert lb_spec.namespace_labels(LoadBalancerConfig(controller="in-tree")) == {}
    assert lb_spec.namespace_labels(LoadBalancerConfig(pod_readiness_gate=False)) == {}
    assert lb_spec.namespace_labels(LoadBalancerConfig()) == {
        lb_spec.READINESS_GATE_LABEL: "enabled"
    }


@pytest.mark.parametrize("page", ["autoscaling.md", "ha-policy.md"])
def test_docs_examples_build(page: str) -> None:
    from tests.support.stacks import ROOT

    text = (ROOT / "docs" / "components" / page).read_text()
    (example,) = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    app = AppConfig.model_validate(
        {
            "name": "orders",
            "image": "ghcr.io/acme/orders:1.2.3",
            "version": "1.2.3",
            "canary": {"steps": [{"weight": 50}]},
        }
    )

    def program() -> None:
        exec(compile(example, page, "exec"), {"app": app})

    graph = synthesize(program, stack="docs")
    rollout_spec = graph.one("Rollout", "orders").inputs["spec"]
    if page == "autoscaling.md":
        assert "replicas" not in rollout_spec
        target = graph.one("HorizontalPodAutoscaler").inputs["spec"]["scaleTargetRef"]
        assert target["name"] == graph.one("Rollout", "orders").object_name
        hpa = graph.one("HorizontalPodAutoscaler")
        assert graph.one("Rollout", "orders").urn in hpa.dependencies
    else:
        assert "podAntiAffinity" in rollout_spec["template"]["spec"]["affinity"]
        assert graph.one("PodDisruptionBudget")


def test_the_load_balancer_hostname_is_exported_as_a_placeholder(production: ResourceGraph) -> None:
    exported = production.outputs["services"]
    assert [name for name, out in exported.items() if "loadBalancerHostname" in out] == [API]
    hostname = exported[API]["loadBalancerHostname"]
    assert hostname.startswith(
        "<known after apply: kubernetes:networking.k8s.io/v1:Ingress::shop-api-alb"
    )
