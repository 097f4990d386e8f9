"""The environment stack: prodstack's components composed from one validated configuration."""

from __future__ import annotations

import dataclasses
from typing import Any

import pulumi

from prodstack.components.argocd_application import ArgoCDApplication, ArgoCDApplicationArgs
from prodstack.components.autoscaling import Autoscaling, AutoscalingArgs
from prodstack.components.canary_app import CanaryApp, CanaryAppArgs, ExternallyScaled
from prodstack.components.ha_policy import HAPolicy, HAPolicyArgs
from prodstack.components.observability import BackupJobs, Observability, ObservabilityArgs
from prodstack.components.security_baseline import (
    SecurityBaseline,
    SecurityBaselineArgs,
    namespace_labels,
)
from prodstack.components.vault_secrets import VaultSecrets, VaultSecretsArgs
from prodstack.config.environment import EnvironmentConfig
from prodstack.identity import AppIdentity
from prodstack.specs import load_balancer as lb_spec
from prodstack.specs.ha import ha_floor, min_available
from prodstack.specs.network import app_flows, database_flow, https_flow
from prodstack.specs.rbac import api_token_mount, api_token_volume


def build(env: EnvironmentConfig, *, name_prefix: str = "") -> dict[str, Any]:
    """Create the stack's resources; returns the values the program exports.

    ``name_prefix`` starts every top-level logical name, so that one program can build several
    environments side by side (each with its own app name and namespace) without URN clashes.
    """
    app = env.app
    identity = AppIdentity(
        name=app.name,
        namespace=env.namespace,
        instance=f"{app.name}-{env.environment}",
        version=app.version,
        part_of=app.part_of,
    )
    security = env.security
    flows = app_flows(
        security.network,
        app_pods=identity.selector(),
        app_port=app.port,
        metrics_port=app.metrics_port,
    )
    backup_args = None
    if env.db_backup is not None:
        # Imported here: pulumi_aws is large, and only stacks with backups need it.
        from prodstack.components.db_backup import DbBackupArgs

        backup_args = DbBackupArgs(identity=identity, config=env.db_backup)
        # The backup jobs' own flows: their database, and S3 and STS over HTTPS.
        job_pods = backup_args.job_identity.selector()
        if security.network.database is not None:
            flows.append(database_flow("allow-backup-database", job_pods, security.network))
        if security.network.https.cidrs:
            flows.append(
                https_flow(
                    "allow-backup-https",
                    "The backup jobs reach S3 and STS.",
                    job_pods,
                    security.network,
                )
            )
    extra_namespace_labels = (
        lb_spec.namespace_labels(env.load_balancer) if env.load_balancer else {}
    )
    baseline = SecurityBaseline(
        f"{name_prefix}security",
        SecurityBaselineArgs(
            identity=identity,
            pod_security_version=security.pod_security_version,
            flows=flows,
            api_access=security.api_access,
            service_account_name=app.name,
            extra_namespace_labels=extra_namespace_labels,
        ),
    )
    in_namespace = pulumi.ResourceOptions(depends_on=[baseline])
    app_args = CanaryAppArgs(
        app=app,
        namespace=env.namespace,
        instance=identity.instance,
        replicas=ExternallyScaled() if env.autoscaling is not None else None,
    )
    if security.api_access:
        app_args = dataclasses.replace(
            app_args,
            extra_volumes=(
                *app_args.extra_volumes,
                api_token_volume(security.api_token_expiration_seconds),
            ),
            extra_volume_mounts=(*app_args.extra_volume_mounts, api_token_mount()),
        )
    depends: list[pulumi.Resource] = [baseline]
    if env.vault_secrets is not None:
        # External Secrets logs in to Vault as the account CanaryApp creates for the app.
        secrets = VaultSecrets(
            f"{name_prefix}{app.name}-secrets",
            VaultSecretsArgs(identity=identity, config=env.vault_secrets),
            opts=in_namespace,
        )
        wiring = secrets.pod_wiring
        app_args = dataclasses.replace(
            app_args,
            extra_volumes=(*app_args.extra_volumes, *wiring.volumes),
            extra_volume_mounts=(*app_args.extra_volume_mounts, *wiring.volume_mounts),
            env_from=(*app_args.env_from, *wiring.env_from),
            extra_env=(*app_args.extra_env, *wiring.env),
            pod_annotations={**app_args.pod_annotations, **wiring.annotations},
        )
        depends.append(secrets)
    if env.ha is not None:
        ha = HAPolicy(
            f"{name_prefix}{app.name}",
            HAPolicyArgs(identity=identity, ha=env.ha, replicas=env.replica_range),
            opts=in_namespace,
        )
        app_args = dataclasses.replace(app_args, scheduling=ha.scheduling)
    canary_app = CanaryApp(
        f"{name_prefix}{app.name}", app_args, opts=pulumi.ResourceOptions(depends_on=depends)
    )
    exports: dict[str, Any] = {
        "namespace": baseline.namespace_name,
        "rolloutName": canary_app.rollout_name,
        "serviceName": canary_app.service_name,
        "stableServiceName": canary_app.stable_service_name,
        "canaryServiceName": canary_app.canary_service_name,
        "networkPolicies": baseline.network_policy_names,
    }
    if env.observability is not None:
        # The agreed names of DbBackup's CronJobs; backupAlerts says they exist.
        backups = (
            BackupJobs(backup=f"{app.name}-db-backup", restore_check=f"{app.name}-db-restore-check")
            if env.observability.backup_alerts
            else None
        )
        Observability(
            f"{name_prefix}{app.name}-observability",
            ObservabilityArgs(
                identity=identity,
                config=env.observability,
                team=app.team,
                # LowReplicas: fewer pods available than the disruption budget keeps at the
                # minimum replica count (more missing than a voluntary disruption may take).
                min_available_replicas=min_available(env) or ha_floor(env),
                metrics_port=app.metrics_port,
                status_label=app.metrics_status_label,
                backups=backups,
            ),
            opts=in_namespace,
        )
    if env.autoscaling is not None or env.load_balancer is not None:
        scaling = Autoscaling(
            f"{name_prefix}{app.name}",
            AutoscalingArgs(
                identity=identity,
                rollout_name=canary_app.rollout_name,
                autoscaling=env.autoscaling,
                load_balancer=env.load_balancer,
            ),
            opts=in_namespace,
        )
        if env.load_balancer is not None:
            exports["loadBalancerHostname"] = scaling.load_balancer_hostname
    if backup_args is not None:
        from prodstack.components.db_backup import DbBackup

        # After VaultSecrets: its SecretStore reads the backup passwords.
        db_backup = DbBackup(
            f"{name_prefix}{app.name}-db-backup",
            backup_args,
            opts=pulumi.ResourceOptions(depends_on=depends),
        )
        exports |= {
            "dbBackupBucket": db_backup.bucket_name,
            "dbBackupCronJob": db_backup.backup_cron_job_name,
            "dbRestoreCheckCronJob": db_backup.restore_check_cron_job_name,
            "dbBackupRoleArn": db_backup.backup_role_arn,
            "dbRestoreCheckRoleArn": db_backup.restore_check_role_arn,
        }
    if env.gitops is not None:
        application = ArgoCDApplication(
            f"{name_prefix}{app.name}-gitops",
            ArgoCDApplicationArgs(
                identity=identity,
                gitops=env.gitops,
                namespace_labels={
                    **namespace_labels(security.pod_security_version),
                    **extra_namespace_labels,
                },
            ),
        )
        exports["argocdApplication"] = application.application_name
    return exports
