"""Stack configuration: pydantic models of everything a stack can say, and their loading."""

from prodstack.config.app import AppConfig, PodSecurity, Probe, Probes, Resources, Shutdown
from prodstack.config.canary import AnalysisConfig, BackgroundAnalysis, CanaryConfig, CanaryStep
from prodstack.config.environment import EnvironmentConfig
from prodstack.config.errors import ConfigError
from prodstack.config.loader import NAMESPACE, load_environment, parse_environment
from prodstack.config.security import ApiAccessRule, NetworkConfig, SecurityConfig

__all__ = [
    "NAMESPACE",
    "AnalysisConfig",
    "ApiAccessRule",
    "AppConfig",
    "BackgroundAnalysis",
    "CanaryConfig",
    "CanaryStep",
    "ConfigError",
    "EnvironmentConfig",
    "NetworkConfig",
    "PodSecurity",
    "Probe",
    "Probes",
    "Resources",
    "SecurityConfig",
    "Shutdown",
    "load_environment",
    "parse_environment",
]
