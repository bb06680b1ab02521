"""A local double of Grafana's HTTP API, for what `streamlines grafana provision` uses.

It behaves as Grafana 11/12 does for these endpoints: basic auth on everything
but /api/health (401 with Grafana's error body otherwise); datasources by uid
(get, create, update, health) with the token kept write-only (only
`secureJsonFields` comes back); folders by uid; /api/dashboards/db with
`overwrite`, version bumps and 412 on a stale version; 4xx bodies shaped as
Grafana's (`{"message": ...}`, plus `status` where Grafana adds one); a second
folder with a title that exists answers 409, as Grafana does. Unknown paths
answer 404, wrong methods 405. Every request it receives and every response it
sends is validated against Grafana's own API description
(tests/doubles/grafana_contract.py): a request outside it answers 400, a
response outside it is recorded in `violations` (the `grafana` fixture fails
the test).
"""

from __future__ import annotations

import base64
import copy
import json
import re

from werkzeug import Request, Response

VERSION = "12.1.1"
# The admin password every test gives Grafana (GF_SECURITY_ADMIN_PASSWORD in a real one).
PASSWORD = "grafana-admin-password"


def _json(status: int, body) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


class GrafanaDouble:
    def __init__(self, password: str, valid_tokens: set[str] | None = None):
        self.user, self.password = "admin", password
        # Tokens InfluxDB would accept: the datasource health check passes with one of them.
        self.valid_tokens = valid_tokens or set()
        self.datasources: dict[str, dict] = {}
        self.secure: dict[str, dict] = {}
        self.folders: dict[str, dict] = {}
        self.dashboards: dict[str, dict] = {}
        self.requests: list[tuple[str, str]] = []
        self.violations: list[str] = []
        self.healthy = True
        self.has_datasource_health = True
        # /api/health's body when set (its fields are all optional in Grafana's description).
        self.health_body: dict | None = None
        # A status to refuse dashboard reads with (e.g. 403 for a user without access).
        self.dashboard_read_status: int | None = None
        self._ids = iter(range(1, 10_000))

    # --- what tests look at ---------------------------------------------------------
    def writes(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if r[0] in ("POST", "PUT", "PATCH", "DELETE")]

    def token_of(self, uid: str) -> str | None:
        return self.secure.get(uid, {}).get("token")

    def install(self, httpserver) -> str:
        httpserver.expect_request(re.compile(r"^/")).respond_with_handler(self.handle)
        return httpserver.url_for("/").rstrip("/")

    # --- HTTP -----------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
        from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound

        from .grafana_contract import contract

        known = True
        try:
            contract().validate_request(WerkzeugOpenAPIRequest(request))
        except (PathNotFound, OperationNotFound):
            known = False
        except Exception as error:  # noqa: BLE001 - an invalid request, whatever the mismatch
            if "security" not in type(error).__name__.lower() and "Security" not in str(error):
                self.requests.append((request.method, request.path))
                return _json(400, {"message": f"bad request data: {error}"})
        response = self._handle(request)
        if known:
            try:
                contract().validate_response(WerkzeugOpenAPIRequest(request), WerkzeugOpenAPIResponse(response))
            except Exception as error:  # noqa: BLE001 - every kind of mismatch is a violation
                self.violations.append(f"{request.method} {request.path} -> {response.status_code}: {error}")
        return response

    def _handle(self, request: Request) -> Response:
        self.requests.append((request.method, request.path))
        path, method = request.path, request.method
        if path == "/api/health":
            if method != "GET":
                return _json(405, {"message": "Method Not Allowed"})
            if not self.healthy:
                return _json(503, {"commit": "abc", "database": "failing", "version": VERSION})
            return _json(
                200,
                self.health_body
                if self.health_body is not None
                else {"commit": "abc", "database": "ok", "version": VERSION},
            )
        if not self._authorized(request):
            return _json(
                401,
                {
                    "message": "Invalid username or password",
                    "messageId": "password-auth.failed",
                    "statusCode": 401,
                    "traceID": "",
                },
            )
        routes = [
            (r"^/api/datasources$", {"POST": self._create_datasource}),
            (r"^/api/datasources/uid/([^/]+)$", {"GET": self._get_datasource, "PUT": self._update_datasource}),
            (r"^/api/datasources/uid/([^/]+)/health$", {"GET": self._datasource_health}),
            (r"^/api/folders$", {"POST": self._create_folder}),
            (r"^/api/folders/([^/]+)$", {"GET": self._get_folder, "PUT": self._update_folder}),
            (r"^/api/dashboards/db$", {"POST": self._save_dashboard}),
            (r"^/api/dashboards/uid/([^/]+)$", {"GET": self._get_dashboard}),
        ]
        for pattern, methods in routes:
            match = re.match(pattern, path)
            if match:
                if method not in methods:
                    return _json(405, {"message": "Method Not Allowed"})
                return methods[method](request, *match.groups())
        return _json(404, {"message": "Not found"})

    def _authorized(self, request: Request) -> bool:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Basic":
            return False
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return False
        return (user, password) == (self.user, self.password)

    def _body(self, request: Request):
        try:
            return json.loads(request.get_data() or b"null")
        except ValueError:
            return None

    # datasources
    def _view(self, uid: str) -> dict:
        view = copy.deepcopy(self.datasources[uid])
        view["secureJsonFields"] = {key: True for key in self.secure.get(uid, {})}
        return view

    def _get_datasource(self, request, uid):
        if uid not in self.datasources:
            return _json(404, {"message": "Data source not found"})
        return _json(200, self._view(uid))

    def _validated_datasource(self, body) -> str | None:
        if not isinstance(body, dict):
            return "bad request data"
        for key in ("name", "type", "access"):
            if not body.get(key):
                return f"Required field {key} missing"
        if body["access"] not in ("proxy", "direct"):
            return "invalid access"
        return None

    def _store_datasource(self, uid: str, body: dict, number: int, version: int) -> dict:
        stored = {
            key: copy.deepcopy(body.get(key))
            for key in ("name", "type", "access", "url", "isDefault", "basicAuth", "jsonData")
            if key in body
        }
        stored.update({"id": number, "uid": uid, "orgId": 1, "version": version, "readOnly": False})
        self.datasources[uid] = stored
        if "secureJsonData" in body:
            self.secure[uid] = dict(body["secureJsonData"])
        return self._view(uid)

    def _create_datasource(self, request):
        body = self._body(request)
        problem = self._validated_datasource(body)
        if problem:
            return _json(400, {"message": problem})
        uid = body.get("uid") or f"ds{len(self.datasources) + 1}"
        if uid in self.datasources or any(d["name"] == body["name"] for d in self.datasources.values()):
            return _json(409, {"message": "data source with the same name already exists"})
        view = self._store_datasource(uid, body, next(self._ids), 1)
        return _json(200, {"datasource": view, "id": view["id"], "message": "Datasource added", "name": view["name"]})

    def _update_datasource(self, request, uid):
        if uid not in self.datasources:
            return _json(404, {"message": "Data source not found"})
        body = self._body(request)
        problem = self._validated_datasource(body)
        if problem:
            return _json(400, {"message": problem})
        current = self.datasources[uid]
        if "version" in body and body["version"] != current["version"]:
            return _json(
                409, {"message": "Datasource has already been updated by someone else. Please reload and try again"}
            )
        view = self._store_datasource(uid, body, current["id"], current["version"] + 1)
        return _json(200, {"datasource": view, "id": view["id"], "message": "Datasource updated", "name": view["name"]})

    def _datasource_health(self, request, uid):
        if not self.has_datasource_health:
            return _json(404, {"message": "Not found"})
        if uid not in self.datasources:
            return _json(404, {"message": "Data source not found"})
        if self.token_of(uid) in self.valid_tokens:
            return _json(200, {"status": "OK", "message": "datasource is working. 3 buckets found"})
        return _json(
            400, {"status": "ERROR", "message": "error reading InfluxDB. Status Code: 401. unauthorized access"}
        )

    # folders
    def _get_folder(self, request, uid):
        if uid not in self.folders:
            return _json(404, {"message": "folder not found", "status": "not-found"})
        return _json(200, self.folders[uid])

    def _create_folder(self, request):
        body = self._body(request)
        if not isinstance(body, dict) or not body.get("title"):
            return _json(400, {"message": "folder title cannot be empty"})
        uid = body.get("uid") or f"f{len(self.folders) + 1}"
        if uid in self.folders:
            return _json(409, {"message": "a folder with the same uid already exists"})
        if any(folder["title"] == body["title"] for folder in self.folders.values()):
            return _json(409, {"message": "a folder with the same name already exists"})
        self.folders[uid] = {
            "id": next(self._ids),
            "uid": uid,
            "title": body["title"],
            "version": 1,
            "url": f"/dashboards/f/{uid}/",
        }
        return _json(200, self.folders[uid])

    def _update_folder(self, request, uid):
        if uid not in self.folders:
            return _json(404, {"message": "folder not found", "status": "not-found"})
        body = self._body(request) or {}
        folder = self.folders[uid]
        if not body.get("overwrite") and body.get("version") != folder["version"]:
            return _json(412, {"message": "the folder has been changed by someone else", "status": "version-mismatch"})
        folder.update(title=body.get("title", folder["title"]), version=folder["version"] + 1)
        return _json(200, folder)

    # dashboards
    def _get_dashboard(self, request, uid):
        if self.dashboard_read_status is not None:
            return _json(self.dashboard_read_status, {"message": "Access denied to this dashboard"})
        if uid not in self.dashboards:
            return _json(404, {"message": "Dashboard not found"})
        stored = self.dashboards[uid]
        return _json(
            200,
            {
                "dashboard": copy.deepcopy(stored["dashboard"]),
                "meta": {"folderUid": stored["folderUid"], "version": stored["dashboard"]["version"], "slug": uid},
            },
        )

    def _save_dashboard(self, request):
        body = self._body(request)
        if not isinstance(body, dict) or not isinstance(body.get("dashboard"), dict):
            return _json(400, {"message": "bad request data"})
        dashboard = copy.deepcopy(body["dashboard"])
        if not dashboard.get("title"):
            return _json(400, {"message": "Dashboard title cannot be empty", "status": "empty-name"})
        folder_uid = body.get("folderUid", "")
        if folder_uid and folder_uid not in self.folders:
            return _json(400, {"message": "folder not found", "status": "folder-not-found"})
        uid = dashboard.get("uid") or f"d{len(self.dashboards) + 1}"
        existing = self.dashboards.get(uid)
        if existing and not body.get("overwrite") and dashboard.get("version") != existing["dashboard"]["version"]:
            return _json(
                412, {"message": "The dashboard has been changed by someone else", "status": "version-mismatch"}
            )
        version = existing["dashboard"]["version"] + 1 if existing else 1
        dashboard.update(uid=uid, version=version, id=existing["dashboard"]["id"] if existing else next(self._ids))
        self.dashboards[uid] = {"dashboard": dashboard, "folderUid": folder_uid}
        return _json(
            200,
            {
                "id": dashboard["id"],
                "uid": uid,
                "url": f"/d/{uid}/{uid}",
                "status": "success",
                "version": version,
                "slug": uid,
                "folderUid": folder_uid,
            },
        )

    # what an operator does by hand in the UI
    def edit_dashboard(self, uid: str, **changes) -> None:
        stored = self.dashboards[uid]["dashboard"]
        stored.update(changes)
        stored["version"] += 1
