"""Configuration of autoscaling, the load balancer and HA: values, defaults, and every rule
naming its key with a fix."""

from __future__ import annotations

from typing import Any

import pytest

from prodstack.config import (
    AutoscalingConfig,
    HAConfig,
    LoadBalancerConfig,
    parse_environment,
)
from prodstack.specs.ha import ha_floor, min_available
from tests.support.stacks import (
    API,
    STACKS,
    WEB,
    WORKER,
    config_problems,
    environment,
    key,
    service_config,
    svc,
    varied,
)

SERVICES = (API, WORKER, WEB)


def test_production_carries_the_reference_autoscaling() -> None:
    scaling = service_config("production").autoscaling
    assert scaling is not None
    assert (scaling.min_replicas, scaling.max_replicas) == (6, 100)
    assert (scaling.cpu_utilization, scaling.memory_utilization) == (70, 80)
    assert scaling.requests_per_second is not None
    assert scaling.requests_per_second.name == "http_requests_per_second"
    assert scaling.requests_per_second.average_value == 50
    assert scaling.behavior == AutoscalingConfig().behavior
    up, down = scaling.behavior.scale_up, scaling.behavior.scale_down
    assert (up.stabilization_window_seconds, up.select_policy) == (60, "Max")
    assert [(p.type, p.value, p.period_seconds) for p in up.policies] == [
        ("Percent", 50, 60),
        ("Pods", 10, 60),
    ]
    assert (down.stabilization_window_seconds, down.select_policy) == (300, "Min")
    assert [(p.type, p.value, p.period_seconds) for p in down.policies] == [("Percent", 10, 60)]


def test_production_is_internet_facing_on_purpose_and_the_others_are_internal() -> None:
    production = service_config("production").load_balancer
    assert production is not None
    assert production.scheme == "internet-facing"
    assert [str(cidr) for cidr in production.source_ranges] == ["0.0.0.0/0"]
    staging = service_config("staging").load_balancer
    assert staging is not None and staging.scheme == "internal"
    assert service_config("dev").load_balancer is None
    for stack in STACKS:  # only the API has a load balancer
        env = environment(stack)
        for name in (WORKER, WEB):
            assert env.services[name].load_balancer is None, (stack, name)


@pytest.mark.parametrize("name", SERVICES)
def test_stacks_scale_smaller_outside_production(name: str) -> None:
    envs = {stack: environment(stack) for stack in STACKS}
    ranges = {stack: env.services[name].replica_range for stack, env in envs.items()}
    assert ranges["dev"].maximum < ranges["staging"].maximum < ranges["production"].maximum
    assert envs["dev"].services[name].autoscaling is None


@pytest.mark.parametrize("stack", STACKS)
def test_replica_minimum_is_at_least_the_ha_floor(stack: str) -> None:
    for name, service in environment(stack).services.items():
        assert service.replica_range.minimum >= ha_floor(service), name


def test_the_ha_floor_is_the_budget_plus_one() -> None:
    api = service_config("production")
    assert ha_floor(api) == 2  # maxUnavailable 1
    assert min_available(api) == 5  # 6 replicas at least, 1 may go

    def min_available_4(raw: dict[str, Any]) -> None:
        svc(raw)["ha"]["disruptionBudget"] = {"minAvailable": 4}

    changed = service_config("production", min_available_4)
    assert (ha_floor(changed), min_available(changed)) == (5, 4)
    for name, service in environment("dev").services.items():
        assert (ha_floor(service), min_available(service)) == (1, None), name


def test_defaults_are_safe() -> None:
    lb = LoadBalancerConfig()
    assert lb.scheme == "internal"
    assert lb.controller == "aws-load-balancer-controller"
    assert lb.effective_target_type == "ip"
    assert lb.source_ranges == ()
    ha = HAConfig()
    assert ha.node_anti_affinity == "preferred"
    assert ha.disruption_budget is not None and ha.disruption_budget.field == "maxUnavailable"
    assert ha.disruption_budget.value == 1
    assert ha.disruption_budget.unhealthy_pod_eviction_policy == "AlwaysAllow"
    scaling = AutoscalingConfig()
    assert scaling.requests_per_second is None  # needs an adapter rule: opt-in


@pytest.mark.parametrize("name", SERVICES)
def test_a_budget_is_refused_when_one_replica_can_run(name: str) -> None:
    def budget(raw: dict[str, Any]) -> None:
        svc(raw, name)["ha"]["disruptionBudget"] = {"maxUnavailable": 1}

    found = config_problems(varied("dev", budget))
    assert list(found) == [key("ha.disruptionBudget", name)]
    message = found[key("ha.disruptionBudget", name)]
    assert "at most 1 replica can run (app.replicas)" in message
    assert "ha.disruptionBudget: null" in message


def test_min_replicas_below_the_floor_is_named_with_the_floor() -> None:
    def low(raw: dict[str, Any]) -> None:
        svc(raw)["ha"]["disruptionBudget"] = {"minAvailable": 6}

    found = config_problems(varied("production", low))
    assert list(found) == [key("autoscaling.minReplicas")]
    message = found[key("autoscaling.minReplicas")]
    assert "at least 7, the HA floor (ha.disruptionBudget.minAvailable 6 + 1)" in message
    assert "blocks every voluntary disruption" in message


def test_max_unavailable_at_or_above_the_replica_count_is_refused() -> None:
    def loose(raw: dict[str, Any]) -> None:
        svc(raw)["autoscaling"]["minReplicas"] = 2
        svc(raw)["ha"]["disruptionBudget"] = {"maxUnavailable": 2}

    found = config_problems(varied("staging", loose))
    assert "lets a drain evict every pod" in found[key("autoscaling.minReplicas")]


def test_without_autoscaling_the_floor_applies_to_app_replicas() -> None:
    def fixed(raw: dict[str, Any]) -> None:
        del svc(raw)["autoscaling"]
        svc(raw)["app"]["replicas"] = 2
        svc(raw)["ha"]["disruptionBudget"] = {"minAvailable": 2}

    found = config_problems(varied("staging", fixed))
    assert list(found) == [key("app.replicas")]

    def fixed_worker(raw: dict[str, Any]) -> None:
        svc(raw, WORKER)["ha"]["disruptionBudget"] = {"minAvailable": 2}  # of 2 replicas

    assert list(config_problems(varied("staging", fixed_worker))) == [key("app.replicas", WORKER)]


def test_required_anti_affinity_needs_nodes_for_every_replica() -> None:
    def required(raw: dict[str, Any]) -> None:
        svc(raw)["ha"]["nodeAntiAffinity"] = "required"
        svc(raw)["ha"]["nodeCount"] = 40

    found = config_problems(varied("production", required))
    assert list(found) == [key("ha.nodeCount")]
    assert (
        "40 nodes cannot hold 100 replicas (autoscaling.maxReplicas)" in found[key("ha.nodeCount")]
    )

    def enough(raw: dict[str, Any]) -> None:
        svc(raw)["ha"]["nodeAntiAffinity"] = "required"
        svc(raw)["ha"]["nodeCount"] = 100

    ha = parse_environment(varied("production", enough)).services[API].ha
    assert ha is not None and (ha.node_anti_affinity, ha.node_count) == ("required", 100)


def test_required_anti_affinity_without_a_node_count_is_refused() -> None:
    def required(raw: dict[str, Any]) -> None:
        svc(raw)["ha"]["nodeAntiAffinity"] = "required"

    found = config_problems(varied("production", required))
    assert "declare it, or use nodeAntiAffinity: preferred" in found[key("ha.nodeCount")]


def test_budget_takes_one_form() -> None:
    def both(raw: dict[str, Any]) -> None:
        svc(raw)["ha"]["disruptionBudget"] = {"minAvailable": 2, "maxUnavailable": 1}

    found = config_problems(varied("production", both))
    assert "not both" in found[key("ha.disruptionBudget.minAvailable")]


def test_autoscaling_bounds_and_metrics() -> None:
    def inverted(raw: dict[str, Any]) -> None:
        svc(raw)["autoscaling"]["minReplicas"] = 20
        svc(raw)["autoscaling"]["maxReplicas"] = 10

    found = config_problems(varied("production", inverted))
    assert found == {key("autoscaling.minReplicas"): "20 is above maxReplicas 10"}

    def no_metric(raw: dict[str, Any]) -> None:
        svc(raw)["autoscaling"].update(
            cpuUtilization=None, memoryUtilization=None, requestsPerSecond=None
        )

    found = config_problems(varied("production", no_metric))
    assert "at least one metric" in found[key("autoscaling.cpuUtilization")]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("cpuUtilization", 0, "greater than or equal to 1"),
        ("cpuUtilization", 170, "less than or equal to 100"),
        ("maxReplicas", 0, "greater than or equal to 1"),
    ],
)
def test_autoscaling_values_out_of_range(field: str, value: int, expected: str) -> None:
    def change(raw: dict[str, Any]) -> None:
        svc(raw)["autoscaling"][field] = value

    found = config_problems(varied("production", change))
    assert list(found) == [key(f"autoscaling.{field}")]
    assert expected in found[key(f"autoscaling.{field}")]


def test_behavior_policies_are_checked_by_key() -> None:
    def bad(raw: dict[str, Any]) -> None:
        svc(raw)["autoscaling"]["behavior"] = {
            "scaleUp": {
                "policies": [
                    {"type": "Percent", "value": 50, "periodSeconds": 60},
                    {"type": "Pods", "value": 10, "periodSeconds": 3600},
                ]
            },
            "scaleDown": {"policies": []},
        }

    found = config_problems(varied("production", bad))
    assert set(found) == {
        key("autoscaling.behavior.scaleUp.policies[1].periodSeconds"),
        key("autoscaling.behavior.scaleDown.policies"),
    }


def test_internet_facing_must_name_its_clients() -> None:
    def open_(raw: dict[str, Any]) -> None:
        del svc(raw)["loadBalancer"]["sourceRanges"]

    found = config_problems(varied("production", open_))
    assert (
        "write [0.0.0.0/0] to admit the whole internet on purpose"
        in found[key("loadBalancer.sourceRanges")]
    )


def test_source_ranges_must_be_networks() -> None:
    def host_bits(raw: dict[str, Any]) -> None:
        svc(raw)["loadBalancer"]["sourceRanges"] = ["10.0.0.1/8"]

    assert key("loadBalancer.sourceRanges[0]") in config_problems(varied("production", host_bits))


def test_in_tree_controller_limits() -> None:
    def alb(raw: dict[str, Any]) -> None:
        svc(raw)["loadBalancer"]["controller"] = "in-tree"

    found = config_problems(varied("production", alb))
    assert "the in-tree controller provisions NLBs" in found[key("loadBalancer.controller")]

    def in_tree(raw: dict[str, Any]) -> None:
        lb = svc(raw)["loadBalancer"]
        for alb_only in ("hosts", "wafAclArn", "tls"):  # TLS on an NLB needs the new controller
            del lb[alb_only]
        lb |= {"type": "nlb", "controller": "in-tree"}

    found = config_problems(varied("production", in_tree))
    assert set(found) == {
        key("loadBalancer.targetType"),
        key("loadBalancer.idleTimeoutSeconds"),
    }
    assert (
        "connection-idle-timeout annotation applies to Classic ELBs only"
        in found[key("loadBalancer.idleTimeoutSeconds")]
    )

    def in_tree_plain(raw: dict[str, Any]) -> None:
        svc(raw)["loadBalancer"] = {"controller": "in-tree", "scheme": "internal"}
        # No router: one step, since 5% and 10% would run the same pods.
        svc(raw)["app"]["canary"] = {
            "steps": [{"weight": 50, "pause": "5m", "analysis": True}],
            "analysis": {"background": None},
        }

    lb = parse_environment(varied("production", in_tree_plain)).services[API].load_balancer
    assert lb is not None and lb.effective_target_type == "instance"


def test_unknown_keys_in_the_new_sections_suggest_the_right_one() -> None:
    def typo(raw: dict[str, Any]) -> None:
        svc(raw)["ha"]["nodeAntiAfinity"] = "preferred"

    found = config_problems(varied("production", typo))
    assert "did you mean 'nodeAntiAffinity'" in found[key("ha.nodeAntiAfinity")]
