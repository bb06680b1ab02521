"""Active hours: EventBridge Scheduler scales a profile's services to zero outside
given hours and back, calling ECS UpdateService directly (a universal target, no
Lambda). Off by default; the cost report shows what it saves.

https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-universal.html
"""

from __future__ import annotations

from typing import Sequence

from awacs import cloudwatch as cw
from awacs import ecs as ecs_actions
from troposphere import Equals, GetAtt, If, Parameter, Ref, Sub, Template, ecs, scheduler

from . import policies
from .alarms import Alarms, alarm_name
from .parameters import add_parameter

CONDITION = "UseActiveHours"
# New York market hours (9:30-16:00) with a margin on each side, on weekdays.
DEFAULT_START = "cron(0 9 ? * MON-FRI *)"
DEFAULT_STOP = "cron(30 16 ? * MON-FRI *)"
DEFAULT_TIMEZONE = "America/New_York"
CRON_PATTERN = r"^cron\([0-9*?,/\-LW#A-Z ]+\)$"


def active_hours(
    t: Template, cluster: ecs.Cluster, services: Sequence[ecs.Service], alarms: Alarms | None = None
) -> None:
    """The ActiveHours parameters and, when scheduled, a start and a stop schedule per
    service; with `alarms`, two more turn the actions of `alarms.scaled` off at the
    stop and on at the start, so that a service stopped on purpose notifies nobody."""
    mode = add_parameter(
        t,
        "ActiveHours",
        description="'always': services run all the time. 'scheduled': they scale to zero at ActiveHoursStop "
        "and back to one task at ActiveHoursStart.",
        Default="always",
        AllowedValues=["always", "scheduled"],
    )
    start = add_parameter(
        t,
        "ActiveHoursStart",
        description="Cron expression for scaling the services up (default 09:00 on weekdays).",
        Default=DEFAULT_START,
        AllowedPattern=CRON_PATTERN,
        ConstraintDescription="a cron(minutes hours day-of-month month day-of-week year) expression.",
    )
    stop = add_parameter(
        t,
        "ActiveHoursStop",
        description="Cron expression for scaling the services to zero (default 16:30 on weekdays).",
        Default=DEFAULT_STOP,
        AllowedPattern=CRON_PATTERN,
        ConstraintDescription="a cron(minutes hours day-of-month month day-of-week year) expression.",
    )
    timezone = add_parameter(
        t,
        "ActiveHoursTimezone",
        description="IANA time zone the cron expressions are in.",
        Default=DEFAULT_TIMEZONE,
        AllowedPattern=r"^[A-Za-z]+(/[A-Za-z0-9_+\-]+){0,2}$",
        ConstraintDescription="an IANA time zone such as America/New_York or UTC.",
    )
    t.add_condition(CONDITION, Equals(Ref(mode), "scheduled"))
    scaled = alarms.scaled if alarms else []
    statements = [policies.allow([ecs_actions.UpdateService], [Ref(service) for service in services])]
    if scaled:
        alarm_arn = "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:"
        statements.append(
            policies.allow(
                [cw.DisableAlarmActions, cw.EnableAlarmActions], [Sub(alarm_arn + alarm_name(a.title)) for a in scaled]
            )
        )
    role = policies.role("ActiveHoursRole", "scheduler.amazonaws.com", statements, "scale-services")
    role.Condition = CONDITION
    t.add_resource(role)

    def schedule(logical_id: str, expression: Parameter, api: str, payload: Sub) -> None:
        """One call of AWS API `api` (service:action) with `payload` at `expression`."""
        t.add_resource(
            scheduler.Schedule(
                logical_id,
                Condition=CONDITION,
                ScheduleExpression=Ref(expression),
                ScheduleExpressionTimezone=Ref(timezone),
                FlexibleTimeWindow=scheduler.FlexibleTimeWindow(Mode="OFF"),
                Target=scheduler.Target(
                    # Universal targets are ARNs too: in aws-cn and aws-us-gov the partition differs.
                    Arn=Sub(f"arn:${{AWS::Partition}}:scheduler:::aws-sdk:{api}"),
                    RoleArn=GetAtt(role, "Arn"),
                    Input=payload,
                    # A late stop or start is worse than none: give up after an hour.
                    RetryPolicy=scheduler.RetryPolicy(MaximumRetryAttempts=3, MaximumEventAgeInSeconds=3600),
                ),
            )
        )

    for service in services:
        # Under a schedule the task count is the scheduler's: without DesiredCount a
        # stack update leaves it alone instead of starting tasks at night.
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ecs-service.html#cfn-ecs-service-desiredcount
        service.DesiredCount = If(CONDITION, Ref("AWS::NoValue"), service.DesiredCount)
        for action, expression, count in (("Start", start, 1), ("Stop", stop, 0)):
            payload = Sub(
                '{"Cluster":"${Cluster}","Service":"${Service}","DesiredCount":%d}' % count,
                Cluster=Ref(cluster),
                Service=GetAtt(service, "Name"),
            )
            schedule(
                f"{service.title.removesuffix('Service')}{action}Schedule", expression, "ecs:updateService", payload
            )
    # The alarms are off as long as their services are: from the stop until the start.
    if scaled:
        # DisableAlarmActions outlives the schedule that called it: an update that
        # turns active hours off outside them deletes the start schedule, and an
        # alarm whose properties do not change is never put again. So each such
        # alarm's description differs between the two modes: switching re-puts it
        # with ActionsEnabled true (PutMetricAlarm overwrites the whole alarm).
        # https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
        for made in scaled:
            made.AlarmDescription = Sub(
                made.AlarmDescription + "${Paused}", Paused=If(CONDITION, " Paused outside active hours.", "")
            )
        names = Sub('{"AlarmNames":[%s]}' % ",".join(f'"{alarm_name(a.title)}"' for a in scaled))
        schedule("AlarmsStartSchedule", start, "cloudwatch:enableAlarmActions", names)
        schedule("AlarmsStopSchedule", stop, "cloudwatch:disableAlarmActions", names)
