"""The template evaluator (templates_py/evaluate.py) the cost report, the
first-deploy checks and the routing test stand on: each intrinsic it decides."""

from __future__ import annotations

import pytest

from templates_py.evaluate import evaluate, exists, parameter_values, resolve

TEMPLATE = {
    "Parameters": {
        "Mode": {"Type": "String", "Default": "a"},
        "Name": {"Type": "String", "Default": ""},
        "Size": {"Type": "String", "Default": "512"},
    },
    "Conditions": {
        "IsA": {"Fn::Equals": [{"Ref": "Mode"}, "a"]},
        "HasName": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Name"}, ""]}]},
        "Both": {"Fn::And": [{"Condition": "IsA"}, {"Condition": "HasName"}]},
        "Either": {"Fn::Or": [{"Condition": "IsA"}, {"Condition": "HasName"}]},
    },
    "Resources": {
        "Always": {
            "Type": "X",
            "Properties": {
                "P": {"Fn::If": ["IsA", {"Ref": "Size"}, {"Ref": "AWS::NoValue"}]},
                "L": [{"Fn::If": ["HasName", "n", {"Ref": "AWS::NoValue"}]}, "k"],
            },
        },
        "OnlyBoth": {"Type": "X", "Condition": "Both"},
    },
}


@pytest.mark.parametrize(
    "values, is_a, has_name, both, either",
    [
        ({}, True, False, False, True),
        ({"Mode": "b"}, False, False, False, False),
        ({"Name": "x"}, True, True, True, True),
        ({"Mode": "b", "Name": "x"}, False, True, False, True),
    ],
)
def test_conditions(values, is_a, has_name, both, either):
    got = [evaluate({"Condition": name}, TEMPLATE, values) for name in ("IsA", "HasName", "Both", "Either")]
    assert got == [is_a, has_name, both, either]
    assert exists("OnlyBoth", TEMPLATE, values) is both and exists("Always", TEMPLATE, values)


def test_refs_take_the_given_value_else_the_default():
    assert evaluate({"Ref": "Size"}, TEMPLATE, {}) == "512"
    assert evaluate({"Ref": "Size"}, TEMPLATE, {"Size": "1024"}) == "1024"
    assert parameter_values(TEMPLATE, {"Mode": "b"}) == {"Mode": "b", "Name": "", "Size": "512"}


def test_if_picks_a_branch_and_novalue_disappears():
    properties = TEMPLATE["Resources"]["Always"]["Properties"]
    assert resolve(properties, TEMPLATE, {}) == {"P": "512", "L": ["k"]}
    assert resolve(properties, TEMPLATE, {"Mode": "b", "Name": "x"}) == {"L": ["n", "k"]}
    assert resolve(properties, TEMPLATE, {}, parameters=False) == {"P": {"Ref": "Size"}, "L": ["k"]}


def test_rule_contains():
    assert evaluate({"Fn::Contains": [["512", "1024"], {"Ref": "Size"}]}, TEMPLATE, {}) is True
    assert evaluate({"Fn::Contains": [["512", "1024"], {"Ref": "Size"}]}, TEMPLATE, {"Size": "2048"}) is False


def test_other_intrinsics_are_left_as_they_are():
    node = {"Fn::GetAtt": ["Always", "Arn"]}
    assert evaluate(node, TEMPLATE, {}) == node and resolve(node, TEMPLATE, {}) == node


def test_a_parameter_on_either_side_takes_the_given_value():
    """Fn::Equals with the parameter second, Fn::Contains with parameters in the list."""
    assert evaluate({"Fn::Equals": ["1024", {"Ref": "Size"}]}, TEMPLATE, {"Size": "1024"}) is True
    assert evaluate({"Fn::Equals": ["512", {"Ref": "Size"}]}, TEMPLATE, {"Size": "1024"}) is False
    assert evaluate({"Fn::Contains": [[{"Ref": "Mode"}, {"Ref": "Size"}], "2048"]}, TEMPLATE, {"Size": "2048"}) is True


def test_a_template_without_parameters():
    """The Parameters section is optional: a Ref to anything else is left as it is."""
    template = {
        "Conditions": {"Yes": {"Fn::Equals": ["a", "a"]}},
        "Resources": {"T": {"Type": "X", "Condition": "Yes", "Properties": {"P": {"Ref": "AWS::Region"}}}},
    }
    assert parameter_values(template, {}) == {}
    assert evaluate({"Ref": "AWS::Region"}, template, {}) == {"Ref": "AWS::Region"}
    assert resolve(template["Resources"]["T"]["Properties"], template, {}) == {"P": {"Ref": "AWS::Region"}}
    assert exists("T", template, {}) is True


def test_imported_exports_are_the_names_after_the_stack_parameter():
    from templates_py.evaluate import imported_exports

    template = {
        "Resources": {
            "A": {"Properties": {"X": {"Fn::ImportValue": {"Fn::Sub": "${FoundationsStackName}-AppBucketName"}}}},
            "B": {
                "Properties": {
                    "List": [
                        {"Fn::ImportValue": {"Fn::Sub": "${LiteStackName}-VpcId"}},
                        [{"Fn::ImportValue": {"Fn::Sub": "${FoundationsStackName}-FileSystemId"}}],
                    ],
                    "Plain": {"Fn::ImportValue": "literal-name"},
                    "Other": {"Fn::Sub": "${FoundationsStackName}-NotAnImport"},
                }
            },
        }
    }
    assert imported_exports(template, "FoundationsStackName") == {"AppBucketName", "FileSystemId"}
    assert imported_exports(template, "LiteStackName") == {"VpcId"}
    assert imported_exports({"Resources": {}}, "LiteStackName") == set()


def test_the_rendered_stacks_import_what_exports_names(templates):
    """Every name a stack imports from foundations is one the foundations stack exports."""
    from templates_py.evaluate import imported_exports

    exported = set(templates["foundations"]["Outputs"])
    for profile in ("lite", "lite-pipeline", "full"):
        names = imported_exports(templates[profile], "FoundationsStackName")
        assert names and names <= exported, profile
    assert imported_exports(templates["lite-pipeline"], "LiteStackName") <= set(templates["lite"]["Outputs"])
