"""`streamlines deploy` / `streamlines teardown` (`make deploy`, `make teardown`)
orchestration, with the aws CLI recorded instead of run and everything boto3
does against moto."""

from __future__ import annotations

import pytest

from streamlines import deploy
from streamlines.cli import main

from ..conftest import FOUNDATIONS, KEY
from .recorders import Recorder, Saying, a_stack, put_image

GRAFANA = "grafana/grafana-oss:12.1.1"


def test_lite_deploy_uploads_checks_and_deploys_in_order(aws, foundations, build, zips, monkeypatch):
    foundations()
    monkeypatch.setenv(
        "AWS_DEFAULT_REGION", "eu-west-1"
    )  # the operator's default region is another: the deploy's own is used throughout
    recorder, docker, said = Recorder(), Recorder(), []
    names = deploy.Names("sl", "lite")
    # Docker does not run here: the recorder stands in, and moto gets the image the push would have made.
    docker_then_push = lambda command, say, stdin=None: (  # noqa: E731
        docker(command, say, stdin),
        command[1] == "push" and put_image(aws, "grafana", "12.1.1"),
    )  # noqa: E731
    assert (
        deploy.deploy(
            aws,
            names,
            build,
            {"AllowedCidr": "198.18.7.10/32"},
            said.append,
            recorder,
            root=zips,
            grafana_image=GRAFANA,
            docker=docker_then_push,
        )
        == 0
    )
    assert [c[:2] for c in docker.commands] == [
        ["docker", "login"],
        ["docker", "pull"],
        ["docker", "tag"],
        ["docker", "push"],
    ]
    assert docker.commands[1] == ["docker", "pull", "--platform", "linux/arm64", GRAFANA]
    assert docker.commands[3] == ["docker", "push", f"{foundations.outputs['EcrRepositoryGrafanaUri']}:12.1.1"]
    (command,) = recorder.commands
    assert command[:8] == [
        "aws",
        "cloudformation",
        "deploy",
        "--template-file",
        str(build / "lite.json"),
        "--stack-name",
        "sl-lite",
        "--no-fail-on-empty-changeset",
    ]
    assert "--s3-bucket" not in command and command[command.index("--capabilities") + 1] == "CAPABILITY_IAM"
    overrides = dict(item.split("=", 1) for item in command[command.index("--parameter-overrides") + 1 :])
    assert overrides["FoundationsStackName"] == FOUNDATIONS and overrides["AllowedCidr"] == "198.18.7.10/32"
    assert (
        overrides["InfluxTokenAgentCodeKey"].startswith("lambdas/influx_token_agent/")
        and overrides["InfluxTokenAgentCodeKey"] != f"lambdas/influx_token_agent/{KEY}.zip"
    )
    assert aws.client("s3").head_object(Bucket="sl-app-bucket", Key=overrides["InfluxTokenAgentCodeKey"])
    assert (
        "all checks passed" in said and said[-1] == "next: make provision STACK=sl-lite, then make smoke STACK=sl-lite"
    )


def test_missing_foundations_is_deployed_first(aws, build, zips):
    recorder, said = Saying(), []
    with pytest.raises(deploy.DeployError, match="exports no AppBucketName"):
        deploy.deploy(
            aws, deploy.Names("sl", "lite"), build, {}, said.append, recorder, root=zips, grafana_image=GRAFANA
        )
    command = [
        "aws",
        "cloudformation",
        "deploy",
        "--template-file",
        str(build / "foundations.json"),
        "--stack-name",
        "sl-foundations",
        "--no-fail-on-empty-changeset",
        "--region",
        "us-east-1",
    ]
    assert recorder.commands == [command]
    assert said == ["$ " + " ".join(command)], "the foundations deploy is reported as it runs"


def test_the_cloudfront_stack_is_given_no_foundations_stack_name(aws, foundations, build, zips):
    """The one profile whose template does not declare FoundationsStackName: CloudFormation
    refuses a parameter the template does not declare."""
    foundations()
    recorder = Recorder()
    assert (
        deploy.deploy(
            aws,
            deploy.Names("sl", "cloudfront"),
            build,
            {},
            lambda line: None,
            recorder,
            root=zips,
            grafana_image=GRAFANA,
        )
        == 0
    )
    (command,) = recorder.commands
    assert command[command.index("--stack-name") + 1] == "sl-cloudfront"
    assert "--parameter-overrides" not in command


def test_full_goes_through_the_app_bucket_and_stops_on_a_failed_preflight(aws, foundations, build, zips):
    foundations()
    recorder, docker, said = Recorder(), Recorder(), []
    with pytest.raises(deploy.DeployError, match="preflight failed"):
        deploy.deploy(
            aws,
            deploy.Names("sl", "full"),
            build,
            {"NetworkMode": "nat"},
            said.append,
            recorder,
            root=zips,
            grafana_image=GRAFANA,
            docker=docker,
        )
    assert recorder.commands == [] and docker.commands == []
    assert any(line.startswith("FAIL  image ingest") for line in said)
    command = deploy.deploy_command(build / "full.json", "sl-full", "us-east-1", {"A": "b"}, True, "sl-app-bucket")
    assert command[command.index("--s3-bucket") + 1] == "sl-app-bucket"


def test_teardown_deletes_the_profile_only_and_reports(aws, foundations):
    foundations()
    a_stack(aws, "sl-lite")
    recorder, said = Recorder(), []
    assert deploy.teardown(aws, deploy.Names("sl", "lite"), False, "streamlines", said.append, recorder) == 0
    assert [c[:3] for c in recorder.commands] == [
        ["aws", "cloudformation", "delete-stack"],
        ["aws", "cloudformation", "wait"],
    ]
    assert all("sl-lite" in c for c in recorder.commands)
    assert "nothing left of the stack" in said


def test_foundations_are_deleted_only_with_confirmation(capsys):
    assert (
        main(["teardown", "--profile", "lite", "--prefix", "sl", "--foundations", "delete", "--confirm", "wrong"]) == 1
    )
    assert "CONFIRM=sl-foundations" in capsys.readouterr().err


def test_teardown_reports_residue_with_the_configured_project_tag(aws, monkeypatch, tmp_path, capsys):
    """A build.toml with another project tag reaches the residue report: what that
    project left is found, and a resource of the default project is not."""
    kinesis = aws.client("kinesis")
    for project, name in (("marketwatch", "sl-lite-upstream"), ("streamlines", "sl-lite-other")):
        kinesis.create_stream(StreamName=name, ShardCount=1)
        kinesis.add_tags_to_stream(
            StreamName=name, Tags={"Project": project, "Profile": "lite", "Name": "sl-lite-grafana-service"}
        )
    a_stack(aws, "sl-lite")
    config = tmp_path / "build.toml"
    config.write_text('project = "marketwatch"\n')
    monkeypatch.setattr(deploy, "run_command", lambda command, say: None)
    capsys.readouterr()
    assert (
        main(["teardown", "--profile", "lite", "--prefix", "sl", "--config", str(config), "--region", "us-east-1"]) == 1
    )
    out = capsys.readouterr().out
    assert "sl-lite-upstream" in out and "sl-lite-other" not in out


def test_deploy_refuses_a_parameter_the_template_does_not_have(tmp_path, capsys, build):
    parameters = tmp_path / "lite.parameters"
    parameters.write_text("NoSuchParameter=1\n")
    assert main(["deploy", "--profile", "lite", "--build", str(build), "--parameters", str(parameters)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_a_missing_aws_cli_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(deploy.DeployError, match="not on PATH"):
        deploy.run_command(["aws", "cloudformation", "deploy"], lambda line: None)


def test_deploy_sends_a_template_over_the_inline_limit_through_the_bucket(aws, foundations, build, zips, monkeypatch):
    """Nothing tells deploy which template is big: it measures. full is over 51,200
    bytes and goes through the app bucket; lite is under and goes inline."""
    from streamlines.preflight import Preflight
    from templates_py.render import DEPLOY_BODY_LIMIT

    foundations()
    assert (build / "full.json").stat().st_size > DEPLOY_BODY_LIMIT > (build / "lite.json").stat().st_size
    recorder = Recorder()
    # Preflight has its own tests; here it passes, so that the deploy command is reached.
    monkeypatch.setattr(Preflight, "checks", lambda self: iter(()))
    for profile, values in (("full", {"NetworkMode": "nat"}), ("lite", {"AllowedCidr": "198.18.7.10/32"})):
        deploy.deploy(
            aws,
            deploy.Names("sl", profile),
            build,
            values,
            lambda line: None,
            recorder,
            root=zips,
            grafana_image=GRAFANA,
            docker=Recorder(),
        )
    full_command, lite_command = recorder.commands
    assert full_command[full_command.index("--s3-bucket") + 1] == "sl-app-bucket"
    assert "--s3-bucket" not in lite_command


def test_teardown_with_foundations_runs_exactly_these_commands(aws, foundations):
    foundations()
    a_stack(aws, "sl-lite")
    recorder, said = Recorder(), []
    deploy.teardown(aws, deploy.Names("sl", "lite"), True, "streamlines", said.append, recorder)
    region = ["--region", "us-east-1"]
    assert recorder.commands == [
        ["aws", "cloudformation", "delete-stack", "--stack-name", "sl-lite", *region],
        ["aws", "cloudformation", "wait", "stack-delete-complete", "--stack-name", "sl-lite", *region],
        ["aws", "cloudformation", "delete-stack", "--stack-name", "sl-foundations", *region],
        ["aws", "cloudformation", "wait", "stack-delete-complete", "--stack-name", "sl-foundations", *region],
    ]
    assert (
        said[0] == "deleting the foundations stack sl-foundations: its resources are retained (DeletionPolicy Retain) "
        "and listed below as kept"
    )
    assert said[1] == "residue of lite stack sl-lite (project streamlines):"


def test_teardown_without_a_region_leaves_it_to_the_aws_cli(aws, monkeypatch):
    class NoRegion:
        region_name = None

        def client(self, name):
            return aws.client(name)

    recorder = Recorder()
    a_stack(aws, "sl-full")
    monkeypatch.setattr("streamlines.residue.profile_logical_ids", lambda profile: {"X"})
    deploy.teardown(NoRegion(), deploy.Names("sl", "full"), False, "streamlines", lambda line: None, recorder)
    assert recorder.commands[0] == ["aws", "cloudformation", "delete-stack", "--stack-name", "sl-full"]


def test_the_pipeline_add_on_is_pointed_at_its_lite_stack(aws, foundations, build, zips, monkeypatch):
    from streamlines.preflight import Preflight

    foundations()
    monkeypatch.setattr(Preflight, "checks", lambda self: iter(()))
    recorder, said = Recorder(), []
    values = {"TopTickersApi": "https://tickers.example.com/top", "IngestImageTag": "1.4.0", "RipplesImageTag": "1.4.0"}
    deploy.deploy(
        aws,
        deploy.Names("sl", "lite-pipeline"),
        build,
        values,
        said.append,
        recorder,
        root=zips,
        grafana_image=GRAFANA,
        docker=Recorder(),
    )
    (command,) = recorder.commands
    overrides = dict(item.split("=", 1) for item in command[command.index("--parameter-overrides") + 1 :])
    assert overrides["LiteStackName"] == "sl-lite" and overrides["FoundationsStackName"] == "sl-foundations"
    assert said[-1] == "next: make smoke STACK=sl-lite-pipeline"


def test_uploads_say_whether_the_zip_was_new(aws, foundations, build, zips, monkeypatch):
    from streamlines.preflight import Preflight

    foundations()
    monkeypatch.setattr(Preflight, "checks", lambda self: iter(()))
    runs = []
    for _ in range(2):
        said = []
        deploy.deploy(
            aws,
            deploy.Names("sl", "lite"),
            build,
            {"AllowedCidr": "198.18.7.10/32"},
            said.append,
            Recorder(),
            root=zips,
            grafana_image=GRAFANA,
            docker=Recorder(),
        )
        runs.append(sorted(line.split(":")[0] for line in said if " -> s3://sl-app-bucket/lambdas/" in line))
    assert runs == [["uploaded", "uploaded"], ["already in the bucket", "already in the bucket"]]
    assert said[0] == "foundations stack sl-foundations exists; not touching it"


def test_a_failed_preflight_says_what_to_do(aws, foundations, build, zips):
    foundations()
    with pytest.raises(deploy.DeployError) as failed:
        deploy.deploy(
            aws,
            deploy.Names("sl", "lite"),
            build,
            {"AllowedCidr": ""},
            lambda line: None,
            Recorder(),
            root=zips,
            grafana_image=GRAFANA,
            docker=Recorder(),
        )
    assert str(failed.value) == "preflight failed; fix the lines marked FAIL and deploy again."


def test_a_missing_zip_names_the_command_that_builds_it(aws, foundations, build, tmp_path):
    foundations()
    with pytest.raises(deploy.DeployError) as failed:
        deploy.deploy(
            aws,
            deploy.Names("sl", "lite"),
            build,
            {},
            lambda line: None,
            Recorder(),
            root=tmp_path / "empty",
            grafana_image=GRAFANA,
        )
    assert str(failed.value).endswith("influx_token_agent.zip is missing; run make lambdas.")


def test_run_command_echoes_runs_and_reports_the_exit_code():
    said = []
    deploy.run_command(["true", "a b"], said.append)
    assert said == ["$ true 'a b'"]
    with pytest.raises(deploy.DeployError) as failed:
        deploy.run_command(["sh", "-c", "exit 3", "ignored"], said.append)
    assert str(failed.value) == "`sh -c exit 3` failed with exit code 3; see its output above."
    with pytest.raises(deploy.DeployError) as failed:
        deploy.run_command(["no-such-command-here", "x"], said.append)
    assert (
        str(failed.value)
        == "`no-such-command-here` is not on PATH; make deploy and make teardown run the AWS CLI (version 2)."
    )


def test_foundations_are_deployed_without_capabilities_or_overrides(aws, build, zips):
    recorder = Recorder()
    with pytest.raises(deploy.DeployError) as failed:
        deploy.deploy(
            aws, deploy.Names("sl", "lite"), build, {}, lambda line: None, recorder, root=zips, grafana_image=GRAFANA
        )
    assert str(failed.value) == "foundations stack sl-foundations exports no AppBucketName."
    (command,) = recorder.commands
    assert "--capabilities" not in command and "--parameter-overrides" not in command and "--s3-bucket" not in command


def test_the_deploy_command_through_the_bucket_word_for_word():
    from pathlib import Path

    assert deploy.deploy_command(Path("build/full.json"), "sl-full", "eu-west-1", {"A": "1"}, True, "sl-app") == [
        "aws",
        "cloudformation",
        "deploy",
        "--template-file",
        "build/full.json",
        "--stack-name",
        "sl-full",
        "--no-fail-on-empty-changeset",
        "--region",
        "eu-west-1",
        "--capabilities",
        "CAPABILITY_IAM",
        "--s3-bucket",
        "sl-app",
        "--s3-prefix",
        "templates",
        "--parameter-overrides",
        "A=1",
    ]


def test_a_deleted_stack_does_not_exist():
    class CloudFormation:
        def describe_stacks(self, StackName):
            return {"Stacks": [{"StackStatus": "DELETE_COMPLETE"}]}

    session = type("S", (), {"client": lambda self, name: CloudFormation()})()
    assert deploy.stack_exists(session, "sl-lite") is False


def test_every_command_deploy_and_teardown_run_is_reported(aws, foundations, build, zips, monkeypatch):
    from streamlines.preflight import Preflight

    foundations()
    monkeypatch.setattr(Preflight, "checks", lambda self: iter(()))
    said = []
    deploy.deploy(
        aws,
        deploy.Names("sl", "lite"),
        build,
        {"AllowedCidr": "198.18.7.10/32"},
        said.append,
        Saying(),
        root=zips,
        grafana_image=GRAFANA,
        docker=Saying(),
    )
    assert any(
        line.startswith("$ aws cloudformation deploy --template-file") and "--region us-east-1" in line for line in said
    )
    assert any(line.startswith("$ docker pull") for line in said)
    said.clear()
    a_stack(aws, "sl-lite")
    deploy.teardown(aws, deploy.Names("sl", "lite"), True, "streamlines", said.append, Saying())
    assert [line for line in said if line.startswith("$ ")] == [
        "$ aws cloudformation delete-stack --stack-name sl-lite --region us-east-1",
        "$ aws cloudformation wait stack-delete-complete --stack-name sl-lite --region us-east-1",
        "$ aws cloudformation delete-stack --stack-name sl-foundations --region us-east-1",
        "$ aws cloudformation wait stack-delete-complete --stack-name sl-foundations --region us-east-1",
    ]


def test_a_template_of_exactly_the_limit_goes_inline(aws, foundations, build, zips, monkeypatch):
    from streamlines.preflight import Preflight
    from templates_py.render import DEPLOY_BODY_LIMIT

    foundations()
    monkeypatch.setattr(Preflight, "checks", lambda self: iter(()))
    body = (build / "lite.json").read_text()
    (build / "lite.json").write_text(body.rstrip("\n") + " " * (DEPLOY_BODY_LIMIT - len(body.rstrip("\n").encode())))
    assert (build / "lite.json").stat().st_size == DEPLOY_BODY_LIMIT
    recorder = Recorder()
    deploy.deploy(
        aws,
        deploy.Names("sl", "lite"),
        build,
        {"AllowedCidr": "198.18.7.10/32"},
        lambda line: None,
        recorder,
        root=zips,
        grafana_image=GRAFANA,
        docker=Recorder(),
    )
    assert "--s3-bucket" not in recorder.commands[-1]


def test_upload_and_image_failures_are_the_deploys_error(aws, foundations, build, zips, monkeypatch):
    from streamlines import images, packaging

    foundations()
    upload = packaging.upload
    monkeypatch.setattr(
        packaging, "upload", lambda *args: (_ for _ in ()).throw(packaging.PackageError("upload failed: denied"))
    )
    with pytest.raises(deploy.DeployError) as failed:
        deploy.deploy(
            aws, deploy.Names("sl", "lite"), build, {}, lambda line: None, Recorder(), root=zips, grafana_image=GRAFANA
        )
    assert str(failed.value) == "upload failed: denied"
    monkeypatch.setattr(packaging, "upload", upload)
    monkeypatch.setattr(images, "mirror", lambda *args: (_ for _ in ()).throw(images.ImageError("no docker")))
    with pytest.raises(deploy.DeployError) as failed:
        deploy.deploy(
            aws, deploy.Names("sl", "lite"), build, {}, lambda line: None, Recorder(), root=zips, grafana_image=GRAFANA
        )
    assert str(failed.value) == "no docker"


def test_teardown_of_a_stack_that_does_not_exist_deletes_nothing_and_says_so(aws, foundations, monkeypatch, capsys):
    """A typo in --prefix must not read as a clean teardown: exit 1, one line, no command run."""
    foundations()
    ran = []
    monkeypatch.setattr(deploy, "run_command", lambda command, say: ran.append(command))
    assert main(["teardown", "--profile", "lite", "--prefix", "typo", "--region", "us-east-1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "stack typo-lite does not exist in us-east-1; nothing was deleted" in err
    assert ran == []


@pytest.mark.parametrize("profile", ["lite", "lite-pipeline", "full", "cloudfront"])
def test_teardown_runs_for_every_profile_it_offers(aws, profile, capsys):
    a_stack(aws, f"sl-{profile}")
    recorder = Recorder()
    assert deploy.teardown(aws, deploy.Names("sl", profile), False, "streamlines", lambda line: None, recorder) == 0
    assert recorder.commands[0][:5] == ["aws", "cloudformation", "delete-stack", "--stack-name", f"sl-{profile}"]
