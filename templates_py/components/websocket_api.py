"""The WebSocket API (API Gateway v2) the dashboard subscribes to: `$connect`,
`$disconnect` and `$default` routed to the connection-handler Lambda, the `prod`
stage with access logs, and an optional custom domain with a Route 53 alias."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import Equals, GetAtt, If, Join, Ref, Sub, Template, apigatewayv2, awslambda, logs, route53

from .. import exports, model
from ..blocks import policies
from ..blocks.functions import python_function
from ..blocks.parameters import add_parameter, deleted_with_stack, import_value, skip_checkov

STAGE = "prod"
# The custom domain exists only with a hosted zone, a certificate and a name.
DOMAIN_CONDITION = "WebSocketDomain"
ACCESS_LOGS_CONDITION = "WebSocketAccessLogsOn"
ACCESS_LOG_FORMAT = (
    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","routeKey":"$context.routeKey",'
    '"status":"$context.status","connectionId":"$context.connectionId","eventType":"$context.eventType",'
    '"error":"$context.error.message","integrationError":"$context.integrationErrorMessage"}'
)


@dataclass
class WebSocketApi:
    api: apigatewayv2.Api
    stage: apigatewayv2.Stage
    # wss:// URL clients connect to: the custom domain when there is one.
    url: Any


def management_endpoint() -> Any:
    """The https:// endpoint of the stage's connection management API (PostToConnection)."""
    return Sub("https://${WebSocketApi}.execute-api.${AWS::Region}.amazonaws.com/" + STAGE)


def websocket_api(
    t: Template, *, max_symbols: Any, certificate_arn: Any, hosted_zone_id: Any, domain_name: Any, log_retention: Any
) -> WebSocketApi:
    api = t.add_resource(
        apigatewayv2.Api(
            "WebSocketApi",
            Name=Sub("${AWS::StackName}-live"),
            ProtocolType="WEBSOCKET",
            RouteSelectionExpression="$request.body.action",
            Description='Live results for the dashboard: subscribe with {"subscribeTo": [symbols]}',
        )
    )
    handler = python_function(
        t,
        model.CONNECTION_HANDLER,
        description="WebSocket $connect, $disconnect and subscriptions",
        environment={
            "CONNECTIONS_TABLE": import_value(exports.CONNECTIONS_TABLE_NAME),
            "MAX_SYMBOLS_PER_CONNECTION": max_symbols,
        },
        statements=[
            policies.connections_table_access(import_value(exports.CONNECTIONS_TABLE_ARN)),
            policies.manage_connections(Ref(api), STAGE),
        ],
        log_retention=log_retention,
        timeout=10,
    )
    integration = t.add_resource(
        apigatewayv2.Integration(
            "ConnectionHandlerIntegration",
            ApiId=Ref(api),
            IntegrationType="AWS_PROXY",
            IntegrationUri=Sub(
                "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${FunctionArn}/invocations",
                FunctionArn=GetAtt(handler.function, "Arn"),
            ),
        )
    )
    routes = []
    for route_key, logical_id in (
        ("$connect", "ConnectRoute"),
        ("$disconnect", "DisconnectRoute"),
        ("$default", "DefaultRoute"),
    ):
        route = t.add_resource(
            apigatewayv2.Route(
                logical_id,
                ApiId=Ref(api),
                RouteKey=route_key,
                AuthorizationType="NONE",
                Target=Join("/", ["integrations", Ref(integration)]),
            )
        )
        routes.append(route.title)
    t.add_resource(
        awslambda.Permission(
            "ConnectionHandlerInvokePermission",
            Action="lambda:InvokeFunction",
            FunctionName=Ref(handler.function),
            Principal="apigateway.amazonaws.com",
            SourceArn=Sub("arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${WebSocketApi}/*"),
        )
    )
    # Stage access logging needs the account's API Gateway CloudWatch Logs role in
    # this region; a fresh account has none and the stage (and the whole stack)
    # fails. The setting is shared by every API in the region, so the stack does
    # not take it over: logging is the operator's choice, and preflight says
    # whether the role is set. https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html
    switch = add_parameter(
        t,
        "WebSocketAccessLogs",
        description="'enabled' writes WebSocket stage access logs; it needs the account's API Gateway CloudWatch "
        "Logs role in this region (docs/deploying.md, 'WebSocket access logs'; preflight checks it). 'disabled' "
        "works in a fresh account.",
        Default="disabled",
        AllowedValues=["enabled", "disabled"],
    )
    t.add_condition(ACCESS_LOGS_CONDITION, Equals(Ref(switch), "enabled"))
    access_logs = t.add_resource(
        deleted_with_stack(
            logs.LogGroup("WebSocketAccessLogGroup", Condition=ACCESS_LOGS_CONDITION, RetentionInDays=log_retention)
        )
    )
    skip_checkov(access_logs, CKV_AWS_158="Access logs are encrypted with the CloudWatch Logs service key.")
    stage = t.add_resource(
        apigatewayv2.Stage(
            "WebSocketStage",
            DependsOn=routes,
            ApiId=Ref(api),
            StageName=STAGE,
            AutoDeploy=True,
            Description="The stage the dashboard connects to",
            DefaultRouteSettings=apigatewayv2.RouteSettings(ThrottlingBurstLimit=500, ThrottlingRateLimit=1000),
            AccessLogSettings=If(
                ACCESS_LOGS_CONDITION,
                apigatewayv2.AccessLogSettings(DestinationArn=GetAtt(access_logs, "Arn"), Format=ACCESS_LOG_FORMAT),
                Ref("AWS::NoValue"),
            ),
        )
    )
    skip_checkov(
        stage,
        CKV_AWS_95="Access logging is the WebSocketAccessLogs parameter: it needs an account-level role a fresh "
        "account "
        "lacks.",
    )
    domain = t.add_resource(
        apigatewayv2.DomainName(
            "WebSocketDomain",
            Condition=DOMAIN_CONDITION,
            DomainName=domain_name,
            DomainNameConfigurations=[
                apigatewayv2.DomainNameConfiguration(
                    CertificateArn=certificate_arn, EndpointType="REGIONAL", SecurityPolicy="TLS_1_2"
                )
            ],
        )
    )
    t.add_resource(
        apigatewayv2.ApiMapping(
            "WebSocketApiMapping",
            Condition=DOMAIN_CONDITION,
            DependsOn=[stage.title],
            ApiId=Ref(api),
            DomainName=Ref(domain),
            Stage=STAGE,
        )
    )
    t.add_resource(
        route53.RecordSetType(
            "WebSocketAliasRecord",
            Condition=DOMAIN_CONDITION,
            HostedZoneId=hosted_zone_id,
            Name=domain_name,
            Type="A",
            AliasTarget=route53.AliasTarget(
                DNSName=GetAtt(domain, "RegionalDomainName"),
                HostedZoneId=GetAtt(domain, "RegionalHostedZoneId"),
                EvaluateTargetHealth=False,
            ),
        )
    )
    url = If(
        DOMAIN_CONDITION,
        Sub("wss://${WebSocketDomainName}"),
        Sub("wss://${WebSocketApi}.execute-api.${AWS::Region}.amazonaws.com/" + STAGE),
    )
    return WebSocketApi(api, stage, url)
