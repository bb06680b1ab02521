"""`make readme` (`python -m streamlines.readme`): the README sections that are
rendered from the project's data instead of typed by hand, between
`<!-- generated: NAME -->` and `<!-- end: NAME -->` markers.

- `services`: the application images' contract, from contracts/services.toml.
- `cost`: the monthly estimate of every `streamlines cost --compare` scenario.

A test fails when README.md differs from what this renders (run `make readme`).
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path
from typing import Callable

from .context import project_root


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def services_table(root: Path) -> str:
    contract = tomllib.loads((root / "contracts" / "services.toml").read_text(encoding="utf-8"))
    application = contract["application"]
    lines = [
        f"Built from {application['repository']} at commit `{application['commit']}` ({application['date']}); "
        "each entry's source (file:line at that commit) is in `contracts/services.toml`.",
        "",
        "| image | environment (plain) | secrets (Secrets Manager, JSON key) | port | health | deploys |",
        "|---|---|---|---|---|---|",
    ]
    for service, spec in contract["services"].items():
        plain = []
        for name, value in spec.get("environment", {}).items():
            if "value" in value:
                plain.append(f"`{name}` = `{value['value']}` ({value['description']})")
            elif value.get("optional"):
                plain.append(f"`{name}` (optional, default `{value['default']}`)")
            else:
                plain.append(f"`{name}`: {value['description']}")
        secrets = [f"`{name}` ({s['secret']}, `{s['key']}`)" for name, s in spec.get("secrets", {}).items()]
        port = spec["port"]
        port_text = (
            "none"
            if port.get("none")
            else f"`{port['parameter']}` (default {port['default']}, set by `{port['variable']}`)"
        )
        health = spec["health"]
        if health["kind"] == "alb":
            health_text = f"ALB `GET {health['path']}` 200"
        elif health["kind"] == "container":
            health_text = f"container check on `127.0.0.1:{health['port']}{health['path']}`"
        else:
            health_text = f"none ({health.get('description', 'no health endpoint')}); watched by {health['watch']}"
        deploys = (
            "one task at a time (100 % / 0 %)"
            if spec.get("single_writer", {}).get("value")
            else "rolling (200 % / 100 %)"
        )
        lines.append(
            f"| {service}: {_cell(spec['image'])} | {_cell('; '.join(plain) or 'none')} | "
            f"{_cell('; '.join(secrets) or 'none')} "
            f"| {port_text} | {_cell(health_text)} | {deploys} |"
        )
    return "\n".join(lines)


def cost_table(root: Path) -> str:
    import json

    from templates_py.config import BuildConfig
    from templates_py.render import render as render_templates

    from . import cost

    templates = {
        name.removesuffix(".json"): json.loads(body)
        for name, body in render_templates("all", BuildConfig().validated()).items()
    }
    prices = cost.load_prices("us-east-1")
    lines = [
        f"| scenario (us-east-1 list prices of {prices['meta']['date']}, USD a month) | Fargate | network | other | "
        "total |",
        "|---|---:|---:|---:|---:|",
    ]
    for title, fargate, network, other, total in cost.scenario_rows(templates, prices, cost.Assumptions()):
        lines.append(f"| {title} | {fargate} | {network} | {other} | **{total}** |")
    return "\n".join(lines)


SECTIONS: dict[str, Callable[[Path], str]] = {"services": services_table, "cost": cost_table}


def render(text: str, root: Path) -> str:
    """`text` with every generated section replaced by its current rendering."""
    for name, make in SECTIONS.items():
        pattern = re.compile(rf"(<!-- generated: {name} -->\n)(?:.*?\n)?(<!-- end: {name} -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"README.md has no '<!-- generated: {name} -->' section.")
        text = pattern.sub(lambda match: match.group(1) + make(root) + "\n" + match.group(2), text)  # noqa: B023
    return text


def main() -> int:
    root = project_root()
    path = root / "README.md"
    current = path.read_text(encoding="utf-8")
    updated = render(current, root)
    if updated != current:
        path.write_text(updated, encoding="utf-8")
        print("rewrote the generated sections of README.md")
    else:
        print("README.md is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
