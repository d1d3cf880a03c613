"""Teacher scores for distillation: a cross-encoder's sigmoid score for every training pair."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hubrerank.errors import InputError

CHUNK = 65536  # pairs handed to predict at once, so the pair list stays bounded


def teacher_scores(
    model_path: Path, queries: list[str], passages: list[str], batch_size: int = 32
) -> np.ndarray:
    """``CrossEncoder.predict`` with a sigmoid, in chunks; float32 scores aligned with the pairs."""
    import torch
    from sentence_transformers import CrossEncoder

    if not (model_path / "config.json").is_file():
        raise InputError(
            f"--teacher {model_path.name} has no config.json; pass a cross-encoder model folder or repo"
        )
    model = CrossEncoder(str(model_path), device="cpu" if not torch.cuda.is_available() else None)
    if model.num_labels != 1:
        raise InputError(
            f"--teacher {model_path.name} has {model.num_labels} labels; "
            "distillation needs a cross-encoder with one score"
        )
    sigmoid = torch.nn.Sigmoid()
    scores = [
        model.predict(
            list(zip(queries[i : i + CHUNK], passages[i : i + CHUNK], strict=True)),
            batch_size=batch_size,
            activation_fn=sigmoid,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        for i in range(0, len(queries), CHUNK)
    ]
    return np.concatenate(scores).astype(np.float32) if scores else np.empty(0, np.float32)
