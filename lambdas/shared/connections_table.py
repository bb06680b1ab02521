"""The WebSocket connections table: one item per (connectionId, symbol), and a
GSI named `symbol` keyed symbol -> connectionId (see the foundations stack)."""

from __future__ import annotations

import time
from typing import Any, Iterable, Iterator

from boto3.dynamodb.conditions import Key

SYMBOL_INDEX = "symbol"
# API Gateway closes a WebSocket connection after 2 hours at most; an item that
# outlives its connection (a lost $disconnect) expires an hour later.
TTL_SECONDS = 3 * 3600


def _pages(table: Any, **query: Any) -> Iterator[dict]:
    while True:
        page = table.query(**query)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def symbols_of(table: Any, connection_id: str) -> set[str]:
    items = _pages(table, KeyConditionExpression=Key("connectionId").eq(connection_id), ProjectionExpression="symbol")
    return {item["symbol"] for item in items}


def subscribers(table: Any, symbol: str) -> list[str]:
    """Connection ids subscribed to `symbol`: one (paginated) query on the GSI."""
    items = _pages(table, IndexName=SYMBOL_INDEX, KeyConditionExpression=Key("symbol").eq(symbol))
    return sorted({item["connectionId"] for item in items})


def write(table: Any, connection_id: str, delete: Iterable[str], put: Iterable[str], now: float | None = None) -> None:
    expires_at = int((now if now is not None else time.time()) + TTL_SECONDS)
    with table.batch_writer() as batch:
        for symbol in delete:
            batch.delete_item(Key={"connectionId": connection_id, "symbol": symbol})
        for symbol in put:
            batch.put_item(Item={"connectionId": connection_id, "symbol": symbol, "expiresAt": expires_at})


def forget(table: Any, connection_id: str) -> int:
    """Delete every item of the connection; returns how many there were."""
    symbols = symbols_of(table, connection_id)
    write(table, connection_id, delete=sorted(symbols), put=())
    return len(symbols)
