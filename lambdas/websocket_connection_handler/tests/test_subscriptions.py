"""Pure functions of the connection handler."""

from __future__ import annotations

import json

import pytest

from subscriptions import SubscriptionError, confirmation, parse_subscription, plan_replacement


def test_symbols_in_order_without_duplicates():
    assert parse_subscription('{"subscribeTo": ["AAPL", "BTC/USD", "AAPL"]}') == ["AAPL", "BTC/USD"]


def test_empty_list_unsubscribes_everything():
    assert parse_subscription('{"subscribeTo": []}') == []


@pytest.mark.parametrize(
    "body,words",
    [
        (None, "empty"),
        ("", "empty"),
        ("subscribe AAPL", "not JSON"),
        ('["AAPL"]', "JSON object"),
        ('"AAPL"', "JSON object"),
        ('{"subscribe": ["AAPL"]}', "no \"subscribeTo\""),
        ('{"subscribeTo": "AAPL"}', "must be a list"),
        ('{"subscribeTo": {"AAPL": 1}}', "must be a list"),
        ('{"subscribeTo": ["AAPL", 42]}', "only strings"),
        ('{"subscribeTo": ["AAPL", null]}', "only strings"),
        ('{"subscribeTo": [""]}', "not a valid symbol"),
        ('{"subscribeTo": ["<script>"]}', "not a valid symbol"),
        ('{"subscribeTo": ["' + "A" * 33 + '"]}', "not a valid symbol"),
    ],
)
def test_unusable_messages_are_refused_with_a_reason(body, words):
    with pytest.raises(SubscriptionError, match=words):
        parse_subscription(body)


def test_number_of_symbols_is_bounded():
    body = json.dumps({"subscribeTo": [f"S{i}" for i in range(6)]})
    with pytest.raises(SubscriptionError, match="At most 5 symbols"):
        parse_subscription(body, max_symbols=5)
    assert len(parse_subscription(body, max_symbols=6)) == 6


def test_oversized_message_is_refused():
    with pytest.raises(SubscriptionError, match="larger than"):
        parse_subscription('{"subscribeTo": ["' + "A" * 40000 + '"]}')


def test_replacement_deletes_only_what_is_dropped():
    plan = plan_replacement({"AAPL", "MSFT", "BTC/USD"}, ["BTC/USD", "ETH/USD"])
    assert plan.delete == ("AAPL", "MSFT")
    assert plan.put == ("BTC/USD", "ETH/USD")


def test_confirmation_is_the_message_the_dashboard_expects():
    assert confirmation(["AAPL", "BTC/USD"]) == {"message": "You are connected to live feed for symbols: AAPL, BTC/USD"}
