"""`prodstack check` proves that no store lets one workload's account read another's secrets
(prodstack.check.identities), on the stacks and on programs built to break the rule."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import pulumi_kubernetes as k8s
import pytest

from prodstack.check import check, subjects
from prodstack.check.identities import secret_identities
from prodstack.check.references import Index
from prodstack.synth import ResourceGraph, synthesize
from tests.support.stacks import API, ROOT, environment

Manifest = dict[str, Any]


def identity_findings(graph: ResourceGraph) -> list[tuple[str, str]]:
    return sorted(
        (p.subject, p.message) for p in check(graph).problems if p.check == "secret-identity"
    )


def test_the_stacks_give_every_workload_its_own_identity(graph: ResourceGraph) -> None:
    assert identity_findings(graph) == []
    # The check looked at something: every ExternalSecret of the stack is read by pods.
    index = Index(subjects(graph))
    assert len(index.of_kind("ExternalSecret")) == 3  # the app's and one per backup job


def test_the_shared_store_of_0_1_is_found(graph: ResourceGraph) -> None:
    """0.1 read the backup passwords through the app's store: the app's Vault role had to
    read them, so the app's pods could too."""
    env = environment(graph.stack)
    namespace = env.namespace_of(env.services[API])
    items = []
    for subject in subjects(graph):
        item = subject
        if subject.kind == "ExternalSecret" and subject.object_name.endswith("-credentials"):
            props = dict(subject.props)
            props["spec"] = {
                **props["spec"],
                "secretStoreRef": {"kind": "SecretStore", "name": f"{API}-vault"},
            }
            item = dataclasses.replace(subject, props=props)
        items.append(item)
    found = sorted(message for _, message in secret_identities(Index(items)))
    assert len(found) == 2
    for message, job in zip(found, ("db-backup", "db-restore-check"), strict=True):
        assert message.startswith(f"pods running as ServiceAccount {namespace}/{API}-{job} ")
        assert f"logs in as ServiceAccount {namespace}/{API}:" in message
        assert f"serviceAccountRef: {API}-{job}" in message


# --- programs ----------------------------------------------------------------------------


def vault_store(
    name: str,
    *,
    namespace: str = "shop",
    auth: Manifest | None = None,
    cluster: bool = False,
) -> None:
    metadata: Manifest = {"name": name} if cluster else {"name": name, "namespace": namespace}
    spec: Manifest = {
        "provider": {
            "vault": {
                "server": "https://vault.internal",
                "path": "secret",
                "version": "v2",
                "auth": {"kubernetes": {"mountPath": "kubernetes", "role": name, **(auth or {})}},
            }
        }
    }
    k8s.apiextensions.CustomResource(
        f"store-{name}",
        api_version="external-secrets.io/v1",
        kind="ClusterSecretStore" if cluster else "SecretStore",
        metadata=metadata,
        spec=spec,
    )


def external_secret(
    name: str, store: str, *, namespace: str = "shop", store_kind: str = "SecretStore"
) -> None:
    k8s.apiextensions.CustomResource(
        f"es-{namespace}-{name}",
        api_version="external-secrets.io/v1",
        kind="ExternalSecret",
        metadata={"name": name, "namespace": namespace},
        spec={
            "secretStoreRef": {"kind": store_kind, "name": store},
            "target": {"name": name},
            "data": [{"secretKey": "password", "remoteRef": {"key": f"shop/{name}"}}],
        },
    )


def deployment(
    name: str, *, account: str | None, pod_secrets: Manifest, namespace: str = "shop"
) -> None:
    pod: Manifest = {"containers": [{"name": name, "image": "nginx:1.27", **pod_secrets}]}
    if "volumes" in pod["containers"][0]:
        pod["volumes"] = pod["containers"][0].pop("volumes")
    if account is not None:
        pod["serviceAccountName"] = account
    labels = {"app": name}
    k8s.apps.v1.Deployment(
        f"deploy-{namespace}-{name}",
        metadata={"name": name, "namespace": namespace},
        spec={
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": pod},
        },
    )


def mounted(secret: str) -> Manifest:
    return {
        "volumes": [{"name": "s", "secret": {"secretName": secret}}],
        "volumeMounts": [{"name": "s", "mountPath": "/etc/s"}],
    }


def from_env(secret: str) -> Manifest:
    return {
        "env": [{"name": "PW", "valueFrom": {"secretKeyRef": {"name": secret, "key": "password"}}}]
    }


def from_env_from(secret: str) -> Manifest:
    return {"envFrom": [{"secretRef": {"name": secret}}]}


def findings_of(program: Callable[[], None]) -> list[tuple[str, str]]:
    return identity_findings(synthesize(program, stack="identities"))


def test_a_store_that_logs_in_as_its_readers_account_is_clean() -> None:
    def program() -> None:
        vault_store("api", auth={"serviceAccountRef": {"name": "api"}})
        external_secret("api-secrets", "api")
        deployment("api", account="api", pod_secrets=mounted("api-secrets"))

    assert findings_of(program) == []


@pytest.mark.parametrize("reads", [mounted, from_env, from_env_from])
def test_another_workload_reading_through_the_apps_store_is_found(
    reads: Callable[[str], Manifest],
) -> None:
    def program() -> None:
        vault_store("api", auth={"serviceAccountRef": {"name": "api"}})
        external_secret("api-secrets", "api")
        external_secret("backup-credentials", "api")
        deployment("api", account="api", pod_secrets=mounted("api-secrets"))
        deployment("backup", account="backup", pod_secrets=reads("backup-credentials"))

    [(subject, message)] = findings_of(program)
    assert "backup-credentials" in subject
    assert message.startswith("pods running as ServiceAccount shop/backup read its Secret")
    assert "logs in as ServiceAccount shop/api:" in message


def test_pods_without_an_account_run_as_default() -> None:
    def program() -> None:
        vault_store("api", auth={"serviceAccountRef": {"name": "api"}})
        external_secret("api-secrets", "api")
        deployment("api", account=None, pod_secrets=mounted("api-secrets"))

    [(_, message)] = findings_of(program)
    assert "ServiceAccount shop/default read its Secret" in message


def test_a_store_without_an_account_logs_in_as_the_controller() -> None:
    """No serviceAccountRef: External Secrets uses its own token, shared by every such store
    in the cluster (auth_kubernetes.go, getJwtString), so even one reader is exposed."""

    def program() -> None:
        vault_store("api")
        external_secret("api-secrets", "api")
        deployment("api", account="api", pod_secrets=mounted("api-secrets"))

    [(_, message)] = findings_of(program)
    assert "External Secrets' own service account" in message


def test_a_token_secret_serves_one_workload_only() -> None:
    def program(readers: int) -> Callable[[], None]:
        def run() -> None:
            vault_store("shared", auth={"secretRef": {"name": "vault-token"}})
            for index in range(readers):
                external_secret(f"app{index}-secrets", "shared")
                deployment(
                    f"app{index}", account=f"app{index}", pod_secrets=mounted(f"app{index}-secrets")
                )

        return run

    assert findings_of(program(1)) == []
    found = findings_of(program(2))
    assert len(found) == 2  # each workload can read the other's
    assert all("the token in Secret shop/vault-token" in message for _, message in found)


def test_a_cluster_store_resolves_its_account_in_the_readers_namespace() -> None:
    def program(account_namespace: str | None) -> Callable[[], None]:
        def run() -> None:
            ref: Manifest = {"name": "api"}
            if account_namespace is not None:
                ref["namespace"] = account_namespace
            vault_store("platform", cluster=True, auth={"serviceAccountRef": ref})
            for namespace in ("orders", "payments"):
                external_secret(
                    "api-secrets", "platform", namespace=namespace, store_kind="ClusterSecretStore"
                )
                deployment(
                    "api", account="api", pod_secrets=mounted("api-secrets"), namespace=namespace
                )

        return run

    # No namespace: each ExternalSecret's own namespace, so each reader logs in as itself.
    assert findings_of(program(None)) == []
    # Pinned to one namespace: the other namespace's pods read through orders' account.
    [(subject, message)] = findings_of(program("orders"))
    assert "payments" in subject
    assert "ServiceAccount payments/api read its Secret" in message
    assert "logs in as ServiceAccount orders/api" in message


def test_another_providers_credentials_serve_one_workload_only() -> None:
    def program() -> None:
        k8s.apiextensions.CustomResource(
            "store-aws",
            api_version="external-secrets.io/v1",
            kind="SecretStore",
            metadata={"name": "aws", "namespace": "shop"},
            spec={"provider": {"aws": {"service": "SecretsManager", "region": "us-west-2"}}},
        )
        for name in ("api", "worker"):
            external_secret(f"{name}-secrets", "aws")
            deployment(name, account=name, pod_secrets=mounted(f"{name}-secrets"))

    found = findings_of(program)
    assert len(found) == 2
    assert all("the credentials of SecretStore shop/aws" in message for _, message in found)


def test_the_docs_policy_is_what_production_exports(production: ResourceGraph) -> None:
    page = (ROOT / "docs" / "components" / "db-backup.md").read_text()
    (shown,) = re.findall(r"```hcl\n(.*?)```", page, flags=re.DOTALL)
    assert production.outputs["services"][API]["dbBackupVaultPolicy"] == shown
    # The role the commands create is the one the production stack names.
    config = environment("production").services[API].db_backup
    assert config is not None and config.vault is not None
    assert f"auth/kubernetes/role/{config.vault.roles.backup} " in page
