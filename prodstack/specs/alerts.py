"""The app's alerting rules, built from the same queries as its canary analysis.

Each alert carries ``severity`` and ``team`` labels (plus ``namespace`` and ``app`` for routing)
and ``summary``, ``description`` (in human units) and ``runbook_url`` annotations; the runbook
of alert ``X`` is ``docs/runbooks/X.md`` in this repository.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prodstack import queries
from prodstack.config.observability import AlertsConfig
from prodstack.config.types import duration_seconds
from prodstack.specs import dora

Manifest = dict[str, Any]

RUNBOOK_DIR = "docs/runbooks"

# Every alert prodstack can emit; docs/runbooks/<name>.md exists for each (a test checks).
ALERT_NAMES = (
    "HighErrorRate",
    "HighLatency",
    "PodCrashLooping",
    "LowReplicas",
    "RolloutAborted",
    "BackupMissing",
    "BackupRestoreCheckFailed",
)


@dataclass(frozen=True, kw_only=True)
class BackupJobs:
    """The database backup's CronJobs in the app's namespace (the DbBackup component's)."""

    backup: str
    restore_check: str | None = None


@dataclass(frozen=True, kw_only=True)
class AlertTarget:
    """What the alerts watch, and who is paged.

    ``app_team`` owns the service's behaviour (errors, latency, rollouts); ``platform_team``
    owns where it runs (pods, replicas, backups). ``min_available_replicas`` is the HA floor.
    """

    app: str
    namespace: str
    app_team: str
    platform_team: str
    min_available_replicas: int
    status_label: str = "status"
    backups: BackupJobs | None = None

    def __post_init__(self) -> None:
        if self.min_available_replicas < 1:
            raise ValueError(
                f"min_available_replicas is {self.min_available_replicas}: LowReplicas fires "
                "below it, so it must be at least 1"
            )

    @property
    def app_labels(self) -> dict[str, str]:
        """Matchers of the app's own series (the ServiceMonitor sets ``job`` to the app)."""
        return {"job": self.app, "namespace": self.namespace}

    @property
    def pod_pattern(self) -> str:
        """Names of the Rollout's pods: ``<rollout>-<pod-template-hash>-<suffix>``."""
        return queries.regex_literal(self.app) + "-[a-z0-9]+-[a-z0-9]+"


@dataclass(frozen=True)
class AlertRule:
    """One alerting rule; ``manifest`` renders it for a PrometheusRule group."""

    name: str
    expr: str
    for_: str | None
    severity: str
    team: str
    summary: str
    description: str

    def manifest(self, target: AlertTarget, runbook_base_url: str) -> Manifest:
        rule: Manifest = {"alert": self.name, "expr": self.expr}
        if self.for_ is not None:
            rule["for"] = self.for_
        rule["labels"] = {
            "severity": self.severity,
            "team": self.team,
            "namespace": target.namespace,
            "app": target.app,
        }
        rule["annotations"] = {
            "summary": self.summary,
            "description": self.description,
            "runbook_url": runbook_url(runbook_base_url, self.name),
        }
        return rule


def runbook_url(base_url: str, alert: str) -> str:
    return f"{base_url.rstrip('/')}/{RUNBOOK_DIR}/{alert}.md"


def _percent(share: float) -> str:
    return f"{share * 100:g}%"


def alert_rules(target: AlertTarget, config: AlertsConfig) -> list[AlertRule]:
    """Every alert for the target; the backup alerts only when it has backups."""
    app, namespace = target.app, target.namespace
    where = f"{app} in {namespace}"
    errors, latency = config.high_error_rate, config.high_latency
    crash, low, aborted = config.pod_crash_looping, config.low_replicas, config.rollout_aborted
    rules = [
        AlertRule(
            name="HighErrorRate",
            expr=f"(\n{queries.error_ratio(target.app_labels, errors.window, target.status_label)}"
            f"\n) > {errors.threshold:g}",
            for_=errors.for_,
            severity=errors.severity,
            team=target.app_team,
            summary=f"More than {_percent(errors.threshold)} of requests to {where} fail",
            description=(
                "{{ $value | humanizePercentage }} of all requests to "
                f"{where} were answered with a 5xx over the last {errors.window} "
                f"(threshold {_percent(errors.threshold)}, for {errors.for_})."
            ),
        ),
        AlertRule(
            name="HighLatency",
            expr=f"{queries.latency_quantile(target.app_labels, latency.window, 0.95)}"
            f" > {latency.threshold_seconds:g}",
            for_=latency.for_,
            severity=latency.severity,
            team=target.app_team,
            summary=f"p95 latency of {where} is above {latency.threshold_seconds:g}s",
            description=(
                "95% of requests to "
                f"{where} took up to {{{{ $value | humanizeDuration }}}} over the last "
                f"{latency.window}, summed over all pods (threshold "
                f"{latency.threshold_seconds:g}s, for {latency.for_})."
            ),
        ),
        AlertRule(
            name="PodCrashLooping",
            expr=(
                f"{queries.container_restarts(namespace, target.pod_pattern, app, crash.window)}"
                f" >= {crash.restarts}\nor\n"
                f"{queries.crash_loop_back_off(namespace, target.pod_pattern, app, crash.window)}"
            ),
            for_=crash.for_,
            severity=crash.severity,
            team=target.platform_team,
            summary=f"A pod of {where} is crash looping",
            description=(
                "Container {{ $labels.container }} of pod {{ $labels.pod }} restarted at least "
                f"{crash.restarts} times in {crash.window} or is waiting in CrashLoopBackOff."
            ),
        ),
        AlertRule(
            name="LowReplicas",
            expr=f"{queries.available_replicas(namespace, app)} < {target.min_available_replicas}",
            for_=low.for_,
            severity=low.severity,
            team=target.platform_team,
            summary=f"Fewer than {target.min_available_replicas} replicas of {where} available",
            description=(
                "Only {{ $value }} replicas of Rollout "
                f"{app} in {namespace} are available; the HA floor is "
                f"{target.min_available_replicas} (for {low.for_})."
            ),
        ),
        AlertRule(
            name="RolloutAborted",
            expr=f"{queries.rollout_events(namespace, app, ('RolloutAborted',), aborted.window)}"
            " > 0",
            for_=None,
            severity=aborted.severity,
            team=target.app_team,
            summary=f"A rollout of {where} was aborted",
            description=(
                f"Rollout {app} in {namespace} aborted {{{{ $value }}}} time(s) in the last "
                f"{aborted.window}: the canary failed its analysis or was aborted by hand, and "
                "traffic went back to the stable version."
            ),
        ),
    ]
    if target.backups is not None:
        rules.extend(_backup_rules(target, target.backups, config))
    return rules


def _backup_rules(
    target: AlertTarget, backups: BackupJobs, config: AlertsConfig
) -> list[AlertRule]:
    namespace = target.namespace
    missing = config.backup_missing
    rules = [
        AlertRule(
            name="BackupMissing",
            expr=queries.backup_overdue(
                namespace, backups.backup, duration_seconds(missing.max_age), missing.max_age
            ),
            for_=missing.for_,
            severity=missing.severity,
            team=target.platform_team,
            summary=f"No successful database backup of {target.app} for {missing.max_age}",
            description=(
                f"CronJob {backups.backup} in {namespace} has not completed a backup "
                f"successfully for more than {missing.max_age} (or has not run, or is missing)."
            ),
        )
    ]
    if backups.restore_check is not None:
        failed = config.backup_restore_check_failed
        rules.append(
            AlertRule(
                name="BackupRestoreCheckFailed",
                expr=queries.failed_jobs(namespace, backups.restore_check),
                for_=None,
                severity=failed.severity,
                team=target.platform_team,
                summary=f"The restore check of {target.app}'s database backup failed",
                description=(
                    "Job {{ $labels.job_name }} of CronJob "
                    f"{backups.restore_check} in {namespace} failed: the newest backup could not "
                    "be restored and verified. Delete the Job once it is understood."
                ),
            )
        )
    return rules


def alert_group(target: AlertTarget, config: AlertsConfig, runbook_base_url: str) -> Manifest:
    return {
        "name": f"{target.app}.alerts",
        "rules": [rule.manifest(target, runbook_base_url) for rule in alert_rules(target, config)],
    }


def prometheus_rule_spec(
    target: AlertTarget, config: AlertsConfig, runbook_base_url: str
) -> Manifest:
    """The PrometheusRule's ``spec``: the alerts, then the DORA recording rules."""
    return {
        "groups": [
            alert_group(target, config, runbook_base_url),
            dora.dora_group(target.namespace, target.app),
        ]
    }
