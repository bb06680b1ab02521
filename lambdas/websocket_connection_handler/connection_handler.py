"""WebSocket connection handler: `$connect` accepts, `$default` replaces the
connection's subscriptions, `$disconnect` removes them.

Environment: CONNECTIONS_TABLE (name), MAX_SYMBOLS_PER_CONNECTION (default 50).
"""

from __future__ import annotations

import functools
import json
import logging
import os
from typing import Any

import boto3
import connections_table
import wire
from subscriptions import (
    DEFAULT_MAX_SYMBOLS,
    SubscriptionError,
    confirmation,
    error_message,
    parse_subscription,
    plan_replacement,
)

logger = logging.getLogger()
logger.setLevel(logging.INFO)


@functools.cache
def _table() -> Any:
    return boto3.resource("dynamodb").Table(os.environ["CONNECTIONS_TABLE"])


@functools.cache
def _management_api(endpoint: str) -> Any:
    return boto3.client("apigatewaymanagementapi", endpoint_url=endpoint)


def callback_endpoint(context: dict) -> str:
    """The management API endpoint for this connection's API and stage."""
    domain, stage = context["domainName"], context["stage"]
    if domain.endswith(".amazonaws.com"):
        return f"https://{domain}/{stage}"
    # A custom domain maps the stage away; post through the API's own endpoint.
    region = os.environ.get("AWS_REGION", "us-east-1")
    return f"https://{context['apiId']}.execute-api.{region}.amazonaws.com/{stage}"


def handle(event: dict, table: Any, post: Any, max_symbols: int) -> dict:
    context = event["requestContext"]
    route, connection_id = context["routeKey"], context["connectionId"]
    if route == "$connect":
        return {"statusCode": 200}
    if route == "$disconnect":
        removed = connections_table.forget(table, connection_id)
        logger.info(json.dumps({"event": "disconnect", "connectionId": connection_id, "removed": removed}))
        return {"statusCode": 200}
    try:
        symbols = parse_subscription(event.get("body"), max_symbols)
    except SubscriptionError as error:
        logger.info(json.dumps({"event": "rejected", "connectionId": connection_id, "reason": str(error)}))
        post(connection_id, error_message(error))
        return {"statusCode": 400}
    plan = plan_replacement(connections_table.symbols_of(table, connection_id), symbols)
    connections_table.write(table, connection_id, delete=plan.delete, put=plan.put)
    logger.info(json.dumps({"event": "subscribed", "connectionId": connection_id, "symbols": len(symbols)}))
    post(connection_id, confirmation(symbols))
    return {"statusCode": 200}


def handler(event: dict, context: Any) -> dict:
    api = _management_api(callback_endpoint(event["requestContext"]))
    table = _table()

    def post(connection_id: str, message: dict) -> None:
        try:
            api.post_to_connection(ConnectionId=connection_id, Data=wire.encode(message))
        except api.exceptions.GoneException:
            # The client left before the answer; its items go with it.
            connections_table.forget(table, connection_id)

    return handle(event, table, post, int(os.environ.get("MAX_SYMBOLS_PER_CONNECTION", DEFAULT_MAX_SYMBOLS)))
