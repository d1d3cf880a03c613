"""Choose the Hub every command talks to, before the Hugging Face stack is imported.

huggingface_hub and datasets read ``HF_ENDPOINT`` and ``HF_HUB_DISABLE_XET`` once, at import time
(../notes: patching afterwards leaves card and metadata helpers calling huggingface.co). So the CLI
calls :func:`configure_hub` first and imports the HF stack lazily, inside each command.
"""

from __future__ import annotations

import atexit
import os
import sys
from pathlib import Path

from hubrerank.errors import HubrerankError

HUB_ENV = "HUBRERANK_HUB"
HOME_ENV = "HUBRERANK_HOME"
DEFAULT_ENDPOINT = "https://huggingface.co"
_HF_MODULES = ("huggingface_hub", "datasets")
_embedded = None  # the in-process server of `--hub local`, kept alive for the process' lifetime


def hubrerank_home() -> Path:
    """The folder hubrerank keeps its state in: the embedded Hub, the score cache."""
    return Path(os.environ.get(HOME_ENV) or Path.home() / ".cache" / "hubrerank")


def configure_hub(hub: str | None) -> str:
    """Point the Hugging Face clients at ``hub`` and return the endpoint URL.

    ``hub`` is a URL, ``"local"`` (the embedded Hub served in-process from ``$HUBRERANK_HOME/hub``
    for this process' lifetime) or None (``$HUBRERANK_HUB``, else ``$HF_ENDPOINT``, else
    huggingface.co).
    """
    global _embedded
    hub = hub or os.environ.get(HUB_ENV) or None
    os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    if hub is None:
        endpoint = os.environ.get("HF_ENDPOINT", DEFAULT_ENDPOINT)
    elif hub == "local":
        if _embedded is None:
            from hubrerank.server import HubServer, ensure_local_user

            data_dir = hubrerank_home() / "hub"
            user = ensure_local_user(data_dir)
            _embedded = HubServer(data_dir, users=[user]).start()
            atexit.register(_embedded.stop)
            os.environ["HF_TOKEN"] = user.token
            os.environ.setdefault("HF_HOME", str(hubrerank_home() / "hf-home"))
        endpoint = _embedded.url
    elif hub.startswith(("http://", "https://")):
        endpoint = hub.rstrip("/")
    else:
        raise HubrerankError(f"--hub {hub!r} is neither a URL (http://... or https://...) nor 'local'")
    _check_not_imported(endpoint)
    os.environ["HF_ENDPOINT"] = endpoint
    return endpoint


def _check_not_imported(endpoint: str) -> None:
    """Refuse to switch endpoints after the HF stack has captured the old one."""
    current = os.environ.get("HF_ENDPOINT", DEFAULT_ENDPOINT)
    imported = [m for m in _HF_MODULES if m in sys.modules]
    if imported and current.rstrip("/") != endpoint:
        raise HubrerankError(
            f"cannot switch the Hub to {endpoint}: {', '.join(imported)} was already imported with "
            f"HF_ENDPOINT={current}; choose the Hub before importing them"
        )
