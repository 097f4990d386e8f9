"""Stack configuration: the repository's stacks load, and every rule names its key."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prodstack.config import ConfigError, parse_environment
from prodstack.config.types import cpu_millicores, duration_seconds, memory_bytes
from tests.support.stacks import STACKS, raw_config, varied


def problems(raw: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        parse_environment(raw)
    return dict(caught.value.problems)


@pytest.mark.parametrize("stack", STACKS)
def test_repository_stacks_are_valid(stack: str) -> None:
    env = parse_environment(raw_config(stack))
    assert env.environment == stack


def test_production_carries_the_reference_values() -> None:
    env = parse_environment(raw_config("production"))
    app = env.app
    assert [s.weight for s in app.canary.steps] == [5, 10, 25, 50, 75]
    assert [s.pause for s in app.canary.steps] == ["2m", "2m", "5m", "10m", "10m"]
    assert [s.analysis for s in app.canary.steps] == [False, True, False, False, False]
    assert (app.canary.max_surge, app.canary.max_unavailable) == ("25%", 0)
    assert (app.resources.requests.cpu, app.resources.requests.memory) == ("500m", "512Mi")
    assert (app.resources.limits.cpu, app.resources.limits.memory) == ("1", "1Gi")
    assert (app.probes.liveness.path, app.probes.readiness.path) == ("/health", "/ready")
    assert app.shutdown.drain_seconds == 15


def test_staging_and_dev_are_smaller_and_faster_than_production() -> None:
    envs = {stack: parse_environment(raw_config(stack)) for stack in STACKS}

    def total_pause(stack: str) -> int:
        return sum(duration_seconds(s.pause or "0s") for s in envs[stack].app.canary.steps)

    assert total_pause("dev") < total_pause("staging") < total_pause("production")
    assert envs["dev"].app.replicas < envs["staging"].app.replicas < envs["production"].app.replicas


def test_weight_out_of_range_is_named_by_full_path() -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["app"]["canary"]["steps"][2]["weight"] = 100

    assert problems(varied("production", change)) == {
        "prodstack:app.canary.steps[2].weight": (
            "must be between 1 and 99 (100% is the promotion Argo does after the last step)"
        )
    }


def test_weights_must_increase_strictly() -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["app"]["canary"]["steps"][3]["weight"] = 25

    found = problems(varied("production", change))
    assert list(found) == ["prodstack:app.canary.steps[3].weight"]
    assert "increase strictly" in found["prodstack:app.canary.steps[3].weight"]


def test_production_image_must_be_pinned_by_digest() -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["app"]["image"] = "registry.example.com/shop/shop-api:2.4.1"

    found = problems(varied("production", change))
    assert "pinned by digest" in found["prodstack:app.image"]
    staging = varied("staging", lambda raw: None)
    assert ":" in staging["app"]["image"]  # tags stay allowed outside production
    parse_environment(staging)


@pytest.mark.parametrize("image", ["shop-api", "registry.example.com/shop-api:latest", "Bad Image"])
def test_unreproducible_or_malformed_images_are_refused(image: str) -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["app"]["image"] = image

    assert "prodstack:app.image" in problems(varied("dev", change))


def test_drain_plus_shutdown_must_fit_the_grace_period() -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["app"]["shutdown"]["terminationGracePeriodSeconds"] = 45  # 15 + 30 = 45

    found = problems(varied("production", change))
    assert list(found) == ["prodstack:app.shutdown.terminationGracePeriodSeconds"]


def test_derived_grace_period_covers_drain_and_shutdown() -> None:
    env = parse_environment(raw_config("production"))
    shutdown = env.app.shutdown
    assert shutdown.grace_period_seconds > shutdown.drain_seconds + shutdown.app_shutdown_seconds


def test_every_error_is_reported_at_once() -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["namespace"] = "Not_A_Label"
        raw["app"]["image"] = "registry.example.com/shop/shop-api:2.4.1"
        raw["app"]["canary"]["steps"][0]["pause"] = "2 minutes"
        raw["app"]["resourcs"] = {}
        raw["app"]["probes"]["liveness"]["periodSeconds"] = 0

    found = problems(varied("production", change))
    assert set(found) == {
        "prodstack:namespace",
        "prodstack:app.image",
        "prodstack:app.canary.steps[0].pause",
        "prodstack:app.resourcs",
        "prodstack:app.probes.liveness.periodSeconds",
    }


def test_unknown_key_suggests_the_right_one() -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["app"]["canary"]["stpes"] = raw["app"]["canary"].pop("steps")

    found = problems(varied("dev", change))
    assert "did you mean 'steps'" in found["prodstack:app.canary.stpes"]
    assert found["prodstack:app.canary.steps"] == "required key is missing"


def test_unknown_top_level_key_lists_the_allowed_ones() -> None:
    found = problems({**raw_config("dev"), "replicaz": 3})
    assert found["prodstack:replicaz"].startswith("unknown key")
    allowed = found["prodstack:replicaz"].partition("(allowed: ")[2].rstrip(")").split(", ")
    assert {"app", "environment", "namespace"} <= set(allowed)
    assert allowed == sorted(allowed)


def test_background_analysis_must_start_at_an_existing_step() -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["app"]["canary"]["analysis"]["background"]["startWithStep"] = 5

    found = problems(varied("production", change))
    assert list(found) == ["prodstack:app.canary.analysis.background.startWithStep"]


def test_requests_above_limits_are_refused() -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["app"]["resources"]["requests"]["memory"] = "2Gi"

    found = problems(varied("production", change))
    assert list(found) == ["prodstack:app.resources.requests.memory"]


def test_surge_and_unavailable_cannot_both_be_zero() -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["app"]["canary"]["maxSurge"] = "0%"

    assert list(problems(varied("production", change))) == ["prodstack:app.canary.maxSurge"]


def test_metrics_port_must_differ_from_app_port() -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["app"]["metricsPort"] = raw["app"]["port"]

    assert list(problems(varied("dev", change))) == ["prodstack:app.metricsPort"]


def test_models_are_frozen() -> None:
    env = parse_environment(raw_config("dev"))
    with pytest.raises(Exception, match="frozen"):
        env.app.name = "other"  # type: ignore[misc]


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


@given(st.lists(st.integers(min_value=-5, max_value=120), min_size=1, max_size=8))
def test_schedules_are_accepted_exactly_when_strictly_increasing_in_range(
    weights: list[int],
) -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["app"]["canary"]["steps"] = [{"weight": w, "pause": "1m"} for w in weights]
        raw["app"]["canary"]["analysis"]["background"] = None

    valid = all(1 <= w <= 99 for w in weights) and all(
        a < b for a, b in itertools.pairwise(weights)
    )
    raw = varied("staging", change)
    if valid:
        parse_environment(raw)
    else:
        with pytest.raises(ConfigError) as caught:
            parse_environment(raw)
        assert all(
            key.startswith("prodstack:app.canary.steps[") for key, _ in caught.value.problems
        )
