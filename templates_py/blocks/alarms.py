"""CloudWatch alarms for what breaks the system, and the optional email that hears them.

Each alarm is called `<stack>-<what is wrong>` and its description says where to
look, so the notification alone tells the operator what to open. `AlarmEmail`
(optional) creates an SNS topic with an email subscription; without it the
alarms exist (console, `streamlines smoke`) and have no actions.

A service's alarm uses the best signal it has: healthy targets behind its load
balancer, else whether any task reports CPU at all (the free AWS/ECS metric;
the running-task count needs Container Insights, which costs more than the
rest of the monitoring). Both treat missing data as breaching: a service with
no task reports nothing. Services that active hours scale to zero on purpose
are listed in `Alarms.scaled`: the schedule turns their alarm actions off and on
with them (blocks/schedule.py).

Metrics and dimensions: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html,
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/available-metrics.html,
https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html,
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html,
https://docs.aws.amazon.com/streams/latest/dev/monitoring-with-cloudwatch.html
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from troposphere import Equals, GetAtt, If, Not, Ref, Sub, Template, cloudwatch, sns

from .parameters import add_parameter, skip_checkov
from .tags import kebab

EMAIL_PARAMETER = "AlarmEmail"
NOTIFY = "NotifyAlarmEmail"
EMAIL_PATTERN = r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$"


@dataclass
class Alarms:
    actions: Any
    # Alarms of services the active-hours schedule scales to zero: their actions
    # are off while the services are.
    scaled: list[cloudwatch.Alarm] = field(default_factory=list)


def alarm_name(logical_id: str) -> str:
    """`${AWS::StackName}-influx-db-not-serving` for `InfluxDbNotServing` (a Sub pattern)."""
    return "${AWS::StackName}-" + kebab(logical_id)


def alarm_notifications(t: Template) -> Alarms:
    """The AlarmEmail parameter and, when it is set, the topic the alarms notify."""
    email = add_parameter(
        t,
        EMAIL_PARAMETER,
        description="Email address the alarms notify (confirm the subscription AWS mails); empty: alarms without "
        "notifications.",
        Default="",
        AllowedPattern=EMAIL_PATTERN,
        ConstraintDescription="empty, or an email address.",
    )
    t.add_condition(NOTIFY, Not(Equals(Ref(email), "")))
    topic = t.add_resource(
        sns.Topic(
            "AlarmTopic", Condition=NOTIFY, Subscription=[sns.Subscription(Protocol="email", Endpoint=Ref(email))]
        )
    )
    # CloudWatch cannot publish to a topic under the AWS managed SNS key; the messages hold no data.
    skip_checkov(topic, CKV_AWS_26="Alarm state changes only; CloudWatch cannot use the AWS managed SNS key.")
    return Alarms(actions=If(NOTIFY, [Ref(topic)], Ref("AWS::NoValue")))


def alarm(
    t: Template,
    alarms: Alarms,
    logical_id: str,
    description: str,
    metric: Metric,
    threshold: float,
    comparison: str,
    periods: int = 5,
    period: int = 60,
    missing: str = "notBreaching",
) -> cloudwatch.Alarm:
    """One alarm on one metric."""
    return t.add_resource(
        cloudwatch.Alarm(
            logical_id,
            AlarmName=Sub(alarm_name(logical_id)),
            AlarmDescription=description,
            Namespace=metric.namespace,
            MetricName=metric.name,
            Dimensions=metric.dimensions,
            Statistic=metric.statistic,
            Period=period,
            EvaluationPeriods=periods,
            Threshold=threshold,
            ComparisonOperator=comparison,
            TreatMissingData=missing,
            # Explicit, not the default: an update puts the whole alarm again, which
            # re-enables actions a schedule disabled (blocks/schedule.py).
            ActionsEnabled=True,
            AlarmActions=alarms.actions,
        )
    )


@dataclass
class Metric:
    namespace: Any
    name: Any
    dimensions: Any
    statistic: Any

    @classmethod
    def of(cls, namespace: str, name: str, dimensions: dict[str, Any], statistic: str) -> "Metric":
        return cls(
            namespace,
            name,
            [cloudwatch.MetricDimension(Name=key, Value=value) for key, value in dimensions.items()],
            statistic,
        )

    def parts(self) -> tuple[Any, Any, Any, Any]:
        return (self.namespace, self.name, self.dimensions, self.statistic)

    def unless(self, condition: str, other: "Metric") -> "Metric":
        """This metric while `condition` holds, else `other` (field by field)."""
        return Metric(*(If(condition, mine, theirs) for mine, theirs in zip(self.parts(), other.parts(), strict=True)))


def healthy_targets(load_balancer: Any, target_group: Any) -> Metric:
    dimensions = {
        "LoadBalancer": GetAtt(load_balancer, "LoadBalancerFullName"),
        "TargetGroup": GetAtt(target_group, "TargetGroupFullName"),
    }
    return Metric.of("AWS/ApplicationELB", "HealthyHostCount", dimensions, "Minimum")


def running_task(cluster: Any, service: Any) -> Metric:
    # Fargate services report CPUUtilization while a task runs; no task, no sample.
    return Metric.of(
        "AWS/ECS", "CPUUtilization", {"ClusterName": cluster, "ServiceName": GetAtt(service, "Name")}, "SampleCount"
    )


def service_alarm(
    t: Template,
    alarms: Alarms,
    label: str,
    service: Any,
    cluster: Any,
    load_balancer: Any = None,
    exposed: str | None = None,
    scaled: bool = False,
) -> cloudwatch.Alarm:
    """`<Service>NotServing`: no healthy target for five minutes when the service is
    behind `load_balancer` (only while condition `exposed` holds, if given), else no
    running task for five minutes."""
    logical_id = service.title.removesuffix("Service") + "NotServing"
    running = running_task(cluster, service)
    if load_balancer is None:
        metric, what = running, "no running task"
    else:
        serving = healthy_targets(load_balancer.load_balancer, load_balancer.target_group)
        metric = serving if exposed is None else serving.unless(exposed, running)
        what = "no healthy target" if exposed is None else "no healthy target (no running task without its ALB)"
    made = alarm(
        t,
        alarms,
        logical_id,
        f"{label}: {what} for 5 minutes. See the {service.title} events and its logs.",
        metric,
        threshold=1,
        comparison="LessThanThreshold",
        missing="breaching",
    )
    if scaled:
        alarms.scaled.append(made)
    return made


def stream_throttled(t: Template, alarms: Alarms, logical_id: str, stream: Any, writer: str) -> cloudwatch.Alarm:
    """Writes refused for want of throughput in three 5-minute periods running."""
    return alarm(
        t,
        alarms,
        logical_id,
        f"Kinesis refuses {writer}'s writes to {stream.title} (throughput exceeded for 15 minutes): raise its "
        "shards or use on-demand.",
        Metric.of("AWS/Kinesis", "WriteProvisionedThroughputExceeded", {"StreamName": Ref(stream)}, "Sum"),
        threshold=0,
        comparison="GreaterThanThreshold",
        periods=3,
        period=300,
    )


def stream_consumer_alarms(
    t: Template, alarms: Alarms, name: str, function: Any, stream: Any
) -> list[cloudwatch.Alarm]:
    """A stream-fed function's errors (any, in 5 minutes) and how far behind it reads
    (`IteratorAge` above a minute for 5 minutes)."""
    dimensions = {"FunctionName": Ref(function)}
    return [
        alarm(
            t,
            alarms,
            f"{name}Errors",
            f"{name} failed on a batch of {stream.title} in the last 5 minutes: see its log group.",
            Metric.of("AWS/Lambda", "Errors", dimensions, "Sum"),
            threshold=0,
            comparison="GreaterThanThreshold",
            periods=1,
            period=300,
        ),
        alarm(
            t,
            alarms,
            f"{name}FallingBehind",
            f"{name} reads {stream.title} more than a minute late for 5 minutes: see its duration and throttles.",
            Metric.of("AWS/Lambda", "IteratorAge", dimensions, "Maximum"),
            threshold=60_000,
            comparison="GreaterThanThreshold",
        ),
    ]


def queue_not_empty(t: Template, alarms: Alarms, logical_id: str, queue: Any, description: str) -> cloudwatch.Alarm:
    """Anything waiting in `queue` (a dead-letter or on-failure destination)."""
    return alarm(
        t,
        alarms,
        logical_id,
        description,
        Metric.of(
            "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": GetAtt(queue, "QueueName")}, "Maximum"
        ),
        threshold=0,
        comparison="GreaterThanThreshold",
        periods=1,
        period=300,
    )
