"""GitOps settings: the Argo CD Application that syncs a stack's rendered manifests."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from prodstack.config.base import ConfigModel
from prodstack.config.types import DnsLabel, Duration, PositiveInt


class RetryBackoff(ConfigModel):
    duration: Duration = "5s"
    factor: Annotated[int, Field(ge=1, le=10)] = 2
    max_duration: Duration = "3m"


class SyncRetry(ConfigModel):
    limit: PositiveInt = 5
    backoff: RetryBackoff = RetryBackoff()


class GitOpsConfig(ConfigModel):
    """Where ``prodstack render`` output is committed, and how Argo CD syncs it."""

    repo_url: Annotated[str, Field(pattern=r"^(https://|ssh://|git@)[^\s]+$")]
    target_revision: Annotated[str, Field(min_length=1)] = "main"
    path: Annotated[str, Field(pattern=r"^[^/\s][^\s]*$")]
    project: DnsLabel = "default"
    argocd_namespace: DnsLabel = "argocd"
    destination_server: Annotated[str, Field(pattern=r"^https://[^\s]+$")] = (
        "https://kubernetes.default.svc"
    )
    prune: bool = True
    self_heal: bool = True
    retry: SyncRetry = SyncRetry()
