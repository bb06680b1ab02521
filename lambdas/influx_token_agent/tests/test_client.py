"""The agent's HTTP client on its own: the request it builds, and how it retries
within its attempts and its deadline (a recording opener and a fake clock)."""

from __future__ import annotations

import io
import json
import urllib.error

import pytest
from influx_tokens import REQUEST_TIMEOUT, RETRY_SECONDS, Client, TokenError, wait_until_healthy


class Response(io.BytesIO):
    def __init__(self, status, body=b""):
        super().__init__(body)
        self.status = status

    def __enter__(self):
        return self

    def __exit__(self, *args):
        return False


class Opener:
    """Answers each request with the next of `answers` (a status, an exception, or (status, body))."""

    def __init__(self, *answers):
        self.answers, self.requests = list(answers), []

    def __call__(self, request, timeout):
        self.requests.append((request, timeout))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        status, body = answer if isinstance(answer, tuple) else (answer, b"{}")
        if status >= 400:
            raise urllib.error.HTTPError(request.full_url, status, "error", {}, io.BytesIO(body))
        return Response(status, body)


class Clock:
    def __init__(self, now=0.0):
        self.now = now
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def client(opener, deadline=100.0, clock=None):
    clock = clock or Clock()
    return Client("http://influx:8086/", deadline, clock=clock, opener=opener, sleep=clock.sleep), clock


def test_a_request_is_built_as_influxdb_expects():
    opener = Opener((200, b'{"a": 1}'))
    http, _ = client(opener)
    assert http.call("POST", "/api/v2/authorizations", "tok", {"orgID": "o 1"}, {"x": 1}) == (200, {"a": 1})
    ((request, timeout),) = opener.requests
    assert request.full_url == "http://influx:8086/api/v2/authorizations?orgID=o+1"
    assert request.get_method() == "POST" and request.data == b'{"x": 1}'
    assert dict(request.header_items()) == {
        "Accept": "application/json",
        "Content-type": "application/json",
        "Authorization": "Token tok",
    }
    assert timeout == REQUEST_TIMEOUT and http.requests == 1


def test_a_request_without_a_body_or_token_sends_neither():
    opener = Opener(200)
    http, _ = client(opener, deadline=4.0)
    http.call("GET", "/health", None)
    ((request, timeout),) = opener.requests
    assert request.data is None and request.full_url == "http://influx:8086/health"
    assert "Authorization" not in dict(request.header_items()) and "Content-type" not in dict(request.header_items())
    assert timeout == 4.0, "never longer than what is left"


def test_server_errors_are_retried_a_second_apart_up_to_the_attempts():
    opener = Opener(503, 502, (200, b"{}"))
    http, clock = client(opener)
    assert http.call("GET", "/x", "t") == (200, {})
    assert clock.slept == [RETRY_SECONDS, RETRY_SECONDS] and http.requests == 3
    opener = Opener(503, 503, (503, b'{"message": "busy"}'))
    http, clock = client(opener)
    assert http.call("GET", "/x", "t") == (503, {"message": "busy"})
    assert len(opener.requests) == 3 and clock.slept == [RETRY_SECONDS, RETRY_SECONDS]
    assert client(Opener(404))[0].call("GET", "/x", "t") == (404, {})


def test_connection_errors_are_retried_then_named():
    opener = Opener(
        urllib.error.URLError("Connection refused"),
        urllib.error.URLError("Connection refused"),
        urllib.error.URLError("Connection refused"),
    )
    http, clock = client(opener)
    with pytest.raises(ConnectionError) as failed:
        http.call("GET", "/health", None)
    assert str(failed.value) == "GET /health: Connection refused" and clock.slept == [1.0, 1.0]
    with pytest.raises(ConnectionError) as failed:
        client(Opener(OSError("no route"), OSError("no route"), OSError("no route")))[0].call("GET", "/x", None)
    assert str(failed.value) == "GET /x: no route"


@pytest.mark.parametrize("left, tries", [(RETRY_SECONDS, 1), (RETRY_SECONDS + 0.5, 2)])
def test_no_retry_starts_without_a_second_left(left, tries):
    opener = Opener(503, 503, 503)
    http, _ = client(opener, deadline=left)
    assert http.call("GET", "/x", "t")[0] == 503 and len(opener.requests) == tries
    opener = Opener(urllib.error.URLError("down"), urllib.error.URLError("down"), urllib.error.URLError("down"))
    http, _ = client(opener, deadline=left)
    with pytest.raises(ConnectionError):
        http.call("GET", "/x", "t")
    assert len(opener.requests) == tries


def test_a_passed_deadline_sends_nothing():
    opener = Opener(200)
    http, _ = client(opener, deadline=0.0)
    with pytest.raises(TokenError) as failed:
        http.call("GET", "/api/v2/orgs", "t")
    assert str(failed.value) == "gave up: the deadline passed before GET /api/v2/orgs" and opener.requests == []


def test_health_is_asked_once_per_poll_and_the_last_answer_is_reported():
    clock = Clock()
    opener = Opener(*([(503, b'{"message": "not ready"}')] * 10))
    http = Client("http://influx:8086", 5.0, clock=clock, opener=opener, sleep=clock.sleep)
    with pytest.raises(TokenError) as failed:
        wait_until_healthy(http, clock.sleep)
    assert (
        str(failed.value)
        == "InfluxDB at http://influx:8086 did not become healthy before the deadline (last: HTTP 503 (not ready))"
    )
    assert len(opener.requests) == 3 and clock.slept == [2.0, 2.0, 1.0]
    http = Client("http://influx:8086", 0.0, clock=Clock(), opener=Opener())
    with pytest.raises(TokenError) as failed:
        wait_until_healthy(http, lambda s: None)
    assert (
        str(failed.value)
        == "InfluxDB at http://influx:8086 did not become healthy before the deadline (last: no answer)"
    )


def test_the_default_description_names_the_project(influx):
    import token_agent

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
    assert (
        influx.authorizations[answer["tokens"]["read"]["authorizationID"]]["description"]
        == "streamlines: read market-data"
    )
    assert json.loads(json.dumps(answer))["ok"] is True


def test_an_unreachable_influxdb_is_reported_with_the_request_that_failed():
    clock = Clock()
    opener = Opener(*([urllib.error.URLError("Connection refused")] * 5))
    http = Client("http://influx:8086", 3.0, clock=clock, opener=opener, sleep=clock.sleep)
    with pytest.raises(TokenError) as failed:
        wait_until_healthy(http, clock.sleep)
    assert (
        str(failed.value)
        == "InfluxDB at http://influx:8086 did not become healthy before the deadline (last: GET /health: Connection "
        "refused)"
    )


@pytest.mark.parametrize(
    "answer, last",
    [((503, b"not json"), "HTTP 503"), ((200, b'{"status": "fail", "message": "starting"}'), "HTTP 200 (starting)")],
)
def test_only_a_passing_health_answer_is_healthy(answer, last):
    clock = Clock()
    http = Client("http://influx:8086", 1.5, clock=clock, opener=Opener(answer, answer, answer), sleep=clock.sleep)
    with pytest.raises(TokenError) as failed:
        wait_until_healthy(http, clock.sleep)
    assert (
        str(failed.value) == f"InfluxDB at http://influx:8086 did not become healthy before the deadline (last: {last})"
    )


def test_a_poll_that_ends_past_the_deadline_gives_up_with_what_it_saw():
    clock = Clock()

    class Slow(Opener):
        def __call__(self, request, timeout):
            clock.now += 3.0
            return super().__call__(request, timeout)

    http = Client(
        "http://influx:8086", 2.0, clock=clock, opener=Slow((503, b'{"message": "not ready"}')), sleep=clock.sleep
    )
    with pytest.raises(TokenError) as failed:
        wait_until_healthy(http, clock.sleep)
    assert (
        str(failed.value)
        == "InfluxDB at http://influx:8086 did not become healthy before the deadline (last: HTTP 503 (not ready))"
    )
    assert clock.slept == []
