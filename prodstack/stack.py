"""The environment stack: prodstack's components composed from one validated configuration."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from prodstack.components.canary_app import CanaryApp, CanaryAppArgs
from prodstack.components.observability import BackupJobs, Observability, ObservabilityArgs
from prodstack.config.environment import EnvironmentConfig


def build(env: EnvironmentConfig) -> dict[str, Any]:
    """Create the stack's resources; returns the values the program exports."""
    app = env.app
    namespace = k8s.core.v1.Namespace(
        "namespace",
        metadata={
            "name": env.namespace,
            "labels": {
                "app.kubernetes.io/managed-by": "pulumi",
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "v1.33",
                "pod-security.kubernetes.io/audit": "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
            },
        },
    )
    canary_app = CanaryApp(
        app.name,
        CanaryAppArgs(app=app, namespace=env.namespace, instance=f"{app.name}-{env.environment}"),
        opts=pulumi.ResourceOptions(depends_on=[namespace]),
    )
    if env.observability is not None:
        # The agreed names of DbBackup's CronJobs; backupAlerts says they exist.
        backups = (
            BackupJobs(backup=f"{app.name}-db-backup", restore_check=f"{app.name}-db-restore-check")
            if env.observability.backup_alerts
            else None
        )
        Observability(
            f"{app.name}-observability",
            ObservabilityArgs(
                identity=canary_app.identity,
                config=env.observability,
                team=app.team,
                # The HA floor: the app's replica count until HAPolicy provides its own.
                min_available_replicas=app.replicas,
                metrics_port=app.metrics_port,
                status_label=app.metrics_status_label,
                backups=backups,
            ),
            opts=pulumi.ResourceOptions(depends_on=[namespace]),
        )
    return {
        "namespace": env.namespace,
        "rolloutName": canary_app.rollout_name,
        "stableServiceName": canary_app.stable_service_name,
        "canaryServiceName": canary_app.canary_service_name,
    }
