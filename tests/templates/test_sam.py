"""The SAM application (templates_py/sam.py, `make sam`): each SAM render is the
plain render with its Lambdas as serverless functions that `sam build` builds
from lambdas/ by the makefile method, and nothing else changed. Translated
offline by aws-sam-translator it is the plain template again, apart from code
locations and SAM's tag; the makefile targets stage exactly the zips' files."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from streamlines.packaging import build_spec, lambda_specs
from templates_py import model, sam
from templates_py.render import render_sam

ROOT = Path(__file__).resolve().parents[2]
LAMBDAS = ROOT / "lambdas"


@pytest.fixture(scope="module")
def sam_templates(config) -> dict[str, dict]:
    return {name.removesuffix(".json"): json.loads(body) for name, body in render_sam(config).items()}


def _plain_equivalent(plain: dict, profile: str) -> dict:
    """What the SAM render's translation must equal: the plain template with each
    function's code at s3://bucket/<folder>.zip, SAM's lambda:createdBy tag and the
    makefile build note, and without the code-key parameters."""
    expected = copy.deepcopy(plain)
    for function in model.manifest(profile).functions:
        resource = expected["Resources"][function.function_id]
        resource["Properties"]["Code"] = {"S3Bucket": "bucket", "S3Key": f"{function.folder}.zip"}
        resource["Properties"]["Tags"] = [{"Key": "lambda:createdBy", "Value": "SAM"}, *resource["Properties"]["Tags"]]
        resource["Metadata"] = {**resource.get("Metadata", {}), "BuildMethod": "makefile"}
        del expected["Parameters"][function.code_key_parameter]
    return expected


@pytest.mark.parametrize("profile", sam.PROFILES)
def test_translated_offline_the_sam_render_is_the_plain_template(sam_templates, templates, profile, monkeypatch):
    from samtranslator.translator.transform import transform

    class Refusing:
        """A managed-policy loader that refuses: the translation must need no AWS call."""

        def load(self):
            raise AssertionError("the translator asked IAM for its managed policies")

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    document = copy.deepcopy(sam_templates[profile])
    for function in model.manifest(profile).functions:
        properties = document["Resources"][function.function_id]["Properties"]
        assert properties["CodeUri"] == sam.CODE_URI
        properties["CodeUri"] = f"s3://bucket/{function.folder}.zip"
    translated = transform(document, {}, Refusing())
    assert translated == _plain_equivalent(templates[profile], profile)


def test_only_stacks_with_lambdas_have_a_sam_render(sam_templates):
    assert set(sam_templates) == {p for p in ("lite", "lite-pipeline", "full") if model.manifest(p).functions}
    assert set(sam_templates) == {"lite", "full"}


def test_code_uri_reaches_lambdas_from_the_sam_folder():
    assert (ROOT / "build" / "sam" / sam.CODE_URI).resolve() == LAMBDAS


def test_the_committed_makefile_is_the_generated_one():
    assert (LAMBDAS / "Makefile").read_text(encoding="utf-8") == sam.makefile(), "run make sam"


@pytest.mark.parametrize("function", sorted({f for p in sam.PROFILES for f in model.manifest(p).functions}, key=str))
def test_the_makefile_target_stages_exactly_the_zip(function, tmp_path):
    """What `sam build` runs (make build-<LogicalId> with ARTIFACTS_DIR), without SAM CLI:
    the same files, byte for byte, as the project's zip."""
    artifacts = tmp_path / "artifacts"
    env = {**os.environ, "ARTIFACTS_DIR": str(artifacts)}
    subprocess.run(
        ["make", "-s", f"build-{function.function_id}", f"PYTHON={sys.executable}"],
        cwd=LAMBDAS,
        env=env,
        check=True,
        capture_output=True,
    )
    archive = build_spec(lambda_specs(LAMBDAS)[function.folder], tmp_path / "zip")
    with zipfile.ZipFile(archive) as zipped:
        expected = {name: zipped.read(name) for name in zipped.namelist()}
    staged = {p.relative_to(artifacts).as_posix(): p.read_bytes() for p in artifacts.rglob("*") if p.is_file()}
    assert staged == expected


def test_a_folder_the_declaration_does_not_know_is_refused(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "streamlines.packaging", "stage", str(LAMBDAS), "nothing", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and result.stderr.strip().endswith(
        f"nothing is not declared in {LAMBDAS / 'functions.toml'}."
    )
    assert list(tmp_path.iterdir()) == []


def test_samconfig_names_each_template_and_covers_its_required_parameters(tmp_path, sam_templates):
    from streamlines.cli import main

    assert main(["sam", "--out", str(tmp_path), "--app-bucket", "sl-app-bucket", "--prefix", "sl"]) == 0
    folder = tmp_path / "sam"
    config = tomllib.loads((folder / "samconfig.toml").read_text(encoding="utf-8"))
    assert set(config) == {"version", *sam.PROFILES}
    for profile in sam.PROFILES:
        environment = config[profile]
        template = json.loads((folder / environment["build"]["parameters"]["template_file"]).read_text())
        for function in model.manifest(profile).functions:
            # Written outside build/, the code is still found from where the template is.
            properties = template["Resources"][function.function_id]["Properties"]
            assert (folder / properties["CodeUri"]).resolve() == LAMBDAS
            properties["CodeUri"] = sam.CODE_URI
        assert template == sam_templates[profile]
        local = environment["local_invoke"]["parameters"]
        assert (folder / local["env_vars"]).resolve() == LAMBDAS / "env-vars.json"
        assert local["parameter_overrides"] == environment["deploy"]["parameters"]["parameter_overrides"]
        deploy = environment["deploy"]["parameters"]
        stack = environment["global"]["parameters"]["stack_name"]
        assert (stack, deploy["s3_bucket"], deploy["s3_prefix"]) == (
            f"sl-{profile}",
            "sl-app-bucket",
            f"sam/sl-{profile}",
        )
        assert "resolve_s3" not in deploy
        given = {pair.split("=", 1)[0] for pair in deploy["parameter_overrides"].split('" ') if pair}
        required = {name for name, p in template["Parameters"].items() if "Default" not in p}
        assert required <= given, f"{profile}: {sorted(required - given)} not overridden"
        assert not {m.code_key_parameter for m in model.manifest(profile).functions} & given


def test_a_bad_bucket_name_is_refused_before_anything_is_written(tmp_path, capsys):
    from streamlines.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["sam", "--out", str(tmp_path), "--app-bucket", "Not_A_Bucket"])
    assert exited.value.code == 2
    assert "is not an S3 bucket name" in capsys.readouterr().err
    assert not (tmp_path / "sam").exists()


@pytest.mark.parametrize("profile", sam.PROFILES)
def test_cfn_lint_is_clean_on_the_sam_render(config, profile):
    from cfnlint.api import ManualArgs, lint

    body = render_sam(config)[f"{profile}.json"]
    findings = lint(body, config=ManualArgs(regions=["us-east-1"]))
    assert [f"{m.rule.id} {m.message}" for m in findings] == []


def _variables(function: dict) -> set[str]:
    return set(function["Properties"].get("Environment", {}).get("Variables", {}))


@pytest.mark.parametrize("profile", sam.PROFILES)
def test_every_function_has_events_and_local_values_for_its_whole_environment(sam_templates, profile):
    """`sam local invoke <Function> -e lambdas/<folder>/events/<name>.json --env-vars lambdas/env-vars.json`
    works for every function: it has events, and the env-vars file gives every variable it reads
    (Fn::ImportValue and GetAtt cannot resolve locally), no more."""
    local = json.loads((LAMBDAS / "env-vars.json").read_text())
    resources = sam_templates[profile]["Resources"]
    for function in model.manifest(profile).functions:
        assert sorted((LAMBDAS / function.folder / "events").glob("*.json")), f"{function.folder} has no events"
        wanted = _variables(resources[function.function_id])
        assert set(local.get(function.function_id, {})) == wanted, function.function_id
    every = {f.function_id for p in sam.PROFILES for f in model.manifest(p).functions}
    assert set(local) <= every, f"env-vars.json names functions no profile has: {set(local) - every}"


@pytest.mark.parametrize("profile", sam.PROFILES)
def test_the_custom_resource_events_carry_exactly_what_the_stack_sends(sam_templates, profile):
    """CloudFormation sends the resource's properties (ServiceToken among them) as ResourceProperties."""
    resources = sam_templates[profile]["Resources"]
    for logical_id, resource in resources.items():
        if resource["Type"] != "Custom::InfluxTokens":
            continue
        provider = resource["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
        folder = next(f.folder for f in model.manifest(profile).functions if f.function_id == provider)
        for path in sorted((LAMBDAS / folder / "events").glob("*.json")):
            request = json.loads(path.read_text())
            assert request["LogicalResourceId"] == logical_id and request["ResourceType"] == resource["Type"]
            for key in ("ResourceProperties", "OldResourceProperties"):
                if key in request:
                    assert set(request[key]) == set(resource["Properties"]), f"{path.name}: {key}"


def test_make_sam_brings_a_stale_lambdas_makefile_up_to_date(tmp_path):
    """A function added to the model gets its build target the next time `make sam` runs."""
    import shutil

    from streamlines import sam as sam_app
    from streamlines.context import Context

    root = tmp_path / "project"
    shutil.copytree(ROOT / "deploy", root / "deploy")
    (root / "lambdas").mkdir(parents=True)
    (root / "lambdas" / "Makefile").write_text("# stale\n")
    written = sam_app.write(Context(root=root), root / "build", None)
    assert (root / "lambdas" / "Makefile").read_text(encoding="utf-8") == sam.makefile()
    assert root / "lambdas" / "Makefile" in written
    again = sam_app.write(Context(root=root), root / "build", None)
    assert root / "lambdas" / "Makefile" not in again
