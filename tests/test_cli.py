"""The command line itself: version, help, the global --hub and --debug options, and its exit codes."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import click
import pytest
from helpers import run_cli

from hubrerank import __version__
from hubrerank.cli import COMMANDS, cli
from hubrerank.errors import InputError

INTERNAL_LINE = re.compile(
    r"Error: internal error \(ValueError: bad value\); this is a bug in hubrerank\. Traceback: (\S+)"
)


@click.command("boom")
@click.option("--flag", is_flag=True)
def boom(flag: bool) -> None:
    """A command with a bug."""
    raise ValueError("bad value\nand a second line")


@click.command("interrupted")
def interrupted() -> None:
    """A command stopped with Ctrl-C."""
    raise KeyboardInterrupt


@click.command("refused")
def refused() -> None:
    """A command refusing its input, the hubrerank way and click's."""
    raise InputError("the input is wrong")


@click.command("click-refused")
def click_refused() -> None:
    """A plain ClickException, which click alone would exit 1 with."""
    raise click.ClickException("no README.md card")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's $HUBRERANK_HOME, the test commands registered, and --debug off."""
    monkeypatch.setenv("HUBRERANK_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HUBRERANK_DEBUG", raising=False)
    for command in (boom, interrupted, refused, click_refused):
        monkeypatch.setitem(COMMANDS, command.name, f"{__name__}:{command.callback.__name__}")
    return tmp_path / "home"


def test_version() -> None:
    result = run_cli("--version")
    assert result.exit_code == 0
    assert __version__ in result.output


def test_help_lists_the_command_groups() -> None:
    result = run_cli("--help")
    assert result.exit_code == 0
    assert "--hub" in result.output
    assert "--debug" in result.output


def _command_paths(command: click.Command, path: tuple[str, ...]) -> list[tuple[str, ...]]:
    """``path`` and the paths of every subcommand below it."""
    if not isinstance(command, click.Group):
        return [path]
    return [path] + [
        sub for name, child in command.commands.items() for sub in _command_paths(child, (*path, name))
    ]


def test_every_registered_command_imports_is_listed_and_has_help() -> None:
    listing = run_cli("--help")
    assert listing.exit_code == 0
    context = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(context, name)
        assert isinstance(command, click.Command), name
        assert re.search(rf"^  {name} ", listing.output, re.MULTILINE), name
        for path in _command_paths(command, (name,)):
            result = run_cli(*path, "--help")
            assert result.exit_code == 0, (path, result.output)
            assert f" {' '.join(path)} [OPTIONS]" in result.output


def test_a_registered_command_whose_module_is_missing_is_an_internal_error(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(COMMANDS, "gone", "hubrerank.cli.gone:gone")
    for args in (["gone"], ["--help"]):
        result = run_cli(*args)
        assert result.exit_code == 3, result.output
        assert result.stderr.startswith(
            "Error: internal error (ModuleNotFoundError: No module named 'hubrerank.cli.gone')"
        )


def test_an_unexpected_exception_exits_3_with_one_line_and_a_log_file(home: Path) -> None:
    result = run_cli("boom", "--flag")
    assert result.exit_code == 3
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    log = Path(INTERNAL_LINE.fullmatch(line).group(1))
    assert log.parent == home / "logs"
    text = log.read_text()
    assert text.startswith("command: hubrerank boom --flag\n")
    assert f"hubrerank {__version__}, Python " in text
    assert "Traceback (most recent call last):" in text
    assert 'raise ValueError("bad value' in text
    assert text.endswith("ValueError: bad value\nand a second line\n")
    second = run_cli("boom")
    assert INTERNAL_LINE.fullmatch(second.stderr.strip()).group(1) != str(log)  # one file per crash


@pytest.mark.parametrize("how", ["--debug", "HUBRERANK_DEBUG=1"])
def test_debug_prints_the_traceback_instead(home: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    if how == "--debug":
        result = run_cli("--debug", "boom")
    else:
        monkeypatch.setenv("HUBRERANK_DEBUG", "1")
        result = run_cli("boom")
    assert result.exit_code == 3
    lines = result.stderr.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert "ValueError: bad value" in lines
    assert lines[-1] == "Error: internal error (ValueError: bad value); this is a bug in hubrerank."
    assert not (home / "logs").exists()


def test_an_unwritable_log_folder_is_said_and_the_traceback_printed(home: Path) -> None:
    home.write_text("a file where the home folder should be")
    result = run_cli("boom")
    assert result.exit_code == 3
    assert "Traceback (most recent call last):" in result.stderr
    assert result.stderr.splitlines()[-1].startswith(
        "Error: internal error (ValueError: bad value); this is a bug in hubrerank. "
        "The traceback above could not be written to a log file: "
    )


def test_ctrl_c_is_one_line_and_exit_130(home: Path) -> None:
    result = run_cli("interrupted")
    assert result.exit_code == 130
    assert result.stderr == "Interrupted.\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["refused"], "Error: the input is wrong\n"),
        (["click-refused"], "Error: no README.md card\n"),
        (["boom", "--no-such-option"], "Error: No such option '--no-such-option'"),
        (["no-such-command"], "Error: No such command 'no-such-command'"),
    ],
)
def test_bad_input_exits_2(home: Path, args: list[str], message: str) -> None:
    result = run_cli(*args)
    assert result.exit_code == 2
    assert message in result.stderr


def _replace_runs(monkeypatch: pytest.MonkeyPatch, run: object) -> None:
    """Make the library's verify and reproduce (which the commands import when run) return ``run()``."""
    # the package re-exports functions named like its modules, so the modules are reached by import
    monkeypatch.setattr(importlib.import_module("hubrerank.reproducibility.verify"), "verify", run)
    monkeypatch.setattr(importlib.import_module("hubrerank.reproducibility.reproduce"), "reproduce", run)


@pytest.mark.parametrize(("verdict", "code"), [("PASS", 0), ("FAIL", 1), ("ERROR", 2)])
def test_verify_and_reproduce_exit_with_their_verdict(
    monkeypatch: pytest.MonkeyPatch, verdict: str, code: int
) -> None:
    report = SimpleNamespace(verdict=verdict, model="alice/model@0123", reason="no claims")
    _replace_runs(monkeypatch, lambda *args, **kwargs: report)
    monkeypatch.setattr("hubrerank.cli.reproduce.format_report", lambda report: report.verdict)
    for command in ("verify", "reproduce"):
        result = run_cli(command, "alice/model")
        assert result.exit_code == code, result.output


def test_a_crash_inside_verify_or_reproduce_is_not_a_verdict(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*args: object, **kwargs: object) -> None:
        raise ValueError("bad value")

    _replace_runs(monkeypatch, crash)
    for command in ("verify", "reproduce"):
        result = run_cli(command, "alice/model")
        assert result.exit_code == 3, result.output
        assert INTERNAL_LINE.fullmatch(result.stderr.strip())


def test_the_console_entry_exits_with_each_code(tmp_path: Path) -> None:
    """A real process: `python -m hubrerank` for 0 and 2, and the entry point itself for 3."""
    env = {**os.environ, "HUBRERANK_HOME": str(tmp_path)}
    env.pop("HUBRERANK_DEBUG", None)
    bad = subprocess.run(
        [sys.executable, "-m", "hubrerank", "--hub", "nowhere", "hub", "ls"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert (bad.returncode, bad.stdout) == (2, "")
    assert bad.stderr.startswith("Error: --hub 'nowhere' is neither a URL")
    code = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import hubrerank.cli as c; "
        f"c.COMMANDS['boom'] = '{__name__}:boom'; sys.argv = ['hubrerank', 'boom', '--flag']; c.main()"
    )
    crash = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert (crash.returncode, crash.stdout) == (3, ""), crash.stderr
    [line] = crash.stderr.splitlines()
    log = Path(INTERNAL_LINE.fullmatch(line).group(1))
    assert log.parent == tmp_path / "logs"
    assert log.read_text().startswith("command: hubrerank boom --flag\n")


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
    assert out.stdout.strip() == "17"
