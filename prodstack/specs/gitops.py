"""The Argo CD Application spec for a rendered stack."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prodstack.config.gitops import GitOpsConfig

APPLICATION_FILES = "*-application-*.yaml"


def application_spec(
    gitops: GitOpsConfig, namespace: str, namespace_labels: Mapping[str, str]
) -> dict[str, Any]:
    """Automated sync with prune and self-heal, retry with backoff, and the namespace created
    with the stack's own labels (Pod Security included) should Argo CD create it first.

    The rendered folder holds this Application too; it is excluded from its own sync, so Argo CD
    never prunes or re-applies the object that drives it.
    """
    automated: dict[str, Any] = {"prune": gitops.prune, "selfHeal": gitops.self_heal}
    return {
        "project": gitops.project,
        "source": {
            "repoURL": gitops.repo_url,
            "targetRevision": gitops.target_revision,
            "path": gitops.path,
            "directory": {"recurse": False, "exclude": APPLICATION_FILES},
        },
        "destination": {"server": gitops.destination_server, "namespace": namespace},
        "syncPolicy": {
            "automated": automated,
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
