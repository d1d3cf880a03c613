"""Choosing the Hub: `--hub local` serves the embedded Hub in-process; endpoints are fixed before import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hubrerank.endpoint import configure_hub
from hubrerank.errors import HubrerankError

LOCAL_ROUND_TRIP = """
import os, sys
from hubrerank.endpoint import configure_hub
url = configure_hub("local")
assert os.environ["HF_ENDPOINT"] == url and url.startswith("http://127.0.0.1:"), url
assert os.environ["HF_HUB_DISABLE_XET"] == "1"
from huggingface_hub import HfApi
from hubrerank.hub import publish
from hubrerank.hub import resolve
user = HfApi().whoami()["name"]
if sys.argv[1] == "write":
    print(publish(f"{user}/notes", {"note.txt": b"kept across runs"}, message="note"))
else:
    from huggingface_hub import hf_hub_download
    ref = resolve(f"{user}/notes")
    print(ref, open(hf_hub_download(ref.repo_id, "note.txt", revision=ref.sha)).read())
"""


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=120)


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUBRERANK_"))}
    return {**env, "HUBRERANK_HOME": str(home)}


def test_local_hub_persists_across_processes(tmp_path: Path) -> None:
    env = _clean_env(tmp_path / "home")
    write = subprocess.run(
        [sys.executable, "-c", LOCAL_ROUND_TRIP, "write"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert write.returncode == 0, write.stderr
    read = _run("-c", LOCAL_ROUND_TRIP, "read", env=env)
    assert read.returncode == 0, read.stderr
    assert read.stdout.split()[0] == write.stdout.split()[0]  # the same repo@sha
    assert "kept across runs" in read.stdout
    token_file = next((tmp_path / "home" / "hub").glob("local-user.json"))
    assert token_file.stat().st_mode & 0o077 == 0


def test_cli_hub_local_lists_what_it_wrote(tmp_path: Path) -> None:
    env = _clean_env(tmp_path / "home")
    assert _run("-c", LOCAL_ROUND_TRIP, "write", env=env).returncode == 0
    listed = _run("-m", "hubrerank", "--hub", "local", "hub", "ls", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "/notes" in listed.stdout


def test_switching_endpoints_after_import_is_refused() -> None:
    import huggingface_hub  # noqa: F401  (the session's endpoint is now captured)

    with pytest.raises(HubrerankError, match="already imported"):
        configure_hub("http://127.0.0.1:9")
    assert configure_hub(None) == os.environ["HF_ENDPOINT"]
