"""Stack configuration: pydantic models of everything a stack can say, and their loading."""

from prodstack.config.app import AppConfig, PodSecurity, Probe, Probes, Resources, Shutdown
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
from prodstack.config.ha import DisruptionBudgetConfig, HAConfig, ZoneSpreadConfig
from prodstack.config.load_balancer import LoadBalancerConfig
from prodstack.config.loader import NAMESPACE, load_environment, parse_environment

__all__ = [
    "NAMESPACE",
    "AnalysisConfig",
    "AppConfig",
    "AutoscalingConfig",
    "BackgroundAnalysis",
    "CanaryConfig",
    "CanaryStep",
    "ConfigError",
    "DisruptionBudgetConfig",
    "EnvironmentConfig",
    "HAConfig",
    "LoadBalancerConfig",
    "PodSecurity",
    "Probe",
    "Probes",
    "ReplicaRange",
    "RequestsMetric",
    "Resources",
    "ScalingBehavior",
    "ScalingPolicy",
    "ScalingRules",
    "Shutdown",
    "ZoneSpreadConfig",
    "load_environment",
    "parse_environment",
]
