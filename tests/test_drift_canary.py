"""tools/drift_canary.py (`make test-latest`): the lock read as pins, drift named, pytest's report read."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / f"lock-py{sys.version_info[0]}.{sys.version_info[1]}.txt"


def _load_canary():
    spec = importlib.util.spec_from_file_location("drift_canary", ROOT / "tools" / "drift_canary.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["drift_canary"] = module
    spec.loader.exec_module(module)
    return module


canary = _load_canary()


def test_the_committed_lock_pins_every_package_with_a_hash_and_names_no_machine_path():
    text = LOCK.read_text()
    pins = canary.read_lock(text)
    assert pins["torch"].endswith("+cpu")  # the CPU build, never a CUDA one
    assert {"sentence-transformers", "transformers", "huggingface-hub", "datasets", "pytest"} <= set(pins)
    assert text.count(" \\\n    --hash=sha256:") >= len(pins) > 50
    for forbidden in ("--index-url", "--extra-index-url", "--find-links", "file://", "/opt/", "/tmp/"):
        assert forbidden not in text


def test_the_running_environment_is_the_lock():
    """What `make test` installed is exactly the lock (the guarantee a fresh clone relies on)."""
    if (
        not (ROOT / ".venv" / ".installed").exists()
        or Path(sys.prefix).resolve() != (ROOT / ".venv").resolve()
    ):
        pytest.skip("not running in the venv `make` installs from the lock")
    drift = canary.version_drift(
        canary.read_lock(LOCK.read_text()), canary.installed_versions(), canary.NOT_COMPARED
    )
    assert drift == []


def test_version_drift_names_changed_added_and_removed_libraries():
    locked = {"sentence-transformers": "6.2.0", "numpy": "2.3.0", "gone": "1.0", "pip": "26.0"}
    installed = {"sentence-transformers": "6.3.0", "numpy": "2.3.0", "new": "0.1", "pip": "23.2.1"}
    assert canary.version_drift(locked, installed, canary.NOT_COMPARED) == [
        canary.Drift("gone", "1.0", None),
        canary.Drift("new", None, "0.1"),
        canary.Drift("sentence-transformers", "6.2.0", "6.3.0"),
    ]


def test_read_lock_normalises_names_and_skips_comments():
    text = "Foo_Bar==1.2 \\\n    --hash=sha256:00\n    # via baz\n# x==1\ntorch==2.13.0+cpu \\\n"
    assert canary.read_lock(text) == {"foo-bar": "1.2", "torch": "2.13.0+cpu"}


def test_the_canary_runs_pytest_and_names_failing_tests_and_drift(tmp_path, monkeypatch, capsys):
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_probe.py").write_text(
        "import pytest\n\n"
        "def test_ok():\n    pass\n\n"
        "class TestGroup:\n    def test_bad(self):\n        assert 1 == 2\n\n"
        "@pytest.mark.skip\ndef test_skipped():\n    pass\n"
    )
    lock = tmp_path / "lock.txt"
    lock.write_text("pytest==0.0.1 \\\n    --hash=sha256:00\n")
    summary_file = tmp_path / "summary.md"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary_file))
    code = canary.main(["--lock", str(lock), "--", "-q", "-p", "no:cacheprovider", "tests"])
    out = capsys.readouterr().out
    assert code == 1  # pytest's own exit code: a failing test makes the canary red
    assert "Tests: 1 passed, 1 failed, 1 skipped." in out
    assert "- `tests/test_probe.py::TestGroup::test_bad`" in out
    assert "| pytest | 0.0.1 |" in out
    assert summary_file.read_text() in out


def test_a_missing_lock_is_one_line_and_exit_2(tmp_path, capsys):
    assert canary.main(["--lock", str(tmp_path / "nope.txt")]) == 2
    assert "no lock at" in capsys.readouterr().err


def test_the_junit_reader_reads_what_pytest_writes(tmp_path):
    (tmp_path / "test_one.py").write_text("def test_a():\n    raise RuntimeError\n")
    report = tmp_path / "junit.xml"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={report}",
            "test_one.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    outcome = canary.read_junit(report)
    assert (outcome.passed, outcome.skipped) == (0, 0)
    assert outcome.failed[0].endswith("::test_a")


def test_installed_versions_are_the_environment_s_not_everything_on_sys_path(tmp_path, monkeypatch):
    """importing pkg_resources puts setuptools' vendored packages on sys.path: they are not installed."""
    vendored = tmp_path / "packaging-0.0.1.dist-info"
    vendored.mkdir()
    (vendored / "METADATA").write_text("Metadata-Version: 2.1\nName: packaging\nVersion: 0.0.1\n")
    monkeypatch.setattr(sys, "path", [*sys.path, str(tmp_path)])  # after site-packages, as pkg_resources does
    assert canary.installed_versions()["packaging"] != "0.0.1"
