"""The drift canary (`make test-latest`): the suite on the newest releases, against the lock.

`make test-latest` installs the newest releases that pyproject.toml's ranges allow into a throwaway venv
(instead of requirements/lock-py<X.Y>.txt) and runs this file with that venv's Python. It runs pytest,
then prints which installed libraries differ from the lock and which tests failed, so that a new
upstream release shows up as a named event ("sentence-transformers 6.2.0 -> 6.3.0; 4 tests fail")
before anyone's lock moves to it. On GitHub Actions the same summary goes to the job summary.

    .venv-latest/bin/python tools/drift_canary.py --lock requirements/lock-py3.11.txt -- -q

The exit code is pytest's: the canary is red when a test fails on the newest releases.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import sysconfig
import tempfile
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
# not compared: hubrerank itself, pip (the venv's own), and what only the lock's editable install needs
NOT_COMPARED = frozenset({"hubrerank", "pip", "hatchling", "editables", "trove-classifiers"})


@dataclass(frozen=True)
class Drift:
    """One library whose installed version is not the locked one (either side may be absent)."""

    name: str
    locked: str | None
    installed: str | None


@dataclass(frozen=True)
class TestOutcome:
    """What pytest's JUnit XML says: counts, and the node ids of the tests that failed or errored."""

    passed: int
    failed: list[str]
    skipped: int


def normalize(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(text: str) -> dict[str, str]:
    """``name -> version`` of every ``name==version`` pin in a pip-compile lock."""
    pins = {}
    for line in text.splitlines():
        match = _PIN.match(line)
        if match:
            pins[normalize(match.group(1))] = match.group(2)
    return pins


def installed_versions() -> dict[str, str]:
    """``name -> version`` of every distribution installed in the running interpreter's environment: its
    site-packages only, not whatever else is on ``sys.path`` (importing ``pkg_resources`` puts
    setuptools' vendored copies of packaging, wheel and others there, which no one installed)."""
    paths = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    return {normalize(dist.metadata["Name"]): dist.version for dist in metadata.distributions(path=paths)}


def version_drift(locked: dict[str, str], installed: dict[str, str], ignore: frozenset[str]) -> list[Drift]:
    """The libraries whose version differs, sorted by name, but for those in ``ignore``."""
    names = sorted((set(locked) | set(installed)) - ignore)
    return [
        Drift(name, locked.get(name), installed.get(name))
        for name in names
        if locked.get(name) != installed.get(name)
    ]


def read_junit(path: Path) -> TestOutcome:
    """The counts and failed node ids (``file::Class::test``) of a pytest JUnit XML report."""
    passed, skipped, failed = 0, 0, []
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        outcome = {child.tag for child in case}
        if outcome & {"failure", "error"}:
            failed.append(_node_id(case.get("classname", ""), case.get("name", "")))
        elif "skipped" in outcome:
            skipped += 1
        else:
            passed += 1
    return TestOutcome(passed, failed, skipped)


def _node_id(classname: str, name: str) -> str:
    """pytest's node id from JUnit's dotted ``classname``: the longest prefix that is a test file is the
    module (``tests.evaluation.test_x.TestY`` -> ``tests/evaluation/test_x.py::TestY::name``)."""
    parts = classname.split(".")
    for end in range(len(parts), 0, -1):
        module = "/".join(parts[:end]) + ".py"
        if Path(module).is_file():
            return "::".join([module, *parts[end:], name])
    return f"{classname}::{name}"


def summary(lock: Path, drift: list[Drift], outcome: TestOutcome | None, pytest_code: int) -> str:
    """The canary's report as Markdown (readable in a terminal and in a GitHub job summary)."""
    lines = [f"## Drift canary: the newest releases against `{lock}`", ""]
    if drift:
        lines += ["| library | lock | installed |", "|---|---|---|"]
        lines += [
            f"| {d.name} | {d.locked or 'not locked'} | {d.installed or 'not installed'} |" for d in drift
        ]
    else:
        lines.append("Every installed library is at its locked version.")
    lines.append("")
    if outcome is None:
        lines.append(f"pytest wrote no report (exit code {pytest_code}).")
    else:
        lines.append(
            f"Tests: {outcome.passed} passed, {len(outcome.failed)} failed, {outcome.skipped} skipped."
        )
        if outcome.failed:
            lines += ["", "Failed on the newest releases:", ""]
            lines += [f"- `{node}`" for node in outcome.failed]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock", type=Path, required=True, help="the lock the environment is compared with")
    parser.add_argument("pytest_args", nargs="*", help="arguments for pytest (after --)")
    args = parser.parse_args(argv)
    if not args.lock.is_file():
        print(f"drift canary: no lock at {args.lock}; 'make lock' writes it", file=sys.stderr)
        return 2
    drift = version_drift(read_lock(args.lock.read_text()), installed_versions(), NOT_COMPARED)
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        code = subprocess.call([sys.executable, "-m", "pytest", f"--junitxml={report}", *args.pytest_args])
        outcome = read_junit(report) if report.is_file() else None
    text = summary(args.lock, drift, outcome, code)
    print("\n" + text)
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as handle:
            handle.write(text)
    return code


if __name__ == "__main__":
    sys.exit(main())
