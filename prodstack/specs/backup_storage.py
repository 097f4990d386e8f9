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
LIFECYCLE_RULE_ID = "expire-backups"

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
    """The bucket's only lifecycle rule, on the backup prefix: backups expire after the
    retention period, overwritten or expired versions some days later, and abandoned
    multipart uploads (a backup that died mid-upload) are cleaned up."""
    return [
        {
            "id": LIFECYCLE_RULE_ID,
            "status": "Enabled",
            "filter": {"prefix": bucket.prefix},
            "expiration": {"days": bucket.retention_days},
            "noncurrent_version_expiration": {"noncurrent_days": bucket.noncurrent_version_days},
            "abort_incomplete_multipart_upload": {
                "days_after_initiation": bucket.abort_incomplete_upload_days
            },
        }
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
    """Least privilege on the backup prefix: list it, read it, and (for the backup job) write
    it. Nothing may delete: expiry is the lifecycle rule's job, so a stolen job credential
    cannot erase the backups."""
    prefix = bucket.prefix
    object_actions = ["s3:GetObject"]
    if write:
        object_actions += ["s3:PutObject", "s3:AbortMultipartUpload"]
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
