"""Version-safe backups: pg_dump against a newer server, restores of newer dumps, extensions.

Debian ships one PostgreSQL major version (bookworm: 15), so the newer server is simulated at
the protocol level (tests/support/fake_postgres.py): the real backup.sh runs its real version
check against it. The extension cases use real contrib extensions: pgcrypto and hstore are
trusted (a database owner may create them), pageinspect is not (only a superuser may).
"""

from __future__ import annotations

import subprocess

from tests.support.backup_env import Postgres
from tests.support.backup_world import (
    SCRATCH,
    Copy,
    assert_failed,
    assert_untouched,
    tables_of,
    wait_for_a_new_stamp,
)
from tests.support.fake_postgres import fake_postgres


def client_version(postgres: Postgres, tool: str) -> str:
    """The installed tool's version, as `<tool> --version` prints it (e.g. 15.8)."""
    banner = subprocess.run(
        [str(postgres.bindir / tool), "--version"], capture_output=True, text=True, check=True
    ).stdout
    return banner.split()[2]


# --- the server's major version against pg_dump's ------------------------------------------


def test_a_server_newer_than_pg_dump_fails_before_dumping(copy: Copy) -> None:
    pg_dump = client_version(copy.world.postgres, "pg_dump")
    newer = int(pg_dump.split(".")[0]) + 2
    before = copy.stored_keys()
    with fake_postgres(f"{newer}.2") as server:
        run = copy.backup(PGPORT=str(server.port))
    assert_failed(
        run,
        f"pg_dump {pg_dump} cannot dump server {newer}.2; "
        f"use a backup image with PostgreSQL {newer} client tools",
    )
    # Nothing but the version query reached the server: no snapshot, no dump.
    assert len(server.queries) == 1 and "server_version_num" in server.queries[0]
    assert "pg_dump:" not in run.log
    assert_untouched(copy, before)


def test_an_older_server_passes_the_version_check(copy: Copy) -> None:
    """pg_dump dumps older servers: the check lets them through (the fake then cannot open a
    snapshot, which shows the script went on)."""
    pg_dump = client_version(copy.world.postgres, "pg_dump")
    older = int(pg_dump.split(".")[0]) - 1
    with fake_postgres(f"{older}.9") as server:
        run = copy.backup(PGPORT=str(server.port))
    assert f"PostgreSQL {older}.9, pg_dump {pg_dump}" in run.log
    assert_failed(run, "cannot open a snapshot")
    assert "cannot dump server" not in run.log
    assert any("REPEATABLE READ" in query for query in server.queries)


def test_the_manifest_records_the_versions(copy: Copy) -> None:
    manifest = copy.manifest()
    snapshot = manifest["snapshot"]
    assert isinstance(snapshot, dict)
    version_num = int(copy.world.postgres.psql("SHOW server_version_num"))
    assert snapshot["serverVersionNum"] == version_num
    assert snapshot["standby"] is False
    pg_dump = client_version(copy.world.postgres, "pg_dump")
    assert f"(PostgreSQL) {pg_dump}" in str(manifest["pgDump"])


def test_a_backup_of_a_newer_server_is_not_restored_into_an_older_one(copy: Copy) -> None:
    manifest = copy.manifest()
    snapshot = manifest["snapshot"]
    assert isinstance(snapshot, dict)
    restore_major = int(copy.world.postgres.psql("SHOW server_version_num")) // 10000
    snapshot.update(serverVersionNum=(restore_major + 2) * 10000 + 1, serverVersion="99.1")
    copy.put_manifest(manifest)
    run = copy.restore_check()
    assert_failed(
        run,
        f"older than the backup's server 99.1; restore into PostgreSQL {restore_major + 2} "
        "or newer",
    )
    assert not copy.world.postgres.database_exists(SCRATCH)


def test_a_dump_made_by_a_newer_pg_dump_names_the_image_to_use(copy: Copy) -> None:
    pg_restore = client_version(copy.world.postgres, "pg_restore")
    newer = int(pg_restore.split(".")[0]) + 1
    manifest = copy.manifest()
    manifest["pgDump"] = f"pg_dump (PostgreSQL) {newer}.0"
    copy.put_manifest(manifest)
    run = copy.restore_check()
    assert_failed(
        run,
        f"pg_restore {pg_restore} cannot read a dump made by pg_dump {newer}.0; "
        f"use a backup image with PostgreSQL {newer} client tools",
    )


# --- extensions -------------------------------------------------------------------------------


def backup_of(copy: Copy, database: str, setup: str) -> Copy:
    """A fresh database set up as the superuser, backed up under its own prefix."""
    postgres = copy.world.postgres
    postgres.psql(f"CREATE DATABASE {database}")
    postgres.psql(setup, database)
    own = Copy(copy.world, f"{database}-{copy.prefix}", copy.workdir)
    wait_for_a_new_stamp(copy.world.good_stamp)
    run = own.backup(PGDATABASE=database)
    assert run.returncode == 0, run.log
    return own


def test_trusted_extensions_restore_as_a_createdb_role(copy: Copy) -> None:
    own = backup_of(
        copy,
        "trusted",
        "CREATE EXTENSION hstore; CREATE EXTENSION pgcrypto;"
        "CREATE TABLE attrs (id int, attrs hstore, secret bytea);"
        "INSERT INTO attrs SELECT g, hstore('k', g::text), digest(g::text, 'sha256')"
        "  FROM generate_series(1, 40) g;",
    )
    snapshot = own.manifest(own.latest)["snapshot"]
    assert isinstance(snapshot, dict)
    assert {e["name"] for e in snapshot["extensions"]} == {"hstore", "pgcrypto", "plpgsql"}
    run = own.restore_check()  # restore_check: LOGIN CREATEDB, no superuser
    assert run.returncode == 0, run.log
    assert "all 1 tables match the manifest" in run.log


def test_an_untrusted_extension_is_named_and_fails_the_check(copy: Copy) -> None:
    own = backup_of(
        copy,
        "untrusted",
        "CREATE EXTENSION pageinspect; CREATE EXTENSION hstore;"
        "CREATE TABLE pages (id int); INSERT INTO pages VALUES (1);",
    )
    run = own.restore_check()
    assert_failed(run, "needs extensions that restore_check cannot create")
    assert 'permission denied to create extension "pageinspect"' in run.log
    assert "Must be superuser to create this extension" in run.log
    assert "hstore:" not in run.log  # the trusted one is no problem
    assert "pg_restore" not in run.log  # refused before restoring anything
    assert not copy.world.postgres.database_exists(SCRATCH)
    # A role that may create it (here the superuser) restores the same backup.
    postgres = copy.world.postgres
    superuser = own.restore_check(PGUSER="postgres", PGPASSFILE=str(postgres.passfile))
    assert superuser.returncode == 0, superuser.log


def test_an_extension_missing_on_the_restore_server_is_named(copy: Copy) -> None:
    manifest = copy.manifest()
    snapshot = manifest["snapshot"]
    assert isinstance(snapshot, dict)
    snapshot["extensions"] = [
        *snapshot["extensions"],
        {"name": "no_such_extension", "version": "1.0", "schema": "public"},
    ]
    copy.put_manifest(manifest)
    run = copy.restore_check()
    assert_failed(run, "needs extensions that restore_check cannot create")
    assert "extension no_such_extension: " in run.log
    assert "must first be installed on the system where PostgreSQL is running" in run.log


def test_a_format_1_manifest_still_restores(copy: Copy) -> None:
    """Backups taken before this version (no versions, extensions or estimates recorded)."""
    manifest = copy.manifest()
    snapshot = manifest["snapshot"]
    assert isinstance(snapshot, dict)
    manifest["format"] = 1
    manifest["snapshot"] = {
        "database": snapshot["database"],
        "serverVersion": snapshot["serverVersion"],
        "tables": [
            {"schema": t["schema"], "table": t["table"], "rows": t["rows"]}
            for t in tables_of(manifest).values()
        ],
    }
    copy.put_manifest(manifest)
    run = copy.restore_check()
    assert run.returncode == 0, run.log
