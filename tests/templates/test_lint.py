"""cfn-lint and checkov on every template, in every branch a parameter can switch."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint

from templates_py.render import write_all

from ..walk import evaluate
from .branches import BRANCHES, CERTIFICATE, branch_ids

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = Path(os.environ.get("CHECKOV", ROOT / ".venv-checkov" / "bin" / "checkov"))


@pytest.mark.parametrize("stack,index", branch_ids(), ids=[f"{s}-{i}" for s, i in branch_ids()])
def test_cfn_lint_is_clean(bodies, stack, index):
    parameters = BRANCHES[stack][index]
    assert lint_findings(bodies[f"{stack}.json"], parameters) == []


def lint_findings(body: str, parameters: dict[str, str]) -> list[str]:
    matches = lint(body, config=ManualArgs(regions=["us-east-1"], parameters=[parameters] if parameters else []))
    return [f"{m.rule.id} {m.message}" for m in matches if m.rule.severity in ("error", "warning")]


def test_cloudfront_parameter_refuses_a_certificate_outside_us_east_1(templates):
    """CloudFormation checks AllowedPattern before it creates anything, and says the ConstraintDescription."""
    parameter = templates["cloudfront"]["Parameters"]["CertificateArn"]
    assert re.match(parameter["AllowedPattern"], CERTIFICATE)
    assert re.match(parameter["AllowedPattern"], "")
    assert not re.match(parameter["AllowedPattern"], CERTIFICATE.replace("us-east-1", "eu-west-1"))
    assert "us-east-1" in parameter["ConstraintDescription"]


def test_branches_switch_every_condition_both_ways(templates):
    assert set(BRANCHES) <= set(templates)
    for stack, template in templates.items():
        assert stack in BRANCHES, f"no lint branches for {stack}"
        for name, condition in template.get("Conditions", {}).items():
            outcomes = {evaluate(condition, template, values) for values in BRANCHES[stack]}
            assert outcomes == {True, False}, f"{stack}: condition {name} is always {outcomes}"


def test_checkov_finds_nothing_unexplained(annotated_bodies, tmp_path):
    bodies = annotated_bodies
    assert CHECKOV.exists(), f"checkov is not installed at {CHECKOV}; run `make test`, which installs it"
    write_all(bodies, tmp_path)
    result = subprocess.run(
        [
            str(CHECKOV),
            "--skip-download",
            "--quiet",
            "--compact",
            "--framework",
            "cloudformation",
            "-o",
            "json",
            "-d",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
        timeout=600,
    )
    report = json.loads(result.stdout) if result.stdout.strip() else {}
    reports = report if isinstance(report, list) else [report]
    failed = [
        f"{check['check_id']} {check['resource']}"
        for r in reports
        for check in r.get("results", {}).get("failed_checks", [])
    ]
    assert failed == [], result.stderr[-2000:]
    summary = {
        key: sum(r["summary"][key] for r in reports)
        for key in ("passed", "skipped", "parsing_errors", "resource_count")
    }
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 100 and summary["skipped"] > 0
    assert summary["resource_count"] == sum(len(json.loads(body)["Resources"]) for body in bodies.values())


def test_every_checkov_skip_gives_a_reason(annotated):
    for stack, template in annotated.items():
        for logical_id, resource in template["Resources"].items():
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                assert len(skip["comment"]) > 30, f"{stack}.{logical_id} skips {skip['id']} without a reason"


@pytest.mark.parametrize("stack", sorted(BRANCHES))
def test_no_informational_findings_either(bodies, stack):
    parameters = BRANCHES[stack][0]
    matches = lint(
        bodies[f"{stack}.json"],
        config=ManualArgs(regions=["us-east-1"], include_checks=["I"], parameters=[parameters] if parameters else []),
    )
    assert [f"{m.rule.id} {m.message}" for m in matches] == []


def test_deployable_templates_carry_no_lint_notes_and_differ_in_nothing_else(templates, annotated):
    from templates_py.render import without_lint_notes

    noted = 0
    for stack, template in annotated.items():
        noted += sum("checkov" in r.get("Metadata", {}) for r in template["Resources"].values())
        assert not any("checkov" in r.get("Metadata", {}) for r in templates[stack]["Resources"].values())
        assert without_lint_notes(copy.deepcopy(template)) == templates[stack]
    assert noted > 30
