"""The InfluxDB double keeps to InfluxData's contract: a request that leaves it
is refused, and a response that would leave it is recorded as a violation (the
Lambdas' `influx` fixture then fails the test)."""

from __future__ import annotations

import pytest

from tests.doubles import http
from tests.doubles.influxdb import InfluxDouble, _json


def call(url: str, method: str = "GET", token: str | None = "operator-token", body=None):
    return http.call(url, method, body, f"Token {token}" if token else None)


@pytest.fixture
def double(httpserver):
    influx = InfluxDouble()
    influx.url = influx.install(httpserver)
    return influx


def test_a_request_outside_the_contract_is_refused(double):
    status, body = call(double.url + "/api/v2/authorizations", "POST", body={"description": "no orgID, no permissions"})
    assert status == 400 and "does not match the API contract" in body["message"]


def test_a_response_outside_the_contract_is_a_violation(double, monkeypatch):
    monkeypatch.setattr(double, "_orgs", lambda request, who: _json(200, {"orgs": "not a list"}))
    status, _ = call(double.url + "/api/v2/orgs?org=streamlines")
    assert status == 200
    assert len(double.violations) == 1 and double.violations[0].startswith("GET /api/v2/orgs -> 200")


def test_behaves_as_influxdb_2(double):
    org = double.orgs["streamlines"]
    status, _ = call(double.url + f"/api/v2/buckets?name=nope&orgID={org}")
    assert status == 404
    status, created = call(
        double.url + "/api/v2/authorizations",
        "POST",
        body={
            "orgID": org,
            "permissions": [
                {"action": "write", "resource": {"type": "buckets", "id": next(iter(double.buckets)), "orgID": org}}
            ],
        },
    )
    assert status == 201 and created["token"]
    status, listed = call(double.url + f"/api/v2/authorizations?orgID={org}")
    assert status == 200 and [a["id"] for a in listed["authorizations"]] == [created["id"]]
    assert "token" not in listed["authorizations"][0], "InfluxDB 2.9+ never lists a token again"
    # A write-only token cannot read the bucket: 404, though it authenticates.
    status, _ = call(double.url + f"/api/v2/buckets?name=market-data&orgID={org}", token=created["token"])
    assert status == 404
    status, _ = call(double.url + f"/api/v2/buckets?name=market-data&orgID={org}", token="revoked")
    assert status == 401
    assert double.violations == []
