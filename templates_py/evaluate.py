"""Evaluate a rendered template for given parameter values: conditions, Rule
assertions (Fn::Contains), Fn::If, Refs to parameters. Used by the cost report and the tests; not a CloudFormation
emulator (intrinsics other than these stay as they are)."""

from __future__ import annotations

from typing import Any

NO_VALUE = {"Ref": "AWS::NoValue"}


def parameter_values(template: dict, values: dict[str, str]) -> dict[str, str]:
    """Every parameter's value: the given one, else its default."""
    result = {name: p.get("Default") for name, p in template.get("Parameters", {}).items()}
    result.update(values)
    return result


def evaluate(condition: Any, template: dict, values: dict[str, str]) -> Any:
    """A condition (or a plain value) for the given parameter values; defaults elsewhere."""
    parameters = template.get("Parameters", {})
    if isinstance(condition, dict) and "Ref" in condition and condition["Ref"] in parameters:
        return values.get(condition["Ref"], parameters[condition["Ref"]].get("Default"))
    if isinstance(condition, dict) and "Condition" in condition:
        return evaluate(template["Conditions"][condition["Condition"]], template, values)
    if isinstance(condition, dict) and len(condition) == 1:
        ((function, arguments),) = condition.items()
        if function == "Fn::Equals":
            return evaluate(arguments[0], template, values) == evaluate(arguments[1], template, values)
        if function == "Fn::Not":
            return not evaluate(arguments[0], template, values)
        if function == "Fn::And":
            return all(evaluate(a, template, values) for a in arguments)
        if function == "Fn::Or":
            return any(evaluate(a, template, values) for a in arguments)
        if function == "Fn::Contains":  # Rules only: is the value in the list?
            return evaluate(arguments[1], template, values) in [evaluate(a, template, values) for a in arguments[0]]
    return condition


def resolve(value: Any, template: dict, values: dict[str, str], parameters: bool = True) -> Any:
    """`value` with every Fn::If decided (AWS::NoValue dropped) and, unless
    `parameters` is false, every Ref to a parameter replaced by its value."""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Fn::If"}:
                name, when_true, when_false = node["Fn::If"]
                return walk(when_true if evaluate({"Condition": name}, template, values) else when_false)
            if parameters and set(node) == {"Ref"} and node["Ref"] in template.get("Parameters", {}):
                return evaluate(node, template, values)
            resolved = {key: walk(item) for key, item in node.items()}
            return {key: item for key, item in resolved.items() if item != NO_VALUE}
        if isinstance(node, list):
            items = [walk(item) for item in node]
            return [item for item in items if item != NO_VALUE]
        return node

    return walk(value)


def exists(logical_id: str, template: dict, values: dict[str, str]) -> bool:
    """Whether the resource is created for the given parameter values."""
    condition = template["Resources"][logical_id].get("Condition")
    return condition is None or bool(evaluate({"Condition": condition}, template, values))


def imported_exports(template: dict, stack_parameter: str) -> set[str]:
    """The export names the template imports from the stack its `stack_parameter`
    names: every `Fn::ImportValue` of `${<stack_parameter>}-<Name>`, found by
    walking the template (blocks.parameters.import_value is the only way a stack
    writes one)."""
    prefix = "${%s}-" % stack_parameter
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            name = node.get("Fn::ImportValue", {})
            text = name.get("Fn::Sub") if isinstance(name, dict) else None
            if isinstance(text, str) and text.startswith(prefix):
                found.add(text[len(prefix) :])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(template)
    return found
