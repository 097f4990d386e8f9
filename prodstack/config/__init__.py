"""Stack configuration: pydantic models of everything a stack can say, and their loading."""

from prodstack.config.app import AppConfig, PodSecurity, Probe, Probes, Resources, Shutdown
from prodstack.config.canary import AnalysisConfig, BackgroundAnalysis, CanaryConfig, CanaryStep
from prodstack.config.environment import EnvironmentConfig
from prodstack.config.errors import ConfigError
from prodstack.config.loader import NAMESPACE, load_environment, parse_environment
from prodstack.config.observability import (
    AlertsConfig,
    DashboardConfig,
    ObservabilityConfig,
    ScrapeConfig,
)

__all__ = [
    "NAMESPACE",
    "AlertsConfig",
    "AnalysisConfig",
    "AppConfig",
    "BackgroundAnalysis",
    "CanaryConfig",
    "CanaryStep",
    "ConfigError",
    "DashboardConfig",
    "EnvironmentConfig",
    "ObservabilityConfig",
    "PodSecurity",
    "Probe",
    "Probes",
    "Resources",
    "ScrapeConfig",
    "Shutdown",
    "load_environment",
    "parse_environment",
]
