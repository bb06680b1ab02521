"""The agent's smoke probes against the InfluxDB double: every request they send
is validated against InfluxData's contract (the `influx` fixture fails a test
whose requests or answers leave it), and the tokens are the ones the agent
issued, so the permissions are the real ones."""

from __future__ import annotations

import pytest
import token_agent


def issued(influx):
    answer = token_agent.handler(
        {
            "influxUrl": influx.url,
            "adminToken": influx.operator_token,
            "org": "streamlines",
            "bucket": "market-data",
            "deadlineSeconds": 10,
        },
        None,
    )
    assert answer["ok"], answer
    return answer["tokens"]["read"], answer["tokens"]["write"]


def probe(influx, action, read, write, **extra):
    event = {
        "action": action,
        "influxUrl": influx.url,
        "org": "streamlines",
        "bucket": "market-data",
        "readToken": read,
        "writeToken": write,
        "deadlineSeconds": 10,
        **extra,
    }
    return token_agent.handler(event, None)


def test_round_trip_writes_reads_and_deletes_one_scratch_point(influx):
    read, write = issued(influx)
    before = len(influx.requests)
    answer = probe(influx, "round_trip", read["token"], write["token"])
    assert answer == {"ok": True, "wrote": 1, "read": 1, "deleted": 1, "requests": 4}
    assert influx.requests[before:] == [
        ("POST", "/api/v2/write"),
        ("POST", "/api/v2/query"),
        ("POST", "/api/v2/delete"),
        ("POST", "/api/v2/query"),
    ]
    assert influx.points == []
    # No operator token in any probe request.
    assert "adminToken" not in token_agent.PROBES


def test_round_trip_names_the_revoked_token(influx):
    read, write = issued(influx)
    influx.revoke(write["authorizationID"])
    answer = probe(influx, "round_trip", read["token"], write["token"])
    assert answer["ok"] is False
    assert (
        answer["error"]
        == "InfluxDB refused the write token while writing a point (HTTP 401): it was revoked or is not the issued one."
    )
    influx.revoke(read["authorizationID"])
    _, write = issued(influx)
    answer = probe(influx, "round_trip", read["token"], write["token"])
    assert (
        answer["error"]
        == "InfluxDB refused the read token while reading the point back (HTTP 401): it was revoked or is not "
        "the issued one."
    )


def test_swapped_tokens_fail_on_their_permissions(influx):
    """The read token cannot write, nor the write token read: InfluxDB says 404."""
    read, write = issued(influx)
    answer = probe(influx, "round_trip", write["token"], read["token"])
    assert answer == {
        "ok": False,
        "error": 'the write token may not be used for writing a point (HTTP 404 (bucket "market-data" not found)): '
        "its permissions are not the issued ones.",
        "requests": 1,
    }
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
    assert answer == {
        "ok": False,
        "error": "unknown action 'drop_bucket'; known: ensure_tokens, round_trip, recent_points.",
        "requests": 0,
    }
    assert influx.requests == []


def test_a_query_outside_the_contract_is_refused_by_the_double(influx):
    """Show that the double validates: a query request without org leaves the contract (400)."""
    import time

    from influx_tokens import Client

    read, _ = issued(influx)
    status, body = Client(influx.url, time.monotonic() + 5).call(
        "POST", "/api/v2/query", read["token"], None, {"query": "buckets()", "type": "flux"}
    )
    assert status == 400


@pytest.mark.parametrize(
    "status, body, expected",
    [
        (
            401,
            None,
            "InfluxDB refused the read token while reading (HTTP 401): it was revoked or is not the issued one.",
        ),
        (
            403,
            {"message": "forbidden"},
            "the read token may not be used for reading (HTTP 403 (forbidden)): its permissions are not the issued "
            "ones.",
        ),
        (
            404,
            {"message": "bucket not found"},
            "the read token may not be used for reading (HTTP 404 (bucket not found)): its permissions are not "
            "the issued ones.",
        ),
        (500, {"message": "internal"}, "InfluxDB failed while reading (HTTP 500 (internal))."),
        (400, None, "InfluxDB failed while reading (HTTP 400)."),
    ],
)
def test_each_refusal_is_one_sentence_naming_the_token(status, body, expected):
    import probes

    assert str(probes._refused("read", status, body, "reading")) == expected


def test_recent_points_report_the_latest_time_and_say_what_failed(influx):
    import time as clock

    read, write = issued(influx)
    now = clock.time()
    influx.add_point("market-data", "ripples", 120, now=now)
    answer = probe(influx, "recent_points", read["token"], None, minutes=15)
    assert answer["latest"] == clock.strftime("%Y-%m-%dT%H:%M:%SZ", clock.gmtime(now - 120))
    influx.revoke(read["authorizationID"])
    answer = probe(influx, "recent_points", read["token"], None, minutes=15)
    assert answer == {
        "ok": False,
        "error": "InfluxDB refused the read token while looking for recent points (HTTP 401): it was revoked "
        "or is not the issued one.",
        "requests": 1,
    }


def test_the_agent_logs_what_happened_and_no_token(influx, caplog):
    import json as j
    import logging

    caplog.set_level(logging.INFO)
    read, write = issued(influx)
    probe(influx, "round_trip", read["token"], write["token"])
    influx.revoke(write["authorizationID"])
    probe(influx, "round_trip", read["token"], write["token"])
    events = [j.loads(record.getMessage()) for record in caplog.records if record.name == "root"]
    assert events[0] == {"event": "tokens_ensured", "created": ["read", "write"], "requests": 6}
    assert events[1] == {"event": "round_trip", "wrote": 1, "read": 1, "deleted": 1, "requests": 4}
    assert events[2] == {
        "event": "round_trip_failed",
        "reason": "InfluxDB refused the write token while writing a point (HTTP 401): it was revoked or is not "
        "the issued one.",
        "requests": 1,
    }
    assert [record.levelname for record in caplog.records if record.name == "root"] == ["INFO", "INFO", "WARNING"]
    text = " ".join(record.getMessage() for record in caplog.records)
    assert read["token"] not in text and write["token"] not in text


def test_a_failed_issue_is_logged_with_its_reason(influx, caplog):
    import json as j
    import logging

    caplog.set_level(logging.INFO)
    answer = token_agent.handler(
        {
            "influxUrl": influx.url,
            "adminToken": "wrong",
            "org": "streamlines",
            "bucket": "market-data",
            "deadlineSeconds": 10,
        },
        None,
    )
    assert answer["ok"] is False
    (event,) = [j.loads(record.getMessage()) for record in caplog.records if record.name == "root"]
    assert event == {"event": "tokens_failed", "reason": answer["error"], "requests": answer["requests"]}
    assert caplog.records[-1].levelname == "WARNING"


def test_recent_points_default_to_a_fifteen_minute_window(influx):
    read, write = issued(influx)
    influx.add_point("market-data", "ripples", 16 * 60)
    event = {
        "action": "recent_points",
        "influxUrl": influx.url,
        "org": "streamlines",
        "bucket": "market-data",
        "readToken": read["token"],
        "deadlineSeconds": 10,
    }
    assert token_agent.handler(event, None)["series"] == 0
    influx.add_point("market-data", "ripples", 14 * 60)
    assert token_agent.handler(event, None)["series"] == 1


PERMISSION = {"action": "read", "resource": {"type": "buckets", "id": "b1", "orgID": "o1"}}


@pytest.mark.parametrize(
    "change",
    [
        {"action": "write"},
        {"resource": {"type": "orgs", "id": "b1", "orgID": "o1"}},
        {"resource": {"type": "buckets", "id": "b2", "orgID": "o1"}},
        {"resource": {"type": "buckets", "id": "b1", "orgID": "o2"}},
        {"resource": {"type": "buckets", "orgID": "o1"}},
    ],
)
def test_a_permission_that_differs_in_any_part_is_not_the_same(change):
    from influx_tokens import _same_permissions

    assert _same_permissions([PERMISSION], [PERMISSION])
    assert not _same_permissions([{**PERMISSION, **change}], [PERMISSION])
    assert not _same_permissions([{k: v for k, v in PERMISSION.items() if k != "resource"}], [PERMISSION])
    assert not _same_permissions(None, [PERMISSION])


def direct(influx, sleeps=None):
    """probes.round_trip itself, with a recorded sleep."""
    import time as clock
    from datetime import datetime, timezone

    import probes
    from influx_tokens import Client

    read, write = issued(influx)
    sleeps = [] if sleeps is None else sleeps
    client = Client(influx.url, clock.monotonic() + 10)
    return lambda: probes.round_trip(
        client,
        "streamlines",
        "market-data",
        read["token"],
        write["token"],
        lambda: datetime.now(timezone.utc),
        sleeps.append,
    )


def test_each_round_trip_writes_one_line_with_a_random_run_id(influx):
    import re as regex

    run = direct(influx)
    run()
    run()
    runs = [
        regex.fullmatch(r"streamlines_smoke,run=([0-9a-f]{12}) value=1i \d{10}", line).group(1)
        for line in influx.writes
    ]
    assert len(runs) == 2 and runs[0] != runs[1]


def test_a_point_slow_to_show_is_read_again_after_a_second(influx):
    sleeps = []
    influx.hidden_reads = 2
    assert direct(influx, sleeps)() == {"wrote": 1, "read": 1, "deleted": 1}
    assert sleeps == [1.0, 1.0]


def test_a_point_that_never_shows_is_reported_after_three_reads(influx):
    import probes
    from influx_tokens import TokenError

    sleeps = []
    influx.hidden_reads = 3
    with pytest.raises(TokenError) as failed:
        direct(influx, sleeps)()
    assert str(failed.value) == "the point written with the write token did not come back with the read token."
    assert sleeps == [1.0, 1.0] and probes.READ_ATTEMPTS == 3
    assert [path for method, path in influx.requests].count("/api/v2/query") == 3


def test_the_delete_touches_only_the_scratch_point(influx):
    influx.add_point("market-data", "windowed-stock-quotation-volumes", 1)
    direct(influx)()
    assert [p["measurement"] for p in influx.points] == ["windowed-stock-quotation-volumes"]


@pytest.mark.parametrize(
    "path, statuses, message",
    [
        (
            "/api/v2/delete",
            [403],
            "the write token may not be used for deleting the point (HTTP 403 (refused with 403 by the test)): "
            "its permissions are not the issued ones.",
        ),
        (
            "/api/v2/query",
            [None, 500, 500, 500],
            "InfluxDB failed while checking the point is gone (HTTP 500 (refused with 500 by the test)).",
        ),
        (
            "/api/v2/write",
            [404],
            "the write token may not be used for writing a point (HTTP 404 (refused with 404 by the test)): its "
            "permissions are not the issued ones.",
        ),
        (
            "/api/v2/query",
            [404],
            "the read token may not be used for reading the point back (HTTP 404 (refused with 404 by the test)): "
            "its permissions are not the issued ones.",
        ),
    ],
)
def test_each_step_that_fails_names_itself(influx, path, statuses, message):
    from influx_tokens import TokenError

    run = direct(influx)
    influx.refuse[path] = list(statuses)
    with pytest.raises(TokenError) as failed:
        run()
    assert str(failed.value) == message


def test_annotated_csv_rows_are_read_past_their_annotations():
    import probes

    text = (
        "#datatype,string,long,dateTime:RFC3339\r\n#group,false,false,false\r\n#default,_result,,\r\n"
        ",result,table,_time\r\n,,0,2026-11-29T10:00:00Z\r\n\r\n"
    )
    assert probes._rows(text) == [{"": "", "result": "", "table": "0", "_time": "2026-11-29T10:00:00Z"}]
    assert probes._rows(None) == []


def test_recent_points_take_the_window_asked_for(influx):
    read, write = issued(influx)
    influx.add_point("market-data", "ripples", 6 * 60)
    assert probe(influx, "recent_points", read["token"], None, minutes=5)["series"] == 0
    assert probe(influx, "recent_points", read["token"], None, minutes=7)["series"] == 1
    influx.points.clear()
    influx.add_point("market-data", "ripples", 15.5 * 60)
    event = {
        "action": "recent_points",
        "influxUrl": influx.url,
        "org": "streamlines",
        "bucket": "market-data",
        "readToken": read["token"],
        "deadlineSeconds": 10,
    }
    assert token_agent.handler(event, None)["series"] == 0
