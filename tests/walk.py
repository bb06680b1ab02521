"""Small helpers to walk rendered templates in tests."""

from __future__ import annotations

from typing import Any, Iterator


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


def evaluate(condition: Any, template: dict, values: dict[str, str]) -> Any:
    """Evaluate a condition (or a plain value) for the given parameter values; defaults elsewhere."""
    parameters = template.get("Parameters", {})
    if isinstance(condition, dict) and "Ref" in condition and condition["Ref"] in parameters:
        return values.get(condition["Ref"], parameters[condition["Ref"]].get("Default"))
    if isinstance(condition, dict) and "Condition" in condition:
        return evaluate(template["Conditions"][condition["Condition"]], template, values)
    if isinstance(condition, dict) and len(condition) == 1:
        (function, arguments), = condition.items()
        if function == "Fn::Equals":
            return evaluate(arguments[0], template, values) == evaluate(arguments[1], template, values)
        if function == "Fn::Not":
            return not evaluate(arguments[0], template, values)
        if function == "Fn::And":
            return all(evaluate(a, template, values) for a in arguments)
        if function == "Fn::Or":
            return any(evaluate(a, template, values) for a in arguments)
    return condition


def resolve(value: Any, template: dict, values: dict[str, str]) -> Any:
    """`value` with every Fn::If decided for the given parameter values."""
    if isinstance(value, dict):
        if set(value) == {"Fn::If"}:
            name, when_true, when_false = value["Fn::If"]
            chosen = when_true if evaluate({"Condition": name}, template, values) else when_false
            return resolve(chosen, template, values)
        resolved = {key: resolve(item, template, values) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item != {"Ref": "AWS::NoValue"}}
    if isinstance(value, list):
        return [resolve(item, template, values) for item in value if item != {"Ref": "AWS::NoValue"}]
    return value


def exists(logical_id: str, template: dict, values: dict[str, str]) -> bool:
    """Whether the resource is created for the given parameter values."""
    condition = template["Resources"][logical_id].get("Condition")
    return condition is None or bool(evaluate({"Condition": condition}, template, values))
