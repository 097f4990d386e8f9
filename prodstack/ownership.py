"""Who applies a stack's Kubernetes objects, and moving them from one owner to the other without
deleting a live object.

- ``pulumi``: the default Kubernetes provider applies them to the cluster.
- ``gitops``: a render-mode provider per namespace writes them to the GitOps folder
  (``renderYamlToDirectory``, ``alwaysRender`` so a fresh checkout gets every file) and Argo CD
  applies them; Pulumi applies only the Applications (and the AWS resources).
- ``handover``: the first of two updates from ``pulumi`` to ``gitops``. A change of provider
  replaces each object, and a replacement deletes the old object through the old provider
  (from the cluster) unless the *old state* says ``retainOnDelete``: the Pulumi engine decides
  with the state's flag (pulumi/pulumi pkg/resource/deploy/step.go ``DeleteStep.Apply``,
  pulumi/pulumi#13428). So the hand-over update marks every object retained while Pulumi still
  applies it; the next update moves them, and the cluster keeps them for Argo CD to adopt.

A stack exports its owner (``kubernetesOwner``). Moving from ``pulumi`` straight to ``gitops``
is refused: the program reads its own stack's last outputs (a StackReference to itself) and
fails before any object reaches the render providers.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from prodstack.kinds import KUBERNETES_PREFIX
from prodstack.plan import EnvironmentPlan

OWNER_OUTPUT = "kubernetesOwner"


class HandOverRequired(pulumi.RunError):
    """The stack's objects are applied by Pulumi; moving them to Argo CD in one update would
    delete them from the cluster."""


def previous_owner() -> pulumi.Output[str | None]:
    """The owner the stack's last update exported: None for a stack never deployed, and
    ``pulumi`` for one deployed by a release that did not export it (prodstack 0.1)."""
    organization = pulumi.get_organization()
    name = f"{pulumi.get_project()}/{pulumi.get_stack()}"
    reference = pulumi.StackReference(
        f"prodstack-{pulumi.get_stack()}-previous",
        stack_name=f"{organization}/{name}" if organization else pulumi.get_stack(),
    )
    return reference.outputs.apply(_owner_from)


def _owner_from(outputs: dict[str, Any] | None) -> str | None:
    if not outputs:
        return None
    owner = outputs.get(OWNER_OUTPUT)
    return str(owner) if owner else "pulumi"


def check_hand_over(previous: str | None) -> str | None:
    """Refuse the one move that deletes live objects: Pulumi-applied straight to GitOps."""
    if previous == "pulumi":
        raise HandOverRequired(
            "this stack's Kubernetes objects are applied by Pulumi (its last update said so): "
            "moving them to Argo CD in one update would delete every one of them from the "
            "cluster. Run one update with prodstack:gitops.handOver: prepare (Pulumi keeps "
            "them and marks them retained), then remove handOver and update again; see "
            "docs/gitops.md#moving-a-deployed-stack-to-gitops"
        )
    return previous


def render_providers(plan: EnvironmentPlan) -> dict[str, k8s.Provider]:
    """One render-mode provider per namespace, writing to ``<gitops.path>/<namespace>``
    below the project. Their directory waits for the hand-over check, so no object reaches
    them when the check fails."""
    allowed = previous_owner().apply(check_hand_over)
    root = pulumi.get_root_directory()
    running_in = _program_directory(root) if root else None
    providers: dict[str, k8s.Provider] = {}
    for namespace in plan.namespaces:
        assert namespace.application is not None
        folder = namespace.application.path
        directory = os.path.relpath(Path(root) / folder, running_in) if root else folder
        providers[namespace.name] = k8s.Provider(
            f"{namespace.name}-manifests",
            render_yaml_to_directory=allowed.apply(_after_check(directory)),
            always_render=True,
        )
    return providers


def _after_check(directory: str) -> Callable[[str | None], str]:
    return lambda _: directory


def _program_directory(root: str) -> Path:
    """Where the provider runs: the GitOps folders are given relative to it, so the value is
    the same on every machine and checkout (an absolute path would differ between a laptop
    and CI, and a changed ``renderYamlToDirectory`` replaces the provider and every object it
    wrote: pulumi-kubernetes ``DiffConfig``)."""
    # Imported here: only GitOps stacks read the project file (the engine package is large).
    from prodstack.synth.project import find_project

    return find_project(Path(root)).program_directory


def retain_kubernetes_objects(
    args: pulumi.ResourceTransformationArgs,
) -> pulumi.ResourceTransformationResult | None:
    """A stack transformation for the hand-over update: every Kubernetes object is retained on
    delete, so the next update's provider change leaves it running. (A transformation runs in
    the program, so the offline engine sees exactly what ``pulumi up`` does.)"""
    if not args.type_.startswith(KUBERNETES_PREFIX) or not isinstance(
        args.resource, pulumi.CustomResource
    ):
        return None
    return pulumi.ResourceTransformationResult(
        args.props,
        pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(retain_on_delete=True)),
    )
