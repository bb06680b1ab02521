"""Bad input from an operator: every command refuses it in one sentence on stderr
with exit code 2, before anything is read from or sent to AWS; never a traceback,
never a success, and nothing written. Generated with hypothesis, in-process (the
console script and the Makefile get a few subprocess cases of their own)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamlines.cli import main

from ..templates.branches import FULL_REQUIRED

ROOT = Path(__file__).resolve().parents[2]
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

SHELL = ";|&$`<>()'\"\\*?!#~\n\t\r\x00\x1b"
# Text that is never a stack name, a prefix or a region: empty, too long, a first
# character other than a letter, or a character outside letters, digits and hyphens.
not_a_name = st.one_of(
    st.just(""),
    # A trailing newline passes a `^...$` pattern under re.match: only fullmatch refuses it.
    st.sampled_from(["stack\n", "sl-lite\n", "x\r\n"]),
    st.text(alphabet="abc-", min_size=129, max_size=300),
    st.from_regex(r"\A[0-9-][A-Za-z0-9-]{0,20}\Z"),
    st.builds(
        lambda head, bad, tail: head + bad + tail,
        st.from_regex(r"\A[A-Za-z][A-Za-z0-9-]{0,10}\Z"),
        st.one_of(st.sampled_from(SHELL + " ._/:@"), st.characters(min_codepoint=0x80)),
        st.text(max_size=10),
    ),
)
not_a_region = st.one_of(
    not_a_name, st.sampled_from(["us-east", "US-EAST-1", "us_east_1", "useast1", "us-east-1a", "-1", "eu-west-999"])
)
not_a_url = st.one_of(
    st.sampled_from(
        [
            "not a url",
            "file:///etc/passwd",
            "ftp://grafana",
            "grafana.example.com",
            "http://",
            "http://[::1",
            "http://host:99999",
            "http://host:0",
            "javascript:alert(1)",
            "https://:3000",
            "http://host:port",
        ]
    ),
    st.text(alphabet=st.characters(blacklist_characters=":"), max_size=40),
)
not_seconds = st.one_of(
    st.sampled_from(["nan", "inf", "-inf", "0", "-1", "1e9", "", "soon", "3601"]),
    st.floats(max_value=0).map(repr),
)
not_an_assumption = st.one_of(
    st.sampled_from(["nan", "inf", "-inf"]), st.floats(max_value=-1e-9, allow_nan=False).map(repr)
)


def refused(capsys, argv: list[str]) -> str:
    """Run the command; it must exit 2 with one line on stderr and no traceback."""
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    assert code == 2, (argv, code, out, err)
    assert err.count("\n") == 1 and "Traceback" not in err, (argv, err)
    return err


STACK_COMMANDS = [
    ["residue", "--profile", "lite", "--stack"],
    ["preflight", "--profile", "lite", "--stack"],
    ["smoke", "--stack"],
    ["grafana", "provision", "--stack"],
]


@pytest.mark.parametrize("command", STACK_COMMANDS, ids=lambda c: " ".join(c[:2]))
@FAST
@given(value=not_a_name)
def test_a_stack_that_is_no_stack_name_is_refused(capsys, command, value):
    assert "--stack" in refused(capsys, [*command, value, "--region", "us-east-1"])


@pytest.mark.parametrize(
    "command",
    [
        ["deploy", "--profile", "lite"],
        ["teardown", "--profile", "lite"],
        ["preflight", "--profile", "lite", "--stack", "s"],
        ["mirror-images"],
    ],
    ids=lambda c: c[0],
)
@FAST
@given(value=not_a_name)
def test_a_prefix_that_cannot_name_stacks_is_refused(capsys, command, value):
    assert "--prefix" in refused(capsys, [*command, "--prefix", value])


@pytest.mark.parametrize(
    "command",
    [
        ["smoke", "--stack", "s"],
        ["residue", "--profile", "full", "--stack", "s"],
        ["teardown", "--profile", "full"],
        ["grafana", "provision", "--stack", "s"],
        ["cost"],
        ["lambdas", "upload"],
    ],
    ids=lambda c: " ".join(c[:2]),
)
@FAST
@given(value=not_a_region)
def test_a_region_that_is_no_region_is_refused(capsys, command, value):
    assert "--region" in refused(capsys, [*command, "--region", value])


@pytest.mark.parametrize("command", [["grafana", "provision", "--stack", "s"], ["smoke", "--stack", "s"]])
@FAST
@given(value=not_a_url)
def test_a_grafana_url_that_is_no_http_url_is_refused(capsys, command, value):
    assert "--grafana-url" in refused(capsys, [*command, "--grafana-url", value])


@FAST
@given(value=not_seconds)
def test_a_wait_that_is_no_number_of_seconds_is_refused(capsys, value):
    assert "--wait" in refused(capsys, ["grafana", "provision", "--stack", "s", "--wait", value])


@pytest.mark.parametrize("flag", ["--hours", "--efs-gb", "--alb-lcus", "--nat-gb", "--active-hours", "--spot-discount"])
@FAST
@given(value=not_an_assumption)
def test_a_cost_assumption_that_is_no_quantity_is_refused(capsys, flag, value):
    assert flag in refused(capsys, ["cost", flag, value])


@pytest.mark.parametrize(
    "argv, says",
    [
        (["cost", "--hours", "745"], "--hours"),
        (["cost", "--active-hours", "9999"], "--active-hours"),
        (["cost", "--spot-discount", "70"], "--spot-discount"),
        (["cost", "--spot-discount", "1"], "--spot-discount"),
        (["cost", "--hours", "0"], "--hours"),
    ],
)
def test_a_cost_assumption_out_of_its_range_is_refused(capsys, argv, says):
    assert says in refused(capsys, argv)


@pytest.mark.parametrize(
    "profile, parameter",
    [
        ("lite", "GrafanaExposure"),
        ("lite", "Capacity"),
        ("lite", "InfluxDbCpu"),
        ("lite", "GrafanaCpu"),
        ("lite", "AllowedCidr"),
        ("full", "NetworkMode"),
        ("full", "ShardCount"),
        ("full", "StreamMode"),
        ("lite-pipeline", "MaxTickerCount"),
    ],
)
@FAST
@given(value=st.one_of(st.sampled_from(["", "-512", "3", "100000000", "lots", "FREE", "sideways", "nan"]), st.text()))
def test_the_cost_report_prices_nothing_the_template_would_refuse(capsys, templates, profile, parameter, value):
    from templates_py.evaluate import parameter_refusals

    template = templates["lite" if parameter not in templates[profile]["Parameters"] else profile]
    if "=" in parameter or not parameter_refusals(template, {parameter: value}):
        return  # a value the template takes: priced, and tested elsewhere
    assert parameter in refused(capsys, ["cost", "--profile", profile, "--param", f"{parameter}={value}"])


@pytest.mark.parametrize(
    "line",
    [
        "project = 5",
        "influx_org = 7",
        "allowed_cidr = 5",
        "log_retention_days = true",
        "log_retention_days = 30.0",
        "influx_retention_hours = 876001",
        "influx_retention_hours = -1",
        "[grafana]\ncpu = 512.0",
        "[ingest]\narchitecture = 64",
        "grafana_image = 'grafana/grafana-oss:latest'",
        "influxdb_image = '123456789012.dkr.ecr.us-east-1.amazonaws.com/influxdb:2.7.12'",
        "no_such_key = 1",
        "project = [",
    ],
)
def test_a_bad_configuration_writes_nothing(capsys, tmp_path, line):
    config = tmp_path / "build.toml"
    config.write_text(line + "\n", encoding="utf-8")
    out = tmp_path / "out"
    refused(capsys, ["templates", "--out", str(out), "--config", str(config)])
    assert not out.exists()


def test_a_configuration_that_is_not_utf8_or_not_a_file_is_refused(capsys, tmp_path):
    config = tmp_path / "build.toml"
    config.write_bytes(b"\xff\xfeproject = 'x'\n")
    assert "UTF-8" in refused(capsys, ["templates", "--out", str(tmp_path / "out"), "--config", str(config)])
    assert "directory" in refused(capsys, ["cost", "--config", str(tmp_path)])
    assert "not there" in refused(capsys, ["cost", "--config", str(tmp_path / "none.toml")])


@pytest.mark.parametrize(
    "command",
    [
        ["deploy", "--profile", "lite"],
        ["preflight", "--profile", "lite", "--stack", "s"],
        ["mirror-images", "--profile", "lite"],
    ],
    ids=lambda c: c[0],
)
def test_a_directory_as_parameters_is_refused(capsys, tmp_path, command):
    assert "directory" in refused(capsys, [*command, "--parameters", str(tmp_path)])


@pytest.mark.parametrize(
    "text",
    [
        "GrafanaExposure=sideways\n",
        "Capacity=FREE\n",
        "InfluxDbCpu=-512\n",
        "AllowedCidr=not-a-cidr\n",
        "GrafanaImage=x\n",
    ],
)
def test_a_parameters_file_the_template_refuses_is_refused_before_aws(capsys, tmp_path, text, build):
    parameters = tmp_path / "lite.parameters"
    parameters.write_text(text, encoding="utf-8")
    name = text.split("=")[0]
    for command in (
        ["deploy", "--profile", "lite", "--build", str(build)],
        ["preflight", "--profile", "lite", "--stack", "s"],
        ["mirror-images", "--profile", "lite"],
    ):
        assert name in refused(capsys, [*command, "--parameters", str(parameters), "--region", "us-east-1"])


def test_mirror_images_refuses_parameters_without_a_profile(capsys, tmp_path):
    parameters = tmp_path / "lite.parameters"
    parameters.write_text("AllowedCidr=198.18.7.10/32\n", encoding="utf-8")
    assert "--profile" in refused(capsys, ["mirror-images", "--parameters", str(parameters)])


def test_a_closed_pipe_ends_the_report_quietly():
    """`streamlines cost --profile full | head -1`: no BrokenPipeError traceback."""
    result = subprocess.run(
        f"{sys.executable} -m streamlines cost --profile full | head -1",
        shell=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.stdout.startswith("full profile") and result.stderr == ""


def test_the_console_script_refuses_in_one_line(tmp_path):
    script = Path(sys.executable).parent / "streamlines"
    result = subprocess.run(
        [str(script), "smoke", "--stack", "x;touch p"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and not (tmp_path / "p").exists()


@pytest.mark.parametrize("target, variable", [("smoke", "STACK"), ("provision", "STACK"), ("cost", "CONFIG")])
def test_make_variables_never_reach_the_shell_as_commands(tmp_path, target, variable):
    marker = tmp_path / "ran"
    value = f"x';touch {marker};'"
    result = subprocess.run(
        ["make", "-s", target, f"{variable}={value}"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode != 0 and not marker.exists(), result.stderr


@pytest.mark.parametrize("profile", ["lite", "lite-pipeline", "full", "cloudfront"])
def test_every_profile_residue_offers_runs(aws, capsys, profile):
    assert main(["residue", "--profile", profile, "--stack", f"sl-{profile}", "--region", "us-east-1"]) == 0
    assert "nothing left of the stack" in capsys.readouterr().out


@pytest.mark.parametrize("profile", ["lite", "lite-pipeline", "full"])
def test_every_profile_cost_offers_runs(capsys, profile):
    assert main(["cost", "--profile", profile]) == 0
    assert capsys.readouterr().out.startswith(f"{profile} profile")


REQUIRED = {
    "lite": {},
    "lite-pipeline": {k: FULL_REQUIRED[k] for k in ("TopTickersApi", "IngestImageTag", "RipplesImageTag")},
    "full": {k: v for k, v in FULL_REQUIRED.items() if not k.endswith("CodeKey")},
    "cloudfront": {},
}


def with_params(profile: str) -> list[str]:
    return [word for k, v in REQUIRED[profile].items() for word in ("--param", f"{k}={v}")]


@pytest.mark.parametrize("profile", sorted(REQUIRED))
def test_every_profile_preflight_offers_runs(aws, capsys, profile):
    """Against an empty account each profile's preflight reports its checks, in lines, not a traceback."""
    argv = ["preflight", "--profile", profile, "--stack", f"sl-{profile}", "--prefix", "sl", "--region", "us-east-1"]
    code = main([*argv, *with_params(profile)])
    out, err = capsys.readouterr()
    assert code == (0 if profile == "cloudfront" else 1) and "Traceback" not in out + err
    assert ("FAIL" in out) is (code == 1)


def test_the_shipped_parameters_files_with_their_placeholders_are_refused_in_one_line(capsys):
    """deploy/full.parameters leaves TopTickersApi and the image tags for the operator to fill."""
    err = refused(capsys, ["preflight", "--profile", "full", "--stack", "s", "--region", "us-east-1"])
    assert "the full template refuses" in err and "TopTickersApi" in err and "IngestImageTag" in err


@pytest.mark.parametrize("profile", ["lite", "full"])
def test_every_profile_mirror_images_offers_runs(aws, capsys, profile):
    code = main(
        ["mirror-images", "--profile", profile, "--prefix", "sl", "--region", "us-east-1", *with_params(profile)]
    )
    err = capsys.readouterr().err
    # No foundations stack in the empty account: one sentence, exit 1.
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
