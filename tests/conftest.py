"""One local Hub for the whole test session, and tiny models pushed to it.

The environment is set at the very top, before anything imports huggingface_hub or datasets:
both read HF_ENDPOINT and HF_HUB_DISABLE_XET at import time. No test touches the network.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


SESSION_DIR = Path(tempfile.mkdtemp(prefix="hubrerank-tests-"))
PORT = _free_port()
ALICE_TOKEN = "hrk_alice_" + "a" * 30
BOB_TOKEN = "hrk_bob_" + "b" * 30
os.environ.pop("HUBRERANK_HUB", None)
os.environ.update(
    HF_ENDPOINT=f"http://127.0.0.1:{PORT}",
    HF_HUB_DISABLE_XET="1",
    HF_HUB_DISABLE_TELEMETRY="1",
    HF_HUB_DISABLE_PROGRESS_BARS="1",
    HF_HOME=str(SESSION_DIR / "hf-home"),
    HF_TOKEN=ALICE_TOKEN,
    HUBRERANK_HOME=str(SESSION_DIR / "hubrerank-home"),
    TOKENIZERS_PARALLELISM="false",
)
sys.path.insert(0, str(Path(__file__).parent))

import pytest  # noqa: E402
from click.testing import CliRunner, Result  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@dataclass(frozen=True)
class LocalHub:
    """The session's Hub: its URL, data dir and two users (alice is in the org ``acme``)."""

    url: str
    data_dir: Path
    alice_token: str = ALICE_TOKEN
    bob_token: str = BOB_TOKEN
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


@pytest.fixture(scope="session")
def hub() -> LocalHub:
    from hubrerank.server import HubServer, UserSpec

    data_dir = SESSION_DIR / "hub-data"
    server = HubServer(
        data_dir,
        port=PORT,
        users=[UserSpec("alice", ALICE_TOKEN, ("acme",)), UserSpec("bob", BOB_TOKEN)],
    ).start()
    yield LocalHub(server.url, data_dir)
    server.stop()


def _push_folder(repo_id: str, folder: Path) -> HubModel:
    from hubrerank.hub import publish

    files = {p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file()}
    ref = publish(repo_id, files, message=f"Add {folder.name}")
    return HubModel(repo_id, ref.sha, folder)


@pytest.fixture(scope="session")
def tiny_cross_encoder(hub: LocalHub, tmp_path_factory: pytest.TempPathFactory) -> HubModel:
    """A tiny random BERT cross-encoder, pushed as alice/tiny-cross-encoder."""
    from factories import build_tiny_cross_encoder

    folder = build_tiny_cross_encoder(tmp_path_factory.mktemp("models") / "tiny-cross-encoder")
    return _push_folder("alice/tiny-cross-encoder", folder)


@pytest.fixture(scope="session")
def tiny_bi_encoder(hub: LocalHub, tmp_path_factory: pytest.TempPathFactory) -> HubModel:
    """A tiny random BERT bi-encoder (mean pooling), pushed as alice/tiny-bi-encoder."""
    from factories import build_tiny_bi_encoder

    folder = build_tiny_bi_encoder(tmp_path_factory.mktemp("models") / "tiny-bi-encoder")
    return _push_folder("alice/tiny-bi-encoder", folder)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or a skip that says where it was looked for."""
    data = SHARED / "data"
    if not data.is_dir():
        pytest.skip(f"real data not found at {data} (the ../shared folder beside the repo)")
    return data


def run_cli(*args: str, input: str | None = None) -> Result:
    """Run ``hubrerank ARGS`` in-process against the session's Hub."""
    from hubrerank.cli import cli

    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
