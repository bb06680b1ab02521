"""The optional active-hours schedule in both profiles."""

from __future__ import annotations

import json

import pytest

from ..walk import exists, grants, resources


@pytest.mark.parametrize("stack", ["lite", "full"])
def test_each_service_is_started_and_stopped_by_the_scheduler_when_asked(templates, stack):
    template = templates[stack]
    services = {logical_id for logical_id, _ in resources(template, "AWS::ECS::Service")}
    # The two alarm schedules: test_alarms.py.
    schedules = [(i, s) for i, s in resources(template, "AWS::Scheduler::Schedule") if not i.startswith("Alarms")]
    assert len(schedules) == 2 * len(services)
    seen = set()
    for logical_id, schedule in schedules:
        assert not exists(logical_id, template, {})
        assert exists(logical_id, template, {"ActiveHours": "scheduled"})
        target = schedule["Properties"]["Target"]
        assert target["Arn"] == {"Fn::Sub": "arn:${AWS::Partition}:scheduler:::aws-sdk:ecs:updateService"}
        text, variables = target["Input"]["Fn::Sub"]
        count = json.loads(text.replace("${Cluster}", "c").replace("${Service}", "s"))["DesiredCount"]
        assert count == (1 if logical_id.endswith("StartSchedule") else 0)
        assert variables["Cluster"] == {"Ref": "Cluster"}
        seen.add(variables["Service"]["Fn::GetAtt"][0])
        assert schedule["Properties"]["ScheduleExpressionTimezone"] == {"Ref": "ActiveHoursTimezone"}
    assert seen == services


@pytest.mark.parametrize("stack", ["lite", "full"])
def test_scheduler_role_may_only_update_these_services(templates, stack):
    template = templates[stack]
    services = {json.dumps({"Ref": logical_id}) for logical_id, _ in resources(template, "AWS::ECS::Service")}
    ecs = {(action, resource) for action, resource in grants(template, "ActiveHoursRole") if action.startswith("ecs:")}
    assert ecs == {("ecs:UpdateService", s) for s in services}
    assert template["Parameters"]["ActiveHoursTimezone"]["Default"] == "America/New_York"


@pytest.mark.parametrize("stack", ["lite", "full"])
def test_scheduled_services_leave_the_task_count_to_the_scheduler(templates, stack):
    from ..walk import resolve

    template = templates[stack]
    for logical_id, service in resources(template, "AWS::ECS::Service"):
        assert resolve(service["Properties"], template, {})["DesiredCount"] == 1, logical_id
        assert "DesiredCount" not in resolve(service["Properties"], template, {"ActiveHours": "scheduled"}), logical_id
