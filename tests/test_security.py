"""Security on the synthesized multi-service stacks: one NamespaceBaseline per namespace (Pod
Security, default deny, DNS, the Prometheus scrape), each service's ServiceSecurity (its own
flows, both halves of every declared call, API access), and nothing else opened; then the same
components composed by hand and checked with ``prodstack check``."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from prodstack import (
    AppConfig,
    CanaryApp,
    CanaryAppArgs,
    NamespaceBaseline,
    NamespaceBaselineArgs,
    ServiceSecurity,
    ServiceSecurityArgs,
    call_flows,
)
from prodstack import labels as lbl
from prodstack.check import check
from prodstack.check.flows import Connection, NetworkModel
from prodstack.check.flows import Endpoint as Pod
from prodstack.check.references import Index
from prodstack.check.report import Report, subjects
from prodstack.config import ConfigError, EnvironmentConfig, parse_environment
from prodstack.identity import AppIdentity
from prodstack.names import ServiceNames
from prodstack.plan import Endpoint
from prodstack.pod_security import pod_templates, restricted_violations
from prodstack.specs.namespace import namespace_labels
from prodstack.synth import ResourceGraph, synthesize
from prodstack.synth.manifests import manifests
from prodstack.synth.monitor import DuplicateObjectError
from tests.support.stacks import (
    API,
    ROOT,
    WORKER,
    environment,
    key,
    raw_config,
    svc,
    synthesize_environment,
    varied,
)

NS_LABEL = "kubernetes.io/metadata.name"
BASELINE_POLICIES = ("default-deny", "allow-dns", "allow-prometheus-scrape")
CLIENT_FLOWS = ("allow-ingress-controller", "allow-peers", "allow-load-balancer")


def policies(graph: ResourceGraph, namespace: str) -> dict[str, dict[str, Any]]:
    """The NetworkPolicies of one namespace, by name."""
    return {
        p.object_name: dict(p.inputs["spec"])
        for p in graph.kind("NetworkPolicy")
        if p.namespace == namespace
    }


def every_policy(graph: ResourceGraph) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{p.namespace}/{p.object_name}", dict(p.inputs["spec"]))
        for p in graph.kind("NetworkPolicy")
    ]


def pod_labels(graph: ResourceGraph, service: str = API) -> dict[str, str]:
    return dict(graph.one("Rollout", service).inputs["spec"]["template"]["metadata"]["labels"])


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def rule_ports(rule: dict[str, Any]) -> set[tuple[int | str, str]]:
    return {(p["port"], p["protocol"]) for p in rule["ports"]}


def service_policy(
    graph: ResourceGraph, env: EnvironmentConfig, service: str, flow: str
) -> dict[str, Any] | None:
    """The service's own NetworkPolicy ``<service>-<flow>`` in its namespace, if it has one."""
    names = ServiceNames(service, env.namespace_of(env.services[service]))
    return policies(graph, names.namespace).get(names.flow(flow))


def model(graph: ResourceGraph) -> NetworkModel:
    return NetworkModel(Index(subjects(graph)))


def pods_of(graph: ResourceGraph, service: str) -> Pod:
    """The service's pods as the graph declares them: namespace, labels, named ports."""
    rollout = graph.one("Rollout", service)
    template = rollout.inputs["spec"]["template"]
    ports = {
        p["name"]: p["containerPort"] for c in template["spec"]["containers"] for p in c["ports"]
    }
    return Pod(rollout.namespace, dict(template["metadata"]["labels"]), ports=ports, name=service)


# -- one baseline per namespace ---------------------------------------------------------------


def test_each_namespace_has_exactly_one_baseline(graph: ResourceGraph) -> None:
    env = environment(graph.stack)
    namespaces = env.namespaces()
    assert len(namespaces) < len(env.services)  # a namespace shared by several services
    assert sorted(n.object_name for n in graph.kind("Namespace")) == sorted(namespaces)
    baselines = graph.of_type("prodstack:index:NamespaceBaseline")
    assert sorted(b.name for b in baselines) == sorted(namespaces)
    for baseline in baselines:
        children = graph.children(baseline)
        assert Counter(c.kind for c in children) == {"Namespace": 1, "NetworkPolicy": 3}
        (namespace_object,) = [c for c in children if c.kind == "Namespace"]
        assert namespace_object.object_name == baseline.name
        assert sorted(c.object_name for c in children if c.kind == "NetworkPolicy") == sorted(
            BASELINE_POLICIES
        )
        assert {c.namespace for c in children if c.kind == "NetworkPolicy"} == {baseline.name}
    # However many services share a namespace, each baseline policy is there once, and no
    # service has a policy of its own that is not named after it.
    for namespace in namespaces:
        here = [p for p in graph.kind("NetworkPolicy") if p.namespace == namespace]
        names = Counter(p.object_name for p in here)
        assert all(names[name] == 1 for name in BASELINE_POLICIES), (namespace, names)
        shared = [p for p in here if lbl.SERVICE not in p.inputs["metadata"]["labels"]]
        assert sorted(p.object_name for p in shared) == sorted(BASELINE_POLICIES)
        for policy in here:
            owner = policy.inputs["metadata"]["labels"].get(lbl.SERVICE)
            if owner is not None:
                assert env.namespace_of(env.services[owner]) == namespace
                assert policy.object_name.startswith(f"{owner}-"), policy.object_name


def test_no_object_is_declared_twice(graph: ResourceGraph) -> None:
    urns = Counter(r.urn for r in graph)
    assert [urn for urn, count in urns.items() if count > 1] == []
    objects = Counter(
        (r.api_version.rpartition("/")[0], r.kind, r.namespace or "", r.object_name)
        for r in graph.kubernetes_objects()
    )
    assert [o for o, count in objects.items() if count > 1] == []


def test_the_engine_refuses_an_object_declared_twice() -> None:
    def program() -> None:
        NamespaceBaseline("shop", NamespaceBaselineArgs(namespace="shop"))
        # A second baseline for the same namespace: the same Namespace and default-deny.
        NamespaceBaseline("shop-again", NamespaceBaselineArgs(namespace="shop"))

    with pytest.raises(DuplicateObjectError) as caught:
        synthesize(program, stack="twice")
    message = str(caught.value)
    assert "Namespace shop is declared twice" in message
    assert "urn:pulumi:twice::prodstack::prodstack:index:NamespaceBaseline$" in message
    assert "kubernetes:core/v1:Namespace::shop-namespace" in message
    assert "kubernetes:core/v1:Namespace::shop-again-namespace" in message

    # The failed run leaves nothing behind that the next one would wait for.
    def clean() -> None:
        NamespaceBaseline("shop", NamespaceBaselineArgs(namespace="shop"))

    graph = synthesize(clean)
    assert graph.one("Namespace", "shop")


def test_namespace_enforces_the_restricted_profile(graph: ResourceGraph) -> None:
    env = environment(graph.stack)
    for namespace in env.namespaces():
        labels = graph.one("Namespace", namespace).inputs["metadata"]["labels"]
        for mode in ("enforce", "audit", "warn"):
            assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
            assert labels[f"pod-security.kubernetes.io/{mode}-version"] == (
                env.pod_security_version
            )
        assert labels["prodstack.io/environment"] == env.environment


def test_default_deny_covers_every_pod_both_ways(graph: ResourceGraph) -> None:
    for namespace in environment(graph.stack).namespaces():
        deny = policies(graph, namespace)["default-deny"]
        assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_dns_egress_names_namespace_and_pods_in_one_peer(graph: ResourceGraph) -> None:
    for namespace in environment(graph.stack).namespaces():
        dns = policies(graph, namespace)["allow-dns"]
        assert dns["podSelector"] == {"matchLabels": {}}
        (rule,) = dns["egress"]
        assert rule_ports(rule) == {(53, "UDP"), (53, "TCP")}
        (peer,) = rule["to"]
        assert peer["namespaceSelector"] == {"matchLabels": {NS_LABEL: "kube-system"}}
        assert peer["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}


def test_prometheus_reaches_only_the_port_named_metrics(graph: ResourceGraph) -> None:
    env = environment(graph.stack)
    for namespace in env.namespaces():
        scrape = policies(graph, namespace)["allow-prometheus-scrape"]
        # Any pod of the namespace, on the port it names metrics (each service its own number).
        assert scrape["podSelector"] == {"matchLabels": {}}
        (rule,) = scrape["ingress"]
        assert rule_ports(rule) == {("metrics", "TCP")}
        (peer,) = rule["from"]
        assert peer["namespaceSelector"] == {"matchLabels": {NS_LABEL: "monitoring"}}
        assert peer["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}
    network = model(graph)
    prometheus = Pod("monitoring", {"app.kubernetes.io/name": "prometheus"})
    for name, service in env.services.items():
        pods = pods_of(graph, name)
        assert pods.ports["metrics"] == service.app.metrics_port
        assert network.allows(Connection("scrape", prometheus, pods, service.app.metrics_port))
        assert not network.allows(Connection("app port", prometheus, pods, service.app.port))


def test_clients_reach_only_the_app_port(graph: ResourceGraph) -> None:
    env = environment(graph.stack)
    found = 0
    for name, service in env.services.items():
        network = service.security.network
        configured = {
            "allow-ingress-controller": network.ingress_controller_namespace is not None,
            "allow-peers": bool(network.peers),
            "allow-load-balancer": bool(network.load_balancer_sources),
        }
        for flow in CLIENT_FLOWS:
            policy = service_policy(graph, env, name, flow)
            assert (policy is not None) == configured[flow], (name, flow)
            if policy is None:
                continue
            found += 1
            rollout = graph.one("Rollout", name).inputs["spec"]
            assert policy["podSelector"] == rollout["selector"]  # stable and canary pods
            assert selects(policy["podSelector"], pod_labels(graph, name))
            for other in env.services.keys() - {name}:
                assert not selects(policy["podSelector"], pod_labels(graph, other)), (flow, other)
            assert policy["policyTypes"] == ["Ingress"]
            (rule,) = policy["ingress"]
            assert rule_ports(rule) == {(service.app.port, "TCP")}
    assert found


def test_configured_peers_reach_only_the_app_port_of_their_service() -> None:
    def change(raw: dict[str, Any]) -> None:
        svc(raw)["security"]["network"]["peers"] = [
            {"namespace": "partners", "podLabels": {"app": "billing"}}
        ]

    env = parse_environment(varied("production", change))
    graph = synthesize_environment(env)
    policy = service_policy(graph, env, API, "allow-peers")
    assert policy is not None
    assert selects(policy["podSelector"], pod_labels(graph, API))
    (rule,) = policy["ingress"]
    assert rule["from"] == [
        {
            "namespaceSelector": {"matchLabels": {NS_LABEL: "partners"}},
            "podSelector": {"matchLabels": {"app": "billing"}},
        }
    ]
    assert rule_ports(rule) == {(env.services[API].app.port, "TCP")}
    network = model(graph)
    billing = Pod("partners", {"app": "billing"})
    port = env.services[API].app.port
    assert network.allows(Connection("peer", billing, pods_of(graph, API), port))
    assert not network.allows(Connection("peer", billing, pods_of(graph, WORKER), 8080))
    assert service_policy(graph, env, WORKER, "allow-peers") is None


def test_load_balancer_sources_are_the_configured_blocks(production: ResourceGraph) -> None:
    env = environment(production.stack)
    policy = service_policy(production, env, API, "allow-load-balancer")
    assert policy is not None
    (rule,) = policy["ingress"]
    assert [peer["ipBlock"]["cidr"] for peer in rule["from"]] == list(
        env.services[API].security.network.load_balancer_sources
    )


def test_egress_to_database_and_https_without_instance_metadata(graph: ResourceGraph) -> None:
    env = environment(graph.stack)
    for name, service in env.services.items():
        network = service.security.network
        database = service_policy(graph, env, name, "allow-database")
        assert (database is not None) == (network.database is not None), name
        if database is not None and network.database is not None:
            (rule,) = database["egress"]
            assert rule_ports(rule) == {(network.database.port, "TCP")}
            assert selects(database["podSelector"], pod_labels(graph, name))
        redis = service_policy(graph, env, name, "allow-redis")
        assert (redis is not None) == (network.redis is not None), name
        if redis is not None and network.redis is not None:
            (rule,) = redis["egress"]
            assert rule_ports(rule) == {(6379, "TCP")}
            assert [peer["ipBlock"]["cidr"] for peer in rule["to"]] == list(network.redis.cidrs)
        https = service_policy(graph, env, name, "allow-https")
        assert https is not None, name  # every service calls HTTPS APIs in the stacks
        (rule,) = https["egress"]
        assert rule_ports(rule) == {(443, "TCP")}
        blocks = [peer["ipBlock"] for peer in rule["to"]]
        assert blocks == [{"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}]


def test_no_policy_allows_all_ingress(graph: ResourceGraph) -> None:
    for name, spec in every_policy(graph):
        for rule in spec.get("ingress", []):
            assert rule.get("from"), f"{name} allows ingress from anywhere"
            assert rule.get("ports"), f"{name} allows ingress on every port"
            for peer in rule["from"]:
                assert peer, f"{name} has an empty peer (everything)"
                cidr = peer.get("ipBlock", {}).get("cidr")
                assert cidr not in ("0.0.0.0/0", "::/0"), f"{name} allows the internet in"


def test_namespace_peers_use_the_label_every_namespace_carries(graph: ResourceGraph) -> None:
    for _, spec in every_policy(graph):
        for rule in [*spec.get("ingress", []), *spec.get("egress", [])]:
            for peer in rule.get("from", rule.get("to", [])):
                if "namespaceSelector" in peer:
                    assert set(peer["namespaceSelector"]["matchLabels"]) == {NS_LABEL}


# -- calls between services --------------------------------------------------------------------


def declared_calls(env: EnvironmentConfig) -> set[tuple[str, str, int]]:
    """(caller, callee, port number) of every call the configuration declares."""
    found = set()
    for name, service in env.services.items():
        for call in service.calls:
            port = env.services[call.service].port(call.port)
            assert port is not None
            found.add((name, call.service, port))
    return found


def test_the_stacks_declare_calls_across_and_within_namespaces(graph: ResourceGraph) -> None:
    env = environment(graph.stack)
    calls = declared_calls(env)
    spaces = {
        env.namespace_of(env.services[a]) == env.namespace_of(env.services[b]) for a, b, _ in calls
    }
    assert spaces == {True, False}


def test_every_declared_call_is_allowed_both_ways(graph: ResourceGraph) -> None:
    env = environment(graph.stack)
    network = model(graph)
    for caller, callee, port in sorted(declared_calls(env)):
        source, destination = pods_of(graph, caller), pods_of(graph, callee)
        caller_names = ServiceNames(caller, source.namespace or "")
        callee_names = ServiceNames(callee, destination.namespace or "")
        egress = policies(graph, caller_names.namespace)[caller_names.calls(callee)]
        assert egress["policyTypes"] == ["Egress"]
        assert selects(egress["podSelector"], dict(source.labels))
        assert not selects(egress["podSelector"], dict(destination.labels))
        (rule,) = egress["egress"]
        (peer,) = rule["to"]
        assert peer["namespaceSelector"] == {"matchLabels": {NS_LABEL: callee_names.namespace}}
        assert selects(peer["podSelector"], dict(destination.labels))
        assert not selects(peer["podSelector"], dict(source.labels))
        assert rule_ports(rule) == {(port, "TCP")}

        ingress = policies(graph, callee_names.namespace)[callee_names.called_by(caller)]
        assert ingress["policyTypes"] == ["Ingress"]
        assert selects(ingress["podSelector"], dict(destination.labels))
        (rule,) = ingress["ingress"]
        (peer,) = rule["from"]
        assert peer["namespaceSelector"] == {"matchLabels": {NS_LABEL: caller_names.namespace}}
        assert selects(peer["podSelector"], dict(source.labels))
        assert not selects(peer["podSelector"], dict(destination.labels))
        assert rule_ports(rule) == {(port, "TCP")}

        connection = Connection(f"{caller} calls {callee}", source, destination, port)
        assert network.side_allows(connection, "egress"), connection.name
        assert network.side_allows(connection, "ingress"), connection.name
        assert network.allows(connection)


def test_nothing_else_is_opened_between_services(graph: ResourceGraph) -> None:
    env = environment(graph.stack)
    network = model(graph)
    calls = declared_calls(env)
    denied = 0
    for caller in env.services:
        for callee, service in env.services.items():
            for port in sorted({service.app.port, service.app.metrics_port}):
                connection = Connection(
                    f"{caller} -> {callee}:{port}",
                    pods_of(graph, caller),
                    pods_of(graph, callee),
                    port,
                )
                if (caller, callee, port) in calls:
                    continue
                if caller == callee:
                    continue  # a service's pods among themselves: their own flows decide
                assert not network.allows(connection), connection.name
                denied += 1
    assert denied
    # Another pod in a caller's namespace does not ride on the caller's call.
    for caller, callee, port in calls:
        stranger = Pod(pods_of(graph, caller).namespace, {"app": "stranger"})
        assert not network.allows(Connection("stranger", stranger, pods_of(graph, callee), port))


def test_calls_are_exported_with_their_services(graph: ResourceGraph) -> None:
    env = environment(graph.stack)
    exported = graph.outputs["services"]
    for caller, callee, _ in declared_calls(env):
        assert ServiceNames(caller, "").calls(callee) in exported[caller]["networkPolicies"]
        assert ServiceNames(callee, "").called_by(caller) in exported[callee]["networkPolicies"]


def test_the_stack_exports_every_network_policy(graph: ResourceGraph) -> None:
    env = environment(graph.stack)
    exported = graph.outputs["services"]
    assert sorted(exported) == sorted(env.services)
    for name in env.services:
        own = [p.object_name for p in graph.service_objects(name) if p.kind == "NetworkPolicy"]
        assert sorted(exported[name]["networkPolicies"]) == sorted(own), name
    # The rest are the namespaces' baselines, exported as the namespaces they guard.
    assert sorted(graph.outputs["namespaces"]) == sorted(env.namespaces())
    services_policies = sum(len(out["networkPolicies"]) for out in exported.values())
    baseline_policies = len(BASELINE_POLICIES) * len(env.namespaces())
    assert len(graph.kind("NetworkPolicy")) == services_policies + baseline_policies


# -- pods and API access -----------------------------------------------------------------------


def test_every_pod_template_meets_the_restricted_profile(graph: ResourceGraph) -> None:
    templates = [spec for doc in manifests(graph) for spec in pod_templates(doc)]
    assert len(templates) > len(environment(graph.stack).services)
    for spec in templates:
        assert restricted_violations(spec) == []
        assert spec.get("automountServiceAccountToken") is False
        for container in spec["containers"]:
            assert container["imagePullPolicy"] in ("Always", "IfNotPresent")
            assert container["resources"]["limits"] and container["resources"]["requests"]


def test_no_role_without_api_access(graph: ResourceGraph) -> None:
    assert not graph.kind("Role") and not graph.kind("RoleBinding")
    for name in environment(graph.stack).services:
        account = graph.one("ServiceAccount", name)
        assert account.inputs["automountServiceAccountToken"] is False


def _with_api_access() -> ResourceGraph:
    def change(raw: dict[str, Any]) -> None:
        svc(raw)["security"]["apiAccess"] = [
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
    assert role.object_name == "shop-api-api"
    assert role.inputs["metadata"]["labels"][lbl.SERVICE] == API
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
    pod = graph.one("Rollout", API).inputs["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    volume = next(v for v in pod["volumes"] if v["name"] == "api-token")
    token = volume["projected"]["sources"][0]["serviceAccountToken"]
    assert token["expirationSeconds"] == 3600
    mounts = {m["name"]: m for m in pod["containers"][0]["volumeMounts"]}
    assert mounts["api-token"]["readOnly"] is True
    assert restricted_violations(pod) == []
    # The other services get no token.
    worker = graph.one("Rollout", WORKER).inputs["spec"]["template"]["spec"]
    assert "api-token" not in {v["name"] for v in worker["volumes"]}


@pytest.mark.parametrize(
    ("rule", "path"),
    [
        ({"resource": "secrets", "resourceNames": ["x"], "verbs": ["get"]}, "resource"),
        ({"resource": "configmaps", "resourceNames": ["x"], "verbs": ["list"]}, "verbs[0]"),
        ({"resource": "configmaps", "resourceNames": ["x"], "verbs": ["*"]}, "verbs[0]"),
        ({"resource": "*", "resourceNames": ["x"], "verbs": ["get"]}, "resource"),
        ({"resource": "configmaps", "resourceNames": [], "verbs": ["get"]}, "resourceNames"),
    ],
)
def test_unscoped_or_secret_reading_access_is_refused(rule: dict[str, Any], path: str) -> None:
    def change(raw: dict[str, Any]) -> None:
        svc(raw)["security"]["apiAccess"] = [rule]

    with pytest.raises(ConfigError) as caught:
        parse_environment(varied("production", change))
    keys = [k for k, _ in caught.value.problems]
    assert keys == [key(f"security.apiAccess[0].{path}")]


def refused_keys(stack: str, change: Callable[[dict[str, Any]], None]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_environment(varied(stack, change))
    return [k for k, _ in caught.value.problems]


def test_database_takes_pods_or_cidrs_not_both() -> None:
    def change(raw: dict[str, Any]) -> None:
        svc(raw)["security"]["network"]["database"]["pods"] = {"namespace": "db"}

    assert refused_keys("production", change) == [key("security.network.database.pods")]


def test_scanner_skips_are_refused_in_production() -> None:
    def change(raw: dict[str, Any]) -> None:
        svc(raw, WORKER)["app"]["annotations"] = {"checkov.io/skip1": "CKV_K8S_43=because"}

    assert refused_keys("production", change) == [key("app.annotations.checkov.io/skip1", WORKER)]


def test_a_scanner_skip_in_the_defaults_is_refused_once_at_its_key() -> None:
    raw = raw_config("production")
    raw["defaults"]["app"]["annotations"] = {"checkov.io/skip1": "CKV_K8S_43=because"}
    with pytest.raises(ConfigError) as caught:
        parse_environment(raw)
    assert [k for k, _ in caught.value.problems] == [
        "prodstack:defaults.app.annotations.checkov.io/skip1"
    ]


def test_a_load_balancer_needs_sources_the_network_policy_admits() -> None:
    def change(raw: dict[str, Any]) -> None:
        svc(raw)["security"]["network"]["loadBalancerSources"] = []

    assert refused_keys("production", change) == [key("security.network.loadBalancerSources")]


def test_load_balancer_sources_without_a_load_balancer_are_refused() -> None:
    def change(raw: dict[str, Any]) -> None:
        svc(raw, WORKER)["security"]["network"]["loadBalancerSources"] = ["10.20.0.0/16"]

    assert refused_keys("dev", change) == [key("security.network.loadBalancerSources", WORKER)]


def test_database_in_cluster_selects_its_pods() -> None:
    def change(raw: dict[str, Any]) -> None:
        svc(raw)["security"]["network"]["database"] = {
            "port": 5433,
            "pods": {"namespace": "db", "podLabels": {"app": "postgres"}},
        }

    env = parse_environment(varied("staging", change))
    graph = synthesize_environment(env)
    policy = service_policy(graph, env, API, "allow-database")
    assert policy is not None
    (rule,) = policy["egress"]
    assert rule["to"] == [
        {
            "namespaceSelector": {"matchLabels": {NS_LABEL: "db"}},
            "podSelector": {"matchLabels": {"app": "postgres"}},
        }
    ]
    assert rule_ports(rule) == {(5433, "TCP")}
    postgres = Pod("db", {"app": "postgres"})
    network = model(graph)
    assert network.allows(Connection("database", pods_of(graph, API), postgres, 5433))
    assert not network.allows(Connection("database", pods_of(graph, WORKER), postgres, 5433))


# -- the components composed by hand, checked ---------------------------------------------------

ORDERS = AppIdentity(name="orders", namespace="shop")
PAYMENTS = AppIdentity(name="payments", namespace="pay")


def _app(identity: AppIdentity) -> AppConfig:
    return AppConfig.model_validate(
        {
            "name": identity.name,
            "image": f"ghcr.io/acme/{identity.name}@sha256:" + "0" * 64,
            "version": "1.0.0",
            "canary": {"steps": [{"weight": 50, "pause": "1m", "analysis": True}]},
        }
    )


def _hand_written(*, callee_ingress: bool = True) -> Callable[[], None]:
    """payments (namespace pay) calls orders (namespace shop) on orders' http port."""

    def program() -> None:
        call = call_flows(
            Endpoint(PAYMENTS.name, PAYMENTS.namespace, PAYMENTS.selector()),
            Endpoint(ORDERS.name, ORDERS.namespace, ORDERS.selector()),
            _app(ORDERS).port,
            "http",
        )
        for identity, calls, callers in (
            (PAYMENTS, [call], []),
            (ORDERS, [], [call] if callee_ingress else []),
        ):
            baseline = NamespaceBaseline(
                identity.namespace,
                NamespaceBaselineArgs(
                    namespace=identity.namespace, labels=namespace_labels("v1.33", "staging")
                ),
            )
            after = pulumi.ResourceOptions(depends_on=[baseline])
            security = ServiceSecurity(
                f"{identity.name}-security",
                ServiceSecurityArgs(identity=identity, calls=calls, callers=callers),
                opts=after,
            )
            CanaryApp(
                identity.name,
                CanaryAppArgs(
                    app=_app(identity),
                    namespace=identity.namespace,
                    environment="staging",
                    wiring=[security.api_token],
                ),
                opts=pulumi.ResourceOptions(depends_on=[baseline, security]),
            )

    return program


def _checked(program: Callable[[], None]) -> tuple[ResourceGraph, Report]:
    graph = synthesize(program, stack="hand-written")
    return graph, check(graph)


def test_a_hand_written_program_of_two_services_checks_clean() -> None:
    graph, report = _checked(_hand_written())
    assert report.clean, report.human()
    assert sorted(p.object_name for p in graph.kind("NetworkPolicy") if p.namespace == "pay") == [
        "allow-dns",
        "allow-prometheus-scrape",
        "default-deny",
        "payments-to-orders",
    ]
    assert "orders-from-payments" in policies(graph, "shop")
    port = _app(ORDERS).port
    network = model(graph)
    assert network.allows(
        Connection("call", pods_of(graph, "payments"), pods_of(graph, "orders"), port)
    )
    assert not network.allows(
        Connection("back", pods_of(graph, "orders"), pods_of(graph, "payments"), port)
    )


def test_a_call_missing_the_callee_ingress_is_caught() -> None:
    graph, report = _checked(_hand_written(callee_ingress=False))
    assert "orders-from-payments" not in policies(graph, "shop")
    findings = [p for p in report.problems if p.check == "network-pairing"]
    assert findings, report.human()
    assert all(p.family == "flow" for p in findings)
    assert any(
        "payments calls orders" in p.message and "no ingress policy in namespace shop" in p.message
        for p in findings
    ), report.human()
    assert [p for p in report.problems if p.check != "network-pairing"] == []


def test_service_security_refuses_calls_that_are_not_its_own() -> None:
    call = call_flows(
        Endpoint(PAYMENTS.name, PAYMENTS.namespace, PAYMENTS.selector()),
        Endpoint(ORDERS.name, ORDERS.namespace, ORDERS.selector()),
        8080,
    )
    with pytest.raises(ValueError, match=r"calls\[0\]: the call is made by pay/payments"):
        ServiceSecurityArgs(identity=ORDERS, calls=[call])
    with pytest.raises(ValueError, match=r"callers\[0\]: the call goes to shop/orders"):
        ServiceSecurityArgs(identity=PAYMENTS, callers=[call])


def test_the_component_page_example_checks_clean() -> None:
    text = (ROOT / "docs" / "components" / "security-baseline.md").read_text()
    (example,) = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)

    def program() -> None:
        exec(compile(example, "security-baseline.md", "exec"), {})

    graph, report = _checked(program)
    assert report.clean, report.human()
    assert len(graph.kind("Namespace")) == 1  # two services, one baseline
    shop = policies(graph, "shop")
    assert {"payments-to-orders", "orders-from-payments", *BASELINE_POLICIES} == set(shop)
    network = model(graph)
    call = Connection("call", pods_of(graph, "payments"), pods_of(graph, "orders"), 8080)
    assert network.allows(call)
    assert not network.allows(
        Connection("back", pods_of(graph, "orders"), pods_of(graph, "payments"), 8080)
    )
