"""Pure logic of the results pusher: decode a Kinesis batch, group the messages
per subscribed connection, cut them into posts of at most 7, and say which
records failed. No AWS calls here."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

MESSAGES_PER_POST = 7
REQUIRED_FIELDS = ("measure_id", "measurement", "symbol")


class MalformedRecord(ValueError):
    """A record that can never be delivered; it is logged and skipped."""


@dataclass(frozen=True)
class Record:
    sequence_number: str
    message: dict


@dataclass(frozen=True)
class Post:
    connection_id: str
    records: tuple[Record, ...]

    @property
    def messages(self) -> list[dict]:
        return [record.message for record in self.records]


def decode_record(kinesis_record: Mapping) -> Record:
    """One Kinesis event record -> its message; raises MalformedRecord."""
    sequence_number = kinesis_record["kinesis"]["sequenceNumber"]
    try:
        data = base64.b64decode(kinesis_record["kinesis"]["data"], validate=True)
        message = json.loads(data)
    except (ValueError, TypeError) as error:
        raise MalformedRecord(
            f"record {sequence_number} is not base64-encoded JSON ({error.__class__.__name__})"
        ) from None
    if not isinstance(message, dict):
        raise MalformedRecord(f"record {sequence_number} is not a JSON object")
    for field in REQUIRED_FIELDS:
        if not isinstance(message.get(field), str) or not message[field]:
            raise MalformedRecord(f"record {sequence_number} has no string {field!r}")
    return Record(sequence_number, message)


def decode_batch(event: Mapping, on_malformed: Callable[[str, MalformedRecord], None]) -> list[Record]:
    """Every well-formed record of the batch in order; malformed ones are reported and skipped."""
    records = []
    for kinesis_record in event.get("Records", []):
        try:
            records.append(decode_record(kinesis_record))
        except MalformedRecord as error:
            on_malformed(kinesis_record["kinesis"]["sequenceNumber"], error)
    return records


def distinct_symbols(records: Iterable[Record]) -> list[str]:
    return sorted({record.message["symbol"] for record in records})


def plan_posts(records: Iterable[Record], subscribers: Mapping[str, Iterable[str]]) -> list[Post]:
    """Group each connection's messages (in stream order) into posts of at most 7."""
    per_connection: dict[str, list[Record]] = {}
    for record in records:
        for connection_id in subscribers.get(record.message["symbol"], ()):
            per_connection.setdefault(connection_id, []).append(record)
    posts = []
    for connection_id in sorted(per_connection):
        queue = per_connection[connection_id]
        for start in range(0, len(queue), MESSAGES_PER_POST):
            posts.append(Post(connection_id, tuple(queue[start : start + MESSAGES_PER_POST])))
    return posts


def batch_item_failures(failed_posts: Iterable[Post]) -> dict:
    """The Lambda response that makes Kinesis retry from the first failed record."""
    sequence_numbers = sorted({record.sequence_number for post in failed_posts for record in post.records}, key=int)
    return {"batchItemFailures": [{"itemIdentifier": number} for number in sequence_numbers]}
