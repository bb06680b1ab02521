"""The connection handler end to end against moto: DynamoDB with the real key
schema and GSI, and the WebSocket management API."""

from __future__ import annotations

import connection_handler
import pytest
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
    assert connections.decoded(CONNECTION)[-1] == {
        "message": "You are connected to live feed for symbols: BTC/USD, ETH/USD"
    }


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


def test_each_route_logs_one_line_with_the_connection(invoke, caplog, connections):
    import json
    import logging

    caplog.set_level(logging.INFO)
    invoke("subscribe.json")
    invoke("disconnect.json")
    lines = [json.loads(record.getMessage()) for record in caplog.records if record.name == "root"]
    assert lines == [
        {"event": "subscribed", "connectionId": CONNECTION, "symbols": 2},
        {"event": "disconnect", "connectionId": CONNECTION, "removed": 2},
    ]


def test_a_refused_message_is_logged_with_its_reason(table, caplog):
    import json
    import logging

    caplog.set_level(logging.INFO)
    posted = []
    event = {"requestContext": {"routeKey": "$default", "connectionId": "c7"}, "body": "not json"}
    assert connection_handler.handle(event, table, lambda cid, message: posted.append((cid, message)), 50) == {
        "statusCode": 400
    }
    reason = 'The message is not JSON; send {"subscribeTo": ["SYMBOL", ...]}.'
    assert [json.loads(r.getMessage()) for r in caplog.records if r.name == "root"] == [
        {"event": "rejected", "connectionId": "c7", "reason": reason}
    ]
    assert posted == [("c7", {"error": reason})]


def test_the_handler_posts_through_this_connections_endpoint(monkeypatch, table):
    monkeypatch.setenv("CONNECTIONS_TABLE", table.name)
    connection_handler._table.cache_clear()
    seen = []

    class Api:
        class exceptions:
            GoneException = type("GoneException", (Exception,), {})

        def post_to_connection(self, **kwargs):
            seen.append(kwargs["ConnectionId"])

    monkeypatch.setattr(connection_handler, "_management_api", lambda endpoint: seen.append(endpoint) or Api())
    context = {
        "routeKey": "$default",
        "connectionId": "c8",
        "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
        "stage": "live",
        "apiId": "abc123",
    }
    assert connection_handler.handler({"requestContext": context, "body": '{"subscribeTo": ["AAPL"]}'}, None) == {
        "statusCode": 200
    }
    assert seen == ["https://abc123.execute-api.us-east-1.amazonaws.com/live", "c8"]


def test_a_custom_domain_without_a_region_posts_to_us_east_1(monkeypatch):
    monkeypatch.delenv("AWS_REGION", raising=False)
    context = {"domainName": "ws.example.com", "stage": "prod", "apiId": "abc123"}
    assert connection_handler.callback_endpoint(context) == "https://abc123.execute-api.us-east-1.amazonaws.com/prod"
