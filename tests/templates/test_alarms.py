"""The CloudWatch alarms of lite, its pipeline add-on and full, in every parameter branch.

An alarm on a metric that does not exist, or on the right metric with a wrong
dimension, is created without complaint and never fires: these tests hold each
alarm to the metrics AWS documents for its namespace and to the resource its
dimensions must name (links in templates_py/blocks/alarms.py).
"""

from __future__ import annotations

import json

import pytest

from templates_py.model import kebab

from ..walk import exists, grants, nodes, resolve, resources
from .branches import BRANCHES

# (namespace, metric) -> dimension -> (resource type, how the value names it), and
# the statistics that mean something for it.
METRICS = {
    ("AWS/ApplicationELB", "HealthyHostCount"): (
        {
            "LoadBalancer": ("AWS::ElasticLoadBalancingV2::LoadBalancer", "LoadBalancerFullName"),
            "TargetGroup": ("AWS::ElasticLoadBalancingV2::TargetGroup", "TargetGroupFullName"),
        },
        {"Minimum", "Average", "Maximum"},
    ),
    ("AWS/ECS", "CPUUtilization"): (
        {"ClusterName": ("AWS::ECS::Cluster", "Ref"), "ServiceName": ("AWS::ECS::Service", "Name")},
        {"SampleCount"},
    ),
    ("AWS/Lambda", "Errors"): ({"FunctionName": ("AWS::Lambda::Function", "Ref")}, {"Sum"}),
    ("AWS/Lambda", "IteratorAge"): ({"FunctionName": ("AWS::Lambda::Function", "Ref")}, {"Maximum", "Average"}),
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible"): (
        {"QueueName": ("AWS::SQS::Queue", "QueueName")},
        {"Maximum", "Average"},
    ),
    ("AWS/Kinesis", "WriteProvisionedThroughputExceeded"): (
        {"StreamName": ("AWS::Kinesis::Stream", "Ref")},
        {"Sum", "Average"},
    ),
    ("AWS/Kinesis", "IncomingRecords"): ({"StreamName": ("AWS::Kinesis::Stream", "Ref")}, {"Sum"}),
}
# The lite pipeline add-on runs on lite's cluster, which it imports.
IMPORTED = {"ClusterName": {"Fn::ImportValue": {"Fn::Sub": "${LiteStackName}-ClusterName"}}}
ALARMED = ("lite", "lite-pipeline", "full")


def branches(stack):
    return [pytest.param(stack, index, id=f"{stack}-{index}") for index in range(len(BRANCHES[stack]))]


ALL_BRANCHES = [branch for stack in ALARMED for branch in branches(stack)]


def alarms_in(template, values):
    for logical_id, alarm in resources(template, "AWS::CloudWatch::Alarm"):
        if exists(logical_id, template, values):
            yield logical_id, resolve(alarm["Properties"], template, values)


def named(value):
    """The logical id and attribute a dimension value refers to."""
    if "Ref" in value:
        return value["Ref"], "Ref"
    return tuple(value["Fn::GetAtt"])


@pytest.mark.parametrize("stack, index", ALL_BRANCHES)
def test_every_alarm_watches_a_metric_that_exists_for_the_resource_it_names(templates, stack, index):
    template, values = templates[stack], BRANCHES[stack][index]
    checked = 0
    for logical_id, alarm in alarms_in(template, values):
        key = (alarm["Namespace"], alarm["MetricName"])
        assert key in METRICS, f"{stack}.{logical_id}: {key} is not a metric this project knows AWS to publish"
        expected, statistics = METRICS[key]
        assert alarm["Statistic"] in statistics, f"{stack}.{logical_id}"
        dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
        assert set(dimensions) == set(expected), f"{stack}.{logical_id}: {key} is published per {sorted(expected)}"
        for name, value in dimensions.items():
            if IMPORTED.get(name) == value and stack == "lite-pipeline":
                continue
            target, attribute = named(value)
            assert (template["Resources"][target]["Type"], attribute) == expected[name], f"{stack}.{logical_id}.{name}"
            assert exists(target, template, values), f"{stack}.{logical_id} names {target}, absent in this branch"
        checked += 1
    assert checked >= 2


def described(description):
    """The text of a description, its Fn::Sub variables (decided for the branch) filled in."""
    if isinstance(description, str):
        return description
    text, variables = description["Fn::Sub"]
    for name, value in variables.items():
        text = text.replace("${%s}" % name, value)
    return text


@pytest.mark.parametrize("stack, index", ALL_BRANCHES)
def test_every_alarm_says_what_is_wrong_and_where_to_look(templates, stack, index):
    template, values = templates[stack], BRANCHES[stack][index]
    for logical_id, alarm in alarms_in(template, values):
        assert alarm["AlarmName"] == {"Fn::Sub": "${AWS::StackName}-" + kebab(logical_id)}
        description = described(alarm["AlarmDescription"])
        assert 40 <= len(description) <= 1024 and description.endswith("."), f"{stack}.{logical_id}"
        assert any(word in description for word in ("log", "events", "shards", "duration")), (
            f"{stack}.{logical_id}: {description}"
        )


@pytest.mark.parametrize("stack, index", ALL_BRANCHES)
def test_alarms_notify_the_email_topic_only_when_an_email_is_given(templates, stack, index):
    template, values = templates[stack], BRANCHES[stack][index]
    email = values.get("AlarmEmail", "")
    assert exists("AlarmTopic", template, values) == bool(email)
    for logical_id, alarm in alarms_in(template, values):
        assert "OKActions" not in alarm and "InsufficientDataActions" not in alarm
        if email:
            assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], f"{stack}.{logical_id}"
        else:
            assert "AlarmActions" not in alarm, f"{stack}.{logical_id}"
    if email:
        (subscription,) = template["Resources"]["AlarmTopic"]["Properties"]["Subscription"]
        assert subscription == {"Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}
        # CloudWatch cannot publish to a topic encrypted with the AWS managed SNS key.
        assert "KmsMasterKeyId" not in template["Resources"]["AlarmTopic"]["Properties"]


@pytest.mark.parametrize("stack, index", ALL_BRANCHES)
def test_each_service_has_one_alarm_on_the_best_signal_it_has(templates, stack, index):
    """Behind a load balancer (in this branch): its target group's healthy targets;
    else a task reporting at all. A service without a task reports nothing, so
    missing data is breaching."""
    template, values = templates[stack], BRANCHES[stack][index]
    watched = {}
    for logical_id, alarm in alarms_in(template, values):
        dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
        if alarm["MetricName"] == "CPUUtilization":
            watched.setdefault(named(dimensions["ServiceName"])[0], []).append(("task", logical_id))
        elif alarm["MetricName"] == "HealthyHostCount":
            group = named(dimensions["TargetGroup"])[0]
            balancer = named(dimensions["LoadBalancer"])[0]
            services = [
                service_id
                for service_id, service in resources(template, "AWS::ECS::Service")
                if {"Ref": group}
                in [
                    attachment["TargetGroupArn"]
                    for attachment in resolve(service["Properties"], template, values).get("LoadBalancers", [])
                ]
            ]
            assert len(services) == 1, f"{stack}.{logical_id}: target group {group} serves {services}"
            listeners = [
                listener_id
                for listener_id, listener in resources(template, "AWS::ElasticLoadBalancingV2::Listener")
                if exists(listener_id, template, values)
                and listener["Properties"]["LoadBalancerArn"] == {"Ref": balancer}
            ]
            forwards = [
                rule_id
                for rule_id, rule in list(resources(template, "AWS::ElasticLoadBalancingV2::Listener"))
                + list(resources(template, "AWS::ElasticLoadBalancingV2::ListenerRule"))
                if rule_id in listeners
                or any(node == {"Ref": listener} for listener in listeners for node in nodes(rule))
                if {"Ref": group} in nodes(resolve(rule["Properties"], template, values))
            ]
            assert forwards, f"{stack}.{logical_id}: no listener of {balancer} forwards to {group}"
            watched.setdefault(services[0], []).append(("targets", logical_id))
        else:
            continue
        assert alarm["TreatMissingData"] == "breaching", f"{stack}.{logical_id}"
        assert alarm["ComparisonOperator"] == "LessThanThreshold" and alarm["Threshold"] == 1
        assert alarm["Period"] * alarm["EvaluationPeriods"] == 300
    services = {
        logical_id: resolve(service["Properties"], template, values)
        for logical_id, service in resources(template, "AWS::ECS::Service")
    }
    assert set(watched) == set(services)
    for service_id, kinds in watched.items():
        behind = bool(services[service_id].get("LoadBalancers"))
        assert kinds == [("targets" if behind else "task", service_id.removesuffix("Service") + "NotServing")], (
            f"{stack}.{service_id}"
        )


@pytest.mark.parametrize("stack", ALARMED)
def test_every_stream_written_to_and_every_consumer_and_failure_queue_is_watched(templates, stack):
    template = templates[stack]
    alarms = [resolve(alarm["Properties"], template, {}) for _, alarm in resources(template, "AWS::CloudWatch::Alarm")]

    def watched(metric, dimension):
        return {
            json.dumps(d["Value"], sort_keys=True)
            for a in alarms
            if a["MetricName"] == metric
            for d in a["Dimensions"]
            if d["Name"] == dimension
        }

    # Every stream a task role may write to.
    written = {
        json.dumps({"Ref": node["Fn::GetAtt"][0]}, sort_keys=True)
        for _, role in resources(template, "AWS::IAM::Role")
        for policy in role["Properties"].get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
        if "kinesis:PutRecords" in statement["Action"] or "kinesis:PutRecord" in statement["Action"]
        for node in nodes(statement["Resource"])
        if isinstance(node, dict) and "Fn::GetAtt" in node
    }
    assert bool(written) == (stack != "lite")
    assert written == watched("WriteProvisionedThroughputExceeded", "StreamName")
    mappings = [mapping["Properties"] for _, mapping in resources(template, "AWS::Lambda::EventSourceMapping")]
    functions = {json.dumps(m["FunctionName"], sort_keys=True) for m in mappings}
    assert functions == watched("Errors", "FunctionName") == watched("IteratorAge", "FunctionName")
    queues = {
        json.dumps(
            {"Fn::GetAtt": [m["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0], "QueueName"]},
            sort_keys=True,
        )
        for m in mappings
    }
    assert queues == watched("ApproximateNumberOfMessagesVisible", "QueueName")
    assert bool(mappings) == (stack == "full")


@pytest.mark.parametrize("stack", ["lite", "full"])
def test_active_hours_silence_exactly_the_alarms_of_the_services_they_stop(templates, stack):
    template = templates[stack]
    scheduled = {"ActiveHours": "scheduled"}
    service_alarms = sorted(
        logical_id
        for logical_id, alarm in resources(template, "AWS::CloudWatch::Alarm")
        if logical_id.endswith("NotServing")
    )
    assert len(service_alarms) == len(list(resources(template, "AWS::ECS::Service")))
    # Ingest's output stops with ingest: its alarm is silenced with the services'.
    service_alarms += ["IngestNotWriting"] if stack == "full" else []
    names = [template["Resources"][a]["Properties"]["AlarmName"]["Fn::Sub"] for a in service_alarms]
    for logical_id, api, expression in (
        ("AlarmsStopSchedule", "disableAlarmActions", "ActiveHoursStop"),
        ("AlarmsStartSchedule", "enableAlarmActions", "ActiveHoursStart"),
    ):
        assert not exists(logical_id, template, {}) and exists(logical_id, template, scheduled)
        schedule = template["Resources"][logical_id]["Properties"]
        # The same expression as the services' own schedules: off with them, on with them.
        assert schedule["ScheduleExpression"] == {"Ref": expression}
        assert schedule["Target"]["Arn"] == {"Fn::Sub": f"arn:${{AWS::Partition}}:scheduler:::aws-sdk:cloudwatch:{api}"}
        assert sorted(json.loads(schedule["Target"]["Input"]["Fn::Sub"])["AlarmNames"]) == sorted(names)
    arn = "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:"
    allowed = {
        (action, resource)
        for action, resource in grants(template, "ActiveHoursRole")
        if action.startswith("cloudwatch:")
    }
    assert allowed == {
        (action, json.dumps({"Fn::Sub": arn + name}))
        for action in ("cloudwatch:DisableAlarmActions", "cloudwatch:EnableAlarmActions")
        for name in names
    }


def test_no_schedule_touches_the_alarms_of_the_pipeline_add_on(templates):
    """lite's active hours do not stop the add-on's services; their alarms stay on."""
    assert not list(resources(templates["lite-pipeline"], "AWS::Scheduler::Schedule"))
