"""One HTTP call the way a client of Grafana's or InfluxDB's API makes it, for the
tests of the doubles themselves: (status, parsed JSON body), errors included."""

from __future__ import annotations

import json
import urllib.error
import urllib.request


def call(url: str, method: str = "GET", body=None, authorization: str | None = None) -> tuple[int, object]:
    request = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None)
    if authorization:
        request.add_header("Authorization", authorization)
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")
