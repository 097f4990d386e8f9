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
from prodstack.config.environment import EnvironmentConfig
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
)
from prodstack.config.security import ApiAccessRule, NetworkConfig, SecurityConfig
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
    "CanaryConfig",
    "CanaryStep",
    "ConfigError",
    "DashboardConfig",
    "DatabaseSecret",
    "Delivery",
    "DisruptionBudgetConfig",
    "EnvironmentConfig",
    "GitOpsConfig",
    "HAConfig",
    "LoadBalancerConfig",
    "NetworkConfig",
    "ObservabilityConfig",
    "PodSecurity",
    "Probe",
    "Probes",
    "RedisSecret",
    "ReplicaRange",
    "RequestsMetric",
    "Resources",
    "ScalingBehavior",
    "ScalingPolicy",
    "ScalingRules",
    "ScrapeConfig",
    "SecurityConfig",
    "Shutdown",
    "VaultCaProvider",
    "VaultConfig",
    "VaultSecretsConfig",
    "ZoneSpreadConfig",
    "load_environment",
    "parse_environment",
]
