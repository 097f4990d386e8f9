"""Pod template pieces for an app container: probes, resources, graceful shutdown, hardening.

Pure functions over the configuration models; every dict is manifest-shaped (camelCase).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypedDict

import pulumi

from prodstack.config.app import AppConfig, Probe, Resources, Shutdown

HTTP_PORT_NAME = "http"
METRICS_PORT_NAME = "metrics"
TMP_VOLUME = "tmp"

Manifest = dict[str, Any]


class Scheduling(TypedDict, total=False):
    """The scheduling fragment another component (HAPolicy) hands to the pod template."""

    affinity: Manifest
    topologySpreadConstraints: list[Manifest]
    nodeSelector: dict[str, str]
    tolerations: list[Manifest]
    priorityClassName: str


@dataclass(frozen=True)
class PodWiring:
    """What another component adds to the app's pod template: volumes and their mounts,
    environment (``env``, ``envFrom``) and pod annotations (such as checksums that roll a
    change out). VaultSecrets and ServiceSecurity hand theirs to ``CanaryAppArgs(wiring=...)``.
    """

    volumes: tuple[Manifest, ...] = ()
    volume_mounts: tuple[Manifest, ...] = ()
    env_from: tuple[Manifest, ...] = ()
    env: tuple[Manifest, ...] = ()
    annotations: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def combine(cls, wirings: Iterable[PodWiring]) -> PodWiring:
        """All of them, in order (later annotations win)."""
        parts = list(wirings)
        annotations: dict[str, str] = {}
        for part in parts:
            annotations.update(part.annotations)
        return cls(
            volumes=tuple(v for p in parts for v in p.volumes),
            volume_mounts=tuple(m for p in parts for m in p.volume_mounts),
            env_from=tuple(e for p in parts for e in p.env_from),
            env=tuple(e for p in parts for e in p.env),
            annotations=annotations,
        )


def http_probe(probe: Probe, port_name: str = HTTP_PORT_NAME) -> Manifest:
    return {
        "httpGet": {"path": probe.path, "port": port_name, "scheme": "HTTP"},
        "initialDelaySeconds": probe.initial_delay_seconds,
        "periodSeconds": probe.period_seconds,
        "timeoutSeconds": probe.timeout_seconds,
        "failureThreshold": probe.failure_threshold,
        "successThreshold": 1,
    }


def resource_requirements(resources: Resources) -> Manifest:
    return {
        "requests": {"cpu": resources.requests.cpu, "memory": resources.requests.memory},
        "limits": {"cpu": resources.limits.cpu, "memory": resources.limits.memory},
    }


class RunAs(Protocol):
    """The ids a pod runs as (``PodSecurity`` for apps, ``JobSecurity`` for backup jobs)."""

    @property
    def run_as_user(self) -> int: ...
    @property
    def run_as_group(self) -> int: ...
    @property
    def fs_group(self) -> int: ...


def container_security_context(security: RunAs) -> Manifest:
    """The restricted Pod Security profile for one container, and a read-only root."""
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": security.run_as_user,
        "runAsGroup": security.run_as_group,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pod_security_context(security: RunAs) -> Manifest:
    return {
        "runAsNonRoot": True,
        "runAsUser": security.run_as_user,
        "runAsGroup": security.run_as_group,
        "fsGroup": security.fs_group,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pre_stop_drain(shutdown: Shutdown) -> Manifest:
    """Keep serving while endpoints and load balancers deregister the pod.

    Uses the kubelet's own ``sleep`` action (Kubernetes 1.30+), so distroless images without
    a shell or ``sleep`` binary drain too.
    """
    if shutdown.drain_seconds == 0:
        return {}
    return {"preStop": {"sleep": {"seconds": shutdown.drain_seconds}}}


def app_container(
    app: AppConfig,
    *,
    env_from: Sequence[Manifest] = (),
    extra_env: Sequence[Manifest] = (),
    extra_mounts: Sequence[Manifest] = (),
) -> Manifest:
    """The app's container: named ports, probes, resources, drain, hardened context."""
    env = [{"name": key, "value": value} for key, value in sorted(app.env.items())]
    env.extend(extra_env)
    container: Manifest = {
        "name": app.name,
        "image": app.image,
        "imagePullPolicy": app.image_pull_policy,
        "ports": [
            {"name": HTTP_PORT_NAME, "containerPort": app.port, "protocol": "TCP"},
            {"name": METRICS_PORT_NAME, "containerPort": app.metrics_port, "protocol": "TCP"},
        ],
        "livenessProbe": http_probe(app.probes.liveness),
        "readinessProbe": http_probe(app.probes.readiness),
        "startupProbe": http_probe(app.probes.startup),
        "resources": resource_requirements(app.resources),
        "securityContext": container_security_context(app.security),
        "volumeMounts": [{"name": TMP_VOLUME, "mountPath": "/tmp"}, *extra_mounts],
    }
    if env:
        container["env"] = env
    if env_from:
        container["envFrom"] = list(env_from)
    lifecycle = pre_stop_drain(app.shutdown)
    if lifecycle:
        container["lifecycle"] = lifecycle
    return container


def pod_spec(
    app: AppConfig,
    *,
    service_account_name: pulumi.Input[str],
    automount_service_account_token: bool = False,
    scheduling: Scheduling | None = None,
    env_from: Sequence[Manifest] = (),
    extra_env: Sequence[Manifest] = (),
    extra_volumes: Sequence[Manifest] = (),
    extra_mounts: Sequence[Manifest] = (),
) -> Manifest:
    """A pod spec that meets the restricted Pod Security profile with a writable ``/tmp``."""
    spec: Manifest = {
        "serviceAccountName": service_account_name,
        "automountServiceAccountToken": automount_service_account_token,
        "enableServiceLinks": False,
        "securityContext": pod_security_context(app.security),
        "terminationGracePeriodSeconds": app.shutdown.grace_period_seconds,
        "containers": [
            app_container(app, env_from=env_from, extra_env=extra_env, extra_mounts=extra_mounts)
        ],
        "volumes": [
            {"name": TMP_VOLUME, "emptyDir": {"sizeLimit": app.security.tmp_size_limit}},
            *extra_volumes,
        ],
    }
    spec.update(scheduling or {})
    return spec


def pod_template(
    labels: Mapping[str, str], spec: Manifest, annotations: Mapping[str, str] | None = None
) -> Manifest:
    metadata: Manifest = {"labels": dict(labels)}
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {"metadata": metadata, "spec": spec}
