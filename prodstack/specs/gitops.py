"""The Argo CD Application of one namespace of a GitOps stack, and the sync waves that order
what it applies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prodstack.config.gitops import GitOpsConfig

# Argo CD's resources finalizer: deleting the Application first deletes what it deployed.
CASCADE_FINALIZER = "resources-finalizer.argocd.argoproj.io"
SYNC_WAVE = "argocd.argoproj.io/sync-wave"
# Within a wave Argo CD orders known kinds first and custom resources by name, so an
# ExternalSecret could come before its store and a Rollout before its Secret exists. Waves
# make it explicit: stores, then ExternalSecrets (Argo CD waits until they are healthy, i.e.
# synced), then everything else.
SYNC_WAVES = {"SecretStore": "-2", "ClusterSecretStore": "-2", "ExternalSecret": "-1"}


def source_path(gitops: GitOpsConfig, namespace: str) -> str:
    """The folder of one namespace's manifests, in the repository and below the project."""
    return f"{gitops.path}/{namespace}"


def application_spec(
    gitops: GitOpsConfig,
    namespace: str,
    namespace_labels: Mapping[str, str],
    *,
    automated: bool = True,
) -> dict[str, Any]:
    """Automated sync with prune and self-heal of ``<path>/<namespace>`` (the render-mode
    provider's ``0-crd`` and ``1-manifest`` folders, hence ``recurse``), retry with backoff,
    and the namespace created with its labels (Pod Security included) should Argo CD create
    it before the rendered Namespace object. ``automated=False`` (a hand-over) leaves syncing
    to a person: Argo CD changes nothing on its own."""
    sync: dict[str, Any] = {}
    if automated:
        sync["automated"] = {"prune": gitops.prune, "selfHeal": gitops.self_heal}
    return {
        "project": gitops.project,
        "source": {
            "repoURL": gitops.repo_url,
            "targetRevision": gitops.target_revision,
            "path": source_path(gitops, namespace),
            "directory": {"recurse": True},
        },
        "destination": {"server": gitops.destination_server, "namespace": namespace},
        "syncPolicy": {
            **sync,
            "syncOptions": ["CreateNamespace=true", "ServerSideApply=true"],
            "managedNamespaceMetadata": {"labels": dict(namespace_labels)},
            "retry": {
                "limit": gitops.retry.limit,
                "backoff": {
                    "duration": gitops.retry.backoff.duration,
                    "factor": gitops.retry.backoff.factor,
                    "maxDuration": gitops.retry.backoff.max_duration,
                },
            },
        },
    }
