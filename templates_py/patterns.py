"""Validation patterns said once: the build configuration (templates_py/config.py)
checks its values with them, and the templates' parameters carry them as
AllowedPattern, so a value the configuration accepts is one the template accepts.

CloudFormation patterns are Java regular expressions (lookahead included) and must
match the whole value; Python's `re.fullmatch` reads these the same way.
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cfn-regexes.html
"""

from __future__ import annotations

# InfluxDB organization and bucket names, and the project name.
NAME = r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$"
# Image parameters refuse private ECR registries (<account>.dkr.ecr.<region>...,
# its FIPS and dual-stack names): an execution role may pull only from the
# foundations repositories, so another repository or a pull-through cache would
# fail at the first task with CannotPullContainerError. The foundations mirror
# (make mirror-images) is how an image gets into ECR here.
NOT_PRIVATE_ECR = r"(?![^/]*\.dkr[.-]ecr)"
NOT_PRIVATE_ECR_TEXT = "not in a private ECR registry (make mirror-images fills the foundations one)"
IMAGE = r"^" + NOT_PRIVATE_ECR + r"[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9._-]{1,128})$"
CERTIFICATE_ARN = r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$"
HOSTED_ZONE = r"^Z[A-Z0-9]{1,31}$"
DOMAIN = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
STACK_NAME = r"^[A-Za-z][A-Za-z0-9-]{0,127}$"


def or_empty(pattern: str) -> str:
    """The pattern, or nothing at all (an optional parameter)."""
    return r"^$|" + pattern
