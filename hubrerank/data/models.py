"""Models a build uses (mining bi-encoder, teacher cross- or bi-encoder): where they are and what to record.

A Hub reference is pinned to its commit sha (hubrerank.hub.resolve_model); a local folder is recorded by its
name and the sha256 of its model.safetensors, never by its absolute path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hubrerank.errors import InputError
from hubrerank.hashing import file_sha256

ST_MARKERS = ("modules.json", "config_sentence_transformers.json")


@dataclass(frozen=True)
class ModelSource:
    """A model folder on disk and the record that names it reproducibly."""

    path: Path
    record: dict[str, Any]

    @property
    def ref(self) -> str:
        """How a rebuild command names the model: ``REPO@SHA``, or the local folder's name."""
        if "repo" in self.record:
            return f"{self.record['repo']}@{self.record['revision']}"
        return self.record["path"]


def resolve_model_source(text: str, files: Sequence[str] = ()) -> ModelSource:
    """Resolve ``REPO[@REV]`` or a local folder, downloading a Hub model at its pinned sha (and ``files``,
    a variant's)."""
    from hubrerank.hub import resolve_model

    ref, path = resolve_model(text, files)
    if ref is not None:
        return ModelSource(path, ref.as_dict())
    weights = path / "model.safetensors"
    record: dict[str, Any] = {"path": path.resolve().name}
    if weights.is_file():
        record["sha256"] = file_sha256(weights)
    return ModelSource(path, record)


def require_sentence_transformer(model: ModelSource, option: str) -> None:
    """A mining model must be a sentence-transformers model: a plain transformers checkpoint is refused."""
    if not any((model.path / marker).is_file() for marker in ST_MARKERS):
        raise InputError(
            f"{option} {model.ref} is not a sentence-transformers model (no {' or '.join(ST_MARKERS)}); "
            "pass a bi-encoder saved with SentenceTransformer.save, or use --bm25"
        )


def model_device() -> str | None:
    """Where a build runs its models: ``cpu`` unless CUDA is there (then sentence-transformers picks)."""
    import torch

    return None if torch.cuda.is_available() else "cpu"
