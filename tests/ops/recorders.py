"""Stand-ins the operations tests share: a runner that records the commands it is
given (as `run_command` and `run_docker` are called), and the image a push leaves
in (moto's) ECR."""

from __future__ import annotations

import json


class Recorder:
    def __init__(self):
        self.commands = []
        self.stdin = []

    def __call__(self, command, say, stdin=None):
        self.commands.append(list(command))
        self.stdin.append(stdin)


class Saying(Recorder):
    """Like run_command and run_docker, it reports each command through `say`."""

    def __call__(self, command, say, stdin=None):
        super().__call__(command, say, stdin)
        say("$ " + " ".join(command))


def put_image(aws, repository, tag):
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"digest": "sha256:" + "1" * 64},
        "layers": [{"digest": "sha256:" + tag.encode().hex().ljust(64, "0")[:64]}],
    }
    aws.client("ecr").put_image(
        repositoryName=f"sl-{repository}",
        imageManifest=json.dumps(manifest),
        imageManifestMediaType=manifest["mediaType"],
        imageTag=tag,
    )


def a_stack(aws, name):
    """A deployed stack of that name in moto (a handle only: teardown needs one to delete)."""
    body = '{"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}'
    aws.client("cloudformation").create_stack(StackName=name, TemplateBody=body)
