"""A deploy you can watch: the stack's events as they happen, and on failure the
first failed events with their reasons, nested stacks' causes included.

`aws cloudformation deploy` prints neither (it waits, then says the stack is in
ROLLBACK_COMPLETE); `watching` polls DescribeStackEvents beside it. Events are
listed newest first, a page at a time (API_DescribeStackEvents.html); only those
after the watch began are shown.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator

# What the failure report shows at most, and how often the watch polls (seconds).
FIRST_FAILURES = 5
POLL_SECONDS = 5.0
# CloudFormation's reason on the resources it stopped because another one failed.
CANCELLED = "Resource creation cancelled"


def line(event: dict) -> str:
    when = event["Timestamp"].strftime("%H:%M:%S")
    reason = event.get("ResourceStatusReason") or ""
    text = f"{when}  {event['LogicalResourceId']:<32} {event['ResourceStatus']:<20} {event['ResourceType']}"
    return text + (f"  {reason}" if reason else "")


class StackEvents:
    """The events of one stack, read newest first and told oldest first."""

    def __init__(self, cloudformation: Any, stack: str):
        self.cloudformation, self.stack = cloudformation, stack
        self.seen: set[str] = set()
        self.told: list[dict] = []

    def _read(self, stack: str) -> list[dict]:
        """Every event of `stack`, newest first; none when it does not exist (yet)."""
        from botocore.exceptions import ClientError

        events: list[dict] = []
        try:
            for page in self.cloudformation.get_paginator("describe_stack_events").paginate(StackName=stack):
                events.extend(page["StackEvents"])
        except ClientError as error:
            if "does not exist" in (error.response["Error"].get("Message") or ""):
                return []
            raise
        return events

    def start(self) -> None:
        """What happened before the watch is not this deploy's."""
        self.seen = {event["EventId"] for event in self._read(self.stack)}

    def new(self) -> list[dict]:
        """The events since the last call, oldest first."""
        fresh = [event for event in self._read(self.stack) if event["EventId"] not in self.seen]
        fresh.reverse()
        self.seen.update(event["EventId"] for event in fresh)
        self.told.extend(fresh)
        return fresh

    def failures(self) -> list[str]:
        """The first failed events of this deploy, causes before the cancellations they
        brought, and for a failed nested stack the first failures inside it."""
        failed = [
            e for e in self.told if e["ResourceStatus"].endswith("_FAILED") and e["LogicalResourceId"] != self.stack
        ]
        failed.sort(key=lambda e: CANCELLED in (e.get("ResourceStatusReason") or ""))
        lines = []
        for event in failed[:FIRST_FAILURES]:
            lines.append(line(event))
            nested = event.get("PhysicalResourceId")
            if event["ResourceType"] == "AWS::CloudFormation::Stack" and nested:
                inner = [e for e in reversed(self._read(nested)) if e["ResourceStatus"].endswith("_FAILED")]
                lines += [f"    nested: {line(e)}" for e in inner[:FIRST_FAILURES] if e["LogicalResourceId"] != nested]
        return lines


@contextmanager
def watching(
    cloudformation: Any, stack: str, say: Callable[[str], None], interval: float = POLL_SECONDS
) -> Iterator[StackEvents]:
    """Tell the stack's new events every `interval` seconds while the body runs; if it
    raises, tell the first failures before the error goes on."""
    events = StackEvents(cloudformation, stack)
    events.start()
    stop = threading.Event()

    def tell() -> None:
        for event in events.new():
            say(line(event))

    def poll() -> None:
        while not stop.wait(interval):
            tell()

    poller = threading.Thread(target=poll, name=f"events-{stack}", daemon=True)
    poller.start()
    try:
        yield events
    except BaseException:
        stop.set()
        poller.join()
        tell()
        failures = events.failures()
        if failures:
            say(f"{stack} failed; the first failures:")
            for failure in failures:
                say("  " + failure)
        raise
    stop.set()
    poller.join()
    tell()
