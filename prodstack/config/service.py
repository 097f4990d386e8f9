"""One service of an environment (``prodstack:services.<name>``): what runs, how it scales and
is reached, its secrets, backups and alerts, and which other services it calls."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from prodstack.config.app import AppConfig, check_app_name, image_is_pinned
from prodstack.config.autoscaling import AutoscalingConfig, ReplicaRange
from prodstack.config.autoscaling import replica_range as _replica_range
from prodstack.config.base import ConfigModel, Violation, raise_violations
from prodstack.config.db_backup import JOB_KEYS, DbBackupConfig
from prodstack.config.ha import HAConfig, replica_violations
from prodstack.config.load_balancer import LoadBalancerConfig
from prodstack.config.load_balancer import production_violations as lb_production_violations
from prodstack.config.observability import ScrapeConfig, ServiceObservability
from prodstack.config.security import SecurityConfig
from prodstack.config.types import DnsLabel, Port, duration_seconds, shown
from prodstack.config.vault_secrets import VaultSecretsConfig

PortName = Literal["http", "metrics"]
# A service is named by its key; the name must be usable as its app's name.
check_service_name = check_app_name
ServiceName = Annotated[str, AfterValidator(check_service_name)]


class Call(ConfigModel):
    """This service calls ``service`` (another service of the stack) on ``port``: the callee's
    port name (``http``, ``metrics``) or number, by default its ``http`` port. The caller gets
    the egress, the callee the ingress, whichever namespaces they are in."""

    service: ServiceName
    port: Port | PortName = "http"

    @field_validator("port", mode="wrap")
    @classmethod
    def _port_name_or_number(
        cls, value: object, handler: ValidatorFunctionWrapHandler
    ) -> int | PortName:
        # One message for the key: each union member's own error would name a sub-key.
        try:
            port: int | PortName = handler(value)
        except ValidationError:
            raise ValueError(
                f"{shown(value)} is not a port: name one of the callee's ports (http, metrics) or "
                "give its number (1-65535)"
            ) from None
        return port


def production_app_violations(app: AppConfig) -> list[Violation]:
    """Rules of the production environment for a service's app, paths from the service."""
    violations = []
    if not image_is_pinned(app.image):
        violations.append(
            Violation(
                ("app", "image"),
                "production images must be pinned by digest (name@sha256:<64 hex>)",
            )
        )
    violations.extend(
        Violation(
            ("app", "annotations", key),
            "security scanner skips are not allowed in production; fix the finding",
        )
        for key in app.annotations
        if key.startswith("checkov.io/skip")
    )
    return violations


class ServiceConfig(ConfigModel):
    """Everything one service is. ``namespace`` defaults to the environment's ``namespace``.

    Validate with ``context={"environment": ..., "scrape": ScrapeConfig | None}`` (the loader
    does) so that the rules of the environment and of the platform's scraping apply.
    """

    namespace: DnsLabel | None = None
    app: AppConfig
    calls: tuple[Call, ...] = ()
    security: SecurityConfig = SecurityConfig()
    vault_secrets: VaultSecretsConfig | None = None
    autoscaling: AutoscalingConfig | None = None
    load_balancer: LoadBalancerConfig | None = None
    ha: HAConfig | None = None
    observability: ServiceObservability | None = ServiceObservability()
    db_backup: DbBackupConfig | None = None

    @property
    def name(self) -> str:
        return self.app.name

    @property
    def replica_range(self) -> ReplicaRange:
        """The HPA's bounds when autoscaling is configured, else ``app.replicas``."""
        return _replica_range(self.app.replicas, self.autoscaling)

    def port(self, port: int | str) -> int | None:
        """The number of a named or numbered port of this service's pods (None: no such)."""
        ports = {"http": self.app.port, "metrics": self.app.metrics_port}
        if isinstance(port, str):
            return ports.get(port)
        return port if port in ports.values() else None

    @model_validator(mode="after")
    def _environment_rules(self, info: ValidationInfo) -> ServiceConfig:
        context: dict[str, Any] = info.context or {}
        violations: list[Violation] = []
        if context.get("environment") == "production":
            violations.extend(production_app_violations(self.app))
            if self.load_balancer is not None:
                violations.extend(
                    Violation(("loadBalancer", *v.path), v.message)
                    for v in lb_production_violations(self.load_balancer)
                )
            if self.db_backup is not None:
                violations.extend(
                    Violation(("dbBackup", *v.path), v.message)
                    for v in self.db_backup.production_violations()
                )
            if self.vault_secrets is not None:
                violations.extend(
                    Violation(("vaultSecrets", *v.path), v.message)
                    for v in self.vault_secrets.production_violations()
                )
        scrape = context.get("scrape")
        if isinstance(scrape, ScrapeConfig):
            violations.extend(self._scrape_violations(scrape))
        raise_violations(violations)
        return self

    def _scrape_violations(self, scrape: ScrapeConfig) -> list[Violation]:
        violations = []
        window = self.app.canary.analysis.window
        if duration_seconds(window) < 2 * duration_seconds(scrape.interval):
            violations.append(
                Violation(
                    ("app", "canary", "analysis", "window"),
                    f"{window} holds fewer than 2 scrapes at observability.scrape.interval "
                    f"{scrape.interval}; rate() needs two samples, so every measurement would "
                    "be inconclusive: lengthen the window or scrape more often",
                )
            )
        if self.observability is not None:
            violations.extend(
                Violation(("observability", *v.path), v.message)
                for v in self.observability.window_violations(scrape)
            )
        return violations

    @model_validator(mode="after")
    def _app_env_does_not_shadow_vault_secrets(self) -> ServiceConfig:
        # An explicit env entry silently wins over envFrom, and a duplicate name over a secret.
        # (Imported here: the spec modules import the config package.)
        from prodstack.specs.app_settings import settings_data
        from prodstack.specs.vault_secrets import env_names

        if self.vault_secrets is None:
            return self
        settings = self.vault_secrets.settings
        taken = env_names(self.vault_secrets, None if settings is None else settings_data(settings))
        raise_violations(
            Violation(
                ("app", "env", key),
                "vaultSecrets already provides this variable; remove it here "
                "(or change vaultSecrets.delivery)",
            )
            for key in sorted(set(self.app.env) & taken)
        )
        return self

    @model_validator(mode="after")
    def _load_balancer_reaches_the_pods(self) -> ServiceConfig:
        # The namespace denies all ingress by default: without sources the NLB reaches nothing.
        sources = self.security.network.load_balancer_sources
        if self.load_balancer is not None and not sources:
            raise_violations(
                [
                    Violation(
                        ("security", "network", "loadBalancerSources"),
                        "loadBalancer is configured but no source may reach the pods: list the "
                        "VPC CIDR (ip targets) or the client ranges (instance targets)",
                    )
                ]
            )
        if self.load_balancer is None and sources:
            raise_violations(
                [
                    Violation(
                        ("security", "network", "loadBalancerSources"),
                        "no loadBalancer is configured, so these sources would open the app port "
                        "for nothing: remove them, or configure loadBalancer",
                    )
                ]
            )
        return self

    @property
    def traffic_routed(self) -> bool:
        """Weights are set on a load balancer (an ALB), not approximated by pod counts."""
        return self.load_balancer is not None and self.load_balancer.type == "alb"

    @model_validator(mode="after")
    def _canary_fits_its_entry_point(self) -> ServiceConfig:
        # Imported here: the spec modules import the config package.
        from prodstack.specs.canary import traffic_per_step
        from prodstack.specs.drain import drain

        canary = self.app.canary
        violations = []
        if not self.traffic_routed:
            for key, value in (
                ("dynamicStableScale", canary.dynamic_stable_scale),
                ("abortScaleDownDelaySeconds", canary.abort_scale_down_delay_seconds),
            ):
                if value not in (None, False):
                    violations.append(
                        Violation(
                            ("app", "canary", key),
                            "needs a traffic router: Argo Rollouts refuses it without one (its "
                            "validation: 'can only be used with traffic routing'); use "
                            "loadBalancer.type: alb, or remove it",
                        )
                    )
            minimum = self.replica_range.minimum
            steps = traffic_per_step(canary, minimum)
            for index in range(1, len(steps)):
                before, step = steps[index - 1], steps[index]
                if (before.canary_pods, before.stable_pods) == (step.canary_pods, step.stable_pods):
                    violations.append(
                        Violation(
                            ("app", "canary", "steps", index, "weight"),
                            f"steps[{index - 1}] ({before.weight}%) and steps[{index}] "
                            f"({step.weight}%) both run {step.canary_pods} canary and "
                            f"{step.stable_pods} stable pods at the minimum of {minimum} "
                            f"replicas ({step.canary_percent:g}% of the traffic): without a "
                            "traffic router a weight is a pod ratio; use weights that differ "
                            "in pods, fewer steps, or loadBalancer.type: alb for exact weights",
                        )
                    )
        shutdown = self.app.shutdown
        if self.load_balancer is not None and shutdown.termination_grace_period_seconds is not None:
            needed = drain(shutdown, self.load_balancer)
            if needed.pre_stop_seconds + needed.app_shutdown_seconds >= needed.grace_period_seconds:
                violations.append(
                    Violation(
                        ("app", "shutdown", "terminationGracePeriodSeconds"),
                        f"must be above {needed.pre_stop_seconds + needed.app_shutdown_seconds}: "
                        f"the load balancer may send new connections for "
                        f"{needed.pre_stop_seconds} s after the pod starts terminating, so the "
                        "pre-stop drain lasts that long before appShutdownSeconds; raise it, or "
                        "leave it out to derive it",
                    )
                )
        raise_violations(violations)
        return self

    @model_validator(mode="after")
    def _replicas_fit_ha(self) -> ServiceConfig:
        if self.ha is not None:
            raise_violations(replica_violations(self.ha, self.replica_range))
        return self

    @model_validator(mode="after")
    def _backup_jobs_log_in_as_themselves(self) -> ServiceConfig:
        """The jobs' Vault connection resolves (their own section over vaultSecrets.vault),
        and their roles are not the app's: the app's role never reads the jobs' passwords."""
        backup = self.db_backup
        if backup is None or backup.vault is None or not backup.vault_passwords():
            return self
        app_vault = None if self.vault_secrets is None else self.vault_secrets.vault
        violations = []
        if backup.vault.server is None and app_vault is None:
            violations.append(
                Violation(
                    ("dbBackup", "vault", "server"),
                    "the jobs log in to Vault: give its server (and kvMount, authMount, the CA "
                    "as they differ from the defaults), or configure vaultSecrets, whose "
                    "connection the jobs share",
                )
            )
        for job in backup.vault_passwords():
            role = backup.vault_role(job)
            if app_vault is not None and role == app_vault.role:
                violations.append(
                    Violation(
                        ("dbBackup", "vault", "roles", JOB_KEYS[job]),
                        f"{role!r} is the app's Vault role (vaultSecrets.vault.role): the "
                        f"{job} job needs a role of its own, bound to <app>-db-{job} only, or "
                        "the app's pods could read its database password",
                    )
                )
        raise_violations(violations)
        return self

    @model_validator(mode="after")
    def _backup_alerts_need_backups(self) -> ServiceConfig:
        if (
            self.observability is not None
            and "backup_alerts" in self.observability.model_fields_set
            and self.observability.backup_alerts
            and self.db_backup is None
        ):
            raise_violations(
                [
                    Violation(
                        ("observability", "backupAlerts"),
                        "there is no dbBackup to watch: configure dbBackup, or remove the key",
                    )
                ]
            )
        return self


class ServiceDefaults(ConfigModel):
    """``prodstack:defaults``: sections deep-merged under every service (the service wins; maps
    merge, lists replace, ``null`` in a service removes the default). Each section is checked
    as part of every service that uses it."""

    app: dict[str, Any] | None = None
    security: dict[str, Any] | None = None
    vault_secrets: dict[str, Any] | None = None
    autoscaling: dict[str, Any] | None = None
    load_balancer: dict[str, Any] | None = None
    ha: dict[str, Any] | None = None
    observability: dict[str, Any] | None = None
    db_backup: dict[str, Any] | None = None
