"""`make template-faults`: the templates' counterpart of `make mutants`.

Each fault below is a mistake a developer could make in templates_py/, written as
an edit of one source file. For each, in a scratch copy of the project
(build/template-faults/), the runner plants it, regenerates the snapshots (as a
developer who accepts the diff would), runs the template tests without the
snapshot test, and reports whether a test failed and which one. Then it undoes
the edit. The report ends with caught / planted; the exit code is 1 if any fault
survived (or no longer applies to the source: the list is kept in step by
tests/faults/test_run.py).

    python -m tests.faults.run [--only SUBSTRING ...]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRATCH = ROOT / "build" / "template-faults"
# What a developer runs after `make snapshots`: every template test but the snapshot one.
SUITE = ["tests/templates", "--ignore=tests/templates/test_snapshots.py"]


@dataclass(frozen=True)
class Fault:
    name: str
    kind: str
    path: str
    old: str
    new: str


FAULTS = (
    Fault(
        "InfluxDB admits backend and ripples on a port it does not serve",
        "security-group port",
        "templates_py/stacks/full.py",
        "influxdb.allow_from(t, source.name, services[source.name].security_group, INFLUXDB_PORT, what)",
        "influxdb.allow_from(t, source.name, services[source.name].security_group, 8087, what)",
    ),
    Fault(
        "ripples is never admitted to InfluxDB",
        "missing security-group rule",
        "templates_py/stacks/full.py",
        '        (model.RIPPLES, "InfluxDB writes from ripples"),\n',
        "",
    ),
    Fault(
        "the on-failure destination cannot be sent to",
        "role grant",
        "templates_py/blocks/policies.py",
        "return allow([sqs.SendMessage], [queue_arn])",
        "return allow([sqs.GetQueueUrl], [queue_arn])",
    ),
    Fault(
        "EFS mounted without the write action",
        "role grant",
        "templates_py/blocks/policies.py",
        "[elasticfilesystem.ClientMount, elasticfilesystem.ClientWrite],\n        [file_system_arn],",
        "[elasticfilesystem.ClientMount],\n        [file_system_arn],",
    ),
    Fault(
        "execution roles cannot read the secrets they inject",
        "role grant",
        "templates_py/blocks/policies.py",
        "return allow([secretsmanager.GetSecretValue], secret_arns)",
        "return allow([secretsmanager.DescribeSecret], secret_arns)",
    ),
    Fault(
        "execution roles cannot pull image layers",
        "role grant",
        "templates_py/blocks/policies.py",
        "allow([ecr.BatchCheckLayerAvailability, ecr.BatchGetImage, ecr.GetDownloadUrlForLayer], repository_arns)",
        "allow([ecr.BatchCheckLayerAvailability, ecr.GetDownloadUrlForLayer], repository_arns)",
    ),
    Fault(
        "Grafana's admin password under a name Grafana does not read",
        "third-party image contract",
        "templates_py/components/grafana.py",
        'secrets={"GF_SECURITY_ADMIN_PASSWORD":',
        'secrets={"GF_ADMIN_PASSWORD":',
    ),
    Fault(
        "every target group checks /health",
        "health-check path",
        "templates_py/blocks/load_balancers.py",
        "HealthCheckPath=health_path,",
        'HealthCheckPath="/health",',
    ),
    Fault(
        "Grafana's access point owned by InfluxDB's uid",
        "third-party image contract",
        "templates_py/stacks/foundations.py",
        '"/grafana",\n            "472",',
        '"/grafana",\n            "1000",',
    ),
    Fault(
        "service log groups keep logs 30 days whatever LogRetentionDays says",
        "parameter plumbing",
        "templates_py/blocks/fargate.py",
        'logs.LogGroup(f"{name}LogGroup", RetentionInDays=log_retention)',
        'logs.LogGroup(f"{name}LogGroup", RetentionInDays=30)',
    ),
    Fault(
        "task CPU fixed at 256 whatever its parameter says",
        "parameter plumbing",
        "templates_py/blocks/fargate.py",
        "Cpu=container.cpu,",
        'Cpu="256",',
    ),
    Fault(
        "application images always 'latest'",
        "parameter plumbing",
        "templates_py/stacks/full.py",
        "Ref(chosen.image_tag)]",
        '"latest"]',
    ),
    Fault(
        "alarms without their actions",
        "parameter plumbing",
        "templates_py/blocks/alarms.py",
        "            AlarmActions=alarms.actions,\n",
        "",
    ),
    Fault(
        "a default schedule EventBridge Scheduler refuses (day-of-month and day-of-week both set)",
        "invalid default",
        "templates_py/blocks/schedule.py",
        'DEFAULT_START = "cron(0 9 ? * MON-FRI *)"',
        'DEFAULT_START = "cron(0 9 * * MON-FRI *)"',
    ),
    Fault(
        "single writers deploy rolling (two at once)",
        "deployment",
        "templates_py/blocks/fargate.py",
        "MaximumPercent=100 if placement.single_writer else 200,",
        "MaximumPercent=200,",
    ),
    Fault(
        "scheduler targets name the aws partition",
        "partition",
        "templates_py/blocks/schedule.py",
        'Arn=Sub(f"arn:${{AWS::Partition}}:scheduler:::aws-sdk:{api}"),',
        'Arn=f"arn:aws:scheduler:::aws-sdk:{api}",',
    ),
    Fault(
        "the dashboard is not told its port",
        "application image contract",
        "templates_py/components/web.py",
        'environment={"PORT": port, "HOST": "0.0.0.0"}',
        'environment={"HOST": "0.0.0.0"}',
    ),
    Fault(
        "private tasks do not wait for the NAT route",
        "creation order",
        "templates_py/blocks/network.py",
        '{nat_route.title: If(nat_condition, Ref(nat_route), ""), **{a.title: Ref(a) for a in associations}},',
        "{a.title: Ref(a) for a in associations},",
    ),
)


def stale(faults=FAULTS, root: Path = ROOT) -> list[str]:
    """Faults whose `old` text is not exactly once in its file (the source moved on)."""
    found = []
    for fault in faults:
        text = (root / fault.path).read_text(encoding="utf-8")
        if text.count(fault.old) != 1:
            found.append(f"{fault.name}: {fault.path} holds its text {text.count(fault.old)} times, not once")
    return found


def first_failure(output: str) -> str | None:
    """The first failing test of a `pytest -rf` run, or None when all passed."""
    match = re.search(r"^(?:FAILED|ERROR) (\S+)", output, re.MULTILINE)
    return match.group(1) if match else None


def _scratch() -> Path:
    if SCRATCH.exists():
        shutil.rmtree(SCRATCH)
    ignore = shutil.ignore_patterns(".venv*", ".git", "build", "mutants", "__pycache__", ".pytest_cache", "dist")
    shutil.copytree(ROOT, SCRATCH, ignore=ignore)
    # checkov's and SAM CLI's own virtualenvs (test_lint and test_sam_cli run them), shared rather than copied.
    for venv in (".venv-checkov", ".venv-sam"):
        if (ROOT / venv).is_dir():
            (SCRATCH / venv).symlink_to(ROOT / venv)
    return SCRATCH


def _pytest(copy: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider", *args],
        cwd=copy,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})},
    )


def plant(copy: Path, fault: Fault) -> str | None:
    """Plant one fault in the copy, regenerate its snapshots, run the suite; the
    first failing test, or None. The copy is restored whatever happens."""
    path = copy / fault.path
    original = path.read_text(encoding="utf-8")
    snapshots = {p: p.read_bytes() for p in (copy / "tests/templates/snapshots").iterdir()}
    try:
        path.write_text(original.replace(fault.old, fault.new, 1), encoding="utf-8")
        _pytest(copy, "tests/templates/test_snapshots.py", env={"UPDATE_SNAPSHOTS": "1"})
        result = _pytest(copy, "-x", *SUITE)
        return first_failure(result.stdout) or (None if result.returncode == 0 else "pytest: " + result.stdout[-300:])
    finally:
        path.write_text(original, encoding="utf-8")
        for snapshot, body in snapshots.items():
            snapshot.write_bytes(body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make template-faults", description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=[], help="faults whose name contains one of these")
    args = parser.parse_args(argv)
    faults = [f for f in FAULTS if not args.only or any(part in f.name for part in args.only)]
    problems = stale(faults)
    if problems:
        print("\n".join(problems) + "\nupdate tests/faults/run.py to the source.", file=sys.stderr)
        return 1
    copy = _scratch()
    baseline = _pytest(copy, *SUITE)
    if baseline.returncode != 0:
        print(f"the template tests fail before any fault is planted:\n{baseline.stdout[-2000:]}", file=sys.stderr)
        return 1
    caught = 0
    for fault in faults:
        catcher = plant(copy, fault)
        caught += catcher is not None
        print(f"{'CAUGHT' if catcher else 'MISSED'}  [{fault.kind}] {fault.name}\n        {catcher or '-'}", flush=True)
    print(f"{caught} of {len(faults)} planted faults caught")
    return 0 if caught == len(faults) else 1


if __name__ == "__main__":
    sys.exit(main())
