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


ST_ORG_TOKEN = "hrk_stbot_" + "s" * 30  # a member of the org sentence-transformers (NanoBEIR-en lives there)


def fresh_st_org_repo(hub: LocalHub, repo_id: str, repo_type: str = "dataset") -> str:
    """Make the user ``stbot`` a member of ``sentence-transformers``, delete ``repo_id`` if an earlier test of
    the session made it, and return stbot's token: tests that each publish their own NanoBEIR-en start
    from nothing, in any order."""
    from huggingface_hub import HfApi

    from hubrerank.server.auth import Users, UserSpec

    Users(hub.data_dir).merge([UserSpec("stbot", ST_ORG_TOKEN, ("sentence-transformers",))])
    HfApi(endpoint=hub.url, token=ST_ORG_TOKEN).delete_repo(repo_id, repo_type=repo_type, missing_ok=True)
    return ST_ORG_TOKEN


def card_front_matter(repo_id: str, sha: str) -> dict:
    """The YAML front matter of the README of model ``repo_id`` at ``sha`` on the session's Hub."""
    from hubrerank.hub import read_file
    from hubrerank.refs import ResolvedRef
    from hubrerank.reproducibility.st_card import front_matter

    return front_matter((read_file(ResolvedRef(repo_id, sha, "model"), "README.md") or b"").decode())
