"""The connection handler end to end against moto: DynamoDB with the real key
schema and GSI, and the WebSocket management API."""

from __future__ import annotations

import pytest

import connection_handler
import wire

CONNECTION = "L0SM9cOFvHcCIhw="
FOLDER = "websocket_connection_handler"


@pytest.fixture
def invoke(table, connections, monkeypatch, event):
    monkeypatch.setenv("CONNECTIONS_TABLE", table.name)
    connection_handler._table.cache_clear()
    connection_handler._management_api.cache_clear()
    return lambda name: connection_handler.handler(event(FOLDER, name), None)


def test_connect_is_accepted_and_stores_nothing(invoke, stored, connections):
    assert invoke("connect.json") == {"statusCode": 200}
    assert stored() == set()
    assert connections.calls == 0


def test_subscribe_stores_one_item_per_symbol_and_confirms(invoke, stored, connections):
    assert invoke("subscribe.json") == {"statusCode": 200}
    assert stored() == {(CONNECTION, "AAPL"), (CONNECTION, "BTC/USD")}
    assert connections.decoded(CONNECTION) == [{"message": "You are connected to live feed for symbols: AAPL, BTC/USD"}]


def test_items_carry_an_expiry(invoke, table):
    invoke("subscribe.json")
    assert all(int(item["expiresAt"]) > 1_700_000_000 for item in table.scan()["Items"])


def test_resubscribe_replaces_the_subscriptions(invoke, stored, connections, table):
    table.put_item(Item={"connectionId": "other", "symbol": "AAPL"})
    invoke("subscribe.json")
    invoke("resubscribe.json")
    assert stored() == {(CONNECTION, "BTC/USD"), (CONNECTION, "ETH/USD"), ("other", "AAPL")}
    assert connections.decoded(CONNECTION)[-1] == {"message": "You are connected to live feed for symbols: BTC/USD, ETH/USD"}


def test_disconnect_removes_all_items_of_the_connection_only(invoke, stored, table):
    table.put_item(Item={"connectionId": "other", "symbol": "AAPL"})
    invoke("subscribe.json")
    assert invoke("disconnect.json") == {"statusCode": 200}
    assert stored() == {("other", "AAPL")}


@pytest.mark.parametrize(
    "name,words",
    [
        ("not_json.json", "not JSON"),
        ("not_an_object.json", "JSON object"),
        ("subscribe_to_not_a_list.json", "must be a list"),
        ("subscribe_to_not_strings.json", "only strings"),
        ("bad_symbol.json", "not a valid symbol"),
    ],
)
def test_bad_messages_get_an_error_and_change_nothing(invoke, stored, connections, name, words):
    invoke("subscribe.json")
    before = stored()
    assert invoke(name) == {"statusCode": 400}
    assert stored() == before
    answer = connections.decoded(CONNECTION)[-1]
    assert set(answer) == {"error"} and words in answer["error"]


def test_client_gone_before_the_answer_leaves_no_items(invoke, stored, connections):
    connections.stale.add(CONNECTION)
    assert invoke("subscribe.json") == {"statusCode": 200}
    assert stored() == set()


def test_posts_are_what_the_dashboard_inflates(invoke, connections):
    invoke("subscribe.json")
    raw = connections.posts[CONNECTION][0]
    assert raw == wire.encode({"message": "You are connected to live feed for symbols: AAPL, BTC/USD"})


def test_custom_domain_posts_through_the_api_endpoint(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    context = {"domainName": "ws.example.com", "stage": "prod", "apiId": "abc123"}
    assert connection_handler.callback_endpoint(context) == "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"
    context["domainName"] = "abc123.execute-api.eu-west-1.amazonaws.com"
    assert connection_handler.callback_endpoint(context) == "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"


def test_items_expire_ttl_seconds_after_the_write(invoke, table, monkeypatch):
    """expiresAt is the write time plus connections_table.TTL_SECONDS (3 h: API
    Gateway closes a connection after 2 h at most), to the second."""
    import time as clock

    import connections_table

    monkeypatch.setattr(clock, "time", lambda: 1_800_000_000.0)
    invoke("subscribe.json")
    assert connections_table.TTL_SECONDS == 3 * 3600
    assert {int(item["expiresAt"]) for item in table.scan()["Items"]} == {1_800_000_000 + connections_table.TTL_SECONDS}


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_the_symbol_limit_comes_from_the_configuration(invoke, monkeypatch, connections, stored, limit):
    """MAX_SYMBOLS_PER_CONNECTION (the template's MaxSymbolsPerConnection) bounds a
    subscription: the two symbols of subscribe.json pass at 2 and 3, not at 1."""
    monkeypatch.setenv("MAX_SYMBOLS_PER_CONNECTION", str(limit))
    assert invoke("subscribe.json") == {"statusCode": 200 if limit >= 2 else 400}
    if limit >= 2:
        assert stored() == {(CONNECTION, "AAPL"), (CONNECTION, "BTC/USD")}
    else:
        assert stored() == set() and "error" in connections.decoded(CONNECTION)[-1]
