"""Stream Lines CloudFront: the static dashboard served from a private S3 bucket through CloudFront with origin access
control, HTTPS for viewers, and an optional alias with an ACM certificate, which CloudFront only accepts from
us-east-1.

Creates: the site bucket (private, encrypted, versioned, retained: it holds the
published dashboard), its policy admitting only this distribution, the origin
access control, the distribution (default root object, single-page-app error
pages, TLS 1.2+ with an alias), and a Route 53 alias when a hosted zone is given.

Imports: nothing. Exports: the bucket name (to publish the dashboard into), the
distribution ID (to invalidate after publishing) and the site URL.
"""

from __future__ import annotations

from typing import NamedTuple

from awacs import s3 as s3_actions
from awacs.aws import Allow, Condition, Principal, Statement, StringEquals
from troposphere import And, Equals, GetAtt, If, Not, Parameter, Ref, Sub, Template, cloudfront, route53, s3

from ..blocks.buckets import bucket_policy, private_bucket
from ..blocks.parameters import add_parameter, export_output, new_template, not_empty, require, skip_checkov
from ..blocks.policies import bucket_objects
from ..blocks.tags import tag_everything
from ..config import BuildConfig

PROFILE = "cloudfront"
# CloudFront's fixed hosted zone for alias records, and AWS's managed CachingOptimized policy.
CLOUDFRONT_HOSTED_ZONE = "Z2FDTNDATAQYW2"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
US_EAST_1_CERTIFICATE = r"^$|^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate/[0-9a-f-]{36}$"


class CloudFrontParameters(NamedTuple):
    """The stack's interface: what an operator sets."""

    alias: Parameter
    certificate: Parameter
    zone: Parameter
    price_class: Parameter


def build(config: BuildConfig) -> Template:
    t = new_template(__doc__)
    parameters = _parameters(t, config)
    bucket = _site_bucket(t)
    distribution = _distribution(t, parameters, bucket)
    _admit_only_the_distribution(t, bucket)
    _alias_records(t, parameters, distribution)
    export_output(t, "SiteBucketName", Ref(bucket), "Bucket to publish the dashboard's static files into.")
    export_output(
        t, "DistributionId", Ref(distribution), "CloudFront distribution ID (for invalidations after publishing)."
    )
    export_output(
        t,
        "SiteUrl",
        If("HasAlias", Sub("https://${DomainName}"), Sub("https://${Distribution.DomainName}")),
        "URL of the dashboard.",
    )
    tag_everything(t, config.project, PROFILE)
    return t


def _parameters(t: Template, config: BuildConfig) -> CloudFrontParameters:
    """The parameters, the alias conditions, and the Rule that an alias needs a certificate."""
    alias = add_parameter(
        t,
        "DomainName",
        description="Alias for the distribution, such as dashboard.example.com; empty uses the cloudfront.net name.",
        Default="",
        AllowedPattern=r"^$|^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
        ConstraintDescription="empty, or a lowercase DNS name.",
    )
    certificate = add_parameter(
        t,
        "CertificateArn",
        description="ACM certificate for DomainName. CloudFront only uses certificates from us-east-1, whatever "
        "this stack's region.",
        Default=config.cloudfront_certificate_arn,
        AllowedPattern=US_EAST_1_CERTIFICATE,
        ConstraintDescription="the certificate must be an ACM certificate in us-east-1 (CloudFront accepts no other "
        "region).",
    )
    zone = add_parameter(
        t,
        "HostedZoneId",
        description="Route 53 hosted zone for an alias record of DomainName; empty for none.",
        Default="",
        AllowedPattern=r"^$|^Z[A-Z0-9]{1,31}$",
        ConstraintDescription="empty, or a hosted zone ID.",
    )
    price_class = add_parameter(
        t,
        "PriceClass",
        description="CloudFront price class (edge locations used, and their prices).",
        Default="PriceClass_100",
        AllowedValues=["PriceClass_100", "PriceClass_200", "PriceClass_All"],
    )
    t.add_condition("HasAlias", And(Not(Equals(Ref(alias), "")), Not(Equals(Ref(certificate), ""))))
    t.add_condition(
        "HasAliasRecord",
        And(Not(Equals(Ref(alias), "")), Not(Equals(Ref(certificate), "")), Not(Equals(Ref(zone), ""))),
    )
    require(
        t,
        "AliasNeedsCertificate",
        not_empty(alias),
        [(certificate, "DomainName needs CertificateArn, an ACM certificate in us-east-1 that covers it.")],
    )
    return CloudFrontParameters(alias, certificate, zone, price_class)


def _site_bucket(t: Template) -> s3.Bucket:
    """Private, encrypted, versioned and retained: it holds the published dashboard."""
    bucket = private_bucket(
        t,
        "SiteBucket",
        s3.LifecycleRule(
            Id="ExpireOldSiteVersions",
            Status="Enabled",
            NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays=30),
        ),
    )
    skip_checkov(
        bucket,
        CKV_AWS_18="Viewers reach the site through CloudFront only; S3 access logs would record CloudFront alone.",
    )
    return bucket


def _distribution(t: Template, p: CloudFrontParameters, bucket: s3.Bucket) -> cloudfront.Distribution:
    """The distribution reading the bucket through origin access control, HTTPS to viewers."""
    access_control = t.add_resource(
        cloudfront.OriginAccessControl(
            "OriginAccessControl",
            OriginAccessControlConfig=cloudfront.OriginAccessControlConfig(
                Name=Sub("${AWS::StackName}-site"),
                OriginAccessControlOriginType="s3",
                SigningBehavior="always",
                SigningProtocol="sigv4",
            ),
        )
    )
    spa_errors = [
        cloudfront.CustomErrorResponse(
            ErrorCode=code, ResponseCode=200, ResponsePagePath="/index.html", ErrorCachingMinTTL=10
        )
        for code in (403, 404)
    ]
    distribution = t.add_resource(
        cloudfront.Distribution(
            "Distribution",
            DistributionConfig=cloudfront.DistributionConfig(
                Enabled=True,
                Comment=Sub("${AWS::StackName}: Stream Lines dashboard"),
                DefaultRootObject="index.html",
                HttpVersion="http2and3",
                IPV6Enabled=True,
                PriceClass=Ref(p.price_class),
                Aliases=If("HasAlias", [Ref(p.alias)], Ref("AWS::NoValue")),
                Origins=[
                    cloudfront.Origin(
                        Id="site",
                        DomainName=GetAtt(bucket, "RegionalDomainName"),
                        OriginAccessControlId=GetAtt(access_control, "Id"),
                        S3OriginConfig=cloudfront.S3OriginConfig(OriginAccessIdentity=""),
                    )
                ],
                DefaultCacheBehavior=cloudfront.DefaultCacheBehavior(
                    TargetOriginId="site",
                    ViewerProtocolPolicy="redirect-to-https",
                    CachePolicyId=CACHING_OPTIMIZED,
                    Compress=True,
                    AllowedMethods=["GET", "HEAD"],
                ),
                CustomErrorResponses=spa_errors,
                ViewerCertificate=If(
                    "HasAlias",
                    cloudfront.ViewerCertificate(
                        AcmCertificateArn=Ref(p.certificate),
                        SslSupportMethod="sni-only",
                        MinimumProtocolVersion="TLSv1.2_2021",
                    ),
                    cloudfront.ViewerCertificate(CloudFrontDefaultCertificate=True),
                ),
            ),
        )
    )
    skip_checkov(
        distribution,
        CKV_AWS_68="A static dashboard with no forms or API behind this distribution; WAF costs more than the site.",
        CKV_AWS_86="Access logs need a log bucket with ACLs; CloudFront's standard metrics are on.",
        CKV_AWS_174="With an alias the minimum is TLSv1.2_2021; the default cloudfront.net certificate does not "
        "allow setting it.",
        CKV_AWS_310="One origin, the site bucket; there is nothing to fail over to.",
        CKV_AWS_374="The dashboard is public; geo restriction is not wanted.",
    )
    return distribution


def _admit_only_the_distribution(t: Template, bucket: s3.Bucket) -> None:
    bucket_policy(
        t,
        "SiteBucketPolicy",
        bucket,
        Statement(
            Effect=Allow,
            Principal=Principal("Service", ["cloudfront.amazonaws.com"]),
            Action=[s3_actions.GetObject],
            Resource=[bucket_objects(GetAtt(bucket, "Arn"))],
            Condition=Condition(
                StringEquals(
                    {
                        "AWS:SourceArn": Sub(
                            "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Distribution}"
                        )
                    }
                )
            ),
        ),
    )


def _alias_records(t: Template, p: CloudFrontParameters, distribution: cloudfront.Distribution) -> None:
    # The distribution serves IPv6 too (IPV6Enabled): an A and an AAAA alias, so
    # IPv6 clients reach it by name. The A record keeps its logical ID.
    for logical_id, record_type in (("AliasRecord", "A"), ("AliasRecordIpv6", "AAAA")):
        t.add_resource(
            route53.RecordSetType(
                logical_id,
                Condition="HasAliasRecord",
                HostedZoneId=Ref(p.zone),
                Name=Ref(p.alias),
                Type=record_type,
                AliasTarget=route53.AliasTarget(
                    DNSName=GetAtt(distribution, "DomainName"),
                    HostedZoneId=CLOUDFRONT_HOSTED_ZONE,
                    EvaluateTargetHealth=False,
                ),
            )
        )
