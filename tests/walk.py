"""Small helpers to walk rendered templates in tests."""

from __future__ import annotations

from typing import Any, Iterator

from templates_py.evaluate import evaluate, exists  # noqa: F401  (re-exported for the tests)
from templates_py.evaluate import resolve as _resolve


def nodes(value: Any) -> Iterator[Any]:
    """Every dict, list and scalar inside `value`, depth first."""
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from nodes(item)
    elif isinstance(value, list):
        for item in value:
            yield from nodes(item)


def resources(template: dict, resource_type: str | None = None) -> Iterator[tuple[str, dict]]:
    for logical_id, resource in sorted(template["Resources"].items()):
        if resource_type is None or resource["Type"] == resource_type:
            yield logical_id, resource


def policy_statements(template: dict) -> Iterator[tuple[str, dict]]:
    """(logical ID, statement) for every IAM-style statement anywhere in the template."""
    for logical_id, resource in resources(template):
        for node in nodes(resource.get("Properties", {})):
            if isinstance(node, dict) and "Statement" in node and isinstance(node["Statement"], list):
                for statement in node["Statement"]:
                    yield logical_id, statement


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def resolve(value: Any, template: dict, values: dict[str, str]) -> Any:
    """Fn::If decided for the given values; Refs to parameters kept, so tests see which parameter feeds what."""
    return _resolve(value, template, values, parameters=False)


def grants(template: dict, role_id: str) -> set[tuple[str, str]]:
    """(action, resource) pairs a role's inline policies allow, resources as compact strings."""
    import json

    pairs = set()
    for policy in template["Resources"][role_id]["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            for action in as_list(statement["Action"]):
                for resource in as_list(statement["Resource"]):
                    pairs.add((action, resource if isinstance(resource, str) else json.dumps(resource, sort_keys=True)))
    return pairs
