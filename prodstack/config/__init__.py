"""Stack configuration: pydantic models of everything a stack can say, and their loading."""

from prodstack.config.app import AppConfig, PodSecurity, Probe, Probes, Resources, Shutdown
from prodstack.config.app_settings import AppSettings
from prodstack.config.autoscaling import (
    AutoscalingConfig,
    ReplicaRange,
    RequestsMetric,
    ScalingBehavior,
    ScalingPolicy,
    ScalingRules,
)
from prodstack.config.canary import AnalysisConfig, BackgroundAnalysis, CanaryConfig, CanaryStep
from prodstack.config.db_backup import (
    BackupBucket,
    BackupJob,
    DatabaseConnection,
    DbBackupConfig,
    JobSecurity,
    JobsVault,
    JobVaultRoles,
    KeyRef,
    PasswordSource,
    RestoreCheckJob,
    RestoreTarget,
    VaultRef,
)
from prodstack.config.environment import EnvironmentConfig, UpgradeConfig
from prodstack.config.errors import ConfigError
from prodstack.config.gitops import GitOpsConfig
from prodstack.config.ha import DisruptionBudgetConfig, HAConfig, ZoneSpreadConfig
from prodstack.config.load_balancer import LoadBalancerConfig
from prodstack.config.loader import NAMESPACE, load_environment, parse_environment
from prodstack.config.observability import (
    AlertsConfig,
    DashboardConfig,
    ObservabilityConfig,
    ScrapeConfig,
    ServiceObservability,
)
from prodstack.config.security import (
    ApiAccessRule,
    NetworkConfig,
    PlatformNetwork,
    PodPeer,
    SecurityConfig,
)
from prodstack.config.service import Call, ServiceConfig, ServiceDefaults
from prodstack.config.vault_secrets import (
    DatabaseSecret,
    Delivery,
    RedisSecret,
    VaultCaProvider,
    VaultConfig,
    VaultSecretsConfig,
)

__all__ = [
    "NAMESPACE",
    "AlertsConfig",
    "AnalysisConfig",
    "ApiAccessRule",
    "AppConfig",
    "AppSettings",
    "AutoscalingConfig",
    "BackgroundAnalysis",
    "BackupBucket",
    "BackupJob",
    "Call",
    "CanaryConfig",
    "CanaryStep",
    "ConfigError",
    "DashboardConfig",
    "DatabaseConnection",
    "DatabaseSecret",
    "DbBackupConfig",
    "Delivery",
    "DisruptionBudgetConfig",
    "EnvironmentConfig",
    "GitOpsConfig",
    "HAConfig",
    "JobSecurity",
    "JobVaultRoles",
    "JobsVault",
    "KeyRef",
    "LoadBalancerConfig",
    "NetworkConfig",
    "ObservabilityConfig",
    "PasswordSource",
    "PlatformNetwork",
    "PodPeer",
    "PodSecurity",
    "Probe",
    "Probes",
    "RedisSecret",
    "ReplicaRange",
    "RequestsMetric",
    "Resources",
    "RestoreCheckJob",
    "RestoreTarget",
    "ScalingBehavior",
    "ScalingPolicy",
    "ScalingRules",
    "ScrapeConfig",
    "SecurityConfig",
    "ServiceConfig",
    "ServiceDefaults",
    "ServiceObservability",
    "Shutdown",
    "UpgradeConfig",
    "VaultCaProvider",
    "VaultConfig",
    "VaultRef",
    "VaultSecretsConfig",
    "ZoneSpreadConfig",
    "load_environment",
    "parse_environment",
]
