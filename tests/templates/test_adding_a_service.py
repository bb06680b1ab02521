"""A service added through the model reaches everything that should see it: a
dummy `Replay` service (a second reader of the upstream stream) is added to the
full manifest with its container settings and task size, as docs/architecture.md
("How to add a service") says; the templates render it whole, foundations gets
its repository, the contract check holds it to a contract entry, smoke checks it
and the cost report prices it. Nothing else is edited."""

from __future__ import annotations

import dataclasses
import json

import pytest

from streamlines import cost, smoke
from templates_py import exports, model
from templates_py.components.pipeline import ContainerSettings
from templates_py.config import BuildConfig, TaskSize
from templates_py.render import render
from templates_py.stacks import full

from .deploy_checks import contract, implements_the_contract

REPLAY = model.Service("Replay", "Replay", contract="replay")
CONTRACT = {
    "port": {"none": True},
    "health": {"kind": "none", "watch": "its log group"},
    "environment": {"KINESIS_UPSTREAM_NAME": {"description": "the stream it replays"}},
}


@pytest.fixture
def with_replay(monkeypatch) -> dict[str, dict]:
    """Every template rendered with Replay in full's manifest."""
    manifest = model.manifest("full")
    monkeypatch.setitem(model.MANIFESTS, "full", dataclasses.replace(manifest, services=(*manifest.services, REPLAY)))
    monkeypatch.setitem(
        full.SETTINGS,
        REPLAY.name,
        lambda base: ContainerSettings({"KINESIS_UPSTREAM_NAME": full.Ref(base.upstream)}, {}, []),
    )
    config = dataclasses.make_dataclass(
        "WithReplay",
        [("replay", TaskSize, dataclasses.field(default=TaskSize(256, 512)))],
        bases=(BuildConfig,),
        frozen=True,
    )()
    return {name.removesuffix(".json"): json.loads(body) for name, body in render("all", config.validated()).items()}


def test_the_templates_render_the_new_service_whole(with_replay):
    resources, parameters = with_replay["full"]["Resources"], with_replay["full"]["Parameters"]
    for suffix in ("Service", "TaskDefinition", "SecurityGroup", "LogGroup", "TaskRole", "ExecutionRole"):
        assert f"Replay{suffix}" in resources, suffix
    assert {"ReplayImageTag", "ReplayCpu", "ReplayMemory"} <= set(parameters)
    # Its alarm, and the active-hours schedules that scale it.
    assert any("Replay" in json.dumps(r) for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm")
    schedules = [r for r in resources.values() if r["Type"] == "AWS::Scheduler::Schedule"]
    assert any("ReplayService" in json.dumps(s) for s in schedules)
    # Foundations makes its ECR repository, and exports what full imports of it.
    assert "replay" in exports.repositories()
    assert exports.repository_uri("replay") in json.dumps(with_replay["foundations"]["Outputs"])


def test_the_contract_check_holds_it_to_its_entry(with_replay):
    template = with_replay["full"]
    entries = {**contract(), "replay": CONTRACT}
    implements_the_contract(template, {}, "replay", entries)
    # An entry that says otherwise fails, and so does none.
    with pytest.raises(AssertionError):
        implements_the_contract(template, {}, "replay", {**entries, "replay": {**CONTRACT, "environment": {}}})
    with pytest.raises(KeyError):
        implements_the_contract(template, {}, "replay")


def test_smoke_checks_it(with_replay):
    services = [i for i, r in with_replay["full"]["Resources"].items() if r["Type"] == "AWS::ECS::Service"]
    arns = {i: f"arn:aws:ecs:us-east-1:123456789012:service/sl-cluster/sl-full-{i}" for i in services}

    class Stack:
        def of_type(self, kind):
            return sorted(arns.items()) if kind == "AWS::ECS::Service" else []

    class Ecs:
        def describe_services(self, cluster, services):
            assert cluster == "sl-cluster" and len(services) <= smoke.DESCRIBE_SERVICES_AT_MOST
            return {
                "services": [
                    {"serviceName": arn.rsplit("/", 1)[-1], "desiredCount": 1, "runningCount": 1} for arn in services
                ]
            }

    checked = [check.name for check in smoke._services(Ecs(), Stack())]
    assert "service sl-full-ReplayService" in checked and len(checked) == len(services)


def test_the_cost_report_prices_it(with_replay, templates):
    prices, assumptions = cost.load_prices("us-east-1"), cost.Assumptions()
    values = {"NetworkMode": "public"}
    before = cost.estimate(templates["full"], values, prices, assumptions)
    after = cost.estimate(with_replay["full"], values, prices, assumptions)
    added = [line for line in after.lines if line not in before.lines]
    assert added and all("Replay" in line.component for line in added)
    assert after.total > before.total
