"""Stack configuration: pydantic models of everything a stack can say, and their loading."""

from prodstack.config.app import AppConfig, PodSecurity, Probe, Probes, Resources, Shutdown
from prodstack.config.app_settings import AppSettings
from prodstack.config.canary import AnalysisConfig, BackgroundAnalysis, CanaryConfig, CanaryStep
from prodstack.config.environment import EnvironmentConfig
from prodstack.config.errors import ConfigError
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
    "BackgroundAnalysis",
    "CanaryConfig",
    "CanaryStep",
    "ConfigError",
    "DatabaseSecret",
    "Delivery",
    "EnvironmentConfig",
    "NetworkConfig",
    "PodSecurity",
    "Probe",
    "Probes",
    "RedisSecret",
    "Resources",
    "SecurityConfig",
    "Shutdown",
    "VaultCaProvider",
    "VaultConfig",
    "VaultSecretsConfig",
    "load_environment",
    "parse_environment",
]
