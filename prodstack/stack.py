"""The environment stack: prodstack's components composed from one validated configuration."""

from __future__ import annotations

import dataclasses
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from prodstack.components.autoscaling import Autoscaling, AutoscalingArgs
from prodstack.components.canary_app import CanaryApp, CanaryAppArgs, ExternallyScaled
from prodstack.components.ha_policy import HAPolicy, HAPolicyArgs
from prodstack.config.environment import EnvironmentConfig
from prodstack.specs import load_balancer as lb_spec


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
                **(lb_spec.namespace_labels(env.load_balancer) if env.load_balancer else {}),
            },
        },
    )
    in_namespace = pulumi.ResourceOptions(depends_on=[namespace])
    app_args = CanaryAppArgs(
        app=app, namespace=env.namespace, instance=f"{app.name}-{env.environment}"
    )
    ha = None
    if env.ha is not None:
        ha = HAPolicy(
            app.name,
            HAPolicyArgs(identity=app_args.identity, ha=env.ha, replicas=env.replica_range),
            opts=in_namespace,
        )
    canary_app = CanaryApp(
        app.name,
        dataclasses.replace(
            app_args,
            replicas=ExternallyScaled() if env.autoscaling is not None else None,
            scheduling=ha.scheduling if ha is not None else None,
        ),
        opts=in_namespace,
    )
    exports: dict[str, Any] = {
        "namespace": env.namespace,
        "rolloutName": canary_app.rollout_name,
        "stableServiceName": canary_app.stable_service_name,
        "canaryServiceName": canary_app.canary_service_name,
    }
    if env.autoscaling is not None or env.load_balancer is not None:
        scaling = Autoscaling(
            app.name,
            AutoscalingArgs(
                identity=canary_app.identity,
                rollout_name=canary_app.rollout_name,
                autoscaling=env.autoscaling,
                load_balancer=env.load_balancer,
            ),
            opts=in_namespace,
        )
        if env.load_balancer is not None:
            exports["loadBalancerHostname"] = scaling.load_balancer_hostname
    return exports
