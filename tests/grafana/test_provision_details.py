"""Provisioning's details against the Grafana double: the datasource exactly as
it is meant to be, the report line by line, and successive updates carrying
Grafana's version (which refuses a stale one with 409)."""

from __future__ import annotations

import io

import pytest

from grafana.dashboards import DATASOURCE_UID
from grafana.provision import DATASOURCE_NAME, Target, desired_datasource, run, token_fingerprint

from ..doubles.grafana import PASSWORD

TOKENS = ["read-token-a-" + "a" * 60, "read-token-b-" + "b" * 60, "read-token-c-" + "c" * 60]
GRAFANA_TOKENS = TOKENS


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
        "jsonData": {
            "version": "Flux",
            "organization": "org",
            "defaultBucket": "bucket",
            "httpMode": "POST",
            "tokenFingerprint": token_fingerprint("tok"),
        },
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
    assert lines_of(grafana, TOKENS[0]) == [
        row("datasource", DATASOURCE_NAME, "create"),
        row("folder", FOLDER_TITLE, "create"),
        *(row("dashboard", t, "create") for t in titles),
    ]
    assert lines_of(grafana, TOKENS[0]) == [
        row("datasource", DATASOURCE_NAME, "unchanged"),
        row("folder", FOLDER_TITLE, "unchanged"),
        *(row("dashboard", t, "unchanged") for t in titles),
    ]
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
    assert (
        str(failed.value) == "Grafana at https://g did not answer /api/health within 7 s (last: database 'migrating')."
    )
    assert now[0] == 7.0, "the last wait is cut to what is left"


def test_an_error_is_shortened_to_its_first_line_of_160_characters():
    from grafana.provision import _short

    assert _short(ValueError("x" * 200 + "\nsecond")) == "x" * 160
    assert _short(ValueError("")) == "ValueError"
    assert _short(ValueError("one\ntwo")) == "one"


def write_dashboards(folder, *contents):
    folder.mkdir(exist_ok=True)
    for number, content in enumerate(contents):
        (folder / f"d{number}.json").write_text(content, encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    "contents, message",
    [
        ((), "no dashboard JSON files in {folder}."),
        (
            ('{"uid": "a", "title": "A"',),
            "{folder}/d0.json is not valid JSON (line 1, column 26: Expecting ',' delimiter); nothing was changed.",
        ),
        (('{"uid": "a"}',), "{folder}/d0.json is not a Grafana dashboard with a uid and a title; nothing was changed."),
        (
            ('{"uid": "a", "title": ""}',),
            "{folder}/d0.json is not a Grafana dashboard with a uid and a title; nothing was changed.",
        ),
        (
            ('{"title": "A"}',),
            "{folder}/d0.json is not a Grafana dashboard with a uid and a title; nothing was changed.",
        ),
        (('["a"]',), "{folder}/d0.json is not a Grafana dashboard with a uid and a title; nothing was changed."),
        (
            ('{"uid": "a", "title": "A"}', '{"uid": "b", "title": "B"}', '{"dashboard": {"uid": "a", "title": "A2"}}'),
            "dashboard uid a is used by more than one file in {folder}; nothing was changed.",
        ),
    ],
)
def test_each_unusable_dashboard_folder_is_refused_in_words(tmp_path, contents, message):
    from grafana.provision import ProvisionError, load_dashboards

    folder = write_dashboards(tmp_path / "dashboards", *contents)
    with pytest.raises(ProvisionError) as refused:
        load_dashboards(folder)
    assert str(refused.value) == message.format(folder=folder)


def test_an_exported_dashboard_is_read_from_its_wrapper_and_utf8(tmp_path):
    from grafana.provision import load_dashboards

    folder = write_dashboards(
        tmp_path / "dashboards",
        '{"dashboard": {"uid": "a", "title": "Cours « live »"}, "meta": {}}',
        '{"uid": "b", "title": "B"}',
    )
    assert [dashboard for _, dashboard in load_dashboards(folder)] == [
        {"uid": "a", "title": "Cours « live »"},
        {"uid": "b", "title": "B"},
    ]


def test_a_dry_run_on_an_empty_grafana_does_not_check_a_datasource_it_has_not_made(grafana):
    code, lines = provision(grafana, TOKENS[0], dry_run=True)
    assert code == 0 and lines[-1] == "  datasource health check: not checked (the datasource does not exist yet)"
    assert grafana.writes() == []


@pytest.mark.parametrize(
    "url, refused",
    [
        ("http://grafana.example.com", True),
        ("http://10.0.0.5:3000", True),
        ("http://localhost:3000", False),
        ("http://127.0.0.1:3000", False),
        ("http://[::1]:3000", False),
        ("https://grafana.example.com", False),
        ("http:///nohost", True),
    ],
)
def test_plain_http_is_refused_but_to_this_machine(url, refused):
    from grafana.provision import ProvisionError, refuse_plain_http

    if not refused:
        refuse_plain_http(url, False)
        return
    with pytest.raises(ProvisionError) as failed:
        refuse_plain_http(url, False)
    assert str(failed.value) == (
        f"{url} is plain HTTP, which would send the Grafana admin password in clear across the network; "
        "give the stack a certificate (CertificateArn and GrafanaDomainName), use an ECS Exec port forward "
        "(--grafana-url "
        "http://localhost:3000), or pass --allow-insecure-http."
    )
    refuse_plain_http(url, True)


def run_against(url, monkeypatch, **kwargs):
    out, err = io.StringIO(), io.StringIO()
    target = Target(url, "http://influxdb.internal:8086", "streamlines", "market-data", TOKENS[0], PASSWORD)
    return run(lambda: target, False, 0.2, out=out, err=err, **kwargs), out.getvalue(), err.getvalue()


def test_plain_http_elsewhere_is_refused_unless_allowed(monkeypatch):
    code, out, err = run_against("http://grafana.example.com", monkeypatch)
    assert code == 1 and out == "" and err.startswith("streamlines: error: http://grafana.example.com is plain HTTP")


def test_grafana_answering_errors_during_provisioning_is_one_sentence(grafana, monkeypatch):
    import grafana.provision as provision_module

    grafana.dashboard_read_status = 403
    code, out, err = run_against(grafana.url, monkeypatch)
    assert code == 1 and out == ""
    assert (
        err.startswith(f"streamlines: error: Grafana at {grafana.url} answered an error: ")
        and "403" in err
        and err.count("\n") == 1
    )

    def lose(*args, **kwargs):
        raise ConnectionResetError("connection reset by peer")

    grafana.dashboard_read_status = None
    monkeypatch.setattr(provision_module, "provision", lose)
    code, out, err = run_against(grafana.url, monkeypatch)
    assert (
        code == 1
        and err == f"streamlines: error: lost the connection to Grafana at {grafana.url}: connection reset by peer\n"
    )


def test_a_silent_grafana_is_given_up_on_at_the_request_timeout(monkeypatch):
    import socket
    import time

    import grafana.provision as provision_module

    monkeypatch.setattr(provision_module, "REQUEST_TIMEOUT", 0.3)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        code, out, err = run_against(url, monkeypatch)
    assert code == 1 and f"Grafana at {url} did not answer /api/health within 0 s" in err
    assert time.monotonic() - started < 5


def test_the_last_wait_is_only_what_is_left_even_under_a_second():
    from grafana.provision import ProvisionError, wait_for_grafana

    now, slept = [0.0], []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    with pytest.raises(ProvisionError):
        wait_for_grafana(
            FakeHealthApi([{"database": "migrating"}] * 5), "https://g", 5.5, lambda line: None, sleep, lambda: now[0]
        )
    assert slept == [5.0, 0.5]


def test_the_report_goes_to_the_stdout_of_the_moment_it_runs(grafana, monkeypatch):
    """Not to the stream sys.stdout was when the module was imported (a caller that
    swapped it, as pytest and mutmut do, would otherwise write to a closed file)."""
    import sys

    now = io.StringIO()
    monkeypatch.setattr(sys, "stdout", now)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert run(lambda: target(grafana, TOKENS[0]), False, 2.0) == 0
    assert now.getvalue().startswith(f"provisioned Grafana at {grafana.url}:")
