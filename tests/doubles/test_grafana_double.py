"""The Grafana double keeps to Grafana's API description (with its documented
corrections) and behaves as Grafana does where it matters to provisioning."""

from __future__ import annotations

import base64
import json

from tests.doubles import grafana_contract, http
from tests.doubles.grafana import PASSWORD, _json


def call(url: str, method: str = "GET", body=None, auth: bool = True):
    basic = "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
    return http.call(url, method, body, basic if auth else None)


def test_a_request_outside_the_description_is_refused(grafana):
    status, body = call(grafana.url + "/api/datasources", "POST", body=["not", "an", "object"])
    assert status == 400 and "bad request data" in body["message"]


def test_a_response_outside_the_description_is_a_violation(grafana, monkeypatch):
    monkeypatch.setattr(grafana, "_get_folder", lambda request, uid: _json(200, {"uid": 42}))
    call(grafana.url + "/api/folders/anything")
    assert len(grafana.violations) == 1 and grafana.violations[0].startswith("GET /api/folders/anything -> 200")
    grafana.violations.clear()  # seen; the fixture holds every other test to none


def test_behaves_as_grafana(grafana):
    status, _ = call(grafana.url + "/api/health", auth=False)
    assert status == 200
    status, _ = call(grafana.url + "/api/datasources/uid/nope/health")
    assert status == 404
    assert call(grafana.url + "/api/folders", "POST", body={"uid": "a", "title": "Stream Lines"})[0] == 200
    status, body = call(grafana.url + "/api/folders", "POST", body={"uid": "b", "title": "Stream Lines"})
    assert status == 409 and "same name" in body["message"]
    saved = call(
        grafana.url + "/api/dashboards/db",
        "POST",
        body={"dashboard": {"uid": "d", "title": "T", "panels": []}, "folderUid": "a", "overwrite": True},
    )[1]
    assert "title" not in saved and saved["version"] == 1
    status, got = call(grafana.url + "/api/dashboards/uid/d")
    assert (
        status == 200
        and got["dashboard"]["id"] == saved["id"]
        and got["dashboard"]["version"] == 1
        and got["meta"]["folderUid"] == "a"
    )
    assert grafana.violations == []


def test_each_correction_is_needed():
    """Without its correction, the uncorrected description rejects what Grafana sends."""
    raw = json.loads(grafana_contract.CONTRACT.read_text())
    schema = raw["components"]["responses"]["postDashboardResponse"]["content"]["application/json"]["schema"]
    assert "title" in schema["required"]
    assert raw["paths"]["/health"]["get"].get("security") is None and raw.get("security")
    assert "404" not in raw["paths"]["/datasources/name/{name}"]["get"]["responses"]
    assert "404" not in raw["paths"]["/datasources/uid/{uid}/health"]["get"]["responses"]
    corrected = grafana_contract.corrected(raw)
    assert (
        "title"
        not in corrected["components"]["responses"]["postDashboardResponse"]["content"]["application/json"]["schema"][
            "required"
        ]
    )
    assert corrected["paths"]["/health"]["get"]["security"] == []
    assert len(grafana_contract.CORRECTIONS) == 5 and all(c.__doc__ for c in grafana_contract.CORRECTIONS)


def test_unchanged_does_not_depend_on_an_identical_echo():
    """Grafana answers a stored dashboard with id and version set, fields it adds,
    and keys in its own order: still unchanged when our fields are as provisioned."""
    from grafana.provision import dashboard_unchanged

    ours = {"uid": "d", "title": "T", "panels": [{"id": 1, "type": "timeseries"}], "tags": ["streamlines"]}
    echoed = {
        "tags": ["streamlines"],
        "id": 7,
        "version": 3,
        "weekStart": "",
        "panels": [{"type": "timeseries", "id": 1}],
        "title": "T",
        "uid": "d",
    }
    assert dashboard_unchanged({"dashboard": echoed, "meta": {"folderUid": "f"}}, ours, "f")
    assert not dashboard_unchanged({"dashboard": {**echoed, "title": "edited"}, "meta": {"folderUid": "f"}}, ours, "f")
    assert not dashboard_unchanged({"dashboard": echoed, "meta": {"folderUid": "other"}}, ours, "f")
