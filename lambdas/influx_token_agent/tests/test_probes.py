"""The agent's smoke probes against the InfluxDB double: every request they send
is validated against InfluxData's contract (the `influx` fixture fails a test
whose requests or answers leave it), and the tokens are the ones the agent
issued, so the permissions are the real ones."""

from __future__ import annotations

import pytest

import token_agent


def issued(influx):
    answer = token_agent.handler(
        {"influxUrl": influx.url, "adminToken": influx.operator_token, "org": "streamlines", "bucket": "market-data", "deadlineSeconds": 10}, None
    )
    assert answer["ok"], answer
    return answer["tokens"]["read"], answer["tokens"]["write"]


def probe(influx, action, read, write, **extra):
    event = {"action": action, "influxUrl": influx.url, "org": "streamlines", "bucket": "market-data", "readToken": read, "writeToken": write, "deadlineSeconds": 10, **extra}
    return token_agent.handler(event, None)


def test_round_trip_writes_reads_and_deletes_one_scratch_point(influx):
    read, write = issued(influx)
    before = len(influx.requests)
    answer = probe(influx, "round_trip", read["token"], write["token"])
    assert answer == {"ok": True, "wrote": 1, "read": 1, "deleted": 1, "requests": 4}
    assert influx.requests[before:] == [("POST", "/api/v2/write"), ("POST", "/api/v2/query"), ("POST", "/api/v2/delete"), ("POST", "/api/v2/query")]
    assert influx.points == []
    # No operator token in any probe request.
    assert "adminToken" not in token_agent.PROBES


def test_round_trip_names_the_revoked_token(influx):
    read, write = issued(influx)
    influx.revoke(write["authorizationID"])
    answer = probe(influx, "round_trip", read["token"], write["token"])
    assert answer["ok"] is False
    assert answer["error"] == "InfluxDB refused the write token while writing a point (HTTP 401): it was revoked or is not the issued one."
    influx.revoke(read["authorizationID"])
    _, write = issued(influx)
    answer = probe(influx, "round_trip", read["token"], write["token"])
    assert answer["error"] == "InfluxDB refused the read token while reading the point back (HTTP 401): it was revoked or is not the issued one."


def test_swapped_tokens_fail_on_their_permissions(influx):
    """The read token cannot write, nor the write token read: InfluxDB says 404."""
    read, write = issued(influx)
    answer = probe(influx, "round_trip", write["token"], read["token"])
    assert answer["ok"] is False and answer["error"].startswith("the write token may not be used for writing a point (HTTP 404")
    assert influx.points == []


def test_a_delete_that_leaves_the_point_is_reported(influx):
    read, write = issued(influx)
    influx.ignore_deletes = True
    answer = probe(influx, "round_trip", read["token"], write["token"])
    assert answer["ok"] is False and answer["error"] == "the scratch point was still there after its delete."


@pytest.mark.parametrize("seconds_ago, series", [(60, 1), (14 * 60, 1), (16 * 60, 0)])
def test_recent_points_sees_only_the_window(influx, seconds_ago, series):
    read, write = issued(influx)
    influx.add_point("market-data", "ripples", seconds_ago)
    # The probe's own scratch measurement is not data.
    influx.add_point("market-data", "streamlines_smoke", 1)
    answer = probe(influx, "recent_points", read["token"], None, minutes=15)
    assert answer["ok"] is True and answer["series"] == series and answer["requests"] == 1
    assert (answer["latest"] is not None) == bool(series)


def test_unknown_action_is_refused_in_one_sentence(influx):
    answer = token_agent.handler({"action": "drop_bucket", "influxUrl": influx.url}, None)
    assert answer == {"ok": False, "error": "unknown action 'drop_bucket'; known: ensure_tokens, round_trip, recent_points.", "requests": 0}
    assert influx.requests == []


def test_a_query_outside_the_contract_is_refused_by_the_double(influx):
    """Show that the double validates: a query request without org leaves the contract (400)."""
    from influx_tokens import Client
    import time

    read, _ = issued(influx)
    status, body = Client(influx.url, time.monotonic() + 5).call("POST", "/api/v2/query", read["token"], None, {"query": "buckets()", "type": "flux"})
    assert status == 400
