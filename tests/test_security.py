"""SecurityBaseline on the synthesized stacks: namespace, network flows, API access."""

from __future__ import annotations

from typing import Any

import pytest

from prodstack.config import ConfigError, parse_environment
from prodstack.pod_security import pod_templates, restricted_violations
from prodstack.synth import ResourceGraph
from prodstack.synth.manifests import manifests
from tests.support.stacks import environment, synthesize_environment, varied

NS_LABEL = "kubernetes.io/metadata.name"


def policies(graph: ResourceGraph) -> dict[str, dict[str, Any]]:
    return {p.object_name: dict(p.inputs["spec"]) for p in graph.kind("NetworkPolicy")}


def pod_labels(graph: ResourceGraph) -> dict[str, str]:
    return dict(graph.one("Rollout").inputs["spec"]["template"]["metadata"]["labels"])


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def rule_ports(rule: dict[str, Any]) -> set[tuple[int | str, str]]:
    return {(p["port"], p["protocol"]) for p in rule["ports"]}


def test_namespace_enforces_the_restricted_profile(graph: ResourceGraph) -> None:
    labels = graph.one("Namespace").inputs["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
        assert labels[f"pod-security.kubernetes.io/{mode}-version"] == "v1.33"


def test_default_deny_covers_every_pod_both_ways(graph: ResourceGraph) -> None:
    deny = policies(graph)["default-deny"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_dns_egress_names_namespace_and_pods_in_one_peer(graph: ResourceGraph) -> None:
    dns = policies(graph)["allow-dns"]
    assert dns["podSelector"] == {"matchLabels": {}}
    (rule,) = dns["egress"]
    assert rule_ports(rule) == {(53, "UDP"), (53, "TCP")}
    (peer,) = rule["to"]
    assert peer["namespaceSelector"] == {"matchLabels": {NS_LABEL: "kube-system"}}
    assert peer["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}


def test_prometheus_reaches_only_the_metrics_port(graph: ResourceGraph) -> None:
    env = environment(graph.stack)
    scrape = policies(graph)["allow-prometheus-scrape"]
    assert selects(scrape["podSelector"], pod_labels(graph))
    (rule,) = scrape["ingress"]
    assert rule_ports(rule) == {(env.app.metrics_port, "TCP")}
    assert rule["from"][0]["namespaceSelector"] == {"matchLabels": {NS_LABEL: "monitoring"}}


@pytest.mark.parametrize("flow", ["allow-ingress-controller", "allow-peers", "allow-load-balancer"])
def test_clients_reach_only_the_app_port(graph: ResourceGraph, flow: str) -> None:
    env = environment(graph.stack)
    if flow == "allow-load-balancer" and env.load_balancer is None:
        assert flow not in policies(graph)  # dev has no NLB: nothing to admit
        return
    policy = policies(graph)[flow]
    assert selects(policy["podSelector"], pod_labels(graph))
    assert policy["policyTypes"] == ["Ingress"]
    (rule,) = policy["ingress"]
    assert rule_ports(rule) == {(env.app.port, "TCP")}


def test_load_balancer_sources_are_the_configured_blocks(production: ResourceGraph) -> None:
    env = environment(production.stack)
    (rule,) = policies(production)["allow-load-balancer"]["ingress"]
    assert [peer["ipBlock"]["cidr"] for peer in rule["from"]] == list(
        env.security.network.load_balancer_sources
    )


def test_egress_to_database_and_https_without_instance_metadata(graph: ResourceGraph) -> None:
    found = policies(graph)
    (database,) = found["allow-database"]["egress"]
    assert rule_ports(database) == {(5432, "TCP")}
    (redis,) = found["allow-redis"]["egress"]
    assert rule_ports(redis) == {(6379, "TCP")}
    assert [peer["ipBlock"]["cidr"] for peer in redis["to"]] == list(
        environment(graph.stack).security.network.redis.cidrs  # type: ignore[union-attr]
    )
    (https,) = found["allow-https"]["egress"]
    assert rule_ports(https) == {(443, "TCP")}
    blocks = [peer["ipBlock"] for peer in https["to"]]
    assert blocks == [{"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}]


def test_no_policy_allows_all_ingress(graph: ResourceGraph) -> None:
    for name, spec in policies(graph).items():
        for rule in spec.get("ingress", []):
            assert rule.get("from"), f"{name} allows ingress from anywhere"
            assert rule.get("ports"), f"{name} allows ingress on every port"
            for peer in rule["from"]:
                assert peer, f"{name} has an empty peer (everything)"
                cidr = peer.get("ipBlock", {}).get("cidr")
                assert cidr not in ("0.0.0.0/0", "::/0"), f"{name} allows the internet in"


def test_namespace_peers_use_the_label_every_namespace_carries(graph: ResourceGraph) -> None:
    for spec in policies(graph).values():
        for rule in [*spec.get("ingress", []), *spec.get("egress", [])]:
            for peer in rule.get("from", rule.get("to", [])):
                if "namespaceSelector" in peer:
                    assert set(peer["namespaceSelector"]["matchLabels"]) == {NS_LABEL}


def test_every_pod_template_meets_the_restricted_profile(graph: ResourceGraph) -> None:
    templates = [spec for doc in manifests(graph) for spec in pod_templates(doc)]
    assert templates
    for spec in templates:
        assert restricted_violations(spec) == []
        assert spec.get("automountServiceAccountToken") is False
        for container in spec["containers"]:
            assert container["imagePullPolicy"] in ("Always", "IfNotPresent")
            assert container["resources"]["limits"] and container["resources"]["requests"]


def test_no_role_without_api_access(graph: ResourceGraph) -> None:
    assert not graph.kind("Role") and not graph.kind("RoleBinding")
    assert graph.one("ServiceAccount", "shop-api").inputs["automountServiceAccountToken"] is False


def _with_api_access() -> ResourceGraph:
    def change(raw: dict[str, Any]) -> None:
        raw["security"]["apiAccess"] = [
            {
                "resource": "configmaps",
                "resourceNames": ["shop-api-flags"],
                "verbs": ["get", "watch"],
            }
        ]

    return synthesize_environment(parse_environment(varied("production", change)))


def test_api_access_is_scoped_to_named_objects_with_a_projected_token() -> None:
    graph = _with_api_access()
    role = graph.one("Role")
    assert role.inputs["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": ["shop-api-flags"],
            "verbs": ["get", "watch"],
        }
    ]
    binding = graph.one("RoleBinding")
    assert binding.inputs["roleRef"]["name"] == role.object_name
    assert binding.inputs["subjects"] == [
        {"kind": "ServiceAccount", "name": "shop-api", "namespace": "shop-production"}
    ]
    pod = graph.one("Rollout").inputs["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    volume = next(v for v in pod["volumes"] if v["name"] == "api-token")
    token = volume["projected"]["sources"][0]["serviceAccountToken"]
    assert token["expirationSeconds"] == 3600
    mounts = {m["name"]: m for m in pod["containers"][0]["volumeMounts"]}
    assert mounts["api-token"]["readOnly"] is True
    assert restricted_violations(pod) == []


@pytest.mark.parametrize(
    ("rule", "key"),
    [
        ({"resource": "secrets", "resourceNames": ["x"], "verbs": ["get"]}, "resource"),
        ({"resource": "configmaps", "resourceNames": ["x"], "verbs": ["list"]}, "verbs[0]"),
        ({"resource": "configmaps", "resourceNames": ["x"], "verbs": ["*"]}, "verbs[0]"),
        ({"resource": "*", "resourceNames": ["x"], "verbs": ["get"]}, "resource"),
        ({"resource": "configmaps", "resourceNames": [], "verbs": ["get"]}, "resourceNames"),
    ],
)
def test_unscoped_or_secret_reading_access_is_refused(rule: dict[str, Any], key: str) -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["security"]["apiAccess"] = [rule]

    with pytest.raises(ConfigError) as caught:
        parse_environment(varied("production", change))
    keys = [k for k, _ in caught.value.problems]
    assert keys == [f"prodstack:security.apiAccess[0].{key}"]


def test_database_takes_pods_or_cidrs_not_both() -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["security"]["network"]["database"]["pods"] = {"namespace": "db"}

    with pytest.raises(ConfigError) as caught:
        parse_environment(varied("production", change))
    assert [k for k, _ in caught.value.problems] == ["prodstack:security.network.database.pods"]


def test_scanner_skips_are_refused_in_production() -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["app"]["annotations"] = {"checkov.io/skip1": "CKV_K8S_43=because"}

    with pytest.raises(ConfigError) as caught:
        parse_environment(varied("production", change))
    assert [k for k, _ in caught.value.problems] == ["prodstack:app.annotations.checkov.io/skip1"]


def test_a_load_balancer_needs_sources_the_network_policy_admits() -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["security"]["network"]["loadBalancerSources"] = []

    with pytest.raises(ConfigError) as caught:
        parse_environment(varied("production", change))
    assert [k for k, _ in caught.value.problems] == [
        "prodstack:security.network.loadBalancerSources"
    ]


def test_load_balancer_sources_without_a_load_balancer_are_refused() -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["security"]["network"]["loadBalancerSources"] = ["10.20.0.0/16"]

    with pytest.raises(ConfigError) as caught:
        parse_environment(varied("dev", change))
    assert [k for k, _ in caught.value.problems] == [
        "prodstack:security.network.loadBalancerSources"
    ]


def test_database_in_cluster_selects_its_pods() -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["security"]["network"]["database"] = {
            "port": 5433,
            "pods": {"namespace": "db", "podLabels": {"app": "postgres"}},
        }

    graph = synthesize_environment(parse_environment(varied("staging", change)))
    (rule,) = policies(graph)["allow-database"]["egress"]
    assert rule["to"] == [
        {
            "namespaceSelector": {"matchLabels": {NS_LABEL: "db"}},
            "podSelector": {"matchLabels": {"app": "postgres"}},
        }
    ]
    assert rule_ports(rule) == {(5433, "TCP")}


def test_the_stack_exports_every_network_policy(graph: ResourceGraph) -> None:
    assert sorted(graph.outputs["networkPolicies"]) == sorted(policies(graph))
