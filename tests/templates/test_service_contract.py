"""The full profile's task definitions implement the application images' contract
(contracts/services.toml) exactly, in every NetworkMode; the Lambdas' environment
is exactly what their handlers read."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from streamlines.packaging import lambda_specs

from . import deploy_checks
from .branches import BRANCHES

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = tomllib.loads((ROOT / "contracts" / "services.toml").read_text())
SERVICES = CONTRACT["services"]
FULL_BRANCHES = [values for values in BRANCHES["full"]]


@pytest.mark.parametrize(
    "index",
    range(len(FULL_BRANCHES)),
    ids=[f"full-{i}-{v.get('NetworkMode', 'endpoints')}" for i, v in enumerate(FULL_BRANCHES)],
)
@pytest.mark.parametrize("service", sorted(SERVICES))
def test_task_definition_implements_the_contract(templates, service, index):
    deploy_checks.implements_the_contract(templates["full"], FULL_BRANCHES[index], service)


PIPELINE_BRANCHES = BRANCHES["lite-pipeline"]


@pytest.mark.parametrize("index", range(len(PIPELINE_BRANCHES)))
@pytest.mark.parametrize("service", ["ingest", "ripples"])
def test_the_lite_pipeline_implements_the_same_contract(templates, service, index):
    deploy_checks.implements_the_contract(templates["lite-pipeline"], PIPELINE_BRANCHES[index], service)
    assert {r["Type"] for r in templates["lite-pipeline"]["Resources"].values()} >= {
        "AWS::Kinesis::Stream",
        "AWS::ECS::Service",
    }


def test_every_contract_secret_is_a_foundations_secret_with_that_key(templates):
    import json

    resources = templates["foundations"]["Resources"]
    for service, contract in SERVICES.items():
        for name, spec in contract.get("secrets", {}).items():
            secret = resources[spec["secret"]]["Properties"]
            placeholder = json.loads(secret["SecretString"]) if "SecretString" in secret else None
            assert placeholder is not None and spec["key"] in placeholder, f"{service} {name}: {spec}"


def handler_environment(folder_sources: list[Path]) -> set[str]:
    """Environment variables the Lambda's own modules read (os.environ[...] / .get)."""
    names = set()
    for source in folder_sources:
        names |= set(re.findall(r"os\.environ(?:\.get)?[\[(]\s*[\"']([A-Z0-9_]+)[\"']", source.read_text()))
    return names


# Set by the Lambda runtime itself, never by a template.
RUNTIME_VARIABLES = {"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_LAMBDA_FUNCTION_NAME"}


def test_lambda_environment_is_exactly_what_each_handler_reads(templates):
    specs = lambda_specs(ROOT / "lambdas")
    seen = set()
    for stack in ("lite", "full"):
        for logical_id, resource in templates[stack]["Resources"].items():
            if resource["Type"] != "AWS::Lambda::Function":
                continue
            folder = re.match(
                r"^lambdas/(\w+)/",
                templates[stack]["Parameters"][resource["Properties"]["Code"]["S3Key"]["Ref"]]["AllowedPattern"].lstrip(
                    "^"
                ),
            ).group(1)
            set_by_template = set(resource["Properties"].get("Environment", {}).get("Variables", {}))
            read = handler_environment(list(specs[folder].sources)) - RUNTIME_VARIABLES
            assert set_by_template == read, (
                f"{stack}.{logical_id} ({folder}): template sets {sorted(set_by_template)}, code reads {sorted(read)}"
            )
            seen.add(folder)
    assert seen == set(specs)


CITATION = re.compile(r"^[A-Za-z0-9_.+/\-\[\]]+:\d+(-\d+)?(,\d+(-\d+)?)*$")


def citations(entry: dict) -> list[str]:
    return [part.strip() for part in entry.get("source", "").split(";") if part.strip()]


def cited_entries():
    """(what, entry) for every entry of the contract that needs a citation."""
    for service, spec in SERVICES.items():
        yield f"{service} image", {"source": spec.get("image_source", "")}
        for key in ("port", "health"):
            yield f"{service} {key}", spec.get(key, {})
        if "single_writer" in spec:
            yield f"{service} single_writer", spec["single_writer"]
        for section in ("environment", "secrets"):
            for name, entry in spec.get(section, {}).items():
                yield f"{service} {section} {name}", entry if isinstance(entry, dict) else {}


def test_every_contract_entry_cites_its_source():
    """Each variable, secret, port, health check (and the absence of one) names the
    file and line of the application at the recorded commit that proves it."""
    assert CONTRACT["application"]["repository"] == "anzo-p/stream-lines"
    assert re.fullmatch(r"[0-9a-f]{7,40}", CONTRACT["application"]["commit"])
    entries = list(cited_entries())
    assert len(entries) >= 30
    for what, entry in entries:
        sources = citations(entry)
        assert sources, f"{what} cites no source"
        for source in sources:
            assert CITATION.match(source), f"{what}: {source!r} is not <path>:<line>"


def test_the_citation_rule_refuses_an_entry_without_one():
    assert not citations({"description": "read from memory"})
    assert not CITATION.match("ingest/src/main.rs")
    assert CITATION.match("ingest/src/main.rs:21,69")
