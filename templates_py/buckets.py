"""The private S3 bucket building block: versioned, encrypted, public access
blocked, owner-enforced, retained, with old versions expiring."""

from __future__ import annotations

from troposphere import Template
from troposphere import s3

RETAIN = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}


def private_bucket(t: Template, logical_id: str, rule: s3.LifecycleRule) -> s3.Bucket:
    return t.add_resource(
        s3.Bucket(
            logical_id,
            **RETAIN,
            VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
            BucketEncryption=s3.BucketEncryption(
                ServerSideEncryptionConfiguration=[
                    s3.ServerSideEncryptionRule(
                        ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(SSEAlgorithm="AES256"),
                        BucketKeyEnabled=True,
                    )
                ]
            ),
            PublicAccessBlockConfiguration=s3.PublicAccessBlockConfiguration(
                BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True
            ),
            OwnershipControls=s3.OwnershipControls(Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
            LifecycleConfiguration=s3.LifecycleConfiguration(Rules=[rule]),
        )
    )
