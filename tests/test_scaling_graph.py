"""Graph tests: the HPA, the NLB Service, the PDB and the scheduling rules agree with the
Rollout and its pods in every stack, and the components work on their own."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from prodstack import labels as lbl
from prodstack.components.autoscaling import Autoscaling, AutoscalingArgs
from prodstack.components.ha_policy import HAPolicy, HAPolicyArgs
from prodstack.config import (
    AutoscalingConfig,
    ConfigError,
    HAConfig,
    LoadBalancerConfig,
    ReplicaRange,
    parse_environment,
)
from prodstack.identity import AppIdentity
from prodstack.specs import load_balancer as lb_spec
from prodstack.synth import Resource, ResourceGraph, synthesize
from tests.support.stacks import environment, raw_config, synthesize_environment


def env_of(graph: ResourceGraph) -> Any:
    return parse_environment(raw_config(graph.stack))


def rollout(graph: ResourceGraph) -> Resource:
    return graph.one("Rollout")


def pod_template(graph: ResourceGraph) -> dict[str, Any]:
    return dict(rollout(graph).inputs["spec"]["template"])


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def test_hpa_scales_the_rollout_that_exists(graph: ResourceGraph) -> None:
    env = env_of(graph)
    hpas = graph.kind("HorizontalPodAutoscaler")
    if env.autoscaling is None:
        assert hpas == []
        return
    (hpa,) = hpas
    target = hpa.inputs["spec"]["scaleTargetRef"]
    the_rollout = rollout(graph)
    assert target == {
        "apiVersion": the_rollout.api_version,
        "kind": the_rollout.kind,
        "name": the_rollout.object_name,
    }
    assert hpa.api_version == "autoscaling/v2"
    assert hpa.namespace == the_rollout.namespace
    spec = hpa.inputs["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (
        env.autoscaling.min_replicas,
        env.autoscaling.max_replicas,
    )
    assert the_rollout.urn in hpa.dependencies  # created after the Rollout it scales


def test_rollout_has_no_replicas_when_the_hpa_owns_them(graph: ResourceGraph) -> None:
    env = env_of(graph)
    spec = rollout(graph).inputs["spec"]
    if graph.kind("HorizontalPodAutoscaler"):
        assert "replicas" not in spec
    else:
        assert spec["replicas"] == env.app.replicas


def test_disruption_budget_selects_stable_and_canary_pods(graph: ResourceGraph) -> None:
    env = env_of(graph)
    budgets = graph.kind("PodDisruptionBudget")
    if env.ha is None or env.ha.disruption_budget is None:
        assert budgets == []
        return
    (pdb,) = budgets
    labels = pod_template(graph)["metadata"]["labels"]
    selector = pdb.inputs["spec"]["selector"]["matchLabels"]
    assert selects(selector, labels)
    # No revision label: the budget counts the canary's pods with the stable ones.
    assert lbl.POD_TEMPLATE_HASH not in selector
    assert selector == rollout(graph).inputs["spec"]["selector"]["matchLabels"]
    assert pdb.inputs["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    assert pdb.api_version == "policy/v1"


def test_scheduling_rules_select_the_pods_per_revision(graph: ResourceGraph) -> None:
    env = env_of(graph)
    template = pod_template(graph)
    labels, spec = template["metadata"]["labels"], template["spec"]
    if env.ha is None:
        assert "affinity" not in spec
        return
    anti = spec["affinity"]["podAntiAffinity"]
    terms = [
        *anti.get("requiredDuringSchedulingIgnoredDuringExecution", []),
        *(w["podAffinityTerm"] for w in anti["preferredDuringSchedulingIgnoredDuringExecution"]),
    ]
    spread = spec.get("topologySpreadConstraints", [])
    for rule in [*terms, *spread]:
        assert selects(rule["labelSelector"]["matchLabels"], labels)
        assert rule["matchLabelKeys"] == [lbl.POD_TEMPLATE_HASH]
    assert Counter(t["topologyKey"] for t in terms) == Counter(
        {"kubernetes.io/hostname": 1, "topology.kubernetes.io/zone": 1}
    )
    assert [c["topologyKey"] for c in spread] == (
        [] if env.ha.zone_spread is None else ["topology.kubernetes.io/zone"]
    )


def test_production_has_what_the_issue_asks_for(production: ResourceGraph) -> None:
    assert len(production.kind("HorizontalPodAutoscaler")) == 1
    assert len(production.kind("PodDisruptionBudget")) == 1
    (nlb,) = [
        s for s in production.kind("Service") if s.inputs["spec"].get("type") == "LoadBalancer"
    ]
    annotations = nlb.inputs["metadata"]["annotations"]
    assert annotations[lb_spec.SCHEME] == "internet-facing"
    assert annotations[lb_spec.TYPE] == "external"
    assert annotations[lb_spec.TARGET_TYPE] == "ip"
    spec = production.one("Rollout").inputs["spec"]["template"]["spec"]
    assert spec["topologySpreadConstraints"][0]["maxSkew"] == 1
    assert spec["topologySpreadConstraints"][0]["whenUnsatisfiable"] == "DoNotSchedule"


def test_load_balancer_reaches_the_pods_http_port(graph: ResourceGraph) -> None:
    env = env_of(graph)
    services = [s for s in graph.kind("Service") if s.inputs["spec"].get("type") == "LoadBalancer"]
    if env.load_balancer is None:
        assert services == []
        return
    (service,) = services
    template = pod_template(graph)
    container_ports = {
        p["name"]: p["containerPort"] for c in template["spec"]["containers"] for p in c["ports"]
    }
    spec = service.inputs["spec"]
    assert selects(spec["selector"], template["metadata"]["labels"])
    assert lbl.POD_TEMPLATE_HASH not in spec["selector"]  # stable and canary alike
    (port,) = spec["ports"]
    assert port["targetPort"] in container_ports
    assert container_ports[port["targetPort"]] == env.app.port
    assert port["port"] == env.load_balancer.port
    # Argo narrows the stable and canary Services; the NLB is a different one.
    canary = rollout(graph).inputs["spec"]["strategy"]["canary"]
    assert service.object_name not in {canary["stableService"], canary["canaryService"]}
    assert service.inputs["metadata"]["annotations"][lb_spec.SCHEME] == env.load_balancer.scheme


def test_components_follow_the_conventions(production: ResourceGraph) -> None:
    for token, suffixes in (
        ("prodstack:index:Autoscaling", {"hpa", "nlb"}),
        ("prodstack:index:HAPolicy", {"pdb"}),
    ):
        (component,) = production.of_type(token)
        children = production.children(component)
        assert {c.name.removeprefix(f"{component.name}-") for c in children} == suffixes
        for child in children:
            assert child.inputs["metadata"]["namespace"] == "shop-production"
            assert child.inputs["metadata"]["name"]


def test_required_node_anti_affinity_renders_when_nodes_suffice() -> None:
    def required(raw: dict[str, Any]) -> None:
        raw["ha"].update(nodeAntiAffinity="required", nodeCount=12)
        raw["autoscaling"]["maxReplicas"] = 12

    graph = synthesize_environment(environment("production", required))
    anti = pod_template(graph)["spec"]["affinity"]["podAntiAffinity"]
    (node,) = anti["requiredDuringSchedulingIgnoredDuringExecution"]
    assert node["topologyKey"] == "kubernetes.io/hostname"
    preferred = anti["preferredDuringSchedulingIgnoredDuringExecution"]
    assert [w["podAffinityTerm"]["topologyKey"] for w in preferred] == [
        "topology.kubernetes.io/zone"
    ]


def test_without_autoscaling_or_ha_the_rollout_keeps_its_count() -> None:
    def plain(raw: dict[str, Any]) -> None:
        for key in ("autoscaling", "loadBalancer", "ha"):
            raw.pop(key, None)
        raw["security"]["network"]["loadBalancerSources"] = []  # nothing left to admit

    graph = synthesize_environment(environment("staging", plain))
    assert graph.kind("HorizontalPodAutoscaler") == []
    assert graph.kind("PodDisruptionBudget") == []
    assert graph.of_type("prodstack:index:Autoscaling") == []
    spec = pod_template(graph)["spec"]
    assert "affinity" not in spec and "topologySpreadConstraints" not in spec
    assert rollout(graph).inputs["spec"]["replicas"] == 3


IDENTITY = AppIdentity(name="orders", namespace="orders", instance="orders-eu")


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
        Autoscaling(
            "orders",
            AutoscalingArgs(
                identity=IDENTITY,
                autoscaling=AutoscalingConfig(min_replicas=2, max_replicas=8),
                load_balancer=LoadBalancerConfig(),
            ),
            opts=opts,
        )

    graph = synthesize(program, stack="standalone")
    objects = graph.kubernetes_objects()
    assert {o.kind for o in objects} == {
        "HorizontalPodAutoscaler",
        "Service",
        "PodDisruptionBudget",
    }
    assert all(o.provider and "other-cluster" in o.provider for o in objects)
    hpa = graph.one("HorizontalPodAutoscaler")
    assert hpa.inputs["spec"]["scaleTargetRef"]["name"] == "orders"  # the app's name by default
    assert graph.one("PodDisruptionBudget").inputs["spec"]["selector"]["matchLabels"] == (
        IDENTITY.selector()
    )
    assert scheduling["affinity"]["podAntiAffinity"]  # known before any app exists


def test_standalone_ha_policy_refuses_a_range_it_cannot_protect() -> None:
    def program() -> None:
        HAPolicy(
            "orders",
            HAPolicyArgs(identity=IDENTITY, ha=HAConfig(), replicas=ReplicaRange.fixed(1)),
        )

    with pytest.raises(ConfigError) as caught:
        synthesize(program, stack="refused")
    assert [key for key, _ in caught.value.problems] == ["HAPolicyArgs:ha.disruptionBudget"]


def test_namespace_opts_into_the_nlb_readiness_gate_with_ip_targets(graph: ResourceGraph) -> None:
    env = env_of(graph)
    labels = graph.one("Namespace").inputs["metadata"]["labels"]
    wanted = env.load_balancer is not None and env.load_balancer.effective_target_type == "ip"
    assert (labels.get(lb_spec.READINESS_GATE_LABEL) == "enabled") == wanted


def test_no_readiness_gate_for_instance_targets_or_when_turned_off() -> None:
    assert lb_spec.namespace_labels(LoadBalancerConfig(target_type="instance")) == {}
    assert lb_spec.namespace_labels(LoadBalancerConfig(controller="in-tree")) == {}
    assert lb_spec.namespace_labels(LoadBalancerConfig(pod_readiness_gate=False)) == {}
    assert lb_spec.namespace_labels(LoadBalancerConfig()) == {
        lb_spec.READINESS_GATE_LABEL: "enabled"
    }


@pytest.mark.parametrize("page", ["autoscaling.md", "ha-policy.md"])
def test_docs_examples_build(page: str) -> None:
    from prodstack import AppConfig
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
    rollout_spec = graph.one("Rollout").inputs["spec"]
    if page == "autoscaling.md":
        assert "replicas" not in rollout_spec
        target = graph.one("HorizontalPodAutoscaler").inputs["spec"]["scaleTargetRef"]
        assert target["name"] == graph.one("Rollout").object_name
    else:
        assert "podAntiAffinity" in rollout_spec["template"]["spec"]["affinity"]
        assert graph.one("PodDisruptionBudget")


def test_the_load_balancer_hostname_is_exported_as_a_placeholder(production: ResourceGraph) -> None:
    hostname = production.outputs["loadBalancerHostname"]
    assert hostname.startswith("<known after apply: kubernetes:core/v1:Service::shop-api-nlb")
