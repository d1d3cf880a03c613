"""Shared test helpers (a plain module, so that test areas may have conftest.py files of their own)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner, Result

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@dataclass(frozen=True)
class LocalHub:
    """The session's Hub: its URL, data dir and two users (alice is in the org ``acme``)."""

    url: str
    data_dir: Path
    alice_token: str
    bob_token: str
    org: str = "acme"


@dataclass(frozen=True)
class HubModel:
    """A model pushed to the local Hub: its repo id, commit sha and the local folder it came from."""

    repo_id: str
    sha: str
    path: Path

    @property
    def ref(self) -> str:
        return f"{self.repo_id}@{self.sha}"


def run_cli(*args: str, input: str | None = None) -> Result:
    """Run ``hubrerank ARGS`` in-process against the session's Hub."""
    from hubrerank.cli import cli

    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
