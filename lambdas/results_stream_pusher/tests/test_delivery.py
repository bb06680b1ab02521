"""Pure functions of the results pusher, on sample Kinesis events."""

from __future__ import annotations

import connections_table
import pytest
from delivery import (
    MalformedRecord,
    Post,
    Record,
    batch_item_failures,
    decode_batch,
    decode_record,
    distinct_symbols,
    plan_posts,
)

FOLDER = "results_stream_pusher"
BASE = 49590338271490256608559692538361571095921575989136588800


def seq(n: int) -> str:
    return str(BASE + n)


def test_malformed_records_are_reported_and_the_rest_kept(event):
    malformed = []
    records = decode_batch(event(FOLDER, "batch_mixed.json"), lambda number, error: malformed.append(number))
    assert [r.sequence_number for r in records] == [seq(1), seq(2), seq(3), seq(5), seq(6), seq(11)]
    assert malformed == [seq(4), seq(7), seq(8), seq(9), seq(10)]
    assert distinct_symbols(records) == ["AAPL", "BTC/USD"]


@pytest.mark.parametrize(
    "index,words",
    [(3, "not base64-encoded JSON"), (6, "not base64"), (7, "not a JSON object"), (8, "'symbol'"), (9, "'symbol'")],
)
def test_each_kind_of_malformed_record_has_its_reason(event, index, words):
    with pytest.raises(MalformedRecord, match=words):
        decode_record(event(FOLDER, "batch_mixed.json")["Records"][index])


def records(*symbols: str) -> list[Record]:
    return [
        Record(str(i), {"measure_id": str(i), "measurement": "m", "symbol": s}) for i, s in enumerate(symbols, start=1)
    ]


def test_posts_group_per_connection_in_stream_order():
    posts = plan_posts(records("AAPL", "MSFT", "AAPL"), {"AAPL": ["c1", "c2"], "MSFT": ["c2"]})
    assert [(p.connection_id, [r.sequence_number for r in p.records]) for p in posts] == [
        ("c1", ["1", "3"]),
        ("c2", ["1", "2", "3"]),
    ]


def test_posts_hold_at_most_seven_messages():
    posts = plan_posts(records(*["AAPL"] * 16), {"AAPL": ["c1"]})
    assert [len(p.records) for p in posts] == [7, 7, 2]


def test_symbols_without_subscribers_post_nothing():
    assert plan_posts(records("AAPL"), {"AAPL": []}) == []


def test_failures_name_each_record_once_in_order():
    r = records("A", "B", "C")
    response = batch_item_failures([Post("c1", (r[2], r[0])), Post("c2", (r[0],))])
    assert response == {"batchItemFailures": [{"itemIdentifier": "1"}, {"itemIdentifier": "3"}]}


def test_subscriber_lookup_follows_pages():
    class PagedTable:
        def __init__(self):
            self.calls = []

        def query(self, **kwargs):
            self.calls.append(kwargs)
            if "ExclusiveStartKey" not in kwargs:
                return {"Items": [{"connectionId": "b"}], "LastEvaluatedKey": {"k": 1}}
            return {"Items": [{"connectionId": "a"}]}

    table = PagedTable()
    assert connections_table.subscribers(table, "AAPL") == ["a", "b"]
    assert [c["IndexName"] for c in table.calls] == ["symbol", "symbol"]
    assert table.calls[1]["ExclusiveStartKey"] == {"k": 1}


# What ripples writes to the results stream (docs/architecture.md, "The data model").
RIPPLES_FIELDS = {
    "measure_id",
    "measurement",
    "symbol",
    "tags",
    "sum_bid_volume",
    "sum_ask_volume",
    "average_bid_price",
    "average_ask_price",
    "bid_price_at_window_end",
    "ask_price_at_window_end",
    "record_count",
    "window_start_time",
    "window_end_time",
}


@pytest.mark.parametrize("name", ["batch_mixed.json", "batch_sixteen_aapl.json"])
def test_event_files_hold_records_as_ripples_writes_them(event, name):
    import base64
    import binascii
    import json

    valid = 0
    for record in event(FOLDER, name)["Records"]:
        try:
            message = json.loads(base64.b64decode(record["kinesis"]["data"]))
        except (ValueError, binascii.Error):  # the malformed records these files hold on purpose
            continue
        if isinstance(message, dict) and "window_end_time" in message:
            valid += 1
            assert set(message) == RIPPLES_FIELDS
            assert isinstance(message["record_count"], int) and isinstance(message["window_end_time"], int)
            assert isinstance(message["sum_bid_volume"], float) and message["tags"] == {"symbol": message["symbol"]}
    assert valid >= 6


def test_data_with_characters_outside_base64_is_malformed():
    """A lenient decode would drop the stray characters and take the rest for data."""
    import base64
    import json

    data = base64.b64encode(json.dumps({"measure_id": "m", "measurement": "x", "symbol": "AAPL"}).encode()).decode()
    with pytest.raises(MalformedRecord) as refused:
        decode_record({"kinesis": {"sequenceNumber": "5", "data": data[:8] + "!" + data[8:]}})
    assert str(refused.value) == "record 5 is not base64-encoded JSON (Error)"


def test_an_event_without_records_is_an_empty_batch():
    seen = []
    assert decode_batch({}, lambda number, error: seen.append((number, error))) == [] and seen == []


def test_the_malformed_callback_gets_the_error_itself():
    seen = []
    decode_batch(
        {"Records": [{"kinesis": {"sequenceNumber": "3", "data": "bm90IGpzb24="}}]},
        lambda number, error: seen.append((number, error)),
    )
    ((number, error),) = seen
    assert (
        number == "3"
        and isinstance(error, MalformedRecord)
        and str(error) == "record 3 is not base64-encoded JSON (JSONDecodeError)"
    )


def test_a_symbol_nobody_subscribed_to_is_simply_skipped():
    records = [Record("1", {"symbol": "AAPL"}), Record("2", {"symbol": "MSFT"})]
    assert plan_posts(records, {"MSFT": ["c1"]}) == [Post("c1", (records[1],))]


def test_failed_records_are_ordered_as_numbers_not_as_text():
    posts = [Post("c1", (Record("10", {}), Record("9", {}))), Post("c2", (Record("100", {}),))]
    assert batch_item_failures(posts) == {
        "batchItemFailures": [{"itemIdentifier": "9"}, {"itemIdentifier": "10"}, {"itemIdentifier": "100"}]
    }
