"""Policy: S3 buckets are encrypted, versioned and closed to the public."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from prodstack.policies.model import PolicyContext, StackPolicy, Subject

BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
VERSIONING = (
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketVersioningV2:BucketVersioningV2",
)
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BLOCK_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def _attached(
    bucket: Subject, subjects: Sequence[Subject], types: tuple[str, ...]
) -> list[Subject]:
    """Bucket settings resources whose inputs come from this bucket (they depend on it)."""
    return [s for s in subjects if s.type in types and bucket.urn in s.dependencies]


def _versioning_enabled(props: dict[str, Any]) -> bool:
    configuration = props.get("versioningConfiguration") or {}
    return configuration.get("status") == "Enabled"


def buckets_protected(
    subjects: Sequence[Subject], context: PolicyContext
) -> Iterator[tuple[Subject | None, str]]:
    for bucket in subjects:
        if bucket.type not in BUCKETS:
            continue
        props = dict(bucket.props)
        if props.get("acl") in ("public-read", "public-read-write", "authenticated-read"):
            yield (
                bucket,
                f"has the public ACL {props['acl']!r}: remove it (ownership BucketOwnerEnforced)",
            )
        if not (
            _attached(bucket, subjects, ENCRYPTION)
            or props.get("serverSideEncryptionConfiguration")
        ):
            yield (
                bucket,
                "is not encrypted: add a BucketServerSideEncryptionConfiguration "
                "(SSE-KMS or AES256)",
            )
        versioning = _attached(bucket, subjects, VERSIONING)
        if not any(_versioning_enabled(dict(v.props)) for v in versioning):
            yield bucket, "is not versioned: add a BucketVersioning with status Enabled"
        blocks = _attached(bucket, subjects, (PUBLIC_ACCESS_BLOCK,))
        if not any(all(b.props.get(flag) is True for flag in BLOCK_FLAGS) for b in blocks):
            yield (
                bucket,
                (
                    "is not closed to the public: add a BucketPublicAccessBlock with "
                    + ", ".join(BLOCK_FLAGS)
                    + " all true"
                ),
            )


POLICIES = (
    StackPolicy(
        "s3-buckets-protected",
        "S3 buckets are encrypted, versioned, and have every public access block set.",
        buckets_protected,
    ),
)
