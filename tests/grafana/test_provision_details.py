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


def lines_of(grafana, token, dry_run=False):
    return provision(grafana, token, dry_run)[1][1:-1]


def test_every_change_of_a_first_and_a_second_run_is_reported(grafana):
    from grafana.provision import FOLDER_TITLE, load_dashboards

    titles = [dashboard["title"] for _, dashboard in load_dashboards()]
    row = lambda kind, name, action: f"  {kind:<10} {name:<45} {action}"  # noqa: E731
    assert lines_of(grafana, TOKENS[0]) == [row("datasource", DATASOURCE_NAME, "create"), row("folder", FOLDER_TITLE, "create"), *(row("dashboard", t, "create") for t in titles)]
    assert lines_of(grafana, TOKENS[0]) == [row("datasource", DATASOURCE_NAME, "unchanged"), row("folder", FOLDER_TITLE, "unchanged"), *(row("dashboard", t, "unchanged") for t in titles)]
    # Someone renamed the folder: it is renamed back, without a version (overwrite).
    grafana.folders["streamlines"]["title"] = "Renamed by hand"
    grafana.folders["streamlines"]["version"] += 5
    assert lines_of(grafana, TOKENS[0], dry_run=True)[1] == row("folder", FOLDER_TITLE, "would update")
    assert grafana.folders["streamlines"]["title"] == "Renamed by hand"
    assert lines_of(grafana, TOKENS[0])[1] == row("folder", FOLDER_TITLE, "update")
    assert grafana.folders["streamlines"]["title"] == FOLDER_TITLE


class FakeHealthApi:
    def __init__(self, answers):
        self.answers = list(answers)
        self.client = self

    def GET(self, path):
        assert path == "/health"
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_waiting_for_grafana_reports_what_it_last_saw_and_gives_up_at_the_timeout():
    from grafana.provision import ProvisionError, wait_for_grafana

    now, said, slept = [0.0], [], []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    api = FakeHealthApi([ConnectionError("refused"), {"database": "migrating"}, "starting", {"database": "ok"}])
    wait_for_grafana(api, "https://g", 60, said.append, sleep, lambda: now[0])
    assert said == [
        "waiting for Grafana at https://g/api/health (0 s of 60 s, last: refused)",
        "waiting for Grafana at https://g/api/health (5 s of 60 s, last: database 'migrating')",
        "waiting for Grafana at https://g/api/health (10 s of 60 s, last: database 'starting')",
    ]
    assert slept == [5.0, 5.0, 5.0]
    now[0], said[:] = 0.0, []
    api = FakeHealthApi([{"database": "migrating"}] * 10)
    with pytest.raises(ProvisionError) as failed:
        wait_for_grafana(api, "https://g", 7, said.append, sleep, lambda: now[0])
    assert str(failed.value) == "Grafana at https://g did not answer /api/health within 7 s (last: database 'migrating')."
    assert now[0] == 7.0, "the last wait is cut to what is left"


def test_an_error_is_shortened_to_its_first_line_of_160_characters():
    from grafana.provision import _short

    assert _short(ValueError("x" * 200 + "\nsecond")) == "x" * 160
    assert _short(ValueError("")) == "ValueError"
    assert _short(ValueError("one\ntwo")) == "one"
