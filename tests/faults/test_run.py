"""`make template-faults` stays in step with the source: every fault applies to
today's code exactly once, and a planted edit changes the render."""

from __future__ import annotations

from tests.faults import run


def test_every_fault_applies_to_the_source_once():
    assert run.stale() == []


def test_a_stale_fault_is_reported(tmp_path):
    (tmp_path / "x.py").write_text("a = 1\na = 1\n")
    moved = run.Fault("twice", "kind", "x.py", "a = 1", "a = 2")
    gone = run.Fault("gone", "kind", "x.py", "b = 1", "b = 2")
    assert run.stale([moved, gone], tmp_path) == [
        "twice: x.py holds its text 2 times, not once",
        "gone: x.py holds its text 0 times, not once",
    ]


def test_faults_are_distinct_and_named():
    assert len({fault.name for fault in run.FAULTS}) == len(run.FAULTS)
    assert all(fault.old != fault.new and fault.kind for fault in run.FAULTS)


def test_the_first_failing_test_is_the_catcher():
    output = "F.\n=== short test summary info ===\nFAILED tests/templates/test_a.py::test_b[x] - Assert\nFAILED t::c\n"
    assert run.first_failure(output) == "tests/templates/test_a.py::test_b[x]"
    assert run.first_failure("2 passed in 1.0s") is None
