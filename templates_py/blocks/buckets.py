"""The private S3 bucket building block: versioned, encrypted, public access
blocked, owner-enforced, retained, with old versions expiring."""

from __future__ import annotations

from awacs import s3 as s3_actions
from awacs.aws import Statement
from troposphere import GetAtt, Ref, Template, s3

from .policies import bucket_objects, deny_insecure_transport, document

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
            OwnershipControls=s3.OwnershipControls(
                Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]
            ),
            LifecycleConfiguration=s3.LifecycleConfiguration(Rules=[rule]),
        )
    )


def bucket_policy(t: Template, logical_id: str, bucket: s3.Bucket, *statements: Statement) -> s3.BucketPolicy:
    """The bucket's policy: the given statements, then a refusal of any request without TLS."""
    arn = GetAtt(bucket, "Arn")
    tls_only = deny_insecure_transport([arn, bucket_objects(arn)], [s3_actions.Action("*")])
    return t.add_resource(
        s3.BucketPolicy(logical_id, Bucket=Ref(bucket), PolicyDocument=document(*statements, tls_only))
    )
