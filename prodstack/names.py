"""Every object name prodstack derives from a service's name, in one place.

Components name their objects with these functions, and configuration validation checks the
very same names against Kubernetes' limits and against each other, so the two cannot drift.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prodstack import kinds
from prodstack.kinds import Kind

if TYPE_CHECKING:
    from prodstack.config.db_backup import DbBackupConfig
    from prodstack.config.service import ServiceConfig
    from prodstack.config.vault_secrets import VaultSecretsConfig

# The canary analysis's checks, each a background and a gate AnalysisTemplate; the comparison
# with the stable revision only with ``analysis.compareWithStable``.
ANALYSIS_CHECKS = ("success-rate", "latency")
STABLE_COMPARISON_CHECK = "success-rate-vs-stable"
BACKUP_COMPONENT = "db-backup"
RESTORE_CHECK_COMPONENT = "db-restore-check"


@dataclass(frozen=True)
class ServiceNames:
    """Object names of one service (``service``) in ``namespace`` of ``environment``."""

    service: str
    namespace: str
    environment: str = ""

    @property
    def instance(self) -> str:
        """The ``app.kubernetes.io/instance`` label: the service in this environment."""
        return f"{self.service}-{self.environment}" if self.environment else self.service

    # CanaryApp
    @property
    def rollout(self) -> str:
        return self.service

    @property
    def service_account(self) -> str:
        return self.service

    @property
    def client_service(self) -> str:
        return self.service

    @property
    def stable_service(self) -> str:
        return f"{self.service}-stable"

    @property
    def canary_service(self) -> str:
        return f"{self.service}-canary"

    def analysis_template(self, check: str, *, gate: bool) -> str:
        return f"{self.service}-{check}{'-gate' if gate else ''}"

    # Observability
    @property
    def metrics_service(self) -> str:
        return f"{self.service}-metrics"

    @property
    def prometheus_rule(self) -> str:
        return f"{self.service}-rules"

    @property
    def dashboard(self) -> str:
        return f"{self.service}-dashboard"

    # Autoscaling and HAPolicy
    @property
    def autoscaler(self) -> str:
        return self.service

    @property
    def load_balancer_service(self) -> str:
        return f"{self.service}-nlb"

    @property
    def ingress(self) -> str:
        """The ALB entry point's Ingress."""
        return f"{self.service}-alb"

    @property
    def disruption_budget(self) -> str:
        return self.service

    # VaultSecrets
    def secret_store(self, *, cluster: bool = False) -> str:
        """A ClusterSecretStore is cluster-wide, so its name carries the namespace too."""
        store = f"{self.service}-vault"
        return f"{self.namespace}-{store}" if cluster else store

    @property
    def external_secret(self) -> str:
        return f"{self.service}-secrets"

    @property
    def secret(self) -> str:
        return f"{self.service}-secrets"

    @property
    def settings(self) -> str:
        return f"{self.service}-settings"

    # DbBackup
    @property
    def backup(self) -> str:
        """The backup CronJob and its ServiceAccount."""
        return f"{self.service}-{BACKUP_COMPONENT}"

    @property
    def restore_check(self) -> str:
        """The restore-check CronJob and its ServiceAccount."""
        return f"{self.service}-{RESTORE_CHECK_COMPONENT}"

    @property
    def backup_instance(self) -> str:
        return f"{self.instance}-{BACKUP_COMPONENT}"

    def job_account(self, job: str) -> str:
        """The CronJob and ServiceAccount of a backup job (``backup``, ``restore-check``)."""
        return self.backup if job == "backup" else self.restore_check

    def job_credentials(self, job: str) -> str:
        """The ExternalSecret (and its Secret) that holds one job's database password."""
        return f"{self.job_account(job)}-credentials"

    def job_secret_store(self, job: str, *, cluster: bool = False) -> str:
        """The store one job reads Vault through, logging in as the job's own account."""
        store = f"{self.job_account(job)}-vault"
        return f"{self.namespace}-{store}" if cluster else store

    @property
    def backup_scripts(self) -> str:
        return f"{self.backup}-scripts"

    def iam_role(self, component: str) -> str:
        """The IAM role of a backup job (``db-backup``, ``db-restore-check``): named after the
        namespace and service, so it is unique in the account and its ARN known in advance."""
        return f"{self.namespace}-{self.service}-{component}"

    # ServiceSecurity
    @property
    def api_role(self) -> str:
        return f"{self.service}-api"

    def flow(self, flow: str) -> str:
        """A NetworkPolicy of this service's own flows (``allow-database`` and the like)."""
        return f"{self.service}-{flow}"

    def calls(self, callee: str) -> str:
        """The egress NetworkPolicy (in this service's namespace) of a call to ``callee``."""
        return f"{self.service}-to-{callee}"

    def called_by(self, caller: str) -> str:
        """The ingress NetworkPolicy (in this service's namespace) of calls from ``caller``."""
        return f"{self.service}-from-{caller}"


@dataclass(frozen=True)
class DerivedName:
    """One object a service's configuration produces: its kind, namespace and name, and the
    configuration section that makes it (for error messages)."""

    kind: Kind
    namespace: str | None
    name: str
    section: str

    @property
    def key(self) -> tuple[str, str, str]:
        """What makes two objects the same: API group, kind, namespace and name."""
        return (f"{self.kind.group}/{self.kind.kind}", self.namespace or "", self.name)


def derived_names(
    service: ServiceConfig,
    names: ServiceNames,
    *,
    dashboard_namespace: str | None = None,
    observed: bool = False,
    callers: Sequence[str] = (),
) -> Iterator[DerivedName]:
    """Every named object the service gets (``observed``: the platform monitors services;
    ``callers``: the services that call it)."""
    ns = names.namespace

    def named(kind: Kind, name: str, section: str, namespace: str | None = ns) -> DerivedName:
        return DerivedName(kind, namespace if kind.namespaced else None, name, section)

    yield named(kinds.ROLLOUT, names.rollout, "app")
    yield named(kinds.SERVICE_ACCOUNT, names.service_account, "app")
    for service_name in (names.client_service, names.stable_service, names.canary_service):
        yield named(kinds.SERVICE, service_name, "app")
    canary = service.app.canary
    comparison = (STABLE_COMPARISON_CHECK,) if canary.analysis.compare_with_stable else ()
    for check in (*ANALYSIS_CHECKS, *comparison):
        if canary.analysis.background is not None:
            yield named(kinds.ANALYSIS_TEMPLATE, names.analysis_template(check, gate=False), "app")
        if canary.uses_gate:
            yield named(kinds.ANALYSIS_TEMPLATE, names.analysis_template(check, gate=True), "app")
    for flow in own_flow_names(service, names):
        yield named(kinds.NETWORK_POLICY, flow, "security")
    for call in service.calls:
        yield named(kinds.NETWORK_POLICY, names.calls(call.service), "calls")
    for caller in callers:
        yield named(kinds.NETWORK_POLICY, names.called_by(caller), f"the calls of {caller}")
    if service.security.api_access:
        yield named(kinds.ROLE, names.api_role, "security.apiAccess")
        yield named(kinds.ROLE_BINDING, names.api_role, "security.apiAccess")
    if observed and service.observability is not None:
        yield named(kinds.SERVICE, names.metrics_service, "observability")
        yield named(kinds.SERVICE_MONITOR, names.metrics_service, "observability")
        yield named(kinds.PROMETHEUS_RULE, names.prometheus_rule, "observability")
        yield named(kinds.CONFIG_MAP, names.dashboard, "observability", dashboard_namespace or ns)
    if service.autoscaling is not None:
        yield named(kinds.HORIZONTAL_POD_AUTOSCALER, names.autoscaler, "autoscaling")
    if service.load_balancer is not None:
        if service.load_balancer.type == "alb":
            yield named(kinds.INGRESS, names.ingress, "loadBalancer")
        else:
            yield named(kinds.SERVICE, names.load_balancer_service, "loadBalancer")
    if service.ha is not None and service.ha.disruption_budget is not None:
        yield named(kinds.POD_DISRUPTION_BUDGET, names.disruption_budget, "ha")
    vault = service.vault_secrets
    if vault is not None:
        cluster = vault.vault.store_kind == "ClusterSecretStore"
        store_kind = kinds.CLUSTER_SECRET_STORE if cluster else kinds.SECRET_STORE
        yield named(store_kind, names.secret_store(cluster=cluster), "vaultSecrets")
        yield named(kinds.EXTERNAL_SECRET, names.external_secret, "vaultSecrets")
        yield named(kinds.SECRET, names.secret, "vaultSecrets")
        if vault.settings is not None:
            yield named(kinds.CONFIG_MAP, names.settings, "vaultSecrets")
    if service.db_backup is not None:
        yield from _backup_names(service.db_backup, names, vault, named)


def _backup_names(
    backup: DbBackupConfig,
    names: ServiceNames,
    vault: VaultSecretsConfig | None,
    named: Callable[[Kind, str, str], DerivedName],
) -> Iterator[DerivedName]:
    for job in (names.backup, names.restore_check):
        yield named(kinds.CRON_JOB, job, "dbBackup")
        yield named(kinds.SERVICE_ACCOUNT, job, "dbBackup")
    for job in backup.vault_passwords():
        connection = backup.job_vault(job, None if vault is None else vault.vault)
        cluster = connection is not None and connection.store_kind == "ClusterSecretStore"
        store_kind = kinds.CLUSTER_SECRET_STORE if cluster else kinds.SECRET_STORE
        yield named(store_kind, names.job_secret_store(job, cluster=cluster), "dbBackup")
        yield named(kinds.EXTERNAL_SECRET, names.job_credentials(job), "dbBackup")
        yield named(kinds.SECRET, names.job_credentials(job), "dbBackup")
    yield named(kinds.CONFIG_MAP, names.backup_scripts, "dbBackup")


def own_flow_names(service: ServiceConfig, names: ServiceNames) -> list[str]:
    """The NetworkPolicies of the service's own flows, as the plan builds them."""
    from prodstack.plan.network import service_flows

    return [flow.name for flow in service_flows(service, names)]


def label_values(names: ServiceNames, service: ServiceConfig) -> Iterator[tuple[str, str]]:
    """Label values derived from the name (``instance``), which Kubernetes caps at 63."""
    yield "app.kubernetes.io/instance", names.instance
    yield "app.kubernetes.io/name", names.service
    if service.db_backup is not None:
        yield "app.kubernetes.io/instance", names.backup_instance
        yield "app.kubernetes.io/name", names.backup
