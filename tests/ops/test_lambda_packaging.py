"""Lambda packaging: deterministic zips with only their own sources, importable
with nothing but boto3, uploaded under a content-addressed key."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from streamlines import packaging as package
from streamlines.cli import main

ROOT = Path(__file__).resolve().parents[2]
LAMBDAS = ROOT / "lambdas"

EXPECTED = {
    "websocket_connection_handler": (
        {"connection_handler.py", "subscriptions.py", "wire.py", "connections_table.py"},
        "connection_handler",
    ),
    "results_stream_pusher": (
        {"results_pusher.py", "delivery.py", "wire.py", "connections_table.py"},
        "results_pusher",
    ),
    "influx_token_agent": ({"token_agent.py", "influx_tokens.py", "probes.py"}, "token_agent"),
    "influx_token_provider": (
        {
            "token_provider.py",
            "crhelper/__init__.py",
            "crhelper/log_helper.py",
            "crhelper/resource_helper.py",
            "crhelper/utils.py",
            "crhelper/LICENSE",
            "crhelper/NOTICE",
        },
        "token_provider",
    ),
}


def spec(name: str) -> package.LambdaSpec:
    """The function as lambdas/functions.toml declares it, so the test builds what `streamlines lambdas
    build` builds."""
    return package.lambda_specs(LAMBDAS)[name]


def build(name: str, out: Path) -> Path:
    return package.build_spec(spec(name), out)


def test_every_lambda_folder_is_declared_and_no_two_modules_share_a_name():
    specs = package.lambda_specs(LAMBDAS)
    folders = {path.parent.name for path in LAMBDAS.glob("*/*.py") if path.parent.name not in ("shared", "tests")}
    assert set(specs) == folders == set(EXPECTED)
    by_name: dict[str, set[Path]] = {}
    for declared in specs.values():
        for source in declared.sources:
            by_name.setdefault(source.name, set()).add(source)
    assert {name: paths for name, paths in by_name.items() if len(paths) > 1} == {}


def test_a_bad_declaration_is_one_sentence(tmp_path):
    (tmp_path / "functions.toml").write_text('[demo]\nsource = ["x.py"]\n')
    with pytest.raises(package.PackageError, match=r"\[demo\] in .* needs a 'sources' list"):
        package.lambda_specs(tmp_path)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_zip_holds_only_its_own_sources(name, tmp_path):
    with zipfile.ZipFile(build(name, tmp_path)) as archive:
        assert set(archive.namelist()) == EXPECTED[name][0]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_same_sources_same_bytes(name, tmp_path):
    first = build(name, tmp_path / "a").read_bytes()
    copies = []
    for source in spec(name).sources:
        copy = tmp_path / "copies" / source.parent.name / source.name
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(source.read_bytes())
        os.utime(copy, (1_800_000_000, 1_800_000_000))
        copies.append(copy)
    assert package.build_zip(name, copies, tmp_path / "b", spec(name).packages).read_bytes() == first


def test_key_changes_with_the_content(tmp_path):
    source = tmp_path / "handler.py"
    source.write_text("X = 1\n")
    first = package.content_key(package.build_zip("demo", [source], tmp_path / "a"))
    source.write_text("X = 2\n")
    second = package.content_key(package.build_zip("demo", [source], tmp_path / "b"))
    assert first != second and first.startswith("lambdas/demo/") and first.endswith(".zip")


def test_refuses_anything_but_python_sources(tmp_path):
    data = tmp_path / "notes.txt"
    data.write_text("x")
    with pytest.raises(package.PackageError, match="not a Python file"):
        package.build_zip("demo", [data], tmp_path / "out")
    assert not (tmp_path / "out" / "demo.zip").exists()


def boto3_only_path(tmp_path: Path) -> Path:
    """A folder with boto3 and what it imports, and nothing else of the virtualenv."""
    folder = tmp_path / "boto3-only"
    folder.mkdir()
    for module in ("boto3", "botocore", "jmespath", "s3transfer", "dateutil", "urllib3", "six"):
        spec = importlib.util.find_spec(module)
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (folder / source.name).symlink_to(source)
    return folder


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_zip_imports_in_a_fresh_interpreter_with_only_boto3(name, tmp_path):
    archive = build(name, tmp_path)
    module = EXPECTED[name][1]
    code = (
        "import sys; sys.path[:0] = sys.argv[1:3]\n"
        "try:\n    import moto\nexcept ImportError:\n    pass\nelse:\n    raise SystemExit('moto is visible: "
        "not isolated')\n"
        f"import {module}; assert callable({module}.handler); print({module}.__file__)"
    )
    env = {"PATH": os.environ.get("PATH", ""), "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code, str(archive), str(boto3_only_path(tmp_path))],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith(str(archive))


@pytest.fixture
def foundations_bucket(aws):
    """The app bucket, and a foundations stack that exports its name."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="app-bucket")
    template = (
        '{"Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},'
        ' "Outputs": {"AppBucketName": {"Value": "app-bucket", "Export": {"Name": '
        '"sl-foundations-AppBucketName"}}}}'
    )
    aws.client("cloudformation").create_stack(StackName="sl-foundations", TemplateBody=template)
    return s3


@pytest.fixture
def built_tree(tmp_path, monkeypatch):
    """A project tree whose lambdas/ is this one's, built by `streamlines lambdas build`."""
    tree = tmp_path / "tree"
    shutil.copytree(LAMBDAS, tree / "lambdas", ignore=shutil.ignore_patterns("dist", "__pycache__", "tests", "events"))
    monkeypatch.chdir(tree)
    assert main(["lambdas", "build"]) == 0
    return tree


def test_upload_puts_each_zip_under_its_key_once(built_tree, foundations_bucket, capsys):
    capsys.readouterr()
    assert main(["lambdas", "upload", "--foundations-stack", "sl-foundations"]) == 0
    keys = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    assert set(keys) == set(EXPECTED)
    for name, key in keys.items():
        archive = package.built_zip(built_tree, name)
        assert key == package.content_key(archive)
        assert foundations_bucket.get_object(Bucket="app-bucket", Key=key)["Body"].read() == archive.read_bytes()
    assert main(["lambdas", "upload", "--prefix", "sl"]) == 0
    second = capsys.readouterr()
    assert dict(line.split("=", 1) for line in second.out.splitlines()) == keys and second.err.count(
        "already there"
    ) == len(EXPECTED)


def test_upload_to_an_unknown_stack_is_one_clear_line(built_tree, foundations_bucket, capsys):
    capsys.readouterr()
    assert main(["lambdas", "upload", "--foundations-stack", "nope"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "nope-AppBucketName" in captured.err


def test_build_of_an_unknown_lambda_is_one_clear_line(built_tree, capsys):
    assert main(["lambdas", "build", "no_such_function"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_code_key_parameters_come_from_the_model_and_the_templates_have_them(templates):
    """The model names each profile's code keys; each rendered template has exactly
    those, each constrained to its own folder's content keys."""
    from streamlines.packaging import code_key_parameters

    for profile, template in templates.items():
        declared = {
            name: p["AllowedPattern"] for name, p in template.get("Parameters", {}).items() if name.endswith("CodeKey")
        }
        assert declared == {
            name: r"^lambdas/" + folder + r"/[0-9a-f]{64}\.zip$"
            for name, folder in code_key_parameters(profile).items()
        }, profile
    assert code_key_parameters("full") == {
        "ConnectionHandlerCodeKey": "websocket_connection_handler",
        "ResultsPusherCodeKey": "results_stream_pusher",
        "InfluxTokenAgentCodeKey": "influx_token_agent",
        "InfluxTokenProviderCodeKey": "influx_token_provider",
    }
    assert set(code_key_parameters("lite").values()) == {"influx_token_agent", "influx_token_provider"}
    assert set(code_key_parameters("full").values()) == set(EXPECTED)


def test_each_entry_is_a_plain_file_of_fixed_time_deflated_at_level_9(tmp_path):
    import zlib

    source = tmp_path / "src" / "handler.py"
    source.parent.mkdir()
    source.write_text("def handler(event, context):\n    return {'ok': True}\n" * 20)
    archive = package.build_zip("demo", [source], tmp_path / "deep" / "out")
    with zipfile.ZipFile(archive) as opened:
        (info,) = opened.infolist()
    assert (info.filename, info.date_time, info.external_attr, info.create_system, info.compress_type) == (
        "handler.py",
        (1980, 1, 1, 0, 0, 0),
        0o100644 << 16,
        3,
        zipfile.ZIP_DEFLATED,
    )
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    assert info.compress_size == len(deflate.compress(source.read_bytes()) + deflate.flush())
    assert sorted(p.name for p in archive.parent.iterdir()) == ["demo.zip"]


@pytest.mark.parametrize(
    "content, message",
    [
        ("[demo]\nsources = [\n", "is not valid TOML"),
        (
            '[demo]\nsources = ["x.py"]\nextra = 1\n',
            "[demo] in {path} needs a 'sources' list and takes only 'sources' and 'packages'.",
        ),
        ("[demo]\nsources = []\n", "[demo] in {path} needs a 'sources' list and takes only 'sources' and 'packages'."),
    ],
)
def test_each_bad_declaration_says_what_is_wrong(tmp_path, content, message):
    path = tmp_path / "functions.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(package.PackageError) as refused:
        package.lambda_specs(tmp_path)
    assert message.format(path=path) in str(refused.value)
    assert str(refused.value).startswith(f"{path} is not valid TOML: ") or str(refused.value) == message.format(
        path=path
    )


def test_a_missing_declaration_file_is_one_sentence(tmp_path):
    with pytest.raises(package.PackageError) as refused:
        package.lambda_specs(tmp_path)
    assert str(refused.value) == f"cannot read {tmp_path / 'functions.toml'}: No such file or directory."


def test_declarations_are_read_as_utf8(tmp_path):
    (tmp_path / "functions.toml").write_bytes('# fonctions déclarées\n[demo]\nsources = ["x.py"]\n'.encode("utf-8"))
    assert package.lambda_specs(tmp_path)["demo"].sources == ((tmp_path / "demo" / "x.py").resolve(),)


def test_a_vendored_package_is_its_modules_and_licence_without_caches():
    import crhelper  # noqa: F401  (importing it writes __pycache__)

    files = package.package_files("crhelper")
    assert not any("__pycache__" in name for name in files) and "crhelper/LICENSE" in files
    with pytest.raises(package.PackageError) as refused:
        package.package_files("no_such_package_here")
    assert str(refused.value) == "package no_such_package_here is not installed in this virtualenv; run make venv."


def test_upload_checks_the_key_stores_a_zip_and_reports_what_it_did(tmp_path, foundations_bucket):
    archive = tmp_path / "demo.zip"
    archive.write_bytes(b"PK zip")
    key, uploaded = package.upload(archive, "sl-foundations", "us-east-1")
    assert (key, uploaded) == (package.content_key(archive), True)
    assert foundations_bucket.head_object(Bucket="app-bucket", Key=key)["ContentType"] == "application/zip"
    assert package.upload(archive, "sl-foundations", "us-east-1") == (key, False)
    # The region given is the one searched: the export is not in eu-west-1.
    with pytest.raises(package.PackageError) as refused:
        package.upload(archive, "sl-foundations", "eu-west-1")
    assert (
        str(refused.value)
        == "no export sl-foundations-AppBucketName: is sl-foundations the deployed foundations stack (and the region "
        "right)?"
    )
    with pytest.raises(package.PackageError) as refused:
        package.upload(tmp_path / "none.zip", "sl-foundations", "us-east-1")
    assert str(refused.value) == f"{tmp_path / 'none.zip'} does not exist; run make lambdas first."


def test_an_s3_refusal_is_one_line(tmp_path, foundations_bucket, monkeypatch):
    from botocore.exceptions import ClientError

    archive = tmp_path / "demo.zip"
    archive.write_bytes(b"PK zip")

    def refuse(self, **kwargs):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied\nmore"}}, "HeadObject")

    import botocore.client

    original = botocore.client.BaseClient._make_api_call
    monkeypatch.setattr(
        botocore.client.BaseClient,
        "_make_api_call",
        lambda self, name, params: refuse(self) if name == "HeadObject" else original(self, name, params),
    )
    with pytest.raises(package.PackageError) as refused:
        package.upload(archive, "sl-foundations", "us-east-1")
    assert (
        str(refused.value)
        == "upload failed: An error occurred (AccessDenied) when calling the HeadObject operation: Access Denied"
    )


def test_sources_that_cannot_go_into_a_zip_are_named(tmp_path):
    data = tmp_path / "notes.txt"
    data.write_text("x")
    with pytest.raises(package.PackageError) as refused:
        package.build_zip("demo", [data], tmp_path / "out")
    assert str(refused.value) == f"source {data} is not a Python file; only sources go into a Lambda zip."
    with pytest.raises(package.PackageError) as refused:
        package.build_zip("demo", [tmp_path / "gone.py"], tmp_path / "out")
    assert str(refused.value) == f"source {tmp_path / 'gone.py'} does not exist."


def test_a_real_module_is_deflated_at_level_9_not_the_default():
    import tempfile
    import zlib

    source = LAMBDAS / "results_stream_pusher" / "results_pusher.py"
    with tempfile.TemporaryDirectory() as out:
        archive = package.build_zip("demo", [source], Path(out))
        with zipfile.ZipFile(archive) as opened:
            (info,) = opened.infolist()
    level = lambda n: len(  # noqa: E731
        (lambda c: c.compress(source.read_bytes()) + c.flush())(zlib.compressobj(n, zlib.DEFLATED, -15))
    )  # noqa: E731
    assert level(9) != level(6), "the check needs a file where the levels differ"
    assert info.compress_size == level(9)


def test_a_stack_without_functions_has_no_code_keys():
    assert package.code_key_parameters("foundations") == package.code_key_parameters("cloudfront") == {}


def test_two_sources_of_one_name_are_refused(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = tmp_path / "a" / "x.py", tmp_path / "b" / "x.py"
    first.write_text("")
    second.write_text("")
    with pytest.raises(package.PackageError) as refused:
        package.build_zip("demo", [first, second], tmp_path / "out")
    assert str(refused.value) == f"two sources are named x.py ({first} and {second})."


@pytest.mark.parametrize("code", ["NoSuchKey", "NotFound", "404"])
def test_each_way_s3_says_not_found_leads_to_an_upload(tmp_path, foundations_bucket, monkeypatch, code):
    import botocore.client
    from botocore.exceptions import ClientError

    archive = tmp_path / "demo.zip"
    archive.write_bytes(b"PK")
    original = botocore.client.BaseClient._make_api_call

    def head(self, name, params):
        if name == "HeadObject":
            raise ClientError({"Error": {"Code": code}}, name)
        return original(self, name, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", head)
    assert package.upload(archive, "sl-foundations", "us-east-1") == (package.content_key(archive), True)
