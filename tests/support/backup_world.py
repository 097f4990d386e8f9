"""A seeded database with its backup and restore-check logins, the scripts as the ConfigMap
mounts them, and one good backup: the world the backup script tests work in.

Every test works on its own copy of the good backup (its own prefix), so a fault case can
assert that ``latest`` still names the good backup.
"""

from __future__ import annotations

import contextlib
import json
import re
import stat
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from prodstack.specs.backup_jobs import script_files
from tests.support.backup_env import AWS_VENV, S3, Postgres, ScriptRun, run_script

BUCKET = "prodstack-backups"
GOOD_PREFIX = "good/"
DATABASE = "shop"
BACKUP_USER = "shop_backup"
BACKUP_PASSWORD = "b@ck:up\\pass word"  # ':' and '\' need escaping in a pgpass file
RESTORE_USER = "restore_check"
RESTORE_PASSWORD = "restore-secret"
SCRATCH = "prodstack_restore_check"
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (backup|restore-check): \S")
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"

SEED = r'''
CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL UNIQUE);
INSERT INTO users (email) SELECT 'user' || g || '@example.com' FROM generate_series(1, 120) g;
CREATE TABLE orders (id bigserial PRIMARY KEY, user_id int REFERENCES users, total numeric);
INSERT INTO orders (user_id, total) SELECT 1 + g % 120, g * 1.25 FROM generate_series(1, 500) g;
CREATE TABLE audit (id serial PRIMARY KEY, note text);
CREATE UNLOGGED TABLE sessions (token text PRIMARY KEY);
INSERT INTO sessions SELECT md5(g::text) FROM generate_series(1, 7) g;
CREATE TABLE events (id int, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO events SELECT g, date '2024-06-01' + g FROM generate_series(1, 300) g;
CREATE SCHEMA "Sales Data";
CREATE TABLE "Sales Data"."line ""items""" (id int);
INSERT INTO "Sales Data"."line ""items""" SELECT generate_series(1, 3);
'''
EXPECTED_COUNTS = {
    ("Sales Data", 'line "items"'): 3,
    ("public", "audit"): 0,
    ("public", "events_2024"): 213,
    ("public", "events_2025"): 87,
    ("public", "orders"): 500,
    ("public", "sessions"): 7,
    ("public", "users"): 120,
}


@dataclass(frozen=True)
class World:
    postgres: Postgres
    s3: S3
    scripts: Path
    secrets: Path
    good_stamp: str


@dataclass(frozen=True)
class Copy:
    """A test's own copy of the good backup: ``prefix`` holds it and a ``latest`` naming it."""

    world: World
    prefix: str
    workdir: Path

    @property
    def latest(self) -> str:
        return self.world.s3.get(BUCKET, f"{self.prefix}latest").decode().strip()

    def stored_keys(self) -> list[str]:
        return self.world.s3.keys(BUCKET, self.prefix)

    def object_key(self, name: str, stamp: str | None = None) -> str:
        return f"{self.prefix}{stamp or self.world.good_stamp}/{name}"

    def manifest(self, stamp: str | None = None) -> dict[str, object]:
        raw = self.world.s3.get(BUCKET, self.object_key("manifest.json", stamp))
        loaded: dict[str, object] = json.loads(raw)
        return loaded

    def put_manifest(self, manifest: dict[str, object], stamp: str | None = None) -> None:
        self.world.s3.put(
            BUCKET, self.object_key("manifest.json", stamp), json.dumps(manifest).encode()
        )

    def backup_env(self, **overrides: str) -> dict[str, str]:
        env = {
            **self.world.postgres.env(user=BACKUP_USER, database=DATABASE),
            **self.world.s3.env(),
            "PGPASSWORD_FILE": str(self.world.secrets / "backup-password"),
            "BACKUP_BUCKET": BUCKET,
            "BACKUP_PREFIX": self.prefix,
            "SCRATCH_DIR": str(self.workdir),
            "HOME": str(self.workdir),
        }
        env.update(overrides)
        return env

    def restore_env(self, **overrides: str) -> dict[str, str]:
        env = {
            **self.world.postgres.env(user=RESTORE_USER, database="postgres"),
            **self.world.s3.env(),
            # The other way to pass the password: a ready libpq password file.
            "PGPASSFILE": str(self.world.secrets / "restore.pgpass"),
            "BACKUP_BUCKET": BUCKET,
            "BACKUP_PREFIX": self.prefix,
            "RESTORE_DATABASE": SCRATCH,
            "SCRATCH_DIR": str(self.workdir),
            "HOME": str(self.workdir),
        }
        env.update(overrides)
        return env

    def backup(
        self,
        *,
        shims: Path | None = None,
        wrapper: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        **overrides: str,
    ) -> ScriptRun:
        """Run backup.sh; ``env`` and then ``overrides`` change its environment."""
        return run_script(
            self.world.scripts / "backup.sh",
            self.backup_env(**{**(env or {}), **overrides}),
            shims=shims,
            wrapper=wrapper,
        )

    def restore_check(
        self,
        *,
        wrapper: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        **overrides: str,
    ) -> ScriptRun:
        """Run restore-check.sh; ``env`` and then ``overrides`` change its environment."""
        return run_script(
            self.world.scripts / "restore-check.sh",
            self.restore_env(**{**(env or {}), **overrides}),
            wrapper=wrapper,
        )


def make_world(
    postgres: Postgres, s3: S3, tmp_path_factory: pytest.TempPathFactory, seed: str = SEED
) -> World:
    """The logins, the seeded database, the scripts as mounted, and one good backup."""
    postgres.psql(
        f"""
        CREATE ROLE {BACKUP_USER} LOGIN PASSWORD $${BACKUP_PASSWORD}$$;
        GRANT pg_read_all_data TO {BACKUP_USER};
        CREATE ROLE {RESTORE_USER} LOGIN CREATEDB PASSWORD '{RESTORE_PASSWORD}';
        CREATE DATABASE {DATABASE};
        """
    )
    postgres.psql(seed, database=DATABASE)
    scripts = tmp_path_factory.mktemp("scripts")
    for name, text in script_files().items():
        (scripts / name).write_text(text)
    secrets = tmp_path_factory.mktemp("secrets")
    # As Kubernetes mounts a Secret with fsGroup: group-readable, which libpq would refuse.
    password = secrets / "backup-password"
    password.write_text(BACKUP_PASSWORD + "\n")
    password.chmod(0o440)
    pgpass = secrets / "restore.pgpass"
    pgpass.write_text(f"*:*:*:{RESTORE_USER}:{RESTORE_PASSWORD}\n")
    pgpass.chmod(0o600)
    s3.make_bucket(BUCKET)
    first = Copy(
        World(postgres, s3, scripts, secrets, good_stamp=""),
        GOOD_PREFIX,
        tmp_path_factory.mktemp("good"),
    )
    run = first.backup()
    assert run.returncode == 0, run.log
    return World(postgres, s3, scripts, secrets, good_stamp=first.latest)


def copy_of(world: World, request: pytest.FixtureRequest, tmp_path: Path) -> Copy:
    """The good backup copied under a prefix named after the test."""
    prefix = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name).strip("-")[:60] + "/"
    world.s3.copy_prefix(BUCKET, GOOD_PREFIX, prefix)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    return Copy(world, prefix, scratch)


def assert_failed(run: ScriptRun, message: str) -> None:
    assert run.returncode != 0, run.log
    assert message in run.log, run.log


def assert_untouched(copy: Copy, keys_before: list[str]) -> None:
    """The failed backup left ``latest`` on the good backup and wrote nothing."""
    assert copy.latest == copy.world.good_stamp
    assert copy.stored_keys() == keys_before


def tables_of(manifest: dict[str, object]) -> dict[tuple[str, str], dict[str, object]]:
    snapshot = manifest["snapshot"]
    assert isinstance(snapshot, dict)
    return {(t["schema"], t["table"]): t for t in snapshot["tables"]}


def counts_of(manifest: dict[str, object]) -> dict[tuple[str, str], int]:
    return {name: table["rows"] for name, table in tables_of(manifest).items()}  # type: ignore[misc]


def write_shim(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(exist_ok=True)
    shim = folder / name
    shim.write_text("#!/usr/bin/env bash\n" + body)
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return folder


def short_read_shim(folder: Path) -> Path:
    """An ``aws`` in ``folder`` whose read-back of a dump returns one byte less than S3 holds
    (the upload and the stored object then differ); everything else is the real CLI."""
    return write_shim(
        folder,
        "aws",
        f"""
real={AWS_VENV / "bin" / "aws"}
if [ "$1 $2" = "s3api get-object" ] && [[ "$*" == *postgresql.dump* ]]; then
  args=("$@")
  body="${{args[-1]}}"
  unset 'args[-1]'
  "$real" "${{args[@]}}" /dev/fd/4 4>&1 >/dev/null | head --bytes=-1 >"$body"
  exit "${{PIPESTATUS[0]}}"
fi
exec "$real" "$@"
""",
    )


@contextlib.contextmanager
def writing(postgres: Postgres, database: str, timeout: str = "60s") -> Iterator[None]:
    """A new ``database`` whose table ``ticks`` a client inserts into every 2 ms (one commit
    each) while the block runs, at most ``timeout``; the client is stopped on the way out."""
    postgres.psql(f"CREATE DATABASE {database}")
    postgres.psql(
        "CREATE TABLE ticks (id bigserial PRIMARY KEY, at timestamptz DEFAULT now())", database
    )
    writer = subprocess.Popen(
        [str(postgres.bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**postgres.env(database=database), "PGAPPNAME": "writer"},
        text=True,
    )
    assert writer.stdin is not None
    writer.stdin.write(
        f"SET statement_timeout = '{timeout}';\n"
        "DO $$ BEGIN LOOP INSERT INTO ticks DEFAULT VALUES; COMMIT; PERFORM pg_sleep(0.002);"
        " END LOOP; END $$;\n"
    )
    writer.stdin.close()
    try:
        yield
    finally:
        postgres.psql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'writer'"
        )
        writer.wait(timeout=10)


def wait_for_a_new_stamp(*stamps: str) -> None:
    """Backups are named by the second they start: wait until a new one would get a new name."""
    while time.strftime(STAMP_FORMAT, time.gmtime()) in stamps:
        time.sleep(0.1)
