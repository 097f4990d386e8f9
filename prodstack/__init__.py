"""prodstack: Pulumi components for running services in production on Kubernetes and AWS.

Components are imported lazily, so ``import prodstack`` stays cheap for programs that use
one of them (and never pays for pulumi_aws unless a component needs it: only DbBackup does).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Autoscaling": "prodstack.components.autoscaling",
    "AutoscalingArgs": "prodstack.components.autoscaling",
    "HAPolicy": "prodstack.components.ha_policy",
    "HAPolicyArgs": "prodstack.components.ha_policy",
    "CanaryApp": "prodstack.components.canary_app",
    "CanaryAppArgs": "prodstack.components.canary_app",
    "ExternallyScaled": "prodstack.components.canary_app",
    "VaultSecrets": "prodstack.components.vault_secrets",
    "VaultSecretsArgs": "prodstack.components.vault_secrets",
    "VaultSecretsConfig": "prodstack.config",
    "Observability": "prodstack.components.observability",
    "ObservabilityArgs": "prodstack.components.observability",
    "BackupJobs": "prodstack.components.observability",
    "ObservabilityConfig": "prodstack.config",
    "DbBackup": "prodstack.components.db_backup",
    "DbBackupArgs": "prodstack.components.db_backup",
    "DbBackupConfig": "prodstack.config",
    "AppIdentity": "prodstack.identity",
    "AppConfig": "prodstack.config",
    "CanaryConfig": "prodstack.config",
    "CanaryStep": "prodstack.config",
    "AnalysisConfig": "prodstack.config",
    "EnvironmentConfig": "prodstack.config",
    "ConfigError": "prodstack.config",
}

__all__ = [
    "AnalysisConfig",
    "AppConfig",
    "AppIdentity",
    "Autoscaling",
    "AutoscalingArgs",
    "BackupJobs",
    "CanaryApp",
    "CanaryAppArgs",
    "CanaryConfig",
    "CanaryStep",
    "ConfigError",
    "DbBackup",
    "DbBackupArgs",
    "DbBackupConfig",
    "EnvironmentConfig",
    "ExternallyScaled",
    "HAPolicy",
    "HAPolicyArgs",
    "Observability",
    "ObservabilityArgs",
    "ObservabilityConfig",
    "VaultSecrets",
    "VaultSecretsArgs",
    "VaultSecretsConfig",
]

if TYPE_CHECKING:
    from prodstack.components.autoscaling import Autoscaling as Autoscaling
    from prodstack.components.autoscaling import AutoscalingArgs as AutoscalingArgs
    from prodstack.components.canary_app import CanaryApp as CanaryApp
    from prodstack.components.canary_app import CanaryAppArgs as CanaryAppArgs
    from prodstack.components.canary_app import ExternallyScaled as ExternallyScaled
    from prodstack.components.db_backup import DbBackup as DbBackup
    from prodstack.components.db_backup import DbBackupArgs as DbBackupArgs
    from prodstack.components.ha_policy import HAPolicy as HAPolicy
    from prodstack.components.ha_policy import HAPolicyArgs as HAPolicyArgs
    from prodstack.components.observability import BackupJobs as BackupJobs
    from prodstack.components.observability import Observability as Observability
    from prodstack.components.observability import ObservabilityArgs as ObservabilityArgs
    from prodstack.components.vault_secrets import VaultSecrets as VaultSecrets
    from prodstack.components.vault_secrets import VaultSecretsArgs as VaultSecretsArgs
    from prodstack.config import AnalysisConfig as AnalysisConfig
    from prodstack.config import AppConfig as AppConfig
    from prodstack.config import CanaryConfig as CanaryConfig
    from prodstack.config import CanaryStep as CanaryStep
    from prodstack.config import ConfigError as ConfigError
    from prodstack.config import DbBackupConfig as DbBackupConfig
    from prodstack.config import EnvironmentConfig as EnvironmentConfig
    from prodstack.config import ObservabilityConfig as ObservabilityConfig
    from prodstack.config import VaultSecretsConfig as VaultSecretsConfig
    from prodstack.identity import AppIdentity as AppIdentity


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'prodstack' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
