"""Real TLS for the data-store tests: certificate authorities and server certificates made with
the openssl CLI, PostgreSQL with SSL switched on, and a throwaway Redis that speaks TLS only.

``scripts/install-tools.sh`` installs the tools (Debian ``openssl``, ``redis-server``,
``postgresql``). When one is missing the tests skip with the reason, or fail under CI.
"""

from __future__ import annotations

import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.backup_env import Postgres, free_port
from tests.support.tools import require

READY_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class Authority:
    """A certificate authority: its certificate (what clients trust) and its key."""

    certificate: Path
    key: Path


@dataclass(frozen=True)
class ServerCertificate:
    certificate: Path
    key: Path


def _openssl(*args: str, cwd: Path) -> None:
    binary = shutil.which("openssl")
    require(binary is not None, "openssl (Debian openssl)")
    assert binary is not None
    completed = subprocess.run(
        [binary, *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise AssertionError(f"openssl {args[0]} failed: {completed.stderr}")


def make_authority(directory: Path, name: str) -> Authority:
    """A self-signed CA (P-256, one day) named ``name``, in ``directory/<name>.pem``."""
    certificate, key = directory / f"{name}.pem", directory / f"{name}.key"
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", str(key), "-out", str(certificate), "-days", "1",
        "-subj", f"/CN=prodstack test {name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )  # fmt: skip
    return Authority(certificate, key)


def issue(authority: Authority, directory: Path, host: str) -> ServerCertificate:
    """A server certificate for the DNS name ``host`` (its only subject alternative name),
    signed by ``authority``."""
    stem = directory / f"server-{host}"
    request, extensions = stem.with_suffix(".csr"), stem.with_suffix(".ext")
    certificate, key = stem.with_suffix(".crt"), stem.with_suffix(".key")
    extensions.write_text(f"subjectAltName=DNS:{host}\nextendedKeyUsage=serverAuth\n")
    _openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", str(key), "-out", str(request), "-subj", f"/CN={host}",
        cwd=directory,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", str(request), "-CA", str(authority.certificate),
        "-CAkey", str(authority.key), "-out", str(certificate), "-days", "1",
        "-extfile", str(extensions),
        cwd=directory,
    )  # fmt: skip
    return ServerCertificate(certificate, key)


def enable_ssl(server: Postgres, certificate: ServerCertificate) -> None:
    """Switch SSL on in a running cluster with ``certificate`` (SSL settings reload on SIGHUP)."""
    data = server.root / "data"
    for source, target in (
        (certificate.certificate, "server.crt"),
        (certificate.key, "server.key"),
    ):
        shutil.copyfile(source, data / target)
        # PostgreSQL refuses a key that others can read, or that the server does not own.
        (data / target).chmod(0o600)
        if server.owner:
            account = pwd.getpwnam(server.owner)
            shutil.chown(data / target, account.pw_uid, account.pw_gid)
    server.psql("ALTER SYSTEM SET ssl = on")
    server.psql("SELECT pg_reload_conf()")
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while server.psql("SHOW ssl") != "on":
        if time.monotonic() > deadline:
            log = (server.root / "server.log").read_text()
            raise AssertionError(f"PostgreSQL did not switch SSL on:\n{log}")
        time.sleep(0.05)


@dataclass(frozen=True)
class Redis:
    """A Redis server on 127.0.0.1 that accepts TLS connections only, with a password."""

    port: int
    password: str


def start_redis(certificate: ServerCertificate, password: str) -> Iterator[Redis]:
    """redis-server on a free port with TLS only (``--port 0``), no persistence; stopped and
    removed afterwards."""
    binary = shutil.which("redis-server")
    require(binary is not None, "redis-server (Debian redis-server)")
    assert binary is not None
    root = Path(tempfile.mkdtemp(prefix="prodstack-redis-"))
    port = free_port()
    log = root / "redis.log"
    options = {
        "port": "0",  # TLS only
        "tls-port": str(port),
        "bind": "127.0.0.1",
        "tls-cert-file": str(certificate.certificate),
        "tls-key-file": str(certificate.key),
        "tls-auth-clients": "no",
        "requirepass": password,
        "save": "",
        "appendonly": "no",
        "dir": str(root),
    }
    command = [binary, *(part for name, value in options.items() for part in (f"--{name}", value))]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_port(port, process, log)
        yield Redis(port=port, password=password)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while True:
        if process.poll() is not None:
            raise AssertionError(f"redis-server exited: {log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"redis-server did not listen: {log.read_text()}") from None
            time.sleep(0.05)
