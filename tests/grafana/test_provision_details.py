"""Provisioning's details against the Grafana double: the datasource exactly as
it is meant to be, the report line by line, and successive updates carrying
Grafana's version (which refuses a stale one with 409)."""

from __future__ import annotations

import io

import pytest

from grafana.dashboards import DATASOURCE_UID
from grafana.provision import DATASOURCE_NAME, Target, desired_datasource, run, token_fingerprint

from ..doubles.grafana import GrafanaDouble

PASSWORD = "grafana-admin-password"
TOKENS = ["read-token-a-" + "a" * 60, "read-token-b-" + "b" * 60, "read-token-c-" + "c" * 60]


@pytest.fixture
def grafana(httpserver):
    double = GrafanaDouble(PASSWORD, valid_tokens=set(TOKENS))
    double.url = double.install(httpserver)
    yield double
    assert double.violations == []


def target(grafana, token):
    return Target(grafana.url, "http://influxdb.internal:8086", "streamlines", "market-data", token, PASSWORD)


def provision(grafana, token, dry_run=False):
    out, err = io.StringIO(), io.StringIO()
    code = run(lambda: target(grafana, token), dry_run, 2.0, out=out, err=err)
    return code, out.getvalue().splitlines()


def test_the_datasource_is_exactly_this():
    assert desired_datasource(Target("g", "http://influx:8086", "org", "bucket", "tok", "pw")) == {
        "uid": DATASOURCE_UID,
        "name": "Stream Lines InfluxDB",
        "type": "influxdb",
        "access": "proxy",
        "url": "http://influx:8086",
        "isDefault": True,
        "basicAuth": False,
        "jsonData": {"version": "Flux", "organization": "org", "defaultBucket": "bucket", "httpMode": "POST", "tokenFingerprint": token_fingerprint("tok")},
        "secureJsonData": {"token": "tok"},
    }


def test_the_report_names_each_change(grafana):
    code, lines = provision(grafana, TOKENS[0])
    assert code == 0
    assert lines[0] == f"provisioned Grafana at {grafana.url}:"
    assert lines[1] == f"  {'datasource':<10} {DATASOURCE_NAME:<45} create"
    assert lines[-1] == "  datasource health check: OK"
    code, lines = provision(grafana, TOKENS[1], dry_run=True)
    assert lines[0] == f"plan for Grafana at {grafana.url}:"
    assert lines[1] == f"  {'datasource':<10} {DATASOURCE_NAME:<45} would update"


def test_each_update_carries_the_version_grafana_holds(grafana):
    for token in TOKENS:
        code, lines = provision(grafana, token)
        assert code == 0, lines
    stored = grafana.datasources[DATASOURCE_UID]
    assert stored["version"] == 3 and grafana.token_of(DATASOURCE_UID) == TOKENS[2]
    assert stored["jsonData"]["tokenFingerprint"] == token_fingerprint(TOKENS[2])
    assert (stored["isDefault"], stored["basicAuth"], stored["jsonData"]["httpMode"]) == (True, False, "POST")
