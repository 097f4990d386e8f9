"""Real tools for the backup script tests: a throwaway PostgreSQL cluster, moto's S3 server and
the AWS CLI, each started from the project's files on a free localhost port.

``scripts/install-tools.sh`` installs them (Debian ``postgresql``; ``awscli`` and ``moto`` in
``.tools/aws-test``). When one is missing the tests skip with the reason, or fail under CI.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from tests.support.stacks import ROOT
from tests.support.tools import require

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import TagTypeDef

TOOLS_DIR = Path(os.environ.get("PRODSTACK_TOOLS_DIR", ROOT / ".tools"))
AWS_VENV = TOOLS_DIR / "aws-test"
SUPERUSER = "postgres"
SUPERUSER_PASSWORD = "superuser-secret"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def postgres_bindir() -> Path | None:
    """The newest installed PostgreSQL's server binaries (Debian keeps them off PATH)."""
    override = os.environ.get("PRODSTACK_PG_BINDIR")
    if override:
        return Path(override)
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0,
    )
    return found[-1].parent if found else None


def _as_cluster_owner(owner: str | None) -> list[str]:
    """initdb and postgres refuse to run as root: drop to the cluster's owner when we are root."""
    return ["runuser", "-u", owner, "--"] if owner else []


@dataclass
class Postgres:
    """A running cluster listening on 127.0.0.1 only (no Unix socket), password logins only."""

    bindir: Path
    port: int
    root: Path
    owner: str | None
    passfile: Path = field(init=False)

    def __post_init__(self) -> None:
        self.passfile = self.root / "superuser.pgpass"

    def env(self, user: str = SUPERUSER, database: str = "postgres") -> dict[str, str]:
        env = {
            "PATH": f"{self.bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "PGHOST": "127.0.0.1",
            "PGPORT": str(self.port),
            "PGUSER": user,
            "PGDATABASE": database,
            "PGSSLMODE": "disable",
            "PGCONNECT_TIMEOUT": "5",
        }
        if user == SUPERUSER:
            env["PGPASSFILE"] = str(self.passfile)
        return env

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL as the superuser; returns unaligned, tuples-only output."""
        completed = subprocess.run(
            [str(self.bindir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"],
            input=sql,
            env=self.env(database=database),
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            raise AssertionError(f"psql failed: {completed.stderr}")
        return completed.stdout.strip()

    def database_exists(self, name: str) -> bool:
        return self.psql(f"SELECT count(*) FROM pg_database WHERE datname = '{name}'") == "1"


@dataclass
class S3:
    """moto's S3 server: the scripts reach it with the AWS CLI, the tests with boto3 (in-process,
    so that looking at the bucket costs milliseconds, not a CLI start)."""

    endpoint: str
    client: S3Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
            # moto reports a multipart object's composite CRC32 without S3's "-<parts>"
            # suffix, so botocore would check it as a whole-object checksum and fail; the
            # tests compare sizes and sha256 themselves.
            config=Config(response_checksum_validation="when_required"),
        )

    def env(self) -> dict[str, str]:
        """What a script needs to reach the server through the standard AWS credential chain."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_MAX_ATTEMPTS": "1",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            # moto drops the "-<parts>" suffix of a copied multipart object's composite CRC32,
            # which the CLI would then check as a whole-object checksum; S3 does not. The
            # scripts verify size and sha256 of every dump they read themselves.
            "AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required",
        }

    def make_bucket(self, bucket: str) -> None:
        self.client.create_bucket(Bucket=bucket)

    def get(self, bucket: str, key: str) -> bytes:
        return self.client.get_object(Bucket=bucket, Key=key)["Body"].read()

    def put(self, bucket: str, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=bucket, Key=key, Body=data)

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def tags(self, bucket: str, key: str) -> dict[str, str]:
        found = self.client.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
        return {tag["Key"]: tag["Value"] for tag in found}

    def set_tags(self, bucket: str, key: str, tags: dict[str, str]) -> None:
        tag_set: list[TagTypeDef] = [{"Key": k, "Value": v} for k, v in tags.items()]
        self.client.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": tag_set})

    def copy_prefix(self, bucket: str, source: str, target: str) -> None:
        for key in self.keys(bucket, source):
            self.client.copy_object(
                Bucket=bucket,
                Key=target + key.removeprefix(source),
                CopySource={"Bucket": bucket, "Key": key},
            )


@dataclass(frozen=True)
class ScriptRun:
    returncode: int
    log: str

    @property
    def lines(self) -> list[str]:
        return self.log.splitlines()


def _start_cluster(bindir: Path, data: Path, root: Path, port: int, prefix: list[str]) -> None:
    server_options = (
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories='' "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    started = subprocess.run(
        [
            *prefix,
            str(bindir / "pg_ctl"),
            "--pgdata",
            str(data),
            "--log",
            str(root / "server.log"),
            "--options",
            server_options,
            "--wait",
            "--silent",
            "start",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if started.returncode != 0:
        log = (root / "server.log").read_text() if (root / "server.log").exists() else ""
        raise AssertionError(f"PostgreSQL did not start: {started.stderr}\n{log}")


def _stop_cluster(bindir: Path, data: Path, prefix: list[str]) -> None:
    subprocess.run(
        [*prefix, str(bindir / "pg_ctl"), "--pgdata", str(data), "--mode", "immediate", "stop"],
        capture_output=True,
        check=False,
    )


def start_standby(primary: Postgres) -> Iterator[Postgres]:
    """A hot standby of ``primary`` (pg_basebackup, streaming replication) on its own port,
    caught up with the primary when it is handed out; stopped and removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="prodstack-standby-"))
    data = root / "data"
    passfile = root / "replication.pgpass"
    passfile.write_text(f"*:*:*:{SUPERUSER}:{SUPERUSER_PASSWORD}\n")
    passfile.chmod(0o600)
    if primary.owner:
        account = pwd.getpwnam(primary.owner)
        shutil.chown(root, account.pw_uid, account.pw_gid)
        shutil.chown(passfile, account.pw_uid, account.pw_gid)
    prefix = _as_cluster_owner(primary.owner)
    subprocess.run(
        [
            *prefix,
            str(primary.bindir / "pg_basebackup"),
            "--host=127.0.0.1",
            f"--port={primary.port}",
            f"--username={SUPERUSER}",
            f"--pgdata={data}",
            "--write-recovery-conf",
            "--wal-method=stream",
            "--checkpoint=fast",
            "--no-sync",
        ],
        env={
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "PGPASSFILE": str(passfile),
            "PGSSLMODE": "disable",
        },
        check=True,
        capture_output=True,
    )
    port = free_port()
    _start_cluster(primary.bindir, data, root, port, prefix)
    standby = Postgres(bindir=primary.bindir, port=port, root=root, owner=primary.owner)
    standby.passfile.write_text(f"*:*:*:{SUPERUSER}:{SUPERUSER_PASSWORD}\n")
    standby.passfile.chmod(0o600)
    try:
        wait_until_replayed(primary, standby)
        yield standby
    finally:
        _stop_cluster(primary.bindir, data, prefix)
        shutil.rmtree(root, ignore_errors=True)


def wait_until_replayed(primary: Postgres, standby: Postgres, timeout: float = 60) -> None:
    """Until the standby has replayed everything the primary has written so far."""
    target = primary.psql("SELECT pg_current_wal_lsn()")
    deadline = time.monotonic() + timeout
    while standby.psql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn") != "t":
        assert time.monotonic() < deadline, "the standby did not catch up"
        time.sleep(0.1)


def start_postgres() -> Iterator[Postgres]:
    """initdb + pg_ctl on a temporary folder and a free port; stopped and removed afterwards."""
    bindir = postgres_bindir()
    require(bindir is not None and (bindir / "pg_ctl").exists(), "PostgreSQL (Debian postgresql)")
    assert bindir is not None
    owner: str | None = None
    if os.geteuid() == 0:
        # initdb and postgres refuse root; Debian's package creates this account.
        accounts = {entry.pw_name for entry in pwd.getpwall()}
        require("postgres" in accounts, "the 'postgres' account (Debian postgresql)")
        owner = "postgres"
    root = Path(tempfile.mkdtemp(prefix="prodstack-pg-"))
    data = root / "data"
    password_file = root / "superuser.password"
    password_file.write_text(SUPERUSER_PASSWORD + "\n")
    if owner:
        account = pwd.getpwnam(owner)
        shutil.chown(root, account.pw_uid, account.pw_gid)
        shutil.chown(password_file, account.pw_uid, account.pw_gid)
    port = free_port()
    prefix = _as_cluster_owner(owner)
    subprocess.run(
        [
            *prefix,
            str(bindir / "initdb"),
            "--pgdata",
            str(data),
            "--username",
            SUPERUSER,
            "--pwfile",
            str(password_file),
            "--auth",
            "scram-sha-256",
            "--encoding",
            "UTF8",
            "--locale",
            "C.UTF-8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    _start_cluster(bindir, data, root, port, prefix)
    server = Postgres(bindir=bindir, port=port, root=root, owner=owner)
    server.passfile.write_text(f"*:*:*:{SUPERUSER}:{SUPERUSER_PASSWORD}\n")
    server.passfile.chmod(0o600)
    try:
        yield server
    finally:
        _stop_cluster(bindir, data, prefix)
        shutil.rmtree(root, ignore_errors=True)


def start_s3() -> Iterator[S3]:
    """moto's S3 server on a free port (the AWS CLI beside it is what the scripts use)."""
    moto_server = AWS_VENV / "bin" / "moto_server"
    require(
        (AWS_VENV / "bin" / "aws").exists() and moto_server.exists(),
        f"the AWS CLI and moto's server (in {AWS_VENV})",
    )
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [str(moto_server), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{endpoint}/", timeout=1):
                    break
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("moto's S3 server did not start") from None
                time.sleep(0.1)
        yield S3(endpoint=endpoint)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def script_command(
    script: Path, env: Mapping[str, str], *, shims: Path | None, wrapper: Sequence[str]
) -> tuple[list[str], dict[str, str]]:
    path = [str(AWS_VENV / "bin"), env.get("PATH", "/usr/bin:/bin")]
    if shims is not None:
        path.insert(0, str(shims))
    return [*wrapper, "bash", str(script)], {**env, "PATH": ":".join(path)}


def run_script(
    script: Path,
    env: Mapping[str, str],
    *,
    shims: Path | None = None,
    wrapper: Sequence[str] = (),
    timeout: float = 300,
) -> ScriptRun:
    """Run a backup script with exactly the given environment, as a pod would; the AWS CLI on
    PATH, ``shims`` (fault-injecting wrappers) ahead of everything when given, and under
    ``wrapper`` (e.g. prlimit) when given."""
    command, full_env = script_command(script, env, shims=shims, wrapper=wrapper)
    completed = subprocess.run(
        command, env=full_env, capture_output=True, text=True, timeout=timeout, check=False
    )
    return ScriptRun(completed.returncode, completed.stdout + completed.stderr)


def start_script(
    script: Path, env: Mapping[str, str], log: Path, *, wrapper: Sequence[str] = ()
) -> subprocess.Popen[bytes]:
    """Start a script in the background, its output going to ``log``."""
    command, full_env = script_command(script, env, shims=None, wrapper=wrapper)
    with log.open("wb") as out:
        return subprocess.Popen(command, env=full_env, stdout=out, stderr=subprocess.STDOUT)
