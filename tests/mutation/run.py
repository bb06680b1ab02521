"""`make mutants`: mutation testing with mutmut over the code whose faults matter
most (the Lambdas, Grafana provisioning, the operations code, the template
evaluator), group by group, each against the tests that exercise it.

Each group runs in a copy of the project in build/mutants/<group>/ (mutmut
writes its mutants/ folder there; `mutmut show NAME` in that folder shows a
mutant), and the report prints killed / survived / timeout (and the other
mutmut outcomes) per module. Survivors listed in tests/mutation/equivalent.txt
(one line each: mutant name, then why it is equivalent) do not count against
the score; every other survivor is printed, so that a test can kill it.

    python -m tests.mutation.run [--report | --resume | --survivors] [GROUP ...]
        (groups: lambdas agent provider grafana ops evaluate)
    python -m tests.mutation.run GROUP --only PATTERN ...  (again, in the group's last copy, with the
        current files: only the mutants whose names match, such as 'streamlines.preflight.x_in_zone*')
    python -m tests.mutation.run GROUP --sample N --only PATTERN ...  (a seeded random N of those: an
        estimate of the score where the whole run takes too long)
"""

from __future__ import annotations

import fnmatch
import json
import random
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EQUIVALENT = Path(__file__).with_name("equivalent.txt")
MUTMUT = Path(sys.executable).with_name("mutmut")

# group -> (modules to mutate, the tests that exercise them). The Lambdas are in
# three groups so that each module runs against its own function's tests only
# (the token provider's tests reach the agent too, but take seconds each).
GROUPS = {
    "lambdas": (
        [
            "lambdas/shared/wire.py",
            "lambdas/shared/connections_table.py",
            "lambdas/results_stream_pusher/delivery.py",
            "lambdas/results_stream_pusher/results_pusher.py",
            "lambdas/websocket_connection_handler/connection_handler.py",
            "lambdas/websocket_connection_handler/subscriptions.py",
        ],
        ["lambdas/shared", "lambdas/results_stream_pusher", "lambdas/websocket_connection_handler"],
    ),
    "agent": (
        [
            "lambdas/influx_token_agent/influx_tokens.py",
            "lambdas/influx_token_agent/token_agent.py",
            "lambdas/influx_token_agent/probes.py",
        ],
        ["lambdas/influx_token_agent"],
    ),
    "provider": (["lambdas/influx_token_provider/token_provider.py"], ["lambdas/influx_token_provider"]),
    "grafana": (["grafana/provision.py"], ["tests/grafana", "tests/doubles"]),
    "ops": (
        [
            "streamlines/preflight.py",
            "streamlines/residue.py",
            "streamlines/cost/__init__.py",
            "streamlines/deploy.py",
            "streamlines/packaging.py",
            "streamlines/images.py",
            "streamlines/smoke.py",
        ],
        ["tests/ops"],
    ),
    "evaluate": (
        ["templates_py/evaluate.py"],
        ["tests/templates/test_evaluate.py", "tests/templates/test_routing.py", "tests/templates/test_first_deploy.py"],
    ),
}
FLAT = {"lambdas", "agent", "provider"}
# The seed of --sample: the same sample every time, so that a rerun after new tests checks the same mutants.
SEED = 14
# mutmut's outcomes that count as the suite catching the fault.
KILLED = {"killed", "timeout"}
SKIPPED = {"no tests", "skipped", "not checked", "suspicious"}


def equivalent() -> dict[str, str]:
    """Mutant name -> why it changes nothing observable."""
    found = {}
    if EQUIVALENT.exists():
        for line in EQUIVALENT.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                name, _, reason = line.partition(" ")
                found[name] = reason.strip()
    return found


def tracked_copy(target: Path) -> None:
    files = (
        subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    )
    for name in filter(None, files):
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, destination)


def run_group(name: str, work: Path, only: list[str] = (), keep: bool = False) -> dict[str, Counter]:
    """Mutate and test the group in `work`. With `keep`, in the copy of an earlier run,
    refreshed with the current files, keeping mutmut's results: mutmut then runs the
    mutants not checked yet and those of functions that changed, or with `only`,
    just the mutants matching those patterns."""
    paths, tests = GROUPS[name]
    tracked_copy(work)
    prepare(name, work, paths, tests)
    log = work / "mutmut.log"
    with log.open("a" if keep else "w") as output:
        subprocess.run(
            [str(MUTMUT), "run", "--max-children", "2", *only], cwd=work, stdout=output, stderr=subprocess.STDOUT
        )
    return read_results(work)


def prepare(name: str, work: Path, paths: list[str], tests: list[str]) -> None:
    if name in FLAT:
        # The Lambdas are flat modules (`import wire`, as in their zips): mutmut
        # names a mutant after its file's path, so they are mutated from copies at
        # the project root, which comes before lambdas/<function>/ on sys.path.
        for path in paths:
            shutil.copy2(work / path, work / Path(path).name)
        paths = [Path(path).name for path in paths]
    with (work / "pyproject.toml").open("a", encoding="utf-8") as config:
        config.write("\n[tool.mutmut]\n")
        config.write(f"source_paths = {json.dumps(paths)}\n")
        config.write(f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n")
        config.write(
            'also_copy = ["tests", "lambdas", "contracts", "grafana", "streamlines", "templates_py", "deploy", '
            '"docs", "README.md", "Makefile"]\n'
        )


def statuses(work: Path) -> dict[str, str]:
    """Mutant name -> mutmut's outcome ("killed", "survived", "not checked", ...) in `work`."""
    listed = subprocess.run([str(MUTMUT), "results", "--all", "true"], cwd=work, capture_output=True, text=True).stdout
    found = {}
    for line in listed.splitlines():
        mutant, _, status = line.strip().rpartition(": ")
        if mutant:
            found[mutant] = status.strip()
    return found


def sample(work: Path, patterns: list[str], size: int) -> tuple[list[str], list[str]]:
    """A seeded random `size` of the mutants matching `patterns` (the same ones every
    time), and those of them not checked yet."""
    known = statuses(work)
    matching = sorted(m for m in known if any(fnmatch.fnmatch(m, p) for p in patterns))
    chosen = sorted(random.Random(SEED).sample(matching, min(size, len(matching))))
    return chosen, [m for m in chosen if known[m] == "not checked"]


def unlisted_survivors(work: Path, known: dict[str, str]) -> list[str]:
    """The survivors in `work` not listed as equivalent. mutmut runs a checked mutant again
    only when its function changes, so after a new test these are run by name."""
    return sorted(m for m, status in statuses(work).items() if status == "survived" and m not in known)


def read_results(work: Path, restrict: set[str] | None = None) -> dict:
    """Outcomes per module, survivors, and each mutant's outcome, from mutmut's results
    in `work` (of the mutants in `restrict` only, when given)."""
    outcomes: dict[str, Counter] = {}
    survivors: dict[str, list[str]] = {}
    found = {m: s for m, s in statuses(work).items() if restrict is None or m in restrict}
    for mutant, status in found.items():
        module = mutant.split(".x_")[0].split(".xǁ")[0]
        outcomes.setdefault(module, Counter())[status] += 1
        if status == "survived":
            survivors.setdefault(module, []).append(mutant)
    return {"outcomes": outcomes, "survivors": survivors, "statuses": found}


def stale(known: dict[str, str], found: dict[str, str]) -> list[str]:
    """Listed equivalents that no longer survive (killed, or gone when their function
    changed): their line names another mutant, or none, and should go."""
    functions = {mutant.rsplit("__mutmut_", 1)[0] for mutant in found}
    return sorted(
        name for name in known if name.rsplit("__mutmut_", 1)[0] in functions and found.get(name) != "survived"
    )


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tests.mutation.run", description="mutation scores per module")
    parser.add_argument("groups", nargs="*", metavar="GROUP", help=f"some of: {', '.join(GROUPS)} (default: all)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--report", action="store_true", help="print the scores of the last run without running")
    mode.add_argument(
        "--resume",
        action="store_true",
        help="go on with the last run, in its copy refreshed with the current files: mutants not checked yet, "
        "or of a function that changed",
    )
    mode.add_argument(
        "--survivors",
        action="store_true",
        help="after new tests: run again, in the last run's refreshed copy, the survivors not listed as equivalent",
    )
    mode.add_argument(
        "--only",
        nargs="+",
        metavar="PATTERN",
        default=[],
        help="run again, in the last run's refreshed copy, only the mutants whose names match",
    )
    parser.add_argument(
        "--sample",
        type=int,
        metavar="N",
        help="with --only: a seeded random N of the matching mutants (those not checked yet are run), and the "
        "scores of that sample",
    )
    arguments = parser.parse_args(argv)
    if arguments.sample is not None and (not arguments.only or arguments.sample < 1):
        print("--sample N takes a positive N and goes with --only PATTERN.", file=sys.stderr)
        return 2
    chosen = arguments.groups or list(GROUPS)
    unknown = [g for g in chosen if g not in GROUPS]
    if unknown:
        print(f"no group {unknown[0]}; groups: {', '.join(GROUPS)}", file=sys.stderr)
        return 2
    if arguments.only and len(arguments.groups) != 1:
        print("--only takes one group, named before it.", file=sys.stderr)
        return 2
    known = equivalent()
    if arguments.only or arguments.resume or arguments.report or arguments.survivors:
        missing = [g for g in chosen if not (ROOT / "build" / "mutants" / g / "mutants").is_dir()]
        if missing:
            print(
                f"no earlier run of {missing[0]} in build/mutants/{missing[0]}; run the whole group once first.",
                file=sys.stderr,
            )
            return 2
    print(f"{'module':<58} {'killed':>7} {'survived':>9} {'timeout':>8} {'equivalent':>11} {'other':>6} {'score':>7}")
    for group in chosen:
        scratch = ROOT / "build" / "mutants" / group
        if arguments.report:
            result = read_results(scratch)
        elif arguments.sample:
            chosen, unchecked = sample(scratch, arguments.only, arguments.sample)
            print(
                f"a sample of {len(chosen)} mutants matching {' '.join(arguments.only)} (seed {SEED}); "
                f"{len(unchecked)} "
                "of them not checked yet, run now"
            )
            if unchecked:
                run_group(group, scratch, unchecked, keep=True)
            result = read_results(scratch, set(chosen))
        elif arguments.survivors:
            again = unlisted_survivors(scratch, known)
            print(f"{group}: {len(again)} survivors not listed as equivalent, run again")
            result = run_group(group, scratch, again, keep=True) if again else read_results(scratch)
        elif arguments.only or arguments.resume:
            result = run_group(group, scratch, arguments.only, keep=True)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
            scratch.mkdir(parents=True)
            result = run_group(group, scratch)
        for module, counts in sorted(result["outcomes"].items()):
            survivors = result["survivors"].get(module, [])
            excused = [s for s in survivors if s in known]
            killed, timeout = counts["killed"], counts["timeout"]
            other = sum(n for status, n in counts.items() if status not in ("killed", "survived", "timeout"))
            counted = killed + timeout + len(survivors) - len(excused)
            score = f"{100 * (killed + timeout) / counted:.1f}%" if counted else "-"
            print(f"{module:<58} {killed:>7} {len(survivors):>9} {timeout:>8} {len(excused):>11} {other:>6} {score:>7}")
            for survivor in survivors:
                if survivor not in known:
                    print(f"    survived: {survivor}")
        for name in [] if arguments.sample else stale(known, result["statuses"]):
            print(f"    listed as equivalent, but no longer survives: {name} (check it in {EQUIVALENT.name})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
