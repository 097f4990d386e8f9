"""Retention never deletes the newest successful backup.

backup.sh tags a new backup's dump `prodstack-backup=current` before `latest` names it, and
every object of the backups it supersedes `superseded` after; the bucket's lifecycle rules
(specs/backup_storage.lifecycle_rules) expire only superseded objects. These tests run the real
script against moto's S3 server, store the real rules in the bucket and read them back, and
evaluate them as S3 would (tests/support/s3_lifecycle.py): moto keeps lifecycle
configurations but never runs them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from prodstack.config.db_backup import BackupBucket
from prodstack.specs import backup_storage
from tests.support.backup_env import S3
from tests.support.backup_world import (
    BUCKET,
    Copy,
    World,
    assert_failed,
    short_read_shim,
    wait_for_a_new_stamp,
)
from tests.support.s3_lifecycle import StoredObject, expired_by, refusals, to_s3_api

TAG = "prodstack-backup"
RETENTION_DAYS = 30
CURRENT = {TAG: "current"}
SUPERSEDED = {TAG: "superseded"}


def stored_rules(s3: S3, prefix: str) -> list[dict[str, Any]]:
    """The component's rules for this prefix, put into the bucket and read back from S3."""
    bucket = BackupBucket.model_validate(
        {"region": "us-east-1", "prefix": prefix, "retentionDays": RETENTION_DAYS}
    )
    rules = to_s3_api(backup_storage.lifecycle_rules(bucket))
    s3.client.put_bucket_lifecycle_configuration(
        Bucket=BUCKET, LifecycleConfiguration={"Rules": rules}
    )
    stored = s3.client.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    return [dict(rule) for rule in stored]


def objects(copy: Copy) -> list[StoredObject]:
    s3 = copy.world.s3
    listed = s3.client.list_objects_v2(Bucket=BUCKET, Prefix=copy.prefix)["Contents"]
    return [
        StoredObject(
            key=item["Key"],
            size=item["Size"],
            tags=s3.tags(BUCKET, item["Key"]),
            created=item["LastModified"],
        )
        for item in listed
    ]


def tags_by_key(copy: Copy) -> dict[str, dict[str, str]]:
    return {obj.key: dict(obj.tags) for obj in objects(copy)}


def folder(copy: Copy, stamp: str) -> set[str]:
    return {key for key in copy.stored_keys() if key.startswith(f"{copy.prefix}{stamp}/")}


def expired_after(copy: Copy, days: int) -> set[str]:
    rules = stored_rules(copy.world.s3, copy.prefix)
    now = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
    return expired_by(rules, objects(copy), now)


def test_the_stored_rules_are_ones_s3_accepts_and_select_by_tag(s3: S3, world: World) -> None:
    rules = stored_rules(s3, "database/")
    assert refusals(rules) == []
    [expiry] = [rule for rule in rules if "Days" in rule.get("Expiration", {})]
    assert expiry["Filter"] == {
        "And": {"Prefix": "database/", "Tags": [{"Key": TAG, "Value": "superseded"}]}
    }


def test_a_new_backup_supersedes_the_old_one_and_only_that_expires(copy: Copy) -> None:
    good = copy.world.good_stamp
    assert copy.world.s3.tags(BUCKET, copy.object_key("postgresql.dump")) == CURRENT
    assert expired_after(copy, 10 * 365) == set()  # however long backups stop
    wait_for_a_new_stamp(good)
    run = copy.backup()
    assert run.returncode == 0, run.log
    new = copy.latest
    tags = tags_by_key(copy)
    assert all(tags[key] == SUPERSEDED for key in folder(copy, good))
    assert tags[copy.object_key("postgresql.dump", new)] == CURRENT
    assert f"backup {good} is superseded" in run.log
    # Before the retention period nothing expires; after it, exactly the superseded backup.
    assert expired_after(copy, RETENTION_DAYS - 1) == set()
    assert expired_after(copy, RETENTION_DAYS + 1) == folder(copy, good)
    assert expired_after(copy, 10 * 365) == folder(copy, good)
    # The survivor restores.
    check = copy.restore_check()
    assert check.returncode == 0, check.log


def test_a_failed_backup_retags_nothing_and_the_next_one_sweeps_up(
    copy: Copy, tmp_path: Path
) -> None:
    good = copy.world.good_stamp
    wait_for_a_new_stamp(good)
    before = tags_by_key(copy)
    # The read-back differs from the upload: the dump stays, unverified, without a manifest.
    shims = short_read_shim(tmp_path / "shims")
    failed = copy.backup(shims=shims)
    assert_failed(failed, "were uploaded")
    after = tags_by_key(copy)
    [orphan] = set(after) - set(before)
    assert {key: after[key] for key in before} == before  # nothing retagged
    assert after[orphan] == {}
    assert expired_after(copy, 10 * 365) == set()
    # The next good backup supersedes both the old backup and the failed run's leftover.
    wait_for_a_new_stamp(good, orphan.split("/")[-2])
    run = copy.backup()
    assert run.returncode == 0, run.log
    expired = expired_after(copy, RETENTION_DAYS + 1)
    assert expired == folder(copy, good) | {orphan}
    assert copy.object_key("postgresql.dump", copy.latest) not in expired


def test_the_walk_adopts_untagged_backups_and_stops_at_a_superseded_one(copy: Copy) -> None:
    """Backups from before tagging (or a run that died half-way) are untagged: the next backup
    supersedes them, walking back from the newest until a folder already superseded."""
    s3 = copy.world.s3
    good = copy.world.good_stamp

    def older_folder(stamp: str, tags: dict[str, str]) -> set[str]:
        for key in folder(copy, good):
            target = key.replace(f"/{good}/", f"/{stamp}/")
            s3.client.copy_object(
                Bucket=BUCKET,
                Key=target,
                CopySource={"Bucket": BUCKET, "Key": key},
                TaggingDirective="REPLACE",
                Tagging="&".join(f"{k}={v}" for k, v in tags.items()),
            )
        return folder(copy, stamp)

    untouched = older_folder("20200101T000000Z", {})  # older than the stop: never looked at
    stop = older_folder("20210101T000000Z", SUPERSEDED)
    legacy = older_folder("20220101T000000Z", {})
    for key in folder(copy, good):
        s3.client.delete_object_tagging(Bucket=BUCKET, Key=key)
    wait_for_a_new_stamp(good)
    run = copy.backup()
    assert run.returncode == 0, run.log
    tags = tags_by_key(copy)
    assert all(tags[key] == SUPERSEDED for key in legacy | folder(copy, good) | stop)
    assert all(tags[key] == {} for key in untouched)
    assert "backup 20220101T000000Z is superseded" in run.log
    assert "20200101T000000Z" not in run.log


def test_a_latest_backup_tagged_superseded_fails_the_restore_check(copy: Copy) -> None:
    copy.world.s3.set_tags(BUCKET, copy.object_key("postgresql.dump"), SUPERSEDED)
    run = copy.restore_check()
    assert_failed(run, "is tagged prodstack-backup=superseded: the lifecycle rule will expire it")
