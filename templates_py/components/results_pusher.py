"""The results pusher: a Lambda on the downstream (results) stream that posts each
result to the WebSocket connections subscribed to its symbol. Batch 50, window
15 s, batch item failures, bounded retries with bisect, failed batches to an SQS
queue."""

from __future__ import annotations

from typing import Any

from troposphere import GetAtt, Ref, Template, awslambda, kinesis, sqs

from .. import exports, model
from ..blocks import policies
from ..blocks.alarms import Alarms, queue_not_empty, stream_consumer_alarms
from ..blocks.functions import Function, python_function
from ..blocks.parameters import deleted_with_stack, export_output, import_value, skip_checkov
from .websocket_api import STAGE, WebSocketApi, management_endpoint


def results_pusher(
    t: Template, downstream: kinesis.Stream, websocket: WebSocketApi, log_retention: Any, alarms: Alarms
) -> Function:
    failures = t.add_resource(
        deleted_with_stack(
            sqs.Queue("FailedDeliveriesQueue", MessageRetentionPeriod=1209600, SqsManagedSseEnabled=True)
        )
    )
    skip_checkov(
        failures,
        CKV_AWS_27="Encrypted at rest with SSE-SQS (SqsManagedSseEnabled); the check only recognises a KMS key.",
    )
    pusher = python_function(
        t,
        model.RESULTS_PUSHER,
        description="Pushes the results stream to subscribed WebSocket clients",
        environment={
            "CONNECTIONS_TABLE": import_value(exports.CONNECTIONS_TABLE_NAME),
            "WEBSOCKET_ENDPOINT": management_endpoint(),
        },
        statements=[
            policies.connections_table_access(import_value(exports.CONNECTIONS_TABLE_ARN), index=True),
            policies.manage_connections(Ref(websocket.api), STAGE),
            policies.kinesis_read(GetAtt(downstream, "Arn")),
            policies.send_to_queue(GetAtt(failures, "Arn")),
        ],
        log_retention=log_retention,
        timeout=120,
        memory=512,
    )
    t.add_resource(
        awslambda.EventSourceMapping(
            "ResultsPusherEventSource",
            EventSourceArn=GetAtt(downstream, "Arn"),
            FunctionName=Ref(pusher.function),
            StartingPosition="LATEST",
            BatchSize=50,
            MaximumBatchingWindowInSeconds=15,
            FunctionResponseTypes=["ReportBatchItemFailures"],
            MaximumRetryAttempts=3,
            BisectBatchOnFunctionError=True,
            MaximumRecordAgeInSeconds=3600,
            DestinationConfig=awslambda.DestinationConfig(
                OnFailure=awslambda.OnFailure(Destination=GetAtt(failures, "Arn"))
            ),
        )
    )
    stream_consumer_alarms(t, alarms, "ResultsPusher", pusher.function, downstream)
    queue_not_empty(
        t,
        alarms,
        "FailedDeliveries",
        failures,
        "Batches the results pusher gave up on are in FailedDeliveriesQueue: see its log group.",
    )
    export_output(
        t,
        "FailedDeliveriesQueueUrl",
        Ref(failures),
        "SQS queue that receives batches the results pusher could not deliver.",
    )
    return pusher
