"""The shared conformance checks (../shared/tools) against a fresh embedded Hub, as subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from helpers import SHARED

from hubrerank.server import HubServer, UserSpec

TOOLS = SHARED / "tools"
TOKEN = "hrk_conformance_" + "x" * 20

pytestmark = [pytest.mark.shared, pytest.mark.slow]  # each runs a conformance tool: 4-8 s


@pytest.fixture(scope="module")
def fresh_hub(tmp_path_factory):
    if not (TOOLS / "hubcheck.py").is_file():
        pytest.skip(f"conformance tools not found at {TOOLS} (the ../shared folder beside the repo)")
    data_dir = tmp_path_factory.mktemp("conformance") / "hub"
    with HubServer(data_dir, users=[UserSpec("alice", TOKEN)]) as server:
        yield server


def _run(server: HubServer, tmp_path, *args: str) -> str:
    env = {
        **os.environ,
        "HF_ENDPOINT": server.url,
        "HF_TOKEN": TOKEN,
        "HF_HUB_DISABLE_XET": "1",
        "HF_HOME": str(tmp_path / "hf-home"),
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    }
    run = subprocess.run(
        [sys.executable, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run.stdout


def test_hubcheck_passes_all_steps(fresh_hub, tmp_path):
    out = _run(fresh_hub, tmp_path, str(TOOLS / "hubcheck.py"), str(tmp_path / "hubcheck.json"))
    assert "50 passed, 0 failed" in out


def test_crossencoder_roundtrip(fresh_hub, tmp_path):
    assert "CROSSENCODER OK" in _run(fresh_hub, tmp_path, str(TOOLS / "crossencoder_roundtrip.py"))


def test_datasets_roundtrip(fresh_hub, tmp_path):
    assert "DATASETS EXTRA OK" in _run(fresh_hub, tmp_path, str(TOOLS / "datasets_roundtrip.py"))
