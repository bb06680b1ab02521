"""`streamlines preflight`: check, before a deploy, what commonly makes one fail late.

One line per check, PASS, WARN or FAIL with its reason; exit code 1 when any
fails (a warning does not). Read-only: it only describes and lists.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from templates_py import exports, model
from templates_py.evaluate import imported_exports, parameter_values
from templates_py.model import FOUNDATIONS_PARAMETER, LITE_PARAMETER

from . import images
from .aws import Stack, read_stack
from .checks import Check
from .packaging import built_zip, code_key_parameters, content_key

CERTIFICATE = re.compile(r"^arn:aws[a-z-]*:acm:([a-z0-9-]+):(\d{12}):certificate/[0-9a-f-]+$")
# RFC 5737: ranges reserved for documentation, which no real client has.
DOCUMENTATION_RANGES = tuple(
    ipaddress.IPv4Network(cidr) for cidr in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
)
# The names a certificate must cover, per profile, and the zone parameter for them.
DOMAIN_PARAMETERS = {
    "lite": (("GrafanaDomainName",), "GrafanaHostedZoneId"),
    "full": (("BackendDomainName", "DashboardDomainName", "WebSocketDomainName"), "HostedZoneId"),
    "cloudfront": (("DomainName",), "HostedZoneId"),
}
APP_IMAGES = {
    "IngestImageTag": "ingest",
    "RipplesImageTag": "ripples",
    "BackendImageTag": "backend",
    "DashboardImageTag": "dashboard",
}


def covers(pattern: str, name: str) -> bool:
    """Whether a certificate name covers `name`; a wildcard covers one label only."""
    pattern, name = pattern.lower().rstrip("."), name.lower().rstrip(".")
    if pattern.startswith("*."):
        head, _, rest = name.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == name


def in_zone(name: str, zone: str) -> bool:
    """Whether `name` belongs in the hosted zone `zone` (a suffix is not enough: badexample.com is not
    in example.com)."""
    name, zone = name.lower().rstrip("."), zone.lower().rstrip(".")
    return name == zone or name.endswith("." + zone)


@dataclass
class Preflight:
    session: Any
    profile: str
    stack: str
    foundations: str
    template: dict
    values: dict[str, str]
    # Deployed as the SAM application (streamlines sam): `sam deploy` uploads the code.
    sam: bool = False
    clients: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)

    @property
    def parameters(self) -> dict:
        return self.template.get("Parameters", {})

    @property
    def region(self) -> str:
        return self.session.region_name

    def client(self, service: str, region: str | None = None) -> Any:
        """One client per service and region for the whole preflight."""
        key = (service, region or self.region)
        if key not in self.clients:
            self.clients[key] = self.session.client(service, region_name=key[1])
        return self.clients[key]

    # --- helpers --------------------------------------------------------------------
    def exports(self) -> dict[str, str]:
        found = {}
        for page in self.client("cloudformation").get_paginator("list_exports").paginate():
            for export in page["Exports"]:
                found[export["Name"]] = export["Value"]
        return found

    def foundation_export(self, name: str) -> str | None:
        return self.exports().get(f"{self.foundations}-{name}")

    def read(self, name: str) -> Stack | None:
        return read_stack(self.client("cloudformation"), name)

    def imported_names(self) -> list[str]:
        return sorted(imported_exports(self.template, FOUNDATIONS_PARAMETER))

    # --- checks ---------------------------------------------------------------------
    def checks(self) -> Iterator[Check]:
        if self.imported_names():
            foundations = yield from self.check_foundations()
            if not foundations:
                return
        yield from self.check_lite_stack()
        yield from self.check_allowed_cidr()
        yield from self.check_mount_targets()
        yield from self.check_existing_stack()
        yield from self.check_certificates()
        yield from self.check_hosted_zone()
        yield from self.check_access_logs()
        yield from self.check_images()
        yield from self.check_sam_bucket() if self.sam else self.check_lambda_code()
        yield from self.check_secrets()

    def check_lite_stack(self) -> Iterator[Check]:
        """The pipeline add-on runs in a deployed lite stack and imports its exports."""
        if LITE_PARAMETER not in self.parameters:
            return
        lite = self.values[LITE_PARAMETER]
        found = self.read(lite)
        if found is None:
            yield Check(
                "lite stack",
                False,
                f"{lite} does not exist in {self.region}; the pipeline add-on runs in a deployed lite stack (deploy "
                "it first, or set LiteStackName).",
            )
            return
        names = sorted(imported_exports(self.template, LITE_PARAMETER))
        missing = [name for name in names if name not in found.outputs]
        if missing or found.outputs.get("StackProfile") != "lite":
            yield Check(
                "lite stack",
                False,
                f"{lite} is not a current lite stack (missing {', '.join(missing) or 'StackProfile lite'}); update "
                "it with the current build/lite.json first.",
            )
            return
        yield Check("lite stack", True, f"{lite} exports all {len(names)} values the pipeline imports")

    def check_allowed_cidr(self) -> Iterator[Check]:
        if "AllowedCidr" not in self.parameters:
            return
        cidr = self.values["AllowedCidr"]
        if not cidr:
            if self.values.get("GrafanaExposure") == "public":
                yield Check(
                    "allowed CIDR",
                    False,
                    "AllowedCidr is empty but GrafanaExposure is public; set it to the address Grafana is used "
                    "from (such as your office's /32), or GrafanaExposure=none.",
                )
            return
        try:
            network = ipaddress.IPv4Network(cidr, strict=False)
        except ValueError:
            yield Check("allowed CIDR", False, f"AllowedCidr {cidr!r} is not an IPv4 CIDR block.")
            return
        reserved = [str(r) for r in DOCUMENTATION_RANGES if network.subnet_of(r)]
        if reserved:
            yield Check(
                "allowed CIDR",
                False,
                f"AllowedCidr {cidr} is in {reserved[0]}, a range reserved for documentation (RFC 5737) that no "
                "real client uses; set the address you will reach the ALB from.",
            )
            return
        yield Check("allowed CIDR", True, cidr)

    def check_existing_stack(self) -> Iterator[Check]:
        """An update must not rename what InfluxDB set up at first boot, nor find
        InfluxDB scaled to zero (the token issuer would poll it until it fails, and
        the rollback the same way: UPDATE_ROLLBACK_FAILED)."""
        if self.profile not in ("lite", "full"):
            return
        stack = self.read(self.stack)
        if stack is None:
            return
        current = stack.parameters
        for name in ("InfluxDbOrg", "InfluxDbBucket"):
            if name in current and current[name] != self.values.get(name):
                yield Check(
                    "InfluxDB setup",
                    False,
                    f"{name} is {current[name]!r} in {self.stack} and {self.values.get(name)!r} here; InfluxDB "
                    f"created its org and bucket at first boot and keeps them, so keep {current[name]!r}.",
                )
                return
        from botocore.exceptions import ClientError

        try:
            physical = self.client("cloudformation").describe_stack_resource(
                StackName=self.stack, LogicalResourceId=model.INFLUXDB.service_id
            )["StackResourceDetail"]["PhysicalResourceId"]
            cluster = physical.split("/")[-2]
            (service,) = self.client("ecs").describe_services(cluster=cluster, services=[physical])["services"]
        except (ClientError, ValueError, IndexError):
            return
        if service["desiredCount"] == 0:
            yield Check(
                "InfluxDB running",
                False,
                f"the InfluxDB service of {self.stack} is scaled to zero (active hours?); an update may need the "
                "token issuer to reach it. Deploy during active hours, or scale it to 1 first (aws ecs update-service "
                f"--cluster {cluster} --service {physical.split('/')[-1]} --desired-count 1).",
            )
            return
        yield Check(
            "InfluxDB setup",
            True,
            f"org and bucket unchanged; InfluxDB has {service['runningCount']} of {service['desiredCount']} tasks "
            "running",
        )

    def check_access_logs(self) -> Iterator[Check]:
        if "WebSocketAccessLogs" not in self.parameters:
            return
        role = self.client("apigateway").get_account().get("cloudwatchRoleArn")
        enabled = self.values.get("WebSocketAccessLogs") == "enabled"
        if enabled and not role:
            yield Check(
                "API Gateway log role",
                False,
                f"WebSocketAccessLogs is enabled but {self.region} has no API Gateway CloudWatch Logs role (account "
                "setting); set it once (docs/deploying.md, 'WebSocket access logs') or keep "
                "WebSocketAccessLogs=disabled.",
            )
        elif enabled:
            yield Check("API Gateway log role", True, f"{role}")
        else:
            yield Check(
                "API Gateway log role",
                True,
                "access logs off; the account's role is "
                f"{'set: WebSocketAccessLogs=enabled would work' if role else 'not set, which is fine with logs off'}",
            )

    def check_foundations(self) -> Iterator[Check]:
        stack = self.read(self.foundations)
        if stack is None:
            yield Check(
                "foundations stack",
                False,
                f"{self.foundations} does not exist in {self.region}; deploy build/foundations.json first (make deploy "
                "does).",
            )
            return False
        if not stack.usable:
            yield Check("foundations stack", False, f"{self.foundations} is {stack.status}.")
            return False
        yield Check("foundations stack", True, f"{self.foundations} is {stack.status}")
        exports = self.exports()
        missing = [name for name in self.imported_names() if f"{self.foundations}-{name}" not in exports]
        if missing:
            yield Check(
                "foundations exports",
                False,
                f"{self.foundations} does not export {', '.join(missing)}; update it with the current "
                "build/foundations.json.",
            )
            return False
        yield Check(
            "foundations exports", True, f"all {len(self.imported_names())} exports {self.profile} imports are there"
        )
        return True

    def check_mount_targets(self) -> Iterator[Check]:
        if self.profile not in ("lite", "full"):
            return
        file_system = self.foundation_export(exports.FILE_SYSTEM_ID)
        targets = self.client("efs").describe_mount_targets(FileSystemId=file_system)["MountTargets"]
        own = self.read(self.stack)
        own_vpc = own.outputs.get("VpcId") if own else None
        foreign = [t for t in targets if t.get("VpcId") != own_vpc]
        if foreign:
            where = ", ".join(sorted({f"{t['MountTargetId']} in {t.get('VpcId')}" for t in foreign}))
            yield Check(
                "EFS mount targets",
                False,
                f"file system {file_system} has mount targets in another VPC ({where}); delete that stack (or "
                "its mount targets) first: a file system has mount targets in one VPC only.",
            )
        else:
            yield Check(
                "EFS mount targets",
                True,
                f"file system {file_system} has no mount targets outside {'this stack' if own_vpc else 'any VPC'}",
            )

    def check_certificates(self) -> Iterator[Check]:
        arn = self.values.get("CertificateArn")
        if not arn:
            return
        match = CERTIFICATE.match(arn)
        wanted = "us-east-1" if self.profile == "cloudfront" else self.region
        if not match:
            yield Check("certificate", False, f"{arn} is not an ACM certificate ARN.")
            return
        region = match.group(1)
        if region != wanted:
            why = (
                "CloudFront only uses certificates from us-east-1"
                if self.profile == "cloudfront"
                else f"a {self.profile} stack in {self.region} needs a certificate from {self.region}"
            )
            yield Check("certificate", False, f"{arn} is in {region}, but {why}.")
            return
        from botocore.exceptions import ClientError

        try:
            certificate = self.client("acm", region).describe_certificate(CertificateArn=arn)["Certificate"]
        except ClientError:
            yield Check("certificate", False, f"{arn} does not exist (or is not visible to this account).")
            return
        if certificate.get("Status") != "ISSUED":
            yield Check(
                "certificate", False, f"{arn} is {certificate.get('Status')}, not ISSUED; finish its validation first."
            )
            return
        names = [certificate["DomainName"], *certificate.get("SubjectAlternativeNames", [])]
        wanted_names = [self.values[k] for k in DOMAIN_PARAMETERS[self.profile][0] if self.values.get(k)]
        uncovered = [name for name in wanted_names if not any(covers(pattern, name) for pattern in names)]
        if uncovered:
            yield Check(
                "certificate",
                False,
                f"{arn} covers {', '.join(sorted(set(names)))} but not {', '.join(uncovered)}; browsers would "
                "refuse the name.",
            )
            return
        covered = f"covers {', '.join(wanted_names)}" if wanted_names else "no domain name is set to hold it to"
        yield Check("certificate", True, f"{certificate['DomainName']} is issued in {region}; {covered}")

    def check_hosted_zone(self) -> Iterator[Check]:
        if self.profile not in DOMAIN_PARAMETERS:
            return
        parameters, zone_parameter = DOMAIN_PARAMETERS[self.profile]
        domains = [k for k in parameters if self.values.get(k)]
        zone = self.values.get(zone_parameter)
        if not domains:
            return
        if not zone:
            yield Check(
                "hosted zone",
                True,
                f"{', '.join(domains)} set without {zone_parameter}: no DNS record is made; point those names "
                "at the stack yourself.",
                warn=True,
            )
            return
        from botocore.exceptions import ClientError

        try:
            name = self.client("route53").get_hosted_zone(Id=zone)["HostedZone"]["Name"].lower().rstrip(".")
        except ClientError:
            yield Check("hosted zone", False, f"hosted zone {zone} does not exist.")
            return
        outside = [self.values[k] for k in domains if not in_zone(self.values[k], name)]
        if outside:
            yield Check("hosted zone", False, f"{', '.join(outside)} not in zone {name}.")
            return
        yield Check("hosted zone", True, f"{zone} ({name}) holds {', '.join(self.values[k] for k in domains)}")

    def check_images(self) -> Iterator[Check]:
        if self.profile not in ("lite", "full", "lite-pipeline"):
            return
        ecr = self.client("ecr")
        for mirror in images.mirrors(self.template, self.values, {}):
            uri = self.foundation_export(exports.repository_uri(mirror.repository))
            if images.missing(ecr, images.repository_of(uri), mirror.tag):
                yield Check(
                    f"image {mirror.repository}",
                    False,
                    f"{uri}:{mirror.tag} is not there yet; run make mirror-images (make deploy does) to copy it "
                    "from its upstream registry.",
                )
            else:
                yield Check(f"image {mirror.repository}", True, f"{uri}:{mirror.tag} (mirror)")
        for task, image, _ in images.task_images(self.template, self.values):
            if isinstance(image, str) and images.is_docker_hub(image):
                yield Check(
                    "image source",
                    True,
                    f"{task} pulls {image} from Docker Hub, which limits anonymous pulls per address (addresses "
                    "AWS shares): a refused pull rolls the stack back. Use ECR Public or the foundations mirror.",
                    warn=True,
                )
        from botocore.exceptions import ClientError

        def tagged(repository: str, tag: str) -> bool:
            try:
                return bool(
                    ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}]).get("imageDetails")
                )
            except ClientError:
                return False

        for parameter, service in ((p, s) for p, s in APP_IMAGES.items() if p in self.parameters):
            tag = self.values[parameter]
            uri = self.foundation_export(f"EcrRepository{service.capitalize()}Uri")
            repository = images.repository_of(uri)
            if not tag:
                yield Check(
                    f"image {service}",
                    False,
                    f"{parameter} is empty; set the tag of the {service} image pushed to {uri}.",
                )
            elif not tagged(repository, tag):
                yield Check(f"image {service}", False, f"{uri}:{tag} does not exist; push it first.")
            else:
                yield Check(f"image {service}", True, f"{uri}:{tag}")

    def check_sam_bucket(self) -> Iterator[Check]:
        """samconfig.toml sends sam deploy's uploads to the app bucket, under sam/<stack>."""
        from botocore.exceptions import ClientError

        if not code_key_parameters(self.profile):
            return
        bucket = self.foundation_export(exports.APP_BUCKET_NAME)
        try:
            self.client("s3").head_bucket(Bucket=bucket)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            yield Check("SAM code bucket", False, f"s3://{bucket} cannot be reached ({code or error}).")
            return
        yield Check("SAM code bucket", True, f"sam deploy uploads the Lambda code to s3://{bucket}/sam/{self.stack}")

    def check_lambda_code(self) -> Iterator[Check]:
        bucket = self.foundation_export(exports.APP_BUCKET_NAME)
        s3 = self.client("s3")
        from botocore.exceptions import ClientError

        for parameter, folder in sorted(code_key_parameters(self.profile).items()):
            key = self.values.get(parameter)
            if not key:
                yield Check(
                    f"lambda code {folder}",
                    False,
                    f"no {parameter}: run make lambdas (or pass the key make upload-lambdas printed).",
                )
                continue
            try:
                s3.head_object(Bucket=bucket, Key=key)
            except ClientError:
                yield Check(
                    f"lambda code {folder}",
                    False,
                    f"s3://{bucket}/{key} does not exist; run make upload-lambdas STACK={self.foundations}.",
                )
                continue
            yield Check(f"lambda code {folder}", True, f"s3://{bucket}/{key}")

    def check_secrets(self) -> Iterator[Check]:
        if "IngestImageTag" not in self.parameters:
            return
        # ingest exits at start without real values, and the circuit breaker rolls the stack back.
        arn = self.foundation_export(exports.MARKET_DATA_API_SECRET)
        secret = self.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
        if "PLACEHOLDER" in secret:
            yield Check(
                "market-data credentials",
                False,
                f"secret {arn} still holds placeholders; ingest needs the real apiKey, apiSecret and topTickersToken "
                "(aws secretsmanager put-secret-value).",
            )
        else:
            yield Check("market-data credentials", True, "set")


def read_parameters_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines, '#' comments: the format of `--parameter-overrides`."""
    values = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", key.strip()):
            raise ValueError(f"{path}:{number} is not KEY=VALUE.")
        values[key.strip()] = value.strip()
    return values


def local_code_keys(root: Path, profile: str) -> dict[str, str]:
    """The keys `make upload-lambdas` gives the profile's zips built in lambdas/*/dist/."""
    keys = {}
    for parameter, folder in code_key_parameters(profile).items():
        archive = built_zip(root, folder)
        if archive.exists():
            keys[parameter] = content_key(archive)
    return keys


def run(
    session: Any,
    profile: str,
    stack: str,
    foundations: str,
    template: dict,
    values: dict[str, str],
    emit: Callable[[str], None],
    sam: bool = False,
) -> int:
    values = parameter_values(template, values)
    preflight = Preflight(session, profile, stack, foundations, template, values, sam)
    failures = 0
    for check in preflight.checks():
        emit(check.line())
        failures += check.ok is False
    emit(f"{failures} check{'s' if failures != 1 else ''} failed" if failures else "all checks passed")
    return 1 if failures else 0
