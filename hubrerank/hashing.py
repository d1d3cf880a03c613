"""Content hashes: of local files (how hubrerank records a local source or model it cannot pin to a sha),
and of texts that have no id."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: Path) -> str:
    """The hex sha256 of a file, read in 1 MiB chunks (the Hub's LFS oid of the same bytes)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def text_id(text: str) -> str:
    """A stable, whitespace-free id for a text that has none (documents of run files and retrieval data)."""
    return "h" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
