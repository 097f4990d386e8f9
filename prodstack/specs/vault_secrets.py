"""External Secrets objects for Vault KV v2, the Vault policy they need, and the pod pieces that
deliver the resulting Secret and the settings ConfigMap to the app.

Pure functions; every dict is manifest-shaped (camelCase) for ``external-secrets.io/v1``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pulumi

from prodstack import kinds
from prodstack import labels as lbl
from prodstack.config.vault_secrets import (
    DatabaseSecret,
    RedisSecret,
    VaultConfig,
    VaultSecretsConfig,
    file_mode,
)
from prodstack.identity import AppIdentity
from prodstack.specs.canary import TIMEOUT_SECONDS, WAIT_FOR
from prodstack.specs.checksum import checksum
from prodstack.specs.gitops import SYNC_WAVE, SYNC_WAVES
from prodstack.specs.pod import Manifest, PodWiring

API_VERSION = kinds.SECRET_STORE.api_version
VAULT_KV_VERSION = "v2"
TEMPLATE_ENGINE = "v2"

DATABASE_URL = "database-url"
REDIS_URL = "redis-url"
# Environment variable for each Secret key when ``delivery.secrets`` is ``env``.
ENV_NAMES = {DATABASE_URL: "DATABASE_URL", REDIS_URL: "REDIS_URL"}
# The path of Redis's CA bundle in the image, in every delivery: Redis clients take a CA
# as an option, not from the URL (go-redis' ParseURL refuses unknown query parameters).
REDIS_CA_FILE = "REDIS_CA_FILE"

# Properties of the Vault secrets, and the template variables (ExternalSecret ``data`` keys)
# they become; the usual setup's names.
DATABASE_PROPERTIES = {
    "username": "username",
    "password": "password",
    "host": "host",
    "port": "port",
    "database": "database",
}
REDIS_PROPERTIES = {"redis_password": "password", "redis_host": "host", "redis_port": "port"}

SECRETS_VOLUME = "app-secrets"
SETTINGS_VOLUME = "app-settings"
SETTINGS_FILE_MODE = 0o444

# An ExternalSecret is ready once its Secret is synced: ``pulumi up`` waits for it (the
# pods would not start without the Secret). Argo CD applies stores, then ExternalSecrets,
# then the rest (prodstack.specs.gitops.SYNC_WAVES).
EXTERNAL_SECRET_READY = "condition=Ready"
EXTERNAL_SECRET_TIMEOUT_SECONDS = 300

CONFIG_CHECKSUM = "checksum/config"
SECRET_TEMPLATE_CHECKSUM = "checksum/secret-template"


@dataclass(frozen=True)
class ObjectNames:
    """Names of the objects VaultSecrets creates. A ClusterSecretStore is cluster-wide, so its
    name carries the namespace too."""

    store: str
    external_secret: str
    secret: str
    settings: str


def object_names(identity: AppIdentity, store_kind: str) -> ObjectNames:
    names = identity.names
    return ObjectNames(
        store=names.secret_store(cluster=not kinds.is_namespaced(store_kind)),
        external_secret=names.external_secret,
        secret=names.secret,
        settings=names.settings,
    )


def store_annotations(kind: str) -> dict[str, str]:
    return {SYNC_WAVE: SYNC_WAVES[kind]}


def store_metadata(
    identity: AppIdentity, name: str, component: str, store_kind: str
) -> dict[str, object]:
    """A (Cluster)SecretStore's metadata: the identity's labels, its sync wave, and no
    namespace when the kind is cluster-scoped."""
    meta = identity.metadata(name, component, annotations=store_annotations(store_kind))
    if not kinds.is_namespaced(store_kind):
        del meta["namespace"]
    return meta


def external_secret_annotations() -> dict[str, str]:
    return {
        SYNC_WAVE: SYNC_WAVES["ExternalSecret"],
        WAIT_FOR: EXTERNAL_SECRET_READY,
        TIMEOUT_SECONDS: str(EXTERNAL_SECRET_TIMEOUT_SECONDS),
    }


def secret_store_spec(
    vault: VaultConfig, *, namespace: str, service_account: pulumi.Input[str]
) -> Manifest:
    """A (Cluster)SecretStore spec: Vault KV v2 with Kubernetes auth as ``service_account``.

    A ClusterSecretStore names the account's namespace and admits ExternalSecrets from that
    namespace only, so other tenants cannot read through it.
    """
    cluster = vault.store_kind == "ClusterSecretStore"
    account: Manifest = {"name": service_account, "audiences": list(vault.audiences)}
    if cluster:
        account["namespace"] = namespace
    provider: Manifest = {
        "server": vault.server,
        "path": vault.kv_mount,
        "version": VAULT_KV_VERSION,
        "auth": {
            "kubernetes": {
                "mountPath": vault.auth_mount,
                "role": vault.role,
                "serviceAccountRef": account,
            }
        },
    }
    if vault.namespace is not None:
        provider["namespace"] = vault.namespace
    if vault.ca_bundle is not None:
        provider["caBundle"] = base64.b64encode(vault.ca_bundle.encode()).decode()
    if vault.ca_provider is not None:
        ca: Manifest = {
            "type": vault.ca_provider.type,
            "name": vault.ca_provider.name,
            "key": vault.ca_provider.key,
        }
        if cluster:
            ca["namespace"] = namespace
        provider["caProvider"] = ca
    spec: Manifest = {"provider": {"vault": provider}}
    if cluster:
        spec["conditions"] = [{"namespaces": [namespace]}]
    return spec


def remote_data(config: VaultSecretsConfig) -> list[Manifest]:
    """``spec.data``: one entry per property, as the usual setup fetches them."""
    sources: list[tuple[str, Mapping[str, str]]] = []
    if config.database is not None:
        sources.append((config.database.key, DATABASE_PROPERTIES))
    if config.redis is not None:
        sources.append((config.redis.key, REDIS_PROPERTIES))
    return [
        {"secretKey": secret_key, "remoteRef": {"key": key, "property": prop}}
        for key, properties in sources
        for secret_key, prop in properties.items()
    ]


def database_url_template(database: DatabaseSecret) -> str:
    """A PostgreSQL URL; user name and password are percent-encoded (Go's ``urlquery``), so
    ``@``, ``:`` or ``/`` in a generated password cannot break the URL. ``sslrootcert`` is a
    libpq URI parameter that libpq, pgx, node-postgres and pgjdbc read (docs/components/
    vault-secrets.md); its path holds only characters a query value carries unescaped."""
    query = f"?sslmode={database.ssl_mode}"
    if database.ssl_root_cert is not None:
        query += f"&sslrootcert={database.ssl_root_cert}"
    return (
        "postgresql://{{ .username | urlquery }}:{{ .password | urlquery }}"
        "@{{ .host }}:{{ .port }}/{{ .database | urlquery }}" + query
    )


def redis_url_template(redis: RedisSecret) -> str:
    """A Redis URL with the password in the password position (``:password@``): the
    usual setup's ``redis://password@`` makes it a user name, so clients send no password."""
    scheme = "rediss" if redis.tls else "redis"
    return scheme + "://:{{ .redis_password | urlquery }}@{{ .redis_host }}:{{ .redis_port }}"


def secret_template(config: VaultSecretsConfig, labels: Mapping[str, str]) -> Manifest:
    """``spec.target.template``: engine v2, and ``Replace`` so that the Secret holds only the
    URLs, never the loose parts."""
    data: dict[str, str] = {}
    if config.database is not None:
        data[DATABASE_URL] = database_url_template(config.database)
    if config.redis is not None:
        data[REDIS_URL] = redis_url_template(config.redis)
    return {
        "engineVersion": TEMPLATE_ENGINE,
        "mergePolicy": "Replace",
        "type": "Opaque",
        "metadata": {"labels": dict(labels)},
        "data": data,
    }


def secret_labels(identity: AppIdentity) -> dict[str, str]:
    """Labels of the generated Secret: the app's, without the version (the Secret outlives
    releases, and a version bump must not rewrite it)."""
    labels = identity.labels("secrets")
    labels.pop(lbl.VERSION, None)
    return labels


def external_secret_spec(
    config: VaultSecretsConfig,
    *,
    store_kind: str,
    store_name: str,
    secret_name: str,
    labels: Mapping[str, str],
) -> Manifest:
    """The ExternalSecret spec: the Secret is owned by the ExternalSecret (deleted with it) and
    kept, per ``deletionPolicy``, when the Vault secret disappears."""
    return {
        "refreshInterval": config.refresh_interval,
        "secretStoreRef": {"kind": store_kind, "name": store_name},
        "target": {
            "name": secret_name,
            "creationPolicy": "Owner",
            "deletionPolicy": config.deletion_policy,
            "template": secret_template(config, labels),
        },
        "data": remote_data(config),
    }


def secret_keys(external_secret: Manifest) -> list[str]:
    """The keys of the Secret the app reads: the template's (its merge policy is Replace)."""
    return sorted(external_secret["target"]["template"]["data"])


def read_policy(kv_mount: str, keys: Iterable[str], comment: str) -> str:
    """A Vault policy (HCL) granting read on exactly the KV v2 data paths of ``keys``."""
    lines = [f"# {comment}"]
    for key in sorted(set(keys)):
        lines += [f'path "{kv_mount}/data/{key}" {{', '  capabilities = ["read"]', "}"]
    return "\n".join(lines) + "\n"


def vault_policy(config: VaultSecretsConfig, identity: AppIdentity) -> str:
    """The Vault policy (HCL) that the app's Kubernetes auth role must grant: read on exactly
    the KV v2 data paths the ExternalSecret fetches, nothing else."""
    return read_policy(
        config.vault.kv_mount,
        (entry["remoteRef"]["key"] for entry in remote_data(config)),
        f"{identity.name} in namespace {identity.namespace}: read-only, its secrets only.",
    )


def rollout_annotations(
    external_secret: Manifest, settings: Mapping[str, str] | None
) -> dict[str, str]:
    """Pod template annotations that change whenever the settings or the shape of the secret
    change, so that the change goes out as a new revision (a canary), not silently.

    The secret's *values* are not hashed (prodstack never sees them); Vault rotations reach
    mounted files through the kubelet without a rollout.
    """
    annotations = {
        SECRET_TEMPLATE_CHECKSUM: checksum(
            {"target": external_secret["target"], "data": external_secret["data"]}
        )
    }
    if settings is not None:
        annotations[CONFIG_CHECKSUM] = checksum(dict(settings))
    return annotations


def pod_wiring(
    config: VaultSecretsConfig,
    *,
    names: ObjectNames,
    external_secret: Manifest,
    settings: Mapping[str, str] | None,
) -> PodWiring:
    """Secret as read-only files (or env vars), settings via ``envFrom`` (or files), and the
    path of Redis's CA bundle in ``REDIS_CA_FILE``."""
    delivery = config.delivery
    keys = secret_keys(external_secret)
    volumes: list[Manifest] = []
    mounts: list[Manifest] = []
    env: list[Manifest] = []
    env_from: list[Manifest] = []
    if delivery.secrets == "files":
        volumes.append(
            {
                "name": SECRETS_VOLUME,
                "secret": {
                    "secretName": names.secret,
                    "defaultMode": file_mode(delivery.secrets_file_mode),
                    "items": [{"key": key, "path": key} for key in keys],
                    "optional": False,
                },
            }
        )
        mounts.append(
            {"name": SECRETS_VOLUME, "mountPath": delivery.secrets_path, "readOnly": True}
        )
    else:
        env.extend(
            {
                "name": ENV_NAMES[key],
                "valueFrom": {
                    "secretKeyRef": {"name": names.secret, "key": key, "optional": False}
                },
            }
            for key in keys
        )
    if config.redis is not None and config.redis.ca_file is not None:
        env.append({"name": REDIS_CA_FILE, "value": config.redis.ca_file})
    if settings is not None:
        if delivery.settings == "env":
            env_from.append({"configMapRef": {"name": names.settings, "optional": False}})
        else:
            volumes.append(
                {
                    "name": SETTINGS_VOLUME,
                    "configMap": {
                        "name": names.settings,
                        "defaultMode": SETTINGS_FILE_MODE,
                        "items": [{"key": key, "path": key} for key in sorted(settings)],
                        "optional": False,
                    },
                }
            )
            mounts.append(
                {"name": SETTINGS_VOLUME, "mountPath": delivery.settings_path, "readOnly": True}
            )
    return PodWiring(
        volumes=tuple(volumes),
        volume_mounts=tuple(mounts),
        env_from=tuple(env_from),
        env=tuple(env),
        annotations=rollout_annotations(external_secret, settings),
    )


def env_names(config: VaultSecretsConfig, settings: Mapping[str, str] | None) -> set[str]:
    """Environment variables this wiring defines (for clash checks with the app's own env)."""
    names: set[str] = set()
    if config.delivery.secrets == "env":
        if config.database is not None:
            names.add(ENV_NAMES[DATABASE_URL])
        if config.redis is not None:
            names.add(ENV_NAMES[REDIS_URL])
    if config.redis is not None and config.redis.ca_file is not None:
        names.add(REDIS_CA_FILE)
    if settings is not None and config.delivery.settings == "env":
        names.update(settings)
    return names
