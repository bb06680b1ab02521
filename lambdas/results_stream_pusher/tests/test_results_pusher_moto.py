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
    assert [[m["measure_id"] for m in post] for post in connections.decoded("c1")] == [["AAPL-0", "AAPL-1", "AAPL-2", "AAPL-3"]]
    assert [[m["measure_id"] for m in post] for post in connections.decoded("c2")] == [["AAPL-0", "AAPL-1", "AAPL-2", "BTC/USD-0", "BTC/USD-1", "AAPL-3"]]
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
