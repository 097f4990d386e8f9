"""The app's Grafana dashboard: golden signals, rollout state, autoscaler replicas and backup
freshness, every panel on the metric contract (or on the DORA series recorded from it).

Queries come from ``prodstack.queries``, the source of the alerts, so a panel shows exactly
what an alert judges; alert thresholds are drawn as threshold lines, and the Rollout's updates,
completions and aborts as annotations.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from prodstack import metric_contract as mc
from prodstack import queries
from prodstack.config.observability import AlertsConfig
from prodstack.config.types import duration_seconds
from prodstack.specs import dora
from prodstack.specs.alerts import AlertTarget

Manifest = dict[str, Any]

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
SCHEMA_VERSION = 39
GRID_WIDTH = 24
PANEL_HEIGHT = 8
UID_MAX = 40

# Deployment marks: the Argo Rollouts controller's events of the Rollout, one annotation query
# (and colour) per reason. Grafana runs an annotation query as a range query with at least
# ``ANNOTATION_STEP`` between points and marks the points whose value is above 0, joining
# points up to a step apart into one region (grafana-prometheus annotations.ts
# ``processEvents``). ``$__rate_interval`` (the step plus one scrape interval, at least four)
# makes consecutive windows overlap, so no event falls between two points at any zoom.
ANNOTATION_STEP = "1m"
ANNOTATION_WINDOW = "$__rate_interval"
ROLLOUT_EVENT_MARKS = (
    ("RolloutUpdated", "Rollout updated", "blue"),
    ("RolloutCompleted", "Rollout completed", "green"),
    ("RolloutAborted", "Rollout aborted", "red"),
)


@dataclass(frozen=True)
class Target:
    expr: str
    legend: str


@dataclass(frozen=True)
class Panel:
    title: str
    description: str
    targets: Sequence[Target]
    unit: str
    kind: str = "timeseries"
    threshold: float | None = None


def dashboard_uid(app: str, namespace: str) -> str:
    """Stable per app and namespace; at most 40 characters, as Grafana requires. ``_`` cannot
    occur in either name, so no two (app, namespace) pairs share a uid."""
    uid = f"{app}_{namespace}"
    if len(uid) <= UID_MAX:
        return uid
    digest = hashlib.sha256(uid.encode()).hexdigest()[:10]
    return f"{uid[: UID_MAX - 11]}_{digest}"


def _panels(
    target: AlertTarget, alerts: AlertsConfig, autoscaler: str
) -> list[tuple[str, list[Panel]]]:
    app, namespace = target.app, target.namespace
    labels = target.app_labels
    window = alerts.high_error_rate.window
    hash_label = "rollouts_pod_template_hash"
    rows: list[tuple[str, list[Panel]]] = [
        (
            "Golden signals",
            [
                Panel(
                    "Traffic",
                    "Requests per second over all pods, and per revision (stable and canary).",
                    [
                        Target(queries.request_rate(labels, window), "all"),
                        Target(
                            queries.request_rate(labels, window, by=(hash_label,)),
                            "revision {{" + hash_label + "}}",
                        ),
                    ],
                    unit="reqps",
                ),
                Panel(
                    "Errors (5xx share)",
                    "Share of requests answered with a 5xx; the line is the HighErrorRate "
                    "threshold.",
                    [Target(queries.error_ratio(labels, window, target.status_label), "5xx share")],
                    unit="percentunit",
                    threshold=alerts.high_error_rate.threshold,
                ),
                Panel(
                    "Latency (p95)",
                    "95th percentile over all pods; the line is the HighLatency threshold.",
                    [
                        Target(
                            queries.latency_quantile(labels, alerts.high_latency.window, 0.95),
                            "p95",
                        )
                    ],
                    unit="s",
                    threshold=alerts.high_latency.threshold_seconds,
                ),
                Panel(
                    "Saturation: autoscaler replicas",
                    f"HorizontalPodAutoscaler {autoscaler}: current and desired replicas "
                    "between its floor and ceiling; desired at the ceiling means no headroom.",
                    [
                        Target(queries.autoscaler_replicas(namespace, autoscaler, m), legend)
                        for m, legend in (
                            (mc.HPA_CURRENT, "current"),
                            (mc.HPA_DESIRED, "desired"),
                            (mc.HPA_MIN, "min"),
                            (mc.HPA_MAX, "max"),
                        )
                    ],
                    unit="short",
                ),
            ],
        ),
        (
            "Rollout",
            [
                Panel(
                    "Rollout phase",
                    f"Phase of Rollout {app} as the Argo Rollouts controller reports it.",
                    [Target(queries.rollout_phase(namespace, app), "{{phase}}")],
                    unit="none",
                    kind="state-timeline",
                ),
                Panel(
                    "Available replicas",
                    "Available replicas of the Rollout; the line is the HA floor (LowReplicas).",
                    [Target(queries.available_replicas(namespace, app), "available")],
                    unit="short",
                    threshold=float(target.min_available_replicas),
                ),
                Panel(
                    "Container restarts",
                    f"Restarts of the app container per pod within "
                    f"{alerts.pod_crash_looping.window}.",
                    [
                        Target(
                            queries.container_restarts(
                                namespace,
                                target.pod_pattern,
                                app,
                                alerts.pod_crash_looping.window,
                            ),
                            "{{pod}}",
                        )
                    ],
                    unit="short",
                    threshold=float(alerts.pod_crash_looping.restarts),
                ),
                Panel(
                    "DORA: deployment frequency",
                    "Completed rollouts in the last day, and the daily average over a week.",
                    [
                        Target(f"{dora.DEPLOYMENTS_1D}{_own(target)}", "last 24h"),
                        Target(f"{dora.DEPLOYMENTS_7D}{_own(target)} / 7", "per day, 7-day mean"),
                    ],
                    unit="short",
                ),
                Panel(
                    "DORA: change failure rate",
                    "Share of rollout attempts in the last 7 days that aborted.",
                    [Target(f"{dora.CHANGE_FAILURE_RATE_7D}{_own(target)}", "7 days")],
                    unit="percentunit",
                ),
            ],
        ),
    ]
    if target.backups is not None:
        backups = target.backups
        max_age = alerts.backup_missing.max_age
        panels = [
            Panel(
                "Backup age",
                f"Time since CronJob {backups.backup} last succeeded; the line is the "
                f"BackupMissing threshold ({max_age}).",
                [Target(queries.seconds_since_success(namespace, backups.backup), "age")],
                unit="s",
                threshold=float(duration_seconds(max_age)),
            )
        ]
        if backups.restore_check is not None:
            panels.append(
                Panel(
                    "Restore check failures",
                    f"Failed pods per Job of CronJob {backups.restore_check} (retries included).",
                    [
                        Target(
                            queries.failed_job_pods(namespace, backups.restore_check),
                            "{{job_name}}",
                        )
                    ],
                    unit="short",
                )
            )
        rows.append(("Backups", panels))
    return rows


def _own(target: AlertTarget) -> str:
    return queries.matchers({"namespace": target.namespace, "name": target.app})


def rollout_event_annotations(target: AlertTarget) -> list[Manifest]:
    """Grafana annotation queries that mark the Rollout's updates, completions and aborts."""
    return [
        {
            "name": title,
            "datasource": DATASOURCE,
            "enable": True,
            "hide": False,
            "iconColor": colour,
            "expr": queries.rollout_events(
                target.namespace, target.app, (reason,), ANNOTATION_WINDOW, by=("reason",)
            ),
            "step": ANNOTATION_STEP,
            "titleFormat": title,
            "textFormat": "Rollout {{name}} in {{namespace}}: {{reason}}",
            "tagKeys": "reason",
        }
        for reason, title, colour in ROLLOUT_EVENT_MARKS
    ]


def _panel_json(panel: Panel, panel_id: int, grid: Manifest) -> Manifest:
    defaults: Manifest = {"unit": panel.unit}
    if panel.threshold is not None:
        defaults["thresholds"] = {
            "mode": "absolute",
            "steps": [
                {"color": "green", "value": None},
                {"color": "red", "value": panel.threshold},
            ],
        }
        defaults["custom"] = {"thresholdsStyle": {"mode": "line"}}
    return {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": grid,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "targets": [
            {
                "refId": chr(ord("A") + index),
                "datasource": DATASOURCE,
                "expr": target.expr,
                "legendFormat": target.legend,
            }
            for index, target in enumerate(panel.targets)
        ],
    }


def dashboard(
    target: AlertTarget, alerts: AlertsConfig, *, autoscaler: str | None = None
) -> Manifest:
    """The dashboard model; ``autoscaler`` names the HPA (default: the app's name)."""
    rows = _panels(target, alerts, autoscaler or target.app)
    panels: list[Manifest] = []
    y = 0
    for title, row_panels in rows:
        panels.append(
            {
                "id": len(panels) + 1,
                "type": "row",
                "title": title,
                "collapsed": False,
                "gridPos": {"h": 1, "w": GRID_WIDTH, "x": 0, "y": y},
                "panels": [],
            }
        )
        y += 1
        per_line = 2 if len(row_panels) in (2, 4) else 3
        width = GRID_WIDTH // per_line
        for index, panel in enumerate(row_panels):
            grid = {
                "h": PANEL_HEIGHT,
                "w": width,
                "x": (index % per_line) * width,
                "y": y + (index // per_line) * PANEL_HEIGHT,
            }
            panels.append(_panel_json(panel, len(panels) + 1, grid))
        y += -(-len(row_panels) // per_line) * PANEL_HEIGHT
    return {
        "uid": dashboard_uid(target.app, target.namespace),
        "title": f"{target.app} ({target.namespace})",
        "description": "Generated by prodstack; edits in Grafana are overwritten on deploy.",
        "tags": ["prodstack", target.app, target.namespace],
        "timezone": "browser",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": False,
        "refresh": "1m",
        "time": {"from": "now-6h", "to": "now"},
        "annotations": {"list": rollout_event_annotations(target)},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Data source",
                    "type": "datasource",
                    "query": "prometheus",
                    "hide": 0,
                    "current": {},
                }
            ]
        },
        "panels": panels,
    }


def dashboard_json(model: Manifest) -> str:
    return json.dumps(model, indent=2, sort_keys=True) + "\n"
