"""The dump streams: a database larger than the jobs' memory cap backs up and restores with no
file bigger than a few MiB, and a stream broken half-way leaves no backup behind.

The caps are per process (prlimit): address space (``--as``) well below the dump's size, and a
file-size limit (``--fsize``) that kills any process writing a bigger file. glibc's per-thread
malloc arenas and thread stacks reserve address space they never use; one arena
(MALLOC_ARENA_MAX=1) and 1 MiB stacks make the address-space cap track real use. The data is
random bytes made by the server (pgcrypto's gen_random_bytes), so the compressed dump is as big
as the data.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from prodstack.config.db_backup import BackupBucket
from prodstack.specs import backup_storage
from tests.support.backup_env import (
    S3,
    Postgres,
    ScriptRun,
    start_script,
)
from tests.support.backup_world import (
    BUCKET,
    Copy,
    World,
    assert_failed,
    make_world,
)
from tests.support.flaky_proxy import flaky_proxy
from tests.support.s3_lifecycle import StoredObject, filter_matches, to_s3_api
from tests.support.tools import require

MiB = 1024 * 1024
ROWS, ROW_BYTES = 300_000, 1024  # about 300 MiB of random data
MEMORY_CAP = 160 * MiB
FILE_CAP = 4 * MiB
CAPS = [
    "prlimit",
    f"--as={MEMORY_CAP}",
    f"--fsize={FILE_CAP}",
    f"--stack={MiB}",
    "--",
]
CAPPED_ENV = {"MALLOC_ARENA_MAX": "1"}


@pytest.fixture(scope="module")
def world(postgres: Postgres, s3: S3, tmp_path_factory: pytest.TempPathFactory) -> World:
    world = make_world(postgres, s3, tmp_path_factory)
    postgres.psql("CREATE DATABASE big")
    postgres.psql(
        "CREATE EXTENSION pgcrypto;"
        "CREATE TABLE blobs (id int PRIMARY KEY, payload bytea);"
        f"INSERT INTO blobs SELECT g, gen_random_bytes({ROW_BYTES})"
        f"  FROM generate_series(1, {ROWS}) g;",
        "big",
    )
    return world


def own_prefix(world: World, name: str, tmp_path: Path) -> Copy:
    """A prefix whose latest names the world's good backup, for a run that must leave it so."""
    copy = Copy(world, f"{name}/", tmp_path)
    world.s3.put(BUCKET, f"{name}/latest", f"{world.good_stamp}\n".encode())
    return copy


def test_a_dump_larger_than_the_memory_cap_streams_to_s3_and_back(
    world: World, tmp_path: Path
) -> None:
    require(shutil.which("prlimit") is not None, "prlimit (util-linux)")
    copy = Copy(world, "big/", tmp_path)
    started = time.monotonic()
    run = copy.backup(wrapper=CAPS, env=CAPPED_ENV, PGDATABASE="big")
    backup_seconds = time.monotonic() - started
    assert run.returncode == 0, run.log
    manifest = copy.manifest(copy.latest)
    size = manifest["bytes"]
    assert isinstance(size, int) and size > 2 * MEMORY_CAP and size > 64 * FILE_CAP
    head = world.s3.client.head_object(
        Bucket=BUCKET, Key=copy.object_key("postgresql.dump", copy.latest)
    )
    assert head["ContentLength"] == size
    assert "-" in head["ETag"]  # a multipart upload
    started = time.monotonic()
    check = copy.restore_check(wrapper=CAPS, env=CAPPED_ENV)
    restore_seconds = time.monotonic() - started
    assert check.returncode == 0, check.log
    assert f"checksum verified: {size} bytes" in check.log
    print(  # the numbers for the report (pytest -s)
        f"\nstreaming: dump {size / MiB:.0f} MiB, caps {MEMORY_CAP // MiB} MiB address space "
        f"and {FILE_CAP // MiB} MiB per file; backup {backup_seconds:.0f}s, "
        f"restore check {restore_seconds:.0f}s"
    )


def test_the_caps_stop_a_dump_on_disk_or_in_memory(world: World, tmp_path: Path) -> None:
    """The control: under the same caps, the old way (a dump file in the scratch folder) and
    holding the dump in memory both fail."""
    require(shutil.which("prlimit") is not None, "prlimit (util-linux)")
    env = {**world.postgres.env(database="big"), **CAPPED_ENV}
    to_file = subprocess.run(
        [*CAPS, "pg_dump", "--format=custom", f"--file={tmp_path / 'dump'}"],
        env=env,
        capture_output=True,
        check=False,
    )
    assert to_file.returncode == -signal.SIGXFSZ  # killed for writing a file over the cap
    in_memory = subprocess.run(
        [*CAPS, "bash", "-c", 'dump="$(pg_dump --format=custom)"'],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert in_memory.returncode != 0
    assert "cannot allocate" in in_memory.stderr


def test_pg_dump_killed_mid_stream_leaves_no_backup(world: World, tmp_path: Path) -> None:
    copy = own_prefix(world, "killed", tmp_path)
    process = start_script(
        world.scripts / "backup.sh",
        copy.backup_env(PGDATABASE="big"),
        tmp_path / "backup.log",
    )
    try:
        wait_for_uploaded_parts(world.s3, copy.prefix)
        world.postgres.psql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'pg_dump' AND datname = 'big'"
        )
        process.wait(timeout=300)
    finally:
        process.kill()
    run = ScriptRun(process.returncode, (tmp_path / "backup.log").read_text())
    assert_failed(run, "pg_dump of big failed")
    assert "stopped the upload of postgresql.dump before it completed" in run.log
    assert copy.latest == world.good_stamp
    assert copy.stored_keys() == [f"{copy.prefix}latest"]
    # The CLI aborted its multipart upload: no parts are left to pay for either.
    assert (
        world.s3.client.list_multipart_uploads(Bucket=BUCKET, Prefix=copy.prefix).get("Uploads", [])
        == []
    )


def test_s3_resetting_the_upload_mid_stream_leaves_no_backup(world: World, tmp_path: Path) -> None:
    """The CLI reads its input to the end after a part failed, so the dump runs on; the upload
    still fails, and nothing is completed."""
    copy = own_prefix(world, "reset", tmp_path)
    moto = urlsplit(world.s3.endpoint)
    assert moto.hostname is not None and moto.port is not None
    with flaky_proxy((moto.hostname, moto.port), reset_after=24 * MiB) as proxy:
        run = copy.backup(PGDATABASE="big", AWS_ENDPOINT_URL=proxy.endpoint)
    assert proxy.tripped.is_set()
    assert_failed(run, f"FAILED: upload to s3://{BUCKET}/{copy.prefix}")
    assert copy.latest == world.good_stamp
    assert copy.stored_keys() == [f"{copy.prefix}latest"]
    # Its abort could not reach S3 either: what is left is an incomplete upload, which is no
    # object, and which the bucket's clean-up rule aborts.
    bucket = BackupBucket.model_validate({"region": "us-east-1", "prefix": copy.prefix})
    rules = to_s3_api(backup_storage.lifecycle_rules(bucket))
    [clean_up] = [rule for rule in rules if "AbortIncompleteMultipartUpload" in rule]
    uploads = world.s3.client.list_multipart_uploads(Bucket=BUCKET, Prefix=copy.prefix).get(
        "Uploads", []
    )
    assert uploads, "the reset upload is left incomplete (its abort cannot reach S3 either)"
    for upload in uploads:
        incomplete = StoredObject(key=upload["Key"], size=0, tags={}, created=upload["Initiated"])
        assert filter_matches(clean_up, incomplete)


def wait_for_uploaded_parts(s3: S3, prefix: str, timeout: float = 120) -> None:
    """Until a multipart upload under ``prefix`` has at least one part stored."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for upload in s3.client.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix).get(
            "Uploads", []
        ):
            parts = s3.client.list_parts(
                Bucket=BUCKET, Key=upload["Key"], UploadId=upload["UploadId"]
            )
            if parts.get("Parts"):
                return
        time.sleep(0.2)
    raise AssertionError(f"no part of an upload under {prefix} arrived")
