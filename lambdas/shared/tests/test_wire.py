"""The payload encoding against vectors produced by pako 2.2.0 (the dashboard's
library): `Buffer.from(pako.deflate(JSON.stringify(value))).toString("base64")`."""

from __future__ import annotations

import base64
import zlib

import wire

MESSAGES = [
    {"measure_id": "m-1", "measurement": "windowed-stock-quotation-volumes", "symbol": "AAPL", "sum_bid_volume": 1200.5}
]
PAKO_MESSAGES = (
    b"eJyLrlbKTU0sLi1Kjc9MUbJSytU1VNKBCeWm5pUAxcoz81Lyy1NTdItL8pOzdQtL80sSSzLz83TL8nNKc1OLgRqKK3OT8nOAah0dA3xA/"
    b"NLc+KTMlHiICiUrQyMDAz3T2lgAiX0mNw=="
)
CONFIRMATION = {"message": "You are connected to live feed for symbols: AAPL, BTC/USD"}
PAKO_CONFIRMATION = (
    b"eJyrVspNLS5OTE9VslKKzC9VSCxKVUjOz8tLTS5JTVEoyVfIySxLVUhLBXLS8osUiitzk/Jziq0UHB0DfHQUnEKc9UODXZRqAX0QF9c="
)


def test_pako_output_inflates_with_zlib():
    raw = zlib.decompress(base64.b64decode(PAKO_MESSAGES))
    assert (
        raw == b'[{"measure_id":"m-1","measurement":"windowed-stock-quotation-volumes",'
        b'"symbol":"AAPL","sum_bid_volume":1200.5}]'
    )


def test_encoding_gives_pako_bytes_exactly():
    assert wire.encode(MESSAGES) == PAKO_MESSAGES
    assert wire.encode(CONFIRMATION) == PAKO_CONFIRMATION


def test_zlib_header_is_present():
    assert base64.b64decode(wire.encode(CONFIRMATION))[:2] == b"\x78\x9c"


def test_round_trip_keeps_unicode():
    value = [{"symbol": "AAPL", "note": "prix moyen €"}]
    assert wire.decode(wire.encode(value)) == value


def test_non_ascii_goes_as_utf8_as_json_stringify_sends_it():
    """JSON.stringify does not escape "€" as \\u20ac; neither may we (the dashboard
    inflates to a string and parses it: both parse, but the bytes must match)."""
    raw = zlib.decompress(base64.b64decode(wire.encode({"note": "prix moyen €"})))
    assert raw == '{"note":"prix moyen €"}'.encode("utf-8")


def test_items_expire_from_the_given_write_time(aws):
    """write(now=...) stamps expiresAt from that time, not the clock."""
    import connections_table

    from tests.doubles import apigateway

    table = apigateway.connections_table()
    connections_table.write(table, "c1", delete=(), put=("AAPL",), now=1_000.0)
    assert [int(item["expiresAt"]) for item in table.scan()["Items"]] == [1_000 + connections_table.TTL_SECONDS]
