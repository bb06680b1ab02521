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


PARAMETERS = {
    "Parameters": {
        "Count": {"Type": "Number", "MinValue": 1, "MaxValue": 64},
        "Free": {"Type": "Number"},
        "Mode": {"Type": "String", "AllowedValues": ["on", "off"]},
        "Cidr": {"Type": "String", "AllowedPattern": r"^\d+\.\d+$", "ConstraintDescription": "two numbers, dotted."},
        "Bare": {"Type": "String", "AllowedPattern": "^[a-z]+$"},
        "Sized": {"Type": "String", "MinLength": 2, "MaxLength": 4},
        "Short": {"Type": "String", "MaxLength": 3},
    }
}


@pytest.mark.parametrize(
    "values, refusals",
    [
        ({"Count": "1", "Free": "-7.5", "Mode": "on", "Cidr": "10.2", "Bare": "ab", "Sized": "ab", "Other": "x"}, []),
        ({"Count": "64", "Sized": "abcd", "Short": ""}, []),
        ({"Count": "lots"}, ["Count='lots' is not a number."]),
        ({"Count": "nan"}, ["Count='nan' is not a number."]),
        ({"Free": "1e999"}, ["Free='1e999' is not a number."]),
        (
            {"Free": "99999999999999999999999999999999999999" * 9},
            ["Free=" + repr("99999999999999999999999999999999999999" * 9) + " is not a number."],
        ),
        ({"Count": "0"}, ["Count=0 is outside 1 to 64."]),
        ({"Count": "65"}, ["Count=65 is outside 1 to 64."]),
        ({"Count": "64.5"}, ["Count=64.5 is outside 1 to 64."]),
        ({"Mode": "sideways"}, ["Mode='sideways' is not one of on, off."]),
        ({"Cidr": "x"}, ["Cidr='x' is refused: two numbers, dotted."]),
        ({"Bare": "A1"}, ["Bare='A1' is refused: it must match ^[a-z]+$"]),
        ({"Bare": "ab\n"}, ["Bare='ab\\n' is refused: it must match ^[a-z]+$"]),
        ({"Sized": "a"}, ["Sized must be 2 to 4 characters long."]),
        ({"Sized": "abcde"}, ["Sized must be 2 to 4 characters long."]),
        ({"Short": "abcd"}, ["Short must be 0 to 3 characters long."]),
        ({"Mode": "x", "Count": "0"}, ["Mode='x' is not one of on, off.", "Count=0 is outside 1 to 64."]),
        # Each refusal, then the next value is still checked.
        ({"Other": "x", "Mode": "x"}, ["Mode='x' is not one of on, off."]),
        ({"Count": "lots", "Mode": "x"}, ["Count='lots' is not a number.", "Mode='x' is not one of on, off."]),
        ({"Count": "0", "Mode": "x"}, ["Count=0 is outside 1 to 64.", "Mode='x' is not one of on, off."]),
        (
            {"Cidr": "x", "Sized": "a"},
            ["Cidr='x' is refused: two numbers, dotted.", "Sized must be 2 to 4 characters long."],
        ),
        ({"Sized": "a", "Mode": "x"}, ["Sized must be 2 to 4 characters long.", "Mode='x' is not one of on, off."]),
    ],
)
def test_parameter_refusals_say_what_cloudformation_would_refuse(values, refusals):
    from templates_py.evaluate import parameter_refusals

    assert parameter_refusals(PARAMETERS, values) == refusals


def test_a_template_without_parameters_refuses_nothing():
    from templates_py.evaluate import parameter_refusals

    assert parameter_refusals({"Resources": {}}, {"Anything": "x"}) == []


def test_broken_rules_are_every_failed_assertion_of_the_rules_that_apply():
    from templates_py.evaluate import broken_rules

    template = {
        "Parameters": {"A": {"Default": ""}, "B": {"Default": ""}, "C": {"Default": "x"}},
        "Rules": {
            "NotApplying": {
                "RuleCondition": {"Fn::Equals": [{"Ref": "C"}, "y"]},
                "Assertions": [{"Assert": {"Fn::Equals": [{"Ref": "A"}, "never"]}, "AssertDescription": "skipped"}],
            },
            "Applying": {
                "RuleCondition": {"Fn::Equals": [{"Ref": "C"}, "x"]},
                "Assertions": [
                    {"Assert": {"Fn::Not": [{"Fn::Equals": [{"Ref": "A"}, ""]}]}, "AssertDescription": "A is needed"},
                    {"Assert": {"Fn::Equals": [{"Ref": "C"}, "x"]}, "AssertDescription": "holds"},
                    {"Assert": {"Fn::Not": [{"Fn::Equals": [{"Ref": "B"}, ""]}]}, "AssertDescription": "B is needed"},
                ],
            },
            "Always": {"Assertions": [{"Assert": {"Fn::Equals": [{"Ref": "B"}, "b"]}, "AssertDescription": "B is b"}]},
        },
    }
    assert broken_rules(template, {}) == ["A is needed", "B is needed", "B is b"]
    assert broken_rules(template, {"A": "a", "B": "b"}) == []
    assert broken_rules(template, {"C": "y", "B": "b"}) == ["skipped"]
    assert broken_rules({"Resources": {}}, {}) == []
