"""InfluxDB token agent: runs inside the VPC, speaks only HTTP to InfluxDB.

Invoked by the token provider (never by CloudFormation) with:
    {"influxUrl", "adminToken", "org", "bucket", "description", "deadlineSeconds",
     "stored": {"read": {"token", "authorizationID"} | null, "write": ...}}
Answers {"ok": true, "tokens": {"read": {"token", "authorizationID", "created"}, ...}, "requests": n}
or {"ok": false, "error": "<one line>", "requests": n}. It has no AWS permissions
but its logs; it logs no token.

`streamlines smoke` invokes it with {"action": "round_trip" | "recent_points",
"influxUrl", "org", "bucket", "readToken", "writeToken" (round trip only),
"minutes" (recent points only), "deadlineSeconds"} and gets {"ok": true, ...what
the probe found, "requests": n} or {"ok": false, "error", "requests"} (probes.py).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timezone
from typing import Any

import probes
from influx_tokens import Client, Stored, TokenError, ensure_tokens

logger = logging.getLogger()
logger.setLevel(logging.INFO)


PROBES = ("round_trip", "recent_points")


def handler(event: dict, context: Any) -> dict:
    deadline = time.monotonic() + float(event.get("deadlineSeconds", 60))
    client = Client(event["influxUrl"], deadline)
    action = event.get("action", "ensure_tokens")
    if action in PROBES:
        return probe(action, event, client)
    if action != "ensure_tokens":
        return {
            "ok": False,
            "error": f"unknown action {action!r}; known: ensure_tokens, {', '.join(PROBES)}.",
            "requests": 0,
        }
    stored = {kind: Stored.parse((event.get("stored") or {}).get(kind)) for kind in ("read", "write")}
    try:
        outcomes = ensure_tokens(
            client, event["adminToken"], event["org"], event["bucket"], stored, event.get("description", "streamlines")
        )
    except (TokenError, ConnectionError) as error:
        logger.warning(json.dumps({"event": "tokens_failed", "reason": str(error), "requests": client.requests}))
        return {"ok": False, "error": str(error), "requests": client.requests}
    logger.info(
        json.dumps(
            {
                "event": "tokens_ensured",
                "created": sorted(k for k, o in outcomes.items() if o.created),
                "requests": client.requests,
            }
        )
    )
    return {
        "ok": True,
        "requests": client.requests,
        "tokens": {
            kind: {"token": o.token, "authorizationID": o.authorization_id, "created": o.created}
            for kind, o in outcomes.items()
        },
    }


def probe(action: str, event: dict, client: Client) -> dict:
    try:
        if action == "round_trip":
            found = probes.round_trip(
                client,
                event["org"],
                event["bucket"],
                event["readToken"],
                event["writeToken"],
                lambda: datetime.now(timezone.utc),
            )
        else:
            found = probes.recent_points(
                client, event["org"], event["bucket"], event["readToken"], int(event.get("minutes", 15))
            )
    except (TokenError, ConnectionError) as error:
        logger.warning(json.dumps({"event": f"{action}_failed", "reason": str(error), "requests": client.requests}))
        return {"ok": False, "error": str(error), "requests": client.requests}
    logger.info(json.dumps({"event": action, **found, "requests": client.requests}))
    return {"ok": True, **found, "requests": client.requests}
