"""What the results pusher logs is what an operator reads when a delivery goes
wrong (CloudWatch Logs Insights queries the JSON fields): each record is pinned
here, field by field, for each way a post ends."""

from __future__ import annotations

import json
import logging

import pytest
import results_pusher
from botocore.exceptions import ClientError
from delivery import Post, Record

MESSAGE = {"measure_id": "m", "measurement": "windowed-stock-quotation-volumes", "symbol": "AAPL"}


def logged(caplog, level=logging.WARNING):
    return [json.loads(record.getMessage()) for record in caplog.records if record.levelno == level]


def item(connection_id="c1", *sequence_numbers):
    return Post(connection_id, tuple(Record(number, MESSAGE) for number in sequence_numbers or ("1",)))


def raising(error):
    def post(connection_id, data):
        raise error

    return post


def test_a_dropped_post_names_its_connection_reason_and_records(caplog):
    caplog.set_level(logging.INFO)
    outcome = results_pusher.deliver(
        raising(results_pusher.Permanent("403 ForbiddenException")), item("c9", "41", "42"), lambda s: None
    )
    assert outcome == ("dropped", 1)
    assert logged(caplog) == [
        {"event": "post_dropped", "connectionId": "c9", "reason": "403 ForbiddenException", "records": ["41", "42"]}
    ]


def test_a_post_that_keeps_failing_says_how_often_it_was_tried(caplog):
    caplog.set_level(logging.INFO)
    outcome = results_pusher.deliver(
        raising(results_pusher.Retryable("503")), item("c2"), lambda s: None, lambda low, high: 0.0
    )
    assert outcome == ("failed", results_pusher.MAX_ATTEMPTS)
    assert logged(caplog) == [
        {"event": "post_failed", "connectionId": "c2", "reason": "503", "attempts": results_pusher.MAX_ATTEMPTS}
    ]


def test_an_unclassified_client_error_fails_at_once_with_its_code(caplog):
    caplog.set_level(logging.INFO)
    error = ClientError(
        {"Error": {"Code": "SomethingNew", "Message": "x"}, "ResponseMetadata": {"HTTPStatusCode": 302}},
        "PostToConnection",
    )
    assert results_pusher.deliver(raising(error), item("c3"), lambda s: None) == ("failed", 1)
    assert logged(caplog) == [{"event": "post_failed", "connectionId": "c3", "reason": "SomethingNew"}]


def test_an_error_without_a_code_is_still_one_line(caplog):
    caplog.set_level(logging.INFO)
    error = ClientError({"ResponseMetadata": {"HTTPStatusCode": 302}}, "PostToConnection")
    assert results_pusher.deliver(raising(error), item("c4"), lambda s: None) == ("failed", 1)
    assert logged(caplog) == [{"event": "post_failed", "connectionId": "c4", "reason": "ClientError"}]


def test_a_redirect_is_not_taken_for_a_client_error():
    """Outside 4xx, 429 and 5xx the API's answer is raised as it is."""

    class Api:
        def post_to_connection(self, **kwargs):
            raise ClientError(
                {"Error": {"Code": "Moved"}, "ResponseMetadata": {"HTTPStatusCode": 302}}, "PostToConnection"
            )

    with pytest.raises(ClientError):
        results_pusher.post_with_api(Api())("c1", b"x")


@pytest.mark.parametrize(
    "status, code, raised, text",
    [
        (429, "", results_pusher.Retryable, "429"),
        (500, "", results_pusher.Retryable, "500"),
        (400, "ThrottlingException", results_pusher.Retryable, "ThrottlingException"),
        (404, "", results_pusher.Permanent, "404"),
        (413, "PayloadTooLargeException", results_pusher.Permanent, "413 PayloadTooLargeException"),
        (499, "X", results_pusher.Permanent, "499 X"),
        (200, "GoneException", results_pusher.Gone, "c1"),
        (410, "", results_pusher.Gone, "c1"),
        (404, None, results_pusher.Permanent, "404"),
    ],
)
def test_each_answer_carries_what_the_log_will_say(status, code, raised, text):
    class Api:
        def post_to_connection(self, **kwargs):
            response = {"ResponseMetadata": {"HTTPStatusCode": status}}
            if code is not None:
                # Without a code, as an empty answer body gives; None: no Error at all.
                response["Error"] = {"Code": code} if code else {}
            raise ClientError(response, "PostToConnection")

    with pytest.raises(raised) as caught:
        results_pusher.post_with_api(Api())("c1", b"x")
    assert str(caught.value) == text


def test_the_batch_summary_counts_everything(caplog, table):
    import base64

    caplog.set_level(logging.INFO)
    table.put_item(Item={"connectionId": "c1", "symbol": "AAPL"})
    table.put_item(Item={"connectionId": "gone", "symbol": "AAPL"})
    table.put_item(Item={"connectionId": "bad", "symbol": "AAPL"})
    answers = {
        "c1": iter([results_pusher.Retryable("429"), None]),
        "gone": iter([results_pusher.Gone("gone")]),
        "bad": iter([results_pusher.Permanent("403")]),
    }

    def post(connection_id, data):
        answer = next(answers[connection_id])
        if answer:
            raise answer

    records = [
        {"kinesis": {"sequenceNumber": "1", "data": base64.b64encode(json.dumps(MESSAGE).encode()).decode()}},
        {"kinesis": {"sequenceNumber": "2", "data": "not base64!"}},
    ]
    response, counters = results_pusher.push({"Records": records}, table, post, sleep=lambda s: None)
    assert response == {"batchItemFailures": []}
    (summary,) = logged(caplog, logging.INFO)
    assert summary == {
        "event": "batch",
        "records": 2,
        "malformed": 1,
        "queries": 1,
        "posts": 4,
        "retries": 1,
        "stale": 1,
        "dropped": 1,
        "failedRecords": 0,
    }
    warnings = logged(caplog)
    assert warnings[0] == {
        "event": "malformed_record",
        "sequenceNumber": "2",
        "reason": "record 2 is not base64-encoded JSON (Error)",
    }
    assert {(w["event"], w["connectionId"]) for w in warnings[1:]} == {("post_dropped", "bad")}
    assert {(item["connectionId"], item["symbol"]) for item in table.scan()["Items"]} == {
        ("c1", "AAPL"),
        ("bad", "AAPL"),
    }


def test_an_answer_without_a_status_is_raised_as_it_is():
    class Api:
        def post_to_connection(self, **kwargs):
            raise ClientError({"Error": {"Code": "Odd"}}, "PostToConnection")

    with pytest.raises(ClientError):
        results_pusher.post_with_api(Api())("c1", b"x")


def test_one_connections_attempts_add_up_over_its_posts():
    answers = iter(
        [
            results_pusher.Retryable("429"),
            None,
            results_pusher.Permanent("403"),
            results_pusher.Retryable("500"),
            None,
            results_pusher.Permanent("413"),
        ]
    )

    def post(connection_id, data):
        answer = next(answers)
        if answer:
            raise answer

    outcome = results_pusher.deliver_to_connection(
        post, [item("c1", "1"), item("c1", "2"), item("c1", "3"), item("c1", "4")], lambda s: None
    )
    assert (outcome.attempts, outcome.posts_tried, outcome.dropped, outcome.failed, outcome.gone) == (
        6,
        4,
        2,
        [],
        False,
    )


def test_every_gone_connection_is_counted_and_forgotten(table, caplog):
    import base64

    caplog.set_level(logging.INFO)
    for connection in ("a", "b", "c"):
        table.put_item(Item={"connectionId": connection, "symbol": "AAPL"})

    def post(connection_id, data):
        if connection_id != "c":
            raise results_pusher.Gone(connection_id)

    records = [{"kinesis": {"sequenceNumber": "1", "data": base64.b64encode(json.dumps(MESSAGE).encode()).decode()}}]
    _, counters = results_pusher.push({"Records": records}, table, post, sleep=lambda s: None)
    assert counters.gone == 2 and logged(caplog, logging.INFO)[0]["stale"] == 2
    assert {item["connectionId"] for item in table.scan()["Items"]} == {"c"}
