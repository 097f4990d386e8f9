"""Credentials from Vault through External Secrets, the app's typed settings, and how the pods
receive both."""

from __future__ import annotations

import posixpath
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from prodstack.config.app_settings import AppSettings
from prodstack.config.base import ConfigModel, Violation, raise_violations
from prodstack.config.types import Duration, ObjectName, shown

# libpq's sslmodes, and those that check the server's certificate against a CA.
SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
VERIFYING_SSL_MODES = ("verify-ca", "verify-full")
_VAULT_PATH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*(/[A-Za-z0-9][A-Za-z0-9_.\-]*)*$")
_VAULT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
_HTTPS_SERVER = re.compile(r"^https://[A-Za-z0-9.\-]+(:[0-9]{1,5})?/?$")
_FILE_MODE = re.compile(r"^0?[0-7]{3}$")
_PEM_CERTIFICATE = "-----BEGIN CERTIFICATE-----"
# A file in the app's image named in a URL or an environment variable: absolute, and only
# characters a URL query value carries as they are, so it needs no escaping anywhere.
_IMAGE_FILE = re.compile(r"^(/[A-Za-z0-9._-]+)+$")
# Paths the app's container already uses or that must stay the kubelet's: a mount may be
# neither on, inside nor above them.
_RESERVED_PATHS = ("/tmp", "/var/run/secrets/kubernetes.io", "/dev", "/proc", "/sys")
# Mounting over a whole system directory would hide what the image needs (CA certificates,
# passwd, libraries); a subdirectory such as /etc/app is fine.
_SYSTEM_DIRS = ("/", "/bin", "/etc", "/home", "/lib", "/root", "/run", "/sbin", "/usr", "/var")

SECRET_FILE_MODE_MAX = 0o440


def _check_vault_path(value: str) -> str:
    if _VAULT_PATH.match(value) is None:
        raise ValueError(
            f"{shown(value)} is not a Vault path; write segments of letters, digits, '_', "
            "'.' or '-' joined by '/', without a leading or trailing '/' (e.g. production/database)"
        )
    return value


def _check_vault_name(value: str) -> str:
    if _VAULT_NAME.match(value) is None:
        raise ValueError(
            f"{shown(value)} is not a Vault name; "
            "use letters, digits, '_', '.' or '-' (at most 128)"
        )
    return value


def _check_server(value: str) -> str:
    if _HTTPS_SERVER.match(value) is None:
        raise ValueError(
            f"{shown(value)} must be an https URL of the Vault server (https://host[:port]); "
            "credentials never travel over plain http"
        )
    return value.rstrip("/")


def _check_mount_path(value: str) -> str:
    normalized = posixpath.normpath(value)
    if not value.startswith("/") or normalized != (value.rstrip("/") or "/") or "//" in value:
        raise ValueError(
            f"{shown(value)} must be an absolute, normalized path such as /etc/app/secrets"
        )
    if normalized in _SYSTEM_DIRS:
        raise ValueError(
            f"{shown(value)} would hide the image's {normalized}; "
            "use a subdirectory such as /etc/app"
        )
    for reserved in _RESERVED_PATHS:
        if reserved in (normalized, *_ancestors(normalized)) or normalized in _ancestors(reserved):
            raise ValueError(
                f"{shown(value)} collides with {reserved}, which the pod already uses; "
                "choose a path of its own such as /etc/app/secrets"
            )
    return normalized


def _check_image_file(value: str) -> str:
    if _IMAGE_FILE.match(value) is None or {".", ".."} & set(value.split("/")):
        raise ValueError(
            f"{shown(value)} must be the absolute path of a file in the app's image, of letters, "
            "digits, '.', '_', '-' and '/' without '.' or '..' segments (e.g. "
            "/etc/ssl/certs/rds-global-bundle.pem): it goes into the URL as it is"
        )
    return value


def _ancestors(path: str) -> list[str]:
    parents = []
    while path != "/":
        path = posixpath.dirname(path)
        parents.append(path)
    return parents


def _check_pem(value: str) -> str:
    if _PEM_CERTIFICATE not in value:
        raise ValueError(
            "must be PEM text with at least one '-----BEGIN CERTIFICATE-----' block "
            "(prodstack base64-encodes it for the SecretStore)"
        )
    return value


def file_mode(value: str) -> int:
    """The permission bits of an octal string such as ``0440``."""
    return int(value, 8)


def _check_file_mode(value: object) -> str:
    if not isinstance(value, str) or _FILE_MODE.match(value) is None:
        raise ValueError(
            f"{shown(value)} is not an octal file mode; quote it as a string such as '0440' "
            "(YAML reads an unquoted 0440 as 288 or 440 depending on its version)"
        )
    bits = file_mode(value)
    if bits == 0 or bits & ~SECRET_FILE_MODE_MAX:
        raise ValueError(
            f"{value} grants more than read to owner and group; use 0400 or 0440 "
            "(secret files are never writable, executable or world-readable)"
        )
    return value


VaultPath = Annotated[str, AfterValidator(_check_vault_path)]
VaultName = Annotated[str, AfterValidator(_check_vault_name)]
VaultServer = Annotated[str, AfterValidator(_check_server)]
MountPath = Annotated[str, AfterValidator(_check_mount_path)]
PemCertificates = Annotated[str, AfterValidator(_check_pem)]
FileMode = Annotated[str, BeforeValidator(_check_file_mode)]
ImageFile = Annotated[str, AfterValidator(_check_image_file)]


class VaultCaProvider(ConfigModel):
    """A Secret or ConfigMap in the app's namespace that holds the CA of Vault's certificate."""

    type: Literal["Secret", "ConfigMap"]
    name: ObjectName
    key: Annotated[str, Field(pattern=r"^[-._a-zA-Z0-9]+$")] = "ca.crt"


class VaultConfig(ConfigModel):
    """Where Vault is and how External Secrets logs in to it (Kubernetes auth).

    External Secrets requests a short-lived token for ``serviceAccount`` (the app's account
    unless set) with the ``audiences`` given, and logs in to ``authMount`` as ``role``.
    """

    server: VaultServer
    kv_mount: VaultPath = "secret"
    namespace: VaultPath | None = None
    auth_mount: VaultPath = "kubernetes"
    role: VaultName
    audiences: Annotated[tuple[Annotated[str, Field(min_length=1)], ...], Field(min_length=1)] = (
        "vault",
    )
    ca_bundle: PemCertificates | None = None
    ca_provider: VaultCaProvider | None = None
    store_kind: Literal["SecretStore", "ClusterSecretStore"] = "SecretStore"

    @model_validator(mode="after")
    def _one_ca_source(self) -> VaultConfig:
        if self.ca_bundle is not None and self.ca_provider is not None:
            raise_violations(
                [
                    Violation(
                        ("caProvider",),
                        "give caBundle or caProvider, not both (External Secrets would use one)",
                    )
                ]
            )
        return self


class DatabaseSecret(ConfigModel):
    """A Vault KV v2 secret with the properties ``username``, ``password``, ``host``, ``port``
    and ``database``; the app gets them as one PostgreSQL URL.

    ``sslMode`` is libpq's; ``verify-full`` (the default) checks the server's certificate
    against ``sslRootCert``, the CA bundle in the app's image, and its host name.
    ``allowUnverifiedTls`` lets production connect with a weaker mode on purpose.
    """

    key: VaultPath
    ssl_mode: SslMode = "verify-full"
    ssl_root_cert: ImageFile | None = None
    allow_unverified_tls: bool = False

    @property
    def verified(self) -> bool:
        """The client checks the server's certificate and its name against a named CA."""
        return self.ssl_mode == "verify-full"

    @model_validator(mode="after")
    def _rules(self) -> DatabaseSecret:
        violations = []
        if self.ssl_mode in VERIFYING_SSL_MODES and self.ssl_root_cert is None:
            violations.append(
                Violation(
                    ("sslRootCert",),
                    f"sslMode {self.ssl_mode} checks the server's certificate: give the path "
                    "of its CA bundle in the app's image (for RDS, the region's or the global "
                    "bundle), or set sslMode: require to encrypt without checking the server",
                )
            )
        if self.ssl_mode not in VERIFYING_SSL_MODES and self.ssl_root_cert is not None:
            # libpq then verifies the chain (as verify-ca) while node-postgres verifies the
            # name too: the same URL would mean different checks in different clients.
            violations.append(
                Violation(
                    ("sslRootCert",),
                    f"sslMode {self.ssl_mode} does not check the server's certificate, and "
                    "clients disagree on what a CA does with it: set sslMode: verify-full, or "
                    "remove sslRootCert",
                )
            )
        if self.verified and self.allow_unverified_tls:
            violations.append(
                Violation(
                    ("allowUnverifiedTls",),
                    "sslMode verify-full verifies the server: remove allowUnverifiedTls",
                )
            )
        raise_violations(violations)
        return self


class RedisSecret(ConfigModel):
    """A Vault KV v2 secret with the properties ``password``, ``host`` and ``port``; the app
    gets them as one Redis URL (``rediss://`` when ``tls``).

    ``caFile`` is the CA bundle in the app's image that signed the server's certificate; the
    pods get its path in ``REDIS_CA_FILE`` (no Redis client reads a CA from the URL).
    ``allowUnverifiedTls`` lets production go without it (or without TLS) on purpose.
    """

    key: VaultPath
    tls: bool = True
    ca_file: ImageFile | None = None
    allow_unverified_tls: bool = False

    @property
    def verified(self) -> bool:
        """TLS, with the server's certificate checked against a named CA."""
        return self.tls and self.ca_file is not None

    @model_validator(mode="after")
    def _rules(self) -> RedisSecret:
        violations = []
        if self.ca_file is not None and not self.tls:
            violations.append(
                Violation(
                    ("caFile",),
                    "a CA is for TLS, and tls is false: set tls: true, or remove caFile",
                )
            )
        if self.verified and self.allow_unverified_tls:
            violations.append(
                Violation(
                    ("allowUnverifiedTls",),
                    "TLS with caFile verifies the server: remove allowUnverifiedTls",
                )
            )
        raise_violations(violations)
        return self


class Delivery(ConfigModel):
    """How the pods receive the secret and the settings.

    ``secrets: files`` (the default) mounts the Secret read-only at ``secretsPath``; ``env``
    puts each URL in an environment variable, which is weaker: other processes, crash dumps
    and debug endpoints see the environment, and a rotated value only arrives on restart.
    ``settings: env`` (the default) loads the ConfigMap with ``envFrom``; ``files`` mounts it.
    """

    secrets: Literal["files", "env"] = "files"
    secrets_path: MountPath = "/etc/app/secrets"
    secrets_file_mode: FileMode = "0440"
    settings: Literal["env", "files"] = "env"
    settings_path: MountPath = "/etc/app/settings"

    @model_validator(mode="after")
    def _paths_apart(self) -> Delivery:
        if self.secrets != "files" or self.settings != "files":
            return self
        a, b = self.secrets_path, self.settings_path
        if a == b or a.startswith(b + "/") or b.startswith(a + "/"):
            raise_violations(
                [
                    Violation(
                        ("settingsPath",),
                        f"{b} overlaps secretsPath {a}; mount the settings somewhere else",
                    )
                ]
            )
        return self


class VaultSecretsConfig(ConfigModel):
    """The ``vaultSecrets`` section: a SecretStore and an ExternalSecret for the app's database
    and Redis credentials, its typed settings in a ConfigMap, and their delivery to the pods."""

    vault: VaultConfig
    refresh_interval: Duration = "5m"
    deletion_policy: Literal["Retain", "Delete", "Merge"] = "Retain"
    database: DatabaseSecret | None = None
    redis: RedisSecret | None = None
    delivery: Delivery = Delivery()
    settings: AppSettings | None = None

    @model_validator(mode="after")
    def _has_a_secret(self) -> VaultSecretsConfig:
        if self.database is None and self.redis is None:
            raise_violations(
                [
                    Violation(
                        ("database",),
                        "name at least one of database or redis; an ExternalSecret with "
                        "nothing to fetch would create an empty Secret",
                    )
                ]
            )
        return self

    def production_violations(self) -> list[Violation]:
        """Rules of the production environment, paths relative to this section: every URL
        verifies its server, unless its secret says ``allowUnverifiedTls: true``."""
        violations = []
        database = self.database
        if database is not None and not database.verified and not database.allow_unverified_tls:
            violations.append(
                Violation(
                    ("database", "sslMode"),
                    f"production refuses sslMode {database.ssl_mode}, which does not check "
                    "the server's certificate and name: set sslMode: verify-full with "
                    "sslRootCert (the CA bundle in the app's image), or allowUnverifiedTls: "
                    "true to connect without verifying on purpose",
                )
            )
        redis = self.redis
        if redis is not None and not redis.verified and not redis.allow_unverified_tls:
            if not redis.tls:
                violations.append(
                    Violation(
                        ("redis", "tls"),
                        "production refuses Redis without TLS: set tls: true with caFile (the "
                        "CA bundle in the app's image), or allowUnverifiedTls: true to connect "
                        "in plain text on purpose",
                    )
                )
            else:
                violations.append(
                    Violation(
                        ("redis", "caFile"),
                        "production verifies Redis's certificate against a CA the "
                        "configuration names: give caFile (the CA bundle in the app's image; "
                        "the pods get it as REDIS_CA_FILE), or allowUnverifiedTls: true to "
                        "trust whatever the client trusts by default on purpose",
                    )
                )
        return violations
