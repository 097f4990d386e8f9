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
    "AnalysisConfig",
    "ApiAccessRule",
    "AppConfig",
    "AppSettings",
    "AutoscalingConfig",
    "BackgroundAnalysis",
    "CanaryConfig",
    "CanaryStep",
    "ConfigError",
    "DatabaseSecret",
    "Delivery",
    "DisruptionBudgetConfig",
    "EnvironmentConfig",
    "GitOpsConfig",
    "HAConfig",
    "LoadBalancerConfig",
    "NetworkConfig",
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
    "SecurityConfig",
    "Shutdown",
    "VaultCaProvider",
    "VaultConfig",
    "VaultSecretsConfig",
    "ZoneSpreadConfig",
    "load_environment",
    "parse_environment",
]
