"""Content hashes: of local files (how hubrerank records a local source or model it cannot pin to a
sha), the identity that keys a model's cached scores and embeddings, and ids of texts that have none."""

from __future__ import annotations

import hashlib
from pathlib import Path

from hubrerank.kinds.detect import read_json

# files that never change a model's outputs: a new card, recorded results or a training log keep its
# cache entries valid
_NOT_SCORING = {"README.md", "eval_results.json", "hubrerank.yaml", "training_log.jsonl", ".gitattributes"}


def file_sha256(path: Path) -> str:
    """The hex sha256 of a file, read in 1 MiB chunks (the Hub's LFS oid of the same bytes)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def model_identity(path: Path) -> str:
    """The cache identity of a model: a sha256 over the files that make its scores.

    Those are the folder's own files and those of the module folders modules.json names, so that a
    training output's ``checkpoints/`` or logs are not read, and a new card keeps the identity. The
    identity follows the bytes, not where they came from: a training folder, the Hub commit it was
    pushed as and a byte-identical reproduction share their cached scores.
    """
    modules = read_json(path / "modules.json", default=[])
    folders = [path] + [path / module["path"] for module in modules if module.get("path")]
    files = {file for folder in folders if folder.is_dir() for file in folder.iterdir() if file.is_file()}
    digest = hashlib.sha256()
    for file in sorted(files):
        if file.name not in _NOT_SCORING:
            digest.update(
                file.relative_to(path).as_posix().encode() + b"\0" + file_sha256(file).encode() + b"\0"
            )
    return f"sha256:{digest.hexdigest()}"


def text_id(text: str) -> str:
    """A stable, whitespace-free id for a text that has none (documents of run files and retrieval data)."""
    return "h" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
