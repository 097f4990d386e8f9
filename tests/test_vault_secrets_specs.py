"""VaultSecrets' pure spec builders: ConfigMap data, templates, store, policy, wiring, checksums."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prodstack.config import AppSettings, DatabaseSecret, RedisSecret, VaultSecretsConfig
from prodstack.identity import AppIdentity
from prodstack.specs import vault_secrets as spec
from prodstack.specs.app_settings import settings_data
from prodstack.specs.checksum import checksum
from tests.support import go_template, libpq
from tests.support.stacks import service_config

IDENTITY = AppIdentity(name="orders", namespace="shop", version="1.0.0")
PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n"
DB_CA = "/etc/ssl/certs/rds-global-bundle.pem"


def section(**overrides: Any) -> VaultSecretsConfig:
    raw: dict[str, Any] = {
        "vault": {"server": "https://vault.example.com:8200", "role": "prod-orders"},
        "database": {"key": "prod/database", "sslRootCert": DB_CA},
        "redis": {"key": "prod/redis"},
        "settings": {
            "environmentName": "production",
            "featureFlags": {"newUI": True, "beta": False},
            "corsOrigins": ["https://app.example.com"],
        },
    }
    for key, value in overrides.items():
        raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
    return VaultSecretsConfig.model_validate(raw)


def external_secret(config: VaultSecretsConfig) -> dict[str, Any]:
    return spec.external_secret_spec(
        config,
        store_kind=config.vault.store_kind,
        store_name="orders-vault",
        secret_name="orders-secrets",
        labels=spec.secret_labels(IDENTITY),
    )


def settings_of(config: VaultSecretsConfig) -> dict[str, str]:
    assert config.settings is not None
    return settings_data(config.settings)


def pod_annotations(config: VaultSecretsConfig) -> dict[str, str]:
    settings = None if config.settings is None else settings_data(config.settings)
    return spec.rollout_annotations(external_secret(config), settings)


def test_settings_become_typed_strings() -> None:
    vault_secrets = service_config("production").vault_secrets
    assert vault_secrets is not None and vault_secrets.settings is not None
    data = settings_data(vault_secrets.settings)
    assert data == {
        "APP_ENV": "production",
        "LOG_LEVEL": "warn",
        "MAX_CONNECTIONS": "1000",
        "TIMEOUT_MS": "30000",
        "FEATURE_FLAGS": data["FEATURE_FLAGS"],
        "CORS_ORIGINS": "https://app.company.com,https://admin.company.com",
    }
    assert json.loads(data["FEATURE_FLAGS"]) == {
        "newUI": True,
        "betaFeatures": False,
        "experimentalFeatures": False,
    }


@given(st.dictionaries(st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,20}", fullmatch=True), st.booleans()))
def test_feature_flags_round_trip_through_the_config_map(flags: dict[str, bool]) -> None:
    settings = AppSettings.model_validate({"environmentName": "dev", "featureFlags": flags})
    assert json.loads(settings_data(settings)["FEATURE_FLAGS"]) == flags


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=8), _JSON, min_size=1, max_size=6))
def test_checksum_ignores_key_order(value: dict[str, Any]) -> None:
    reordered = dict(reversed(list(value.items())))
    assert checksum(reordered) == checksum(value)
    assert len(checksum(value)) == 64


@given(st.dictionaries(st.text(max_size=8), st.text(max_size=8), min_size=1), st.text(max_size=8))
def test_checksum_changes_with_any_value(value: dict[str, str], extra: str) -> None:
    key = next(iter(value))
    changed = {**value, key: value[key] + extra + "x"}
    assert checksum(changed) != checksum(value)


def test_a_changed_flag_changes_the_config_checksum_only() -> None:
    before = pod_annotations(section())
    after = pod_annotations(section(settings={"featureFlags": {"newUI": False, "beta": False}}))
    assert after[spec.CONFIG_CHECKSUM] != before[spec.CONFIG_CHECKSUM]
    assert after[spec.SECRET_TEMPLATE_CHECKSUM] == before[spec.SECRET_TEMPLATE_CHECKSUM]


@pytest.mark.parametrize(
    "change",
    [
        {"database": {"sslMode": "verify-ca"}},
        {"database": {"sslRootCert": "/etc/ssl/certs/other-ca.pem"}},
        {"redis": {"tls": False}},
        {"redis": {"key": "prod/redis-v2"}},
        {"deletionPolicy": "Delete"},
    ],
)
def test_a_changed_secret_shape_changes_the_secret_checksum(change: dict[str, Any]) -> None:
    before = pod_annotations(section())
    after = pod_annotations(section(**change))
    assert after[spec.SECRET_TEMPLATE_CHECKSUM] != before[spec.SECRET_TEMPLATE_CHECKSUM]
    assert after[spec.CONFIG_CHECKSUM] == before[spec.CONFIG_CHECKSUM]


@pytest.mark.parametrize(
    "change",
    [{"refreshInterval": "1h"}, {"vault": {"role": "other"}}, {"vault": {"caBundle": PEM}}],
)
def test_store_and_refresh_changes_restart_nothing(change: dict[str, Any]) -> None:
    assert pod_annotations(section(**change)) == pod_annotations(section())


def test_no_config_checksum_without_settings() -> None:
    assert set(pod_annotations(section(settings=None))) == {spec.SECRET_TEMPLATE_CHECKSUM}


def test_template_reads_only_fetched_keys_and_keeps_only_the_urls() -> None:
    es = external_secret(section())
    fetched = {entry["secretKey"] for entry in es["data"]}
    template = es["target"]["template"]
    assert template["engineVersion"] == "v2"
    assert template["mergePolicy"] == "Replace"  # the loose parts never land in the Secret
    assert set(template["data"]) == {"database-url", "redis-url"}
    read = set().union(*(go_template.variables(t) for t in template["data"].values()))
    assert read == fetched
    assert es["target"]["creationPolicy"] == "Owner"
    assert es["target"]["deletionPolicy"] == "Retain"


def test_remote_refs_follow_the_reference() -> None:
    es = external_secret(section())
    refs = {e["secretKey"]: (e["remoteRef"]["key"], e["remoteRef"]["property"]) for e in es["data"]}
    assert refs == {
        "username": ("prod/database", "username"),
        "password": ("prod/database", "password"),
        "host": ("prod/database", "host"),
        "port": ("prod/database", "port"),
        "database": ("prod/database", "database"),
        "redis_password": ("prod/redis", "password"),
        "redis_host": ("prod/redis", "host"),
        "redis_port": ("prod/redis", "port"),
    }


def test_only_the_configured_secret_is_fetched() -> None:
    config = section(redis=None)
    es = external_secret(config)
    assert set(es["target"]["template"]["data"]) == {"database-url"}
    assert {e["remoteRef"]["key"] for e in es["data"]} == {"prod/database"}
    wiring = spec.pod_wiring(
        config, names=spec.object_names(IDENTITY, "SecretStore"), external_secret=es, settings=None
    )
    assert [item["key"] for item in wiring.volumes[0]["secret"]["items"]] == ["database-url"]


# Passwords as generators make them: any printable ASCII except the space, which Go's urlquery
# writes as '+' (documented in docs/components/vault-secrets.md).
_PASSWORD = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40)
_HOST = st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,20}){0,3}", fullmatch=True)


@given(
    user=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=20),
    password=_PASSWORD,
    host=_HOST,
    port=st.integers(min_value=1, max_value=65535),
    database=st.from_regex(r"[a-z_][a-z0-9_$-]{0,30}", fullmatch=True),
)
def test_libpq_reads_back_exactly_the_vault_values(
    user: str, password: str, host: str, port: int, database: str
) -> None:
    library = libpq.load()
    template = spec.database_url_template(DatabaseSecret(key="prod/database", ssl_root_cert=DB_CA))
    url = go_template.render(
        template,
        {
            "username": user,
            "password": password,
            "host": host,
            "port": str(port),
            "database": database,
        },
    )
    assert libpq.parse(library, url) == {
        "user": user,
        "password": password,
        "host": host,
        "port": str(port),
        "dbname": database,
        "sslmode": "verify-full",
        "sslrootcert": DB_CA,
    }


@given(password=_PASSWORD, host=_HOST, port=st.integers(min_value=1, max_value=65535))
def test_redis_url_carries_the_password_as_password(password: str, host: str, port: int) -> None:
    template = spec.redis_url_template(RedisSecret(key="prod/redis"))
    url = go_template.render(
        template, {"redis_password": password, "redis_host": host, "redis_port": str(port)}
    )
    parts = urlsplit(url)
    assert parts.scheme == "rediss"
    assert parts.username == ""  # the reference's redis://password@ made it the user name
    assert unquote(parts.password or "") == password
    assert (parts.hostname, parts.port) == (host, port)


def test_plain_redis_only_when_asked() -> None:
    plain = spec.redis_url_template(RedisSecret(key="prod/redis", tls=False))
    assert plain.startswith("redis://:")


def test_secret_store_uses_kubernetes_auth_as_the_app_account() -> None:
    store = spec.secret_store_spec(section().vault, namespace="shop", service_account="orders")
    vault = store["provider"]["vault"]
    assert (vault["server"], vault["path"], vault["version"]) == (
        "https://vault.example.com:8200",
        "secret",
        "v2",
    )
    assert vault["auth"] == {
        "kubernetes": {
            "mountPath": "kubernetes",
            "role": "prod-orders",
            "serviceAccountRef": {"name": "orders", "audiences": ["vault"]},
        }
    }
    assert "conditions" not in store


def test_ca_bundle_is_base64_of_the_pem() -> None:
    vault = spec.secret_store_spec(
        section(vault={"caBundle": PEM}).vault, namespace="shop", service_account="orders"
    )["provider"]["vault"]
    assert base64.b64decode(vault["caBundle"]).decode() == PEM


def test_cluster_store_is_fenced_to_the_app_namespace() -> None:
    config = section(
        vault={
            "storeKind": "ClusterSecretStore",
            "caProvider": {"type": "ConfigMap", "name": "vault-ca"},
            "namespace": "teams/shop",
        }
    )
    store = spec.secret_store_spec(config.vault, namespace="shop", service_account="orders")
    vault = store["provider"]["vault"]
    assert store["conditions"] == [{"namespaces": ["shop"]}]
    assert vault["auth"]["kubernetes"]["serviceAccountRef"]["namespace"] == "shop"
    assert vault["caProvider"] == {
        "type": "ConfigMap",
        "name": "vault-ca",
        "key": "ca.crt",
        "namespace": "shop",
    }
    assert vault["namespace"] == "teams/shop"
    assert spec.object_names(IDENTITY, "ClusterSecretStore").store == "shop-orders-vault"


def test_vault_policy_reads_exactly_the_fetched_paths() -> None:
    policy = spec.vault_policy(section(), IDENTITY)
    paths = [line.split('"')[1] for line in policy.splitlines() if line.startswith("path ")]
    assert paths == ["secret/data/prod/database", "secret/data/prod/redis"]
    assert policy.count('capabilities = ["read"]') == 2
    assert "list" not in policy and "update" not in policy


def test_files_are_the_default_delivery() -> None:
    config = section()
    es = external_secret(config)
    names = spec.object_names(IDENTITY, "SecretStore")
    wiring = spec.pod_wiring(
        config,
        names=names,
        external_secret=es,
        settings=settings_of(config),
    )
    assert wiring.env == ()
    (volume,) = wiring.volumes
    assert volume["secret"]["secretName"] == "orders-secrets"
    assert volume["secret"]["defaultMode"] == 0o440
    assert [i["key"] for i in volume["secret"]["items"]] == ["database-url", "redis-url"]
    assert wiring.volume_mounts == (
        {"name": volume["name"], "mountPath": "/etc/app/secrets", "readOnly": True},
    )
    assert wiring.env_from == ({"configMapRef": {"name": "orders-settings", "optional": False}},)


def test_env_mode_uses_secret_key_refs_and_files_mode_mounts_the_settings() -> None:
    config = section(delivery={"secrets": "env", "settings": "files"})
    es = external_secret(config)
    settings = settings_of(config)
    wiring = spec.pod_wiring(
        config,
        names=spec.object_names(IDENTITY, "SecretStore"),
        external_secret=es,
        settings=settings,
    )
    assert [(e["name"], e["valueFrom"]["secretKeyRef"]["key"]) for e in wiring.env] == [
        ("DATABASE_URL", "database-url"),
        ("REDIS_URL", "redis-url"),
    ]
    assert all("value" not in entry for entry in wiring.env)
    assert wiring.env_from == ()
    (volume,) = wiring.volumes
    assert volume["configMap"]["name"] == "orders-settings"
    assert {i["key"] for i in volume["configMap"]["items"]} == set(settings)
    assert wiring.volume_mounts[0]["mountPath"] == "/etc/app/settings"
    assert wiring.volume_mounts[0]["readOnly"] is True
