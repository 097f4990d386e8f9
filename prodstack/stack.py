"""The environment stack: prodstack's components composed from one validated configuration."""

from __future__ import annotations

from typing import Any

import pulumi

from prodstack.components.canary_app import CanaryApp, CanaryAppArgs
from prodstack.components.security_baseline import SecurityBaseline, SecurityBaselineArgs
from prodstack.config.environment import EnvironmentConfig
from prodstack.identity import AppIdentity
from prodstack.specs.network import app_flows
from prodstack.specs.rbac import api_token_mount, api_token_volume


def build(env: EnvironmentConfig) -> dict[str, Any]:
    """Create the stack's resources; returns the values the program exports."""
    app = env.app
    identity = AppIdentity(
        name=app.name,
        namespace=env.namespace,
        instance=f"{app.name}-{env.environment}",
        version=app.version,
        part_of=app.part_of,
    )
    security = env.security
    baseline = SecurityBaseline(
        "security",
        SecurityBaselineArgs(
            identity=identity,
            pod_security_version=security.pod_security_version,
            flows=app_flows(
                security.network,
                app_pods=identity.selector(),
                app_port=app.port,
                metrics_port=app.metrics_port,
            ),
            api_access=security.api_access,
            service_account_name=app.name,
        ),
    )
    needs_api = bool(security.api_access)
    canary_app = CanaryApp(
        app.name,
        CanaryAppArgs(
            app=app,
            namespace=env.namespace,
            instance=identity.instance,
            extra_volumes=[api_token_volume(security.api_token_expiration_seconds)]
            if needs_api
            else (),
            extra_volume_mounts=[api_token_mount()] if needs_api else (),
        ),
        opts=pulumi.ResourceOptions(depends_on=[baseline]),
    )
    return {
        "namespace": baseline.namespace_name,
        "rolloutName": canary_app.rollout_name,
        "serviceName": canary_app.service_name,
        "stableServiceName": canary_app.stable_service_name,
        "canaryServiceName": canary_app.canary_service_name,
        "networkPolicies": baseline.network_policy_names,
    }
