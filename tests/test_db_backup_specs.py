"""Pure spec builders of DbBackup: bucket rules, IAM documents, CronJob and pod specs."""

from __future__ import annotations

import fnmatch
import inspect
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from prodstack.config import BackupBucket, DbBackupConfig
from prodstack.specs import backup_jobs, backup_storage
from tests.support.stacks import svc, varied

ARN = "arn:aws:s3:::backups"
segments = st.from_regex(r"[A-Za-z0-9._-]{1,12}", fullmatch=True).filter(
    lambda s: s not in (".", "..")
)
prefixes = st.lists(segments, min_size=1, max_size=3).map(lambda parts: "/".join(parts) + "/")
kms_keys = st.none() | st.just("arn:aws:kms:us-west-2:111122223333:key/abcd-1234")


def bucket(**values: Any) -> BackupBucket:
    return BackupBucket.model_validate({"region": "us-west-2", **values})


def staging_db_backup() -> dict[str, Any]:
    """The API's ``dbBackup`` section in staging, defaults merged in."""
    section: dict[str, Any] = svc(varied("staging", lambda raw: None))["dbBackup"]
    return section


def config(**overrides: Any) -> DbBackupConfig:
    return DbBackupConfig.model_validate({**staging_db_backup(), **overrides})


def allowed(document: dict[str, Any], action: str, resource: str, prefix: str = "") -> bool:
    """A tiny IAM evaluator for the documents here: Allow statements, wildcard resources and
    the s3:prefix StringLike condition of ListBucket."""
    for statement in document["Statement"]:
        actions = statement["Action"]
        actions = [actions] if isinstance(actions, str) else actions
        resources = statement["Resource"]
        resources = [resources] if isinstance(resources, str) else resources
        if action not in actions or not any(fnmatch.fnmatchcase(resource, r) for r in resources):
            continue
        condition = statement.get("Condition", {}).get("StringLike", {}).get("s3:prefix")
        if condition is not None and not any(fnmatch.fnmatchcase(prefix, c) for c in condition):
            continue
        return True
    return False


@given(prefix=prefixes, other=prefixes, key=kms_keys, write=st.booleans())
def test_access_is_confined_to_the_prefix(
    prefix: str, other: str, key: str | None, write: bool
) -> None:
    document = backup_storage.backup_access_policy(
        ARN, bucket(prefix=prefix, kmsKeyArn=key), write=write
    )
    inside = f"{ARN}/{prefix}20250101T020000Z/postgresql.dump"
    assert allowed(document, "s3:GetObject", inside)
    assert allowed(document, "s3:PutObject", inside) is write
    assert allowed(document, "s3:ListBucket", ARN, prefix=prefix)
    if not other.startswith(prefix):
        outside = f"{ARN}/{other}latest"
        assert not allowed(document, "s3:GetObject", outside)
        assert not allowed(document, "s3:PutObject", outside)
        assert not allowed(document, "s3:ListBucket", ARN, prefix=other)
    # Tags drive expiry: the backup job writes them, both jobs read them, on the prefix only.
    assert allowed(document, "s3:GetObjectTagging", inside)
    assert allowed(document, "s3:PutObjectTagging", inside) is write
    if not other.startswith(prefix):
        assert not allowed(document, "s3:PutObjectTagging", f"{ARN}/{other}x/postgresql.dump")
    for action in (
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
        "s3:DeleteObjectTagging",
        "s3:PutObjectVersionTagging",
        "s3:PutBucketPolicy",
        "s3:PutLifecycleConfiguration",
    ):
        assert not allowed(document, action, inside)
    assert all(statement["Effect"] == "Allow" for statement in document["Statement"])


@given(namespace=segments, account=segments)
def test_trust_names_one_service_account(namespace: str, account: str) -> None:
    issuer = "oidc.eks.us-west-2.amazonaws.com/id/ABC"
    provider = f"arn:aws:iam::111122223333:oidc-provider/{issuer}"
    trust = backup_storage.irsa_trust_policy(provider, issuer, namespace, account)
    [statement] = trust["Statement"]
    conditions = statement["Condition"]
    assert list(conditions) == ["StringEquals"]  # exact match, no wildcards
    assert conditions["StringEquals"] == {
        f"{issuer}:sub": f"system:serviceaccount:{namespace}:{account}",
        f"{issuer}:aud": "sts.amazonaws.com",
    }


@given(
    prefix=prefixes,
    days=st.integers(1, 3650),
    noncurrent=st.integers(1, 365),
    abort=st.integers(1, 30),
)
def test_only_superseded_backups_expire(
    prefix: str, days: int, noncurrent: int, abort: int
) -> None:
    expiry, clean_up = backup_storage.lifecycle_rules(
        bucket(
            prefix=prefix,
            retentionDays=days,
            noncurrentVersionDays=noncurrent,
            abortIncompleteUploadDays=abort,
        )
    )
    assert expiry == {
        "id": "expire-superseded-backups",
        "status": "Enabled",
        "filter": {"and_": {"prefix": prefix, "tags": {"prodstack-backup": "superseded"}}},
        "expiration": {"days": days},
    }
    # Everything that needs no tag; S3 refuses tag filters with these actions.
    assert clean_up == {
        "id": "clean-up-backup-prefix",
        "status": "Enabled",
        "filter": {"prefix": prefix},
        "expiration": {"expired_object_delete_marker": True},
        "noncurrent_version_expiration": {"noncurrent_days": noncurrent},
        "abort_incomplete_multipart_upload": {"days_after_initiation": abort},
    }


def test_lifecycle_rules_use_pulumi_aws_argument_names() -> None:
    """The dicts are pulumi-aws v7 input types: every key must be an argument of its type."""
    from pulumi_aws.s3 import _inputs

    types = {
        "rule": _inputs.BucketLifecycleConfigurationRuleArgs,
        "filter": _inputs.BucketLifecycleConfigurationRuleFilterArgs,
        "and_": _inputs.BucketLifecycleConfigurationRuleFilterAndArgs,
        "expiration": _inputs.BucketLifecycleConfigurationRuleExpirationArgs,
        "noncurrent_version_expiration": (
            _inputs.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs
        ),
        "abort_incomplete_multipart_upload": (
            _inputs.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs
        ),
    }

    def check(kind: str, value: dict[str, Any]) -> None:
        parameters = inspect.signature(types[kind].__init__).parameters
        for key, inner in value.items():
            assert key in parameters, f"{key!r} is not an argument of {types[kind].__name__}"
            if isinstance(inner, dict) and key in types:
                check(key, inner)

    for rule in backup_storage.lifecycle_rules(bucket()):
        check("rule", rule)


def test_encryption_is_aes256_unless_a_key_is_named() -> None:
    assert backup_storage.encryption_rule(bucket()) == {
        "apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}
    }
    key = "arn:aws:kms:us-west-2:111122223333:alias/backups"
    assert backup_storage.encryption_rule(bucket(kmsKeyArn=key)) == {
        "apply_server_side_encryption_by_default": {
            "sse_algorithm": "aws:kms",
            "kms_master_key_id": key,
        },
        "bucket_key_enabled": True,
    }


def test_public_access_block_switches_everything_on() -> None:
    assert backup_storage.public_access_block() == dict.fromkeys(
        (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        ),
        True,
    )


def wiring(service_account: str = "orders-db-backup") -> backup_jobs.JobWiring:
    return backup_jobs.JobWiring(
        service_account=service_account,
        scripts_config_map="orders-db-backup-scripts",
        bucket_name="backups",
        role_arn="arn:aws:iam::111122223333:role/backup",
        scripts_sha256="0" * 64,
        credentials_secret="orders-db-backup-credentials",
    )


def password_volume(pod: dict[str, Any]) -> dict[str, Any]:
    volume = next(v for v in pod["volumes"] if v["name"] == "db-password")
    secret: dict[str, Any] = volume["secret"]
    return secret


def test_backup_cron_job_spec() -> None:
    cfg = config()
    spec = backup_jobs.backup_cron_job_spec(cfg, {"a": "b"}, wiring())
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["schedule"] == cfg.backup.schedule
    template = spec["jobTemplate"]["spec"]["template"]
    assert template["metadata"] == {
        "labels": {"a": "b"},
        "annotations": {"prodstack.io/scripts-sha256": "0" * 64},
    }
    [container] = template["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["PGHOST"] == cfg.database.host and env["PGDATABASE"] == cfg.database.database
    assert env["PGSSLMODE"] == "verify-full"
    assert env["PGSSLROOTCERT"] == cfg.database.ssl_root_cert
    assert env["AWS_ROLE_ARN"] == "arn:aws:iam::111122223333:role/backup"
    assert env["AWS_WEB_IDENTITY_TOKEN_FILE"].startswith(backup_jobs.AWS_TOKEN_DIR)
    assert env["HOME"] == env["TMPDIR"] == env["SCRATCH_DIR"] == "/scratch"
    assert "RESTORE_DATABASE" not in env
    assert container["command"] == ["/bin/bash", "/opt/prodstack/scripts/backup.sh"]
    # A Vault password lands in the credentials Secret under the job's own key.
    assert password_volume(template["spec"]) == {
        "secretName": "orders-db-backup-credentials",
        "items": [{"key": "backup-password", "path": "password"}],
        "defaultMode": 0o440,
    }


def container_of(spec: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any]
    [container] = spec["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    return container


def env_of(spec: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container_of(spec)["env"]}


def test_jobs_declare_their_ephemeral_storage_and_a_small_scratch_volume() -> None:
    cfg = config(
        backup={"ephemeralStorage": {"request": "64Mi", "limit": "128Mi"}, "scratchSize": "32Mi"}
    )
    for spec, job in (
        (backup_jobs.backup_cron_job_spec(cfg, {}, wiring()), cfg.backup),
        (backup_jobs.restore_check_cron_job_spec(cfg, {}, wiring()), cfg.restore_check),
    ):
        resources = container_of(spec)["resources"]
        assert resources["requests"]["ephemeral-storage"] == job.ephemeral_storage.request
        assert resources["limits"]["ephemeral-storage"] == job.ephemeral_storage.limit
        assert resources["limits"]["memory"] == job.resources.limits.memory
        pod = spec["jobTemplate"]["spec"]["template"]["spec"]
        [scratch] = [v for v in pod["volumes"] if v["name"] == "scratch"]
        assert scratch == {"name": "scratch", "emptyDir": {"sizeLimit": job.scratch_size}}
    assert (
        container_of(backup_jobs.backup_cron_job_spec(cfg, {}, wiring()))["resources"]["limits"][
            "ephemeral-storage"
        ]
        == "128Mi"
    )


def test_the_backup_reads_from_the_replica_and_the_restore_check_does_not() -> None:
    database = {**staging_db_backup()["database"], "readHost": "replica.internal"}
    cfg = config(database=database, backup={"exactCountMaxSize": "256Mi"})
    backup = env_of(backup_jobs.backup_cron_job_spec(cfg, {}, wiring()))
    assert (backup["PGHOST"], backup["PGPORT"]) == ("replica.internal", str(cfg.database.port))
    assert backup["BACKUP_EXACT_COUNT_MAX_BYTES"] == str(256 * 1024**2)
    restore = env_of(backup_jobs.restore_check_cron_job_spec(cfg, {}, wiring()))
    assert restore["PGHOST"] == cfg.database.host
    assert (
        restore["RESTORE_ESTIMATE_TOLERANCE_PERCENT"],
        restore["RESTORE_ESTIMATE_TOLERANCE_ROWS"],
    ) == ("20", "1000")


def test_restore_check_defaults_to_the_backup_server_maintenance_database() -> None:
    cfg = config()
    spec = backup_jobs.restore_check_cron_job_spec(cfg, {}, wiring("orders-db-restore-check"))
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["PGHOST"] == cfg.database.host
    assert env["PGUSER"] == cfg.database.user
    assert env["PGDATABASE"] == "postgres"
    assert env["RESTORE_DATABASE"] == "prodstack_restore_check"
    assert env["BACKUP_MAX_AGE_SECONDS"] == str(26 * 3600)
    assert pod["serviceAccountName"] == "orders-db-restore-check"
    assert password_volume(pod)["items"] == [{"key": "restore-check-password", "path": "password"}]


def test_an_existing_secret_and_no_ca_bundle() -> None:
    database = dict(
        staging_db_backup()["database"],
        sslMode="require",
        password={"secret": {"name": "orders-db", "key": "backup"}},
    )
    del database["sslRootCert"]
    cfg = config(database=database)
    pod = backup_jobs.job_pod_spec(
        cfg,
        script="backup.sh",
        job_name="backup",
        database=cfg.database,
        job=cfg.backup,
        wiring=wiring(),
    )
    assert password_volume(pod)["secretName"] == "orders-db"
    assert password_volume(pod)["items"] == [{"key": "backup", "path": "password"}]
    assert "PGSSLROOTCERT" not in {e["name"] for e in pod["containers"][0]["env"]}
    assert cfg.vault_passwords() == {}


def test_each_job_reads_its_own_password_through_its_own_store() -> None:
    def vault(key: str) -> dict[str, Any]:
        return {"vault": {"key": key, "property": "pw"}}

    restore = {
        "host": "restore.internal",
        "user": "restore_check",
        "password": vault("staging/restore"),
        "sslMode": "require",
    }
    cfg = config(restoreCheck={"database": restore})
    passwords = cfg.vault_passwords()
    assert sorted(passwords) == ["backup", "restore-check"]
    spec = backup_jobs.credentials_external_secret_spec(
        "restore-check",
        store={"kind": "SecretStore", "name": "orders-db-restore-check-vault"},
        refresh_interval="1h",
        secret_name="orders-db-restore-check-credentials",
        password=passwords["restore-check"],
    )
    assert spec == {
        "refreshInterval": "1h",
        "secretStoreRef": {"kind": "SecretStore", "name": "orders-db-restore-check-vault"},
        "target": {
            "name": "orders-db-restore-check-credentials",
            "creationPolicy": "Owner",
            "deletionPolicy": "Retain",
        },
        "data": [
            {
                "secretKey": "restore-check-password",
                "remoteRef": {"key": "staging/restore", "property": "pw"},
            }
        ],
    }
    # Restoring into the backup's server, the restore check reads the backup's password
    # (through its own store: its role's policy names that one path).
    shared = config().vault_passwords()
    assert shared["restore-check"] == shared["backup"]


def test_a_jobs_vault_policy_reads_its_one_password_path() -> None:
    cfg = config()
    policy = backup_jobs.job_vault_policy(
        "backup",
        kv_mount="kv",
        password=cfg.vault_passwords()["backup"],
        account="orders-db-backup",
        namespace="shop",
    )
    assert policy == (
        "# orders-db-backup in namespace shop (backup job): read-only, its password only.\n"
        'path "kv/data/staging/database-backup" {\n'
        '  capabilities = ["read"]\n'
        "}\n"
    )


def test_script_files_are_the_packaged_scripts() -> None:
    files = backup_jobs.script_files()
    assert sorted(files) == ["backup.sh", "common.sh", "restore-check.sh"]
    assert files["backup.sh"].startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in files["backup.sh"]
    assert "set -euo pipefail" in files["restore-check.sh"]
    checksum = backup_jobs.scripts_checksum(files)
    changed = {**files, "common.sh": files["common.sh"] + "\n"}
    assert backup_jobs.scripts_checksum(changed) != checksum
