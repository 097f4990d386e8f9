"""The environment stack: prodstack's components composed from one validated configuration."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from prodstack.components.canary_app import CanaryApp, CanaryAppArgs
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
    outputs: dict[str, Any] = {
        "namespace": env.namespace,
        "rolloutName": canary_app.rollout_name,
        "stableServiceName": canary_app.stable_service_name,
        "canaryServiceName": canary_app.canary_service_name,
    }
    if env.db_backup is not None:
        # Imported here: pulumi_aws is large, and only stacks with backups need it.
        from prodstack.components.db_backup import DbBackup, DbBackupArgs

        backups = DbBackup(
            f"{app.name}-db-backup",
            DbBackupArgs(identity=canary_app.identity, config=env.db_backup),
            opts=pulumi.ResourceOptions(depends_on=[namespace]),
        )
        outputs |= {
            "dbBackupBucket": backups.bucket_name,
            "dbBackupCronJob": backups.backup_cron_job_name,
            "dbRestoreCheckCronJob": backups.restore_check_cron_job_name,
            "dbBackupRoleArn": backups.backup_role_arn,
            "dbRestoreCheckRoleArn": backups.restore_check_role_arn,
        }
    return outputs
