"""`verify`: what `streamlines smoke` asks of a provisioned Grafana, against the
Grafana double (requests and answers checked against Grafana's API description)."""

from __future__ import annotations

import pytest

from grafana.dashboards import FOLDER
from grafana.provision import Target, load_dashboards, run, verify
from streamlines.checks import Check

from ..doubles.grafana import PASSWORD, VERSION

READ_TOKEN = "read-token-" + "y" * 70
GRAFANA_TOKENS = [READ_TOKEN]


def provision(grafana):
    target = Target(grafana.url, "http://influxdb.internal:8086", "streamlines", "market-data", READ_TOKEN, PASSWORD)
    assert run(lambda: target, False, 2.0) == 0


def verified(*args, **options):
    """verify's checks as (name, ok, detail); every one a Check, the type smoke reports."""
    checks = verify(*args, **options)
    assert all(type(check) is Check for check in checks)
    return [(check.name, check.ok, check.detail) for check in checks]


def titles():
    return [dashboard["title"] for _, dashboard in load_dashboards(FOLDER)]


def test_a_provisioned_grafana_passes_all_three(grafana):
    provision(grafana)
    before = len(grafana.writes())
    assert verified(grafana.url, PASSWORD, load_dashboards(FOLDER)) == [
        ("grafana health", True, f"/api/health: database ok, version {VERSION}"),
        ("grafana datasource", True, "the InfluxDB datasource's health check passed"),
        ("grafana dashboards", True, f"all {len(titles())} dashboards in the 'Stream Lines' folder"),
    ]
    # It changes nothing.
    assert len(grafana.writes()) == before


def test_an_empty_grafana_names_the_command_that_fills_it(grafana):
    checks = verified(grafana.url, PASSWORD, load_dashboards(FOLDER))
    assert checks[1] == (
        "grafana datasource",
        False,
        "Grafana has no 'Stream Lines InfluxDB' datasource: run streamlines grafana provision.",
    )
    assert checks[2] == (
        "grafana dashboards",
        False,
        f"missing from the 'Stream Lines' folder: {', '.join(titles())} (run streamlines grafana provision)",
    )


def test_a_dashboard_outside_the_folder_is_missing_from_it(grafana):
    provision(grafana)
    (_, first), *_ = load_dashboards(FOLDER)
    grafana.dashboards[first["uid"]]["folderUid"] = "general"
    checks = verified(grafana.url, PASSWORD, load_dashboards(FOLDER))
    assert checks[2] == (
        "grafana dashboards",
        False,
        f"missing from the 'Stream Lines' folder: {first['title']} (run streamlines grafana provision)",
    )


def test_a_datasource_that_cannot_reach_influxdb_fails_its_check(grafana):
    provision(grafana)
    grafana.valid_tokens.clear()
    (name, ok, reason) = verified(grafana.url, PASSWORD, load_dashboards(FOLDER))[1]
    assert (name, ok) == ("grafana datasource", False) and reason.startswith(
        "the InfluxDB datasource's health check: FAILED"
    )


def test_an_unhealthy_or_absent_grafana_is_one_failed_check(grafana):
    grafana.healthy = False
    ((name, ok, reason),) = verified(grafana.url, PASSWORD, load_dashboards(FOLDER))
    assert (name, ok) == ("grafana health", False) and reason.startswith(
        f"Grafana at {grafana.url} did not answer /api/health: "
    )
    ((name, ok, reason),) = verified("http://127.0.0.1:9", PASSWORD, load_dashboards(FOLDER), timeout=1.0)
    assert (name, ok) == ("grafana health", False) and reason.startswith(
        "Grafana at http://127.0.0.1:9 did not answer /api/health: "
    )


def test_health_without_a_database_field_or_version_says_so(grafana):
    grafana.health_body = {"commit": "abc"}
    assert verified(grafana.url, PASSWORD, load_dashboards(FOLDER))[0] == (
        "grafana health",
        False,
        "/api/health: database not reported, version ?",
    )


def test_the_health_failure_carries_grafanas_answer(grafana):
    grafana.healthy = False
    ((_, _, reason),) = verified(grafana.url, PASSWORD, load_dashboards(FOLDER))
    assert "503" in reason and "None" not in reason and reason.endswith(".")


def dashboard_read_failure(grafana, status):
    """Verify a provisioned Grafana whose dashboard reads answer `status`: the first
    dashboard, and the dashboards check."""
    provision(grafana)
    grafana.dashboard_read_status = status
    (_, first), *_ = load_dashboards(FOLDER)
    return first, verified(grafana.url, PASSWORD, load_dashboards(FOLDER))[2]


def test_a_refused_dashboard_read_is_reported_with_its_uid(grafana):
    first, (name, ok, reason) = dashboard_read_failure(grafana, 403)
    assert (name, ok) == ("grafana dashboards", False)
    assert (
        reason.startswith(f"Grafana answered an error for dashboard {first['uid']}: ")
        and "403" in reason
        and reason.endswith(".")
    )


def test_a_grafana_that_never_answers_is_given_up_on_at_the_timeout():
    import socket
    import time

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        ((name, ok, reason),) = verified(url, PASSWORD, load_dashboards(FOLDER), timeout=0.5)
    assert (name, ok) == ("grafana health", False) and reason.startswith(
        f"Grafana at {url} did not answer /api/health: "
    )
    assert time.monotonic() - started < 5


class Health:
    """api.datasource.health answering or raising as told."""

    def __init__(self, answer=None, error=None):
        self.answer, self.error = answer, error
        self.datasource = self

    def health(self, uid):
        if self.error:
            raise self.error
        return self.answer


def client_error(status, response):
    from grafana_client.client import GrafanaClientError

    return GrafanaClientError(status, response, "message text")


@pytest.mark.parametrize(
    "api, expected",
    [
        (Health({"status": "OK", "message": "fine"}), "OK"),
        (Health({"status": "ok"}), "OK"),
        (Health({"status": "ERROR", "message": "401 Unauthorized"}), "FAILED: 401 Unauthorized"),
        (Health({}), "FAILED: None"),
        (Health("weird"), "FAILED: weird"),
        (Health(error=client_error(404, {"message": "Not found"})), "not available in this Grafana"),
        (Health(error=client_error(400, {"message": "bad datasource"})), "FAILED: bad datasource"),
    ],
)
def test_each_health_answer_reads_as_it_should(api, expected):
    from grafana.provision import datasource_health

    assert datasource_health(api) == expected


def test_a_health_error_without_a_json_body_is_its_first_line():
    from grafana.provision import datasource_health

    error = client_error(400, "plain text")
    assert datasource_health(Health(error=error)) == f"FAILED: {str(error).splitlines()[0]}"


def test_the_token_fingerprint_is_the_first_16_hex_digits_of_its_sha256():
    import hashlib

    from grafana.provision import token_fingerprint

    assert token_fingerprint("read-token") == hashlib.sha256(b"read-token").hexdigest()[:16]
    assert len(token_fingerprint("x")) == 16


@pytest.mark.parametrize(
    "node, bound",
    [
        ({"type": "influxdb", "uid": "whatever"}, {"type": "influxdb", "uid": "streamlines-influxdb"}),
        ({"type": "influxdb"}, {"type": "influxdb", "uid": "streamlines-influxdb"}),
        ({"type": "prometheus", "uid": "p"}, {"type": "prometheus", "uid": "p"}),
        ({"type": "influxdb", "uid": "x", "extra": 1}, {"type": "influxdb", "uid": "x", "extra": 1}),
        ("${DS_INFLUXDB}", "streamlines-influxdb"),
        ("${DS_INFLUXDB", "${DS_INFLUXDB"),
        ("plain", "plain"),
    ],
)
def test_only_influxdb_references_are_rebound(node, bound):
    from grafana.provision import bind

    dashboard = {"id": 7, "version": 3, "uid": "d", "panels": [{"datasource": node}]}
    assert bind(dashboard) == {"uid": "d", "panels": [{"datasource": bound}]}
    assert dashboard["id"] == 7 and dashboard["panels"][0]["datasource"] == node, "the input is left as it is"


def test_a_health_answer_that_is_not_an_object_is_not_ok(grafana):
    """A proxy answering /api/health with something else than Grafana's object."""
    grafana.health_body = "ok"
    assert verified(grafana.url, PASSWORD, load_dashboards(FOLDER))[0] == (
        "grafana health",
        False,
        "/api/health: database not reported, version ?",
    )
    # That answer is outside Grafana's description on purpose here.
    assert all("/api/health" in violation for violation in grafana.violations)
    grafana.violations.clear()


def test_a_server_error_on_a_dashboard_is_reported_with_its_uid(grafana):
    first, (name, ok, reason) = dashboard_read_failure(grafana, 500)
    assert (name, ok) == ("grafana dashboards", False)
    assert (
        reason.startswith(f"Grafana answered an error for dashboard {first['uid']}: ")
        and "500" in reason
        and "None" not in reason
    )
