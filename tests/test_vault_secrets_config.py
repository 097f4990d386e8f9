"""The vaultSecrets section: the stacks carry it, and every bad value is named by its key."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prodstack.config import VaultSecretsConfig, parse_environment
from prodstack.config.app_settings import timeout_milliseconds
from tests.support.stacks import (
    API,
    STACKS,
    WEB,
    WORKER,
    config_problems,
    key,
    raw_config,
    svc,
    varied,
)

KEY = key("vaultSecrets")
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def vault_change(stack: str, path: str, value: Any) -> dict[str, Any]:
    """The stack's config with ``vaultSecrets.<path>`` (dotted) set to ``value``."""

    def change(raw: dict[str, Any]) -> None:
        node = svc(raw)["vaultSecrets"]
        *parents, last = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value

    return varied(stack, change)


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_has_a_vault_secrets_section(stack: str) -> None:
    env = parse_environment(raw_config(stack))
    assert [name for name, s in env.services.items() if s.vault_secrets is not None] == [API]
    section = env.services[API].vault_secrets
    assert section is not None
    assert section.vault.server.startswith("https://")
    assert section.vault.role.startswith(f"{stack}-")
    assert section.database is not None and section.database.key.startswith(f"{stack}/")
    assert section.redis is not None and section.redis.key.startswith(f"{stack}/")
    assert section.settings is not None and section.settings.environment_name == stack
    assert section.delivery.secrets == "files"


def test_production_carries_the_reference_values() -> None:
    section = parse_environment(raw_config("production")).services[API].vault_secrets
    assert section is not None
    vault = section.vault
    assert (vault.server, vault.kv_mount, vault.auth_mount, vault.role) == (
        "https://vault.company.com",
        "secret",
        "kubernetes",
        "production-shop-api",
    )
    assert section.refresh_interval == "5m"  # the reference's 300s
    assert section.database is not None and section.database.key == "production/database"
    assert section.redis is not None and section.redis.key == "production/redis"
    settings = section.settings
    assert settings is not None
    assert (settings.log_level, settings.max_connections) == ("warn", 1000)
    assert timeout_milliseconds(settings.timeout) == 30_000
    assert settings.feature_flags == {
        "newUI": True,
        "betaFeatures": False,
        "experimentalFeatures": False,
    }
    assert settings.cors_origins == ("https://app.company.com", "https://admin.company.com")


def test_defaults_are_the_safe_ones() -> None:
    section = VaultSecretsConfig.model_validate(
        {
            "vault": {"server": "https://vault.example.com", "role": "r"},
            "database": {"key": "db", "sslRootCert": "/etc/ssl/certs/db-ca.pem"},
        }
    )
    assert section.vault.store_kind == "SecretStore"
    assert section.vault.audiences == ("vault",)
    assert section.deletion_policy == "Retain"
    assert section.delivery.secrets == "files"
    assert section.delivery.secrets_file_mode == "0440"
    assert section.delivery.settings == "env"
    assert section.database is not None and section.database.ssl_mode == "verify-full"
    assert section.settings is None


@pytest.mark.parametrize(
    ("path", "value", "key"),
    [
        ("settings.logLevel", "verbose", "settings.logLevel"),
        ("settings.maxConnections", 0, "settings.maxConnections"),
        ("settings.maxConnections", -3, "settings.maxConnections"),
        ("settings.timeout", "30 seconds", "settings.timeout"),
        ("settings.timeout", "0s", "settings.timeout"),
        ("settings.environmentName", "Prod_1", "settings.environmentName"),
        ("settings.featureFlags", {"newUI": "yes"}, "settings.featureFlags.newUI"),
        ("settings.featureFlags", {"newUI": 1}, "settings.featureFlags.newUI"),
        ("settings.featureFlags", ["newUI"], "settings.featureFlags"),
        ("settings.corsOrigins", ["http://app.company.com"], "settings.corsOrigins[0]"),
        ("settings.corsOrigins", "https://app.company.com", "settings.corsOrigins"),
        ("vault.server", "http://vault.company.com", "vault.server"),
        ("vault.server", "https://vault.company.com/v1/secret", "vault.server"),
        ("vault.kvMount", "/secret/", "vault.kvMount"),
        ("vault.role", "", "vault.role"),
        ("vault.audiences", [], "vault.audiences"),
        ("vault.storeKind", "ClusterStore", "vault.storeKind"),
        ("vault.caBundle", "not a certificate", "vault.caBundle"),
        ("database.key", "/production/database", "database.key"),
        ("database.sslMode", "on", "database.sslMode"),
        ("refreshInterval", "300", "refreshInterval"),
        ("deletionPolicy", "Orphan", "deletionPolicy"),
        ("delivery.secrets", "volume", "delivery.secrets"),
        ("delivery.secretsFileMode", 288, "delivery.secretsFileMode"),
        ("delivery.secretsFileMode", "0644", "delivery.secretsFileMode"),
        ("delivery.secretsFileMode", "0600", "delivery.secretsFileMode"),
        ("delivery.secretsFileMode", "0000", "delivery.secretsFileMode"),
        ("delivery.secretsFileMode", "rw", "delivery.secretsFileMode"),
        ("delivery.secretsPath", "etc/app", "delivery.secretsPath"),
        ("delivery.secretsPath", "/tmp/secrets", "delivery.secretsPath"),
        ("delivery.secretsPath", "/etc", "delivery.secretsPath"),
        ("delivery.secretsPath", "/var/run/secrets", "delivery.secretsPath"),
        ("delivery.secretsPath", "/etc/app/../passwd", "delivery.secretsPath"),
    ],
)
def test_bad_values_are_named_by_their_key(path: str, value: Any, key: str) -> None:
    found = config_problems(vault_change("production", path, value))
    assert list(found) == [f"{KEY}.{key}"], found


@pytest.mark.parametrize(
    ("origin", "hint"),
    [
        ("https://app.company.com/", "trailing '/'"),
        ("https://app.company.com/login", "path"),
        ("https://*.company.com", "wildcards"),
        ("https://App.Company.com", "lower case"),
        ("https://user:pw@app.company.com", "credentials"),
        ("https://app.company.com:99999", "port"),
        ("https://", "host"),
    ],
)
def test_cors_origins_must_be_exact_https_origins(origin: str, hint: str) -> None:
    found = config_problems(vault_change("production", "settings.corsOrigins", [origin]))
    assert hint in found[f"{KEY}.settings.corsOrigins[0]"]


def test_a_repeated_origin_is_named_at_its_second_place() -> None:
    origins = ["https://app.company.com", "https://admin.company.com", "https://app.company.com"]
    found = config_problems(vault_change("production", "settings.corsOrigins", origins))
    assert list(found) == [f"{KEY}.settings.corsOrigins[2]"]
    assert "corsOrigins[0]" in found[f"{KEY}.settings.corsOrigins[2]"]


def test_unquoted_file_mode_explains_the_quoting() -> None:
    found = config_problems(vault_change("production", "delivery.secretsFileMode", 440))
    assert "quote it" in found[f"{KEY}.delivery.secretsFileMode"]


def test_one_ca_source_only() -> None:
    def change(raw: dict[str, Any]) -> None:
        svc(raw)["vaultSecrets"]["vault"]["caBundle"] = PEM
        svc(raw)["vaultSecrets"]["vault"]["caProvider"] = {"type": "ConfigMap", "name": "vault-ca"}

    assert list(config_problems(varied("production", change))) == [f"{KEY}.vault.caProvider"]


def test_something_to_fetch_is_required() -> None:
    def change(raw: dict[str, Any]) -> None:
        del svc(raw)["vaultSecrets"]["database"]
        del svc(raw)["vaultSecrets"]["redis"]

    assert list(config_problems(varied("staging", change))) == [f"{KEY}.database"]


def test_settings_files_must_not_overlap_the_secret_files() -> None:
    def change(raw: dict[str, Any]) -> None:
        svc(raw)["vaultSecrets"]["delivery"]["settings"] = "files"
        svc(raw)["vaultSecrets"]["delivery"]["settingsPath"] = "/etc/app/secrets/settings"

    assert list(config_problems(varied("production", change))) == [f"{KEY}.delivery.settingsPath"]


def test_app_env_must_not_shadow_what_vault_secrets_provides() -> None:
    def change(raw: dict[str, Any]) -> None:
        svc(raw)["vaultSecrets"].setdefault("delivery", {})["secrets"] = "env"
        svc(raw)["app"]["env"] = {"DATABASE_URL": "postgresql://localhost/x", "LOG_LEVEL": "debug"}

    found = config_problems(varied("staging", change))
    assert list(found) == [key("app.env.DATABASE_URL"), key("app.env.LOG_LEVEL")]

    def files(raw: dict[str, Any]) -> None:
        svc(raw)["app"]["env"] = {"DATABASE_URL": "postgresql://localhost/x"}

    env = parse_environment(varied("staging", files))  # files mode: no variable to shadow
    assert env.services[API].app.env == {"DATABASE_URL": "postgresql://localhost/x"}

    def other_service(raw: dict[str, Any]) -> None:
        change(raw)
        del svc(raw)["app"]["env"]
        svc(raw, WORKER)["app"]["env"] = {"DATABASE_URL": "postgresql://localhost/x"}

    parse_environment(varied("staging", other_service))  # the API's secrets, not the worker's


def test_unknown_key_suggests_the_right_one() -> None:
    def change(raw: dict[str, Any]) -> None:
        svc(raw)["vaultSecrets"]["vault"]["rol"] = svc(raw)["vaultSecrets"]["vault"].pop("role")

    found = config_problems(varied("dev", change))
    assert "did you mean 'role'" in found[f"{KEY}.vault.rol"]
    assert found[f"{KEY}.vault.role"] == "required key is missing"


def test_every_error_is_reported_at_once() -> None:
    def change(raw: dict[str, Any]) -> None:
        section = svc(raw)["vaultSecrets"]
        section["vault"]["server"] = "http://vault"
        section["settings"]["logLevel"] = "loud"
        section["settings"]["maxConnections"] = 0
        section["settings"]["featureFlags"]["newUI"] = "true"
        section["settings"]["corsOrigins"] = ["https://ok.company.com", "ftp://x"]

    assert set(config_problems(varied("production", change))) == {
        f"{KEY}.vault.server",
        f"{KEY}.settings.logLevel",
        f"{KEY}.settings.maxConnections",
        f"{KEY}.settings.featureFlags.newUI",
        f"{KEY}.settings.corsOrigins[1]",
    }


def test_the_section_is_optional() -> None:
    env = parse_environment(raw_config("dev"))
    assert env.services[WORKER].vault_secrets is None
    assert env.services[WEB].vault_secrets is None

    def without(raw: dict[str, Any]) -> None:
        del svc(raw)["vaultSecrets"]
        # The backup jobs then name the Vault they log in to themselves.
        svc(raw)["dbBackup"]["vault"]["server"] = "https://vault.company.com"

    assert parse_environment(varied("dev", without)).services[API].vault_secrets is None


@given(st.integers(min_value=1, max_value=100_000), st.sampled_from(["ms", "s", "m", "h"]))
def test_timeouts_convert_to_milliseconds(amount: int, unit: str) -> None:
    factor = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}[unit]
    assert timeout_milliseconds(f"{amount}{unit}") == amount * factor


_LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)


@given(
    st.lists(_LABEL, min_size=1, max_size=4),
    st.one_of(st.none(), st.integers(min_value=1, max_value=65535)),
)
def test_well_formed_https_origins_are_accepted(labels: list[str], port: int | None) -> None:
    origin = "https://" + ".".join(labels) + ("" if port is None else f":{port}")
    settings = {"environmentName": "dev", "corsOrigins": [origin]}
    section = VaultSecretsConfig.model_validate(
        {
            "vault": {"server": "https://vault.example.com", "role": "r"},
            "redis": {"key": "dev/redis"},
            "settings": settings,
        }
    )
    assert section.settings is not None and section.settings.cors_origins == (origin,)
