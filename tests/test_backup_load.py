"""Load on the database: reading from a hot standby, and counts that never scan large tables.

The standby is a real streaming replica of the test cluster (pg_basebackup); the counts are
checked against the server's own statistics of which tables were scanned.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.support.backup_env import (
    S3,
    Postgres,
    start_standby,
    wait_until_replayed,
)
from tests.support.backup_world import (
    BACKUP_USER,
    Copy,
    World,
    assert_failed,
    make_world,
    tables_of,
    wait_for_a_new_stamp,
    writing,
)

THRESHOLD = 16384  # two pages: the small tables here are below it, the large ones above
LOAD = """
CREATE TABLE large (id int PRIMARY KEY, pad text) WITH (autovacuum_enabled = off);
INSERT INTO large SELECT g, repeat('x', 100) FROM generate_series(1, 3000) g;
CREATE TABLE small (id int) WITH (autovacuum_enabled = off);
INSERT INTO small VALUES (1), (2), (3);
ANALYZE large, small;
-- Never analyzed: the catalog has no estimate (reltuples = -1) for it.
CREATE TABLE fresh (pad text) WITH (autovacuum_enabled = off);
INSERT INTO fresh SELECT repeat('y', 100) FROM generate_series(1, 1000);
"""


@pytest.fixture(scope="module")
def world(postgres: Postgres, s3: S3, tmp_path_factory: pytest.TempPathFactory) -> World:
    world = make_world(postgres, s3, tmp_path_factory)
    postgres.psql("CREATE DATABASE load")
    postgres.psql(LOAD, "load")
    return world


def scans(postgres: Postgres) -> dict[str, int]:
    """Sequential plus index scans per table of the load database, once every backup
    session has ended (a backend flushes its statistics before it leaves pg_stat_activity)."""
    deadline = time.monotonic() + 30
    while (
        postgres.psql(f"SELECT count(*) FROM pg_stat_activity WHERE usename = '{BACKUP_USER}'")
        != "0"
    ):
        assert time.monotonic() < deadline, "the backup's sessions did not end"
        time.sleep(0.1)
    rows = postgres.psql(
        "SELECT relname, seq_scan + coalesce(idx_scan, 0) FROM pg_stat_user_tables", "load"
    )
    return {name: int(count) for name, count in (line.split("|") for line in rows.splitlines())}


def load_backup(copy: Copy, **env: str) -> Copy:
    own = Copy(copy.world, f"load-{copy.prefix}", copy.workdir)
    wait_for_a_new_stamp(copy.world.good_stamp)
    run = own.backup(env=env, PGDATABASE="load", BACKUP_EXACT_COUNT_MAX_BYTES=str(THRESHOLD))
    assert run.returncode == 0, run.log
    return own


def test_large_tables_get_the_catalog_estimate_and_are_not_scanned_for_it(copy: Copy) -> None:
    postgres = copy.world.postgres
    before = scans(postgres)
    own = load_backup(copy)
    after = scans(postgres)
    tables = tables_of(own.manifest(own.latest))
    size = {
        name: int(postgres.psql(f"SELECT pg_relation_size('{name}')", "load"))
        for name in ("large", "small", "fresh")
    }
    assert size["small"] <= THRESHOLD < min(size["large"], size["fresh"])
    reltuples = int(
        float(postgres.psql("SELECT reltuples FROM pg_class WHERE relname = 'large'", "load"))
    )
    assert tables[("public", "small")] == {
        "schema": "public",
        "table": "small",
        "bytes": size["small"],
        "count": "exact",
        "rows": 3,
    }
    assert tables[("public", "large")]["count"] == "estimate"
    assert tables[("public", "large")]["rows"] == reltuples
    assert tables[("public", "fresh")]["count"] == "estimate"
    assert tables[("public", "fresh")]["rows"] is None  # never analyzed: no estimate
    # pg_dump reads every table once; only the small one was counted as well.
    assert {name: after[name] - before[name] for name in size} == {
        "large": 1,
        "small": 2,
        "fresh": 1,
    }
    check = own.restore_check()
    assert check.returncode == 0, check.log
    assert "all 3 tables match the manifest (1 counted exactly, 2 within the tolerance" in check.log


def test_an_estimate_far_from_the_restored_count_fails_the_check(copy: Copy) -> None:
    own = load_backup(copy)
    manifest = own.manifest(own.latest)
    tables = tables_of(manifest)
    tables[("public", "large")]["rows"] = 6000  # twice what the table has
    own.put_manifest(manifest, own.latest)
    run = own.restore_check()
    assert_failed(
        run,
        "public.large: the backup estimated 6000 rows, the restore has 3000 rows "
        "(more than 20% and 1000 rows apart)",
    )


def test_the_tolerance_is_the_larger_of_percent_and_rows(copy: Copy) -> None:
    own = load_backup(copy)
    manifest = own.manifest(own.latest)
    tables_of(manifest)[("public", "large")]["rows"] = 3500  # 500 rows, 17% off
    own.put_manifest(manifest, own.latest)
    assert own.restore_check().returncode == 0  # within 20% (and 1000 rows)
    assert own.restore_check(RESTORE_ESTIMATE_TOLERANCE_PERCENT="10").returncode == 0  # 1000 rows
    tight = own.restore_check(
        RESTORE_ESTIMATE_TOLERANCE_PERCENT="10", RESTORE_ESTIMATE_TOLERANCE_ROWS="100"
    )
    assert_failed(tight, "(more than 10% and 100 rows apart)")


# --- a hot standby ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def standby(world: World) -> Iterator[Postgres]:
    yield from start_standby(world.postgres)


def test_a_backup_from_a_hot_standby_is_consistent_under_writes(
    copy: Copy, standby: Postgres
) -> None:
    """Counts and dump share one snapshot exported on the standby (PostgreSQL 10+), while the
    primary keeps writing and the standby keeps replaying."""
    primary = copy.world.postgres
    own = Copy(copy.world, f"standby-{copy.prefix}", copy.workdir)
    with writing(primary, "replicated", timeout="120s"):
        deadline = time.monotonic() + 30
        wait_until_replayed(primary, standby)
        while standby.psql("SELECT count(*) FROM ticks", "replicated") == "0":
            assert time.monotonic() < deadline, "the writes never reached the standby"
            time.sleep(0.05)
        run = own.backup(PGDATABASE="replicated", PGPORT=str(standby.port))
        assert run.returncode == 0, run.log
    assert "(a hot standby)" in run.log
    manifest = own.manifest(own.latest)
    snapshot = manifest["snapshot"]
    assert isinstance(snapshot, dict) and snapshot["standby"] is True
    recorded = tables_of(manifest)[("public", "ticks")]["rows"]
    assert isinstance(recorded, int)
    assert int(primary.psql("SELECT count(*) FROM ticks", "replicated")) > recorded
    check = own.restore_check()  # into the primary's server, as restoreCheck defaults
    assert check.returncode == 0, check.log
