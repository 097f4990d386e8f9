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
    Job,
    JobSchedule,
    VaultRef,
)
from prodstack.specs.pod import (
    Manifest,
    container_security_context,
    pod_security_context,
    resource_requirements,
)
from prodstack.specs.vault_secrets import read_policy

SCRIPT_FILES = ("common.sh", "backup.sh", "restore-check.sh")
SCRIPTS_DIR = "/opt/prodstack/scripts"
SCRATCH_DIR = "/scratch"
PASSWORD_DIR = "/var/run/secrets/prodstack/db"
PASSWORD_FILE = "password"
# The key of the Secret each job's ExternalSecret produces.
CREDENTIAL_KEYS = {"backup": "backup-password", "restore-check": "restore-check-password"}
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
    """Names and cloud values a job's pod refers to. ``credentials_secret`` is the Secret that
    the job's own ExternalSecret produces (used when its password comes from Vault)."""

    service_account: str
    scripts_config_map: str
    bucket_name: Any
    role_arn: Any
    scripts_sha256: str
    credentials_secret: str


def credentials_external_secret_spec(
    job: Job, *, store: Manifest, refresh_interval: str, secret_name: str, password: VaultRef
) -> Manifest:
    """External Secrets ``v1``: one job's password from Vault into a Secret of its own, read
    through ``store`` (``secretStoreRef``), the job's own. Kept when the Vault path disappears
    (``Retain``), so a mistake in Vault does not stop the backups."""
    return {
        "refreshInterval": refresh_interval,
        "secretStoreRef": dict(store),
        "target": {"name": secret_name, "creationPolicy": "Owner", "deletionPolicy": "Retain"},
        "data": [
            {
                "secretKey": CREDENTIAL_KEYS[job],
                "remoteRef": {"key": password.key, "property": password.property},
            }
        ],
    }


def job_vault_policy(
    job: Job, *, kv_mount: str, password: VaultRef, account: str, namespace: str
) -> str:
    """The Vault policy (HCL) of a job's role: read on its one password path, nothing else."""
    return read_policy(
        kv_mount,
        [password.key],
        f"{account} in namespace {namespace} ({job} job): read-only, its password only.",
    )


def password_ref(database: DatabaseConnection, job: str, wiring: JobWiring) -> tuple[str, str]:
    """The Secret and key a job's password is mounted from."""
    secret = database.password.secret
    if secret is not None:
        return secret.name, secret.key
    return wiring.credentials_secret, CREDENTIAL_KEYS[job]


def _database_env(database: DatabaseConnection, endpoint: tuple[str, int]) -> list[Manifest]:
    host, port = endpoint
    env = [
        {"name": "PGHOST", "value": host},
        {"name": "PGPORT", "value": str(port)},
        {"name": "PGDATABASE", "value": database.database},
        {"name": "PGUSER", "value": database.user},
        {"name": "PGSSLMODE", "value": database.ssl_mode},
        {"name": "PGPASSWORD_FILE", "value": f"{PASSWORD_DIR}/{PASSWORD_FILE}"},
    ]
    if database.ssl_root_cert is not None:
        env.append({"name": "PGSSLROOTCERT", "value": database.ssl_root_cert})
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


def _volumes(password: tuple[str, str], job: JobSchedule, wiring: JobWiring) -> list[Manifest]:
    secret_name, secret_key = password
    return [
        {
            "name": "scripts",
            "configMap": {"name": wiring.scripts_config_map, "defaultMode": 0o444},
        },
        {
            "name": "db-password",
            "secret": {
                "secretName": secret_name,
                "items": [{"key": secret_key, "path": PASSWORD_FILE}],
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


MOUNTS: list[Manifest] = [
    {"name": "scripts", "mountPath": SCRIPTS_DIR, "readOnly": True},
    {"name": "db-password", "mountPath": PASSWORD_DIR, "readOnly": True},
    {"name": "scratch", "mountPath": SCRATCH_DIR},
    {"name": AWS_TOKEN_VOLUME, "mountPath": AWS_TOKEN_DIR, "readOnly": True},
]


def job_resources(job: JobSchedule) -> Manifest:
    """CPU and memory as configured, plus ``ephemeral-storage``: the scheduler counts the pod's
    disk (its scratch volume and logs) and the kubelet evicts only this pod if it writes more."""
    resources = resource_requirements(job.resources)
    resources["requests"]["ephemeral-storage"] = job.ephemeral_storage.request
    resources["limits"]["ephemeral-storage"] = job.ephemeral_storage.limit
    return resources


def job_pod_spec(
    config: DbBackupConfig,
    *,
    script: str,
    job_name: str,
    database: DatabaseConnection,
    job: JobSchedule,
    wiring: JobWiring,
    endpoint: tuple[str, int] | None = None,
    extra_env: list[Manifest] | None = None,
) -> Manifest:
    """A pod that runs one script once: restricted profile, read-only root, a small scratch
    volume (the dump streams, it never lands there), the password as a file, and only the IRSA
    token (no Kubernetes API token). ``endpoint`` overrides the database's host and port."""
    env = [
        *_database_env(database, endpoint or (database.host, database.port)),
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
        "securityContext": pod_security_context(config.security),
        "containers": [
            {
                "name": job_name,
                "image": config.image,
                "imagePullPolicy": config.image_pull_policy,
                "command": ["/bin/bash", f"{SCRIPTS_DIR}/{script}"],
                "env": env,
                "resources": job_resources(job),
                "securityContext": container_security_context(config.security),
                "volumeMounts": [dict(mount) for mount in MOUNTS],
            }
        ],
        "volumes": _volumes(password_ref(database, job_name, wiring), job, wiring),
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
        job_name="backup",
        database=config.database,
        job=config.backup,
        wiring=wiring,
        endpoint=config.database.backup_endpoint,
        extra_env=[
            {
                "name": "BACKUP_EXACT_COUNT_MAX_BYTES",
                "value": str(config.backup.exact_count_max_bytes),
            }
        ],
    )
    return _annotated(cron_job_spec(config.backup, labels, pod), wiring)


def restore_check_cron_job_spec(
    config: DbBackupConfig, labels: dict[str, str], wiring: JobWiring
) -> Manifest:
    check = config.restore_check
    pod = job_pod_spec(
        config,
        script="restore-check.sh",
        job_name="restore-check",
        database=config.restore_target,
        job=check,
        wiring=wiring,
        extra_env=[
            {"name": "RESTORE_DATABASE", "value": check.scratch_database},
            {"name": "BACKUP_MAX_AGE_SECONDS", "value": str(check.max_backup_age_seconds)},
            {
                "name": "RESTORE_ESTIMATE_TOLERANCE_PERCENT",
                "value": str(check.estimate_tolerance_percent),
            },
            {
                "name": "RESTORE_ESTIMATE_TOLERANCE_ROWS",
                "value": str(check.estimate_tolerance_rows),
            },
        ],
    )
    return _annotated(cron_job_spec(check, labels, pod), wiring)


def _annotated(spec: Manifest, wiring: JobWiring) -> Manifest:
    """A changed script shows in the CronJob's diff, not only in its ConfigMap's."""
    template = spec["jobTemplate"]["spec"]["template"]
    template["metadata"]["annotations"] = {SCRIPTS_CHECKSUM_ANNOTATION: wiring.scripts_sha256}
    return spec
