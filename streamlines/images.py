"""Container images: which ones a stack pulls from the foundations ECR mirror, and
`streamlines mirror-images` (`make mirror-images`), which copies pinned upstream
images there.

Docker Hub limits anonymous pulls per address, and AWS shares addresses between
customers: a refused pull stops a service's first task and the circuit breaker
rolls the stack back. InfluxDB's official image is mirrored in ECR Public (no
such limit); Grafana's is on Docker Hub only, so lite runs it from the
foundations 'grafana' repository, and full's endpoints mode (no internet route)
runs InfluxDB from the foundations 'influxdb' repository. The copy uses the
Docker CLI (pull for the task's CPU architecture, tag, push); tags in those
repositories are immutable, so a tag already there is left alone.
"""

from __future__ import annotations

import base64
import re
import subprocess
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

from templates_py import exports
from templates_py.evaluate import resolve

from .aws import export_value

MIRROR_URI = re.compile(r"^\$\{FoundationsStackName\}-EcrRepository([A-Za-z]+)Uri$")
PLATFORMS = {"ARM64": "linux/arm64", "X86_64": "linux/amd64"}
# Foundations repositories that hold copies of upstream images (the others hold
# the application's own builds).
MIRRORED = ("influxdb", "grafana")


class ImageError(Exception):
    """One sentence for the operator."""


def is_docker_hub(image: str) -> bool:
    """Docker's rule: the first path component names a registry only when it has a
    '.' or ':' or is 'localhost'; otherwise the image is on Docker Hub."""
    first, _, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first in ("docker.io", "registry-1.docker.io", "index.docker.io")
    return True


def repository_of(uri: str) -> str:
    """The repository name in an ECR repository URI (<registry>/<name>, the name may hold slashes)."""
    return uri.partition("/")[2]


@dataclass(frozen=True)
class Mirror:
    """An image a stack pulls from the foundations repository `repository` at `tag`,
    for `platform`, copied there from `source` (when the template says where from)."""

    repository: str
    tag: str
    platform: str
    source: str | None = None


def _literal(node: Any) -> Any:
    """Fn::Join / Fn::Select / Fn::Split over literal strings, as CloudFormation computes them."""
    if isinstance(node, dict) and len(node) == 1:
        ((function, arguments),) = node.items()
        if function == "Fn::Split":
            text = _literal(arguments[1])
            return text.split(arguments[0]) if isinstance(text, str) else node
        if function == "Fn::Select":
            items = _literal(arguments[1])
            return items[int(arguments[0])] if isinstance(items, list) else node
    return node


def task_images(template: dict, values: dict[str, str]) -> Iterator[tuple[str, Any, str]]:
    """(task definition, image as deployed for `values`, CPU architecture) for every task."""
    for logical_id, resource in sorted(template["Resources"].items()):
        if resource["Type"] != "AWS::ECS::TaskDefinition":
            continue
        properties = resolve(resource["Properties"], template, values)
        architecture = properties.get("RuntimePlatform", {}).get("CpuArchitecture", "X86_64")
        for container in properties["ContainerDefinitions"]:
            yield logical_id, _literal(container["Image"]), architecture


def mirrors(template: dict, values: dict[str, str], sources: dict[str, str]) -> list[Mirror]:
    """The images the stack pulls from a foundations repository at a fixed tag (the
    application images, whose tags are parameters, are the operator's own builds)."""
    found = []
    for _, image, architecture in task_images(template, values):
        match image:
            # Join(":", [import_value(<a foundations repository URI>), tag]), as the stacks write it.
            case {"Fn::Join": [":", [{"Fn::ImportValue": {"Fn::Sub": str() as export}}, tag]]}:
                uri, tag = MIRROR_URI.match(export), _literal(tag)
                repository = uri and uri.group(1).lower()
                if repository in MIRRORED and isinstance(tag, str):
                    found.append(Mirror(repository, tag, PLATFORMS[architecture], sources.get(repository)))
    return found


def mirror_sources(template: dict, values: dict[str, str], grafana_image: str) -> dict[str, str]:
    """Where each mirrored repository's image comes from: InfluxDB from the stack's
    InfluxDbImage parameter, Grafana from the build configuration's pinned image."""
    influxdb = values.get("InfluxDbImage") or template.get("Parameters", {}).get("InfluxDbImage", {}).get("Default")
    return {name: source for name, source in (("influxdb", influxdb), ("grafana", grafana_image)) if source}


def missing(ecr: Any, repository_name: str, tag: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        return not ecr.describe_images(repositoryName=repository_name, imageIds=[{"imageTag": tag}]).get("imageDetails")
    except ClientError as error:
        if error.response["Error"]["Code"] in ("ImageNotFoundException", "RepositoryNotFoundException"):
            return True
        raise


Runner = Callable[[Sequence[str], Callable[[str], None], "bytes | None"], None]


def run_docker(command: Sequence[str], say: Callable[[str], None], stdin: bytes | None = None) -> None:
    import shlex
    import shutil

    if shutil.which(command[0]) is None:
        raise ImageError(
            f"`{command[0]}` is not on PATH; copying an image into ECR needs the Docker CLI (or push the image "
            "yourself and rerun)."
        )
    say("$ " + shlex.join(command))
    result = subprocess.run(list(command), input=stdin)
    if result.returncode != 0:
        raise ImageError(f"`{' '.join(command[:2])}` failed with exit code {result.returncode}; see its output above.")


def mirror(
    session: Any, foundations: str, wanted: Sequence[Mirror], say: Callable[[str], None], runner: Runner | None = None
) -> list[str]:
    """Copy every wanted image whose tag is not in its foundations repository yet;
    returns the image URIs it pushed."""
    runner = runner or run_docker
    cloudformation, ecr = session.client("cloudformation"), session.client("ecr")
    pushed: list[str] = []
    logged_in = False
    for item in wanted:
        uri = export_value(cloudformation, f"{foundations}-{exports.repository_uri(item.repository)}")
        if uri is None:
            raise ImageError(
                f"foundations stack {foundations} exports no {exports.repository_uri(item.repository)}; deploy "
                "or update it first."
            )
        if not missing(ecr, repository_of(uri), item.tag):
            say(f"already mirrored: {uri}:{item.tag}")
            continue
        if not item.source:
            raise ImageError(f"{uri}:{item.tag} is missing and nothing says where to copy it from; push it yourself.")
        if not logged_in:
            token = ecr.get_authorization_token()["authorizationData"][0]
            user, password = base64.b64decode(token["authorizationToken"]).decode().split(":", 1)
            runner(
                ["docker", "login", "--username", user, "--password-stdin", uri.partition("/")[0]],
                say,
                password.encode(),
            )
            logged_in = True
        runner(["docker", "pull", "--platform", item.platform, item.source], say, None)
        runner(["docker", "tag", item.source, f"{uri}:{item.tag}"], say, None)
        runner(["docker", "push", f"{uri}:{item.tag}"], say, None)
        pushed.append(f"{uri}:{item.tag}")
    return pushed
