"""Fixtures of the page tests: raw HTTP against the session's Hub, and huggingface_hub clients."""

from __future__ import annotations

import hashlib
import re

import pytest
from huggingface_hub import HfApi
from pages_helpers import Web


@pytest.fixture
def web(hub) -> Web:
    return Web(hub.url)


@pytest.fixture
def api(hub) -> HfApi:
    return HfApi(endpoint=hub.url, token=hub.alice_token)


@pytest.fixture
def bob(hub) -> HfApi:
    return HfApi(endpoint=hub.url, token=hub.bob_token)


@pytest.fixture
def name(request) -> str:
    """A repo name unique to the test."""
    readable = re.sub(r"[^A-Za-z0-9]+", "-", request.node.name)[:50].strip("-")
    return f"pages-{readable}-{hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:6]}"
