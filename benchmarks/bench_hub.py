"""A benchmark's own Hub: a temporary work folder, a free port and a token, exported as the environment
before anything imports huggingface_hub or datasets (they read it at import time)."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def private_hub_environment(prefix: str, token: str) -> tuple[Path, int]:
    """Export HF_ENDPOINT (a free local port), HF_TOKEN, HF_HOME and HUBRERANK_HOME under a new temporary
    folder; return the folder and the port the benchmark's HubServer must listen on."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    port = _free_port()
    os.environ.update(
        HF_ENDPOINT=f"http://127.0.0.1:{port}",
        HF_HUB_DISABLE_XET="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        HF_HOME=str(work / "hf-home"),
        HF_TOKEN=token,
        HUBRERANK_HOME=str(work / "hubrerank-home"),
        TOKENIZERS_PARALLELISM="false",
    )
    return work, port
