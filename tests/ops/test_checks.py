"""The one check result that preflight, smoke and Grafana's verification share."""

import pytest

from streamlines.checks import Check, failed


@pytest.mark.parametrize(
    "fields, status",
    [
        ({"ok": True}, "PASS"),
        ({"ok": True, "warn": True}, "WARN"),
        ({"ok": False}, "FAIL"),
        ({"ok": False, "warn": True}, "FAIL"),
        ({"ok": None}, "SKIP"),
    ],
)
def test_a_check_reads_as_one_line_with_its_status(fields, status):
    check = Check(**{"name": "allowed CIDR", "detail": "203.0.113.7/32", **fields})
    assert check.status == status
    assert check.line() == f"{status}  allowed CIDR: 203.0.113.7/32"


@pytest.mark.parametrize(
    "fields",
    [{"ok": "yes"}, {"ok": 1.0}, {"warn": None}, {"detail": ""}, {"name": ""}, {"name": None}, {"detail": 3}],
)
def test_a_check_is_made_of_booleans_and_words(fields):
    with pytest.raises(TypeError, match="a check"):
        Check(**{"name": "n", "ok": True, "detail": "d", **fields})


def test_skipped_checks_are_not_failures():
    checks = [Check("a", True, "fine"), Check("b", False, "broken."), Check("c", None, "not from here.")]
    assert failed(checks) == 1
    assert failed(checks[::2]) == 0
