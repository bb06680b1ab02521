"""Pure logic of the WebSocket connection handler: parse and validate a
subscription message, and say what to store and answer. No AWS calls here."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

# Ticker symbols ("AAPL", "BRK.B") and pairs ("BTC/USD"); nothing that could be
# mistaken for markup or a key expression.
SYMBOL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9./:_-]{0,31}$")
DEFAULT_MAX_SYMBOLS = 50
MAX_MESSAGE_BYTES = 32 * 1024


class SubscriptionError(ValueError):
    """The client's message is unusable; the text is sent back to that client."""


@dataclass(frozen=True)
class Plan:
    """Which (connection, symbol) items to delete and to put."""

    delete: tuple[str, ...]
    put: tuple[str, ...]


def parse_subscription(body: str | None, max_symbols: int = DEFAULT_MAX_SYMBOLS) -> list[str]:
    """The symbols of a `{"subscribeTo": [...]}` message, deduplicated in order."""
    if body is None or body == "":
        raise SubscriptionError('The message is empty; send {"subscribeTo": ["SYMBOL", ...]}.')
    if len(body.encode("utf-8")) > MAX_MESSAGE_BYTES:
        raise SubscriptionError(f"The message is larger than {MAX_MESSAGE_BYTES} bytes.")
    try:
        message = json.loads(body)
    except ValueError:
        raise SubscriptionError('The message is not JSON; send {"subscribeTo": ["SYMBOL", ...]}.') from None
    if not isinstance(message, dict):
        raise SubscriptionError('The message must be a JSON object with a "subscribeTo" list.')
    if "subscribeTo" not in message:
        raise SubscriptionError('The message has no "subscribeTo" list.')
    symbols = message["subscribeTo"]
    if not isinstance(symbols, list):
        raise SubscriptionError('"subscribeTo" must be a list of symbol strings.')
    unique: list[str] = []
    for symbol in symbols:
        if not isinstance(symbol, str):
            raise SubscriptionError('"subscribeTo" must contain only strings.')
        if not SYMBOL.match(symbol):
            raise SubscriptionError(f"{symbol[:40]!r} is not a valid symbol (1-32 letters, digits and . / : _ -).")
        if symbol not in unique:
            unique.append(symbol)
    if len(unique) > max_symbols:
        raise SubscriptionError(f"At most {max_symbols} symbols per connection; {len(unique)} were asked for.")
    return unique


def plan_replacement(current: set[str], wanted: list[str]) -> Plan:
    """Replace the current subscriptions by `wanted`, touching only what changes
    (items that stay are put again to refresh their expiry)."""
    return Plan(delete=tuple(sorted(current - set(wanted))), put=tuple(wanted))


def confirmation(symbols: list[str]) -> dict[str, str]:
    """The answer the dashboard expects after a subscription."""
    return {"message": "You are connected to live feed for symbols: " + ", ".join(symbols)}


def error_message(error: SubscriptionError) -> dict[str, str]:
    return {"error": str(error)}
