"""Stack configuration: the repository's stacks load, and every rule names its key."""

from __future__ import annotations

import copy
import functools
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prodstack.config import ConfigError, ServiceConfig, parse_environment
from prodstack.config.merge import deep_merge
from prodstack.config.types import cpu_millicores, duration_seconds, memory_bytes
from tests.support.stacks import (
    API,
    STACKS,
    WEB,
    WORKER,
    config_problems,
    flattened,
    key,
    raw_config,
    svc,
    varied,
)

SERVICES = (API, WORKER, WEB)
WEIGHT_RANGE = "must be between 1 and 99 (100% is the promotion Argo does after the last step)"


@functools.cache
def _stack_file(stack: str) -> dict[str, Any]:
    return raw_config(stack)


def stack_values(stack: str) -> dict[str, Any]:
    """A fresh copy of ``raw_config(stack)``, read once (the property tests run it often)."""
    return copy.deepcopy(_stack_file(stack))


def renamed(raw: dict[str, Any], old: str, new: str) -> None:
    """Rename service ``old`` to ``new`` in a flattened config, and every reference to it."""
    raw["services"] = {new if name == old else name: s for name, s in raw["services"].items()}
    for section in raw["services"].values():
        for call in section.get("calls", []):
            if call["service"] == old:
                call["service"] = new
    if raw.get("upgrade", {}).get("singleAppService") == old:
        raw["upgrade"]["singleAppService"] = new


@pytest.mark.parametrize("stack", STACKS)
def test_repository_stacks_are_valid(stack: str) -> None:
    env = parse_environment(raw_config(stack))
    assert env.environment == stack
    assert set(env.services) == set(SERVICES)


def test_production_carries_the_reference_values() -> None:
    env = parse_environment(raw_config("production"))
    reference_steps = ([5, 10, 25, 50, 75], ["2m", "2m", "5m", "10m", "10m"])
    # Without a traffic router a weight is a pod ratio: the small services step by whole pods
    # (docs/components/entry-point.md), the API behind the ALB keeps the reference's weights.
    pod_steps = ([25, 50, 75], ["5m", "5m", "10m"])
    for name, service in env.services.items():
        app = service.app
        weights = [s.weight for s in app.canary.steps]
        pauses = [s.pause for s in app.canary.steps]
        assert (weights, pauses) == (reference_steps if name == API else pod_steps), name
        gate = weights.index(10 if name == API else 50)
        assert [s.analysis for s in app.canary.steps] == [i == gate for i in range(len(weights))]
        assert (app.canary.max_surge, app.canary.max_unavailable) == ("25%", 0), name
        assert (app.probes.liveness.path, app.probes.readiness.path) == ("/health", "/ready")
        assert app.shutdown.drain_seconds == 15, name
    app = env.services[API].app
    assert (app.resources.requests.cpu, app.resources.requests.memory) == ("500m", "512Mi")
    assert (app.resources.limits.cpu, app.resources.limits.memory) == ("1", "1Gi")


def test_staging_and_dev_are_smaller_and_faster_than_production() -> None:
    envs = {stack: parse_environment(raw_config(stack)) for stack in STACKS}
    for name in SERVICES:

        def total_pause(stack: str, name: str = name) -> int:
            steps = envs[stack].services[name].app.canary.steps
            return sum(duration_seconds(s.pause or "0s") for s in steps)

        def fewest(stack: str, name: str = name) -> int:
            return envs[stack].services[name].replica_range.minimum

        assert total_pause("dev") < total_pause("staging") < total_pause("production"), name
        assert fewest("dev") < fewest("staging") < fewest("production"), name


def test_weight_out_of_range_is_named_by_full_path() -> None:
    def change(raw: dict[str, Any]) -> None:
        svc(raw)["app"]["canary"]["steps"][2]["weight"] = 100

    assert config_problems(varied("production", change)) == {
        key("app.canary.steps[2].weight"): WEIGHT_RANGE
    }


def test_weights_must_increase_strictly() -> None:
    def change(raw: dict[str, Any]) -> None:
        svc(raw)["app"]["canary"]["steps"][3]["weight"] = 25

    found = config_problems(varied("production", change))
    assert list(found) == [key("app.canary.steps[3].weight")]
    assert "increase strictly" in found[key("app.canary.steps[3].weight")]


@pytest.mark.parametrize("name", SERVICES)
def test_production_image_must_be_pinned_by_digest(name: str) -> None:
    def change(raw: dict[str, Any]) -> None:
        svc(raw, name)["app"]["image"] = f"registry.example.com/shop/{name}:2.4.1"

    found = config_problems(varied("production", change))
    assert list(found) == [key("app.image", name)]
    assert "pinned by digest" in found[key("app.image", name)]
    staging = varied("staging", lambda raw: None)
    assert ":" in svc(staging, name)["app"]["image"]  # tags stay allowed outside production
    assert "@" not in svc(staging, name)["app"]["image"]
    parse_environment(staging)


@pytest.mark.parametrize("image", ["shop-api", "registry.example.com/shop-api:latest", "Bad Image"])
def test_unreproducible_or_malformed_images_are_refused(image: str) -> None:
    def change(raw: dict[str, Any]) -> None:
        svc(raw)["app"]["image"] = image

    assert list(config_problems(varied("dev", change))) == [key("app.image")]


def test_drain_plus_shutdown_must_fit_the_grace_period() -> None:
    def change(raw: dict[str, Any]) -> None:
        svc(raw)["app"]["shutdown"]["terminationGracePeriodSeconds"] = 45  # 15 + 30 = 45

    found = config_problems(varied("production", change))
    assert list(found) == [key("app.shutdown.terminationGracePeriodSeconds")]


def test_derived_grace_period_covers_drain_and_shutdown() -> None:
    env = parse_environment(raw_config("production"))
    for service in env.services.values():
        shutdown = service.app.shutdown
        assert shutdown.grace_period_seconds > (
            shutdown.drain_seconds + shutdown.app_shutdown_seconds
        )


def test_every_error_is_reported_at_once() -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["namespace"] = "Not_A_Label"
        app = svc(raw)["app"]
        app["image"] = "registry.example.com/shop/shop-api:2.4.1"
        app["canary"]["steps"][0]["pause"] = "2 minutes"
        app["resourcs"] = {}
        app["probes"] = {"liveness": {"periodSeconds": 0}}
        svc(raw, WORKER)["app"]["metricsPort"] = svc(raw, WORKER)["app"]["port"]

    found = config_problems(varied("production", change))
    assert set(found) == {
        "prodstack:namespace",
        key("app.image"),
        key("app.canary.steps[0].pause"),
        key("app.resourcs"),
        key("app.probes.liveness.periodSeconds"),
        key("app.metricsPort", WORKER),
    }


def test_unknown_key_suggests_the_right_one() -> None:
    def change(raw: dict[str, Any]) -> None:
        canary = svc(raw)["app"]["canary"]
        canary["stpes"] = canary.pop("steps")

    found = config_problems(varied("dev", change))
    assert "did you mean 'steps'" in found[key("app.canary.stpes")]
    assert found[key("app.canary.steps")] == "required key is missing"


def test_unknown_top_level_key_lists_the_allowed_ones() -> None:
    found = config_problems({**raw_config("dev"), "replicaz": 3})
    assert list(found) == ["prodstack:replicaz"]
    assert found["prodstack:replicaz"].startswith("unknown key")
    allowed = found["prodstack:replicaz"].partition("(allowed: ")[2].rstrip(")").split(", ")
    assert {"defaults", "environment", "namespace", "services", "upgrade"} <= set(allowed)
    assert "app" not in allowed
    assert allowed == sorted(allowed)


def test_background_analysis_must_start_at_an_existing_step() -> None:
    def change(raw: dict[str, Any]) -> None:
        svc(raw)["app"]["canary"]["analysis"]["background"]["startWithStep"] = 5

    found = config_problems(varied("production", change))
    assert list(found) == [key("app.canary.analysis.background.startWithStep")]


def test_requests_above_limits_are_refused() -> None:
    def change(raw: dict[str, Any]) -> None:
        svc(raw)["app"]["resources"]["requests"]["memory"] = "2Gi"

    found = config_problems(varied("production", change))
    assert list(found) == [key("app.resources.requests.memory")]


def test_surge_and_unavailable_cannot_both_be_zero() -> None:
    def change(raw: dict[str, Any]) -> None:
        svc(raw)["app"]["canary"]["maxSurge"] = "0%"

    assert list(config_problems(varied("production", change))) == [key("app.canary.maxSurge")]


def test_a_gate_cannot_pass_without_a_successful_measurement() -> None:
    def change(raw: dict[str, Any]) -> None:
        # failureLimit 1 + inconclusiveLimit 2
        svc(raw)["app"]["canary"]["analysis"]["gateMeasurements"] = 3

    found = config_problems(varied("production", change))
    assert list(found) == [key("app.canary.analysis.gateMeasurements")]


def test_overriding_one_probe_key_keeps_the_probe_defaults() -> None:
    def change(raw: dict[str, Any]) -> None:
        svc(raw)["app"]["probes"] = {
            "liveness": {"path": "/healthz"},
            "readiness": {"periodSeconds": 2},
        }

    probes = parse_environment(varied("dev", change)).services[API].app.probes
    assert (probes.liveness.path, probes.liveness.timeout_seconds) == ("/healthz", 5)
    assert (probes.readiness.path, probes.readiness.period_seconds) == ("/ready", 2)
    assert probes.startup.failure_threshold == 30


@pytest.mark.parametrize("name", ["1api", "api-", "Api", "api.v2", "a" * 64])
def test_service_names_must_be_dns_labels(name: str) -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["services"][name] = copy.deepcopy(svc(raw, WORKER))

    found = config_problems(varied("dev", change))
    assert list(found) == [key("", name)]
    assert "is not a usable name" in found[key("", name)]


@pytest.mark.parametrize(
    "image",
    ["registry.example.com:5000/team/api:v1.2.3-RC1", "api:1", "ghcr.io/a/b@sha256:" + "a" * 64],
)
def test_valid_image_references_are_accepted(image: str) -> None:
    def change(raw: dict[str, Any]) -> None:
        svc(raw)["app"]["image"] = image

    assert parse_environment(varied("dev", change)).services[API].app.image == image


def test_metrics_port_must_differ_from_app_port() -> None:
    def change(raw: dict[str, Any]) -> None:
        svc(raw)["app"]["metricsPort"] = svc(raw)["app"]["port"]

    assert list(config_problems(varied("dev", change))) == [key("app.metricsPort")]


def test_models_are_frozen() -> None:
    env = parse_environment(raw_config("dev"))
    with pytest.raises(Exception, match="frozen"):
        env.services[API].app.name = "other"  # type: ignore[misc]
    with pytest.raises(Exception, match="frozen"):
        env.namespace = "other"  # type: ignore[misc]


@given(st.integers(min_value=1, max_value=10_000), st.sampled_from(["s", "m", "h"]))
def test_durations_convert_to_seconds(amount: int, unit: str) -> None:
    assert duration_seconds(f"{amount}{unit}") == amount * {"s": 1, "m": 60, "h": 3600}[unit]


@given(st.integers(min_value=1, max_value=64_000))
def test_cpu_quantities_in_millicores(millicores: int) -> None:
    assert cpu_millicores(f"{millicores}m") == millicores
    if millicores % 1000 == 0:
        assert cpu_millicores(str(millicores // 1000)) == millicores


@given(st.integers(min_value=1, max_value=1 << 20), st.sampled_from(["Ki", "Mi", "Gi"]))
def test_memory_quantities_in_bytes(amount: int, unit: str) -> None:
    assert (
        memory_bytes(f"{amount}{unit}")
        == amount * {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30}[unit]
    )


@settings(deadline=None)
@given(st.lists(st.integers(min_value=-5, max_value=120), min_size=1, max_size=8))
def test_schedules_are_accepted_exactly_when_strictly_increasing_in_range(
    weights: list[int],
) -> None:
    def change(raw: dict[str, Any]) -> None:
        canary = svc(raw)["app"]["canary"]
        canary["steps"] = [{"weight": w, "pause": "1m"} for w in weights]
        canary["analysis"]["background"] = None

    valid = all(1 <= w <= 99 for w in weights) and all(
        a < b for a, b in itertools.pairwise(weights)
    )
    # Production's API is behind the ALB: weights are exact, so only range and order matter
    # (without a router, steps that run the same pods are refused: test_entry_point.py).
    raw = flattened(stack_values("production"))
    change(raw)
    if valid:
        steps = parse_environment(raw).services[API].app.canary.steps
        assert [s.weight for s in steps] == weights
    else:
        with pytest.raises(ConfigError) as caught:
            parse_environment(raw)
        assert caught.value.problems
        assert all(
            k.startswith(key("app.canary.steps[")) or k == key("app.canary.steps")
            for k, _ in caught.value.problems
        )


# --- The single-app form of prodstack 0.1 -------------------------------------------------


def single_app_form(stack: str) -> dict[str, Any]:
    """The API's configuration written as prodstack 0.1 wanted it: one app at the top level."""
    flat = varied(stack, lambda raw: None)
    api = svc(flat)
    observability = {**flat["observability"], **api["observability"]}
    return {
        "environment": flat["environment"],
        "namespace": flat["namespace"],
        "app": {"name": API, **api["app"]},
        **{section: api[section] for section in ("security", "vaultSecrets", "dbBackup", "ha")},
        "observability": observability,
    }


def test_the_single_app_form_is_refused_with_where_each_key_moves() -> None:
    found = config_problems(single_app_form("dev"))
    moves = {
        "prodstack:app": f"prodstack:services.{API}.app (without its name",
        "prodstack:security": f"prodstack:services.{API}.security",
        "prodstack:vaultSecrets": f"prodstack:services.{API}.vaultSecrets",
        "prodstack:dbBackup": f"prodstack:services.{API}.dbBackup",
        "prodstack:ha": f"prodstack:services.{API}.ha",
        "prodstack:observability.alerts": f"prodstack:services.{API}.observability.alerts",
        "prodstack:observability.backupAlerts": (
            f"prodstack:services.{API}.observability.backupAlerts"
        ),
    }
    assert set(found) == set(moves)
    for old, new in moves.items():
        assert "the single-app form is gone" in found[old]
        assert f"Move {old}" in found[old] and new in found[old], found[old]
        assert "prodstack:defaults" in found[old]


def test_single_app_keys_without_an_app_name_say_services_name() -> None:
    raw = {**raw_config("staging"), "autoscaling": {"minReplicas": 3, "maxReplicas": 10}}
    found = config_problems(raw)
    assert list(found) == ["prodstack:autoscaling"]
    assert "prodstack:services.<name>.autoscaling" in found["prodstack:autoscaling"]


def test_the_platform_observability_without_alerts_is_not_the_single_app_form() -> None:
    env = parse_environment(raw_config("production"))
    assert env.observability is not None
    assert env.observability.runbook_base_url.startswith("https://")


# --- prodstack:defaults ---------------------------------------------------------------------

Path = tuple[str, ...]

# Partial overrides of sections the stacks' defaults set, each valid in every stack. A leaf
# inside a mapping shows that maps merge; a list shows that lists replace.
PARTIAL_OVERRIDES: dict[Path, st.SearchStrategy[Any]] = {
    ("app", "team"): st.sampled_from(["payments", "search"]),
    ("app", "imagePullPolicy"): st.sampled_from(["Always", "IfNotPresent"]),
    ("app", "resources", "requests", "cpu"): st.sampled_from(["50m", "100m"]),
    ("app", "shutdown", "drainSeconds"): st.integers(1, 20),
    # One step: a list replaces the default's five, and a single weight is valid even for one
    # pod without a traffic router (two steps could run the same pods, which is refused).
    ("app", "canary", "steps"): st.integers(1, 99).map(lambda w: [{"weight": w, "pause": "1m"}]),
    # Below 1 - compareWithStable.maxSuccessRateDrop in every stack (a rule of its own).
    ("app", "canary", "analysis", "minSuccessRate"): st.sampled_from([0.9, 0.95]),
    ("security", "network", "https", "cidrs"): st.sampled_from([["10.0.0.0/8"], []]),
    ("ha", "zoneSpread"): st.just({"maxSkew": 2}),
    ("observability", "alerts", "highErrorRate", "threshold"): st.sampled_from([0.01, 0.2]),
}
# A null in a service removes the default's section.
REMOVABLE_SECTIONS = ("ha", "observability")


def lookup(tree: Any, path: Sequence[str]) -> Any:
    for part in path:
        tree = tree[part]
    return tree


def has(tree: Any, path: Sequence[str]) -> bool:
    for part in path:
        if not isinstance(tree, Mapping) or part not in tree:
            return False
        tree = tree[part]
    return True


def put(tree: dict[str, Any], path: Sequence[str], value: Any) -> None:
    *parents, last = path
    for part in parents:
        if not isinstance(tree.get(part), dict):
            tree[part] = {}
        tree = tree[part]
    tree[last] = copy.deepcopy(value)


def assert_holds(actual: Any, expected: Any, where: str) -> None:
    """Every key ``expected`` names has its value in ``actual`` (defaults may add keys)."""
    if isinstance(expected, Mapping):
        for part, value in expected.items():
            assert_holds(actual[part], value, f"{where}.{part}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), where
        for index, (got, want) in enumerate(zip(actual, expected, strict=True)):
            assert_holds(got, want, f"{where}[{index}]")
    else:
        assert actual == expected, where


@st.composite
def service_overrides(draw: st.DrawFn) -> tuple[str, str, dict[Path, Any], list[str]]:
    stack = draw(st.sampled_from(STACKS))
    name = draw(st.sampled_from(SERVICES))
    paths = draw(st.lists(st.sampled_from(sorted(PARTIAL_OVERRIDES)), unique=True, max_size=4))
    partial = {path: draw(PARTIAL_OVERRIDES[path]) for path in paths}
    if ("app", "canary", "steps") in partial:
        # The default background analysis starts at the second step; one step has none.
        partial[("app", "canary", "analysis", "background")] = None
    removed = draw(st.lists(st.sampled_from(REMOVABLE_SECTIONS), unique=True, max_size=1))
    return stack, name, partial, removed


@settings(max_examples=60, deadline=None)
@given(service_overrides())
def test_a_service_is_the_deep_merge_of_defaults_and_its_own_sections(
    case: tuple[str, str, dict[Path, Any], list[str]],
) -> None:
    stack, name, partial, removed = case
    raw = stack_values(stack)
    baseline = parse_environment(raw)
    defaults = raw["defaults"]
    own = raw["services"][name]
    for path, value in partial.items():
        put(own, path, value)
    for section in removed:
        assert defaults.get(section) is not None  # there is a default to remove
        own[section] = None
    own_before_merge = copy.deepcopy(own)

    env = parse_environment(raw)
    effective = env.services[name]

    merged = deep_merge(defaults, own)
    merged["app"] = {**merged["app"], "name": name}
    scrape = None if env.observability is None else env.observability.scrape
    assert effective == ServiceConfig.model_validate(
        merged, context={"environment": stack, "scrape": scrape}
    )
    assert own == own_before_merge  # merging leaves the stack's values alone
    for other in SERVICES:
        if other != name:
            assert env.services[other] == baseline.services[other]

    # The rules themselves, from the raw values: the service wins, maps merge, lists replace,
    # null removes the section.
    dumped = effective.model_dump(mode="json", by_alias=True)
    for section in removed:
        assert dumped[section] is None
    for path, value in partial.items():
        if path[0] in removed:
            continue
        assert_holds(lookup(dumped, path), value, ".".join(path))
        parent = path[:-1]
        if has(defaults, parent) and isinstance(lookup(defaults, parent), Mapping):
            for sibling, default in lookup(defaults, parent).items():
                if (*parent, sibling) in partial:
                    continue
                want = lookup(own, (*parent, sibling)) if has(own, (*parent, sibling)) else default
                if isinstance(want, Mapping | list):
                    assert_holds(lookup(dumped, (*parent, sibling)), want, sibling)
                elif want is not None:
                    assert lookup(dumped, (*parent, sibling)) == want, (path, sibling)


def test_defaults_reach_every_service_that_does_not_set_the_value() -> None:
    env = parse_environment(raw_config("production"))
    for name, service in env.services.items():
        assert service.app.part_of == "shop", name
        assert service.ha is not None and service.ha.zone_spread is not None, name
        assert [str(c) for c in service.security.network.https.cidrs] == ["0.0.0.0/0"], name
    # The worker sets its own resources: the service wins, key by key.
    worker = env.services[WORKER].app.resources
    assert (worker.requests.cpu, worker.limits.memory) == ("250m", "512Mi")
    # The API's security.network merges with the default's https egress.
    api = env.services[API].security.network
    assert api.database is not None and [str(c) for c in api.https.cidrs] == ["0.0.0.0/0"]


def test_an_error_in_a_default_is_reported_once_at_the_default() -> None:
    raw = raw_config("production")
    raw["defaults"]["app"]["canary"]["steps"][2]["weight"] = 100
    for name in (WORKER, WEB):  # they step by whole pods; here they take the default
        del raw["services"][name]["app"]["canary"]["steps"]
    found = config_problems(raw)
    where = "prodstack:defaults.app.canary.steps[2].weight"
    assert list(found) == [where]
    message, _, users = found[where].partition(" (in services ")
    assert message == WEIGHT_RANGE
    assert sorted(users.rstrip(")").split(", ")) == sorted(SERVICES)


def test_a_default_error_names_only_the_services_that_use_the_default() -> None:
    raw = raw_config("production")
    raw["defaults"]["app"]["canary"]["steps"][2]["weight"] = 100
    del raw["services"][WEB]["app"]["canary"]["steps"]  # the storefront takes the default
    raw["services"][API]["app"]["canary"] = {"steps": [{"weight": 50, "pause": "1m"}]}
    raw["services"][API]["app"]["canary"]["analysis"] = {"background": None}
    found = config_problems(raw)
    assert found == {
        "prodstack:defaults.app.canary.steps[2].weight": f"{WEIGHT_RANGE} (in service {WEB})"
    }
    raw["services"][WEB]["app"]["canary"] = raw["services"][API]["app"]["canary"]
    parse_environment(raw)  # no service uses the bad default any more


def test_an_error_a_service_sets_itself_is_reported_at_the_service() -> None:
    raw = raw_config("production")
    raw["services"][WORKER]["app"]["canary"] = {"maxSurge": "0%"}
    assert list(config_problems(raw)) == [key("app.canary.maxSurge", WORKER)]


def test_unknown_keys_in_defaults_are_named_at_the_defaults() -> None:
    raw = raw_config("dev")
    raw["defaults"]["autoscalling"] = {}
    found = config_problems(raw)
    assert list(found) == ["prodstack:defaults.autoscalling"]
    assert "did you mean 'autoscaling'" in found["prodstack:defaults.autoscalling"]
    raw = raw_config("dev")
    raw["defaults"]["calls"] = [{"service": API}]  # calls name a service: not a default
    assert list(config_problems(raw)) == ["prodstack:defaults.calls"]


def test_an_app_name_in_the_defaults_is_refused_at_the_defaults() -> None:
    raw = raw_config("dev")
    raw["defaults"]["app"]["name"] = "shop"
    found = config_problems(raw)
    assert list(found) == ["prodstack:defaults.app.name"]
    assert "remove app.name" in found["prodstack:defaults.app.name"]


# --- Services: names, calls, collisions ---------------------------------------------------


def test_a_service_is_named_by_its_key_not_by_app_name() -> None:
    def named(raw: dict[str, Any]) -> None:
        svc(raw)["app"]["name"] = API

    found = config_problems(varied("dev", named))
    assert list(found) == [key("app.name")]
    assert "remove app.name" in found[key("app.name")]
    assert parse_environment(varied("dev", lambda raw: None)).services[API].name == API


def calls_of(stack: str, calls: list[dict[str, Any]]) -> dict[str, Any]:
    def change(raw: dict[str, Any]) -> None:
        svc(raw, WORKER)["calls"] = calls

    return varied(stack, change)


def test_a_call_to_an_unknown_service_suggests_the_right_one() -> None:
    found = config_problems(calls_of("dev", [{"service": "shop-apii"}]))
    where = key("calls[0].service", WORKER)
    assert list(found) == [where]
    assert found[where].startswith("no service 'shop-apii' in this stack; did you mean 'shop-api'?")
    assert "security.network.peers" in found[where]
    found = config_problems(calls_of("dev", [{"service": "billing"}]))
    assert "did you mean" not in found[where]
    env = parse_environment(calls_of("dev", [{"service": API}, {"service": WEB}]))
    assert [c.service for c in env.services[WORKER].calls] == [API, WEB]


@pytest.mark.parametrize("port", ["grpc", 0, 70000, None])
def test_a_call_port_is_a_port_name_or_number(port: Any) -> None:
    found = config_problems(calls_of("dev", [{"service": API, "port": port}]))
    assert found == {
        key("calls[0].port", WORKER): (
            f"{port!r} is not a port: name one of the callee's ports (http, metrics) or give its "
            "number (1-65535)"
        )
    }


def test_a_call_on_a_port_the_callee_does_not_have_is_refused() -> None:
    found = config_problems(calls_of("dev", [{"service": API, "port": 8080}]))
    where = key("calls[0].port", WORKER)
    assert found == {where: "8080 is not a port of shop-api: use http (3000) or metrics (9090)"}


@pytest.mark.parametrize("port", ["http", "metrics", 3000, 9090])
def test_a_call_on_a_port_of_the_callee_is_accepted(port: int | str) -> None:
    env = parse_environment(calls_of("dev", [{"service": API, "port": port}]))
    (call,) = env.services[WORKER].calls
    assert (call.service, call.port) == (API, port)
    assert env.services[API].port(call.port) == {"http": 3000, "metrics": 9090}.get(str(port), port)


def test_a_repeated_call_is_refused_at_the_repeat() -> None:
    found = config_problems(calls_of("dev", [{"service": API}, {"service": API, "port": 3000}]))
    assert found == {key("calls[1]", WORKER): "repeats calls[0] (shop-api:3000); remove one"}
    env = parse_environment(calls_of("dev", [{"service": API}, {"service": WEB}]))
    assert [call.service for call in env.services[WORKER].calls] == [API, WEB]


def test_two_calls_to_an_unknown_service_are_reported_once_each() -> None:
    calls = [{"service": "nope"}, {"service": "nope", "port": "metrics"}]
    found = config_problems(calls_of("dev", calls))
    assert list(found) == [key("calls[0].service", WORKER), key("calls[1].service", WORKER)]


def test_a_second_call_to_the_same_service_on_another_port_is_refused() -> None:
    # Its NetworkPolicies would repeat the first call's names (<caller>-to-<callee>).
    found = config_problems(
        calls_of("dev", [{"service": API}, {"service": API, "port": "metrics"}])
    )
    assert list(found) == [key("calls[1]", WORKER)]
    message = found[key("calls[1]", WORKER)]
    assert message.startswith("calls shop-api again (calls[0] on another port)")
    assert "order-worker-to-shop-api" in message and "shop-api-from-order-worker" in message
    env = parse_environment(calls_of("dev", [{"service": API, "port": "metrics"}]))
    assert env.services[WORKER].calls[0].port == "metrics"


def copy_of_the_worker(stack: str, name: str, namespace: str | None = None) -> dict[str, Any]:
    def change(raw: dict[str, Any]) -> None:
        section = copy.deepcopy(svc(raw, WORKER))
        if namespace is not None:
            section["namespace"] = namespace
        raw["services"][name] = section

    return varied(stack, change)


@pytest.mark.parametrize("suffix", ["stable", "canary", "metrics", "nlb"])
def test_services_whose_derived_names_collide_are_refused(suffix: str) -> None:
    # shop-api's Service shop-api-<suffix> is the client Service of a service of that name.
    name = f"{API}-{suffix}"
    found = config_problems(copy_of_the_worker("staging", name))
    assert found == {
        key("", name): (
            f"its Service {name!r} in namespace shop-staging collides with the one of service "
            f"'{API}': rename one of the services"
        )
    }


def test_the_same_names_in_another_namespace_do_not_collide() -> None:
    name = f"{API}-canary"
    env = parse_environment(copy_of_the_worker("staging", name, namespace="shop-canary"))
    assert env.namespace_of(env.services[name]) == "shop-canary"


def test_a_call_policy_that_collides_with_another_services_is_refused() -> None:
    # a's ingress from b-to-c is a-from-b-to-c; so is the egress of a-from-b's call to c.
    def change(raw: dict[str, Any]) -> None:
        worker = {**svc(raw, WORKER), "calls": []}
        for name, calls in (("a", []), ("c", []), ("b-to-c", ["a"]), ("a-from-b", ["c"])):
            raw["services"][name] = {
                **copy.deepcopy(worker),
                "calls": [{"service": callee} for callee in calls],
            }

    found = config_problems(varied("dev", change))
    assert list(found) == [key("", "a-from-b")]
    assert "NetworkPolicy 'a-from-b-to-c' in namespace shop-dev" in found[key("", "a-from-b")]


def test_a_name_too_long_for_the_backup_cronjob_is_refused() -> None:
    # CronJob names hold 52 characters: <name>-db-restore-check is 17 longer than the name.
    long, fits = "a" * 36, "a" * 35
    found = config_problems(varied("dev", lambda raw: renamed(raw, API, long)))
    assert list(found) == [key("", long)]
    message = found[key("", long)]
    assert f"CronJob '{long}-db-restore-check' (53 > 52, from dbBackup)" in message
    assert f"CronJob '{long}-db-backup'" not in message  # 46: fits
    assert message.endswith("choose a shorter service name")
    env = parse_environment(varied("dev", lambda raw: renamed(raw, API, fits)))
    assert env.services[fits].db_backup is not None


def test_a_name_too_long_for_the_instance_label_is_refused() -> None:
    # app.kubernetes.io/instance is <name>-production, and label values hold 63 characters.
    long, fits = "w" * 53, "w" * 52
    found = config_problems(varied("production", lambda raw: renamed(raw, WORKER, long)))
    assert found == {
        key("", long): (
            "the name is too long for the objects derived from it: label "
            f"app.kubernetes.io/instance='{long}-production' (64 > 63): choose a shorter "
            "service name"
        )
    }
    parse_environment(varied("production", lambda raw: renamed(raw, WORKER, fits)))


def test_a_name_too_long_for_the_backup_iam_role_is_refused() -> None:
    # <namespace>-<name>-db-restore-check: 15 + 1 + 32 + 17 = 65 > 64 in production.
    found = config_problems(varied("production", lambda raw: renamed(raw, API, "a" * 32)))
    assert (
        f"IAM role 'shop-production-{'a' * 32}-db-restore-check' (65 > 64"
        in found[key("", "a" * 32)]
    )
    parse_environment(varied("production", lambda raw: renamed(raw, API, "a" * 31)))


# --- Environment-wide rules about services -------------------------------------------------


@pytest.mark.parametrize("name", [WEB, "shop"])
def test_the_upgraded_single_app_must_be_a_service_of_the_default_namespace(name: str) -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["upgrade"]["singleAppService"] = name

    found = config_problems(varied("staging", change))
    assert list(found) == ["prodstack:upgrade.singleAppService"]
    assert (
        f"{name!r} must be a service of this stack in the default namespace shop-staging"
        in (found["prodstack:upgrade.singleAppService"])
    )


def test_any_service_of_the_default_namespace_can_be_the_upgraded_single_app() -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["upgrade"]["singleAppService"] = WORKER

    env = parse_environment(varied("staging", change))
    assert env.upgrade is not None and env.upgrade.single_app_service == WORKER


def test_a_gitops_stack_needs_a_named_backup_bucket() -> None:
    def unnamed(raw: dict[str, Any]) -> None:
        del svc(raw)["dbBackup"]["bucket"]["name"]

    found = config_problems(varied("production", unnamed))
    assert list(found) == [key("dbBackup.bucket.name")]
    assert "name the bucket" in found[key("dbBackup.bucket.name")]

    def unnamed_without_gitops(raw: dict[str, Any]) -> None:
        unnamed(raw)
        del raw["gitops"]

    env = parse_environment(varied("production", unnamed_without_gitops))
    backup = env.services[API].db_backup
    assert backup is not None and backup.bucket.name is None


def test_service_observability_needs_the_platforms() -> None:
    def without_platform(raw: dict[str, Any]) -> None:
        del raw["observability"]

    found = config_problems(varied("dev", without_platform))
    assert set(found) == {key("observability", name) for name in SERVICES}
    assert "needs prodstack:observability" in found[key("observability", WORKER)]

    def unobserved(raw: dict[str, Any]) -> None:
        without_platform(raw)
        for section in raw["services"].values():
            del section["observability"]

    env = parse_environment(varied("dev", unobserved))
    assert env.observability is None


def test_service_observability_from_the_defaults_is_reported_at_the_defaults() -> None:
    raw = raw_config("dev")
    del raw["observability"]
    found = config_problems(raw)
    where = "prodstack:defaults.observability"
    assert list(found) == [where]
    message, _, users = found[where].partition(" (in services ")
    assert message.startswith("needs prodstack:observability")
    assert sorted(users.rstrip(")").split(", ")) == sorted(SERVICES)
    del raw["defaults"]["observability"]
    assert parse_environment(raw).observability is None
