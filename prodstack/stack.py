"""The environment stack: prodstack's components composed from one validated configuration."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from prodstack.components.canary_app import CanaryApp, CanaryAppArgs
from prodstack.config.environment import EnvironmentConfig


def build(env: EnvironmentConfig, *, name_prefix: str = "") -> dict[str, Any]:
    """Create the stack's resources; returns the values the program exports.

    ``name_prefix`` starts every top-level logical name, so that one program can build several
    environments side by side (each with its own app name and namespace) without URN clashes.
    """
    app = env.app
    namespace = k8s.core.v1.Namespace(
        f"{name_prefix}namespace",
        metadata={
            "name": env.namespace,
            "labels": {
                "app.kubernetes.io/managed-by": "pulumi",
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "v1.33",
                "pod-security.kubernetes.io/audit": "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
            },
        },
    )
    canary_app = CanaryApp(
        f"{name_prefix}{app.name}",
        CanaryAppArgs(app=app, namespace=env.namespace, instance=f"{app.name}-{env.environment}"),
        opts=pulumi.ResourceOptions(depends_on=[namespace]),
    )
    return {
        "namespace": env.namespace,
        "rolloutName": canary_app.rollout_name,
        "serviceName": canary_app.service_name,
        "stableServiceName": canary_app.stable_service_name,
        "canaryServiceName": canary_app.canary_service_name,
    }
