"""Secret identities: no credential External Secrets logs in with serves one workload's secrets
to another.

An ExternalSecret reads through its store, and the store logs in to the secret backend as one
identity; whatever that identity's policy grants, every ExternalSecret through a store with that
identity can fetch. So the identity must be the workload's own: the service account of the pods
that read the resulting Secret. How External Secrets picks the identity of a Vault store with
Kubernetes auth (external-secrets providers/v1/vault/auth_kubernetes.go, ``getJwtString``):
``serviceAccountRef`` gets a token for that account (TokenRequest); ``secretRef`` reads a token
from a Secret (a credential anyone with the Secret has); neither uses the controller's own
token, which every such store in the cluster shares. A ClusterSecretStore's
``serviceAccountRef`` without a namespace is the account in the ExternalSecret's namespace.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from prodstack.check.references import Index, Problem, pod_uses, store_ref, target_secret
from prodstack.policies.model import Subject

SECRET_STORE_KINDS = ("SecretStore", "ClusterSecretStore")
DEFAULT_SERVICE_ACCOUNT = "default"


@dataclass(frozen=True, order=True)
class Identity:
    """Who a store logs in as: a workload's service account (``account``), or a credential no
    workload owns (``shared``, described); ``cluster_wide`` when any store in the cluster can
    log in as it (External Secrets' own account)."""

    namespace: str
    account: str | None
    shared: str | None = None
    cluster_wide: bool = False

    def describe(self) -> str:
        if self.account is not None:
            return f"ServiceAccount {self.namespace}/{self.account}"
        return str(self.shared)


CONTROLLER = Identity(
    "", None, "External Secrets' own service account (no serviceAccountRef)", cluster_wide=True
)


def store_identity(store: Subject, namespace: str) -> Identity:
    """The identity ``store`` logs in with for an ExternalSecret in ``namespace``."""
    provider = (store.props.get("spec") or {}).get("provider") or {}
    cluster = store.kind == "ClusterSecretStore"
    vault = provider.get("vault")
    if isinstance(vault, dict) and "kubernetes" in (vault.get("auth") or {}):
        auth: dict[str, Any] = vault["auth"]["kubernetes"] or {}
        account = auth.get("serviceAccountRef")
        if isinstance(account, dict) and account.get("name"):
            home = str(account.get("namespace") or "") if cluster else store.namespace
            return Identity(home or namespace, str(account["name"]))
        token = auth.get("secretRef")
        if isinstance(token, dict) and token.get("name"):
            home = str(token.get("namespace") or "") if cluster else store.namespace
            return Identity(
                home or namespace, None, f"the token in Secret {home or namespace}/{token['name']}"
            )
        return CONTROLLER
    where = store.object_name if cluster else f"{store.namespace}/{store.object_name}"
    return Identity("", None, f"the credentials of {store.kind} {where}")


def secret_readers(index: Index) -> dict[tuple[str, str], set[tuple[str, str]]]:
    """For each Secret (namespace, name), the accounts (namespace, name) of the pods that read
    it, by volume, projection, env or envFrom."""
    readers: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    for pod in index.pods():
        namespace = pod.owner.namespace
        account = str(pod.spec.get("serviceAccountName") or DEFAULT_SERVICE_ACCOUNT)
        for kind, name, _ in pod_uses(pod.spec):
            if kind == "Secret":
                readers[(namespace, name)].add((namespace, account))
    return readers


def secret_identities(index: Index) -> Iterator[Problem]:
    """Every credential a store logs in with fetches secrets for at most one workload, and a
    service account's only for pods that run as that account."""
    readers = secret_readers(index)
    served: dict[Identity, dict[tuple[str, str], list[Subject]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for external in index.of_kind("ExternalSecret"):
        kind, namespace, name = store_ref(external)
        if kind not in SECRET_STORE_KINDS:
            continue
        store = index.get(kind, namespace, name)
        if store is None:
            continue  # the secret-store check reports it
        identity = store_identity(store, external.namespace)
        for reader in readers.get((external.namespace, target_secret(external)), ()):
            served[identity][reader].append(external)
    for identity, by_reader in sorted(served.items()):
        for reader, externals in sorted(by_reader.items()):
            problem = _exposure(identity, reader, sorted(by_reader))
            if problem is not None:
                yield from ((external, problem) for external in externals)


def _exposure(
    identity: Identity, reader: tuple[str, str], readers: list[tuple[str, str]]
) -> str | None:
    """Why ``reader``'s secret is exposed through ``identity`` (None: it is not)."""
    account = f"ServiceAccount {reader[0]}/{reader[1]}"
    fix = (
        f"give its pods a store of their own with serviceAccountRef: {reader[1]} and a Vault "
        "role bound to that account only"
    )
    if identity.account is not None:
        if reader == (identity.namespace, identity.account):
            return None
        return (
            f"pods running as {account} read its Secret, but its store logs in as "
            f"{identity.describe()}: that account's Vault role must grant this secret, so "
            f"{identity.account}'s pods can read it too; {fix}"
        )
    if identity.cluster_wide:
        return (
            f"its store logs in as {identity.describe()}, which every store in the cluster "
            f"without serviceAccountRef shares: any of them can read what {account} reads; {fix}"
        )
    others = [f"{n}/{a}" for n, a in readers if (n, a) != reader]
    if not others:
        return None
    return (
        f"its store logs in with {identity.describe()}, which also fetches the secrets of "
        f"{', '.join(others)}: one credential's policy grants both, so each can read the "
        f"other's; {fix}"
    )


IDENTITY_CHECKS = (("secret-identity", secret_identities),)
