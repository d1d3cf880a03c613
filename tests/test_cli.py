"""The command line itself: version, help, the global --hub option and its errors."""

from __future__ import annotations

import subprocess
import sys

from helpers import run_cli

from hubrerank import __version__


def test_version() -> None:
    result = run_cli("--version")
    assert result.exit_code == 0
    assert __version__ in result.output


def test_help_lists_the_command_groups() -> None:
    result = run_cli("--help")
    assert result.exit_code == 0
    assert "--hub" in result.output


def test_unknown_hub_value_is_a_one_line_error() -> None:
    result = run_cli("--hub", "nowhere", "--help")
    assert result.exit_code == 0  # --help is eager: it answers before the Hub is chosen
    result = run_cli("--hub", "nowhere", "hub", "ls")
    assert result.exit_code == 2
    assert "--hub 'nowhere' is neither a URL" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_python_dash_m_and_help_import_no_hf_stack() -> None:
    code = (
        "import sys; from hubrerank.cli import cli; "
        "from click.testing import CliRunner; r = CliRunner().invoke(cli, ['--help']); "
        "assert r.exit_code == 0, r.output; "
        "print(sorted(m for m in ('torch', 'datasets', 'huggingface_hub') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    version = subprocess.run(
        [sys.executable, "-m", "hubrerank", "--version"], capture_output=True, text=True, check=True
    )
    assert __version__ in version.stdout


def test_public_api_loads_lazily() -> None:
    code = (
        "import sys, hubrerank; "
        "assert not any(m in sys.modules for m in ('torch', 'datasets', 'huggingface_hub')); "
        "names = [n for n in hubrerank.__all__ if n != '__version__']; "
        "assert all(callable(getattr(hubrerank, n)) for n in names); print(len(names))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "15"
