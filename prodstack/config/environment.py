"""The whole configuration of one stack (dev, staging or production)."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from prodstack.config.app import AppConfig, image_is_pinned
from prodstack.config.autoscaling import AutoscalingConfig, ReplicaRange
from prodstack.config.autoscaling import replica_range as _replica_range
from prodstack.config.base import ConfigModel, Violation, raise_violations
from prodstack.config.db_backup import DbBackupConfig
from prodstack.config.gitops import GitOpsConfig
from prodstack.config.ha import HAConfig, replica_violations
from prodstack.config.load_balancer import LoadBalancerConfig
from prodstack.config.observability import ObservabilityConfig
from prodstack.config.security import SecurityConfig
from prodstack.config.types import DnsLabel, duration_seconds
from prodstack.config.vault_secrets import VaultSecretsConfig

Environment = Literal["dev", "staging", "production"]


class EnvironmentConfig(ConfigModel):
    """Everything under the ``prodstack:`` namespace of ``stacks/Pulumi.<stack>.yaml``.

    Validate with ``context={"environment": ...}`` (``parse_environment`` does) so that rules
    that depend on the environment, such as digest-pinned production images, apply.
    """

    environment: Environment
    namespace: DnsLabel
    app: AppConfig
    security: SecurityConfig = SecurityConfig()
    vault_secrets: VaultSecretsConfig | None = None
    autoscaling: AutoscalingConfig | None = None
    load_balancer: LoadBalancerConfig | None = None
    ha: HAConfig | None = None
    gitops: GitOpsConfig | None = None
    observability: ObservabilityConfig | None = None
    db_backup: DbBackupConfig | None = None

    @property
    def replica_range(self) -> ReplicaRange:
        """The HPA's bounds when autoscaling is configured, else ``app.replicas``."""
        return _replica_range(self.app.replicas, self.autoscaling)

    @model_validator(mode="after")
    def _production_rules(self) -> EnvironmentConfig:
        violations = []
        # Also checked on the field when validated with context; this catches callers without it.
        if self.environment == "production" and not image_is_pinned(self.app.image):
            violations.append(
                Violation(
                    ("app", "image"),
                    "production images must be pinned by digest (name@sha256:<64 hex>)",
                )
            )
        if self.environment == "production":
            violations.extend(
                Violation(
                    ("app", "annotations", key),
                    "security scanner skips are not allowed in production; fix the finding",
                )
                for key in self.app.annotations
                if key.startswith("checkov.io/skip")
            )
        raise_violations(violations)
        return self

    @model_validator(mode="after")
    def _app_env_does_not_shadow_vault_secrets(self) -> EnvironmentConfig:
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
    def _load_balancer_reaches_the_pods(self) -> EnvironmentConfig:
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

    @model_validator(mode="after")
    def _replicas_fit_ha(self) -> EnvironmentConfig:
        if self.ha is not None:
            raise_violations(replica_violations(self.ha, self.replica_range))
        return self

    @model_validator(mode="after")
    def _analysis_window_covers_scrapes(self) -> EnvironmentConfig:
        if self.observability is None:
            return self
        window = self.app.canary.analysis.window
        interval = self.observability.scrape.interval
        if duration_seconds(window) < 2 * duration_seconds(interval):
            raise_violations(
                [
                    Violation(
                        ("app", "canary", "analysis", "window"),
                        f"{window} holds fewer than 2 scrapes at observability.scrape.interval "
                        f"{interval}; rate() needs two samples, so every measurement would be "
                        "inconclusive: lengthen the window or scrape more often",
                    )
                ]
            )
        return self

    @model_validator(mode="after")
    def _production_backups(self) -> EnvironmentConfig:
        if self.environment == "production" and self.db_backup is not None:
            raise_violations(
                Violation(("dbBackup", *violation.path), violation.message)
                for violation in self.db_backup.production_violations()
            )
        return self
