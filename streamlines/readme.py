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
    lines = [
        "| image | environment (plain) | secrets (Secrets Manager, JSON key) | port | health |",
        "|---|---|---|---|---|",
    ]
    for service, spec in contract.items():
        plain = []
        for name, value in spec.get("environment", {}).items():
            if isinstance(value, dict):
                if "value" in value:
                    plain.append(f"`{name}` = `{value['value']}` ({value['description']})")
                else:
                    plain.append(f"`{name}` (optional, default `{value['default']}`)")
            else:
                plain.append(f"`{name}`: {value}")
        secrets = [f"`{name}` ({s['secret']}, `{s['key']}`)" for name, s in spec.get("secrets", {}).items()]
        port = spec.get("port")
        port_text = f"`{port['parameter']}` (default {port['default']})" if port else "none"
        health = spec.get("health")
        health_text = "none" if not health else f"ALB `GET {health['path']}` 200" if health["kind"] == "alb" else f"container check on `127.0.0.1:{health['port']}{health['path']}`"
        lines.append(
            f"| {service}: {_cell(spec['image'])} | {_cell('; '.join(plain) or 'none')} | {_cell('; '.join(secrets) or 'none')} | {port_text} | {health_text} |"
        )
    return "\n".join(lines)


def cost_table(root: Path) -> str:
    import json

    from templates_py.config import BuildConfig
    from templates_py.render import render as render_templates

    from . import cost

    templates = {name.removesuffix(".json"): json.loads(body) for name, body in render_templates("all", BuildConfig().validated()).items()}
    prices = cost.load_prices("us-east-1")
    lines = [
        f"| scenario (us-east-1 list prices of {prices['meta']['date']}, USD a month) | Fargate | network | other | total |",
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
        text = pattern.sub(lambda match: match.group(1) + make(root) + "\n" + match.group(2), text)
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
