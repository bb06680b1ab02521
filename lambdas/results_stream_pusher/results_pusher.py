"""Results pusher: delivers the results stream to subscribed WebSocket clients.

Kinesis event source mapping with ReportBatchItemFailures. Environment:
CONNECTIONS_TABLE (name), WEBSOCKET_ENDPOINT (https://<api>.execute-api.<region>.amazonaws.com/<stage>).

What PostToConnection's answers mean here:
- 410 Gone: the client left; its connection is forgotten and posts to it stop.
- 429, throttling codes and 5xx: transient; retried with bounded, jittered
  backoff, and after the last attempt the record is reported in
  batchItemFailures (Kinesis delivers it again).
- any other 4xx (403 Forbidden, 413 payload too large, ...): retrying cannot fix
  it, and reporting the record would make Kinesis redeliver from it on, a
  duplicate for every other subscriber; the post is dropped and logged with the
  connection id, and delivery goes on.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

import boto3
import connections_table
import wire
from botocore.config import Config
from botocore.exceptions import ClientError
from delivery import MalformedRecord, Post, batch_item_failures, decode_batch, distinct_symbols, plan_posts

logger = logging.getLogger()
logger.setLevel(logging.INFO)

MAX_ATTEMPTS = 4
POST_CONCURRENCY = 16
BASE_DELAY = 0.1
RETRYABLE_CODES = {"LimitExceededException", "ThrottlingException", "TooManyRequestsException"}


class Gone(Exception):
    """The connection no longer exists (410)."""


class Retryable(Exception):
    """Throttling or a server error: worth another attempt."""


class Permanent(Exception):
    """A client error no retry can fix (403, 413, other 4xx): the post is dropped."""


@dataclass
class Counters:
    queries: int = 0
    posts: int = 0
    retries: int = 0
    gone: int = 0
    malformed: int = 0
    dropped: int = 0
    failed_posts: list[Post] = field(default_factory=list)


@functools.cache
def _table() -> Any:
    return boto3.resource("dynamodb").Table(os.environ["CONNECTIONS_TABLE"])


@functools.cache
def _management_api() -> Any:
    # Retries are ours (below), so that every attempt is counted and bounded.
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=os.environ["WEBSOCKET_ENDPOINT"],
        config=Config(retries={"total_max_attempts": 1}),
    )


def post_with_api(api: Any) -> Callable[[str, bytes], None]:
    """post(connection_id, data) raising Gone or Retryable as the API answers."""

    def post(connection_id: str, data: bytes) -> None:
        try:
            api.post_to_connection(ConnectionId=connection_id, Data=data)
        except ClientError as error:
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            code = error.response.get("Error", {}).get("Code", "")
            if status == 410 or code == "GoneException":
                raise Gone(connection_id) from None
            if status == 429 or status >= 500 or code in RETRYABLE_CODES:
                raise Retryable(f"{code or status}") from None
            if 400 <= status < 500:
                raise Permanent(f"{status} {code}".strip()) from None
            raise

    return post


def backoff(attempt: int) -> float:
    """The longest wait after failed attempt `attempt` (1-based): 0.1, 0.2, 0.4 s."""
    return BASE_DELAY * 2 ** (attempt - 1)


def deliver(
    post_data: Callable[[str, bytes], None],
    item: Post,
    sleep: Callable[[float], None],
    jitter: Callable[[float, float], float] = random.uniform,
) -> tuple[str, int]:
    """('sent' | 'gone' | 'dropped' | 'failed', attempts), after at most
    MAX_ATTEMPTS, waiting jitter(0, backoff(n)) after failed attempt n."""
    data = wire.encode(item.messages)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            post_data(item.connection_id, data)
            return "sent", attempt
        except Gone:
            return "gone", attempt
        except Permanent as error:
            logger.warning(
                json.dumps(
                    {
                        "event": "post_dropped",
                        "connectionId": item.connection_id,
                        "reason": str(error),
                        "records": [record.sequence_number for record in item.records],
                    }
                )
            )
            return "dropped", attempt
        except Retryable as error:
            if attempt == MAX_ATTEMPTS:
                logger.warning(
                    json.dumps(
                        {
                            "event": "post_failed",
                            "connectionId": item.connection_id,
                            "reason": str(error),
                            "attempts": attempt,
                        }
                    )
                )
                return "failed", attempt
            sleep(jitter(0, backoff(attempt)))
        except ClientError as error:
            logger.warning(
                json.dumps(
                    {
                        "event": "post_failed",
                        "connectionId": item.connection_id,
                        "reason": error.response.get("Error", {}).get("Code", "ClientError"),
                    }
                )
            )
            return "failed", attempt
    return "failed", MAX_ATTEMPTS


@dataclass
class ConnectionOutcome:
    failed: list[Post] = field(default_factory=list)
    attempts: int = 0
    posts_tried: int = 0
    dropped: int = 0
    gone: bool = False


def deliver_to_connection(
    post_data: Callable[[str, bytes], None], posts: list[Post], sleep: Callable[[float], None]
) -> ConnectionOutcome:
    """Send one connection's posts in order. After a 410 the rest is dropped:
    the client is not coming back."""
    result = ConnectionOutcome()
    for item in posts:
        outcome, tries = deliver(post_data, item, sleep)
        result.attempts += tries
        result.posts_tried += 1
        if outcome == "gone":
            result.gone = True
            break
        if outcome == "failed":
            result.failed.append(item)
        if outcome == "dropped":
            result.dropped += 1
    return result


def push(
    event: dict, table: Any, post_data: Callable[[str, bytes], None], sleep: Callable[[float], None] | None = None
) -> tuple[dict, Counters]:
    counters = Counters()
    sleep = sleep or time.sleep

    def malformed(sequence_number: str, error: MalformedRecord) -> None:
        counters.malformed += 1
        logger.warning(
            json.dumps({"event": "malformed_record", "sequenceNumber": sequence_number, "reason": str(error)})
        )

    records = decode_batch(event, malformed)
    subscribers = {}
    for symbol in distinct_symbols(records):
        counters.queries += 1
        subscribers[symbol] = connections_table.subscribers(table, symbol)
    per_connection: dict[str, list[Post]] = {}
    for item in plan_posts(records, subscribers):
        per_connection.setdefault(item.connection_id, []).append(item)
    # Connections are independent: post to several at once, each one's posts in order.
    with ThreadPoolExecutor(max_workers=POST_CONCURRENCY) as pool:
        outcomes = dict(
            zip(  # noqa: B905 (map yields one outcome per connection)
                per_connection,
                pool.map(lambda posts: deliver_to_connection(post_data, posts, sleep), per_connection.values()),
            )
        )
    for connection_id, outcome in sorted(outcomes.items()):
        counters.posts += outcome.attempts
        counters.retries += outcome.attempts - outcome.posts_tried
        counters.failed_posts.extend(outcome.failed)
        counters.dropped += outcome.dropped
        if outcome.gone:
            counters.gone += 1
            connections_table.forget(table, connection_id)
    response = batch_item_failures(counters.failed_posts)
    logger.info(
        json.dumps(
            {
                "event": "batch",
                "records": len(event.get("Records", [])),
                "malformed": counters.malformed,
                "queries": counters.queries,
                "posts": counters.posts,
                "retries": counters.retries,
                "stale": counters.gone,
                "dropped": counters.dropped,
                "failedRecords": len(response["batchItemFailures"]),
            }
        )
    )
    return response, counters


def handler(event: dict, context: Any) -> dict:
    response, _ = push(event, _table(), post_with_api(_management_api()))
    return response
