"""What `streamlines smoke` asks the agent to try inside the VPC, with the read and
write tokens it is handed (never the operator token):

- `round_trip`: write one point to a scratch measurement with the write token,
  read it back with the read token, delete it with the write token, and check
  that it is gone;
- `recent_points`: whether the bucket holds any point newer than `minutes` ago
  (outside the scratch measurement), read with the read token.

Requests follow InfluxData's API contract (POST /api/v2/write, /api/v2/query,
/api/v2/delete); every failure is one sentence naming the token and the status.
"""

from __future__ import annotations

import csv
import io
import secrets
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from influx_tokens import Client, TokenError, _message

SCRATCH = "streamlines_smoke"
READ_ATTEMPTS = 3


def _refused(token: str, status: int, body: Any, doing: str) -> TokenError:
    if status == 401:
        return TokenError(
            f"InfluxDB refused the {token} token while {doing} (HTTP 401): it was revoked or is not the issued one."
        )
    if status == 403 or status == 404:
        return TokenError(
            f"the {token} token may not be used for {doing} ({_message(status, body)}): its permissions are not "
            "the issued ones."
        )
    return TokenError(f"InfluxDB failed while {doing} ({_message(status, body)}).")


def _rows(text: Any) -> list[dict[str, str]]:
    """The data rows of an annotated CSV answer (annotation and blank lines skipped)."""
    if not isinstance(text, str):
        return []
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return list(csv.DictReader(io.StringIO("\n".join(lines))))


def _query(client: Client, token: str, org: str, flux: str, doing: str) -> list[dict[str, str]]:
    status, body = client.call(
        "POST", "/api/v2/query", token, {"org": org}, {"query": flux, "type": "flux"}, accept="application/csv"
    )
    if status != 200:
        raise _refused("read", status, body, doing)
    return _rows(body)


def _scratch_flux(bucket: str, run: str) -> str:
    return (
        f'from(bucket: "{bucket}") |> range(start: -1h) |> filter(fn: (r) => r._measurement == "{SCRATCH}" '
        f'and r.run == "{run}")'
    )


def round_trip(
    client: Client,
    org: str,
    bucket: str,
    read_token: str,
    write_token: str,
    now: Callable[[], datetime],
    sleep: Callable[[float], None] = time.sleep,
) -> dict:
    run = secrets.token_hex(6)
    at = now().astimezone(timezone.utc)
    line = f"{SCRATCH},run={run} value=1i {int(at.timestamp())}"
    status, body = client.call(
        "POST",
        "/api/v2/write",
        write_token,
        {"org": org, "bucket": bucket, "precision": "s"},
        line,
        content_type="text/plain; charset=utf-8",
    )
    if status != 204:
        raise _refused("write", status, body, "writing a point")
    for attempt in range(1, READ_ATTEMPTS + 1):
        rows = _query(client, read_token, org, _scratch_flux(bucket, run), "reading the point back")
        if any(row.get("_value") == "1" for row in rows):
            break
        if attempt == READ_ATTEMPTS:
            raise TokenError("the point written with the write token did not come back with the read token.")
        sleep(1.0)
    window = {
        "start": (at - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "stop": (at + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "predicate": f'_measurement="{SCRATCH}" AND run="{run}"',
    }
    status, body = client.call("POST", "/api/v2/delete", write_token, {"org": org, "bucket": bucket}, window)
    if status != 204:
        raise _refused("write", status, body, "deleting the point")
    if _query(client, read_token, org, _scratch_flux(bucket, run), "checking the point is gone"):
        raise TokenError("the scratch point was still there after its delete.")
    return {"wrote": 1, "read": 1, "deleted": 1}


def recent_points(client: Client, org: str, bucket: str, read_token: str, minutes: int) -> dict:
    flux = (
        f'from(bucket: "{bucket}") |> range(start: -{int(minutes)}m) |> filter(fn: (r) => r._measurement != '
        f'"{SCRATCH}")'
        ' |> limit(n: 1) |> keep(columns: ["_time", "_measurement"])'
    )
    rows = _query(client, read_token, org, flux, "looking for recent points")
    return {"series": len(rows), "latest": max((row.get("_time", "") for row in rows), default=None)}
