"""Every command the README and the docs show works as written: each `aws
cloudformation deploy` names every parameter its template has no default for,
passes the template's Rules, and goes through S3 when the template is too big to
pass inline; every `streamlines` and `make` command they show exists; and their
generated sections are current."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from streamlines.cli import build_parser
from streamlines.readme import PAGES
from templates_py.render import DEPLOY_BODY_LIMIT

from ..templates.deploy_checks import rules_refuse

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
# The README and the pages it links for the rest: what they show must work alike.
SHOWN = "\n".join((ROOT / page).read_text(encoding="utf-8") for page in PAGES)


def code_blocks(text: str) -> list[str]:
    return re.findall(r"^```[a-z]*\n(.*?)^```", text, flags=re.S | re.M)


def commands(prefix: str) -> list[str]:
    """Every command line starting with `prefix` in a code block, continuation lines joined."""
    found = []
    for block in code_blocks(SHOWN):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith(prefix):
                found.append(line)
    return found


DEPLOYS = commands("aws cloudformation deploy")


def test_the_readme_shows_deploy_commands():
    templates_shown = {re.search(r"--template-file build/([\w-]+)\.json", c).group(1) for c in DEPLOYS}
    assert templates_shown == {"foundations", "lite", "lite-pipeline", "full", "cloudfront"}


@pytest.mark.parametrize("command", DEPLOYS)
def test_each_deploy_command_names_every_required_parameter(command, templates, bodies):
    words = shlex.split(command.replace("<", "'<").replace(">", ">'"))
    stack = re.search(r"build/([\w-]+)\.json", command).group(1)
    template = templates[stack]
    overrides: dict[str, str] = {}
    if "--parameter-overrides" in words:
        for word in words[words.index("--parameter-overrides") + 1 :]:
            if word.startswith("--"):
                break
            key, sep, value = word.partition("=")
            assert sep, f"{word!r} is not KEY=VALUE in: {command}"
            overrides[key] = value
    parameters = template.get("Parameters", {})
    assert set(overrides) <= set(parameters), set(overrides) - set(parameters)
    required = {name for name, parameter in parameters.items() if "Default" not in parameter}
    assert required <= set(overrides), f"{stack}: the README's command misses {sorted(required - set(overrides))}"
    assert rules_refuse(template, overrides) == [], command
    if len(bodies[f"{stack}.json"]) > DEPLOY_BODY_LIMIT:
        assert "--s3-bucket" in words, f"{stack} is over {DEPLOY_BODY_LIMIT} bytes: the command needs --s3-bucket"
    if any(resource["Type"] == "AWS::IAM::Role" for resource in template["Resources"].values()):
        assert "CAPABILITY_IAM" in words, f"{stack} creates IAM roles"


def as_written(command: str) -> list[str]:
    """A synopsis as a command: optional [...] parts dropped, the first of a|b|c
    alternatives taken, <placeholders> kept as words."""
    command = re.sub(r"\[[^\]]*\]", "", command)
    command = re.sub(r"\b([\w-]+)(\|[\w-]+)+", r"\1", command)
    return shlex.split(command.replace("<", "'<").replace(">", ">'"))


@pytest.mark.parametrize("command", commands("streamlines "))
def test_each_streamlines_command_parses(command):
    build_parser().parse_args(as_written(command)[1:])


@pytest.mark.parametrize("command", commands("make "))
def test_each_make_target_exists(command):
    target = command.split()[1]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(rf"^{re.escape(target)}:", makefile, flags=re.M), target


def test_the_generated_sections_are_current():
    """The cost table and the images' contract are rendered from the report and
    contracts/services.toml (`make readme`); a README that says otherwise fails."""
    from streamlines import readme

    pages = readme.render_pages(ROOT)
    for page, text in pages.items():
        assert (ROOT / page).read_text(encoding="utf-8") == text, f"{page} is stale: run make readme"
    operating = pages["docs/operating.md"]
    start = operating.index("<!-- generated: cost -->")
    stale = operating[:start] + operating[start:].replace("| **", "| **9", 1)
    assert readme.render(stale, ROOT) == operating != stale


def test_the_quick_start_comes_first_and_is_short():
    """What it is, set-up, then a quick start of at most 40 lines, within the first screenful."""
    lines = README.splitlines()
    start = lines.index("## Quick start: lite")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("## "))
    assert start < 40 and end - start <= 40
    assert "make deploy PROFILE=lite" in "\n".join(lines[start:end])


def test_every_page_the_readme_links_exists():
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README):
        if "://" not in target:
            assert (ROOT / target).exists(), target


SAM_RUNS = commands("sam ")


def test_the_sam_commands_shown_name_real_environments_functions_and_events():
    """They run from build/sam (`make sam` writes it): every --config-env is a samconfig
    environment, every invoked function is in that profile's SAM render, every -e file exists."""
    from templates_py import model, sam

    assert {c.split()[1] for c in SAM_RUNS} >= {"build", "deploy", "local"}
    here = ROOT / "build" / "sam"
    for command in SAM_RUNS:
        words = shlex.split(command)
        profile = words[words.index("--config-env") + 1] if "--config-env" in words else None
        assert profile is None or profile in sam.PROFILES, command
        if words[1:3] == ["local", "invoke"]:
            functions = {f.function_id for f in model.manifest(profile).functions}
            assert words[3] in functions, f"{words[3]} is not a function of {profile}: {command}"
            assert (here / words[words.index("-e") + 1]).resolve().is_file(), command
