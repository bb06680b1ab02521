"""Deploys you can watch (streamlines/events.py): a double of DescribeStackEvents
replays a recorded failed create, newest first and a page at a time as the API
answers (API_DescribeStackEvents.html); the watch tells each new event once, in
order, and on failure the cause before the cancellations, with the nested stack's."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from streamlines import events

START = datetime(2026, 12, 6, 9, 0, tzinfo=timezone.utc)
STACK = "sl-lite"
NESTED = "arn:aws:cloudformation:us-east-1:123456789012:stack/sl-lite-Nested-1/abc"


def event(n: int, logical_id: str, status: str, kind: str = "AWS::EC2::SecurityGroup", reason: str = "", **extra):
    return {
        "EventId": f"{logical_id}-{n}",
        "StackName": STACK,
        "LogicalResourceId": logical_id,
        "ResourceType": kind,
        "ResourceStatus": status,
        "Timestamp": START + timedelta(seconds=n),
        **({"ResourceStatusReason": reason} if reason else {}),
        **extra,
    }


# A first create that fails: what DescribeStackEvents answers after each step, oldest first.
RECORDED = [
    event(0, STACK, "CREATE_IN_PROGRESS", "AWS::CloudFormation::Stack", "User Initiated"),
    event(1, "GrafanaSecurityGroup", "CREATE_IN_PROGRESS"),
    event(2, "GrafanaSecurityGroup", "CREATE_COMPLETE"),
    event(3, "Nested", "CREATE_IN_PROGRESS", "AWS::CloudFormation::Stack", PhysicalResourceId=NESTED),
    event(4, "InfluxDbService", "CREATE_FAILED", "AWS::ECS::Service", "Resource creation cancelled"),
    event(
        5, "Nested", "CREATE_FAILED", "AWS::CloudFormation::Stack", "Embedded stack failed", PhysicalResourceId=NESTED
    ),
    event(6, STACK, "ROLLBACK_IN_PROGRESS", "AWS::CloudFormation::Stack", "The following resource(s) failed"),
]
NESTED_EVENTS = [
    event(10, "TokenRule", "CREATE_FAILED", "AWS::EC2::SecurityGroupIngress", "Invalid port range 70000"),
]


class CloudFormation:
    """DescribeStackEvents over a recording: `shown` events exist so far; pages of 2."""

    PAGE = 2

    def __init__(self, recorded: list[dict], nested: list[dict] | None = None, exists: bool = True):
        self.recorded, self.nested, self.exists, self.shown = recorded, nested or [], exists, 0

    def get_paginator(self, operation):
        assert operation == "describe_stack_events"
        return self

    def paginate(self, StackName):
        if StackName == NESTED:
            found = list(reversed(self.nested))
        elif not self.exists or StackName != STACK:
            raise ClientError(
                {"Error": {"Code": "ValidationError", "Message": f"Stack [{StackName}] does not exist"}},
                "DescribeStackEvents",
            )
        else:
            found = list(reversed(self.recorded[: self.shown]))
        for start in range(0, max(len(found), 1), self.PAGE):
            yield {"StackEvents": found[start : start + self.PAGE]}


def test_each_new_event_is_told_once_and_in_order():
    cloudformation = CloudFormation(RECORDED)
    cloudformation.shown = 1  # the stack's start is before the watch
    watched = events.StackEvents(cloudformation, STACK)
    watched.start()
    cloudformation.shown = 3
    assert [e["EventId"] for e in watched.new()] == ["GrafanaSecurityGroup-1", "GrafanaSecurityGroup-2"]
    assert watched.new() == []
    cloudformation.shown = 7
    assert [e["EventId"] for e in watched.new()] == [e["EventId"] for e in RECORDED[3:]]


def test_a_line_names_the_time_resource_status_type_and_reason():
    assert events.line(RECORDED[4]) == (
        "09:00:04  InfluxDbService                  CREATE_FAILED        AWS::ECS::Service  Resource creation cancelled"
    )
    assert events.line(RECORDED[2]).endswith("CREATE_COMPLETE      AWS::EC2::SecurityGroup")


def test_the_failure_report_puts_causes_first_and_reads_nested_stacks():
    cloudformation = CloudFormation(RECORDED, NESTED_EVENTS)
    watched = events.StackEvents(cloudformation, STACK)
    watched.start()
    cloudformation.shown = 7
    watched.new()
    report = watched.failures()
    assert report[0].startswith("09:00:05  Nested") and report[0].endswith("Embedded stack failed")
    assert report[1].startswith("    nested: 09:00:10  TokenRule") and report[1].endswith("Invalid port range 70000")
    assert "Resource creation cancelled" in report[2]
    assert len(report) == 3


def test_a_stack_not_created_yet_has_no_events():
    watched = events.StackEvents(CloudFormation(RECORDED, exists=False), STACK)
    watched.start()
    assert watched.new() == [] and watched.failures() == []


def test_other_errors_are_not_taken_for_a_missing_stack():
    class Refusing(CloudFormation):
        def paginate(self, StackName):
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized"}}, "DescribeStackEvents")

    with pytest.raises(ClientError):
        events.StackEvents(Refusing(RECORDED), STACK).start()


def test_watching_tells_events_while_the_deploy_runs_and_the_causes_when_it_fails():
    cloudformation = CloudFormation(RECORDED, NESTED_EVENTS)
    said: list[str] = []

    class DeployFailed(Exception):
        pass

    with pytest.raises(DeployFailed):
        with events.watching(cloudformation, STACK, said.append, interval=0.01):
            cloudformation.shown = 7  # what happened while `aws cloudformation deploy` ran
            raise DeployFailed()
    told = [line for line in said if line[:2] == "09"]
    assert len(told) == 7 and told[0].startswith("09:00:00  sl-lite")
    assert said[7] == "sl-lite failed; the first failures:"
    assert said[8].startswith("  09:00:05  Nested")


def test_a_successful_deploy_tells_every_event_and_no_failures():
    cloudformation = CloudFormation(RECORDED[:3])
    said: list[str] = []
    with events.watching(cloudformation, STACK, said.append, interval=0.01):
        cloudformation.shown = 3
    assert len(said) == 3 and not any("failed" in line for line in said)
