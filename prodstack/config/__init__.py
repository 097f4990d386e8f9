"""Stack configuration: pydantic models of everything a stack can say, and their loading."""

from prodstack.config.app import AppConfig, PodSecurity, Probe, Probes, Resources, Shutdown
from prodstack.config.canary import AnalysisConfig, BackgroundAnalysis, CanaryConfig, CanaryStep
from prodstack.config.db_backup import (
    BackupBucket,
    BackupJob,
    DatabaseConnection,
    DbBackupConfig,
    JobSecurity,
    KeyRef,
    PasswordSource,
    RestoreCheckJob,
    RestoreTarget,
    SecretStoreRef,
    VaultRef,
)
from prodstack.config.environment import EnvironmentConfig
from prodstack.config.errors import ConfigError
from prodstack.config.loader import NAMESPACE, load_environment, parse_environment

__all__ = [
    "NAMESPACE",
    "AnalysisConfig",
    "AppConfig",
    "BackgroundAnalysis",
    "BackupBucket",
    "BackupJob",
    "CanaryConfig",
    "CanaryStep",
    "ConfigError",
    "DatabaseConnection",
    "DbBackupConfig",
    "EnvironmentConfig",
    "JobSecurity",
    "KeyRef",
    "PasswordSource",
    "PodSecurity",
    "Probe",
    "Probes",
    "Resources",
    "RestoreCheckJob",
    "RestoreTarget",
    "SecretStoreRef",
    "Shutdown",
    "VaultRef",
    "load_environment",
    "parse_environment",
]
