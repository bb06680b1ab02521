"""Pure functions of the connection handler."""

from __future__ import annotations

import json

import pytest
from subscriptions import SubscriptionError, confirmation, parse_subscription, plan_replacement


def test_symbols_in_order_without_duplicates():
    assert parse_subscription('{"subscribeTo": ["AAPL", "BTC/USD", "AAPL"]}') == ["AAPL", "BTC/USD"]


def test_empty_list_unsubscribes_everything():
    assert parse_subscription('{"subscribeTo": []}') == []


SEND = ' send {"subscribeTo": ["SYMBOL", ...]}.'


# The client reads these sentences: each is asserted whole.
@pytest.mark.parametrize(
    "body,message",
    [
        (None, "The message is empty;" + SEND),
        ("", "The message is empty;" + SEND),
        ("subscribe AAPL", "The message is not JSON;" + SEND),
        ('["AAPL"]', 'The message must be a JSON object with a "subscribeTo" list.'),
        ('"AAPL"', 'The message must be a JSON object with a "subscribeTo" list.'),
        ('{"subscribe": ["AAPL"]}', 'The message has no "subscribeTo" list.'),
        ('{"subscribeTo": "AAPL"}', '"subscribeTo" must be a list of symbol strings.'),
        ('{"subscribeTo": {"AAPL": 1}}', '"subscribeTo" must be a list of symbol strings.'),
        ('{"subscribeTo": ["AAPL", 42]}', '"subscribeTo" must contain only strings.'),
        ('{"subscribeTo": ["AAPL", null]}', '"subscribeTo" must contain only strings.'),
        ('{"subscribeTo": [""]}', "'' is not a valid symbol (1-32 letters, digits and . / : _ -)."),
        ('{"subscribeTo": ["<script>"]}', "'<script>' is not a valid symbol (1-32 letters, digits and . / : _ -)."),
        (
            '{"subscribeTo": ["' + "A" * 45 + '"]}',
            repr("A" * 40) + " is not a valid symbol (1-32 letters, digits and . / : _ -).",
        ),
    ],
)
def test_unusable_messages_are_refused_with_a_reason(body, message):
    with pytest.raises(SubscriptionError) as refused:
        parse_subscription(body)
    assert str(refused.value) == message


def test_number_of_symbols_is_bounded():
    body = json.dumps({"subscribeTo": [f"S{i}" for i in range(6)]})
    with pytest.raises(SubscriptionError) as refused:
        parse_subscription(body, max_symbols=5)
    assert str(refused.value) == "At most 5 symbols per connection; 6 were asked for."
    assert len(parse_subscription(body, max_symbols=6)) == 6


def test_oversized_message_is_refused_at_the_byte_limit():
    from subscriptions import MAX_MESSAGE_BYTES

    prefix, suffix = '{"subscribeTo": ["AAPL"], "pad": "', '"}'
    exact = prefix + "x" * (MAX_MESSAGE_BYTES - len(prefix) - len(suffix)) + suffix
    assert len(exact.encode()) == MAX_MESSAGE_BYTES and parse_subscription(exact) == ["AAPL"]
    with pytest.raises(SubscriptionError) as refused:
        parse_subscription(exact.replace('"pad": "', '"pad": "x'))
    assert str(refused.value) == f"The message is larger than {MAX_MESSAGE_BYTES} bytes."


def test_replacement_deletes_only_what_is_dropped():
    plan = plan_replacement({"AAPL", "MSFT", "BTC/USD"}, ["BTC/USD", "ETH/USD"])
    assert plan.delete == ("AAPL", "MSFT")
    assert plan.put == ("BTC/USD", "ETH/USD")


def test_confirmation_is_the_message_the_dashboard_expects():
    assert confirmation(["AAPL", "BTC/USD"]) == {"message": "You are connected to live feed for symbols: AAPL, BTC/USD"}
