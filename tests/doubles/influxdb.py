"""A local InfluxDB 2 double for the token issuer's tests, on pytest-httpserver.

It serves what the issuer uses: `/health`, `/api/v2/orgs`, `/api/v2/buckets`,
`/api/v2/authorizations` (list, create), and what the agent's smoke probes use:
`/api/v2/write` (line protocol), `/api/v2/query` (the two Flux queries of
lambdas/influx_token_agent/probes.py; any other query is refused with 400, as
it cannot be evaluated here) and `/api/v2/delete`, as InfluxData's OpenAPI contract
(contracts/influxdb-oss-v2.yml) describes them, and it is strict where the real
server is: every /api/v2 request must carry `Authorization: Token <token>` of a
known, active authorization (401 otherwise), must match an operation of the
contract with valid parameters and body (400 otherwise, with InfluxDB's error
shape), and tokens only see what their permissions allow. It can be told to be
unhealthy, slow, or to answer 5xx.
"""

from __future__ import annotations

import calendar
import itertools
import json
import re
import secrets
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from werkzeug import Request, Response

CONTRACT = Path(__file__).resolve().parents[2] / "contracts" / "influxdb-oss-v2.yml"


def _line_protocol_is_text(spec: dict) -> None:
    """POST /write declares its text/plain body `format: byte` (base64), which a
    validator then demands; InfluxDB takes line protocol as plain UTF-8 text, as
    the same operation's own example shows."""
    schema = spec["paths"]["/write"]["post"]["requestBody"]["content"]["text/plain"]["schema"]
    assert schema.pop("format") == "byte", "the contract changed: review this correction"


# Known slips in InfluxData's document, each corrected here with its reason
# rather than by loosening the validation.
CORRECTIONS = [_line_protocol_is_text]


@lru_cache(maxsize=1)
def contract():
    import yaml
    from openapi_core import Config, OpenAPI

    try:
        loader = yaml.CSafeLoader
    except AttributeError:
        loader = yaml.SafeLoader
    spec = yaml.load(CONTRACT.read_text(encoding="utf-8"), Loader=loader)
    for correction in CORRECTIONS:
        correction(spec)
    # InfluxData's document has a few schema slips the spec validator rejects
    # (`required: true` inside a schema); requests are validated all the same.
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


# Line protocol as the probes write it: measurement[,tag=value...] field=value[,...] [time].
LINE = re.compile(r"^(?P<measurement>[A-Za-z0-9_]+)(?:,(?P<tags>[^ ]+))? (?P<fields>[^ ]+)(?: (?P<time>\d+))?$")
SCRATCH_QUERY = re.compile(
    r'^from\(bucket: "(?P<bucket>[^"]+)"\) \|> range\(start: -1h\) \|> filter\(fn: \(r\) => r\._measurement == '
    r'"(?P<measurement>\w+)" and r\.run == "(?P<run>\w+)"\)$'
)
RECENT_QUERY = re.compile(
    r'^from\(bucket: "(?P<bucket>[^"]+)"\) \|> range\(start: -(?P<minutes>\d+)m\) \|> filter\(fn: \(r\) => '
    r"r\._measurement "
    r'!= "(?P<measurement>\w+)"\)'
    r' \|> limit\(n: 1\) \|> keep\(columns: \["_time", "_measurement"\]\)$'
)


def _page(request: Request, items: list) -> list:
    """One page of a listing, as InfluxDB serves it: `offset`, then `limit` items (20 by default)."""
    offset, limit = int(request.args.get("offset", 0)), int(request.args.get("limit", 20))
    return items[offset : offset + limit]


def _field(value: str) -> Any:
    if value.endswith("i"):
        return int(value[:-1])
    return float(value)


def _error(status: int, code: str, message: str) -> Response:
    return Response(
        json.dumps({"code": code, "message": message}), status=status, content_type="application/json; charset=utf-8"
    )


def _json(status: int, body: Any) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8")


class InfluxDouble:
    def __init__(self, operator_token: str = "operator-token", org: str = "streamlines", bucket: str = "market-data"):
        self.operator_token = operator_token
        self._ids = (f"{n:016x}" for n in itertools.count(0x0A1B2C3D4E5F0001))
        self.orgs: dict[str, str] = {}
        self.buckets: dict[str, dict] = {}
        self.authorizations: dict[str, dict] = {}
        self.requests: list[tuple[str, str]] = []
        # Points written: bucket id, measurement, tags, fields, time (ns since the epoch).
        self.points: list[dict] = []
        # What the smoke probe's delete does not remove (a server that ignores deletes).
        self.ignore_deletes = False
        # Line protocol received, as sent.
        self.writes: list[str] = []
        # Scratch-point queries that find nothing yet, as a server still indexing would.
        self.hidden_reads = 0
        # Answer a created authorization without its token (a broken or proxied server).
        self.tokenless_create = False
        # path -> statuses to answer its next requests with (None: serve it).
        self.refuse: dict[str, list[int | None]] = {}
        # Responses that left InfluxData's contract; the `influx` fixture fails a test that leaves any.
        self.violations: list[str] = []
        self.lock = threading.Lock()
        # Failure modes.
        self.healthy = True
        self.delay = 0.0
        self.fail_next: int = 0
        if org:
            self.add_org(org)
            if bucket:
                self.add_bucket(org, bucket)

    # --- set-up helpers -------------------------------------------------
    def add_org(self, name: str) -> str:
        self.orgs[name] = next(self._ids)
        return self.orgs[name]

    def add_bucket(self, org: str, name: str) -> str:
        bucket_id = next(self._ids)
        self.buckets[bucket_id] = {
            "id": bucket_id,
            "orgID": self.orgs[org],
            "name": name,
            "type": "user",
            "retentionRules": [],
        }
        return bucket_id

    def revoke(self, authorization_id: str) -> None:
        """As `influx auth delete` does."""
        del self.authorizations[authorization_id]

    def created(self) -> list[dict]:
        return list(self.authorizations.values())

    def api_requests(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if r[1] != "/health"]

    # --- server ---------------------------------------------------------
    def install(self, httpserver) -> str:
        """Serve every path of `httpserver` from this double; returns its base URL."""
        httpserver.expect_request(re.compile(r"^/")).respond_with_handler(self.handle)
        return httpserver.url_for("/").rstrip("/")

    def handle(self, request: Request) -> Response:
        response = self._handle(request)
        if request.path != "/health" and response.status_code < 500:
            self.check_response(request, response)
        return response

    def check_response(self, request: Request, response: Response) -> None:
        """Validate what this double answers against the contract, as its requests are."""
        from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
        from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound

        class TextAware(WerkzeugOpenAPIResponse):
            # openapi-core hands an undeserialized body (CSV) to the schema as bytes;
            # the contract's `type: string` means the text.
            @property
            def data(self):
                raw = super().data
                return (
                    raw.decode("utf-8")
                    if isinstance(raw, bytes) and self.content_type.startswith("application/csv")
                    else raw
                )

        try:
            contract().validate_response(WerkzeugOpenAPIRequest(request), TextAware(response))
        except (PathNotFound, OperationNotFound):
            return
        except Exception as error:  # noqa: BLE001 - every kind of mismatch is a violation
            with self.lock:
                self.violations.append(f"{request.method} {request.path} -> {response.status_code}: {error}")

    def _handle(self, request: Request) -> Response:
        with self.lock:
            self.requests.append((request.method, request.path))
        if self.delay:
            time.sleep(self.delay)
        if request.environ.get("REQUEST_METHOD") != request.method:
            # Methods are case-sensitive (RFC 9110); InfluxDB's router knows "POST", not "post".
            return _error(405, "method not allowed", "method not allowed")
        if request.path == "/health":
            if request.method != "GET":
                return _error(405, "method not allowed", "method not allowed")
            if not self.healthy:
                return _json(503, {"name": "influxdb", "message": "not ready", "status": "fail", "checks": []})
            return _json(
                200,
                {
                    "name": "influxdb",
                    "message": "ready for queries and writes",
                    "status": "pass",
                    "checks": [],
                    "version": "v2.7.12",
                    "commit": "ed645d9d1f",
                },
            )
        if self.fail_next > 0:
            self.fail_next -= 1
            return _error(500, "internal error", "simulated failure")
        planned = self.refuse.get(request.path)
        if planned:
            status = planned.pop(0)
            if status is not None:
                code = {400: "invalid", 401: "unauthorized", 403: "forbidden", 404: "not found"}.get(
                    status, "internal error"
                )
                return _error(status, code, f"refused with {status} by the test")
        from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest
        from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound

        try:
            contract().validate_request(WerkzeugOpenAPIRequest(request))
        except PathNotFound:
            return _error(404, "not found", "path not found")
        except OperationNotFound:
            return _error(405, "method not allowed", "method not allowed")
        except Exception as error:
            return _error(400, "invalid", f"request does not match the API contract: {error}")
        who = self._authenticate(request)
        if who is None:
            return _error(401, "unauthorized", "unauthorized access")
        route = (request.method, request.path)
        if route == ("GET", "/api/v2/orgs"):
            return self._orgs(request, who)
        if route == ("GET", "/api/v2/buckets"):
            return self._buckets(request, who)
        if route == ("GET", "/api/v2/authorizations"):
            return self._list_authorizations(request, who)
        if route == ("POST", "/api/v2/authorizations"):
            return self._create_authorization(request, who)
        if route == ("POST", "/api/v2/write"):
            return self._write(request, who)
        if route == ("POST", "/api/v2/query"):
            return self._query(request, who)
        if route == ("POST", "/api/v2/delete"):
            return self._delete(request, who)
        return _error(404, "not found", "path not found")

    # --- data -----------------------------------------------------------
    def add_point(self, bucket: str, measurement: str, seconds_ago: float, now: float | None = None) -> None:
        """A point as ripples would have written it `seconds_ago`."""
        at = (now if now is not None else time.time()) - seconds_ago
        bucket_id = next(b["id"] for b in self.buckets.values() if b["name"] == bucket)
        self.points.append(
            {
                "bucket": bucket_id,
                "measurement": measurement,
                "tags": {"symbol": "AAPL"},
                "fields": {"price": 1.0},
                "time": int(at * 1e9),
            }
        )

    def _bucket_of(self, request: Request) -> tuple[dict | None, Response | None]:
        org, name = request.args.get("org"), request.args.get("bucket")
        if org not in self.orgs:
            return None, _error(404, "not found", f'organization name "{org}" not found')
        found = [b for b in self.buckets.values() if b["name"] == name and b["orgID"] == self.orgs[org]]
        if not found:
            return None, _error(404, "not found", f'bucket "{name}" not found')
        return found[0], None

    def _write(self, request: Request, who: dict) -> Response:
        bucket, refused = self._bucket_of(request)
        if refused:
            return refused
        if not self._can(who, "write", "buckets", bucket["id"]):
            return _error(404, "not found", f'bucket "{bucket["name"]}" not found')
        scale = {"ns": 1, "us": 10**3, "ms": 10**6, "s": 10**9}[request.args.get("precision", "ns")]
        self.writes.append(request.get_data(as_text=True))
        for number, line in enumerate(request.get_data(as_text=True).splitlines(), 1):
            match = LINE.match(line.strip())
            if not match:
                return _error(400, "invalid", f"unable to parse '{line[:60]}': line {number}")
            tags = dict(pair.split("=", 1) for pair in (match["tags"] or "").split(",") if pair)
            fields = {key: _field(value) for key, value in (pair.split("=", 1) for pair in match["fields"].split(","))}
            stamp = int(match["time"]) * scale if match["time"] else int(time.time() * 1e9)
            self.points.append(
                {
                    "bucket": bucket["id"],
                    "measurement": match["measurement"],
                    "tags": tags,
                    "fields": fields,
                    "time": stamp,
                }
            )
        return Response(status=204)

    def _query(self, request: Request, who: dict) -> Response:
        org = request.args.get("org")
        if org not in self.orgs:
            return _error(400, "invalid", f'organization name "{org}" not found')
        flux = (request.get_json() or {}).get("query", "")
        scratch, recent = SCRATCH_QUERY.match(flux), RECENT_QUERY.match(flux)
        match = scratch or recent
        if not match:
            return _error(400, "invalid", "the double evaluates only the smoke probes' queries")
        buckets = [b for b in self.buckets.values() if b["name"] == match["bucket"] and b["orgID"] == self.orgs[org]]
        if not buckets or not self._can(who, "read", "buckets", buckets[0]["id"]):
            return _error(404, "not found", f'could not find bucket "{match["bucket"]}"')
        now = time.time()
        start = now - (3600 if scratch else int(match["minutes"]) * 60)
        rows = []
        for point in self.points:
            if point["bucket"] != buckets[0]["id"] or point["time"] < start * 1e9:
                continue
            if scratch and (point["measurement"] != match["measurement"] or point["tags"].get("run") != match["run"]):
                continue
            if recent and point["measurement"] == match["measurement"]:
                continue
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(point["time"] / 1e9))
            value = next(iter(point["fields"].values()))
            rows.append(f",_result,0,{stamp},{point['measurement']},{value}")
        if recent:
            rows = rows[:1]
        if scratch and self.hidden_reads > 0:
            self.hidden_reads -= 1
            rows = []
        body = "\r\n".join([",result,table,_time,_measurement,_value", *rows]) + "\r\n\r\n"
        return Response(body, status=200, content_type="application/csv; charset=utf-8")

    def _delete(self, request: Request, who: dict) -> Response:
        bucket, refused = self._bucket_of(request)
        if refused:
            return refused
        if not self._can(who, "write", "buckets", bucket["id"]):
            return _error(404, "not found", f'bucket "{bucket["name"]}" not found')
        body = request.get_json()
        predicate = dict(re.findall(r'(\w+)="([^"]*)"', body.get("predicate", "")))
        start, stop = (calendar.timegm(time.strptime(body[key], "%Y-%m-%dT%H:%M:%SZ")) for key in ("start", "stop"))
        if not self.ignore_deletes:
            self.points = [
                p
                for p in self.points
                if not (
                    p["bucket"] == bucket["id"]
                    and start * 1e9 <= p["time"] <= stop * 1e9
                    and predicate.get("_measurement", p["measurement"]) == p["measurement"]
                    and all(p["tags"].get(k) == v for k, v in predicate.items() if k != "_measurement")
                )
            ]
        return Response(status=204)

    def _authenticate(self, request: Request) -> dict | None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme != "Token" or not token:
            return None
        if token == self.operator_token:
            return {"operator": True, "permissions": []}
        for authorization in self.authorizations.values():
            if authorization["token"] == token and authorization["status"] == "active":
                return {"operator": False, "permissions": authorization["permissions"]}
        return None

    @staticmethod
    def _can(who: dict, action: str, kind: str, resource_id: str | None = None) -> bool:
        if who["operator"]:
            return True
        return any(
            p["action"] == action and p["resource"]["type"] == kind and p["resource"].get("id") in (None, resource_id)
            for p in who["permissions"]
        )

    def _orgs(self, request: Request, who: dict) -> Response:
        name = request.args.get("org")
        if name is not None and name not in self.orgs:
            return _error(404, "not found", f'organization name "{name}" not found')
        orgs = [
            {"id": oid, "name": oname, "links": {"self": f"/api/v2/orgs/{oid}"}}
            for oname, oid in sorted(self.orgs.items())
            if name in (None, oname)
        ]
        return _json(
            200,
            {
                "links": {"self": "/api/v2/orgs"},
                "orgs": _page(request, [o for o in orgs if self._can(who, "read", "orgs", o["id"])]),
            },
        )

    def _buckets(self, request: Request, who: dict) -> Response:
        name, org_id = request.args.get("name"), request.args.get("orgID")
        found = [
            dict(b, links={"self": f"/api/v2/buckets/{b['id']}"})
            for b in self.buckets.values()
            if name in (None, b["name"]) and org_id in (None, b["orgID"]) and self._can(who, "read", "buckets", b["id"])
        ]
        if name is not None and not found:
            # InfluxDB 2.x answers a lookup by name it cannot satisfy (no such
            # bucket, or none this token may read) with 404, not an empty list.
            return _error(404, "not found", f'bucket "{name}" not found')
        return _json(200, {"links": {"self": "/api/v2/buckets"}, "buckets": _page(request, found)})

    def _list_authorizations(self, request: Request, who: dict) -> Response:
        if not self._can(who, "read", "authorizations"):
            return _error(401, "unauthorized", "read:authorizations is unauthorized")
        org_id = request.args.get("orgID")
        # InfluxDB 2.9+ stores tokens hashed: a listing never shows a token again.
        found = [
            {k: v for k, v in a.items() if k != "token"}
            for a in self.authorizations.values()
            if org_id in (None, a["orgID"])
        ]
        return _json(200, {"links": {"self": "/api/v2/authorizations"}, "authorizations": found})

    def _create_authorization(self, request: Request, who: dict) -> Response:
        if not self._can(who, "write", "authorizations"):
            return _error(401, "unauthorized", "write:authorizations is unauthorized")
        body = request.get_json()
        if body["orgID"] not in self.orgs.values():
            return _error(404, "not found", "organization not found")
        for permission in body["permissions"]:
            resource = permission["resource"]
            if resource["type"] == "buckets" and resource.get("id") and resource["id"] not in self.buckets:
                return _error(404, "not found", "bucket not found")
        authorization_id = next(self._ids)
        now = "2026-11-29T00:00:00Z"
        authorization = {
            "id": authorization_id,
            "token": secrets.token_urlsafe(64),
            "status": body.get("status", "active"),
            "description": body.get("description", ""),
            "orgID": body["orgID"],
            "org": next(name for name, oid in self.orgs.items() if oid == body["orgID"]),
            "userID": "0000000000000001",
            "user": "admin",
            "permissions": body["permissions"],
            "createdAt": now,
            "updatedAt": now,
            "links": {"self": f"/api/v2/authorizations/{authorization_id}", "user": "/api/v2/users/0000000000000001"},
        }
        self.authorizations[authorization_id] = authorization
        if self.tokenless_create:
            return _json(201, {k: v for k, v in authorization.items() if k != "token"})
        return _json(201, authorization)
