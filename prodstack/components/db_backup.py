"""DbBackup: scheduled pg_dump backups to S3 and scheduled restore checks, with the bucket and
the IAM roles (IRSA) they use."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

import prodstack
from prodstack import kinds
from prodstack.components.args import ComponentArgs, DerivedName, names_of, refuse_violations
from prodstack.components.outputs import known_after
from prodstack.config.db_backup import BackupBucket, DbBackupConfig, Job
from prodstack.config.environment import IAM_ROLE_NAME_LIMIT
from prodstack.config.types import DnsLabel
from prodstack.config.vault_secrets import VaultConfig
from prodstack.identity import AppIdentity
from prodstack.names import BACKUP_COMPONENT, RESTORE_CHECK_COMPONENT, ServiceNames
from prodstack.specs import backup_jobs, backup_storage
from prodstack.specs import vault_secrets as vault_spec
from prodstack.specs.alerts import BackupJobs

ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
EXTERNAL_SECRETS_API_VERSION = kinds.EXTERNAL_SECRET.api_version
# Each job's component label (its logical names are ``<name>-<job>-...``).
COMPONENTS: dict[Job, str] = {"backup": BACKUP_COMPONENT, "restore-check": RESTORE_CHECK_COMPONENT}


@dataclass(frozen=True, kw_only=True)
class DbBackupArgs(ComponentArgs):
    """Inputs of a DbBackup.

    ``identity`` is the app whose database is backed up: the jobs run in its namespace and are
    named after it (``<app>-db-backup``, ``<app>-db-restore-check``). ``config`` says where the
    database is, where backups go and when the jobs run. A job whose password comes from Vault
    reads it through a SecretStore of its own, logging in as its own service account with its
    own role (``config.vault.roles``); ``app_vault`` is the connection those stores share
    unless ``config.vault`` sets its own (pass the app's ``VaultSecretsConfig.vault``).
    ``environment`` turns on its rules (``production``: digests, a protected bucket).
    """

    identity: AppIdentity
    config: DbBackupConfig
    app_vault: VaultConfig | None = None
    environment: DnsLabel | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        for job in self.config.vault_passwords():
            if self.job_vault(job) is None:
                raise ValueError(
                    "DbBackupArgs.app_vault: the jobs' passwords come from Vault and "
                    "config.vault names no server; pass the app's VaultConfig "
                    "(VaultSecretsConfig.vault) or set config.vault.server"
                )
            if self.app_vault is not None and self.config.vault_role(job) == self.app_vault.role:
                raise ValueError(
                    f"DbBackupArgs.config.vault.roles: the {job} job's role is the app's "
                    f"({self.app_vault.role!r}); give the job a role of its own"
                )
        if self.environment == "production":
            refuse_violations("DbBackupArgs", ("config",), self.config.production_violations())

    def job_vault(self, job: Job) -> VaultConfig | None:
        """The Vault connection and role ``job`` logs in with."""
        return self.config.job_vault(job, self.app_vault)

    def derived_names(self) -> Iterator[DerivedName]:
        names = self.names
        jobs = self.config.vault_passwords()
        yield from names_of(
            "identity.name",
            [
                (kinds.CRON_JOB, names.backup),
                (kinds.CRON_JOB, names.restore_check),
                *((kinds.SECRET, names.job_credentials(job)) for job in jobs),
                *((kinds.SECRET_STORE, names.job_secret_store(job)) for job in jobs),
            ],
        )
        for component in (BACKUP_COMPONENT, RESTORE_CHECK_COMPONENT):
            role = names.iam_role(component)
            yield DerivedName("identity.name", "IAM role", role, IAM_ROLE_NAME_LIMIT)

    @property
    def names(self) -> ServiceNames:
        return self.identity.names

    @property
    def backup_name(self) -> str:
        return self.names.backup

    @property
    def restore_check_name(self) -> str:
        return self.names.restore_check

    @property
    def job_identity(self) -> AppIdentity:
        """The jobs' own name and instance labels: the app's selector must not match their
        pods (its Services, disruption budgets and autoscaler would count them)."""
        return AppIdentity(
            name=self.backup_name,
            namespace=self.identity.namespace,
            instance=f"{self.identity.instance_label}-{BACKUP_COMPONENT}",
            # The jobs run prodstack's scripts: their version is prodstack's, not the app's.
            version=prodstack.__version__,
            part_of=self.identity.part_of or self.identity.name,
            service=self.identity.service or self.identity.name,
        )


class DbBackup(pulumi.ComponentResource):
    """A private, versioned, encrypted S3 bucket; one IRSA role per job, scoped to the backup
    prefix; a backup CronJob and a restore-check CronJob running the packaged scripts."""

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    backup_prefix: pulumi.Output[str]
    backup_role_arn: pulumi.Output[str]
    restore_check_role_arn: pulumi.Output[str]
    backup_cron_job_name: pulumi.Output[str]
    restore_check_cron_job_name: pulumi.Output[str]
    backup_service_account_name: pulumi.Output[str]
    restore_check_service_account_name: pulumi.Output[str]
    backup_vault_policy: pulumi.Output[str | None]
    restore_check_vault_policy: pulumi.Output[str | None]
    namespace: pulumi.Output[str]
    pod_selector: pulumi.Output[dict[str, str]]

    def __init__(
        self, name: str, args: DbBackupArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("prodstack:index:DbBackup", name, None, opts)
        config = args.config
        bucket_config = config.bucket
        namespace = args.identity.namespace
        jobs = args.job_identity
        tags = {
            "prodstack:app": args.identity.name,
            "prodstack:namespace": namespace,
            "prodstack:component": BACKUP_COMPONENT,
        }

        bucket = self._bucket(name, config.bucket, tags)

        accounts = {
            "backup": (args.backup_name, BACKUP_COMPONENT, True),
            "restore-check": (args.restore_check_name, RESTORE_CHECK_COMPONENT, False),
        }
        roles: dict[str, aws.iam.Role] = {}
        role_arns: dict[str, pulumi.Output[str]] = {}
        service_accounts: dict[str, k8s.core.v1.ServiceAccount] = {}
        for key, (account, component, write) in accounts.items():
            # Named, so the ARN is known before AWS answers: the service account's annotation
            # and the jobs' AWS_ROLE_ARN can be rendered into git (docs/gitops.md).
            role_name = args.names.iam_role(component)
            role = aws.iam.Role(
                f"{name}-{key}-role",
                name=role_name,
                description=f"{namespace}/{account}: "
                + ("writes" if write else "reads")
                + f" database backups under {bucket_config.prefix}",
                assume_role_policy=json.dumps(
                    backup_storage.irsa_trust_policy(
                        config.oidc_provider_arn, config.oidc_issuer, namespace, account
                    )
                ),
                max_session_duration=3600,
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            aws.iam.RolePolicy(
                f"{name}-{key}-access",
                role=role.name,
                policy=bucket.arn.apply(
                    lambda arn, write=write: json.dumps(
                        backup_storage.backup_access_policy(arn, bucket_config, write=write)
                    )
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            roles[key] = role
            role_arns[key] = known_after(role, config.iam_role_arn(role_name))
            metadata = jobs.metadata(account, component)
            metadata["annotations"] = {ROLE_ARN_ANNOTATION: role_arns[key]}
            service_accounts[key] = k8s.core.v1.ServiceAccount(
                f"{name}-{key}-sa",
                metadata=metadata,
                automount_service_account_token=False,
                opts=pulumi.ResourceOptions(parent=self),
            )

        job_inputs, policies = self._job_credentials(name, args, service_accounts)

        files = backup_jobs.script_files()
        scripts_name = args.names.backup_scripts
        scripts = k8s.core.v1.ConfigMap(
            f"{name}-scripts",
            metadata=jobs.metadata(scripts_name, BACKUP_COMPONENT),
            data=files,
            opts=pulumi.ResourceOptions(parent=self),
        )
        checksum = backup_jobs.scripts_checksum(files)

        def wiring(key: str) -> backup_jobs.JobWiring:
            return backup_jobs.JobWiring(
                service_account=accounts[key][0],
                scripts_config_map=scripts_name,
                bucket_name=bucket.bucket,
                role_arn=role_arns[key],
                scripts_sha256=checksum,
                credentials_secret=args.names.job_credentials(key),
            )

        backup_job = k8s.batch.v1.CronJob(
            f"{name}-backup",
            metadata=jobs.metadata(args.backup_name, BACKUP_COMPONENT),
            spec=backup_jobs.backup_cron_job_spec(
                config, jobs.labels(BACKUP_COMPONENT), wiring("backup")
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[scripts, service_accounts["backup"], *job_inputs["backup"]],
            ),
        )
        restore_job = k8s.batch.v1.CronJob(
            f"{name}-restore-check",
            metadata=jobs.metadata(args.restore_check_name, RESTORE_CHECK_COMPONENT),
            spec=backup_jobs.restore_check_cron_job_spec(
                config, jobs.labels(RESTORE_CHECK_COMPONENT), wiring("restore-check")
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[
                    scripts,
                    service_accounts["restore-check"],
                    *job_inputs["restore-check"],
                ],
            ),
        )

        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.backup_prefix = pulumi.Output.from_input(bucket_config.prefix)
        self.backup_role_arn = role_arns["backup"]
        self.restore_check_role_arn = role_arns["restore-check"]
        self.backup_cron_job_name = known_after(backup_job, args.backup_name)
        self.restore_check_cron_job_name = known_after(restore_job, args.restore_check_name)
        self.backup_service_account_name = known_after(service_accounts["backup"], args.backup_name)
        self.restore_check_service_account_name = known_after(
            service_accounts["restore-check"], args.restore_check_name
        )
        # What each job's Vault role must grant (None: the job's password is not from Vault).
        self.backup_vault_policy = pulumi.Output.from_input(policies.get("backup"))
        self.restore_check_vault_policy = pulumi.Output.from_input(policies.get("restore-check"))
        self.namespace = pulumi.Output.from_input(namespace)
        self.pod_selector = pulumi.Output.from_input(jobs.selector())
        # What Observability's backup alerts watch (plain names, known before deployment).
        self.backup_jobs = BackupJobs(
            backup=args.backup_name, restore_check=args.restore_check_name
        )
        self.register_outputs(
            {
                "bucket_name": self.bucket_name,
                "bucket_arn": self.bucket_arn,
                "backup_prefix": self.backup_prefix,
                "backup_role_arn": self.backup_role_arn,
                "restore_check_role_arn": self.restore_check_role_arn,
                "backup_cron_job_name": self.backup_cron_job_name,
                "restore_check_cron_job_name": self.restore_check_cron_job_name,
                "backup_service_account_name": self.backup_service_account_name,
                "restore_check_service_account_name": self.restore_check_service_account_name,
                "backup_vault_policy": self.backup_vault_policy,
                "restore_check_vault_policy": self.restore_check_vault_policy,
                "namespace": self.namespace,
                "pod_selector": self.pod_selector,
            }
        )

    def _job_credentials(
        self,
        name: str,
        args: DbBackupArgs,
        service_accounts: dict[str, k8s.core.v1.ServiceAccount],
    ) -> tuple[dict[Job, list[pulumi.Resource]], dict[Job, str]]:
        """Per job whose password comes from Vault: a store that logs in as the job's own
        account and an ExternalSecret through it, so no other workload's Vault role reads the
        password. Returns what each CronJob waits for, and each job's Vault policy."""
        config, namespace, jobs = args.config, args.identity.namespace, args.job_identity
        job_inputs: dict[Job, list[pulumi.Resource]] = {"backup": [], "restore-check": []}
        policies: dict[Job, str] = {}
        for job, password in config.vault_passwords().items():
            vault = args.job_vault(job)
            # The args require both: a job whose password comes from Vault has a connection.
            assert vault is not None and config.vault is not None
            account = args.names.job_account(job)
            cluster = not kinds.is_namespaced(vault.store_kind)
            store_name = args.names.job_secret_store(job, cluster=cluster)
            store = k8s.apiextensions.CustomResource(
                f"{name}-{job}-store",
                api_version=EXTERNAL_SECRETS_API_VERSION,
                kind=vault.store_kind,
                metadata=vault_spec.store_metadata(
                    jobs, store_name, COMPONENTS[job], vault.store_kind
                ),
                spec=vault_spec.secret_store_spec(
                    vault, namespace=namespace, service_account=account
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[service_accounts[job]]),
            )
            credentials_name = args.names.job_credentials(job)
            job_inputs[job].append(
                k8s.apiextensions.CustomResource(
                    # The backup's keeps the name of the one ExternalSecret 0.1 shared.
                    f"{name}-credentials" if job == "backup" else f"{name}-{job}-credentials",
                    api_version=EXTERNAL_SECRETS_API_VERSION,
                    kind="ExternalSecret",
                    metadata=jobs.metadata(
                        credentials_name,
                        COMPONENTS[job],
                        annotations=vault_spec.external_secret_annotations(),
                    ),
                    spec=backup_jobs.credentials_external_secret_spec(
                        job,
                        store={"kind": vault.store_kind, "name": store_name},
                        refresh_interval=config.vault.refresh_interval,
                        secret_name=credentials_name,
                        password=password,
                    ),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[store]),
                )
            )
            policies[job] = backup_jobs.job_vault_policy(
                job,
                kv_mount=vault.kv_mount,
                password=password,
                account=account,
                namespace=namespace,
            )

        return job_inputs, policies

    def _bucket(
        self, name: str, bucket_config: BackupBucket, tags: dict[str, str]
    ) -> aws.s3.Bucket:
        """The bucket and its settings: versioning, encryption, ownership, public-access
        block, one lifecycle rule, a TLS-only policy."""
        # A protected bucket is also retained, and so is every setting of it: removing the
        # component never deletes backups, nor the versioning, TLS-only policy, public-access
        # block and lifecycle rule that guard them. An unprotected bucket (dev) can be
        # destroyed with what it holds.
        retained = bucket_config.protect
        bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=bucket_config.name,
            force_destroy=not retained,
            region=bucket_config.region,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, protect=retained, retain_on_delete=retained),
        )
        on_bucket = pulumi.ResourceOptions(
            parent=self, depends_on=[bucket], retain_on_delete=retained
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.bucket,
            region=bucket_config.region,
            rule={"object_ownership": backup_storage.OBJECT_OWNERSHIP},
            opts=on_bucket,
        )
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket.bucket,
            region=bucket_config.region,
            **backup_storage.public_access_block(),
            opts=on_bucket,
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.bucket,
            region=bucket_config.region,
            versioning_configuration={"status": "Enabled"},
            opts=on_bucket,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.bucket,
            region=bucket_config.region,
            rules=[backup_storage.encryption_rule(bucket_config)],
            opts=on_bucket,
        )
        # Noncurrent-version rules need versioning in place first.
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.bucket,
            region=bucket_config.region,
            rules=backup_storage.lifecycle_rules(bucket_config),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[versioning], retain_on_delete=retained
            ),
        )
        aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=bucket.bucket,
            region=bucket_config.region,
            policy=bucket.arn.apply(
                lambda arn: json.dumps(backup_storage.tls_only_bucket_policy(arn))
            ),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[public_access], retain_on_delete=retained
            ),
        )
        return bucket
