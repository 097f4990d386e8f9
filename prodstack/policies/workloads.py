"""Policies on everything that runs pods: pinned images, resources and probes, restricted pods."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prodstack.config.app import image_is_pinned, means_latest
from prodstack.pod_security import pod_templates, restricted_violations
from prodstack.policies.model import PolicyContext, ResourcePolicy, Subject

LONG_RUNNING = frozenset({"Deployment", "StatefulSet", "DaemonSet", "Rollout", "ReplicaSet", "Pod"})


def _containers(pod: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for field in ("initContainers", "containers"):
        yield from pod.get(field) or []


def _pods(subject: Subject) -> list[dict[str, Any]]:
    return list(pod_templates(dict(subject.props))) if subject.is_kubernetes else []


def pinned_images(subject: Subject, context: PolicyContext) -> Iterator[str]:
    for pod in _pods(subject):
        for container in _containers(pod):
            image = str(container.get("image", ""))
            if means_latest(image):
                yield (
                    f"container {container.get('name')!r} uses {image!r}, which is 'latest': "
                    "name an immutable tag, or better a digest (image@sha256:...)"
                )
            elif context.production and not image_is_pinned(image):
                yield (
                    f"container {container.get('name')!r} uses {image!r}: production images must "
                    "be pinned by digest (image@sha256:...), since a tag can be moved"
                )


def resources_and_probes(subject: Subject, context: PolicyContext) -> Iterator[str]:
    for pod in _pods(subject):
        for container in _containers(pod):
            name = container.get("name")
            resources = container.get("resources") or {}
            for bound in ("requests", "limits"):
                amounts = resources.get(bound) or {}
                missing = [r for r in ("cpu", "memory") if r not in amounts]
                if bound == "limits":
                    missing = [r for r in missing if r == "memory"]  # CPU limits are a choice
                if missing:
                    yield f"container {name!r} sets no {bound} for {', '.join(missing)}: set them"
            if subject.kind in LONG_RUNNING and container in (pod.get("containers") or []):
                for probe in ("livenessProbe", "readinessProbe"):
                    if probe not in container:
                        yield (
                            f"container {name!r} has no {probe}: add one so that broken pods "
                            "are noticed"
                        )


def restricted_security_context(subject: Subject, context: PolicyContext) -> Iterator[str]:
    for pod in _pods(subject):
        for problem in restricted_violations(pod):
            yield f"{problem} (the Pod Security 'restricted' profile refuses it)"
        for container in _containers(pod):
            context_ = container.get("securityContext") or {}
            if context_.get("readOnlyRootFilesystem") is not True:
                yield (
                    f"container {container.get('name')!r} has a writable root filesystem: set "
                    "readOnlyRootFilesystem: true and mount an emptyDir where it must write"
                )


POLICIES = (
    ResourcePolicy(
        "images-pinned",
        "Images name an immutable version: never 'latest'; a digest in production.",
        pinned_images,
    ),
    ResourcePolicy(
        "resources-and-probes",
        "Containers request CPU and memory, cap memory, and long-running ones have probes.",
        resources_and_probes,
    ),
    ResourcePolicy(
        "restricted-pods",
        "Pod templates (Rollouts and CronJobs included) meet the restricted Pod Security profile "
        "and keep their root filesystem read-only.",
        restricted_security_context,
    ),
)
