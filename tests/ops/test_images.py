"""`streamlines mirror-images` and the image rules deploy and preflight share:
which images a stack pulls from the foundations mirror, Docker Hub detection,
and the copy itself (the Docker CLI recorded, ECR in moto)."""

from __future__ import annotations

import base64

import pytest

from streamlines import images
from streamlines.cli import main
from templates_py.evaluate import parameter_values

from ..templates.branches import FULL_REQUIRED, LITE_REQUIRED
from .recorders import Recorder, Saying, put_image


@pytest.mark.parametrize(
    "image, hub",
    [
        ("influxdb:2.7.12", True),
        ("grafana/grafana-oss:12.1.1", True),
        ("docker.io/grafana/grafana-oss:12.1.1", True),
        ("public.ecr.aws/docker/library/influxdb:2.7.12", False),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/grafana:12.1.1", False),
        ("localhost/influxdb:2.7", False),
        ("registry.example.com:5000/influxdb:2.7", False),
    ],
)
def test_docker_hub_is_recognised_as_docker_does(image, hub):
    assert images.is_docker_hub(image) is hub


def needed(template, values, grafana="grafana/grafana-oss:12.1.1"):
    values = parameter_values(template, values)
    return images.mirrors(template, values, images.mirror_sources(template, values, grafana))


def test_which_images_each_stack_pulls_from_the_mirror(templates):
    assert needed(templates["lite"], LITE_REQUIRED) == [
        images.Mirror("grafana", "12.1.1", "linux/arm64", "grafana/grafana-oss:12.1.1")
    ]
    assert (
        needed(
            templates["lite"], {**LITE_REQUIRED, "GrafanaImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/g:1.0"}
        )
        == []
    )
    source = templates["full"]["Parameters"]["InfluxDbImage"]["Default"]
    assert needed(templates["full"], FULL_REQUIRED) == [
        images.Mirror("influxdb", source.rsplit(":", 1)[1], "linux/arm64", source)
    ]
    assert needed(templates["full"], {**FULL_REQUIRED, "InfluxDbImage": "influxdb:2.7.11"}) == [
        images.Mirror("influxdb", "2.7.11", "linux/arm64", "influxdb:2.7.11")
    ]
    for mode in ("nat", "public"):
        assert needed(templates["full"], {**FULL_REQUIRED, "NetworkMode": mode}) == []


class Docker(Recorder):
    """A runner as images.Runner declares it: stdin is always given (None for none)."""

    def __call__(self, command, say, stdin):
        super().__call__(command, say, stdin)


def test_mirror_copies_only_what_is_missing_and_logs_in_once(aws, foundations):
    foundations()
    put_image(aws, "influxdb", "2.7.12")
    docker, said = Docker(), []
    wanted = [
        images.Mirror("influxdb", "2.7.12", "linux/arm64", "public.ecr.aws/docker/library/influxdb:2.7.12"),
        images.Mirror("grafana", "12.1.1", "linux/arm64", "grafana/grafana-oss:12.1.1"),
    ]
    pushed = images.mirror(aws, "sl-foundations", wanted, said.append, docker)
    grafana = foundations.outputs["EcrRepositoryGrafanaUri"]
    assert pushed == [f"{grafana}:12.1.1"]
    assert docker.commands == [
        ["docker", "login", "--username", "AWS", "--password-stdin", grafana.split("/")[0]],
        ["docker", "pull", "--platform", "linux/arm64", "grafana/grafana-oss:12.1.1"],
        ["docker", "tag", "grafana/grafana-oss:12.1.1", f"{grafana}:12.1.1"],
        ["docker", "push", f"{grafana}:12.1.1"],
    ]
    token = aws.client("ecr").get_authorization_token()["authorizationData"][0]["authorizationToken"]
    assert docker.stdin[0] == base64.b64decode(token).split(b":", 1)[1] and all(
        stdin is None for stdin in docker.stdin[1:]
    )
    assert f"already mirrored: {foundations.outputs['EcrRepositoryInfluxdbUri']}:2.7.12" in said


def test_mirror_without_docker_is_one_sentence(aws, foundations, monkeypatch):
    foundations()
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(images.ImageError, match="needs the Docker CLI"):
        images.mirror(
            aws,
            "sl-foundations",
            [images.Mirror("grafana", "12.1.1", "linux/arm64", "grafana/grafana-oss:12.1.1")],
            lambda line: None,
        )


def test_mirror_images_command_without_foundations_is_one_line(aws, capsys):
    assert main(["mirror-images", "--prefix", "nope", "--region", "us-east-1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nope-foundations exports no EcrRepositoryInfluxdbUri" in err


def test_mirror_images_command_reports_what_is_there(aws, foundations, config, capsys):
    foundations()
    put_image(aws, "influxdb", config.influxdb_image.rsplit(":", 1)[1])
    put_image(aws, "grafana", config.grafana_image.rsplit(":", 1)[1])
    assert main(["mirror-images", "--prefix", "sl", "--region", "us-east-1"]) == 0
    assert "0 images copied, 2 already there" in capsys.readouterr().out


@pytest.mark.parametrize("image", ["registry-1.docker.io/library/influxdb:2.7", "index.docker.io/library/influxdb:2.7"])
def test_docker_hubs_other_names_are_docker_hub(image):
    assert images.is_docker_hub(image) is True


def test_a_registry_with_a_port_and_no_dot_is_not_docker_hub():
    assert images.is_docker_hub("registry:5000/influxdb:2.7") is False


def test_the_template_default_is_the_influxdb_source_when_no_value_is_given(templates):
    default = templates["full"]["Parameters"]["InfluxDbImage"]["Default"]
    assert images.mirror_sources(templates["full"], {}, "grafana/grafana-oss:12.1.1") == {
        "influxdb": default,
        "grafana": "grafana/grafana-oss:12.1.1",
    }
    assert images.mirror_sources({}, {}, "") == {}


def test_every_docker_command_is_reported_and_login_happens_once(aws, foundations, monkeypatch):
    foundations()
    ecr = aws.client("ecr")
    # A password with a colon, as an ECR token could hold: only the first colon separates the user.
    monkeypatch.setattr(
        type(ecr),
        "get_authorization_token",
        lambda self: {"authorizationData": [{"authorizationToken": base64.b64encode(b"AWS:pa:ss").decode()}]},
        raising=False,
    )
    real_client = aws.client
    monkeypatch.setattr(aws, "client", lambda name, **kw: ecr if name == "ecr" else real_client(name, **kw))
    docker, said = Saying(), []
    wanted = [
        images.Mirror("grafana", "12.1.1", "linux/arm64", "grafana/grafana-oss:12.1.1"),
        images.Mirror("influxdb", "2.7.12", "linux/arm64", "influxdb:2.7.12"),
    ]
    pushed = images.mirror(aws, "sl-foundations", wanted, said.append, docker)
    assert [c[1] for c in docker.commands] == ["login", "pull", "tag", "push", "pull", "tag", "push"]
    assert docker.stdin[0] == b"pa:ss"
    assert said == ["$ " + " ".join(c) for c in docker.commands]
    assert len(pushed) == 2


def test_a_namespaced_repository_is_looked_up_by_its_whole_name(aws, foundations, monkeypatch):
    """ECR repository names may hold slashes: the name is everything after the registry."""
    foundations()
    ecr = aws.client("ecr")
    ecr.create_repository(repositoryName="sl-team/grafana")
    uri = ecr.describe_repositories(repositoryNames=["sl-team/grafana"])["repositories"][0]["repositoryUri"]
    put_image(aws, "team/grafana", "12.1.1")
    monkeypatch.setattr(images, "export_value", lambda cloudformation, name: uri)
    said = []
    assert (
        images.mirror(
            aws,
            "sl-foundations",
            [images.Mirror("grafana", "12.1.1", "linux/arm64", "grafana/grafana-oss:12.1.1")],
            said.append,
            Recorder(),
        )
        == []
    )
    assert said == [f"already mirrored: {uri}:12.1.1"]


def test_run_docker_echoes_passes_stdin_and_reports_the_exit_code():
    said = []
    images.run_docker(["sh", "-c", 'read line; test "$line" = secret'], said.append, b"secret\n")
    assert said == ["$ sh -c 'read line; test \"$line\" = secret'"]
    with pytest.raises(images.ImageError) as failed:
        images.run_docker(["sh", "-c", "exit 4"], said.append)
    assert str(failed.value) == "`sh -c` failed with exit code 4; see its output above."
    with pytest.raises(images.ImageError) as failed:
        images.run_docker(["no-docker-here", "pull"], said.append)
    assert (
        str(failed.value)
        == "`no-docker-here` is not on PATH; copying an image into ECR needs the Docker CLI (or push the image "
        "yourself and rerun)."
    )


def test_a_task_without_a_runtime_platform_runs_x86_64_and_plain_images_are_skipped():
    join = {
        "Fn::Join": [
            ":",
            [{"Fn::ImportValue": {"Fn::Sub": "${FoundationsStackName}-EcrRepositoryGrafanaUri"}}, "12.1.1"],
        ]
    }
    template = {
        "Resources": {
            "APlain": {
                "Type": "AWS::ECS::TaskDefinition",
                "Properties": {"ContainerDefinitions": [{"Image": "public.ecr.aws/x/y:1"}]},
            },
            "BMirror": {"Type": "AWS::ECS::TaskDefinition", "Properties": {"ContainerDefinitions": [{"Image": join}]}},
        }
    }
    assert images.mirrors(template, {}, {"grafana": "grafana/grafana-oss:12.1.1"}) == [
        images.Mirror("grafana", "12.1.1", "linux/amd64", "grafana/grafana-oss:12.1.1")
    ]


def test_a_repository_that_is_not_there_is_missing(aws):
    assert images.missing(aws.client("ecr"), "no-such-repository", "1.0") is True


def test_a_missing_image_without_a_source_is_one_sentence(aws, foundations):
    foundations()
    uri = foundations.outputs["EcrRepositoryGrafanaUri"]
    with pytest.raises(images.ImageError) as failed:
        images.mirror(
            aws,
            "sl-foundations",
            [images.Mirror("grafana", "12.1.1", "linux/arm64", None)],
            lambda line: None,
            Recorder(),
        )
    assert str(failed.value) == f"{uri}:12.1.1 is missing and nothing says where to copy it from; push it yourself."


def test_login_is_to_the_registry_of_a_namespaced_repository(aws, foundations, monkeypatch):
    foundations()
    ecr = aws.client("ecr")
    uri = ecr.create_repository(repositoryName="sl-team/grafana")["repository"]["repositoryUri"]
    monkeypatch.setattr(images, "export_value", lambda cloudformation, name: uri)
    docker = Recorder()
    images.mirror(
        aws,
        "sl-foundations",
        [images.Mirror("grafana", "12.1.1", "linux/arm64", "grafana/grafana-oss:12.1.1")],
        lambda line: None,
        docker,
    )
    assert docker.commands[0][-1] == uri.split("/")[0] and docker.commands[0][1] == "login"


def test_a_split_or_select_of_what_is_not_known_before_deploy_stays_as_it_is():
    """Only literal strings are split: an image built from a parameter or an import is left to CloudFormation."""
    unknown = {"Fn::Split": [":", {"Ref": "Image"}]}
    assert images._literal(unknown) == unknown
    assert images._literal({"Fn::Select": ["1", unknown]}) == {"Fn::Select": ["1", unknown]}
    assert images._literal({"Fn::Select": ["1", {"Fn::Split": [":", "grafana/grafana-oss:12.1.1"]}]}) == "12.1.1"


def test_only_a_mirrored_repositorys_image_at_a_known_tag_is_mirrored():
    """Each other shape of image is left alone: an upstream image, one built some other
    way, a bucket's export, an application repository, a tag known only at deploy time."""

    def task(image, architecture="ARM64"):
        return {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {
                "RuntimePlatform": {"CpuArchitecture": architecture},
                "ContainerDefinitions": [{"Image": image}],
            },
        }

    def imported(export, tag, separator=":"):
        return {"Fn::Join": [separator, [{"Fn::ImportValue": {"Fn::Sub": f"${{FoundationsStackName}}-{export}"}}, tag]]}

    template = {
        "Parameters": {"Tag": {"Type": "String"}},
        "Resources": {
            "Upstream": task("influxdb:2.7"),
            "Substituted": task({"Fn::Sub": "${AWS::AccountId}.dkr.ecr.${AWS::Region}.amazonaws.com/x:1"}),
            "Slash": task(imported("EcrRepositoryGrafanaUri", "12.1.1", separator="/")),
            "Bucket": task(imported("AppBucketName", "12.1.1")),
            "Application": task(imported("EcrRepositoryIngestUri", "1.0.0")),
            "AtDeployTime": task(imported("EcrRepositoryInfluxdbUri", {"Ref": "Tag"})),
            "Grafana": task(imported("EcrRepositoryGrafanaUri", "12.1.1"), "X86_64"),
        },
    }
    assert images.mirrors(template, {}, {"grafana": "grafana/grafana-oss:12.1.1"}) == [
        images.Mirror("grafana", "12.1.1", "linux/amd64", "grafana/grafana-oss:12.1.1")
    ]
    # Given a value, the tag is known: the InfluxDB image is mirrored too, with no source named.
    assert images.mirrors(template, {"Tag": "2.7.12"}, {})[0] == images.Mirror(
        "influxdb", "2.7.12", "linux/arm64", None
    )
