"""The backup and restore-check CronJobs: schedules, pod templates and the scripts they run.

Pure functions over the configuration; every dict is manifest-shaped (camelCase). Values only
AWS knows (the bucket name, the role ARN) are passed in, so they may be Pulumi outputs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import Any

from prodstack.config.db_backup import (
    DatabaseConnection,
    DbBackupConfig,
    JobSchedule,
    JobSecurity,
)
from prodstack.specs.pod import Manifest, resource_requirements

SCRIPT_FILES = ("common.sh", "backup.sh", "restore-check.sh")
SCRIPTS_DIR = "/opt/prodstack/scripts"
SCRATCH_DIR = "/scratch"
PASSWORD_DIR = "/var/run/secrets/prodstack/db"
PASSWORD_FILE = "password"
ROOT_CERT_DIR = "/etc/prodstack/db-ca"
ROOT_CERT_FILE = "ca.crt"
# Where the EKS pod identity webhook mounts the IRSA token; rendered explicitly, so the pod
# has its AWS identity without relying on the webhook (which leaves an existing volume alone).
AWS_TOKEN_VOLUME = "aws-iam-token"
AWS_TOKEN_DIR = "/var/run/secrets/eks.amazonaws.com/serviceaccount"
AWS_TOKEN_SECONDS = 86400
SCRIPTS_CHECKSUM_ANNOTATION = "prodstack.io/scripts-sha256"
STS_AUDIENCE = "sts.amazonaws.com"


def script_files() -> dict[str, str]:
    """The scripts as shipped in the package (``prodstack/scripts``), for the ConfigMap."""
    folder = resources.files("prodstack").joinpath("scripts")
    return {name: folder.joinpath(name).read_text(encoding="utf-8") for name in SCRIPT_FILES}


def scripts_checksum(files: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return digest.hexdigest()


@dataclass(frozen=True, kw_only=True)
class JobWiring:
    """Names and cloud values a job's pod refers to."""

    service_account: str
    scripts_config_map: str
    bucket_name: Any
    role_arn: Any
    scripts_sha256: str


def _container_security_context(security: JobSecurity) -> Manifest:
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": security.run_as_user,
        "runAsGroup": security.run_as_group,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _pod_security_context(security: JobSecurity) -> Manifest:
    return {
        "runAsNonRoot": True,
        "runAsUser": security.run_as_user,
        "runAsGroup": security.run_as_group,
        "fsGroup": security.fs_group,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _database_env(database: DatabaseConnection) -> list[Manifest]:
    env = [
        {"name": "PGHOST", "value": database.host},
        {"name": "PGPORT", "value": str(database.port)},
        {"name": "PGDATABASE", "value": database.database},
        {"name": "PGUSER", "value": database.user},
        {"name": "PGSSLMODE", "value": database.ssl_mode},
        {"name": "PGPASSWORD_FILE", "value": f"{PASSWORD_DIR}/{PASSWORD_FILE}"},
    ]
    if database.root_certificate is not None:
        env.append({"name": "PGSSLROOTCERT", "value": f"{ROOT_CERT_DIR}/{ROOT_CERT_FILE}"})
    return env


def _aws_env(config: DbBackupConfig, wiring: JobWiring) -> list[Manifest]:
    return [
        {"name": "BACKUP_BUCKET", "value": wiring.bucket_name},
        {"name": "BACKUP_PREFIX", "value": config.bucket.prefix},
        {"name": "AWS_REGION", "value": config.bucket.region},
        {"name": "AWS_DEFAULT_REGION", "value": config.bucket.region},
        {"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"},
        {"name": "AWS_ROLE_ARN", "value": wiring.role_arn},
        {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": f"{AWS_TOKEN_DIR}/token"},
    ]


def _volumes(database: DatabaseConnection, job: JobSchedule, wiring: JobWiring) -> list[Manifest]:
    volumes: list[Manifest] = [
        {
            "name": "scripts",
            "configMap": {"name": wiring.scripts_config_map, "defaultMode": 0o444},
        },
        {
            "name": "db-password",
            "secret": {
                "secretName": database.password_secret.name,
                "items": [{"key": database.password_secret.key, "path": PASSWORD_FILE}],
                # Group-readable for fsGroup; the scripts copy it into a private pgpass file.
                "defaultMode": 0o440,
            },
        },
        {"name": "scratch", "emptyDir": {"sizeLimit": job.scratch_size}},
        {
            "name": AWS_TOKEN_VOLUME,
            "projected": {
                "sources": [
                    {
                        "serviceAccountToken": {
                            "audience": STS_AUDIENCE,
                            "expirationSeconds": AWS_TOKEN_SECONDS,
                            "path": "token",
                        }
                    }
                ],
                "defaultMode": 0o440,
            },
        },
    ]
    if database.root_certificate is not None:
        volumes.append(
            {
                "name": "db-ca",
                "configMap": {
                    "name": database.root_certificate.name,
                    "items": [{"key": database.root_certificate.key, "path": ROOT_CERT_FILE}],
                    "defaultMode": 0o444,
                },
            }
        )
    return volumes


def _mounts(database: DatabaseConnection) -> list[Manifest]:
    mounts: list[Manifest] = [
        {"name": "scripts", "mountPath": SCRIPTS_DIR, "readOnly": True},
        {"name": "db-password", "mountPath": PASSWORD_DIR, "readOnly": True},
        {"name": "scratch", "mountPath": SCRATCH_DIR},
        {"name": AWS_TOKEN_VOLUME, "mountPath": AWS_TOKEN_DIR, "readOnly": True},
    ]
    if database.root_certificate is not None:
        mounts.append({"name": "db-ca", "mountPath": ROOT_CERT_DIR, "readOnly": True})
    return mounts


def job_pod_spec(
    config: DbBackupConfig,
    *,
    script: str,
    container_name: str,
    database: DatabaseConnection,
    job: JobSchedule,
    wiring: JobWiring,
    extra_env: list[Manifest] | None = None,
) -> Manifest:
    """A pod that runs one script once: restricted profile, read-only root, a scratch volume
    for the dump, the password as a file, and only the IRSA token (no Kubernetes API token)."""
    env = [
        *_database_env(database),
        *_aws_env(config, wiring),
        *(extra_env or []),
        {"name": "SCRATCH_DIR", "value": SCRATCH_DIR},
        {"name": "TMPDIR", "value": SCRATCH_DIR},
        # The AWS CLI keeps its caches under $HOME; the root filesystem is read-only.
        {"name": "HOME", "value": SCRATCH_DIR},
    ]
    return {
        "serviceAccountName": wiring.service_account,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "restartPolicy": "Never",
        "securityContext": _pod_security_context(config.security),
        "containers": [
            {
                "name": container_name,
                "image": config.image,
                "imagePullPolicy": config.image_pull_policy,
                "command": ["/bin/bash", f"{SCRIPTS_DIR}/{script}"],
                "env": env,
                "resources": resource_requirements(job.resources),
                "securityContext": _container_security_context(config.security),
                "volumeMounts": _mounts(database),
            }
        ],
        "volumes": _volumes(database, job, wiring),
    }


def cron_job_spec(job: JobSchedule, labels: dict[str, str], pod_spec: Manifest) -> Manifest:
    """Never two runs at once, a bounded start delay, retries and run time, kept history."""
    template_metadata: Manifest = {"labels": dict(labels)}
    return {
        "schedule": job.schedule,
        "timeZone": job.time_zone,
        "suspend": job.suspend,
        "concurrencyPolicy": "Forbid",
        "startingDeadlineSeconds": job.starting_deadline_seconds,
        "successfulJobsHistoryLimit": job.successful_jobs_history_limit,
        "failedJobsHistoryLimit": job.failed_jobs_history_limit,
        "jobTemplate": {
            "metadata": {"labels": dict(labels)},
            "spec": {
                "backoffLimit": job.backoff_limit,
                "activeDeadlineSeconds": job.active_deadline_seconds,
                "template": {"metadata": template_metadata, "spec": pod_spec},
            },
        },
    }


def backup_cron_job_spec(
    config: DbBackupConfig, labels: dict[str, str], wiring: JobWiring
) -> Manifest:
    pod = job_pod_spec(
        config,
        script="backup.sh",
        container_name="backup",
        database=config.database,
        job=config.backup,
        wiring=wiring,
    )
    return _annotated(cron_job_spec(config.backup, labels, pod), wiring)


def restore_check_cron_job_spec(
    config: DbBackupConfig, labels: dict[str, str], wiring: JobWiring
) -> Manifest:
    check = config.restore_check
    pod = job_pod_spec(
        config,
        script="restore-check.sh",
        container_name="restore-check",
        database=config.restore_target,
        job=check,
        wiring=wiring,
        extra_env=[
            {"name": "RESTORE_DATABASE", "value": check.scratch_database},
            {"name": "BACKUP_MAX_AGE_SECONDS", "value": str(check.max_backup_age_seconds)},
        ],
    )
    return _annotated(cron_job_spec(check, labels, pod), wiring)


def _annotated(spec: Manifest, wiring: JobWiring) -> Manifest:
    """A changed script shows in the CronJob's diff, not only in its ConfigMap's."""
    template = spec["jobTemplate"]["spec"]["template"]
    template["metadata"]["annotations"] = {SCRIPTS_CHECKSUM_ANNOTATION: wiring.scripts_sha256}
    return spec
