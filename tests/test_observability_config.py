"""The observability section: the stacks' values, the defaults, and errors named by key."""

from __future__ import annotations

import copy
import functools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prodstack.config import (
    ConfigError,
    ObservabilityConfig,
    ServiceObservability,
    parse_environment,
)
from prodstack.config.types import duration_seconds
from prodstack.synth import ResourceGraph
from tests.support.stacks import API, WEB, WORKER, flattened, key, problems, raw_config, svc, varied

BASE_URL = "https://git.example.com/platform/prodstack/blob/main/"
SERVICES = (API, WORKER, WEB)


def test_production_carries_the_reference_thresholds() -> None:
    env = parse_environment(raw_config("production"))
    assert env.observability is not None
    assert env.observability.scrape.interval == "30s"  # the reference's ServiceMonitor
    for name, service in env.services.items():
        assert service.observability is not None, name
        alerts = service.observability.alerts
        assert (alerts.high_error_rate.threshold, alerts.high_error_rate.for_) == (0.05, "5m")
        assert alerts.high_error_rate.severity == "critical"
        assert (alerts.high_latency.threshold_seconds, alerts.high_latency.for_) == (1.0, "10m")
        assert alerts.high_latency.severity == "warning"
        assert (alerts.pod_crash_looping.window, alerts.pod_crash_looping.for_) == ("15m", "5m")
        assert alerts.backup_missing.max_age == "26h"
        assert service.observability.backup_alerts, name
    assert env.services[API].db_backup is not None  # the one whose backups are watched


def test_only_production_pages(graph: ResourceGraph) -> None:
    rules = graph.kind("PrometheusRule")
    assert sorted(rule.object_name for rule in rules) == sorted(f"{s}-rules" for s in SERVICES)
    for rule in rules:
        severities = {
            r["labels"]["severity"]
            for g in rule.inputs["spec"]["groups"]
            for r in g["rules"]
            if "alert" in r
        }
        assert ("critical" in severities) == (graph.stack == "production"), (
            rule.object_name,
            severities,
        )


def test_defaults_are_the_documented_ones() -> None:
    config = ObservabilityConfig(runbook_base_url=BASE_URL)
    assert config.prometheus_labels == {"release": "kube-prometheus-stack"}
    assert (config.scrape.interval, config.scrape.timeout, config.scrape.path) == (
        "30s",
        "10s",
        "/metrics",
    )
    assert config.platform_team == "platform"
    assert config.dashboard.labels == {"grafana_dashboard": "1"}
    service = ServiceObservability()
    # Backups are watched wherever a service has them (dbBackup); a service without has none.
    assert service.backup_alerts is True
    assert service.alerts.pod_crash_looping.restarts == 3
    assert service.alerts.high_error_rate.severity == "critical"


def test_for_is_written_as_in_prometheus() -> None:
    def change(raw: dict[str, Any]) -> None:
        svc(raw)["observability"]["alerts"]["lowReplicas"] = {"for": "15m"}

    observability = parse_environment(varied("production", change)).services[API].observability
    assert observability is not None
    assert observability.alerts.low_replicas.for_ == "15m"


def test_scrape_timeout_above_interval_is_refused() -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["observability"]["scrape"] = {"interval": "15s", "timeout": "20s"}

    assert problems("production", change) == {
        "prodstack:observability.scrape.timeout": (
            "20s is longer than interval 15s; Prometheus refuses a scrape timeout above its "
            "interval"
        )
    }


def test_alert_window_must_hold_two_scrapes() -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["observability"]["scrape"] = {"interval": "1m", "timeout": "10s"}
        svc(raw)["observability"]["alerts"]["highLatency"]["window"] = "90s"
        for section in raw["services"].values():
            section["app"]["canary"]["analysis"]["window"] = "2m"

    found = problems("production", change)
    assert list(found) == [key("observability.alerts.highLatency.window")]
    assert "fewer than 2 scrapes" in found[key("observability.alerts.highLatency.window")]


def test_canary_analysis_window_must_hold_two_scrapes() -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["observability"]["scrape"] = {"interval": "1m", "timeout": "10s"}
        for section in raw["services"].values():
            section["observability"]["alerts"]["highErrorRate"]["window"] = "5m"
            section["observability"]["alerts"]["highLatency"]["window"] = "5m"

    found = problems("dev", change)  # dev analyses over a 1m window, every service
    assert set(found) == {key("app.canary.analysis.window", name) for name in SERVICES}
    for message in found.values():
        assert "inconclusive" in message


@pytest.mark.parametrize(
    "url",
    ["git.example.com/runbooks/", "https://git.example.com/runbooks", "ftp://x/", "https:///"],
)
def test_runbook_base_url_must_be_http_and_end_with_a_slash(url: str) -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["observability"]["runbookBaseUrl"] = url

    found = problems("staging", change)
    assert list(found) == ["prodstack:observability.runbookBaseUrl"]
    assert "ending with '/'" in found["prodstack:observability.runbookBaseUrl"]


def test_runbook_base_url_is_required() -> None:
    def change(raw: dict[str, Any]) -> None:
        del raw["observability"]["runbookBaseUrl"]

    assert problems("dev", change) == {
        "prodstack:observability.runbookBaseUrl": "required key is missing"
    }


@pytest.mark.parametrize(
    ("labels", "fragment"),
    [
        ({"release": "kube prometheus"}, "not a Kubernetes label value"),
        ({"Bad_Prefix.io/release": "x"}, "not a Kubernetes label or annotation key"),
        ({"-release": "x"}, "not a Kubernetes label or annotation key"),
        ({"release": "x" * 64}, "not a Kubernetes label value"),
    ],
)
def test_prometheus_labels_must_be_kubernetes_labels(labels: dict[str, str], fragment: str) -> None:
    def change(raw: dict[str, Any]) -> None:
        raw["observability"]["prometheusLabels"] = labels

    found = problems("production", change)
    assert list(found) == ["prodstack:observability.prometheusLabels"]
    assert fragment in found["prodstack:observability.prometheusLabels"]


def test_unknown_alert_key_suggests_the_right_one() -> None:
    def change(raw: dict[str, Any]) -> None:
        svc(raw)["observability"]["alerts"]["highErrorRate"]["treshold"] = 0.1

    found = problems("production", change)
    assert list(found) == [key("observability.alerts.highErrorRate.treshold")]
    assert "did you mean 'threshold'?" in found[key("observability.alerts.highErrorRate.treshold")]


def test_error_threshold_is_a_share_not_a_percentage() -> None:
    def change(raw: dict[str, Any]) -> None:
        svc(raw)["observability"]["alerts"]["highErrorRate"]["threshold"] = 5

    assert list(problems("production", change)) == [
        key("observability.alerts.highErrorRate.threshold")
    ]


def test_status_label_must_be_a_prometheus_label_name() -> None:
    def change(raw: dict[str, Any]) -> None:
        svc(raw)["app"]["metricsStatusLabel"] = "http-status"

    found = problems("production", change)
    assert list(found) == [key("app.metricsStatusLabel")]
    assert "not a Prometheus label name" in found[key("app.metricsStatusLabel")]


def test_observability_is_optional() -> None:
    def change(raw: dict[str, Any]) -> None:
        del raw["observability"]
        for section in raw["services"].values():
            section["observability"] = None

    env = parse_environment(varied("production", change))
    assert env.observability is None
    assert all(service.observability is None for service in env.services.values())


@functools.cache
def _staging() -> dict[str, Any]:
    return flattened(raw_config("staging"))


@given(
    st.sampled_from(["15s", "30s", "1m", "2m"]),
    st.sampled_from(["30s", "1m", "2m", "5m", "10m"]),
)
def test_windows_under_two_scrapes_are_refused_and_others_accepted(
    interval: str, window: str
) -> None:
    raw = copy.deepcopy(_staging())
    raw["observability"]["scrape"] = {"interval": interval, "timeout": "10s"}
    for section in raw["services"].values():
        section["observability"]["alerts"]["highErrorRate"]["window"] = window
        section["app"]["canary"]["analysis"]["window"] = "10m"
        section["observability"]["alerts"]["highLatency"]["window"] = "10m"
    if duration_seconds(window) >= 2 * duration_seconds(interval):
        parse_environment(raw)
    else:
        with pytest.raises(ConfigError) as caught:
            parse_environment(raw)
        assert set(dict(caught.value.problems)) == {
            key("observability.alerts.highErrorRate.window", name) for name in SERVICES
        }
