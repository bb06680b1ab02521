"""`verify`: what `streamlines smoke` asks of a provisioned Grafana, against the
Grafana double (requests and answers checked against Grafana's API description)."""

from __future__ import annotations

import pytest

from grafana.dashboards import FOLDER
from grafana.provision import Target, load_dashboards, run, verify

from ..doubles.grafana import VERSION, GrafanaDouble

PASSWORD = "grafana-admin-password"
READ_TOKEN = "read-token-" + "y" * 70


@pytest.fixture
def grafana(httpserver):
    double = GrafanaDouble(PASSWORD, valid_tokens={READ_TOKEN})
    double.url = double.install(httpserver)
    yield double
    assert double.violations == []


def provision(grafana):
    target = Target(grafana.url, "http://influxdb.internal:8086", "streamlines", "market-data", READ_TOKEN, PASSWORD)
    assert run(lambda: target, False, 2.0) == 0


def titles():
    return [dashboard["title"] for _, dashboard in load_dashboards(FOLDER)]


def test_a_provisioned_grafana_passes_all_three(grafana):
    provision(grafana)
    before = len(grafana.writes())
    assert verify(grafana.url, PASSWORD, load_dashboards(FOLDER)) == [
        ("grafana health", True, f"/api/health: database ok, version {VERSION}"),
        ("grafana datasource", True, "the InfluxDB datasource's health check passed"),
        ("grafana dashboards", True, f"all {len(titles())} dashboards in the 'Stream Lines' folder"),
    ]
    # It changes nothing.
    assert len(grafana.writes()) == before


def test_an_empty_grafana_names_the_command_that_fills_it(grafana):
    checks = verify(grafana.url, PASSWORD, load_dashboards(FOLDER))
    assert checks[1] == ("grafana datasource", False, "Grafana has no 'Stream Lines InfluxDB' datasource: run streamlines grafana provision.")
    assert checks[2] == ("grafana dashboards", False, f"missing from the 'Stream Lines' folder: {', '.join(titles())} (run streamlines grafana provision)")


def test_a_dashboard_outside_the_folder_is_missing_from_it(grafana):
    provision(grafana)
    (_, first), *_ = load_dashboards(FOLDER)
    grafana.dashboards[first["uid"]]["folderUid"] = "general"
    checks = verify(grafana.url, PASSWORD, load_dashboards(FOLDER))
    assert checks[2] == ("grafana dashboards", False, f"missing from the 'Stream Lines' folder: {first['title']} (run streamlines grafana provision)")


def test_a_datasource_that_cannot_reach_influxdb_fails_its_check(grafana):
    provision(grafana)
    grafana.valid_tokens.clear()
    (name, ok, reason) = verify(grafana.url, PASSWORD, load_dashboards(FOLDER))[1]
    assert (name, ok) == ("grafana datasource", False) and reason.startswith("the InfluxDB datasource's health check: FAILED")


def test_an_unhealthy_or_absent_grafana_is_one_failed_check(grafana):
    grafana.healthy = False
    ((name, ok, reason),) = verify(grafana.url, PASSWORD, load_dashboards(FOLDER))
    assert (name, ok) == ("grafana health", False) and reason.startswith(f"Grafana at {grafana.url} did not answer /api/health: ")
    ((name, ok, reason),) = verify("http://127.0.0.1:9", PASSWORD, load_dashboards(FOLDER), timeout=1.0)
    assert (name, ok) == ("grafana health", False) and reason.startswith("Grafana at http://127.0.0.1:9 did not answer /api/health: ")
