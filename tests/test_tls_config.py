"""TLS that verifies, in the configuration: the keys of the database and Redis secrets, the
production rule and its opt-out (each error named by its key), the URLs the templates build,
and the stacks' rendered graphs (production and staging verify every data store)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prodstack.components.args import ArgsError
from prodstack.components.db_backup import DbBackupArgs
from prodstack.components.vault_secrets import VaultSecretsArgs
from prodstack.config import (
    DatabaseSecret,
    VaultConfig,
    VaultSecretsConfig,
    parse_environment,
)
from prodstack.identity import AppIdentity
from prodstack.specs import vault_secrets as spec
from prodstack.synth import ResourceGraph
from tests.conftest import stack_graph
from tests.support import go_template, libpq
from tests.support.stacks import API, STACKS, config_problems, key, service_config, svc, varied

VAULT = {"server": "https://vault.example.com", "role": "r"}
RDS_BUNDLE = "/etc/ssl/certs/rds-global-bundle.pem"
REDIS_CA = "/etc/ssl/certs/redis-ca.pem"


def secrets_change(stack: str, secret: str, **values: Any) -> dict[str, Any]:
    """The stack with ``vaultSecrets.<secret>`` of the API set to ``values`` (None removes)."""

    def change(raw: dict[str, Any]) -> None:
        section = svc(raw)["vaultSecrets"][secret]
        for name, value in values.items():
            if value is None:
                section.pop(name, None)
            else:
                section[name] = value

    return varied(stack, change)


# --- the keys, in every environment -------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "values", "bad_key", "hint"),
    [
        ("database", {"sslRootCert": None}, "sslRootCert", "sslMode: require"),
        ("database", {"sslMode": "verify-ca", "sslRootCert": None}, "sslRootCert", "CA bundle"),
        ("database", {"sslMode": "require"}, "sslRootCert", "remove sslRootCert"),
        ("database", {"sslRootCert": "etc/ssl/ca.pem"}, "sslRootCert", "absolute path"),
        ("database", {"sslRootCert": "/etc/ssl/my ca.pem"}, "sslRootCert", "letters, digits"),
        ("database", {"sslRootCert": "/etc/ssl/ca.pem?x=1"}, "sslRootCert", "as it is"),
        ("database", {"sslRootCert": "/etc/ssl/{{ .password }}"}, "sslRootCert", "letters"),
        ("database", {"sslRootCert": "/etc/../ca.pem"}, "sslRootCert", "'..'"),
        ("database", {"sslRootCert": "/etc/ssl/"}, "sslRootCert", "absolute path"),
        ("database", {"allowUnverifiedTls": True}, "allowUnverifiedTls", "remove"),
        ("redis", {"tls": False}, "caFile", "tls: true"),
        ("redis", {"caFile": "ca.pem"}, "caFile", "absolute path"),
        ("redis", {"caFile": "/etc/ssl/ca.pem#x"}, "caFile", "letters, digits"),
        ("redis", {"allowUnverifiedTls": True}, "allowUnverifiedTls", "remove"),
    ],
)
def test_each_tls_key_is_checked_and_named(
    secret: str, values: dict[str, Any], bad_key: str, hint: str
) -> None:
    found = config_problems(secrets_change("staging", secret, **values))
    assert list(found) == [key(f"vaultSecrets.{secret}.{bad_key}")], found
    assert hint in found[key(f"vaultSecrets.{secret}.{bad_key}")]


def test_the_database_verifies_by_default() -> None:
    database = DatabaseSecret.model_validate({"key": "db", "sslRootCert": RDS_BUNDLE})
    assert (database.ssl_mode, database.verified) == ("verify-full", True)
    with pytest.raises(ValueError, match="sslRootCert"):
        DatabaseSecret.model_validate({"key": "db"})


def test_outside_production_weaker_settings_are_allowed() -> None:
    dev = service_config("dev").vault_secrets
    assert dev is not None and dev.database is not None and dev.redis is not None
    assert (dev.database.ssl_mode, dev.redis.tls) == ("require", False)
    env = parse_environment(secrets_change("staging", "redis", caFile=None))
    staging = env.services[API].vault_secrets
    assert staging is not None and staging.redis is not None and not staging.redis.verified


# --- the production rule ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "values", "bad_key"),
    [
        ("database", {"sslMode": "require", "sslRootCert": None}, "sslMode"),
        ("database", {"sslMode": "verify-ca"}, "sslMode"),
        ("database", {"sslMode": "disable", "sslRootCert": None}, "sslMode"),
        ("redis", {"tls": False, "caFile": None}, "tls"),
        ("redis", {"caFile": None}, "caFile"),
    ],
)
def test_production_refuses_an_unverified_data_store(
    secret: str, values: dict[str, Any], bad_key: str
) -> None:
    found = config_problems(secrets_change("production", secret, **values))
    assert list(found) == [key(f"vaultSecrets.{secret}.{bad_key}")], found
    message = found[key(f"vaultSecrets.{secret}.{bad_key}")]
    assert "production" in message
    assert "allowUnverifiedTls: true" in message
    assert ("sslRootCert" if secret == "database" else "caFile") in message

    opted_out = secrets_change("production", secret, **values, allowUnverifiedTls=True)
    parse_environment(opted_out)  # the explicit opt-out is accepted
    unchanged = secrets_change("staging", secret, **values)
    parse_environment(unchanged)  # and staging has no such rule


def test_production_reports_both_secrets_at_once() -> None:
    def change(raw: dict[str, Any]) -> None:
        section = svc(raw)["vaultSecrets"]
        section["database"] = {"key": "production/database", "sslMode": "require"}
        section["redis"] = {"key": "production/redis", "tls": False}

    assert set(config_problems(varied("production", change))) == {
        key("vaultSecrets.database.sslMode"),
        key("vaultSecrets.redis.tls"),
    }


@pytest.mark.parametrize("path", [("database",), ("restoreCheck", "database")])
def test_production_backups_verify_their_servers(path: tuple[str, ...]) -> None:
    def weaken(raw: dict[str, Any], opt_out: bool = False) -> None:
        node = svc(raw)["dbBackup"]
        for part in path:
            node = node[part]
        node["sslMode"] = "require"
        del node["sslRootCert"]
        if opt_out:
            node["allowUnverifiedTls"] = True

    bad_key = key("dbBackup." + ".".join(path) + ".sslMode")
    found = config_problems(varied("production", weaken))
    assert list(found) == [bad_key], found
    assert "verify-full" in found[bad_key]
    assert "allowUnverifiedTls: true" in found[bad_key]
    parse_environment(varied("production", lambda raw: weaken(raw, opt_out=True)))


def test_a_restore_check_on_the_backup_server_is_judged_once() -> None:
    def weaken(raw: dict[str, Any]) -> None:
        backup = svc(raw)["dbBackup"]
        del backup["restoreCheck"]["database"]
        backup["database"]["sslMode"] = "require"
        del backup["database"]["sslRootCert"]

    assert list(config_problems(varied("production", weaken))) == [key("dbBackup.database.sslMode")]


def test_the_component_args_name_every_production_violation() -> None:
    identity = AppIdentity(name="orders", namespace="shop")
    both = VaultSecretsConfig.model_validate(
        {
            "vault": VAULT,
            "database": {"key": "db", "sslMode": "require"},
            "redis": {"key": "redis"},
        }
    )
    with pytest.raises(ArgsError) as caught:
        VaultSecretsArgs(identity=identity, config=both, environment="production")
    assert [k for k, _ in caught.value.problems] == [
        "VaultSecretsArgs.config.database.sslMode",
        "VaultSecretsArgs.config.redis.caFile",
    ]


def test_the_component_args_enforce_the_production_rule() -> None:
    identity = AppIdentity(name="orders", namespace="shop")
    unverified = VaultSecretsConfig.model_validate(
        {"vault": VAULT, "database": {"key": "db", "sslMode": "require"}}
    )
    with pytest.raises(ValueError, match=r"^VaultSecretsArgs\.config\.database\.sslMode: "):
        VaultSecretsArgs(identity=identity, config=unverified, environment="production")
    VaultSecretsArgs(identity=identity, config=unverified, environment="staging")
    verified = VaultSecretsConfig.model_validate(
        {
            "vault": VAULT,
            "database": {"key": "db", "sslRootCert": RDS_BUNDLE},
            "redis": {"key": "redis", "caFile": REDIS_CA},
        }
    )
    VaultSecretsArgs(identity=identity, config=verified, environment="production")

    def weaken(raw: dict[str, Any]) -> None:
        svc(raw)["dbBackup"]["database"]["sslMode"] = "require"
        del svc(raw)["dbBackup"]["database"]["sslRootCert"]

    backup = service_config("staging", weaken).db_backup
    assert backup is not None
    vault = VaultConfig(server="https://vault.internal", role="orders")
    with pytest.raises(ValueError, match=r"^DbBackupArgs\.config\.database\.sslMode: "):
        DbBackupArgs(identity=identity, config=backup, environment="production", app_vault=vault)
    DbBackupArgs(identity=identity, config=backup, environment="staging", app_vault=vault)


def test_app_env_may_not_shadow_the_redis_ca_file() -> None:
    def change(raw: dict[str, Any]) -> None:
        svc(raw)["app"]["env"] = {"REDIS_CA_FILE": "/etc/other.pem"}

    assert list(config_problems(varied("production", change))) == [key("app.env.REDIS_CA_FILE")]


# --- the URLs -----------------------------------------------------------------------------


def test_the_database_url_names_the_ca() -> None:
    template = spec.database_url_template(DatabaseSecret(key="db", ssl_root_cert=RDS_BUNDLE))
    assert template.endswith(f"?sslmode=verify-full&sslrootcert={RDS_BUNDLE}")
    plain = spec.database_url_template(DatabaseSecret(key="db", ssl_mode="require"))
    assert plain.endswith("?sslmode=require")


_SEGMENT = st.from_regex(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,15}", fullmatch=True).filter(
    lambda segment: segment not in (".", "..")
)


@given(st.lists(_SEGMENT, min_size=1, max_size=5))
def test_libpq_reads_any_accepted_ca_path_back_verbatim(segments: list[str]) -> None:
    path = "/" + "/".join(segments)
    database = DatabaseSecret(key="db", ssl_root_cert=path)
    values = {"username": "u", "password": "p", "host": "h", "port": "5432", "database": "d"}
    url = go_template.render(spec.database_url_template(database), values)
    parsed = libpq.parse(libpq.load(), url)
    assert (parsed["sslmode"], parsed["sslrootcert"]) == ("verify-full", path)


def test_the_redis_url_stays_clean_and_the_ca_goes_beside_it() -> None:
    config = VaultSecretsConfig.model_validate(
        {"vault": VAULT, "redis": {"key": "redis", "caFile": REDIS_CA}}
    )
    assert config.redis is not None
    template = spec.redis_url_template(config.redis)
    assert "?" not in template  # go-redis' ParseURL refuses unknown query parameters
    assert spec.env_names(config, None) == {spec.REDIS_CA_FILE}


# --- the stacks ---------------------------------------------------------------------------


def external_secret_templates(graph: ResourceGraph) -> list[dict[str, str]]:
    return [
        resource.inputs["spec"]["target"]["template"]["data"]
        for resource in graph.kind("ExternalSecret")
        if "template" in resource.inputs["spec"]["target"]
    ]


def rollout_env(graph: ResourceGraph, name: str) -> dict[str, str]:
    rollout = graph.one("Rollout", name).inputs
    (container,) = rollout["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_every_rendered_url_verifies_its_server(stack: str) -> None:
    graph = stack_graph(stack)
    templates = [t for t in external_secret_templates(graph) if spec.DATABASE_URL in t]
    assert templates, "the stack renders a database-url"
    library = libpq.load()
    values = {"username": "u", "password": "p", "host": "db.internal", "port": "5432"}
    for template in templates:
        url = go_template.render(template[spec.DATABASE_URL], {**values, "database": "shop"})
        parsed = libpq.parse(library, url)
        assert (parsed["sslmode"], parsed["sslrootcert"]) == ("verify-full", RDS_BUNDLE)
        assert template[spec.REDIS_URL].startswith("rediss://")
    assert rollout_env(graph, API)[spec.REDIS_CA_FILE] == REDIS_CA
    for cron_job in graph.kind("CronJob"):
        pod = cron_job.inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        for container in pod["containers"]:
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            if "PGSSLMODE" in env:
                assert (env["PGSSLMODE"], env["PGSSLROOTCERT"]) == ("verify-full", RDS_BUNDLE)


@pytest.mark.parametrize("stack", STACKS)
def test_only_dev_goes_unverified(stack: str) -> None:
    env = parse_environment(varied(stack, lambda raw: None))
    section = env.services[API].vault_secrets
    assert section is not None and section.database is not None and section.redis is not None
    verified = (section.database.verified, section.redis.verified)
    assert verified == ((False, False) if stack == "dev" else (True, True))
    # Dev's settings would be refused in production; staging's pass production's rule.
    assert bool(section.production_violations()) == (stack == "dev")
