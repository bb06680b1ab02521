"""InfluxDB token agent: runs inside the VPC, speaks only HTTP to InfluxDB.

Invoked by the token provider (never by CloudFormation) with:
    {"influxUrl", "adminToken", "org", "bucket", "description", "deadlineSeconds",
     "stored": {"read": {"token", "authorizationID"} | null, "write": ...}}
Answers {"ok": true, "tokens": {"read": {"token", "authorizationID", "created"}, ...}, "requests": n}
or {"ok": false, "error": "<one line>", "requests": n}. It has no AWS permissions
but its logs; it logs no token.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from influx_tokens import Client, Stored, TokenError, ensure_tokens

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def handler(event: dict, context: Any) -> dict:
    deadline = time.monotonic() + float(event.get("deadlineSeconds", 60))
    client = Client(event["influxUrl"], deadline)
    stored = {kind: Stored.parse((event.get("stored") or {}).get(kind)) for kind in ("read", "write")}
    try:
        outcomes = ensure_tokens(client, event["adminToken"], event["org"], event["bucket"], stored, event.get("description", "streamlines"))
    except (TokenError, ConnectionError) as error:
        logger.warning(json.dumps({"event": "tokens_failed", "reason": str(error), "requests": client.requests}))
        return {"ok": False, "error": str(error), "requests": client.requests}
    logger.info(json.dumps({"event": "tokens_ensured", "created": sorted(k for k, o in outcomes.items() if o.created), "requests": client.requests}))
    return {
        "ok": True,
        "requests": client.requests,
        "tokens": {kind: {"token": o.token, "authorizationID": o.authorization_id, "created": o.created} for kind, o in outcomes.items()},
    }
