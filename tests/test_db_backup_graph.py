"""Graph tests of DbBackup: the AWS resources and the CronJobs of every stack, and the component
used on its own."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from prodstack.check import check
from prodstack.components.db_backup import DbBackup, DbBackupArgs
from prodstack.config import DbBackupConfig, VaultConfig
from prodstack.config.db_backup import Job
from prodstack.identity import AppIdentity
from prodstack.specs.backup_jobs import script_files
from prodstack.stack import build
from prodstack.synth import Resource, ResourceGraph, synthesize
from prodstack.synth.manifests import manifests
from prodstack.synth.project import stack_config
from tests.conftest import stack_graph
from tests.support import schemas
from tests.support.stacks import (
    API,
    PROJECT,
    STACKS,
    environment,
    service_config,
    svc,
    synthesize_environment,
)

BUCKET = "aws:s3/bucket:Bucket"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
PUBLIC_ACCESS = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
)
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
# Everything that configures the bucket: deleting one of these would strip a guard off the
# backups while the bucket itself is kept.
BUCKET_SETTINGS = (LIFECYCLE, PUBLIC_ACCESS, POLICY, VERSIONING, ENCRYPTION, OWNERSHIP)


def config_of(graph: ResourceGraph) -> DbBackupConfig:
    """The API's backups (the only service with a database in every stack)."""
    return config_of_stack(graph.stack)


def namespace_of(graph: ResourceGraph) -> str:
    env = environment(graph.stack)
    return env.namespace_of(env.services[API])


def expected_role_arn(config: DbBackupConfig, role_name: str) -> str:
    """The ARN AWS gives a role of that name in the OIDC provider's partition and account."""
    _, partition, _, _, account = config.oidc_provider_arn.split(":")[:5]
    return f"arn:{partition}:iam::{account}:role/{role_name}"


def only(graph: ResourceGraph, type_: str) -> Resource:
    found = graph.of_type(type_)
    assert len(found) == 1, (type_, len(found))
    return found[0]


def bucket_ref(graph: ResourceGraph) -> Any:
    """What the bucket's sub-resources name it by: its configured or its generated name."""
    config = config_of(graph)
    bucket = only(graph, BUCKET)
    return config.bucket.name or f"<known after apply: {BUCKET}::{bucket.name}.bucket>"


def bucket_arn(graph: ResourceGraph) -> str:
    return f"<known after apply: {BUCKET}::{only(graph, BUCKET).name}.arn>"


def job_of(resource: Resource) -> str:
    """Which job an IAM resource serves, from its logical name."""
    return "restore-check" if "-restore-check-" in resource.name else "backup"


def roles(graph: ResourceGraph) -> dict[str, Resource]:
    return {job_of(role): role for role in graph.of_type(ROLE)}


def role_policies(graph: ResourceGraph) -> dict[str, dict[str, Any]]:
    return {
        job_of(policy): json.loads(policy.inputs["policy"]) for policy in graph.of_type(ROLE_POLICY)
    }


def cron_jobs(graph: ResourceGraph) -> dict[str, dict[str, Any]]:
    return {job.object_name: dict(job.inputs) for job in graph.kind("CronJob")}


def pod_spec(job: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return spec


# --- AWS ----------------------------------------------------------------------------------


def test_bucket_has_exactly_one_lifecycle_configuration_expiring_only_superseded_backups(
    graph: ResourceGraph,
) -> None:
    config = config_of(graph).bucket
    lifecycle = only(graph, LIFECYCLE)
    assert lifecycle.inputs["bucket"] == bucket_ref(graph)
    # As the provider receives them: pulumi-aws's `and_` argument is the schema's `and`.
    assert lifecycle.inputs["rules"] == [
        {
            "id": "expire-superseded-backups",
            "status": "Enabled",
            "filter": {
                "and": {"prefix": config.prefix, "tags": {"prodstack-backup": "superseded"}}
            },
            "expiration": {"days": config.retention_days},
        },
        {
            "id": "clean-up-backup-prefix",
            "status": "Enabled",
            "filter": {"prefix": config.prefix},
            "expiration": {"expiredObjectDeleteMarker": True},
            "noncurrentVersionExpiration": {"noncurrentDays": config.noncurrent_version_days},
            "abortIncompleteMultipartUpload": {
                "daysAfterInitiation": config.abort_incomplete_upload_days
            },
        },
    ]
    # Noncurrent-version expiry means nothing until versioning is on.
    assert only(graph, VERSIONING).urn in lifecycle.dependencies


def test_production_keeps_backups_thirty_days() -> None:
    assert config_of_stack("production").bucket.retention_days == 30


def test_bucket_is_private_versioned_encrypted_and_owner_enforced(graph: ResourceGraph) -> None:
    ref = bucket_ref(graph)
    block = only(graph, PUBLIC_ACCESS).inputs
    assert block["bucket"] == ref
    for flag in (
        "blockPublicAcls",
        "blockPublicPolicy",
        "ignorePublicAcls",
        "restrictPublicBuckets",
    ):
        assert block[flag] is True, flag
    assert only(graph, VERSIONING).inputs["versioningConfiguration"] == {"status": "Enabled"}
    assert only(graph, OWNERSHIP).inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    rule = only(graph, ENCRYPTION).inputs["rules"][0]["applyServerSideEncryptionByDefault"]
    assert rule["sseAlgorithm"] in ("AES256", "aws:kms")
    bucket = only(graph, BUCKET).inputs
    assert bucket["region"] == config_of(graph).bucket.region
    assert "acl" not in bucket and "policy" not in bucket  # the v7 way: separate resources


def test_bucket_policy_denies_every_request_without_tls(graph: ResourceGraph) -> None:
    policy = only(graph, POLICY)
    assert policy.inputs["bucket"] == bucket_ref(graph)
    document = json.loads(policy.inputs["policy"])
    arn = bucket_arn(graph)
    statements = {s["Sid"]: s for s in document["Statement"]}
    insecure = statements["DenyInsecureTransport"]
    assert insecure["Effect"] == "Deny" and insecure["Principal"] == "*"
    assert insecure["Action"] == "s3:*"
    assert sorted(insecure["Resource"]) == sorted([arn, f"{arn}/*"])
    assert insecure["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert statements["DenyOutdatedTls"]["Condition"] == {
        "NumericLessThan": {"s3:TlsVersion": "1.2"}
    }
    assert all(s["Effect"] == "Deny" for s in document["Statement"])
    # The policy goes on after the public access block, which it must not trip.
    assert only(graph, PUBLIC_ACCESS).urn in policy.dependencies


def test_iam_grants_only_the_backup_prefix_and_never_delete(graph: ResourceGraph) -> None:
    config = config_of(graph)
    arn = bucket_arn(graph)
    prefix = config.bucket.prefix
    policies = role_policies(graph)
    assert set(policies) == {"backup", "restore-check"}
    for key, document in policies.items():
        actions: set[str] = set()
        for statement in document["Statement"]:
            assert statement["Effect"] == "Allow"
            action = statement["Action"]
            actions |= {action} if isinstance(action, str) else set(action)
            resource = statement["Resource"]
            if statement["Sid"] == "ListBackupPrefix":
                assert resource == arn
                assert statement["Condition"] == {"StringLike": {"s3:prefix": [f"{prefix}*"]}}
            elif statement["Sid"].startswith("UseBackupKey"):
                assert resource == config.bucket.kms_key_arn
            else:
                assert resource == f"{arn}/{prefix}*", key
        assert not any("*" in action or "Delete" in action for action in actions), actions
        writes = {"s3:PutObject", "s3:AbortMultipartUpload"}
        if key == "backup":
            assert writes <= actions
        else:
            assert not writes & actions  # the restore check only reads
    for policy in graph.of_type(ROLE_POLICY):
        role = roles(graph)[job_of(policy)]
        assert policy.inputs["role"] == role.inputs["name"]
        assert role.urn in policy.dependencies


def test_each_role_trusts_exactly_its_service_account(graph: ResourceGraph) -> None:
    config = config_of(graph)
    namespace = namespace_of(graph)
    issuer = config.oidc_provider_arn.split(":oidc-provider/", 1)[1]
    accounts = {"backup": "shop-api-db-backup", "restore-check": "shop-api-db-restore-check"}
    for key, role in roles(graph).items():
        trust = json.loads(role.inputs["assumeRolePolicy"])
        [statement] = trust["Statement"]
        assert statement["Effect"] == "Allow"
        assert statement["Principal"] == {"Federated": config.oidc_provider_arn}
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert statement["Condition"] == {
            "StringEquals": {
                f"{issuer}:sub": f"system:serviceaccount:{namespace}:{accounts[key]}",
                f"{issuer}:aud": "sts.amazonaws.com",
            }
        }


def test_roles_are_named_after_namespace_and_service(graph: ResourceGraph) -> None:
    """Unique in the account (two stacks or services never share a role), and known offline."""
    namespace = namespace_of(graph)
    assert {key: role.inputs["name"] for key, role in roles(graph).items()} == {
        "backup": f"{namespace}-{API}-db-backup",
        "restore-check": f"{namespace}-{API}-db-restore-check",
    }
    names = [role.inputs["name"] for stack in STACKS for role in stack_roles(stack)]
    assert len(set(names)) == len(names)


def test_service_accounts_carry_their_role_arn_and_no_token(graph: ResourceGraph) -> None:
    config = config_of(graph)
    namespace = namespace_of(graph)
    by_role = {"shop-api-db-backup": "backup", "shop-api-db-restore-check": "restore-check"}
    for name, key in by_role.items():
        account = graph.one("ServiceAccount", name)
        role = roles(graph)[key]
        assert account.namespace == namespace
        assert account.inputs["automountServiceAccountToken"] is False
        # The ARN is computed, not an output: the manifest can go into git as is.
        arn = expected_role_arn(config, role.inputs["name"])
        assert account.inputs["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": arn}
        [container] = pod_spec(cron_jobs(graph)[name])["containers"]
        assert {e["name"]: e.get("value") for e in container["env"]}["AWS_ROLE_ARN"] == arn
    outputs = graph.outputs["services"][API]
    assert outputs["dbBackupRoleArn"] == expected_role_arn(
        config, roles(graph)["backup"].inputs["name"]
    )
    assert outputs["dbRestoreCheckRoleArn"] == expected_role_arn(
        config, roles(graph)["restore-check"].inputs["name"]
    )


def stack_roles(stack: str) -> list[Resource]:
    return stack_graph(stack).of_type(ROLE)


def test_only_production_protects_and_retains_the_bucket(graph: ResourceGraph) -> None:
    bucket = only(graph, BUCKET)
    protected = graph.stack in ("production", "staging")
    assert config_of(graph).bucket.protect is protected
    assert (bucket.protect, bucket.retain_on_delete) == (protected, protected)
    assert not any(r.protect for r in graph.cloud_resources() if r is not bucket)


def test_every_setting_of_a_protected_bucket_is_retained_with_it(graph: ResourceGraph) -> None:
    """Removing the component keeps the bucket and every guard on it (issue 13): versioning,
    TLS-only policy, public-access block, lifecycle rule, encryption, ownership."""
    protected = config_of(graph).bucket.protect
    bucket = only(graph, BUCKET)
    settings = [
        r for r in graph.cloud_resources() if r.type.startswith("aws:s3/") and r is not bucket
    ]
    assert sorted(r.type for r in settings) == sorted(BUCKET_SETTINGS)
    for setting in settings:
        assert setting.inputs["bucket"] == bucket_ref(graph), setting.name
        assert setting.retain_on_delete is protected, setting.name


def test_force_destroy_follows_protect(graph: ResourceGraph) -> None:
    """A protected bucket is never emptied by a destroy; an unprotected one (dev) can go with
    what it holds, or ``pulumi destroy`` would fail on the first backup in it."""
    protected = config_of(graph).bucket.protect
    assert only(graph, BUCKET).inputs["forceDestroy"] is (not protected)


def test_dev_can_be_destroyed() -> None:
    dev = stack_graph("dev")
    assert not config_of(dev).bucket.protect
    assert only(dev, BUCKET).inputs["forceDestroy"] is True
    assert not any(r.protect or r.retain_on_delete for r in dev.cloud_resources())


def test_protecting_dev_retains_every_setting() -> None:
    def protect(raw: dict[str, Any]) -> None:
        svc(raw)["dbBackup"]["bucket"]["protect"] = True

    graph = synthesize_environment(environment("dev", protect), stack="dev")
    bucket = only(graph, BUCKET)
    assert (bucket.protect, bucket.retain_on_delete) == (True, True)
    assert bucket.inputs["forceDestroy"] is False
    assert all(only(graph, type_).retain_on_delete for type_ in BUCKET_SETTINGS)


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_with_aws_resources_sets_its_region(stack: str) -> None:
    """The AWS provider's region comes from the stack file, never from the operator's shell:
    it is where the bucket and the roles are created."""
    graph = stack_graph(stack)
    assert graph.cloud_resources()
    config, _ = stack_config(PROJECT, stack)
    assert config.get("aws:region") == config_of(graph).bucket.region


def test_no_deprecated_v2_resources(graph: ResourceGraph) -> None:
    types = {r.type for r in graph.cloud_resources()}
    assert types
    assert not [t for t in types if t.endswith("V2")]


# --- the CronJobs ---------------------------------------------------------------------------


def test_cron_jobs_have_the_agreed_names_in_the_app_namespace(graph: ResourceGraph) -> None:
    jobs = graph.kind("CronJob")
    assert sorted(j.object_name for j in jobs) == [f"{API}-db-backup", f"{API}-db-restore-check"]
    assert all(j.namespace == namespace_of(graph) for j in jobs)
    assert {j.object_name for j in graph.service_objects(API) if j.kind == "CronJob"} == {
        j.object_name for j in jobs
    }
    outputs = graph.outputs["services"][API]
    assert outputs["dbBackupCronJob"] == f"{API}-db-backup"
    assert outputs["dbRestoreCheckCronJob"] == f"{API}-db-restore-check"
    assert not any(
        "dbBackupCronJob" in service
        for name, service in graph.outputs["services"].items()
        if name != API
    )


def test_cron_jobs_never_overlap_and_are_bounded(graph: ResourceGraph) -> None:
    config = config_of(graph)
    settings = {
        "shop-api-db-backup": config.backup,
        "shop-api-db-restore-check": config.restore_check,
    }
    for name, job in cron_jobs(graph).items():
        spec = job["spec"]
        expected = settings[name]
        assert spec["concurrencyPolicy"] == "Forbid"
        assert spec["schedule"] == expected.schedule
        assert spec["timeZone"] == expected.time_zone
        assert spec["startingDeadlineSeconds"] == expected.starting_deadline_seconds
        assert spec["successfulJobsHistoryLimit"] == expected.successful_jobs_history_limit
        assert spec["failedJobsHistoryLimit"] == expected.failed_jobs_history_limit
        job_spec = spec["jobTemplate"]["spec"]
        assert job_spec["backoffLimit"] == expected.backoff_limit
        assert job_spec["activeDeadlineSeconds"] == expected.active_deadline_seconds
        assert pod_spec(job)["restartPolicy"] == "Never"


def test_job_pods_meet_the_restricted_profile(graph: ResourceGraph) -> None:
    config = config_of(graph)
    for job in cron_jobs(graph).values():
        pod = pod_spec(job)
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        [container] = pod["containers"]
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert context["readOnlyRootFilesystem"] is True
        assert context["runAsUser"] == config.security.run_as_user
        assert container["image"] == config.image
        assert set(container["resources"]) == {"requests", "limits"}
        volumes = {v["name"]: v for v in pod["volumes"]}
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        assert set(mounts.values()) == set(volumes)
        # The only writable place is the scratch volume, sized from the configuration.
        writable = [m for m in container["volumeMounts"] if not m.get("readOnly")]
        assert [m["name"] for m in writable] == ["scratch"]
        assert "sizeLimit" in volumes["scratch"]["emptyDir"]
        # The only token in the pod is the IRSA one, for STS.
        projected = [v for v in volumes.values() if "projected" in v]
        assert [v["name"] for v in projected] == ["aws-iam-token"]
        [source] = projected[0]["projected"]["sources"]
        assert source["serviceAccountToken"]["audience"] == "sts.amazonaws.com"


def test_no_password_in_the_environment_or_on_a_command_line(graph: ResourceGraph) -> None:
    for job in cron_jobs(graph).values():
        [container] = pod_spec(job)["containers"]
        env = {e["name"]: e for e in container["env"]}
        assert "PGPASSWORD" not in env
        assert all("valueFrom" not in e for e in env.values())
        assert env["PGPASSWORD_FILE"]["value"].startswith("/var/run/secrets/prodstack/db/")
        assert container["command"][0] == "/bin/bash" and len(container["command"]) == 2
        assert "args" not in container


def test_the_scripts_come_from_the_package_through_one_config_map(graph: ResourceGraph) -> None:
    config_map = graph.one("ConfigMap", "shop-api-db-backup-scripts")
    assert config_map.inputs["data"] == script_files()
    for name, job in cron_jobs(graph).items():
        pod = pod_spec(job)
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["scripts"]["configMap"]["name"] == "shop-api-db-backup-scripts"
        [container] = pod["containers"]
        script = container["command"][1].rsplit("/", 1)[1]
        assert script == ("backup.sh" if name.endswith("-db-backup") else "restore-check.sh")
        assert graph.one("ServiceAccount", pod["serviceAccountName"])
        job_resource = graph.one("CronJob", name)
        assert config_map.urn in job_resource.dependencies


def test_each_job_reads_its_password_through_a_store_that_logs_in_as_itself(
    graph: ResourceGraph,
) -> None:
    config = config_of(graph)
    service = service_config(graph.stack)
    assert service.vault_secrets is not None
    app_vault = service.vault_secrets.vault
    stores = {
        r.object_name: r
        for r in graph.service_objects(API)
        if r.kind in ("SecretStore", "ClusterSecretStore")
    }
    expected_passwords = {
        "shop-api-db-backup": ("backup-password", config.database.password.vault),
        "shop-api-db-restore-check": (
            "restore-check-password",
            config.restore_target.password.vault,
        ),
    }
    for account, (secret_key, ref) in expected_passwords.items():
        assert ref is not None
        job: Job = "backup" if account.endswith("-db-backup") else "restore-check"
        store = stores[f"{account}-vault"]
        auth = store.inputs["spec"]["provider"]["vault"]["auth"]["kubernetes"]
        # Its own account and its own role; the app's connection otherwise.
        assert auth["serviceAccountRef"]["name"] == account
        assert auth["role"] == config.vault_role(job) != app_vault.role
        assert store.inputs["spec"]["provider"]["vault"]["server"] == app_vault.server
        assert graph.one("ServiceAccount", account).urn in store.dependencies
        credentials = graph.one("ExternalSecret", f"{account}-credentials")
        assert credentials.api_version == "external-secrets.io/v1"
        assert credentials.namespace == store.namespace == namespace_of(graph)
        spec = credentials.inputs["spec"]
        assert spec["secretStoreRef"] == {"kind": store.kind, "name": store.object_name}
        assert spec["target"]["name"] == f"{account}-credentials"
        assert spec["data"] == [
            {"secretKey": secret_key, "remoteRef": {"key": ref.key, "property": ref.property}}
        ]
        assert store.urn in credentials.dependencies
        cron_job = graph.one("CronJob", account)
        pod = pod_spec(dict(cron_job.inputs))
        assert pod["serviceAccountName"] == account
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["db-password"]["secret"]["secretName"] == f"{account}-credentials"
        assert volumes["db-password"]["secret"]["items"] == [
            {"key": secret_key, "path": "password"}
        ]
        assert credentials.urn in cron_job.dependencies
        # The policy each job's role needs: its one path.
        output = "dbBackupVaultPolicy" if job == "backup" else "dbRestoreCheckVaultPolicy"
        policy = graph.outputs["services"][API][output]
        assert f'path "{app_vault.kv_mount}/data/{ref.key}"' in policy
        assert policy.count("path ") == 1
    # The app's store reads the app's paths, and its policy names no backup password.
    app_policy = graph.outputs["services"][API]["vaultPolicy"]
    for _, ref in expected_passwords.values():
        assert ref is not None and ref.key not in app_policy


def test_job_pods_are_not_taken_for_the_app(graph: ResourceGraph) -> None:
    """The apps' Services, budgets and autoscalers select by name and instance: not these."""
    rollouts = graph.kind("Rollout")
    assert len(rollouts) == len(environment(graph.stack).services)
    for rollout in rollouts:
        app_selector = rollout.inputs["spec"]["selector"]["matchLabels"]
        for job in cron_jobs(graph).values():
            labels = job["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
            assert not all(labels.get(k) == v for k, v in app_selector.items()), rollout.name
            assert labels["app.kubernetes.io/component"] in ("db-backup", "db-restore-check")


def test_job_pod_templates_validate_as_kubernetes_pod_templates(graph: ResourceGraph) -> None:
    for document in manifests(graph):
        if document["kind"] == "CronJob":
            schemas.validate_built_in(document)


def test_restore_check_targets_its_own_server_when_configured(graph: ResourceGraph) -> None:
    config = config_of(graph)
    [container] = pod_spec(cron_jobs(graph)["shop-api-db-restore-check"])["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    target = config.restore_target
    assert env["PGHOST"] == target.host
    assert env["PGDATABASE"] == target.database
    assert env["RESTORE_DATABASE"] == config.restore_check.scratch_database
    assert env["BACKUP_MAX_AGE_SECONDS"] == str(config.restore_check.max_backup_age_seconds)
    assert env["BACKUP_BUCKET"] == bucket_ref(graph)
    assert env["BACKUP_PREFIX"] == config.bucket.prefix


# --- variants and standalone use --------------------------------------------------------------


def test_kms_encryption_and_key_permissions() -> None:
    key = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

    def use_kms(raw: dict[str, Any]) -> None:
        svc(raw)["dbBackup"]["bucket"]["kmsKeyArn"] = key

    graph = synthesize_environment(environment("production", use_kms), stack="production")
    rule = only(graph, ENCRYPTION).inputs["rules"][0]
    assert rule == {
        "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key},
        "bucketKeyEnabled": True,
    }
    policies = role_policies(graph)
    expected = {"backup": ["kms:Decrypt", "kms:GenerateDataKey"], "restore-check": ["kms:Decrypt"]}
    for role, actions in expected.items():
        [statement] = [s for s in policies[role]["Statement"] if s["Resource"] == key]
        assert statement["Action"] == actions
        assert statement["Condition"] == {
            "StringEquals": {"kms:ViaService": "s3.us-west-2.amazonaws.com"}
        }


def test_stacks_without_backups_do_not_build_them() -> None:
    def drop(raw: dict[str, Any]) -> None:
        del svc(raw)["dbBackup"]

    env = environment("dev", drop)

    def program() -> None:
        for name, value in build(env).items():
            pulumi.export(name, value)

    graph = synthesize(program, project=PROJECT.name, stack="dev", root_directory=PROJECT.root)
    assert not graph.cloud_resources()
    assert not graph.kind("CronJob")
    assert not graph.of_type("prodstack:index:DbBackup")
    assert set(graph.outputs["services"]) == set(env.services)
    assert not any("dbBackupCronJob" in outputs for outputs in graph.outputs["services"].values())


def test_db_backup_works_standalone_with_explicit_providers() -> None:
    import pulumi_aws as aws
    import pulumi_kubernetes as k8s

    config = config_of_stack("dev")

    def program() -> None:
        cluster = k8s.Provider("other-cluster", kubeconfig="{}")
        account = aws.Provider("other-account", region="eu-west-1")
        backups = DbBackup(
            "orders-backups",
            DbBackupArgs(
                identity=AppIdentity(name="orders", namespace="orders"),
                config=config,
                # dev's passwords come from Vault: the jobs log in to this one.
                app_vault=VaultConfig(server="https://vault.orders.internal", role="orders"),
            ),
            opts=pulumi.ResourceOptions(providers=[cluster, account]),
        )
        pulumi.export("job", backups.backup_cron_job_name)
        pulumi.export("selector", backups.pod_selector)

    graph = synthesize(program, stack="standalone")
    providers = {r.name: r.urn for r in graph if r.is_provider}
    component = graph.of_type("prodstack:index:DbBackup")[0]
    children = graph.children(component)
    assert children and all(child.name.startswith("orders-backups-") for child in children)
    for child in children:
        expected = "other-cluster" if child.type.startswith("kubernetes:") else "other-account"
        assert child.provider == providers[expected], child.name
    assert graph.outputs["job"] == "orders-db-backup"
    credentials = graph.one("ExternalSecret", "orders-db-backup-credentials")
    assert credentials.inputs["spec"]["secretStoreRef"] == {
        "kind": "SecretStore",
        "name": "orders-db-backup-vault",
    }
    store = graph.one("SecretStore", "orders-db-backup-vault")
    assert store.inputs["spec"]["provider"]["vault"]["server"] == "https://vault.orders.internal"
    assert sorted(r.inputs["name"] for r in graph.of_type(ROLE)) == [
        "orders-orders-db-backup",
        "orders-orders-db-restore-check",
    ]
    assert graph.one("CronJob", "orders-db-restore-check").namespace == "orders"
    assert graph.outputs["selector"] == {
        "app.kubernetes.io/name": "orders-db-backup",
        "app.kubernetes.io/instance": "orders-db-backup",
    }


def config_of_stack(stack: str) -> DbBackupConfig:
    config = service_config(stack).db_backup
    assert config is not None
    return config


def test_the_jobs_may_log_in_to_another_vault_through_cluster_stores() -> None:
    def own_connection(raw: dict[str, Any]) -> None:
        svc(raw)["dbBackup"]["vault"] |= {
            "server": "https://backup-vault.internal:8200",
            "storeKind": "ClusterSecretStore",
        }

    graph = synthesize_environment(environment("dev", own_connection), stack="dev")
    assert graph.one("SecretStore").object_name == "shop-api-vault"  # the app's, unchanged
    namespace = namespace_of(graph)
    for account in ("shop-api-db-backup", "shop-api-db-restore-check"):
        store = graph.one("ClusterSecretStore", f"{namespace}-{account}-vault")
        spec = store.inputs["spec"]
        # Fenced to the namespace, and logging in as the job's account there.
        assert spec["conditions"] == [{"namespaces": [namespace]}]
        auth = spec["provider"]["vault"]["auth"]["kubernetes"]
        assert auth["serviceAccountRef"] == {
            "name": account,
            "namespace": namespace,
            "audiences": ["vault"],
        }
        assert spec["provider"]["vault"]["server"] == "https://backup-vault.internal:8200"
        credentials = graph.one("ExternalSecret", f"{account}-credentials")
        assert credentials.inputs["spec"]["secretStoreRef"] == {
            "kind": "ClusterSecretStore",
            "name": store.object_name,
        }
    assert not check(graph).problems


def test_a_vault_password_without_a_server_is_refused() -> None:
    config = config_of_stack("dev")
    with pytest.raises(ValueError, match=r"DbBackupArgs\.app_vault: the jobs' passwords come"):
        DbBackupArgs(identity=AppIdentity(name="orders", namespace="orders"), config=config)


def test_the_args_refuse_a_job_that_logs_in_as_the_app() -> None:
    service = service_config("dev")
    assert service.db_backup is not None and service.vault_secrets is not None
    app_vault = service.vault_secrets.vault.model_copy(update={"role": "dev-shop-api-db-backup"})
    with pytest.raises(ValueError, match=r"the backup job's role is the app's"):
        DbBackupArgs(
            identity=AppIdentity(name="orders", namespace="orders"),
            config=service.db_backup,
            app_vault=app_vault,
        )


@pytest.mark.parametrize("stack", ["dev", "staging", "production"])
def test_every_stack_configures_backups(stack: str) -> None:
    assert config_of_stack(stack).bucket.prefix == "database/"
