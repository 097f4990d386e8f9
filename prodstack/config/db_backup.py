"""Verified database backups: where the database is, where backups go, and when the backup and
restore-check jobs run. Documented key by key in docs/components/db-backup.md."""

from __future__ import annotations

import re
import zoneinfo
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from prodstack.config.app import ResourceAmounts, Resources, image_is_pinned, validate_image
from prodstack.config.base import ConfigModel, Violation, raise_violations
from prodstack.config.cron import check_schedule
from prodstack.config.types import (
    Duration,
    MemoryQuantity,
    NonNegativeInt,
    Port,
    PositiveInt,
    bounded,
    duration_seconds,
    matching,
    memory_bytes,
    shown,
)
from prodstack.config.vault_secrets import (
    VERIFYING_SSL_MODES,
    PemCertificates,
    SslMode,
    VaultCaProvider,
    VaultConfig,
    VaultName,
    VaultPath,
    VaultServer,
)

_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.\-]*[A-Za-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_PREFIX = re.compile(r"^([A-Za-z0-9._-]+/)+$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]$")
_SCRATCH_DATABASE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_VAULT_KEY = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")
_OIDC_PROVIDER_ARN = re.compile(
    r"^arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:oidc-provider/(?P<issuer>\S+)$"
)
_KMS_KEY_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/\S+$")
Job = Literal["backup", "restore-check"]
# The jobs' keys in the configuration (dbBackup.backup, dbBackup.restoreCheck).
JOB_KEYS: dict[Job, str] = {"backup": "backup", "restore-check": "restoreCheck"}


# Kubernetes' own check of spec.timeZone (pkg/apis/batch/validation ``validateTimeZone``): each
# part of the name matches this, is not '.' or '..' and does not start with '-'; 'Local' is
# refused; the zone must load. Checked in that order here too, so that a long name is refused
# before zoneinfo tries it as a file name.
_TIME_ZONE_PART = re.compile(r"^[A-Za-z.\-_0-9+]{1,14}$")


def _check_time_zone(value: str) -> str:
    message = f"{shown(value)} is not an IANA time zone (e.g. Etc/UTC, Europe/Berlin)"
    parts = value.split("/")
    if any(p in (".", "..") or p.startswith("-") or not _TIME_ZONE_PART.match(p) for p in parts):
        raise ValueError(message)
    if value.lower() == "local":
        raise ValueError(f"{message}: Kubernetes refuses Local, name the zone")
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(message) from None
    return value


Host = Annotated[str, matching(_HOST, "is not a host name or IP address")]
SecretName = Annotated[
    str,
    Field(max_length=253),
    matching(_DNS_SUBDOMAIN, "is not a Kubernetes object name (lower-case DNS subdomain)"),
]
SecretKey = Annotated[
    str,
    Field(max_length=253),
    matching(_KEY, "is not a Secret/ConfigMap key (letters, digits, '-', '_', '.')"),
]
PostgresName = Annotated[str, Field(min_length=1, max_length=63, pattern=r"^[^\x00-\x1f]+$")]
Schedule = Annotated[str, AfterValidator(check_schedule)]
# S3 lifecycle rules count in days; a century is the most any backup setting needs.
MAX_DAYS = 36500
Days = Annotated[PositiveInt, bounded(1, MAX_DAYS, "a century (the most prodstack accepts)")]
TimeZone = Annotated[str, AfterValidator(_check_time_zone)]


class KeyRef(ConfigModel):
    """One key of a Secret in the app's namespace that something else creates."""

    name: SecretName
    key: SecretKey


class VaultRef(ConfigModel):
    """A property of a Vault KV secret, fetched by External Secrets through the job's own store."""

    key: Annotated[
        str, matching(_VAULT_KEY, "is not a Vault secret path (e.g. production/database)")
    ]
    property: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9._-]+$")] = "password"


class PasswordSource(ConfigModel):
    """Where a job's database password comes from: ``vault`` (DbBackup creates the
    ExternalSecret) or ``secret`` (an existing Secret). Either way it is mounted as a file."""

    vault: VaultRef | None = None
    secret: KeyRef | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> PasswordSource:
        if (self.vault is None) == (self.secret is None):
            raise_violations(
                [Violation(("vault",), "give exactly one of vault or secret as the password")]
            )
        return self


class JobVaultRoles(ConfigModel):
    """The Vault roles the jobs log in as, one per job: each is bound in Vault to that job's
    service account only (``<app>-db-backup``, ``<app>-db-restore-check``) and grants read on
    that job's password only (docs/components/db-backup.md#vault)."""

    backup: VaultName | None = None
    restore_check: VaultName | None = None


class JobsVault(ConfigModel):
    """How the jobs read their passwords from Vault: through SecretStores of their own, each
    logging in (Kubernetes auth) as its job's service account with its job's role, so that no
    other workload's Vault role ever needs the backup user's password.

    The connection (``server``, ``kvMount``, ``namespace``, ``authMount``, ``audiences``, the
    CA, ``storeKind``) is the service's ``vaultSecrets.vault`` for each key left out.
    """

    roles: JobVaultRoles
    server: VaultServer | None = None
    kv_mount: VaultPath | None = None
    namespace: VaultPath | None = None
    auth_mount: VaultPath | None = None
    audiences: (
        Annotated[tuple[Annotated[str, Field(min_length=1)], ...], Field(min_length=1)] | None
    ) = None
    ca_bundle: PemCertificates | None = None
    ca_provider: VaultCaProvider | None = None
    store_kind: Literal["SecretStore", "ClusterSecretStore"] | None = None
    refresh_interval: Duration = "1h"

    def connection(self, base: VaultConfig | None, role: str) -> VaultConfig | None:
        """The Vault connection of the job whose role is ``role``: this section's keys over
        ``base`` (the app's), or None when neither names the server."""
        own = self.model_dump(
            exclude={"roles", "refresh_interval"}, exclude_none=True, by_alias=False
        )
        if "ca_bundle" in own or "ca_provider" in own:  # the CA is one setting, not two
            own.setdefault("ca_bundle", None)
            own.setdefault("ca_provider", None)
        values = {} if base is None else base.model_dump(by_alias=False)
        values.update(own, role=role)
        if values.get("server") is None:
            return None
        return VaultConfig.model_validate(values)


class DatabaseConnection(ConfigModel):
    """How a job reaches PostgreSQL. The password is mounted as a file, never put in an
    environment variable. ``sslMode`` is libpq's; the verifying modes need ``sslRootCert``,
    the path of the CA bundle that signed the server's certificate inside the image (for RDS,
    the region's or the global bundle). Production requires ``verify-full`` unless
    ``allowUnverifiedTls`` says otherwise on purpose."""

    host: Host
    port: Port = 5432
    database: PostgresName
    user: PostgresName
    password: PasswordSource
    ssl_mode: SslMode = "verify-full"
    ssl_root_cert: Annotated[str, Field(pattern=r"^/[^\s]+$")] | None = None
    allow_unverified_tls: bool = False

    @property
    def verified(self) -> bool:
        """The job checks the server's certificate and its name against a named CA."""
        return self.ssl_mode == "verify-full"

    @model_validator(mode="after")
    def _verifying_modes_need_a_ca(self) -> DatabaseConnection:
        if self.ssl_mode in VERIFYING_SSL_MODES and self.ssl_root_cert is None:
            raise_violations(
                [
                    Violation(
                        ("sslRootCert",),
                        f"sslMode {self.ssl_mode} checks the server's certificate: give the "
                        "path of its CA bundle in the image, or set sslMode: require to "
                        "encrypt without checking the server",
                    )
                ]
            )
        return self


class SourceDatabase(DatabaseConnection):
    """The database backed up. ``readHost`` (and ``readPort``) name a hot standby the backup
    job reads from instead of ``host``, keeping the dump's load off the primary; it must be one
    server (an instance endpoint, not a load-balanced reader endpoint): the dump's snapshot
    lives on the server that exported it. ``host`` stays the restore check's default target."""

    read_host: Host | None = None
    read_port: Port | None = None

    @model_validator(mode="after")
    def _read_port_needs_a_read_host(self) -> SourceDatabase:
        if self.read_port is not None and self.read_host is None:
            raise_violations(
                [
                    Violation(
                        ("readPort",),
                        "readPort is the port of readHost: give readHost too, or remove it",
                    )
                ]
            )
        return self

    @property
    def backup_endpoint(self) -> tuple[str, int]:
        """Where the backup job connects: the read replica when there is one."""
        if self.read_host is None:
            return self.host, self.port
        return self.read_host, self.read_port or self.port


class RestoreTarget(DatabaseConnection):
    """The server the restore check restores into; ``database`` is the maintenance database it
    connects to in order to create and drop the scratch database."""

    database: PostgresName = "postgres"


class BackupBucket(ConfigModel):
    """The S3 bucket: versioned, encrypted, private, TLS-only; its lifecycle rules expire only
    superseded backups (``retentionDays`` after they were made)."""

    name: (
        Annotated[
            str,
            matching(
                _BUCKET, "is not an S3 bucket name (3-63 lower-case letters, digits, '.', '-')"
            ),
        ]
        | None
    ) = None
    region: Annotated[str, matching(_REGION, "is not an AWS region (e.g. us-west-2)")]
    prefix: Annotated[
        str,
        matching(_PREFIX, "must be path segments ending in '/' (letters, digits, '.', '_', '-')"),
    ] = "database/"
    retention_days: Days = 30
    noncurrent_version_days: Days = 7
    abort_incomplete_upload_days: Days = 1
    kms_key_arn: (
        Annotated[
            str,
            matching(
                _KMS_KEY_ARN, "is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)"
            ),
        ]
        | None
    ) = None
    protect: bool = True


class JobSecurity(ConfigModel):
    """The restricted Pod Security profile. A high uid keeps clear of the node's own users;
    the image's tools must run as it (they need no home: ``HOME`` is the scratch volume)."""

    run_as_user: Annotated[int, Field(ge=1)] = 10001
    run_as_group: Annotated[int, Field(ge=1)] = 10001
    fs_group: Annotated[int, Field(ge=1)] = 10001


class EphemeralStorage(ConfigModel):
    """The job container's ``ephemeral-storage`` request and limit: the scheduler places the pod
    where the node has that much disk, and the kubelet evicts this pod (never the app's) when
    it writes more. The jobs stream the dump; they write only small files and their logs."""

    request: MemoryQuantity = "128Mi"
    limit: MemoryQuantity = "256Mi"

    @model_validator(mode="after")
    def _request_within_limit(self) -> EphemeralStorage:
        if memory_bytes(self.request) > memory_bytes(self.limit):
            raise_violations(
                [Violation(("request",), f"{self.request} is more than the limit {self.limit}")]
            )
        return self


_JOB_RESOURCES = Resources(
    requests=ResourceAmounts(cpu="250m", memory="256Mi"),
    limits=ResourceAmounts(cpu="1", memory="1Gi"),
)


class JobSchedule(ConfigModel):
    """When a job runs and how the CronJob controller treats it."""

    schedule: Schedule
    time_zone: TimeZone = "Etc/UTC"
    suspend: bool = False
    starting_deadline_seconds: Annotated[int, Field(ge=10)] = 3600
    active_deadline_seconds: PositiveInt = 3600
    backoff_limit: NonNegativeInt = 2
    successful_jobs_history_limit: NonNegativeInt = 7
    failed_jobs_history_limit: NonNegativeInt = 3
    scratch_size: MemoryQuantity = "64Mi"
    ephemeral_storage: EphemeralStorage = EphemeralStorage()
    resources: Resources = _JOB_RESOURCES

    @model_validator(mode="after")
    def _scratch_within_storage_limit(self) -> JobSchedule:
        if memory_bytes(self.scratch_size) > memory_bytes(self.ephemeral_storage.limit):
            raise_violations(
                [
                    Violation(
                        ("scratchSize",),
                        f"{self.scratch_size} is more than ephemeralStorage.limit "
                        f"{self.ephemeral_storage.limit}, which the scratch volume counts "
                        "against; the jobs stream the dump, 64Mi is plenty",
                    )
                ]
            )
        return self


class BackupJob(JobSchedule):
    """The nightly pg_dump to S3. Tables up to ``exactCountMaxSize`` (their main fork, as
    ``pg_relation_size``) are counted exactly inside the dump's snapshot; larger ones get the
    catalog's estimate (``pg_class.reltuples``), so no huge table is scanned twice."""

    schedule: Schedule = "0 2 * * *"
    exact_count_max_size: MemoryQuantity = "1Gi"

    @property
    def exact_count_max_bytes(self) -> int:
        return memory_bytes(self.exact_count_max_size)


class RestoreCheckJob(JobSchedule):
    """Restores the latest backup into a scratch database and compares row counts.

    ``database`` is the server to restore into (default: the backup's server, connecting to
    its ``postgres`` database); ``maxBackupAge`` fails the check when the latest backup is
    older (null: no limit). A table the backup only estimated passes when its restored count is
    within ``estimateTolerancePercent`` of the estimate or ``estimateToleranceRows`` of it,
    whichever allows more.
    """

    schedule: Schedule = "0 5 * * *"
    database: RestoreTarget | None = None
    scratch_database: Annotated[
        str,
        matching(_SCRATCH_DATABASE, "must be lower-case letters, digits and '_' (<= 63)"),
    ] = "prodstack_restore_check"
    max_backup_age: Duration | None = "26h"
    estimate_tolerance_percent: Annotated[int, Field(ge=0, le=100)] = 20
    estimate_tolerance_rows: NonNegativeInt = 1000

    @property
    def max_backup_age_seconds(self) -> int:
        return 0 if self.max_backup_age is None else duration_seconds(self.max_backup_age)


class DbBackupConfig(ConfigModel):
    """Scheduled, verified logical backups of one PostgreSQL database to S3.

    ``image`` must hold bash, coreutils, the PostgreSQL client tools (pg_dump, pg_restore, psql)
    of the server's major version or newer, and the AWS CLI. ``oidcProviderArn`` is the EKS
    cluster's IAM OIDC provider (IRSA).
    """

    image: Annotated[str, Field(min_length=1)]
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"
    oidc_provider_arn: Annotated[
        str,
        matching(
            _OIDC_PROVIDER_ARN,
            "is not an IAM OIDC provider ARN "
            "(arn:aws:iam::<account>:oidc-provider/oidc.eks.<region>.amazonaws.com/id/<id>)",
        ),
    ]
    database: SourceDatabase
    bucket: BackupBucket
    vault: JobsVault | None = None
    backup: BackupJob = BackupJob()
    restore_check: RestoreCheckJob = RestoreCheckJob()
    security: JobSecurity = JobSecurity()

    @field_validator("image")
    @classmethod
    def _check_image(cls, image: str) -> str:
        return validate_image(image)

    @property
    def oidc_issuer(self) -> str:
        """The provider's issuer without ``https://``: the prefix of its condition keys."""
        match = _OIDC_PROVIDER_ARN.match(self.oidc_provider_arn)
        assert match is not None  # validated above
        return match.group("issuer")

    def iam_role_arn(self, role_name: str) -> str:
        """The ARN of a role of this cluster's account (the OIDC provider's partition and
        account), known before the role exists."""
        match = re.match(
            r"^arn:(?P<partition>[^:]+):iam::(?P<account>[0-9]{12}):", self.oidc_provider_arn
        )
        assert match is not None  # validated
        return f"arn:{match['partition']}:iam::{match['account']}:role/{role_name}"

    @property
    def restore_target(self) -> RestoreTarget:
        """Where the restore check restores: its own server, or the backup's."""
        if self.restore_check.database is not None:
            return self.restore_check.database
        source = self.database.model_dump(exclude={"database", "read_host", "read_port"})
        return RestoreTarget.model_validate(source)

    def vault_passwords(self) -> dict[Job, VaultRef]:
        """The passwords that come from Vault, by the job that reads each one (the restore
        check reads the backup's when it restores into the backup's server)."""
        sources: dict[Job, PasswordSource] = {
            "backup": self.database.password,
            "restore-check": self.restore_target.password,
        }
        return {job: source.vault for job, source in sources.items() if source.vault is not None}

    def vault_role(self, job: Job) -> str | None:
        if self.vault is None:
            return None
        return self.vault.roles.backup if job == "backup" else self.vault.roles.restore_check

    def job_vault(self, job: Job, app_vault: VaultConfig | None) -> VaultConfig | None:
        """The Vault connection ``job`` logs in with (its role, this section's connection
        over the app's ``app_vault``); None when it has no role or no server is known."""
        role = self.vault_role(job)
        if self.vault is None or role is None:
            return None
        return self.vault.connection(app_vault, role)

    @model_validator(mode="before")
    @classmethod
    def _no_shared_store(cls, data: object) -> object:
        if isinstance(data, dict) and "secretStore" in data:
            raise_violations(
                [
                    Violation(
                        ("secretStore",),
                        "the jobs no longer read Vault through another workload's store: each "
                        "logs in as its own service account. Replace secretStore with vault: "
                        "{roles: {backup: <role bound to <app>-db-backup>, restoreCheck: <role "
                        "bound to <app>-db-restore-check>}} (docs/components/db-backup.md#vault)",
                    )
                ]
            )
        return data

    @model_validator(mode="after")
    def _rules(self) -> DbBackupConfig:
        violations: list[Violation] = []
        for job in self.vault_passwords():
            key = JOB_KEYS[job]
            if self.vault is None:
                violations.append(
                    Violation(
                        ("vault",),
                        f"the {job} password comes from Vault: give vault.roles.{key}, the "
                        f"Vault role bound to the job's own service account (<app>-db-{job})",
                    )
                )
                break
            if self.vault_role(job) is None:
                violations.append(
                    Violation(
                        ("vault", "roles", key),
                        f"the {job} password comes from Vault: name the Vault role bound to "
                        f"the job's own service account (<app>-db-{job})",
                    )
                )
        roles = self.vault.roles if self.vault is not None else None
        if roles is not None and roles.backup is not None and roles.backup == roles.restore_check:
            violations.append(
                Violation(
                    ("vault", "roles", "restoreCheck"),
                    f"{roles.restore_check!r} is the backup's role too: one identity per job, "
                    "so the restore check gets a role of its own, bound to its own account",
                )
            )
        target = self.restore_target
        if self.restore_check.scratch_database in (self.database.database, target.database):
            violations.append(
                Violation(
                    ("restoreCheck", "scratchDatabase"),
                    f"{self.restore_check.scratch_database!r} names a real database; the "
                    "restore check creates and drops its scratch database, pick another name",
                )
            )
        raise_violations(violations)
        return self

    def production_violations(self) -> list[Violation]:
        """Rules of the production environment, paths relative to this section."""
        violations = []
        if not image_is_pinned(self.image):
            violations.append(
                Violation(
                    ("image",),
                    "production images must be pinned by digest (name@sha256:<64 hex>)",
                )
            )
        if not self.bucket.protect:
            violations.append(
                Violation(
                    ("bucket", "protect"),
                    "the production backup bucket stays protected from deletion; remove the "
                    "key (to delete it on purpose, `pulumi state unprotect` it first)",
                )
            )
        # The restore check without a database of its own connects as the backup does.
        connections: list[tuple[tuple[str, ...], DatabaseConnection]] = [
            (("database",), self.database)
        ]
        if self.restore_check.database is not None:
            connections.append((("restoreCheck", "database"), self.restore_check.database))
        for path, connection in connections:
            if not connection.verified and not connection.allow_unverified_tls:
                violations.append(
                    Violation(
                        (*path, "sslMode"),
                        f"production refuses sslMode {connection.ssl_mode}, which does not "
                        "check the server's certificate and name: set sslMode: verify-full "
                        "with sslRootCert, or allowUnverifiedTls: true to connect without "
                        "verifying on purpose",
                    )
                )
        return violations
