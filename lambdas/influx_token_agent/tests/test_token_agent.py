"""The token agent against the InfluxDB double (which validates requests against the contract)."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

import pytest
import token_agent
from influx_tokens import Client, wait_until_healthy


def invoke(influx, stored=None, deadline=10, admin=None, org="streamlines", bucket="market-data"):
    event = {
        "influxUrl": influx.url,
        "adminToken": admin or influx.operator_token,
        "org": org,
        "bucket": bucket,
        "description": "streamlines test",
        "deadlineSeconds": deadline,
        "stored": stored
        or {
            "read": {"token": "PLACEHOLDER", "authorizationID": ""},
            "write": {"token": "PLACEHOLDER", "authorizationID": ""},
        },
    }
    return token_agent.handler(event, None)


def stored_from(answer):
    return {kind: {k: v for k, v in value.items() if k != "created"} for kind, value in answer["tokens"].items()}


def can(influx, token, method, path, **query):
    url = influx.url + path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    request = urllib.request.Request(url, method=method, headers={"Authorization": f"Token {token}"})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_empty_server_gets_a_read_and_a_write_token(influx):
    answer = invoke(influx)
    assert answer["ok"] is True
    assert {k: v["created"] for k, v in answer["tokens"].items()} == {"read": True, "write": True}
    bucket_id = next(iter(influx.buckets))
    org_id = influx.orgs["streamlines"]
    by_id = {a["id"]: a for a in influx.created()}
    for kind in ("read", "write"):
        authorization = by_id[answer["tokens"][kind]["authorizationID"]]
        assert authorization["token"] == answer["tokens"][kind]["token"]
        assert authorization["permissions"] == [
            {"action": kind, "resource": {"type": "buckets", "id": bucket_id, "orgID": org_id}}
        ]
    read_token = answer["tokens"]["read"]["token"]
    assert can(influx, read_token, "GET", "/api/v2/authorizations") == 401


def test_valid_stored_tokens_are_reused(influx):
    first = invoke(influx)
    before = len(influx.created())
    influx.requests.clear()
    second = invoke(influx, stored=stored_from(first))
    assert second["ok"] and not any(v["created"] for v in second["tokens"].values())
    assert stored_from(second) == stored_from(first)
    assert len(influx.created()) == before
    assert ("POST", "/api/v2/authorizations") not in influx.requests
    assert second["requests"] == len(influx.requests) == 6


def test_revoked_token_is_replaced_and_the_other_kept(influx):
    first = invoke(influx)
    influx.revoke(first["tokens"]["write"]["authorizationID"])
    second = invoke(influx, stored=stored_from(first))
    assert second["tokens"]["read"]["created"] is False
    assert second["tokens"]["write"]["created"] is True
    assert second["tokens"]["write"]["token"] != first["tokens"]["write"]["token"]


def test_inactive_or_wrongly_scoped_tokens_are_replaced(influx):
    first = invoke(influx)
    influx.authorizations[first["tokens"]["read"]["authorizationID"]]["status"] = "inactive"
    swapped = {"read": stored_from(first)["write"], "write": stored_from(first)["write"]}
    second = invoke(influx, stored=swapped)
    assert second["tokens"]["read"]["created"] is True
    assert second["tokens"]["write"]["created"] is False


def test_stored_token_that_does_not_authenticate_is_replaced(influx):
    first = invoke(influx)
    tampered = stored_from(first)
    tampered["read"]["token"] = "not-the-token"
    second = invoke(influx, stored=tampered)
    assert second["tokens"]["read"]["created"] is True


def test_missing_bucket_fails_with_its_name(influx):
    answer = invoke(influx, bucket="no-such-bucket")
    assert answer == {
        "ok": False,
        "error": "InfluxDB bucket 'no-such-bucket' does not exist in organization 'streamlines'",
        "requests": answer["requests"],
    }
    assert influx.created() == []


def test_missing_org_fails_with_its_name(influx):
    answer = invoke(influx, org="other-org")
    assert answer["ok"] is False and "'other-org' does not exist" in answer["error"]


def test_wrong_operator_token_is_reported(influx):
    answer = invoke(influx, admin="wrong")
    assert answer["ok"] is False and "refused the operator token" in answer["error"]


def test_never_healthy_fails_by_the_deadline(influx):
    influx.healthy = False
    start = time.monotonic()
    answer = invoke(influx, deadline=3)
    elapsed = time.monotonic() - start
    assert answer["ok"] is False and "did not become healthy" in answer["error"] and "HTTP 503" in answer["error"]
    assert 2.5 <= elapsed < 4.5


def test_unreachable_server_fails_by_the_deadline():
    class Nowhere:
        url = "http://127.0.0.1:9"
        operator_token = "x"

    start = time.monotonic()
    answer = invoke(Nowhere, deadline=2)
    assert answer["ok"] is False and "did not become healthy" in answer["error"]
    assert time.monotonic() - start < 4


def test_slow_server_within_the_deadline_still_works(influx):
    influx.delay = 0.2
    assert invoke(influx, deadline=10)["ok"] is True


def test_server_errors_are_retried(influx):
    influx.fail_next = 2
    answer = invoke(influx)
    assert answer["ok"] is True
    assert sum(1 for r in influx.requests if r == ("GET", "/api/v2/orgs")) == 3


def test_health_waits_for_a_server_that_comes_up(influx):
    influx.healthy = False
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        if len(sleeps) == 3:
            influx.healthy = True

    wait_until_healthy(Client(influx.url, time.monotonic() + 30), sleep)
    assert len(sleeps) == 3


@pytest.mark.parametrize(
    "body",
    [
        {"orgID": "0a1b2c3d4e5f0001"},
        {"orgID": "0a1b2c3d4e5f0001", "permissions": [{"action": "delete", "resource": {"type": "buckets"}}]},
        {"permissions": []},
    ],
)
def test_the_double_rejects_bodies_outside_the_contract(influx, body):
    import json

    request = urllib.request.Request(
        influx.url + "/api/v2/authorizations",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Token {influx.operator_token}", "Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request)
    assert error.value.code == 400
    assert json.loads(error.value.read())["code"] == "invalid"


def test_the_double_wants_a_token_and_a_known_path(influx):
    assert can(influx, "nope", "GET", "/api/v2/orgs") == 401
    assert can(influx, influx.operator_token, "GET", "/api/v2/nothing-here") == 404
    assert can(influx, influx.operator_token, "DELETE", "/api/v2/orgs") == 405


def test_a_bucket_is_found_by_name_among_many_and_in_its_own_org(influx):
    """InfluxDB lists 20 buckets a page: the lookup asks by name (and org), so the
    bucket is found among 30, and a same-named bucket of another org is not taken."""
    influx.buckets.clear()
    influx.add_org("other")
    # The other org's bucket of the same name first, ours last, after 30 others.
    other = influx.add_bucket("other", "market-data")
    for number in range(30):
        influx.add_bucket("streamlines", f"extra-{number:02d}")
    influx.add_bucket("streamlines", "market-data")
    answer = invoke(influx)
    assert answer["ok"] is True
    for kind in ("read", "write"):
        permission = influx.authorizations[answer["tokens"][kind]["authorizationID"]]["permissions"][0]
        assert permission["resource"]["id"] != other and permission["resource"]["orgID"] == influx.orgs["streamlines"]


def test_an_org_is_found_by_name_among_many(influx):
    for number in range(25):
        influx.add_org(f"aaa-{number:02d}")
    assert invoke(influx)["ok"] is True


@pytest.mark.parametrize(
    "path, status, message",
    [
        (
            "/api/v2/orgs",
            401,
            "InfluxDB refused the operator token while looking up organization 'streamlines': HTTP 401 (refused "
            "with 401 by the test)",
        ),
        (
            "/api/v2/orgs",
            400,
            "InfluxDB failed while looking up organization 'streamlines': HTTP 400 (refused with 400 by the test)",
        ),
        (
            "/api/v2/buckets",
            403,
            "InfluxDB failed while looking up bucket 'market-data': HTTP 403 (refused with 403 by the test)",
        ),
        (
            "/api/v2/authorizations",
            400,
            "InfluxDB failed while listing authorizations: HTTP 400 (refused with 400 by the test)",
        ),
    ],
)
def test_each_lookup_that_fails_names_what_it_was_doing(influx, path, status, message):
    influx.refuse[path] = [status]
    answer = invoke(influx)
    assert answer["ok"] is False and answer["error"] == message


def test_a_missing_org_and_bucket_are_named(influx):
    assert invoke(influx, org="nope")["error"] == "InfluxDB organization 'nope' does not exist"
    assert (
        invoke(influx, bucket="nope")["error"] == "InfluxDB bucket 'nope' does not exist in organization 'streamlines'"
    )


def test_a_listing_without_the_name_asked_for_is_a_missing_bucket():
    """Should InfluxDB ever answer a lookup by name with other items, none is taken."""
    from influx_tokens import TokenError, find_bucket

    class Client:
        def call(self, method, path, token, query=None, body=None):
            return 200, {"buckets": [{"name": "other", "id": "b2"}]}

    with pytest.raises(TokenError) as missing:
        find_bucket(Client(), "admin", "o1", "streamlines", "market-data")
    assert str(missing.value) == "InfluxDB bucket 'market-data' does not exist in organization 'streamlines'"


@pytest.mark.parametrize(
    "value",
    [
        {"token": 5, "authorizationID": "a"},
        {"token": "", "authorizationID": "a"},
        {"token": "PLACEHOLDER", "authorizationID": "a"},
        "token",
        None,
    ],
)
def test_anything_but_a_real_token_is_no_stored_token(value):
    from influx_tokens import Stored

    assert Stored.parse(value) == Stored()


def test_a_stored_token_keeps_its_authorization_id_when_it_has_one():
    from influx_tokens import Stored

    assert Stored.parse({"token": "t", "authorizationID": "a"}) == Stored("t", "a")
    assert Stored.parse({"token": "t", "authorizationID": ""}) == Stored("t", None)
    assert Stored.parse({"token": "t"}) == Stored("t", None)


def test_a_csv_answer_with_bytes_that_are_not_utf8_is_still_text():
    from influx_tokens import _answer

    assert _answer(b"a,\xff\r\n", "application/csv") == "a,\ufffd\r\n"
    assert _answer(b'{"a": 1}', "application/json") == {"a": 1}
    assert _answer(b"", "application/json") is None and _answer(b"not json", "application/json") is None


def test_each_token_is_described_for_whoever_reads_influxdbs_token_list(influx):
    answer = invoke(influx)
    descriptions = {
        kind: influx.authorizations[answer["tokens"][kind]["authorizationID"]]["description"]
        for kind in ("read", "write")
    }
    assert descriptions == {
        "read": "streamlines test: read market-data",
        "write": "streamlines test: write market-data",
    }


def test_a_failed_or_tokenless_creation_is_named(influx):
    influx.refuse["/api/v2/authorizations"] = [None, 400]
    assert (
        invoke(influx)["error"]
        == "InfluxDB failed while creating the read token: HTTP 400 (refused with 400 by the test)"
    )
    influx.tokenless_create = True
    assert (
        invoke(influx)["error"]
        == "InfluxDB did not answer 201 Created with a token when creating the read token (HTTP 201)"
    )


def test_the_health_wait_uses_the_sleep_it_is_given(influx):
    import time as clock

    from influx_tokens import Client, Stored, ensure_tokens

    influx.healthy = False
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        influx.healthy = True

    client = Client(influx.url, clock.monotonic() + 10)
    outcomes = ensure_tokens(
        client,
        influx.operator_token,
        "streamlines",
        "market-data",
        {"read": Stored(), "write": Stored()},
        "streamlines",
        sleep,
    )
    assert slept == [2.0] and set(outcomes) == {"read", "write"}


def test_a_creation_answered_with_anything_but_201_is_refused():
    from influx_tokens import Stored, TokenError, ensure_tokens

    class Client:
        base_url = "http://influx:8086"

        def call(self, method, path, token, query=None, body=None, attempts=3):
            if path == "/health":
                return 200, {"status": "pass"}
            if path == "/api/v2/orgs":
                return 200, {"orgs": [{"name": "streamlines", "id": "o1"}]}
            if path == "/api/v2/buckets":
                return 200, {"buckets": [{"name": "market-data", "id": "b1"}]}
            if method == "GET":
                return 200, {"authorizations": []}
            return 200, {"id": "a1", "token": "t"}

    with pytest.raises(TokenError) as refused:
        ensure_tokens(
            Client(),
            "admin",
            "streamlines",
            "market-data",
            {"read": Stored(), "write": Stored()},
            "streamlines",
            lambda s: None,
        )
    assert (
        str(refused.value) == "InfluxDB did not answer 201 Created with a token when creating the read token (HTTP 200)"
    )


def test_the_sam_local_events_run_through_the_handler_in_order(influx, event):
    """events/ holds what `sam local invoke -e` sends; run here against the double, with the
    local InfluxDB's address and tokens replaced: ensure, then the two probes with its tokens."""
    folder = "influx_token_agent"
    names = sorted(path.name for path in (Path(__file__).parents[1] / "events").glob("*.json"))
    assert names == ["ensure_tokens.json", "recent_points.json", "round_trip.json"]

    # The events' local InfluxDB (docs/deploying.md), and the double standing in for it.
    here = {"http://host.docker.internal:8086": influx.url, "local-operator-token": influx.operator_token}

    def local(name, tokens=None):
        body = event(folder, name)
        assert body["action"] in ("ensure_tokens", *token_agent.PROBES)
        body = {key: here.get(value, value) if isinstance(value, str) else value for key, value in body.items()}
        for kind, token in (tokens or {}).items():
            assert f"{kind}Token" in body
            body[f"{kind}Token"] = token
        return token_agent.handler(body, None)

    ensured = local("ensure_tokens.json")
    assert ensured["ok"] is True, ensured
    assert {kind: value["created"] for kind, value in ensured["tokens"].items()} == {"read": True, "write": True}
    tokens = {kind: value["token"] for kind, value in ensured["tokens"].items()}
    written = local("round_trip.json", tokens)
    assert written["ok"] is True, written
    # The round trip deleted its scratch point, and the probe never counts scratch points.
    recent = local("recent_points.json", {"read": tokens["read"]})
    assert recent["ok"] is True and recent["series"] == 0, recent
