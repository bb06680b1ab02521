"""Active hours: EventBridge Scheduler scales a profile's services to zero outside
given hours and back, calling ECS UpdateService directly (a universal target, no
Lambda). Off by default; the cost report shows what it saves.

https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-universal.html
"""

from __future__ import annotations

from typing import Sequence

from awacs import ecs as ecs_actions
from troposphere import Equals, GetAtt, If, Ref, Sub, Template
from troposphere import ecs, scheduler

from . import policies
from .parameters import add_parameter

CONDITION = "UseActiveHours"
# New York market hours (9:30-16:00) with a margin on each side, on weekdays.
DEFAULT_START = "cron(0 9 ? * MON-FRI *)"
DEFAULT_STOP = "cron(30 16 ? * MON-FRI *)"
DEFAULT_TIMEZONE = "America/New_York"
CRON_PATTERN = r"^cron\([0-9*?,/\-LW#A-Z ]+\)$"


def active_hours(t: Template, cluster: ecs.Cluster, services: Sequence[ecs.Service]) -> None:
    mode = add_parameter(
        t,
        "ActiveHours",
        description="'always': services run all the time. 'scheduled': they scale to zero at ActiveHoursStop and back to one task at ActiveHoursStart.",
        Default="always",
        AllowedValues=["always", "scheduled"],
    )
    start = add_parameter(
        t,
        "ActiveHoursStart",
        description="Scheduler cron expression for scaling the services up (default 09:00 on weekdays).",
        Default=DEFAULT_START,
        AllowedPattern=CRON_PATTERN,
        ConstraintDescription="a cron(minutes hours day-of-month month day-of-week year) expression.",
    )
    stop = add_parameter(
        t,
        "ActiveHoursStop",
        description="Scheduler cron expression for scaling the services to zero (default 16:30 on weekdays).",
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
    role = policies.role(
        "ActiveHoursRole",
        "scheduler.amazonaws.com",
        [policies.allow([ecs_actions.UpdateService], [Ref(service) for service in services])],
        "scale-services",
    )
    role.Condition = CONDITION
    t.add_resource(role)
    for service in services:
        # Under a schedule the task count is the scheduler's: without DesiredCount a
        # stack update leaves it alone instead of starting tasks at night.
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ecs-service.html#cfn-ecs-service-desiredcount
        service.DesiredCount = If(CONDITION, Ref("AWS::NoValue"), service.DesiredCount)
        for action, expression, count in (("Start", start, 1), ("Stop", stop, 0)):
            t.add_resource(
                scheduler.Schedule(
                    f"{service.title.removesuffix('Service')}{action}Schedule",
                    Condition=CONDITION,
                    Description=Sub(f"${{AWS::StackName}}: {action.lower()} {service.title} ({count} task{'s' if count != 1 else ''})"),
                    ScheduleExpression=Ref(expression),
                    ScheduleExpressionTimezone=Ref(timezone),
                    FlexibleTimeWindow=scheduler.FlexibleTimeWindow(Mode="OFF"),
                    State="ENABLED",
                    Target=scheduler.Target(
                        Arn="arn:aws:scheduler:::aws-sdk:ecs:updateService",
                        RoleArn=GetAtt(role, "Arn"),
                        Input=Sub(
                            '{"Cluster":"${Cluster}","Service":"${Service}","DesiredCount":%d}' % count,
                            Cluster=Ref(cluster),
                            Service=GetAtt(service, "Name"),
                        ),
                        RetryPolicy=scheduler.RetryPolicy(MaximumRetryAttempts=3, MaximumEventAgeInSeconds=3600),
                    ),
                )
            )
