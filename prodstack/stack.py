"""The environment stack: prodstack's components composed from one validated configuration."""

from __future__ import annotations

import dataclasses
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from prodstack.components.canary_app import CanaryApp, CanaryAppArgs
from prodstack.components.vault_secrets import VaultSecrets, VaultSecretsArgs
from prodstack.config.environment import EnvironmentConfig


def build(env: EnvironmentConfig) -> dict[str, Any]:
    """Create the stack's resources; returns the values the program exports."""
    app = env.app
    namespace = k8s.core.v1.Namespace(
        "namespace",
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
    app_args = CanaryAppArgs(
        app=app, namespace=env.namespace, instance=f"{app.name}-{env.environment}"
    )
    depends: list[pulumi.Resource] = [namespace]
    if env.vault_secrets is not None:
        # External Secrets logs in to Vault as the account CanaryApp creates for the app.
        secrets = VaultSecrets(
            f"{app.name}-secrets",
            VaultSecretsArgs(identity=app_args.identity, config=env.vault_secrets),
            opts=pulumi.ResourceOptions(depends_on=[namespace]),
        )
        wiring = secrets.pod_wiring
        app_args = dataclasses.replace(
            app_args,
            extra_volumes=(*app_args.extra_volumes, *wiring.volumes),
            extra_volume_mounts=(*app_args.extra_volume_mounts, *wiring.volume_mounts),
            env_from=(*app_args.env_from, *wiring.env_from),
            extra_env=(*app_args.extra_env, *wiring.env),
            pod_annotations={**app_args.pod_annotations, **wiring.annotations},
        )
        depends.append(secrets)
    canary_app = CanaryApp(app.name, app_args, opts=pulumi.ResourceOptions(depends_on=depends))
    return {
        "namespace": env.namespace,
        "rolloutName": canary_app.rollout_name,
        "stableServiceName": canary_app.stable_service_name,
        "canaryServiceName": canary_app.canary_service_name,
    }
