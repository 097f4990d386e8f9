"""S3 lifecycle rules as S3 stores and applies them: the API shape the AWS provider sends, the
combinations S3 refuses, and which current objects a configuration expires at a given time.

moto stores lifecycle configurations but does not run them, so the tests evaluate the stored
configuration here. The semantics follow the S3 user guide ("Lifecycle configuration
elements", "Setting lifecycle configuration on a bucket"): a rule applies to an object when it
is enabled and its filter matches; ``Prefix`` matches the key's start, every ``Tag`` of the
filter must be in the object's tag set with the same value, size bounds are exclusive, ``And``
requires all of its predicates. ``Expiration.Days`` counts from the object's creation, rounded
up to the next midnight UTC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Rule = dict[str, Any]

# What PutBucketLifecycleConfiguration answers with InvalidRequest (S3's own error texts).
_NO_TAGS_WITH = {
    action: f"{action} cannot be specified with Tags."
    for action in ("AbortIncompleteMultipartUpload", "ExpiredObjectDeleteMarker")
}


def _pascal(name: str) -> str:
    if name == "id":
        return "ID"
    return "".join(part.capitalize() for part in name.rstrip("_").split("_"))


def to_s3_api(value: Any, key: str = "") -> Any:
    """pulumi-aws arguments (snake_case, tags as a map) to the S3 API's shape, as the AWS
    provider expands them (terraform-provider-aws internal/service/s3/
    bucket_lifecycle_configuration.go: the `and` block's tags map becomes a Tags list)."""
    if key == "tags":
        return [{"Key": k, "Value": v} for k, v in value.items()]
    if isinstance(value, dict):
        return {_pascal(k): to_s3_api(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [to_s3_api(item) for item in value]
    return value


def _filter_tags(rule: Rule) -> list[dict[str, str]]:
    found = rule.get("Filter", {})
    tags = list(found.get("And", {}).get("Tags", []))
    if "Tag" in found:
        tags.append(found["Tag"])
    return tags


def refusals(rules: Iterable[Rule]) -> list[str]:
    """Why S3 would refuse these rules (empty when it accepts them)."""
    problems = []
    for rule in rules:
        if not _filter_tags(rule):
            continue
        if "AbortIncompleteMultipartUpload" in rule:
            problems.append(_NO_TAGS_WITH["AbortIncompleteMultipartUpload"])
        if "ExpiredObjectDeleteMarker" in rule.get("Expiration", {}):
            problems.append(_NO_TAGS_WITH["ExpiredObjectDeleteMarker"])
    return problems


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    tags: Mapping[str, str]
    created: dt.datetime


def filter_matches(rule: Rule, obj: StoredObject) -> bool:
    found = rule.get("Filter")
    if found is None:  # the legacy rule-level Prefix
        return obj.key.startswith(rule.get("Prefix", ""))
    predicates = found.get("And", found)
    if not obj.key.startswith(predicates.get("Prefix", "")):
        return False
    if any(obj.tags.get(tag["Key"]) != tag["Value"] for tag in _filter_tags(rule)):
        return False
    if "ObjectSizeGreaterThan" in predicates and obj.size <= predicates["ObjectSizeGreaterThan"]:
        return False
    return not ("ObjectSizeLessThan" in predicates and obj.size >= predicates["ObjectSizeLessThan"])


def expiry_time(rule: Rule, obj: StoredObject) -> dt.datetime | None:
    """When the rule expires the object's current version, or None if it never does."""
    if rule.get("Status") != "Enabled" or not filter_matches(rule, obj):
        return None
    days = rule.get("Expiration", {}).get("Days")
    if days is None:
        return None
    due = obj.created + dt.timedelta(days=days)
    midnight = due.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight if midnight == due else midnight + dt.timedelta(days=1)


def expired_by(
    rules: Iterable[Rule], objects: Iterable[StoredObject], now: dt.datetime
) -> set[str]:
    """The keys whose current version some rule has expired by ``now``."""
    rules = list(rules)
    return {
        obj.key
        for obj in objects
        if any((when := expiry_time(rule, obj)) is not None and when <= now for rule in rules)
    }
