"""The entry point: an ALB with exact canary weights and TLS in production, an NLB (weights as
pod ratios) in staging; both drain without sending new connections to a terminating pod, and
admit only the load balancer."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from prodstack.check.flows import declared_problems
from prodstack.check.references import Index, ingress_backends, rollout_traffic_routing
from prodstack.check.report import subjects
from prodstack.config import parse_environment
from prodstack.config.load_balancer import NLB_IP_PROPAGATION_SECONDS
from prodstack.specs.canary import traffic_per_step
from prodstack.specs.ingress import ALB
from prodstack.specs.load_balancer import HEALTHCHECK, SSL_CERT, SSL_PORTS, TARGET_GROUP_ATTRIBUTES
from prodstack.synth import Resource, ResourceGraph
from tests.conftest import stack_graph
from tests.support.stacks import (
    API,
    ROOT,
    WORKER,
    config_problems,
    environment,
    key,
    service_config,
    svc,
    synthesize_environment,
    varied,
)


def object_annotations(resource: Resource) -> dict[str, str]:
    found: dict[str, str] = resource.inputs["metadata"].get("annotations") or {}
    return found


def pod_spec(graph: ResourceGraph, name: str = API) -> dict[str, Any]:
    spec: dict[str, Any] = graph.one("Rollout", name).inputs["spec"]["template"]["spec"]
    return spec


def test_production_routes_the_api_through_an_alb_with_exact_weights(
    production: ResourceGraph,
) -> None:
    ingress = production.one("Ingress", "shop-api-alb")
    spec = ingress.inputs["spec"]
    assert spec["ingressClassName"] == "alb"
    [rule] = spec["rules"]
    assert rule["host"] == "api.company.com"
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": API, "port": {"name": "use-annotation"}}
    strategy = production.one("Rollout", API).inputs["spec"]["strategy"]["canary"]
    assert strategy["trafficRouting"] == {
        "alb": {"ingress": "shop-api-alb", "rootService": API, "servicePort": 80}
    }
    # The basic canary's knobs do not apply under a router (Argo Rollouts docs).
    assert "maxSurge" not in strategy and "maxUnavailable" not in strategy
    assert "shop-api-nlb" not in {s.object_name for s in production.kind("Service")}


def test_the_alb_speaks_tls_redirects_http_and_checks_readiness(production: ResourceGraph) -> None:
    found = object_annotations(production.one("Ingress", "shop-api-alb"))
    assert json.loads(found[ALB + "listen-ports"]) == [{"HTTP": 80}, {"HTTPS": 443}]
    assert found[ALB + "ssl-redirect"] == "443"
    assert found[ALB + "certificate-arn"].startswith("arn:aws:acm:us-west-2:")
    assert found[ALB + "ssl-policy"].startswith("ELBSecurityPolicy-TLS13")
    assert found[ALB + "wafv2-acl-arn"].startswith("arn:aws:wafv2:")
    assert found[ALB + "scheme"] == "internet-facing"
    assert found[ALB + "target-type"] == "ip"
    readiness = pod_spec(production)["containers"][0]["readinessProbe"]["httpGet"]["path"]
    assert found[ALB + "healthcheck-path"] == readiness == "/ready"


def drain_of(graph: ResourceGraph, name: str = API) -> tuple[int, int]:
    pod = pod_spec(graph, name)
    pre_stop = pod["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
    return pre_stop, pod["terminationGracePeriodSeconds"]


@pytest.mark.parametrize(("stack", "entry_point"), [("staging", "nlb"), ("production", "alb")])
def test_no_new_connection_reaches_a_terminating_pod(stack: str, entry_point: str) -> None:
    """The pre-stop drain outlasts the load balancer's propagation, the deregistration delay
    covers the drain and the app's shutdown, and the grace period covers both."""
    graph = stack_graph(stack)
    service = service_config(stack)
    lb = service.load_balancer
    assert lb is not None and lb.type == entry_point
    pre_stop, grace = drain_of(graph)
    shutdown = service.app.shutdown.app_shutdown_seconds
    assert pre_stop >= lb.propagation_seconds
    assert grace > pre_stop + shutdown
    if lb.type == "nlb":
        found = object_annotations(graph.one("Service", "shop-api-nlb"))
        attributes = dict(pair.split("=") for pair in found[TARGET_GROUP_ATTRIBUTES].split(","))
        assert pre_stop >= NLB_IP_PROPAGATION_SECONDS  # about two minutes (LBC #2366, #3270)
        assert found[HEALTHCHECK + "protocol"] == "http"
        assert found[HEALTHCHECK + "path"] == "/ready"
    else:
        found = object_annotations(graph.one("Ingress", "shop-api-alb"))
        attributes = dict(
            pair.split("=") for pair in found[ALB + "target-group-attributes"].split(",")
        )
    delay = int(attributes["deregistration_delay.timeout_seconds"])
    assert delay == pre_stop + shutdown
    if lb.type == "nlb":
        assert attributes["deregistration_delay.connection_termination.enabled"] == "true"


def test_a_service_without_a_load_balancer_keeps_its_own_drain(production: ResourceGraph) -> None:
    worker = service_config("production", name=WORKER)
    assert drain_of(production, WORKER)[0] == worker.app.shutdown.drain_seconds


def test_production_refuses_an_internet_facing_entry_point_without_tls() -> None:
    def plaintext(raw: dict[str, Any]) -> None:
        svc(raw)["loadBalancer"].pop("tls")

    found = config_problems(varied("production", plaintext))
    assert list(found) == [key("loadBalancer.tls")]
    assert "allowPlaintext: true" in found[key("loadBalancer.tls")]

    def opted_out(raw: dict[str, Any]) -> None:
        plaintext(raw)
        svc(raw)["loadBalancer"]["allowPlaintext"] = True

    env = parse_environment(varied("production", opted_out))
    ingress = synthesize_environment(env, "production").one("Ingress", "shop-api-alb")
    assert json.loads(object_annotations(ingress)[ALB + "listen-ports"]) == [{"HTTP": 80}]


def test_an_nlb_terminates_tls_on_its_tls_port() -> None:
    def tls(raw: dict[str, Any]) -> None:
        svc(raw)["loadBalancer"]["tls"] = {
            "certificateArns": [
                "arn:aws:acm:us-west-2:111122223333:certificate/0f9a6c1e-5b2d-4e8a-9c3f-7d1b2a4e6c80"
            ]
        }

    graph = synthesize_environment(environment("staging", tls), "staging")
    service = graph.one("Service", "shop-api-nlb")
    assert service.inputs["spec"]["ports"] == [
        {"name": "https", "port": 443, "targetPort": "http", "protocol": "TCP"}
    ]
    found = object_annotations(service)
    assert found[SSL_PORTS] == "443" and found[SSL_CERT].startswith("arn:aws:acm:")


def test_alb_settings_are_refused_on_an_nlb() -> None:
    def hosts(raw: dict[str, Any]) -> None:
        svc(raw)["loadBalancer"]["hosts"] = ["api.company.com"]

    assert list(config_problems(varied("staging", hosts))) == [key("loadBalancer.hosts")]


def test_steps_that_collapse_to_the_same_pods_are_refused() -> None:
    """At three pods without a router, 5% and 10% are both one canary pod beside three."""

    def reference_schedule(raw: dict[str, Any]) -> None:
        svc(raw, WORKER)["app"]["canary"]["steps"] = [
            {"weight": 5, "pause": "2m"},
            {"weight": 10, "pause": "2m", "analysis": True},
            {"weight": 25, "pause": "5m"},
            {"weight": 50, "pause": "10m"},
        ]

    found = config_problems(varied("production", reference_schedule))
    assert list(found) == [
        key("app.canary.steps[1].weight", WORKER),
        key("app.canary.steps[2].weight", WORKER),
    ]
    assert found[key("app.canary.steps[1].weight", WORKER)].startswith(
        "steps[0] (5%) and steps[1] (10%) both run 1 canary and 3 stable pods at the minimum "
        "of 3 replicas (25% of the traffic)"
    )


def test_the_scale_options_need_a_traffic_router() -> None:
    def dynamic(raw: dict[str, Any]) -> None:
        svc(raw)["app"]["canary"]["dynamicStableScale"] = True

    assert list(config_problems(varied("staging", dynamic))) == [
        key("app.canary.dynamicStableScale")
    ]
    graph = synthesize_environment(environment("production", dynamic), "production")
    strategy = graph.one("Rollout", API).inputs["spec"]["strategy"]["canary"]
    assert strategy["dynamicStableScale"] is True


def test_the_real_traffic_of_each_step() -> None:
    """What the docs' traffic table says, computed as Argo Rollouts does."""
    production = service_config("production")
    staging = service_config("staging")
    worker = service_config("production", name=WORKER)
    routed = traffic_per_step(production.app.canary, 6, routed=True)
    assert [(s.canary_pods, s.stable_pods, s.canary_percent) for s in routed] == [
        (1, 6, 5.0),
        (1, 6, 10.0),
        (2, 6, 25.0),
        (3, 6, 50.0),
        (5, 6, 75.0),
    ]
    ratio = traffic_per_step(staging.app.canary, 3)
    assert [(s.canary_pods, s.stable_pods, s.canary_percent) for s in ratio] == [
        (1, 3, 25.0),
        (2, 2, 50.0),
        (3, 1, 75.0),
    ]
    assert [s.canary_percent for s in traffic_per_step(worker.app.canary, 3)] == [
        25.0,
        50.0,
        75.0,
    ]


def test_load_balancer_sources_that_hold_pods_are_refused() -> None:
    def whole_vpc(raw: dict[str, Any]) -> None:
        svc(raw)["security"]["network"]["loadBalancerSources"] = ["10.40.0.0/16"]

    found = config_problems(varied("production", whole_vpc))
    assert list(found) == [key("security.network.loadBalancerSources[0]")]
    assert "contains pod addresses (10.40.64.0/18, 10.40.128.0/18" in next(iter(found.values()))


def changed(graph: ResourceGraph, kind: str, name: str | None, change: Any) -> Index:
    """The graph's subjects with the props of objects of ``kind`` (and ``name``) changed."""
    items = []
    for subject in subjects(graph):
        if subject.kind != kind or name not in (None, subject.object_name):
            items.append(subject)
            continue
        props = copy.deepcopy(dict(subject.props))
        change(props)
        items.append(
            type(subject)(subject.type, subject.urn, subject.name, props, subject.dependencies)
        )
    return Index(items)


def test_no_pod_of_another_namespace_reaches_the_app_port(production: ResourceGraph) -> None:
    env = environment("production")
    index = Index(subjects(production))
    assert list(declared_problems(index, env)) == []

    # The same policy over the whole VPC would admit a pod at a pod address: caught.
    def whole_vpc(props: dict[str, Any]) -> None:
        props["spec"]["ingress"][0]["from"] = [{"ipBlock": {"cidr": "10.40.0.0/16"}}]

    index = changed(production, "NetworkPolicy", "shop-api-allow-load-balancer", whole_vpc)
    found = list(declared_problems(index, env))
    assert any("a pod of another namespace (at 10.40.64.10) calls shop-api" in p for p in found)


def test_the_routing_and_the_ingress_name_each_other(production: ResourceGraph) -> None:
    index = Index(subjects(production))
    assert list(rollout_traffic_routing(index)) == [] and list(ingress_backends(index)) == []
    without = Index([s for s in subjects(production) if s.kind != "Ingress"])
    assert [m for _, m in rollout_traffic_routing(without)] == [
        "trafficRouting.alb names Ingress 'shop-api-alb', which is not in the stack"
    ]

    def to_stable(props: dict[str, Any]) -> None:
        backend = props["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
        backend["name"] = "shop-api-stable"

    found = [m for _, m in ingress_backends(changed(production, "Ingress", None, to_stable))]
    assert found and "no Rollout routes through this Ingress" in found[0]


DOC = ROOT / "docs" / "components" / "entry-point.md"


def test_the_docs_traffic_table_is_what_argo_rollouts_runs() -> None:
    table = DOC.read_text().split("<!-- traffic table", 1)[1].split("\n\n", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    checked = 0
    for row in rows[1:]:
        stack, service, entry, replicas, steps = (c.strip() for c in row.strip("|").split("|"))
        name = API if service == "every service" else service
        config = service_config(stack, name=name)
        count = int(replicas.split()[0])
        routed = entry == "ALB"
        expected = " · ".join(
            f"{s.weight}% → {s.canary_pods}/{s.stable_pods} → {s.canary_percent:g}%"
            for s in traffic_per_step(config.app.canary, count, routed=routed)
        )
        assert steps == expected, row
        assert count == config.replica_range.minimum, row
        checked += 1
    assert checked == 7


def test_the_docs_example_builds() -> None:
    from prodstack.synth import synthesize

    example = DOC.read_text().split("```python\n", 1)[1].split("```", 1)[0]
    graph = synthesize(lambda: exec(compile(example, str(DOC), "exec"), {}), stack="docs")
    assert graph.one("Ingress", "orders-alb").namespace == "orders"
    strategy = graph.one("Rollout", "orders").inputs["spec"]["strategy"]["canary"]
    assert strategy["trafficRouting"]["alb"]["ingress"] == "orders-alb"
