"""prodstack: Pulumi components for running services in production on Kubernetes and AWS.

Every component, configuration model, plan function and the offline engine's entry points are
importable from here (the guardrails are ``from prodstack.check import check``: the subpackage
owns that name); names load lazily, so ``import prodstack`` stays
cheap for programs that use one component (and never pays for pulumi_aws unless a component
needs it: only DbBackup does).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

_EXPORTS = {
    "AlertsConfig": "prodstack.config",
    "AnalysisConfig": "prodstack.config",
    "AppConfig": "prodstack.config",
    "AlbRouting": "prodstack.specs.ingress",
    "AppIdentity": "prodstack.identity",
    "ArgoCDApplication": "prodstack.components.argocd_application",
    "ArgoCDApplicationArgs": "prodstack.components.argocd_application",
    "Autoscaling": "prodstack.components.autoscaling",
    "AutoscalingArgs": "prodstack.components.autoscaling",
    "AutoscalingConfig": "prodstack.config",
    "BackupJobs": "prodstack.components.observability",
    "Call": "prodstack.config",
    "CallFlows": "prodstack.plan",
    "CanaryApp": "prodstack.components.canary_app",
    "CanaryAppArgs": "prodstack.components.canary_app",
    "CanaryConfig": "prodstack.config",
    "CanaryStep": "prodstack.config",
    "ConfigError": "prodstack.config",
    "DbBackup": "prodstack.components.db_backup",
    "DbBackupArgs": "prodstack.components.db_backup",
    "DbBackupConfig": "prodstack.config",
    "EntryPoint": "prodstack.components.entry_point",
    "EntryPointArgs": "prodstack.components.entry_point",
    "Endpoint": "prodstack.plan",
    "EnvironmentConfig": "prodstack.config",
    "EnvironmentPlan": "prodstack.plan",
    "ExternallyScaled": "prodstack.replicas",
    "GitOpsConfig": "prodstack.config",
    "HAConfig": "prodstack.config",
    "HAPolicy": "prodstack.components.ha_policy",
    "HAPolicyArgs": "prodstack.components.ha_policy",
    "LoadBalancerConfig": "prodstack.config",
    "NamespaceBaseline": "prodstack.components.namespace_baseline",
    "NamespaceBaselineArgs": "prodstack.components.namespace_baseline",
    "Observability": "prodstack.components.observability",
    "ObservabilityArgs": "prodstack.components.observability",
    "ObservabilityConfig": "prodstack.config",
    "PodWiring": "prodstack.specs.pod",
    "ResourceGraph": "prodstack.synth",
    "SecurityConfig": "prodstack.config",
    "ServiceConfig": "prodstack.config",
    "ServiceNames": "prodstack.names",
    "ServiceSecurity": "prodstack.components.service_security",
    "ServiceSecurityArgs": "prodstack.components.service_security",
    "VaultSecrets": "prodstack.components.vault_secrets",
    "VaultSecretsArgs": "prodstack.components.vault_secrets",
    "VaultSecretsConfig": "prodstack.config",
    "call_flows": "prodstack.plan",
    "namespace_flows": "prodstack.plan",
    "parse_environment": "prodstack.config",
    "plan_environment": "prodstack.plan",
    "service_flows": "prodstack.plan",
    "synthesize": "prodstack.synth",
    "synthesize_stack": "prodstack.synth",
}

__all__ = [
    "AlbRouting",
    "AlertsConfig",
    "AnalysisConfig",
    "AppConfig",
    "AppIdentity",
    "ArgoCDApplication",
    "ArgoCDApplicationArgs",
    "Autoscaling",
    "AutoscalingArgs",
    "AutoscalingConfig",
    "BackupJobs",
    "Call",
    "CallFlows",
    "CanaryApp",
    "CanaryAppArgs",
    "CanaryConfig",
    "CanaryStep",
    "ConfigError",
    "DbBackup",
    "DbBackupArgs",
    "DbBackupConfig",
    "Endpoint",
    "EntryPoint",
    "EntryPointArgs",
    "EnvironmentConfig",
    "EnvironmentPlan",
    "ExternallyScaled",
    "GitOpsConfig",
    "HAConfig",
    "HAPolicy",
    "HAPolicyArgs",
    "LoadBalancerConfig",
    "NamespaceBaseline",
    "NamespaceBaselineArgs",
    "Observability",
    "ObservabilityArgs",
    "ObservabilityConfig",
    "PodWiring",
    "ResourceGraph",
    "SecurityConfig",
    "ServiceConfig",
    "ServiceNames",
    "ServiceSecurity",
    "ServiceSecurityArgs",
    "VaultSecrets",
    "VaultSecretsArgs",
    "VaultSecretsConfig",
    "call_flows",
    "namespace_flows",
    "parse_environment",
    "plan_environment",
    "service_flows",
    "synthesize",
    "synthesize_stack",
]

if TYPE_CHECKING:
    from prodstack.components.argocd_application import ArgoCDApplication as ArgoCDApplication
    from prodstack.components.argocd_application import (
        ArgoCDApplicationArgs as ArgoCDApplicationArgs,
    )
    from prodstack.components.autoscaling import Autoscaling as Autoscaling
    from prodstack.components.autoscaling import AutoscalingArgs as AutoscalingArgs
    from prodstack.components.canary_app import CanaryApp as CanaryApp
    from prodstack.components.canary_app import CanaryAppArgs as CanaryAppArgs
    from prodstack.components.db_backup import DbBackup as DbBackup
    from prodstack.components.db_backup import DbBackupArgs as DbBackupArgs
    from prodstack.components.entry_point import EntryPoint as EntryPoint
    from prodstack.components.entry_point import EntryPointArgs as EntryPointArgs
    from prodstack.components.ha_policy import HAPolicy as HAPolicy
    from prodstack.components.ha_policy import HAPolicyArgs as HAPolicyArgs
    from prodstack.components.namespace_baseline import NamespaceBaseline as NamespaceBaseline
    from prodstack.components.namespace_baseline import (
        NamespaceBaselineArgs as NamespaceBaselineArgs,
    )
    from prodstack.components.observability import BackupJobs as BackupJobs
    from prodstack.components.observability import Observability as Observability
    from prodstack.components.observability import ObservabilityArgs as ObservabilityArgs
    from prodstack.components.service_security import ServiceSecurity as ServiceSecurity
    from prodstack.components.service_security import ServiceSecurityArgs as ServiceSecurityArgs
    from prodstack.components.vault_secrets import VaultSecrets as VaultSecrets
    from prodstack.components.vault_secrets import VaultSecretsArgs as VaultSecretsArgs
    from prodstack.config import AlertsConfig as AlertsConfig
    from prodstack.config import AnalysisConfig as AnalysisConfig
    from prodstack.config import AppConfig as AppConfig
    from prodstack.config import AutoscalingConfig as AutoscalingConfig
    from prodstack.config import Call as Call
    from prodstack.config import CanaryConfig as CanaryConfig
    from prodstack.config import CanaryStep as CanaryStep
    from prodstack.config import ConfigError as ConfigError
    from prodstack.config import DbBackupConfig as DbBackupConfig
    from prodstack.config import EnvironmentConfig as EnvironmentConfig
    from prodstack.config import GitOpsConfig as GitOpsConfig
    from prodstack.config import HAConfig as HAConfig
    from prodstack.config import LoadBalancerConfig as LoadBalancerConfig
    from prodstack.config import ObservabilityConfig as ObservabilityConfig
    from prodstack.config import SecurityConfig as SecurityConfig
    from prodstack.config import ServiceConfig as ServiceConfig
    from prodstack.config import VaultSecretsConfig as VaultSecretsConfig
    from prodstack.config import parse_environment as parse_environment
    from prodstack.identity import AppIdentity as AppIdentity
    from prodstack.names import ServiceNames as ServiceNames
    from prodstack.plan import CallFlows as CallFlows
    from prodstack.plan import Endpoint as Endpoint
    from prodstack.plan import EnvironmentPlan as EnvironmentPlan
    from prodstack.plan import call_flows as call_flows
    from prodstack.plan import namespace_flows as namespace_flows
    from prodstack.plan import plan_environment as plan_environment
    from prodstack.plan import service_flows as service_flows
    from prodstack.replicas import ExternallyScaled as ExternallyScaled
    from prodstack.specs.ingress import AlbRouting as AlbRouting
    from prodstack.specs.pod import PodWiring as PodWiring
    from prodstack.synth import ResourceGraph as ResourceGraph
    from prodstack.synth import synthesize as synthesize
    from prodstack.synth import synthesize_stack as synthesize_stack


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'prodstack' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
