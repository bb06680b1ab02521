"""The results pusher end to end against moto (DynamoDB with the real key schema
and GSI; the WebSocket management API, with stale, throttled and broken connections)."""

from __future__ import annotations

import pytest
import results_pusher

FOLDER = "results_stream_pusher"
BASE = 49590338271490256608559692538361571095921575989136588800
ENDPOINT = "https://abc123defg.execute-api.us-east-1.amazonaws.com/prod"


def seq(n: int) -> str:
    return str(BASE + n)


@pytest.fixture
def pusher(table, connections, monkeypatch):
    monkeypatch.setenv("CONNECTIONS_TABLE", table.name)
    monkeypatch.setenv("WEBSOCKET_ENDPOINT", ENDPOINT)
    results_pusher._table.cache_clear()
    results_pusher._management_api.cache_clear()
    sleeps = []
    monkeypatch.setattr(results_pusher.time, "sleep", sleeps.append)

    def run(evt):
        post = results_pusher.post_with_api(results_pusher._management_api())
        return results_pusher.push(evt, results_pusher._table(), post, sleep=sleeps.append)

    run.sleeps = sleeps
    return run


def subscribe(table, connection_id, *symbols):
    for symbol in symbols:
        table.put_item(Item={"connectionId": connection_id, "symbol": symbol})


def test_push_to_many_connections(pusher, table, connections, event):
    subscribe(table, "c1", "AAPL")
    subscribe(table, "c2", "AAPL", "BTC/USD")
    subscribe(table, "c3", "ETH/USD")
    response, counters = pusher(event(FOLDER, "batch_mixed.json"))
    assert response == {"batchItemFailures": []}
    assert counters.queries == 2
    assert [[m["measure_id"] for m in post] for post in connections.decoded("c1")] == [
        ["AAPL-0", "AAPL-1", "AAPL-2", "AAPL-3"]
    ]
    assert [[m["measure_id"] for m in post] for post in connections.decoded("c2")] == [
        ["AAPL-0", "AAPL-1", "AAPL-2", "BTC/USD-0", "BTC/USD-1", "AAPL-3"]
    ]
    assert "c3" not in connections.posts


def test_malformed_records_do_not_stop_the_batch(pusher, table, connections, event):
    subscribe(table, "c1", "AAPL", "BTC/USD")
    response, counters = pusher(event(FOLDER, "batch_mixed.json"))
    assert counters.malformed == 5
    assert response == {"batchItemFailures": []}
    assert sum(len(post) for post in connections.decoded("c1")) == 6


def test_stale_connection_is_removed_and_not_reported(pusher, table, connections, stored, event):
    subscribe(table, "c1", "AAPL")
    subscribe(table, "gone", "AAPL", "BTC/USD")
    connections.stale.add("gone")
    response, counters = pusher(event(FOLDER, "batch_mixed.json"))
    assert response == {"batchItemFailures": []}
    assert stored() == {("c1", "AAPL")}
    assert counters.gone == 1


def test_throttling_is_retried_with_backoff(pusher, table, connections, event):
    subscribe(table, "c1", "AAPL")
    connections.throttle_first["c1"] = 2
    response, counters = pusher(event(FOLDER, "batch_mixed.json"))
    assert response == {"batchItemFailures": []}
    assert counters.retries == 2 and len(pusher.sleeps) == 2
    assert (
        0 <= pusher.sleeps[0] <= results_pusher.backoff(1) == 0.1
        and 0 <= pusher.sleeps[1] <= results_pusher.backoff(2) == 0.2
    )
    assert len(connections.decoded("c1")) == 1


def test_partly_failed_deliveries_are_reported_per_record(pusher, table, connections, event):
    subscribe(table, "c1", "AAPL")
    subscribe(table, "broken", "BTC/USD")
    connections.broken.add("broken")
    response, counters = pusher(event(FOLDER, "batch_mixed.json"))
    assert response == {"batchItemFailures": [{"itemIdentifier": seq(5)}, {"itemIdentifier": seq(6)}]}
    assert counters.posts == 1 + results_pusher.MAX_ATTEMPTS
    assert len(connections.decoded("c1")) == 1


def test_long_runs_are_cut_into_posts_of_seven(pusher, table, connections, event):
    subscribe(table, "c1", "AAPL")
    pusher(event(FOLDER, "batch_sixteen_aapl.json"))
    assert [len(post) for post in connections.decoded("c1")] == [7, 7, 2]


def test_lambda_entry_point_answers_batch_item_failures(table, connections, monkeypatch, event):
    monkeypatch.setenv("CONNECTIONS_TABLE", table.name)
    monkeypatch.setenv("WEBSOCKET_ENDPOINT", ENDPOINT)
    results_pusher._table.cache_clear()
    results_pusher._management_api.cache_clear()
    monkeypatch.setattr(results_pusher.time, "sleep", lambda seconds: None)
    subscribe(table, "broken", "AAPL")
    connections.broken.add("broken")
    response = results_pusher.handler(event(FOLDER, "batch_sixteen_aapl.json"), None)
    assert len(response["batchItemFailures"]) == 16


@pytest.mark.parametrize("problem", ["forbidden", "too large"])
def test_a_permanent_client_error_drops_the_post_without_redelivery(pusher, table, connections, event, caplog, problem):
    """403 or 413 on one connection: retrying cannot fix it, and reporting the
    records would make Kinesis redeliver them to every other subscriber too."""
    subscribe(table, "c1", "AAPL", "BTC/USD")
    subscribe(table, "bad", "AAPL", "BTC/USD")
    if problem == "forbidden":
        connections.forbidden.add("bad")
    else:
        connections.max_payload = 0  # every post is over the limit
    caplog.set_level("WARNING")
    response, counters = pusher(event(FOLDER, "batch_mixed.json"))
    assert response == {"batchItemFailures": []}
    assert counters.retries == 0 and pusher.sleeps == []
    assert counters.dropped == (1 if problem == "forbidden" else 2)
    assert stored_pairs(table) >= {("bad", "AAPL"), ("bad", "BTC/USD")}, "a client error is not a gone connection"
    dropped = [record.getMessage() for record in caplog.records if '"post_dropped"' in record.getMessage()]
    assert dropped and all('"connectionId": "' in message for message in dropped)
    assert any('"bad"' in message for message in dropped)
    if problem == "forbidden":
        assert sum(len(post) for post in connections.decoded("c1")) == 6


def stored_pairs(table):
    return {(item["connectionId"], item["symbol"]) for item in table.scan()["Items"]}


def test_backoff_waits_are_bounded_and_doubling(monkeypatch):
    """Throttled three times then accepted: the waits drawn are within [0, 0.1],
    [0, 0.2], [0, 0.4] s; with the jitter at its top, exactly those."""
    from delivery import Post, Record

    answers = iter([results_pusher.Retryable("429")] * 3 + [None])

    def post(connection_id, data):
        answer = next(answers)
        if answer:
            raise answer

    waits, asked = [], []

    def jitter(low, high):
        asked.append((low, high))
        return high

    item = Post("c1", (Record("1", {"measure_id": "m", "measurement": "x", "symbol": "AAPL"}),))
    assert results_pusher.deliver(post, item, waits.append, jitter) == ("sent", 4)
    assert asked == [(0, 0.1), (0, 0.2), (0, 0.4)] and waits == [0.1, 0.2, 0.4]


def test_retries_stop_after_the_last_attempt_and_report_the_record():
    from delivery import Post, Record

    calls = []

    def post(connection_id, data):
        calls.append(connection_id)
        raise results_pusher.Retryable("500")

    waits = []
    item = Post("c1", (Record("7", {"measure_id": "m", "measurement": "x", "symbol": "AAPL"}),))
    assert results_pusher.deliver(post, item, waits.append, lambda low, high: high) == (
        "failed",
        results_pusher.MAX_ATTEMPTS,
    )
    assert len(calls) == results_pusher.MAX_ATTEMPTS and len(waits) == results_pusher.MAX_ATTEMPTS - 1
    assert sum(waits) == pytest.approx(0.7)


@pytest.mark.parametrize(
    "status, code, outcome",
    [
        (410, "GoneException", "gone"),
        (429, "LimitExceededException", "retry"),
        (500, "InternalServerErrorException", "retry"),
        (503, "ServiceUnavailable", "retry"),
        (403, "ForbiddenException", "drop"),
        (413, "PayloadTooLargeException", "drop"),
        (400, "BadRequestException", "drop"),
    ],
)
def test_each_answer_is_classified(status, code, outcome):
    from botocore.exceptions import ClientError

    class Api:
        def post_to_connection(self, **kwargs):
            raise ClientError(
                {"Error": {"Code": code, "Message": "x"}, "ResponseMetadata": {"HTTPStatusCode": status}},
                "PostToConnection",
            )

    post = results_pusher.post_with_api(Api())
    expected = {"gone": results_pusher.Gone, "retry": results_pusher.Retryable, "drop": results_pusher.Permanent}[
        outcome
    ]
    with pytest.raises(expected):
        post("c1", b"data")
