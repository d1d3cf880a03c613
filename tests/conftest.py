"""One local Hub for the whole test session, and tiny models pushed to it.

The environment is set at the very top, before anything imports huggingface_hub or datasets:
both read HF_ENDPOINT and HF_HUB_DISABLE_XET at import time. No test touches the network.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
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
    HUBRERANK_THREADS="1",  # commands run in-process: tiny models gain nothing from more threads
    # and what tests train or score with the library directly runs on as many (torch reads this at
    # import): matrix kernels split over another thread count round differently, and byte-identical
    # reproductions would then depend on which test ran first
    OMP_NUM_THREADS="1",
)
sys.path.insert(0, str(Path(__file__).parent))

import pytest  # noqa: E402
from helpers import SHARED, HubModel, LocalHub  # noqa: E402


@pytest.fixture(scope="session")
def hub() -> LocalHub:
    from hubrerank.server import HubServer, UserSpec

    data_dir = SESSION_DIR / "hub-data"
    server = HubServer(
        data_dir,
        port=PORT,
        users=[UserSpec("alice", ALICE_TOKEN, ("acme",)), UserSpec("bob", BOB_TOKEN)],
    ).start()
    yield LocalHub(server.url, data_dir, ALICE_TOKEN, BOB_TOKEN)
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
