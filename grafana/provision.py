"""`streamlines grafana provision`: configure a lite stack's Grafana in one go.

Talks to Grafana only: the `streamlines` command reads the stack's facts (URLs,
org, bucket, the read token and the admin password) from AWS and hands them
over as a `Target` (docs/architecture.md). Waits for Grafana's /api/health; creates or
updates the InfluxDB datasource by its fixed uid; creates the folder; imports
every dashboard in grafana/dashboards/ bound to that datasource; checks the
datasource with Grafana's health check. Idempotent: a second run changes
nothing. Everything that can be checked before a change is checked first, so a
bad dashboard file or a missing secret leaves Grafana untouched.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from streamlines.checks import Check

from .dashboards import DATASOURCE_UID, FOLDER

FOLDER_UID = "streamlines"
FOLDER_TITLE = "Stream Lines"
DATASOURCE_NAME = "Stream Lines InfluxDB"
PLACEHOLDER = "PLACEHOLDER"
ADMIN_USER = "admin"
# Seconds one request to Grafana may take.
REQUEST_TIMEOUT = 10.0


class ProvisionError(Exception):
    """One sentence for the operator; the command exits non-zero with it."""


@dataclass(frozen=True)
class Target:
    grafana_url: str
    influx_url: str
    org: str
    bucket: str
    read_token: str
    admin_password: str


@dataclass
class Report:
    changes: list[tuple[str, str, str]] = field(default_factory=list)
    health: str = ""

    def add(self, kind: str, name: str, action: str) -> None:
        self.changes.append((kind, name, action))


# --- inputs ---------------------------------------------------------------------------


def load_dashboards(folder: Path = FOLDER) -> list[tuple[Path, dict]]:
    """Every *.json in the folder, parsed and checked, before anything is changed."""
    paths = sorted(folder.glob("*.json"))
    if not paths:
        raise ProvisionError(f"no dashboard JSON files in {folder}.")
    dashboards = []
    for path in paths:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ProvisionError(
                f"{path} is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}); nothing was "
                "changed."
            ) from None
        if isinstance(data, dict) and "dashboard" in data and isinstance(data["dashboard"], dict):
            data = data["dashboard"]
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("uid"), str)
            or not isinstance(data.get("title"), str)
            or not data["title"]
        ):
            raise ProvisionError(f"{path} is not a Grafana dashboard with a uid and a title; nothing was changed.")
        dashboards.append((path, data))
    uids = [d["uid"] for _, d in dashboards]
    duplicates = sorted({uid for uid in uids if uids.count(uid) > 1})
    if duplicates:
        raise ProvisionError(
            f"dashboard uid {duplicates[0]} is used by more than one file in {folder}; nothing was changed."
        )
    return dashboards


# --- what Grafana should hold ------------------------------------------------------------


def token_fingerprint(token: str) -> str:
    """Lets a later run see that the token changed without reading it back (Grafana never returns it)."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def desired_datasource(target: Target) -> dict:
    return {
        "uid": DATASOURCE_UID,
        "name": DATASOURCE_NAME,
        "type": "influxdb",
        "access": "proxy",
        "url": target.influx_url,
        "isDefault": True,
        "basicAuth": False,
        "jsonData": {
            "version": "Flux",
            "organization": target.org,
            "defaultBucket": target.bucket,
            "httpMode": "POST",
            "tokenFingerprint": token_fingerprint(target.read_token),
        },
        "secureJsonData": {"token": target.read_token},
    }


def datasource_matches(existing: dict, desired: dict) -> bool:
    same = all(existing.get(key) == desired[key] for key in ("name", "type", "access", "url", "isDefault", "basicAuth"))
    json_data = existing.get("jsonData") or {}
    same = same and all(json_data.get(key) == value for key, value in desired["jsonData"].items())
    return same and bool((existing.get("secureJsonFields") or {}).get("token"))


def bind(dashboard: dict) -> dict:
    """The dashboard with every InfluxDB datasource reference (or ${DS_...} input) pointing at our uid."""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if node.get("type") == "influxdb" and set(node) <= {"type", "uid"}:
                return {"type": "influxdb", "uid": DATASOURCE_UID}
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        if isinstance(node, str) and node.startswith("${DS_") and node.endswith("}"):
            return DATASOURCE_UID
        return node

    # walk builds new dicts and lists all the way down: the input is left as it is.
    bound = walk(dashboard)
    bound.pop("id", None)
    bound.pop("version", None)
    return bound


def dashboard_unchanged(current: dict | None, bound: dict, folder_uid: str) -> bool:
    """Whether Grafana's copy (GET /api/dashboards/uid/:uid) still holds what we would
    save: every field of ours equal, in our folder. Fields Grafana sets or adds
    (id, version, defaults of its own) and key order do not count."""
    if current is None or (current.get("meta") or {}).get("folderUid") != folder_uid:
        return False
    stored = current.get("dashboard") or {}
    # `bound` has no id or version (bind drops them): Grafana's own do not count.
    return all(stored.get(key) == value for key, value in bound.items())


# --- talking to Grafana -------------------------------------------------------------------


def wait_for_grafana(
    api: Any,
    url: str,
    timeout: float,
    progress: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    start = clock()
    while True:
        try:
            # /api/health itself (grafana-client's health.check() reads /api/frontend/settings).
            health = api.client.GET("/health")
            if isinstance(health, dict) and health.get("database") == "ok":
                return
            last = f"database {health.get('database') if isinstance(health, dict) else health!r}"
        except Exception as error:  # connection refused, DNS, timeouts, 5xx
            last = _short(error)
        waited = clock() - start
        if waited >= timeout:
            raise ProvisionError(f"Grafana at {url} did not answer /api/health within {int(timeout)} s (last: {last}).")
        progress(f"waiting for Grafana at {url}/api/health ({int(waited)} s of {int(timeout)} s, last: {last})")
        sleep(min(5.0, max(0.0, timeout - waited)))


def _short(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else error.__class__.__name__
    return text[:160]


def _status(error: Exception) -> int | None:
    return getattr(error, "status_code", None)


def provision(api: Any, target: Target, dashboards: list[tuple[Path, dict]], dry_run: bool) -> Report:
    from grafana_client.client import GrafanaClientError, GrafanaUnauthorizedError

    report = Report()
    would = "would " if dry_run else ""

    def get(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except GrafanaUnauthorizedError:
            raise ProvisionError(
                f"Grafana at {target.grafana_url} refused user {ADMIN_USER!r} with the password from Secrets Manager "
                "(HTTP 401)."
            ) from None
        except GrafanaClientError as error:
            if _status(error) == 404:
                return None
            raise

    desired = desired_datasource(target)
    existing = get(lambda: api.datasource.get_datasource_by_uid(DATASOURCE_UID))
    if existing is None:
        if not dry_run:
            api.datasource.create_datasource(desired)
        report.add("datasource", DATASOURCE_NAME, would + "create")
    elif not datasource_matches(existing, desired):
        if not dry_run:
            api.datasource.update_datasource_by_uid(DATASOURCE_UID, {**desired, "version": existing.get("version", 1)})
        report.add("datasource", DATASOURCE_NAME, would + "update")
    else:
        report.add("datasource", DATASOURCE_NAME, "unchanged")

    folder = get(lambda: api.folder.get_folder(FOLDER_UID))
    if folder is None:
        if not dry_run:
            api.folder.create_folder(FOLDER_TITLE, uid=FOLDER_UID)
        report.add("folder", FOLDER_TITLE, would + "create")
    elif folder.get("title") != FOLDER_TITLE:
        if not dry_run:
            api.folder.update_folder(FOLDER_UID, title=FOLDER_TITLE, overwrite=True)
        report.add("folder", FOLDER_TITLE, would + "update")
    else:
        report.add("folder", FOLDER_TITLE, "unchanged")

    for _, dashboard in dashboards:
        bound = bind(dashboard)
        current = get(lambda: api.dashboard.get_dashboard(bound["uid"]))  # noqa: B023 (called at once)
        if dashboard_unchanged(current, bound, FOLDER_UID):
            report.add("dashboard", bound["title"], "unchanged")
            continue
        if not dry_run:
            api.dashboard.update_dashboard(
                {
                    "dashboard": bound,
                    "folderUid": FOLDER_UID,
                    "overwrite": True,
                    "message": "streamlines grafana provision",
                }
            )
        report.add("dashboard", bound["title"], would + ("create" if current is None else "update"))

    if dry_run and existing is None:
        report.health = "not checked (the datasource does not exist yet)"
    else:
        report.health = datasource_health(api)
    return report


def datasource_health(api: Any) -> str:
    from grafana_client.client import GrafanaClientError

    try:
        answer = api.datasource.health(DATASOURCE_UID)
    except GrafanaClientError as error:
        if _status(error) == 404:
            return "not available in this Grafana"
        message = error.response.get("message") if isinstance(getattr(error, "response", None), dict) else _short(error)
        return f"FAILED: {message}"
    if isinstance(answer, dict) and str(answer.get("status", "")).upper() == "OK":
        return "OK"
    return f"FAILED: {answer.get('message') if isinstance(answer, dict) else answer}"


def verify(
    grafana_url: str, admin_password: str, dashboards: list[tuple[Path, dict]], timeout: float = REQUEST_TIMEOUT
) -> list[Check]:
    """What `streamlines smoke` asks of a provisioned Grafana, as checks:
    /api/health, the datasource's own health check, every shipped dashboard present
    in its folder. Changes nothing."""
    from grafana_client import GrafanaApi
    from grafana_client.client import GrafanaClientError, GrafanaException

    api = GrafanaApi.from_url(grafana_url, credential=(ADMIN_USER, admin_password), timeout=timeout)
    try:
        health = api.client.GET("/health")
    except Exception as error:  # connection refused, DNS, timeouts, 5xx
        return [
            Check("grafana health", False, f"Grafana at {grafana_url} did not answer /api/health: {_short(error)}.")
        ]
    database = health.get("database") if isinstance(health, dict) else None
    checks = [
        Check(
            "grafana health",
            database == "ok",
            f"/api/health: database {database or 'not reported'}, version "
            f"{health.get('version', '?') if isinstance(health, dict) else '?'}",
        )
    ]
    try:
        api.datasource.get_datasource_by_uid(DATASOURCE_UID)
    except GrafanaClientError as error:
        if _status(error) != 404:
            raise
        checks.append(
            Check(
                "grafana datasource",
                False,
                f"Grafana has no {DATASOURCE_NAME!r} datasource: run streamlines grafana provision.",
            )
        )
    else:
        status = datasource_health(api)
        reason = (
            "the InfluxDB datasource's health check passed"
            if status == "OK"
            else f"the InfluxDB datasource's health check: {status}"
        )
        checks.append(Check("grafana datasource", status == "OK", reason))
    missing = []
    for _, dashboard in dashboards:
        try:
            found = api.dashboard.get_dashboard(dashboard["uid"])
        except GrafanaClientError as error:
            if _status(error) != 404:
                return [
                    *checks,
                    Check(
                        "grafana dashboards",
                        False,
                        f"Grafana answered an error for dashboard {dashboard['uid']}: {_short(error)}.",
                    ),
                ]
            found = None
        except GrafanaException as error:
            return [
                *checks,
                Check(
                    "grafana dashboards",
                    False,
                    f"Grafana answered an error for dashboard {dashboard['uid']}: {_short(error)}.",
                ),
            ]
        if not found or (found.get("meta") or {}).get("folderUid") != FOLDER_UID:
            missing.append(dashboard["title"])
    if missing:
        checks.append(
            Check(
                "grafana dashboards",
                False,
                f"missing from the {FOLDER_TITLE!r} folder: {', '.join(missing)} (run streamlines grafana provision)",
            )
        )
    else:
        checks.append(
            Check("grafana dashboards", True, f"all {len(dashboards)} dashboards in the {FOLDER_TITLE!r} folder")
        )
    return checks


# --- the command ------------------------------------------------------------------------


def refuse_plain_http(url: str, allow: bool) -> None:
    """The admin password travels with every request: over plain HTTP only to this
    machine (an ECS Exec port forward), unless the operator says otherwise."""
    import ipaddress
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme != "http" or allow:
        return
    host = parts.hostname or ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise ProvisionError(
            f"{url} is plain HTTP, which would send the Grafana admin password in clear across the network; "
            "give the stack a certificate (CertificateArn and GrafanaDomainName), use an ECS Exec port forward "
            "(--grafana-url http://localhost:3000), or pass --allow-insecure-http."
        )


def run(
    read_target: Callable[[], Target],
    dry_run: bool,
    wait: float,
    dashboards_folder: Path = FOLDER,
    out=None,
    err=None,
    allow_insecure_http: bool = False,
) -> int:
    """Provision Grafana; `read_target` gives the stack's facts (it may raise ProvisionError).
    The dashboards are checked first, so a bad file changes nothing."""
    from grafana_client import GrafanaApi
    from grafana_client.client import GrafanaException

    # The streams of the moment it runs (not of import time: a test or a caller may have swapped them).
    out, err = out or sys.stdout, err or sys.stderr
    try:
        dashboards = load_dashboards(dashboards_folder)
        target = read_target()
        refuse_plain_http(target.grafana_url, allow_insecure_http)
        api = GrafanaApi.from_url(
            target.grafana_url, credential=(ADMIN_USER, target.admin_password), timeout=REQUEST_TIMEOUT
        )
        wait_for_grafana(api, target.grafana_url, wait, lambda line: print(line, file=err, flush=True))
        try:
            report = provision(api, target, dashboards, dry_run)
        except GrafanaException as error:
            raise ProvisionError(f"Grafana at {target.grafana_url} answered an error: {_short(error)}") from None
        except OSError as error:
            raise ProvisionError(f"lost the connection to Grafana at {target.grafana_url}: {_short(error)}") from None
    except ProvisionError as error:
        print(f"streamlines: error: {error}", file=err)
        return 1
    print(f"{'plan for' if dry_run else 'provisioned'} Grafana at {target.grafana_url}:", file=out)
    for kind, name, action in report.changes:
        print(f"  {kind:<10} {name:<45} {action}", file=out)
    print(f"  datasource health check: {report.health}", file=out)
    return 1 if report.health.startswith("FAILED") else 0
