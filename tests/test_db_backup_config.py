"""The dbBackup configuration: the stacks' values, defaults, and every rule naming its key."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from prodstack.config import parse_environment
from tests.support.stacks import (
    API,
    WEB,
    WORKER,
    key,
    problems,
    raw_config,
    service_config,
    svc,
)

Change = Callable[[dict[str, Any]], None]


def setting(path: str, value: Any) -> Change:
    """A change that sets ``dbBackup.<path>`` (dotted) to ``value``; None deletes the key."""

    def change(raw: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = svc(raw)["dbBackup"]
        for part in parents:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value

    return change


def test_only_the_api_backs_up_a_database() -> None:
    for stack in ("dev", "staging", "production"):
        env = parse_environment(raw_config(stack))
        assert [name for name, s in env.services.items() if s.db_backup is not None] == [API]
        assert env.services[WORKER].db_backup is None and env.services[WEB].db_backup is None


def test_production_follows_the_reference() -> None:
    config = parse_environment(raw_config("production")).services[API].db_backup
    assert config is not None
    assert config.backup.schedule == "0 2 * * *"
    assert config.backup.successful_jobs_history_limit == 7
    assert config.backup.failed_jobs_history_limit == 3
    assert config.bucket.retention_days == 30
    assert config.bucket.prefix == "database/"
    assert config.bucket.protect is True
    assert config.restore_check.database is not None  # a separate server, as in the reference
    assert config.oidc_issuer == (
        "oidc.eks.us-west-2.amazonaws.com/id/5C0FFEE5C0FFEE5C0FFEE5C0FFEE5C0F"
    )
    # Each job logs in to Vault as itself, with the role the stack names for it.
    assert config.vault is not None
    assert (config.vault.roles.backup, config.vault.roles.restore_check) == (
        "production-shop-api-db-backup",
        "production-shop-api-db-restore-check",
    )


def test_defaults_are_safe() -> None:
    def minimal(raw: dict[str, Any]) -> None:
        section = svc(raw)["dbBackup"]
        svc(raw)["dbBackup"] = {
            "image": section["image"],
            "oidcProviderArn": section["oidcProviderArn"],
            "database": {
                **section["database"],
                "password": {"secret": {"name": "shop-db", "key": "password"}},
            },
            "bucket": {"region": "us-west-2"},
        }

    config = service_config("staging", minimal).db_backup
    assert config is not None
    assert config.bucket.protect is True
    assert config.bucket.kms_key_arn is None
    assert (config.bucket.retention_days, config.bucket.noncurrent_version_days) == (30, 7)
    assert config.backup.schedule == "0 2 * * *"
    assert config.restore_check.schedule == "0 5 * * *"
    assert config.restore_check.max_backup_age == "26h"
    assert config.backup.time_zone == "Etc/UTC"
    assert config.restore_target.database == "postgres"
    assert config.restore_target.host == config.database.host
    assert config.restore_target.password == config.database.password
    assert config.vault is None  # no password from Vault, no Vault login
    # Streaming: a small scratch volume, counted by the scheduler as ephemeral storage.
    for job in (config.backup, config.restore_check):
        assert job.scratch_size == "64Mi"
        assert (job.ephemeral_storage.request, job.ephemeral_storage.limit) == ("128Mi", "256Mi")
    assert config.backup.exact_count_max_bytes == 1024**3
    assert (
        config.restore_check.estimate_tolerance_percent,
        config.restore_check.estimate_tolerance_rows,
    ) == (20, 1000)
    assert config.database.read_host is None
    assert config.database.backup_endpoint == (config.database.host, config.database.port)
    assert (config.security.run_as_user, config.security.run_as_group) == (10001, 10001)


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        (setting("image", "registry.example.com/pg-backup:15"), "image", "pinned by digest"),
        (setting("bucket.protect", False), "bucket.protect", "stays protected"),
    ],
)
def test_production_rules(change: Change, field: str, fragment: str) -> None:
    found = problems("production", change)
    assert list(found) == [key(f"dbBackup.{field}")]
    assert fragment in found[key(f"dbBackup.{field}")]


def test_staging_may_use_a_tag_and_dev_an_unprotected_bucket() -> None:
    tag = "registry.example.com/platform/pg-backup:15"
    staging = service_config("staging", setting("image", tag)).db_backup
    dev = parse_environment(raw_config("dev")).services[API].db_backup
    assert staging is not None and staging.image == tag
    assert dev is not None and dev.bucket.protect is False


@pytest.mark.parametrize(
    ("path", "value", "field", "fragment"),
    [
        ("image", "pg-backup", "image", "name a tag or a digest"),
        ("oidcProviderArn", "arn:aws:iam::1:role/x", "oidcProviderArn", "OIDC provider ARN"),
        ("database.host", "db host", "database.host", "host name"),
        ("database.port", 0, "database.port", "greater than or equal to 1"),
        (
            "database.password",
            {"secret": {"name": "Shop_DB", "key": "pw"}},
            "database.password.secret.name",
            "object name",
        ),
        ("database.password", {}, "database.password.vault", "exactly one of vault or secret"),
        (
            "database.password.secret",
            {"name": "db", "key": "pw"},
            "database.password.vault",
            "exactly one",
        ),
        (
            "database.password.vault",
            {"key": "/abs"},
            "database.password.vault.key",
            "Vault secret path",
        ),
        ("vault.roles.backup", "bad role!", "vault.roles.backup", "not a Vault name"),
        ("vault.storeKind", "VaultStore", "vault.storeKind", "'ClusterSecretStore'"),
        ("vault.server", "http://vault", "vault.server", "https URL"),
        ("vault.rules", {}, "vault.rules", "did you mean 'roles'"),
        ("database.sslRootCert", None, "database.sslRootCert", "sslMode: require"),
        ("database.sslRootCert", "certs/ca.pem", "database.sslRootCert", "should match pattern"),
        ("database.sslMode", "sometimes", "database.sslMode", "'verify-full'"),
        ("bucket.name", "Shop_Backups", "bucket.name", "S3 bucket name"),
        ("bucket.region", "west", "bucket.region", "AWS region"),
        ("bucket.prefix", "database", "bucket.prefix", "ending in '/'"),
        ("bucket.prefix", "/database/", "bucket.prefix", "ending in '/'"),
        ("bucket.prefix", "", "bucket.prefix", "ending in '/'"),
        ("bucket.retentionDays", 0, "bucket.retentionDays", "greater than or equal to 1"),
        ("bucket.kmsKeyArn", "my-key", "bucket.kmsKeyArn", "KMS key ARN"),
        ("backup.schedule", "every night", "backup.schedule", "five fields"),
        ("backup.schedule", "TZ=UTC 0 2 * * *", "backup.schedule", "timeZone"),
        ("backup.timeZone", "Mars/Olympus", "backup.timeZone", "IANA time zone"),
        ("backup.startingDeadlineSeconds", 5, "backup.startingDeadlineSeconds", "10"),
        ("backup.scratchSize", "lots", "backup.scratchSize", "memory quantity"),
        ("backup.scratchSize", "10Gi", "backup.scratchSize", "the jobs stream the dump"),
        (
            "restoreCheck.ephemeralStorage",
            {"request": "1Gi", "limit": "512Mi"},
            "restoreCheck.ephemeralStorage.request",
            "more than the limit 512Mi",
        ),
        ("backup.ephemeralStorage.limit", "a lot", "backup.ephemeralStorage.limit", "quantity"),
        ("backup.exactCountMaxSize", "big", "backup.exactCountMaxSize", "memory quantity"),
        ("restoreCheck.exactCountMaxSize", "1Gi", "restoreCheck.exactCountMaxSize", "unknown key"),
        (
            "restoreCheck.estimateTolerancePercent",
            150,
            "restoreCheck.estimateTolerancePercent",
            "less than or equal to 100",
        ),
        ("restoreCheck.estimateToleranceRows", -1, "restoreCheck.estimateToleranceRows", "0"),
        ("database.readPort", 5433, "database.readPort", "give readHost too"),
        ("database.readHost", "replica_1", "database.readHost", "host name"),
        (
            "restoreCheck.database.readHost",
            "r.internal",
            "restoreCheck.database.readHost",
            "unknown key",
        ),
        (
            "backup.resources",
            {"requests": {"cpu": "2", "memory": "1Gi"}},
            "backup.resources.requests.cpu",
            "above limits.cpu",
        ),
        ("restoreCheck.scratchDatabase", "Scratch", "restoreCheck.scratchDatabase", "lower-case"),
        ("restoreCheck.scratchDatabase", "shop", "restoreCheck.scratchDatabase", "real database"),
        (
            "restoreCheck.scratchDatabase",
            "postgres",
            "restoreCheck.scratchDatabase",
            "real database",
        ),
        ("restoreCheck.maxBackupAge", "1d", "restoreCheck.maxBackupAge", "duration"),
        ("restoreCheck.database.user", "", "restoreCheck.database.user", "at least 1"),
        ("security.runAsUser", 0, "security.runAsUser", "greater than or equal to 1"),
        ("backupp", {}, "backupp", "did you mean 'backup'"),
    ],
)
def test_bad_values_name_their_key(path: str, value: Any, field: str, fragment: str) -> None:
    found = problems("staging", setting(path, value))
    assert fragment in found[key(f"dbBackup.{field}")], found


def test_the_shared_store_of_0_1_is_refused_with_the_move() -> None:
    found = problems("production", setting("secretStore", {"name": "shop-api-vault"}))
    message = found[key("dbBackup.secretStore")]
    assert "its own service account" in message and "vault: {roles:" in message


def test_each_vault_password_needs_its_jobs_own_role() -> None:
    found = problems("production", setting("vault", None))
    assert list(found) == [key("dbBackup.vault")]
    assert "vault.roles.backup" in found[key("dbBackup.vault")]

    found = problems("production", setting("vault.roles", {"backup": "production-backup"}))
    assert list(found) == [key("dbBackup.vault.roles.restoreCheck")]
    assert "<app>-db-restore-check" in found[key("dbBackup.vault.roles.restoreCheck")]

    # A job whose password is a Secret needs no role.
    def restore_from_a_secret(raw: dict[str, Any]) -> None:
        restore = svc(raw)["dbBackup"]["restoreCheck"]["database"]
        restore["password"] = {"secret": {"name": "restore-db", "key": "password"}}
        svc(raw)["dbBackup"]["vault"]["roles"] = {"backup": "production-backup"}

    config = service_config("production", restore_from_a_secret).db_backup
    assert config is not None and list(config.vault_passwords()) == ["backup"]


@pytest.mark.parametrize(
    ("role_key", "job"), [("backup", "backup"), ("restoreCheck", "restore-check")]
)
def test_no_job_logs_in_as_the_app(role_key: str, job: str) -> None:
    found = problems("production", setting(f"vault.roles.{role_key}", "production-shop-api"))
    message = found[key(f"dbBackup.vault.roles.{role_key}")]
    assert "is the app's Vault role" in message and f"<app>-db-{job}" in message


def test_the_jobs_do_not_share_a_role() -> None:
    change = setting("vault.roles.restoreCheck", "production-shop-api-db-backup")
    found = problems("production", change)
    assert "one identity per job" in found[key("dbBackup.vault.roles.restoreCheck")]


def test_the_jobs_share_the_apps_vault_connection_unless_they_set_their_own() -> None:
    api = service_config("production")
    assert api.db_backup is not None and api.vault_secrets is not None
    app = api.vault_secrets.vault
    job = api.db_backup.job_vault("backup", app)
    assert job is not None
    assert job.role == "production-shop-api-db-backup"
    assert job.model_dump(exclude={"role"}) == app.model_dump(exclude={"role"})

    def own_connection(raw: dict[str, Any]) -> None:
        svc(raw)["dbBackup"]["vault"] |= {
            "server": "https://backup-vault.internal:8200",
            "authMount": "kubernetes-backups",
            "storeKind": "ClusterSecretStore",
        }

    api = service_config("production", own_connection)
    assert api.db_backup is not None and api.vault_secrets is not None
    own = api.db_backup.job_vault("restore-check", api.vault_secrets.vault)
    assert own is not None
    assert (own.server, own.auth_mount, own.store_kind, own.kv_mount) == (
        "https://backup-vault.internal:8200",
        "kubernetes-backups",
        "ClusterSecretStore",
        app.kv_mount,
    )


def test_without_vault_secrets_the_jobs_name_their_server() -> None:
    def without_vault_secrets(raw: dict[str, Any]) -> None:
        del svc(raw)["vaultSecrets"]

    found = problems("production", without_vault_secrets)
    assert list(found) == [key("dbBackup.vault.server")]
    assert "configure vaultSecrets" in found[key("dbBackup.vault.server")]

    def own_server(raw: dict[str, Any]) -> None:
        without_vault_secrets(raw)
        svc(raw)["dbBackup"]["vault"]["server"] = "https://vault.company.com"

    config = service_config("production", own_server).db_backup
    assert config is not None
    job = config.job_vault("backup", None)
    assert job is not None and (job.server, job.kv_mount) == ("https://vault.company.com", "secret")


def test_a_read_replica_serves_the_backup_and_never_the_restore() -> None:
    def replica(raw: dict[str, Any]) -> None:
        svc(raw)["dbBackup"]["database"]["readHost"] = "shop-replica.internal"

    config = service_config("staging", replica).db_backup
    assert config is not None
    assert config.database.backup_endpoint == ("shop-replica.internal", config.database.port)
    # The restore check's default target is the primary: a standby cannot take a restore.
    assert config.restore_target.host == config.database.host

    def replica_port(raw: dict[str, Any]) -> None:
        replica(raw)
        svc(raw)["dbBackup"]["database"]["readPort"] = 6432

    other = service_config("staging", replica_port).db_backup
    assert other is not None
    assert other.database.backup_endpoint == ("shop-replica.internal", 6432)


def test_the_restore_target_keeps_its_own_database_default() -> None:
    def own_server(raw: dict[str, Any]) -> None:
        svc(raw)["dbBackup"]["restoreCheck"]["database"] = {
            "host": "restore.internal",
            "user": "restore_check",
            "password": {"secret": {"name": "restore-db", "key": "password"}},
            "sslMode": "require",
        }

    config = service_config("staging", own_server).db_backup
    assert config is not None
    target = config.restore_target
    assert (target.host, target.database, target.port) == ("restore.internal", "postgres", 5432)
    assert config.restore_check.max_backup_age_seconds == 26 * 3600


def test_no_limit_on_backup_age_is_zero_seconds() -> None:
    config = service_config("staging", setting("restoreCheck.maxBackupAge", None))
    assert config.db_backup is not None
    # Removing the key keeps the default; an explicit null switches the check off.
    assert config.db_backup.restore_check.max_backup_age == "26h"

    def explicit_null(raw: dict[str, Any]) -> None:
        svc(raw)["dbBackup"]["restoreCheck"]["maxBackupAge"] = None

    off = service_config("staging", explicit_null).db_backup
    assert off is not None and off.restore_check.max_backup_age_seconds == 0


def test_the_configuration_does_not_import_pulumi_aws() -> None:
    """Only the DbBackup component needs pulumi_aws (large); its configuration does not."""
    code = (
        "import sys, prodstack\n"
        "from prodstack import DbBackupConfig, CanaryApp\n"
        "from prodstack.specs import backup_jobs, backup_storage\n"
        "print('pulumi_aws' in sys.modules)\n"
        "from prodstack import DbBackup\n"
        "print('pulumi_aws' in sys.modules)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert completed.stdout.split() == ["False", "True"]
