"""The mutation runner's own inputs: the equivalents list and its arguments
(the runs themselves take an hour; `make mutants`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from . import run


def module_names() -> set[str]:
    """The module part of the mutant names mutmut gives each group's files."""
    names = set()
    for group, (paths, _) in run.GROUPS.items():
        for path in paths:
            if group in run.FLAT:
                names.add(Path(path).stem)
            else:
                names.add(path.removesuffix(".py").removesuffix("/__init__").replace("/", "."))
    return names


def listed() -> list[tuple[str, str]]:
    return [
        tuple(line.partition(" ")[::2])
        for line in run.EQUIVALENT.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]


def test_each_equivalent_names_a_mutant_of_a_mutated_module_once_with_a_reason():
    modules = module_names()
    entries = listed()
    assert entries, "the list is read"
    for name, reason in entries:
        module, marker, _ = re.split(r"\.(xǁ|x_)", name, maxsplit=1)
        assert module in modules, f"{name}: no group mutates {module}"
        assert re.search(r"__mutmut_\d+$", name), f"{name} is not a mutmut mutant name"
        reference = re.match(r"As _(\d+)\b", reason)
        if reference:  # "As _24.": for the reason given for mutant 24 of the same function
            assert re.sub(r"\d+$", reference[1], name) in dict(entries), (
                f"{name}: {reason} refers to a mutant not listed"
            )
        else:
            assert len(reason.split()) >= 3, f"{name}: say why it is equivalent"
    names = [name for name, _ in entries]
    assert len(names) == len(set(names)), "listed twice"
    assert run.equivalent() == dict(entries)


@pytest.mark.parametrize(
    "argv",
    [["ops", "--only"], ["ops", "--report", "--only", "x*"], ["--resume", "--report"], ["--survivors", "--resume"]],
)
def test_the_modes_exclude_each_other_and_only_needs_patterns(argv):
    with pytest.raises(SystemExit) as exited:
        run.main(argv)
    assert exited.value.code == 2


@pytest.mark.parametrize("argv", [["--only", "x*"], ["ops", "agent", "--only", "x*"]])
def test_only_takes_one_group(argv, capsys):
    assert run.main(argv) == 2
    assert capsys.readouterr().err == "--only takes one group, named before it.\n"


def test_an_unknown_group_is_named(capsys):
    assert run.main(["nope"]) == 2
    assert capsys.readouterr().err == "no group nope; groups: lambdas, agent, provider, grafana, ops, evaluate\n"


@pytest.mark.parametrize("mode", [["--only", "streamlines.preflight*"], ["--resume"], ["--report"], ["--survivors"]])
def test_going_on_needs_an_earlier_run(tmp_path, monkeypatch, capsys, mode):
    monkeypatch.setattr(run, "ROOT", tmp_path)
    assert run.main(["ops", *mode]) == 2
    assert capsys.readouterr().err == "no earlier run of ops in build/mutants/ops; run the whole group once first.\n"


def test_a_sample_is_the_same_every_time_and_runs_only_what_is_not_checked(monkeypatch):
    known = {f"streamlines.residue.x_f__mutmut_{n}": ("killed" if n % 3 else "not checked") for n in range(1, 101)}
    known["streamlines.preflight.x_g__mutmut_1"] = "not checked"
    monkeypatch.setattr(run, "statuses", lambda work: known)
    chosen, unchecked = run.sample(Path("."), ["streamlines.residue*"], 30)
    assert len(chosen) == 30 and set(chosen) <= {k for k in known if ".residue." in k}
    assert (chosen, unchecked) == run.sample(Path("."), ["streamlines.residue*"], 30)
    assert unchecked == [m for m in chosen if known[m] == "not checked"] and unchecked
    # More than there are: all of them.
    assert len(run.sample(Path("."), ["streamlines.preflight*"], 30)[0]) == 1


@pytest.mark.parametrize("argv", [["ops", "--sample", "5"], ["ops", "--sample", "0", "--only", "x*"]])
def test_a_sample_needs_a_size_and_patterns(argv, capsys):
    assert run.main(argv) == 2
    assert capsys.readouterr().err == "--sample N takes a positive N and goes with --only PATTERN.\n"


def test_survivors_runs_again_only_those_not_listed_as_equivalent(tmp_path, monkeypatch, capsys):
    (tmp_path / "build" / "mutants" / "ops" / "mutants").mkdir(parents=True)
    monkeypatch.setattr(run, "ROOT", tmp_path)
    listed = "streamlines.residue.x_f__mutmut_1"
    monkeypatch.setattr(run, "equivalent", lambda: {listed: "changes nothing"})
    known = {
        listed: "survived",
        "streamlines.residue.x_f__mutmut_2": "survived",
        "streamlines.residue.x_f__mutmut_3": "killed",
        "streamlines.smoke.x_g__mutmut_9": "survived",
        "streamlines.smoke.x_g__mutmut_4": "not checked",
    }
    monkeypatch.setattr(run, "statuses", lambda work: known)
    ran = []
    monkeypatch.setattr(
        run,
        "run_group",
        lambda group, work, only=(), keep=False: ran.append((group, list(only), keep)) or run.read_results(work),
    )
    assert run.main(["ops", "--survivors"]) == 0
    assert ran == [("ops", ["streamlines.residue.x_f__mutmut_2", "streamlines.smoke.x_g__mutmut_9"], True)]
    assert "ops: 2 survivors not listed as equivalent, run again" in capsys.readouterr().out
    # None left: nothing is run (mutmut run without names would run every mutant not checked).
    known.update({"streamlines.residue.x_f__mutmut_2": "killed", "streamlines.smoke.x_g__mutmut_9": "killed"})
    assert run.main(["ops", "--survivors"]) == 0 and len(ran) == 1


def test_a_listed_equivalent_that_no_longer_survives_is_named():
    """A changed function renumbers its mutants: a line may then name a killed mutant, or none."""
    known = {
        "m.x_f__mutmut_1": "same",
        "m.x_f__mutmut_2": "same",
        "m.x_f__mutmut_9": "same",
        "m.x_g__mutmut_1": "same",
        "other.x_h__mutmut_1": "not in this group",
    }
    found = {
        "m.x_f__mutmut_1": "survived",
        "m.x_f__mutmut_2": "killed",
        "m.x_g__mutmut_1": "survived",
        "m.x_g__mutmut_2": "killed",
    }
    assert run.stale(known, found) == ["m.x_f__mutmut_2", "m.x_f__mutmut_9"]
