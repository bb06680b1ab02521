"""`streamlines templates`: output, and one clear line with exit code 2 on bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from streamlines.cli import main
from templates_py.config import ConfigError, config_from_mapping


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "streamlines", *args], capture_output=True, text=True)


def test_writes_the_profile_templates(tmp_path, capsys):
    assert main(["templates", "--profile", "lite", "--out", str(tmp_path / "build")]) == 0
    assert sorted(p.name for p in (tmp_path / "build").iterdir()) == [
        "foundations.json",
        "lite-pipeline.json",
        "lite.json",
    ]
    assert json.loads((tmp_path / "build" / "lite.json").read_text())["Resources"]
    assert "lite.json" in capsys.readouterr().out


def test_same_input_same_bytes(tmp_path):
    main(["templates", "--out", str(tmp_path / "a")])
    main(["templates", "--out", str(tmp_path / "b")])
    for path in (tmp_path / "a").iterdir():
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes()


def assert_one_line_error(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0]
    assert "Traceback" not in result.stderr


def test_unknown_profile(tmp_path):
    result = run("templates", "--profile", "medium", "--out", str(tmp_path / "build"))
    assert_one_line_error(result, "medium")
    assert not (tmp_path / "build").exists()


@pytest.mark.parametrize(
    "toml,words",
    [
        ('vpc_cidr = "10.20.0.0/33"', ["vpc_cidr", "10.20.0.0/33"]),
        ('vpc_cidr = "10.20.0.1/16"', ["vpc_cidr", "host bits"]),
        ('vpc_cidr = "10.20.0.0/26"', ["/16 and /22"]),
        ('allowed_cidr = "300.1.1.1/32"', ["allowed_cidr"]),
        ("[grafana]\ncpu = 300", ["grafana.cpu", "300"]),
        ("[influxdb]\ncpu = 256\nmemory = 4096", ["influxdb.memory", "4096", "256"]),
        ("log_retention_days = 10", ["log_retention_days"]),
        ('influxdb_image = "influxdb:latest"', ["influxdb_image", "pinned"]),
        ('influxdb_image = "influxdb:3.0"', ["InfluxDB 2.x"]),
        ("colour = 1", ["unknown configuration key", "colour"]),
        (
            "cloudfront_certificate_arn = "
            '"arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"',
            ["eu-west-1", "us-east-1"],
        ),
        ('cloudfront_certificate_arn = "arn:aws:iam::123456789012:role/x"', ["not an ACM certificate ARN"]),
        ("vpc_cidr = ", ["not valid TOML"]),
    ],
)
def test_bad_configuration(tmp_path, toml, words):
    config = tmp_path / "build.toml"
    config.write_text(toml)
    result = run("templates", "--config", str(config), "--out", str(tmp_path / "build"))
    assert_one_line_error(result, *words)
    assert not (tmp_path / "build").exists()


def test_missing_configuration_file(tmp_path):
    result = run("templates", "--config", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "build"))
    assert_one_line_error(result, "nope.toml")


def test_output_folder_that_is_a_file(tmp_path):
    blocker = tmp_path / "build"
    blocker.write_text("not a folder")
    result = run("templates", "--out", str(blocker))
    assert_one_line_error(result, str(blocker))
    assert blocker.read_text() == "not a folder"


def test_output_folder_under_a_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run("templates", "--out", str(blocker / "build"))
    assert_one_line_error(result, "cannot create output folder")


def test_failed_write_leaves_previous_build_untouched(tmp_path, monkeypatch):
    from templates_py import render as render_module

    out = tmp_path / "build"
    out.mkdir()
    (out / "lite.json").write_text("previous")
    real_fdopen = render_module.os.fdopen
    calls = []

    def failing_fdopen(handle, *args, **kwargs):
        calls.append(handle)
        if len(calls) == 2:
            render_module.os.close(handle)
            raise OSError(28, "No space left on device")
        return real_fdopen(handle, *args, **kwargs)

    monkeypatch.setattr(render_module.os, "fdopen", failing_fdopen)
    assert main(["templates", "--profile", "lite", "--out", str(out)]) == 2
    assert sorted(p.name for p in out.iterdir()) == ["lite.json"]
    assert (out / "lite.json").read_text() == "previous"


def test_configuration_changes_parameter_defaults(tmp_path):
    config = tmp_path / "build.toml"
    config.write_text('vpc_cidr = "10.99.0.0/20"\nlog_retention_days = 90\n[grafana]\ncpu = 512\nmemory = 2048\n')
    assert main(["templates", "--profile", "lite", "--config", str(config), "--out", str(tmp_path / "b")]) == 0
    parameters = json.loads((tmp_path / "b" / "lite.json").read_text())["Parameters"]
    assert parameters["VpcCidr"]["Default"] == "10.99.0.0/20"
    assert parameters["LogRetentionDays"]["Default"] == "90"
    assert (parameters["GrafanaCpu"]["Default"], parameters["GrafanaMemory"]["Default"]) == ("512", "2048")


def test_config_rejects_non_table_task_size():
    with pytest.raises(ConfigError, match="must be a table"):
        config_from_mapping({"grafana": 512})


def test_every_path_the_makefile_names_exists():
    """A moved file must not leave a make target pointing at nothing."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    named = set(
        re.findall(
            r"\b((?:tests|lambdas|templates_py|streamlines|grafana|deploy|docs)/[\w/.-]+\.(?:py|toml|json|md|parameters))\b",
            (root / "Makefile").read_text(),
        )
    )
    modules = set(
        re.findall(r"-m ((?:tests|streamlines|grafana|templates_py)(?:\.\w+)+)", (root / "Makefile").read_text())
    )
    assert named or modules
    assert [path for path in named if not (root / path).exists()] == []
    for module in modules:
        path = root / module.replace(".", "/")
        assert path.with_suffix(".py").exists() or (path / "__init__.py").exists(), module
