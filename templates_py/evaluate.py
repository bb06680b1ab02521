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
            name = node.get("Fn::ImportValue")
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


def parameter_refusals(template: dict, values: dict[str, str]) -> list[str]:
    """Why CloudFormation would refuse these parameter values before any change:
    a value outside AllowedValues, not matching AllowedPattern (the whole value),
    not a number for a Number, outside MinValue/MaxValue or MinLength/MaxLength.
    One sentence each, naming the parameter and what it allows.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html"""
    import math
    import re

    refusals = []
    parameters = template.get("Parameters", {})
    for name, value in values.items():
        if name not in parameters:
            continue
        spec = parameters[name]
        allows = spec.get("ConstraintDescription")
        if spec.get("Type") == "Number":
            # Digits only (no inf, nan or exponent), and a size a float holds.
            if not re.fullmatch(r"-?\d+(\.\d+)?", value) or not math.isfinite(float(value)):
                refusals.append(f"{name}={value!r} is not a number.")
                continue
            number = float(value)
            low, high = spec.get("MinValue"), spec.get("MaxValue")
            if (low is not None and number < float(low)) or (high is not None and number > float(high)):
                refusals.append(f"{name}={value} is outside {low} to {high}.")
                continue
        if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
            refusals.append(f"{name}={value!r} is not one of {', '.join(map(str, spec['AllowedValues']))}.")
            continue
        if "AllowedPattern" in spec and re.fullmatch(spec["AllowedPattern"], value) is None:
            refusals.append(f"{name}={value!r} is refused: {allows or 'it must match ' + spec['AllowedPattern']}")
            continue
        low, high = spec.get("MinLength"), spec.get("MaxLength")
        if (low is not None and len(value) < int(low)) or (high is not None and len(value) > int(high)):
            refusals.append(f"{name} must be {low or 0} to {high} characters long.")
    return refusals


def broken_rules(template: dict, values: dict[str, str]) -> list[str]:
    """The AssertDescriptions of the template's Rules that these values break."""
    broken = []
    for rule in template.get("Rules", {}).values():
        if "RuleCondition" in rule and not evaluate(rule["RuleCondition"], template, values):
            continue
        for assertion in rule["Assertions"]:
            if not evaluate(assertion["Assert"], template, values):
                broken.append(assertion["AssertDescription"])
    return broken
