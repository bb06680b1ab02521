"""`streamlines mirror-images` and the image rules deploy and preflight share:
which images a stack pulls from the foundations mirror, Docker Hub detection,
and the copy itself (the Docker CLI recorded, ECR in moto)."""

from __future__ import annotations

import base64

import pytest

from streamlines import images
from streamlines.cli import main
from templates_py.evaluate import parameter_values

from ..templates.test_lint import FULL_REQUIRED, LITE_REQUIRED
from .test_deploy import Recorder
from .test_preflight import put_image


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
    assert needed(templates["lite"], LITE_REQUIRED) == [images.Mirror("grafana", "12.1.1", "linux/arm64", "grafana/grafana-oss:12.1.1")]
    assert needed(templates["lite"], {**LITE_REQUIRED, "GrafanaImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/g:1.0"}) == []
    source = templates["full"]["Parameters"]["InfluxDbImage"]["Default"]
    assert needed(templates["full"], FULL_REQUIRED) == [images.Mirror("influxdb", source.rsplit(":", 1)[1], "linux/arm64", source)]
    assert needed(templates["full"], {**FULL_REQUIRED, "InfluxDbImage": "influxdb:2.7.11"}) == [images.Mirror("influxdb", "2.7.11", "linux/arm64", "influxdb:2.7.11")]
    for mode in ("nat", "public"):
        assert needed(templates["full"], {**FULL_REQUIRED, "NetworkMode": mode}) == []


def test_mirror_copies_only_what_is_missing_and_logs_in_once(aws, foundations):
    foundations()
    put_image(aws, "influxdb", "2.7.12")
    docker, said = Recorder(), []
    wanted = [images.Mirror("influxdb", "2.7.12", "linux/arm64", "public.ecr.aws/docker/library/influxdb:2.7.12"), images.Mirror("grafana", "12.1.1", "linux/arm64", "grafana/grafana-oss:12.1.1")]
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
    assert docker.stdin[0] == base64.b64decode(token).split(b":", 1)[1] and all(stdin is None for stdin in docker.stdin[1:])
    assert f"already mirrored: {foundations.outputs['EcrRepositoryInfluxdbUri']}:2.7.12" in said


def test_mirror_without_docker_is_one_sentence(aws, foundations, monkeypatch):
    foundations()
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(images.ImageError, match="needs the Docker CLI"):
        images.mirror(aws, "sl-foundations", [images.Mirror("grafana", "12.1.1", "linux/arm64", "grafana/grafana-oss:12.1.1")], lambda line: None)


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
