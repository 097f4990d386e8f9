"""Notifications: Argo Rollouts subscriptions on each Rollout, read back the way the controller
reads them, and deployment marks on the Grafana dashboard, proven with promtool on the
controller's series however the scrape labelled them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from prodstack.config.canary import (
    DEFAULT_NOTIFICATION_TRIGGERS,
    NOTIFICATION_TRIGGERS,
    SUBSCRIBE_PREFIX,
    NotificationsConfig,
)
from prodstack.config.errors import ConfigError
from prodstack.specs import dashboard as dashboard_spec
from prodstack.specs.notifications import subscription_annotations
from prodstack.synth import ResourceGraph
from tests.conftest import stack_graph
from tests.support import promtool
from tests.support.stacks import API, ROOT, STACKS, environment, key, svc

# The event reasons behind the catalog's triggers (Argo Rollouts utils/conditions and the
# analysis controller's AnalysisRun* reasons).
CATALOG_REASONS = (
    "AnalysisRunError",
    "AnalysisRunFailed",
    "AnalysisRunRunning",
    "RolloutAborted",
    "RolloutCompleted",
    "RolloutPaused",
    "RolloutStepCompleted",
    "RolloutUpdated",
    "ScalingReplicaSet",
)


def trigger_of(reason: str) -> str:
    """The controller's event-to-trigger mapping: "on-" and the reason in kebab case."""
    words = re.sub(r"(.)([A-Z][a-z]+)", r"\1-\2", reason)
    return "on-" + re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", words).lower()


def subscriptions(annotations: dict[str, str]) -> dict[tuple[str, str], list[str]]:
    """(trigger, service) -> recipients, as notifications-engine reads a subscription
    annotation (pkg/subscriptions/annotations.go: the key split at ".", recipients at ";")."""
    found = {}
    for name, value in annotations.items():
        if name.startswith(SUBSCRIBE_PREFIX):
            trigger, service, *_ = name.removeprefix(SUBSCRIBE_PREFIX).split(".")
            found[(trigger, service)] = [r.strip() for r in value.split(";") if r.strip()]
    return found


# --- configuration ------------------------------------------------------------------------------


def test_the_catalog_is_the_triggers_of_the_controller_events() -> None:
    assert tuple(trigger_of(r) for r in CATALOG_REASONS) == NOTIFICATION_TRIGGERS
    assert trigger_of("RolloutAborted") == "on-rollout-aborted"
    assert set(DEFAULT_NOTIFICATION_TRIGGERS) == {
        "on-rollout-aborted",
        "on-rollout-paused",
        "on-rollout-completed",
        "on-analysis-run-failed",
    }


def test_default_triggers_are_abort_pause_completion_and_failed_analysis() -> None:
    config = NotificationsConfig(service="slack", recipients=("deploys",))
    assert config.triggers == DEFAULT_NOTIFICATION_TRIGGERS


def _errors(change: Any) -> str:
    with pytest.raises(ConfigError) as raised:
        environment("production", change)
    return str(raised.value)


def test_bad_subscriptions_are_refused_key_by_key() -> None:
    def change(raw: dict[str, Any]) -> None:
        svc(raw)["app"]["canary"]["notifications"] = {
            "service": "slack.team",
            "recipients": ["ops;dev", "deploys"],
            "triggers": ["on-rollout-abort"],
        }

    errors = _errors(change)
    path = "app.canary.notifications"
    assert f"{key(path + '.service')}: 'slack.team' is not a notification service name" in errors
    assert f"{key(path + '.recipients[0]')}: 'ops;dev' is not a recipient" in errors
    trigger_error = f"{key(path + '.triggers[0]')}: 'on-rollout-abort' is not a trigger"
    assert trigger_error in errors
    assert "on-rollout-aborted" in errors.split(trigger_error, 1)[1]  # the catalog is listed


def test_repeats_and_overlong_keys_are_refused() -> None:
    def repeated(raw: dict[str, Any]) -> None:
        svc(raw)["app"]["canary"]["notifications"] = {
            "service": "slack",
            "recipients": ["deploys", "deploys"],
            "triggers": ["on-rollout-aborted", "on-rollout-aborted"],
        }

    errors = _errors(repeated)
    path = "app.canary.notifications"
    assert f"{key(path + '.recipients[1]')}: 'deploys' is listed twice" in errors
    assert f"{key(path + '.triggers[1]')}: 'on-rollout-aborted' is listed twice" in errors

    def overlong(raw: dict[str, Any]) -> None:
        svc(raw)["app"]["canary"]["notifications"] = {"service": "s" * 31, "recipients": ["c"]}

    errors = _errors(overlong)
    assert f"{key(path + '.service')}: too long" in errors
    # "subscribe.on-analysis-run-failed." has 33 characters: 30 are left of 63.
    assert (
        "has 64 characters, Kubernetes allows 63; with these triggers the service name may have 30"
        in errors
    )
    NotificationsConfig(service="s" * 30, recipients=("c",))  # 63 exactly


# --- the Rollouts ------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_each_rollout_subscribes_as_configured(stack: str) -> None:
    graph = stack_graph(stack)
    env = environment(stack)
    for name, service in env.services.items():
        rollout = graph.one("Rollout", name)
        annotations = rollout.inputs["metadata"].get("annotations") or {}
        template = rollout.inputs["spec"]["template"]["metadata"].get("annotations") or {}
        assert not any(k.startswith(SUBSCRIBE_PREFIX) for k in template), name
        config = service.app.canary.notifications
        if config is None:
            assert not subscriptions(annotations), name
            continue
        expected = {(t, config.service): list(config.recipients) for t in config.triggers}
        assert subscriptions(annotations) == expected, name


def test_production_and_staging_notify_dev_does_not() -> None:
    for stack in ("production", "staging"):
        for service in environment(stack).services.values():
            notifications = service.app.canary.notifications
            assert notifications is not None and notifications.service == "slack"
    assert all(s.app.canary.notifications is None for s in environment("dev").services.values())


def test_recipients_are_joined_in_one_annotation_per_trigger() -> None:
    config = NotificationsConfig(
        service="slack", recipients=("deploys", "oncall"), triggers=("on-rollout-aborted",)
    )
    assert subscription_annotations(config) == {
        "notifications.argoproj.io/subscribe.on-rollout-aborted.slack": "deploys;oncall"
    }
    assert subscription_annotations(None) == {}


def test_the_documented_subscription_is_what_renders() -> None:
    text = (ROOT / "docs" / "components" / "canary-app.md").read_text()
    section = text.split("\n## Notifications\n", 1)[1].split("\n## ", 1)[0]
    config_yaml, rendered_yaml = re.findall(r"```yaml\n(.*?)```", section, flags=re.DOTALL)[:2]
    config = yaml.safe_load(config_yaml)["app"]["canary"]["notifications"]
    rendered = yaml.safe_load(rendered_yaml)["metadata"]["annotations"]
    assert subscription_annotations(NotificationsConfig.model_validate(config)) == rendered


# --- deployment marks on the dashboard ------------------------------------------------------------


def dashboard_annotations(graph: ResourceGraph) -> list[dict[str, Any]]:
    (config_map,) = [c for c in graph.kind("ConfigMap") if c.object_name == f"{API}-dashboard"]
    (text,) = config_map.inputs["data"].values()
    return list(json.loads(text)["annotations"]["list"])


def test_the_dashboard_marks_updates_completions_and_aborts(production: ResourceGraph) -> None:
    marks = dashboard_annotations(production)
    assert [m["name"] for m in marks] == ["Rollout updated", "Rollout completed", "Rollout aborted"]
    for mark in marks:
        assert mark["datasource"] == dashboard_spec.DATASOURCE and mark["enable"] is True
        assert mark["step"] == "1m" and mark["tagKeys"] == "reason"
        assert "$__rate_interval" in mark["expr"]


CONTROLLER = (
    'job="argo-rollouts-metrics",instance="10.40.70.21:8090",service="argo-rollouts-metrics",'
    'endpoint="metrics",pod="argo-rollouts-6b9c5d7f84-q8w2z",container="argo-rollouts"'
)


def _events(
    reason: str, *, renamed: bool, values: str, namespace: str = "shop-production"
) -> dict[str, str]:
    where = (
        f'namespace="argo-rollouts",exported_namespace="{namespace}"'
        if renamed
        else f'namespace="{namespace}"'
    )
    kind = "Warning" if reason == "RolloutAborted" else "Normal"
    return {
        "series": f'rollout_events_total{{{CONTROLLER},{where},name="{API}",type="{kind}",'
        f'reason="{reason}"}}',
        "values": values,
    }


@pytest.mark.parametrize("renamed", [True, False], ids=["renamed", "kept"])
def test_each_event_marks_the_minutes_after_it(
    renamed: bool, production: ResourceGraph, tmp_path: Path
) -> None:
    """At a 1m step with a 30s scrape Grafana sets $__rate_interval to 2m: the point at the
    event's minute and the next are above 0 (one region), then 0 until the next event."""
    marks = {m["name"]: m for m in dashboard_annotations(production)}
    # Updated at 10m (a new series, born at 1) and at 20m; aborted at 15m; another
    # namespace's Rollout of the same name completed at 12m.
    series = [
        _events("RolloutUpdated", renamed=renamed, values="_x10 1x9 2x10"),
        _events("RolloutAborted", renamed=renamed, values="_x15 1x15"),
        _events("RolloutCompleted", renamed=renamed, values="_x12 1x18", namespace="shop-staging"),
    ]
    own = f'namespace="shop-production",name="{API}"'

    def points(mark: str, reason: str, minutes: dict[int, float | None]) -> list[dict[str, Any]]:
        expr = marks[mark]["expr"].replace("$__rate_interval", "2m")
        return [
            {
                "expr": expr,
                "eval_time": f"{minute}m",
                "exp_samples": []
                if value is None
                else [{"labels": f'{{{own},reason="{reason}"}}', "value": value}],
            }
            for minute, value in minutes.items()
        ]

    tests = [
        *points(
            "Rollout updated", "RolloutUpdated", {9: None, 10: 1, 11: 1, 12: 0, 20: 1, 21: 1, 22: 0}
        ),
        *points("Rollout aborted", "RolloutAborted", {14: None, 15: 1, 16: 1, 17: 0}),
        *points("Rollout completed", "RolloutCompleted", {13: None, 25: None}),
    ]
    result = promtool.test_expressions(tmp_path, series, tests, file_name="marks.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
