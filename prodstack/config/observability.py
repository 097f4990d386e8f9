"""How services are watched: the platform's scraping, runbooks and dashboards, and each
service's alert thresholds."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from prodstack.config.base import ConfigModel, Violation, raise_violations
from prodstack.config.types import (
    Annotations,
    DnsLabel,
    Duration,
    Labels,
    PositiveInt,
    duration_seconds,
    shown,
)

Severity = Literal["critical", "warning", "info"]


def _check_base_url(url: str) -> str:
    if re.match(r"^https?://[^\s/]+(/[^\s]*)?$", url) is None or not url.endswith("/"):
        raise ValueError(
            f"{shown(url)} is not an http(s) URL ending with '/'; alerts link to "
            "<runbookBaseUrl>docs/runbooks/<Alert>.md: give the URL of the tree where the "
            "output of `prodstack runbooks` is published, e.g. "
            "https://github.com/acme/platform/blob/main/"
        )
    return url


class ScrapeConfig(ConfigModel):
    """How Prometheus scrapes the app's ``metrics`` port."""

    interval: Duration = "30s"
    timeout: Duration = "10s"
    path: Annotated[str, Field(pattern=r"^/[^\s]*$")] = "/metrics"

    @model_validator(mode="after")
    def _timeout_within_interval(self) -> ScrapeConfig:
        if duration_seconds(self.timeout) > duration_seconds(self.interval):
            raise_violations(
                [
                    Violation(
                        ("timeout",),
                        f"{self.timeout} is longer than interval {self.interval}; Prometheus "
                        "refuses a scrape timeout above its interval",
                    )
                ]
            )
        return self


class HighErrorRateAlert(ConfigModel):
    """5xx share of all requests, summed over the app's pods."""

    threshold: Annotated[float, Field(gt=0, lt=1)] = 0.05
    window: Duration = "5m"
    for_: Annotated[Duration, Field(alias="for")] = "5m"
    severity: Severity = "critical"


class HighLatencyAlert(ConfigModel):
    """p95 request latency over all pods (histogram buckets summed by ``le``)."""

    threshold_seconds: Annotated[float, Field(gt=0)] = 1.0
    window: Duration = "5m"
    for_: Annotated[Duration, Field(alias="for")] = "10m"
    severity: Severity = "warning"


class PodCrashLoopingAlert(ConfigModel):
    """At least ``restarts`` restarts of the app container within ``window``, or
    CrashLoopBackOff."""

    restarts: PositiveInt = 3
    window: Duration = "15m"
    for_: Annotated[Duration, Field(alias="for")] = "5m"
    severity: Severity = "critical"


class LowReplicasAlert(ConfigModel):
    """Available Rollout replicas below the HA floor (the floor comes from the stack)."""

    for_: Annotated[Duration, Field(alias="for")] = "5m"
    severity: Severity = "warning"


class RolloutAbortedAlert(ConfigModel):
    """The Rollout aborted (its analysis failed, or someone aborted it) within ``window``."""

    window: Duration = "15m"
    severity: Severity = "warning"


class BackupMissingAlert(ConfigModel):
    """No successful run of the backup CronJob for ``maxAge`` (a daily schedule plus slack)."""

    max_age: Duration = "26h"
    for_: Annotated[Duration, Field(alias="for")] = "5m"
    severity: Severity = "critical"


class BackupRestoreCheckFailedAlert(ConfigModel):
    """A Job of the restore-check CronJob failed for good."""

    severity: Severity = "critical"


class AlertsConfig(ConfigModel):
    """Thresholds, windows, ``for`` durations and severities, one section per alert."""

    high_error_rate: HighErrorRateAlert = HighErrorRateAlert()
    high_latency: HighLatencyAlert = HighLatencyAlert()
    pod_crash_looping: PodCrashLoopingAlert = PodCrashLoopingAlert()
    low_replicas: LowReplicasAlert = LowReplicasAlert()
    rollout_aborted: RolloutAbortedAlert = RolloutAbortedAlert()
    backup_missing: BackupMissingAlert = BackupMissingAlert()
    backup_restore_check_failed: BackupRestoreCheckFailedAlert = BackupRestoreCheckFailedAlert()


class DashboardConfig(ConfigModel):
    """The Grafana dashboard, a ConfigMap that Grafana's sidecar picks up by its labels."""

    enabled: bool = True
    namespace: DnsLabel | None = None
    labels: Labels = Field(default_factory=lambda: {"grafana_dashboard": "1"})
    annotations: Annotations = Field(default_factory=dict)


class ObservabilityConfig(ConfigModel):
    """The platform's monitoring (``prodstack:observability``): how every service is scraped,
    where runbooks are, which Prometheus and Grafana pick up the rules and dashboards.

    ``prometheusLabels`` go on the ServiceMonitor and the PrometheusRule: a Prometheus run by
    the Prometheus Operator ignores monitors and rules its selectors do not match.
    """

    runbook_base_url: Annotated[str, AfterValidator(_check_base_url)]
    prometheus_labels: Labels = Field(default_factory=lambda: {"release": "kube-prometheus-stack"})
    platform_team: DnsLabel = "platform"
    scrape: ScrapeConfig = ScrapeConfig()
    dashboard: DashboardConfig = DashboardConfig()


class ServiceObservability(ConfigModel):
    """A service's alerts (``services.<name>.observability``); ``backupAlerts`` watches its
    database backups when it has ``dbBackup``."""

    alerts: AlertsConfig = AlertsConfig()
    backup_alerts: bool = True

    def window_violations(self, scrape: ScrapeConfig) -> list[Violation]:
        """Alert windows too short for two scrapes at the platform's interval."""
        interval = duration_seconds(scrape.interval)
        windows = {
            "highErrorRate": self.alerts.high_error_rate.window,
            "highLatency": self.alerts.high_latency.window,
        }
        return [
            Violation(
                ("alerts", key, "window"),
                f"{window} holds fewer than 2 scrapes at observability.scrape.interval "
                f"{scrape.interval}; rate() needs two samples: use at least {2 * interval}s "
                "(4 scrapes is safer)",
            )
            for key, window in windows.items()
            if duration_seconds(window) < 2 * interval
        ]
