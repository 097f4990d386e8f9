"""GitOps settings: the Argo CD Application that syncs a stack's rendered manifests."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from prodstack.config.base import ConfigModel
from prodstack.config.types import DnsLabel, Duration, PositiveInt, shown

_PATH_SEGMENT = re.compile(r"^[A-Za-z0-9._-]+$")


def _check_repo_path(value: str) -> str:
    segments = value.split("/")
    if (
        not value
        or value.startswith("/")
        or any(s in ("", ".", "..") or _PATH_SEGMENT.match(s) is None for s in segments)
    ):
        raise ValueError(
            f"{shown(value)} is not a relative folder path: write segments of letters, "
            "digits, '.', '_' or '-' joined by '/', without '.' or '..' (e.g. rendered/production)"
        )
    return value


class RetryBackoff(ConfigModel):
    duration: Duration = "5s"
    factor: Annotated[int, Field(ge=1, le=10)] = 2
    max_duration: Duration = "3m"


class SyncRetry(ConfigModel):
    limit: PositiveInt = 5
    backoff: RetryBackoff = RetryBackoff()


class GitOpsConfig(ConfigModel):
    """Where the stack's manifests are committed, and how Argo CD syncs them.

    ``path`` is the stack's folder, both in the repository and below the project (where
    ``pulumi up`` writes it): each namespace's manifests are in ``<path>/<namespace>``, synced by
    an Application of its own. ``cascadeDelete`` gives the Applications Argo CD's resources
    finalizer, so deleting one deletes what it deployed (off: removing an Application leaves
    the workloads running). ``handOver: prepare`` is the first of the two updates that move a
    stack whose objects Pulumi applies to Argo CD without deleting them (docs/gitops.md).
    """

    repo_url: Annotated[str, Field(pattern=r"^(https://|ssh://|git@)[^\s]+$")]
    target_revision: Annotated[str, Field(min_length=1)] = "main"
    path: Annotated[str, AfterValidator(_check_repo_path)]
    cascade_delete: bool = False
    hand_over: Literal["prepare"] | None = None
    project: DnsLabel = "default"
    argocd_namespace: DnsLabel = "argocd"
    destination_server: Annotated[str, Field(pattern=r"^https://[^\s]+$")] = (
        "https://kubernetes.default.svc"
    )
    prune: bool = True
    self_heal: bool = True
    retry: SyncRetry = SyncRetry()
