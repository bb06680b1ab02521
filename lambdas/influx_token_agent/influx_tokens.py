"""Make sure a read-only and a write-only token exist for one InfluxDB bucket.

Speaks only HTTP to InfluxDB (API v2, see contracts/influxdb-oss-v2.yml), with
the operator token; knows nothing of AWS. Stored tokens that still authenticate
and still have exactly their permission are kept; anything else is created.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable

KINDS = ("read", "write")
PLACEHOLDER = "PLACEHOLDER"
HEALTH_POLL_SECONDS = 2.0
REQUEST_TIMEOUT = 10.0
RETRY_SECONDS = 1.0


class TokenError(Exception):
    """Why the tokens could not be ensured; one line, never containing a token."""


@dataclass
class Stored:
    """A token as kept in its secret: the token and the authorization it belongs to."""

    token: str | None = None
    authorization_id: str | None = None

    @classmethod
    def parse(cls, value: Any) -> "Stored":
        if not isinstance(value, dict):
            return cls()
        token = value.get("token")
        if not isinstance(token, str) or not token or token == PLACEHOLDER:
            return cls()
        authorization_id = value.get("authorizationID")
        return cls(token, authorization_id if isinstance(authorization_id, str) and authorization_id else None)


@dataclass
class Outcome:
    token: str
    authorization_id: str
    created: bool


@dataclass
class Client:
    """A small InfluxDB v2 HTTP client; counts its requests."""

    base_url: str
    deadline: float
    clock: Callable[[], float] = time.monotonic
    requests: int = 0
    opener: Callable[..., Any] = field(default=urllib.request.urlopen)

    sleep: Callable[[float], None] = time.sleep

    def call(
        self,
        method: str,
        path: str,
        token: str | None,
        query: dict | None = None,
        body: Any = None,
        attempts: int = 3,
        accept: str = "application/json",
        content_type: str = "application/json",
    ) -> tuple[int, Any]:
        """One request, retried (bounded by `attempts` and the deadline) on 5xx and
        connection errors, which a restarting InfluxDB or its ALB gives for a while.
        A `str` body is sent as it is (line protocol); anything else as JSON. An
        answer is JSON unless `accept` asks for CSV, which comes back as text."""
        for attempt in range(1, attempts + 1):
            try:
                status, answer = self._once(method, path, token, query, body, accept, content_type)
            except ConnectionError:
                if attempt == attempts or self.deadline - self.clock() <= RETRY_SECONDS:
                    raise
            else:
                if status < 500 or attempt == attempts or self.deadline - self.clock() <= RETRY_SECONDS:
                    return status, answer
            self.sleep(RETRY_SECONDS)
        raise AssertionError("unreachable")

    def _once(
        self, method: str, path: str, token: str | None, query: dict | None, body: Any, accept: str, content_type: str
    ) -> tuple[int, Any]:
        remaining = self.deadline - self.clock()
        if remaining <= 0:
            raise TokenError(f"gave up: the deadline passed before {method} {path}")
        url = self.base_url.rstrip("/") + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = None if body is None else body.encode() if isinstance(body, str) else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Accept", accept)
        if data is not None:
            request.add_header("Content-Type", content_type)
        if token is not None:
            request.add_header("Authorization", f"Token {token}")
        self.requests += 1
        try:
            with self.opener(request, timeout=min(REQUEST_TIMEOUT, remaining)) as response:
                return response.status, _answer(response.read(), accept)
        except urllib.error.HTTPError as error:
            return error.code, _json(error.read())
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ConnectionError(f"{method} {path}: {reason}") from None


def _answer(raw: bytes, accept: str) -> Any:
    return raw.decode("utf-8", "replace") if accept == "application/csv" else _json(raw)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _message(status: int, body: Any) -> str:
    detail = body.get("message") if isinstance(body, dict) else None
    return f"HTTP {status}" + (f" ({detail})" if detail else "")


def wait_until_healthy(client: Client, sleep: Callable[[float], None] = time.sleep) -> None:
    last = "no answer"
    while True:
        try:
            status, body = client.call("GET", "/health", None, attempts=1)
            if status == 200 and isinstance(body, dict) and body.get("status") == "pass":
                return
            last = _message(status, body)
        except ConnectionError as error:
            last = str(error)
        except TokenError:
            raise TokenError(
                f"InfluxDB at {client.base_url} did not become healthy before the deadline (last: {last})"
            ) from None
        remaining = client.deadline - client.clock()
        if remaining <= 0:
            raise TokenError(f"InfluxDB at {client.base_url} did not become healthy before the deadline (last: {last})")
        sleep(min(HEALTH_POLL_SECONDS, remaining))


def _checked(what: str, status: int, body: Any) -> Any:
    if status == 401:
        raise TokenError(f"InfluxDB refused the operator token while {what}: {_message(status, body)}")
    if status >= 400:
        raise TokenError(f"InfluxDB failed while {what}: {_message(status, body)}")
    return body


def _find_id(
    client: Client, admin_token: str, path: str, query: dict, listing: str, name: str, what: str, missing: str
) -> str:
    """The id of the one item called `name` that a list endpoint returns; a 404 or no match is `missing`."""
    status, body = client.call("GET", path, admin_token, query)
    if status == 404:
        raise TokenError(missing)
    items = _checked(f"looking up {what} {name!r}", status, body).get(listing, [])
    matches = [item for item in items if item.get("name") == name]
    if not matches:
        raise TokenError(missing)
    return matches[0]["id"]


def find_org(client: Client, admin_token: str, org: str) -> str:
    return _find_id(
        client,
        admin_token,
        "/api/v2/orgs",
        {"org": org},
        "orgs",
        org,
        "organization",
        f"InfluxDB organization {org!r} does not exist",
    )


def find_bucket(client: Client, admin_token: str, org_id: str, org: str, bucket: str) -> str:
    missing = f"InfluxDB bucket {bucket!r} does not exist in organization {org!r}"
    return _find_id(
        client, admin_token, "/api/v2/buckets", {"name": bucket, "orgID": org_id}, "buckets", bucket, "bucket", missing
    )


def permissions(kind: str, org_id: str, bucket_id: str) -> list[dict]:
    return [{"action": kind, "resource": {"type": "buckets", "id": bucket_id, "orgID": org_id}}]


def _same_permissions(actual: Any, expected: list[dict]) -> bool:
    def key(permission: dict) -> tuple:
        resource = permission.get("resource", {})
        return (permission.get("action"), resource.get("type"), resource.get("id"), resource.get("orgID"))

    return isinstance(actual, list) and sorted(map(key, actual)) == sorted(map(key, expected))


def still_valid(
    client: Client, stored: Stored, authorizations: dict[str, dict], expected: list[dict], bucket: str, org_id: str
) -> bool:
    """The authorization exists, is active, has exactly `expected`, and its token authenticates."""
    if not stored.token or not stored.authorization_id:
        return False
    authorization = authorizations.get(stored.authorization_id)
    if (
        not authorization
        or authorization.get("status") != "active"
        or not _same_permissions(authorization.get("permissions"), expected)
    ):
        return False
    # The token itself must authenticate. InfluxDB answers a bucket it may not read
    # with 404, which a write-only token gets: that is a working token too. Only
    # 401 says the token is not one InfluxDB knows.
    status, _ = client.call("GET", "/api/v2/buckets", stored.token, {"name": bucket, "orgID": org_id})
    return status in (200, 404)


def ensure_tokens(
    client: Client,
    admin_token: str,
    org: str,
    bucket: str,
    stored: dict[str, Stored],
    description: str,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Outcome]:
    wait_until_healthy(client, sleep)
    org_id = find_org(client, admin_token, org)
    bucket_id = find_bucket(client, admin_token, org_id, org, bucket)
    status, body = client.call("GET", "/api/v2/authorizations", admin_token, {"orgID": org_id})
    existing = {a["id"]: a for a in _checked("listing authorizations", status, body).get("authorizations", [])}
    outcomes: dict[str, Outcome] = {}
    for kind in KINDS:
        expected = permissions(kind, org_id, bucket_id)
        current = stored.get(kind, Stored())
        if still_valid(client, current, existing, expected, bucket, org_id):
            outcomes[kind] = Outcome(current.token, current.authorization_id, created=False)
            continue
        request = {
            "orgID": org_id,
            "description": f"{description}: {kind} {bucket}",
            "status": "active",
            "permissions": expected,
        }
        status, body = client.call("POST", "/api/v2/authorizations", admin_token, body=request)
        created = _checked(f"creating the {kind} token", status, body)
        if status != 201 or not isinstance(created, dict) or not created.get("token"):
            raise TokenError(
                f"InfluxDB did not answer 201 Created with a token when creating the {kind} token (HTTP {status})"
            )
        outcomes[kind] = Outcome(created["token"], created["id"], created=True)
    return outcomes
