"""Properties of the HA policy and the autoscaler over every configuration validation accepts.

An independent model of the disruption controller's arithmetic checks what the rendered specs
promise; validation must accept exactly the configurations that keep those promises.
"""

from __future__ import annotations

import copy
import functools
import itertools
from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from prodstack import labels as lbl
from prodstack.config import ConfigError, HAConfig, parse_environment
from prodstack.specs import ha as ha_spec
from prodstack.specs.autoscaling import hpa_spec
from tests.support.stacks import API, WEB, WORKER, flattened, key, raw_config, svc

SELECTOR = {lbl.NAME: "shop-api", lbl.INSTANCE: "shop-api-test"}
RELEVANT_PATHS = ("autoscaling.minReplicas", "app.replicas", "ha.disruptionBudget", "ha.nodeCount")


@functools.cache
def _production() -> dict[str, Any]:
    return flattened(raw_config("production"))


def production() -> dict[str, Any]:
    """The flattened production config, read once and copied for each example."""
    return copy.deepcopy(_production())


def disruption_math(pdb: dict[str, Any], pods: int) -> tuple[int, int]:
    """(disruptions allowed, pods kept) of a PDB over ``pods`` healthy pods, as the
    disruption controller computes them for integer budgets."""
    if "minAvailable" in pdb:
        desired = int(pdb["minAvailable"])
    else:
        desired = max(pods - int(pdb["maxUnavailable"]), 0)
    return max(pods - desired, 0), desired


budgets = st.one_of(
    st.none(),
    st.just({}),
    st.builds(lambda n: {"maxUnavailable": n}, st.integers(1, 4)),
    st.builds(lambda n: {"minAvailable": n}, st.integers(1, 8)),
)


@st.composite
def scaling_configs(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A service and, for it, replica counts, autoscaling bounds (min <= max) and HA settings
    around the edges."""
    name = draw(st.sampled_from([API, WORKER, WEB]))
    app_replicas = draw(st.integers(1, 8))
    autoscaling = None
    if draw(st.booleans()):
        minimum = draw(st.integers(1, 8))
        autoscaling = {"minReplicas": minimum, "maxReplicas": minimum + draw(st.integers(0, 12))}
    ha = None
    if draw(st.booleans()):
        ha = {
            "nodeAntiAffinity": draw(st.sampled_from(["preferred", "required"])),
            "disruptionBudget": draw(budgets),
        }
        nodes = draw(st.none() | st.integers(1, 24))
        if nodes is not None:
            ha["nodeCount"] = nodes
        if ha["disruptionBudget"] == {}:
            del ha["disruptionBudget"]  # the default budget: maxUnavailable 1

    raw = production()
    service = svc(raw, name)
    service["app"]["replicas"] = app_replicas
    # One canary step: without a traffic router, steps that run the same pods at the minimum
    # are refused (a canary rule, not this property's), and one step never collides.
    service["app"]["canary"]["steps"] = [{"weight": 50, "pause": "5m", "analysis": True}]
    service["app"]["canary"]["analysis"]["background"] = None
    service.pop("autoscaling", None)
    service.pop("ha", None)
    if autoscaling is not None:
        service["autoscaling"] = autoscaling
    if ha is not None:
        service["ha"] = ha
    return name, raw


def promises_hold(service: dict[str, Any]) -> bool:
    """What validation must guarantee, computed from the service's raw values alone."""
    scaling = service.get("autoscaling")
    low, high = (
        (scaling["minReplicas"], scaling["maxReplicas"])
        if scaling
        else (service["app"]["replicas"],) * 2
    )
    ha = service.get("ha")
    if ha is None:
        return True
    if ha["nodeAntiAffinity"] == "required" and ha.get("nodeCount", 0) < high:
        return False
    budget = ha.get("disruptionBudget", {"maxUnavailable": 1})
    if budget is None:
        return True
    if high < 2:
        return False
    budget = budget or {"maxUnavailable": 1}
    return all(
        allowed >= 1 and kept >= 1
        for allowed, kept in (disruption_math(budget, pods) for pods in range(low, high + 1))
    )


@settings(max_examples=300, deadline=None)
@given(scaling_configs())
def test_validation_accepts_exactly_the_configurations_that_keep_the_promises(
    case: tuple[str, dict[str, Any]],
) -> None:
    name, raw = case
    try:
        env = parse_environment(raw)
    except ConfigError as error:
        assert not promises_hold(svc(raw, name))
        assert error.problems
        assert {k for k, _ in error.problems} <= {key(path, name) for path in RELEVANT_PATHS}
        return
    assert promises_hold(svc(raw, name))

    service = env.services[name]
    floor = ha_spec.ha_floor(service)
    replicas = service.replica_range
    assert replicas.minimum >= floor
    if service.autoscaling is not None:
        spec = hpa_spec(service.autoscaling, name)
        assert spec["minReplicas"] >= floor  # the HPA never goes below the HA floor
        assert spec["minReplicas"] <= spec["maxReplicas"]
    budget = None if service.ha is None else service.ha.disruption_budget
    if budget is not None:
        pdb = ha_spec.disruption_budget_spec(budget, SELECTOR)
        for pods in range(replicas.minimum, replicas.maximum + 1):
            allowed, kept = disruption_math(pdb, pods)
            assert allowed >= 1, f"a drain blocks at {pods} pods"
            assert kept >= 1, f"a drain may evict every pod at {pods} pods"
        assert kept == budget.available_at(replicas.maximum)
        assert ha_spec.min_available(service) == budget.available_at(replicas.minimum)


ha_configs = st.builds(
    lambda affinity, nodes, spread, budget: HAConfig.model_validate(
        {
            "nodeAntiAffinity": affinity,
            "nodeCount": nodes,
            "zoneSpread": spread,
            "disruptionBudget": budget,
        }
    ),
    st.sampled_from(["preferred", "required"]),
    st.integers(1, 200),
    st.one_of(
        st.none(),
        st.fixed_dictionaries(
            {
                "maxSkew": st.integers(1, 3),
                "whenUnsatisfiable": st.just("DoNotSchedule"),
                "minDomains": st.none() | st.integers(1, 5),
            }
        ),
        st.just({"whenUnsatisfiable": "ScheduleAnyway"}),
    ),
    budgets,
)


def affinity_terms(anti: dict[str, Any]) -> list[dict[str, Any]]:
    required = anti.get("requiredDuringSchedulingIgnoredDuringExecution", [])
    preferred = [
        w["podAffinityTerm"]
        for w in anti.get("preferredDuringSchedulingIgnoredDuringExecution", [])
    ]
    return [*required, *preferred]


@given(ha_configs)
def test_one_anti_affinity_with_each_topology_key_once(ha: HAConfig) -> None:
    fragment = ha_spec.scheduling(ha, SELECTOR)
    assert list(fragment["affinity"]) == ["podAntiAffinity"]
    anti = fragment["affinity"]["podAntiAffinity"]
    terms = affinity_terms(anti)
    keys = Counter(term["topologyKey"] for term in terms)
    assert keys == Counter({ha_spec.HOSTNAME: 1, ha_spec.ZONE: 1})
    required = anti.get("requiredDuringSchedulingIgnoredDuringExecution", [])
    assert [t["topologyKey"] for t in required] == (
        [ha_spec.HOSTNAME] if ha.node_anti_affinity == "required" else []
    )
    for term in terms:
        assert term["labelSelector"] == {"matchLabels": SELECTOR}
        assert term["matchLabelKeys"] == [lbl.POD_TEMPLATE_HASH]
    weights = [w["weight"] for w in anti.get("preferredDuringSchedulingIgnoredDuringExecution", [])]
    assert all(1 <= w <= 100 for w in weights)


@given(ha_configs)
def test_zone_spread_counts_each_revision_and_survives_a_zone_outage(ha: HAConfig) -> None:
    constraints = ha_spec.scheduling(ha, SELECTOR).get("topologySpreadConstraints", [])
    if ha.zone_spread is None:
        assert constraints == []
        return
    (constraint,) = constraints
    assert constraint["topologyKey"] == ha_spec.ZONE
    assert constraint["labelSelector"] == {"matchLabels": SELECTOR}
    assert constraint["matchLabelKeys"] == [lbl.POD_TEMPLATE_HASH]
    assert constraint["nodeTaintsPolicy"] == "Honor"
    assert constraint["maxSkew"] == ha.zone_spread.max_skew
    assert ("minDomains" in constraint) == (ha.zone_spread.min_domains is not None)


@given(ha_configs)
def test_budget_spec_has_one_form_and_lets_unhealthy_pods_go(ha: HAConfig) -> None:
    budget = ha.disruption_budget
    if budget is None:
        return
    spec = ha_spec.disruption_budget_spec(budget, SELECTOR)
    assert spec["selector"] == {"matchLabels": SELECTOR}
    assert len({"minAvailable", "maxUnavailable"} & set(spec)) == 1
    assert spec["unhealthyPodEvictionPolicy"] == "AlwaysAllow"


def test_the_floor_is_the_smallest_count_that_keeps_the_promises() -> None:
    for form, value in itertools.product(("minAvailable", "maxUnavailable"), range(1, 6)):
        ha = HAConfig.model_validate({"disruptionBudget": {form: value}})
        pdb = ha_spec.disruption_budget_spec(ha.disruption_budget, SELECTOR)  # type: ignore[arg-type]
        keeps = [pods for pods in range(1, 20) if all(n >= 1 for n in disruption_math(pdb, pods))]
        assert keeps == list(range(ha.floor, 20)), (form, value)
