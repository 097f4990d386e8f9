"""The AWS side of database backups: bucket rules and IAM policy documents.

Pure functions over the configuration. Bucket settings are returned in pulumi-aws argument
shape (snake_case); policies are IAM JSON documents (dicts), ready for ``json.dumps``.
"""

from __future__ import annotations

from typing import Any

from prodstack.config.db_backup import BackupBucket

IAM_VERSION = "2012-10-17"
STS_AUDIENCE = "sts.amazonaws.com"
OBJECT_OWNERSHIP = "BucketOwnerEnforced"
# The backup scripts tag every object of a backup (prodstack/scripts/common.sh): `current`
# while it may be the latest, `superseded` once a newer backup is the latest.
BACKUP_TAG_KEY = "prodstack-backup"
BACKUP_TAG_CURRENT = "current"
BACKUP_TAG_SUPERSEDED = "superseded"
EXPIRY_RULE_ID = "expire-superseded-backups"
CLEAN_UP_RULE_ID = "clean-up-backup-prefix"

Document = dict[str, Any]


def public_access_block() -> dict[str, bool]:
    """All four switches on: no ACL or policy can make the bucket or an object public."""
    return {
        "block_public_acls": True,
        "block_public_policy": True,
        "ignore_public_acls": True,
        "restrict_public_buckets": True,
    }


def encryption_rule(bucket: BackupBucket) -> Document:
    """SSE-KMS with the configured key (S3 bucket keys cut KMS calls), else SSE-S3 (AES256)."""
    if bucket.kms_key_arn is None:
        return {"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}
    return {
        "apply_server_side_encryption_by_default": {
            "sse_algorithm": "aws:kms",
            "kms_master_key_id": bucket.kms_key_arn,
        },
        "bucket_key_enabled": True,
    }


def lifecycle_rules(bucket: BackupBucket) -> list[Document]:
    """Two rules on the backup prefix (pulumi-aws v7 ``BucketLifecycleConfiguration`` shape).

    Expiry selects only objects tagged superseded: the newest successful backup is never
    superseded, so it survives however long backups stop. The clean-up rule takes what needs
    no tag: noncurrent versions (an overwritten ``latest``, an expired backup) some days later,
    multipart uploads a killed job left, and the delete markers expiry leaves. S3 refuses tag
    filters on the last two actions, hence the second rule.
    """
    return [
        {
            "id": EXPIRY_RULE_ID,
            "status": "Enabled",
            "filter": {
                "and_": {
                    "prefix": bucket.prefix,
                    "tags": {BACKUP_TAG_KEY: BACKUP_TAG_SUPERSEDED},
                }
            },
            "expiration": {"days": bucket.retention_days},
        },
        {
            "id": CLEAN_UP_RULE_ID,
            "status": "Enabled",
            "filter": {"prefix": bucket.prefix},
            "expiration": {"expired_object_delete_marker": True},
            "noncurrent_version_expiration": {"noncurrent_days": bucket.noncurrent_version_days},
            "abort_incomplete_multipart_upload": {
                "days_after_initiation": bucket.abort_incomplete_upload_days
            },
        },
    ]


def tls_only_bucket_policy(bucket_arn: str) -> Document:
    """Deny every request that does not use TLS 1.2 or newer, whoever makes it."""
    resources = [bucket_arn, f"{bucket_arn}/*"]
    return {
        "Version": IAM_VERSION,
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": resources,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Sid": "DenyOutdatedTls",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": resources,
                "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}},
            },
        ],
    }


def irsa_trust_policy(
    oidc_provider_arn: str, oidc_issuer: str, namespace: str, service_account: str
) -> Document:
    """Only pods running as ``namespace/service_account`` of this cluster may assume the role,
    and only with a token minted for STS."""
    subject = f"system:serviceaccount:{namespace}:{service_account}"
    return {
        "Version": IAM_VERSION,
        "Statement": [
            {
                "Sid": "ServiceAccountWebIdentity",
                "Effect": "Allow",
                "Principal": {"Federated": oidc_provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{oidc_issuer}:sub": subject,
                        f"{oidc_issuer}:aud": STS_AUDIENCE,
                    }
                },
            }
        ],
    }


def backup_access_policy(bucket_arn: str, bucket: BackupBucket, *, write: bool) -> Document:
    """Least privilege on the backup prefix: list it, read it and its tags, and (for the backup
    job) write it and tag it. Nothing may delete: expiry is the lifecycle rule's job, so a
    stolen job credential cannot erase the backups. (It could tag the newest backup superseded;
    the restore check fails when the latest backup carries that tag.)"""
    prefix = bucket.prefix
    object_actions = ["s3:GetObject", "s3:GetObjectTagging"]
    if write:
        object_actions += ["s3:PutObject", "s3:PutObjectTagging", "s3:AbortMultipartUpload"]
    statements: list[Document] = [
        {
            "Sid": "ListBackupPrefix",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}},
        },
        {
            "Sid": "WriteBackups" if write else "ReadBackups",
            "Effect": "Allow",
            "Action": object_actions,
            "Resource": f"{bucket_arn}/{prefix}*",
        },
    ]
    if bucket.kms_key_arn is not None:
        statements.append(
            {
                "Sid": "UseBackupKeyThroughS3",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"] if write else ["kms:Decrypt"],
                "Resource": bucket.kms_key_arn,
                "Condition": {
                    "StringEquals": {"kms:ViaService": f"s3.{bucket.region}.amazonaws.com"}
                },
            }
        )
    return {"Version": IAM_VERSION, "Statement": statements}
