"""ArgoCDApplication: the Argo CD Application that syncs one namespace's manifests from git."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from prodstack import kinds
from prodstack import labels as lbl
from prodstack.components.args import ComponentArgs
from prodstack.config.gitops import GitOpsConfig
from prodstack.config.types import DnsLabel, LabelMap, ObjectName
from prodstack.specs.gitops import CASCADE_FINALIZER, application_spec

APPLICATION_API_VERSION = kinds.APPLICATION.api_version


@dataclass(frozen=True, kw_only=True)
class ArgoCDApplicationArgs(ComponentArgs):
    """``namespace`` is the destination whose manifests (``<gitops.path>/<namespace>``) the
    Application syncs; ``application_name`` its name (default: the namespace, unique in a
    cluster); ``namespace_labels`` are applied if Argo CD creates the namespace;
    ``automated=False`` turns automated sync off (a hand-over)."""

    namespace: DnsLabel
    gitops: GitOpsConfig
    application_name: ObjectName | None = None
    namespace_labels: LabelMap = field(default_factory=dict)
    automated: bool = True


class ArgoCDApplication(pulumi.ComponentResource):
    """An ``argoproj.io/v1alpha1`` Application in the Argo CD namespace.

    Without ``gitops.cascadeDelete`` it has no resources finalizer: deleting it (or removing
    ``gitops`` from a stack) stops Argo CD from managing the objects and leaves them running.
    """

    application_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: ArgoCDApplicationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("prodstack:index:ArgoCDApplication", name, None, opts)
        app_name = args.application_name or args.namespace
        metadata: dict[str, object] = {
            "name": app_name,
            "namespace": args.gitops.argocd_namespace,
            "labels": {lbl.MANAGED_BY: "pulumi", lbl.COMPONENT: "gitops"},
        }
        # Listed explicitly even when empty: an update removes a finalizer an older release set.
        metadata["finalizers"] = [CASCADE_FINALIZER] if args.gitops.cascade_delete else []
        application = k8s.apiextensions.CustomResource(
            f"{name}-application",
            api_version=APPLICATION_API_VERSION,
            kind=kinds.APPLICATION.kind,
            metadata=metadata,
            spec=application_spec(
                args.gitops, args.namespace, args.namespace_labels, automated=args.automated
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.application_name = application.urn.apply(lambda _: app_name)
        self.register_outputs({"application_name": self.application_name})
