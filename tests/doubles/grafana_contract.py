"""Grafana's HTTP API description (contracts/grafana-http-api.openapi3.json, an
extract of Grafana's own spec; AGPL-3.0, see contracts/grafana-http-api.NOTICE)
with the few places where it disagrees with what Grafana serves, corrected here
and only here, each with its reason. The Grafana double validates every request
it receives and every response it sends against the corrected document.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Callable

CONTRACT = Path(__file__).resolve().parents[2] / "contracts" / "grafana-http-api.openapi3.json"


def _save_response_has_no_title(spec: dict) -> None:
    """POST /api/dashboards/db answers id, uid, url, status, version and slug; the
    description requires a `title` the server never sends."""
    schema = spec["components"]["responses"]["postDashboardResponse"]["content"]["application/json"]["schema"]
    schema["required"] = [name for name in schema["required"] if name != "title"]


def _health_needs_no_authentication(spec: dict) -> None:
    """GET /api/health is served without authentication (load balancers call it);
    the description's global security requirement covers it too."""
    spec["paths"]["/health"]["get"]["security"] = []


def _unhealthy_health_is_the_health_body(spec: dict) -> None:
    """With its database failing, GET /api/health answers 503 with the same body as
    200 (`database: failing`), not the generic error with a `message` the
    description names."""
    spec["paths"]["/health"]["get"]["responses"]["503"] = copy.deepcopy(
        spec["paths"]["/health"]["get"]["responses"]["200"]
    )


def _datasource_by_unknown_name_is_404(spec: dict) -> None:
    """GET /api/datasources/name/{name} answers 404 for a name that does not exist,
    which the description does not declare."""
    spec["paths"]["/datasources/name/{name}"]["get"]["responses"]["404"] = {
        "$ref": "#/components/responses/notFoundError"
    }


def _health_of_an_unknown_datasource_is_404(spec: dict) -> None:
    """GET /api/datasources/uid/{uid}/health answers 404 ("Data source not found")
    for a uid that does not exist, and Grafana versions before the endpoint answer
    404 for the path itself; the description declares neither."""
    spec["paths"]["/datasources/uid/{uid}/health"]["get"]["responses"]["404"] = {
        "$ref": "#/components/responses/notFoundError"
    }


CORRECTIONS: list[Callable[[dict], None]] = [
    _save_response_has_no_title,
    _health_needs_no_authentication,
    _unhealthy_health_is_the_health_body,
    _datasource_by_unknown_name_is_404,
    _health_of_an_unknown_datasource_is_404,
]


def corrected(spec: dict) -> dict:
    spec = copy.deepcopy(spec)
    for correction in CORRECTIONS:
        correction(spec)
    return spec


@lru_cache(maxsize=1)
def contract():
    from openapi_core import OpenAPI

    return OpenAPI.from_dict(corrected(json.loads(CONTRACT.read_text(encoding="utf-8"))))
