"""The URLs VaultSecrets templates verify their servers, proven against real servers: PostgreSQL
with SSL and a Redis on TLS, each with a certificate for ``localhost`` signed by a test CA.

The database URL is rendered from the ExternalSecret's own template and handed to libpq (psql)
as it is; the Redis URL is rendered the same way and handed, with ``REDIS_CA_FILE`` from the pod
wiring, to the redis-py example of docs/app-contract.md. Each connects with the right CA and
host name, and is refused with another CA or a host name the certificate does not carry.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from prodstack.config import VaultSecretsConfig
from prodstack.identity import AppIdentity
from prodstack.specs import vault_secrets as spec
from tests.support import go_template
from tests.support.backup_env import Postgres, start_postgres
from tests.support.stacks import ROOT
from tests.support.tls import (
    Authority,
    Redis,
    ServerCertificate,
    enable_ssl,
    issue,
    make_authority,
    start_redis,
)

HOST = "localhost"  # what the certificates name
OTHER_HOST = "127.0.0.1"  # the same server under a name the certificates do not carry
# Characters that must be percent-encoded in a URL's userinfo: the templates encode them.
PASSWORD = "p@ss:w/rd%#?&"
APP_USER = "shop"
APP_DATABASE = "shop"


@dataclass(frozen=True)
class Authorities:
    """The CA that signed the servers' certificates, and one that did not."""

    right: Authority
    wrong: Authority
    directory: Path


@pytest.fixture(scope="module")
def authorities() -> Iterator[Authorities]:
    # Not under pytest's basetemp: the CA path goes into the URL, whose characters the
    # configuration restricts (mkdtemp's names are letters, digits and '_').
    directory = Path(tempfile.mkdtemp(prefix="prodstack_tls_"))
    try:
        yield Authorities(
            right=make_authority(directory, "ca"),
            wrong=make_authority(directory, "other-ca"),
            directory=directory,
        )
    finally:
        for path in directory.iterdir():
            path.unlink()
        directory.rmdir()


@pytest.fixture(scope="module")
def certificate(authorities: Authorities) -> ServerCertificate:
    """The servers' certificate: for HOST only, signed by the right CA."""
    return issue(authorities.right, authorities.directory, HOST)


@pytest.fixture(scope="module")
def postgres(certificate: ServerCertificate) -> Iterator[Postgres]:
    for server in start_postgres():
        enable_ssl(server, certificate)
        server.psql(
            f"CREATE ROLE {APP_USER} LOGIN PASSWORD '{PASSWORD}';"
            f"CREATE DATABASE {APP_DATABASE} OWNER {APP_USER};"
        )
        yield server


@pytest.fixture(scope="module")
def redis_server(certificate: ServerCertificate) -> Iterator[Redis]:
    yield from start_redis(certificate, PASSWORD)


def vault_secrets(database: dict[str, Any], redis_secret: dict[str, Any]) -> VaultSecretsConfig:
    return VaultSecretsConfig.model_validate(
        {
            "vault": {"server": "https://vault.example.com", "role": "production-shop"},
            "database": {"key": "production/database", **database},
            "redis": {"key": "production/redis", **redis_secret},
        }
    )


def rendered(config: VaultSecretsConfig, values: dict[str, str]) -> dict[str, str]:
    """The Secret External Secrets would write: the ExternalSecret's template, rendered."""
    external_secret = spec.external_secret_spec(
        config,
        store_kind="SecretStore",
        store_name="shop-vault",
        secret_name="shop-secrets",
        labels={},
    )
    templates = external_secret["target"]["template"]["data"]
    return {key: go_template.render(template, values) for key, template in templates.items()}


def pod_env(config: VaultSecretsConfig) -> dict[str, str]:
    """The plain environment variables the pod wiring gives the app."""
    names = spec.object_names(AppIdentity(name="shop", namespace="shop-production"), "SecretStore")
    external_secret = spec.external_secret_spec(
        config,
        store_kind="SecretStore",
        store_name=names.store,
        secret_name=names.secret,
        labels={},
    )
    wiring = spec.pod_wiring(config, names=names, external_secret=external_secret, settings=None)
    return {entry["name"]: entry["value"] for entry in wiring.env if "value" in entry}


def database_url(postgres: Postgres, host: str, **database: Any) -> str:
    config = vault_secrets(database, {"tls": True})
    values = {
        "username": APP_USER,
        "password": PASSWORD,
        "host": host,
        "port": str(postgres.port),
        "database": APP_DATABASE,
        "redis_password": "-",
        "redis_host": "-",
        "redis_port": "1",
    }
    return rendered(config, values)[spec.DATABASE_URL]


def psql(postgres: Postgres, url: str, home: Path) -> subprocess.CompletedProcess[str]:
    """psql with nothing but the URL: no PG* variables, and a HOME without ~/.postgresql (libpq
    would trust a root.crt there when the URL names none)."""
    return subprocess.run(
        [
            str(postgres.bindir / "psql"),
            url,
            "-X",
            "-A",
            "-t",
            "-c",
            "SELECT current_user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        ],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)},
        capture_output=True,
        text=True,
        check=False,
    )


def test_verify_full_connects_with_the_right_ca_and_host(
    postgres: Postgres, authorities: Authorities, tmp_path: Path
) -> None:
    url = database_url(
        postgres, HOST, sslMode="verify-full", sslRootCert=str(authorities.right.certificate)
    )
    assert f"sslmode=verify-full&sslrootcert={authorities.right.certificate}" in url
    completed = psql(postgres, url, tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == f"{APP_USER}|t"  # logged in, over TLS


def test_verify_full_refuses_a_server_signed_by_another_ca(
    postgres: Postgres, authorities: Authorities, tmp_path: Path
) -> None:
    url = database_url(
        postgres, HOST, sslMode="verify-full", sslRootCert=str(authorities.wrong.certificate)
    )
    completed = psql(postgres, url, tmp_path)
    assert completed.returncode != 0
    assert "certificate verify failed" in completed.stderr


def test_verify_full_refuses_a_host_name_the_certificate_does_not_carry(
    postgres: Postgres, authorities: Authorities, tmp_path: Path
) -> None:
    url = database_url(
        postgres, OTHER_HOST, sslMode="verify-full", sslRootCert=str(authorities.right.certificate)
    )
    completed = psql(postgres, url, tmp_path)
    assert completed.returncode != 0
    assert re.search(r'does not match host name "127\.0\.0\.1"', completed.stderr), completed.stderr


@pytest.mark.parametrize(
    "database",
    [{"sslMode": "require"}, {"sslMode": "verify-ca", "sslRootCert": "<right>"}],
    ids=["require", "verify-ca"],
)
def test_weaker_modes_accept_the_wrong_host_which_is_why_production_refuses_them(
    postgres: Postgres, authorities: Authorities, tmp_path: Path, database: dict[str, str]
) -> None:
    if database.get("sslRootCert") == "<right>":
        database = {**database, "sslRootCert": str(authorities.right.certificate)}
    completed = psql(postgres, database_url(postgres, OTHER_HOST, **database), tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == f"{APP_USER}|t"


def redis_client_from_the_docs() -> Callable[..., redis.Redis]:
    """``redis_client`` of the Python example in docs/app-contract.md."""
    page = (ROOT / "docs" / "app-contract.md").read_text()
    (example,) = re.findall(r"```python\n(.*?)```", page, flags=re.DOTALL)
    namespace: dict[str, Any] = {}
    exec(compile(example, "app-contract.md", "exec"), namespace)
    client: Callable[..., redis.Redis] = namespace["redis_client"]
    return client


def redis_ping(
    server: Redis, host: str, ca_file: Path | None, monkeypatch: pytest.MonkeyPatch
) -> bool:
    """PING through the rendered redis-url with the pod's REDIS_CA_FILE, as the docs' app."""
    redis_secret: dict[str, Any] = {"tls": True}
    if ca_file is not None:
        redis_secret["caFile"] = str(ca_file)
    config = vault_secrets({"sslMode": "require"}, redis_secret)
    values = {
        "username": "-",
        "password": "-",
        "host": "-",
        "port": "1",
        "database": "-",
        "redis_password": server.password,
        "redis_host": host,
        "redis_port": str(server.port),
    }
    url = rendered(config, values)[spec.REDIS_URL]
    assert url.startswith("rediss://:")
    env = pod_env(config)
    monkeypatch.delenv(spec.REDIS_CA_FILE, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    client = redis_client_from_the_docs()(url, socket_connect_timeout=5, socket_timeout=5)
    try:
        return bool(client.ping())
    finally:
        client.close()


def test_redis_connects_with_the_ca_file_and_the_right_host(
    redis_server: Redis, authorities: Authorities, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert redis_ping(redis_server, HOST, authorities.right.certificate, monkeypatch)


@dataclass(frozen=True)
class Refusal:
    host: str
    ca: str | None  # "right", "wrong", or no REDIS_CA_FILE at all
    error: str


@pytest.mark.parametrize(
    "refusal",
    [
        Refusal(HOST, "wrong", "certificate verify failed"),
        Refusal(OTHER_HOST, "right", "IP address mismatch"),
        # Without REDIS_CA_FILE redis-py trusts the system's CAs only, which never signed
        # this server: rediss:// verifies by default.
        Refusal(HOST, None, "certificate verify failed"),
    ],
    ids=["another-ca", "another-host", "no-ca-file"],
)
def test_redis_refuses_what_it_cannot_verify(
    redis_server: Redis,
    authorities: Authorities,
    monkeypatch: pytest.MonkeyPatch,
    refusal: Refusal,
) -> None:
    ca = {"right": authorities.right, "wrong": authorities.wrong}.get(refusal.ca or "")
    ca_file = None if ca is None else ca.certificate
    with pytest.raises(redis.exceptions.ConnectionError, match=refusal.error):
        redis_ping(redis_server, refusal.host, ca_file, monkeypatch)


def test_the_pods_get_the_redis_ca_file_in_every_delivery() -> None:
    for delivery in ("files", "env"):
        config = VaultSecretsConfig.model_validate(
            {
                "vault": {"server": "https://vault.example.com", "role": "r"},
                "redis": {"key": "r", "caFile": "/etc/ssl/certs/redis-ca.pem"},
                "delivery": {"secrets": delivery},
            }
        )
        assert pod_env(config) == {spec.REDIS_CA_FILE: "/etc/ssl/certs/redis-ca.pem"}
