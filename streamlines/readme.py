"""`make readme` (`python -m streamlines.readme`): the sections of README.md and
docs/*.md that are rendered from the project's data instead of typed by hand,
between `<!-- generated: NAME -->` and `<!-- end: NAME -->` markers.

- `services`: the application images' contract, from contracts/services.toml.
- `cost`: the monthly estimate of every `streamlines cost --compare` scenario.
- `lite-cost`: what the quick start's lite stack costs a month.
- `sizes`: each rendered template's size against the inline deploy limit.

A test fails when a page differs from what this renders (run `make readme`).
"""

from __future__ import annotations

import functools
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

    from . import cost

    templates = {name.removesuffix(".json"): json.loads(body) for name, body in _rendered().items()}
    prices = cost.load_prices("us-east-1")
    lines = [
        f"| scenario (us-east-1 list prices of {prices['meta']['date']}, USD a month) | Fargate | network | other | "
        "total |",
        "|---|---:|---:|---:|---:|",
    ]
    for title, fargate, network, other, total in cost.scenario_rows(templates, prices, cost.Assumptions()):
        lines.append(f"| {title} | {fargate} | {network} | {other} | **{total}** |")
    return "\n".join(lines)


@functools.cache
def _rendered() -> dict[str, str]:
    """Every template, rendered once for all the sections that read them."""
    from templates_py.config import BuildConfig
    from templates_py.render import render as render_templates

    return render_templates("all", BuildConfig().validated())


def sizes_table(root: Path) -> str:
    from templates_py.render import DEPLOY_BODY_LIMIT

    lines = ["| template | bytes | deployed |", "|---|---:|---|"]
    for name, body in sorted(_rendered().items()):
        size = len(body.encode("utf-8"))
        how = "inline" if size <= DEPLOY_BODY_LIMIT else "through S3 (`--s3-bucket`)"
        lines.append(f"| `build/{name}` | {size:,} | {how} |")
    return "\n".join(lines)


def lite_cost(root: Path) -> str:
    import json

    from . import cost

    templates = {name.removesuffix(".json"): json.loads(body) for name, body in _rendered().items()}
    prices = cost.load_prices("us-east-1")
    totals = {title: total for title, _, _, _, total in cost.scenario_rows(templates, prices, cost.Assumptions())}
    return (
        f"At us-east-1 list prices of {prices['meta']['date']}, this lite stack costs about "
        f"{totals['lite, public Grafana ALB']} USD a month with its public Grafana ALB, "
        f"{totals['lite, no ALB']} without it (`GrafanaExposure=none`, reached through ECS Exec), "
        f"{totals['lite, no ALB, active hours']} with that and `ActiveHours=scheduled`."
    )


SECTIONS: dict[str, Callable[[Path], str]] = {
    "services": services_table,
    "cost": cost_table,
    "lite-cost": lite_cost,
    "sizes": sizes_table,
}
# The pages with generated sections; each section stands in exactly one of them.
PAGES = ("README.md", "docs/deploying.md", "docs/operating.md", "docs/reference.md")


def _pattern(name: str) -> re.Pattern:
    return re.compile(rf"(<!-- generated: {name} -->\n)(?:.*?\n)?(<!-- end: {name} -->)", re.S)


def render(text: str, root: Path) -> str:
    """`text` with every generated section it holds replaced by its current rendering."""
    for name, make in SECTIONS.items():
        pattern = _pattern(name)
        if pattern.search(text):
            text = pattern.sub(lambda match: match.group(1) + make(root) + "\n" + match.group(2), text)  # noqa: B023
    return text


def render_pages(root: Path) -> dict[str, str]:
    """Page -> its text with every section current; every section must stand in one page."""
    pages = {page: (root / page).read_text(encoding="utf-8") for page in PAGES}
    for name in SECTIONS:
        holders = [page for page, text in pages.items() if _pattern(name).search(text)]
        if len(holders) != 1:
            raise ValueError(f"the '<!-- generated: {name} -->' section stands in {len(holders)} pages, not one.")
    return {page: render(text, root) for page, text in pages.items()}


def main() -> int:
    root = project_root()
    changed = []
    for page, text in render_pages(root).items():
        if (root / page).read_text(encoding="utf-8") != text:
            (root / page).write_text(text, encoding="utf-8")
            changed.append(page)
    print(
        f"rewrote the generated sections of {', '.join(changed)}" if changed else "the generated sections are current"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
