"""ArgoCDApplication: the Argo CD Application that syncs a stack's rendered manifests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from prodstack.config.gitops import GitOpsConfig
from prodstack.identity import AppIdentity
from prodstack.specs.gitops import application_spec

APPLICATION_API_VERSION = "argoproj.io/v1alpha1"


@dataclass(frozen=True, kw_only=True)
class ArgoCDApplicationArgs:
    """``identity`` names the Application (``<app>-<environment>`` via its instance) and the
    destination namespace; ``namespace_labels`` are applied if Argo CD creates the namespace."""

    identity: AppIdentity
    gitops: GitOpsConfig
    namespace_labels: Mapping[str, str] = field(default_factory=dict)


class ArgoCDApplication(pulumi.ComponentResource):
    """An ``argoproj.io/v1alpha1`` Application in the Argo CD namespace."""

    application_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: ArgoCDApplicationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("prodstack:index:ArgoCDApplication", name, None, opts)
        identity = args.identity
        app_name = identity.instance_label
        metadata = identity.metadata(app_name, "gitops")
        metadata["namespace"] = args.gitops.argocd_namespace
        # Deleting the Application deletes what it deployed first (foreground cascade).
        metadata["finalizers"] = ["resources-finalizer.argocd.argoproj.io"]
        application = k8s.apiextensions.CustomResource(
            f"{name}-application",
            api_version=APPLICATION_API_VERSION,
            kind="Application",
            metadata=metadata,
            spec=application_spec(args.gitops, identity.namespace, args.namespace_labels),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.application_name = application.urn.apply(lambda _: app_name)
        self.register_outputs({"application_name": self.application_name})
