"""Teacher scores for distillation: one score per training pair, from a cross-encoder or a bi-encoder.

A cross-encoder teacher gives its sigmoid score (FlagReranker's ``normalize=True``). A bi-encoder teacher
gives the similarity of the two embeddings by the model's own similarity function (cosine for most):
a strong embedding model is a dense, graded signal where a handful of binary labels is not
(docs/recipe.md, "Distilling the first stage").
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from hubrerank.data.models import model_device
from hubrerank.embeddings import Embedder, encode
from hubrerank.errors import InputError
from hubrerank.kinds.detect import model_kind
from hubrerank.runtime import Variant

CHUNK = 65536  # pairs handed to predict at once, so the pair list stays bounded


def teacher_scores(
    model_path: Path,
    queries: list[str],
    passages: list[str],
    batch_size: int = 32,
    precision: Variant | None = None,
) -> np.ndarray:
    """Float32 teacher scores aligned with the (query, passage) pairs, the teacher run in ``precision``
    (None: float32, on cpu unless CUDA is there)."""
    precision = precision or Variant(device=model_device())
    kind = model_kind(model_path)
    if kind == "bi-encoder":
        return _bi_encoder_scores(model_path, queries, passages, batch_size, precision)
    if kind == "base":
        raise InputError(
            f"--teacher {model_path.name} is neither a cross-encoder nor a sentence-transformers bi-encoder "
            "(no modules.json, no sequence-classification head); pass a trained reranker or embedding model"
        )
    return _cross_encoder_scores(model_path, queries, passages, batch_size, precision)


def _cross_encoder_scores(
    model_path: Path, queries: list[str], passages: list[str], batch_size: int, precision: Variant
) -> np.ndarray:
    """``CrossEncoder.predict`` with a sigmoid, in chunks."""
    import torch
    from sentence_transformers import CrossEncoder

    model = _load(CrossEncoder, model_path, precision)
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
            show_progress_bar=True,
        )
        for i in range(0, len(queries), CHUNK)
    ]
    return np.concatenate(scores).astype(np.float32) if scores else np.empty(0, np.float32)


def _bi_encoder_scores(
    model_path: Path, queries: list[str], passages: list[str], batch_size: int, precision: Variant
) -> np.ndarray:
    """``SentenceTransformer.similarity_pairwise`` of embeddings from :func:`hubrerank.embeddings.encode`
    (each distinct text embedded once)."""
    import torch
    from sentence_transformers import SentenceTransformer

    if not queries:
        return np.empty(0, np.float32)
    model = _load(SentenceTransformer, model_path, precision)
    embedder = Embedder(model, model_path, batch_size=batch_size, progress=True, variant=precision)
    query_embeddings = torch.from_numpy(encode(embedder, queries, "query"))
    passage_embeddings = torch.from_numpy(encode(embedder, passages, "document"))
    scores = model.similarity_pairwise(query_embeddings, passage_embeddings)
    return scores.cpu().numpy().astype(np.float32)


@lru_cache(maxsize=1)
def _load(model_class: type, model_path: Path, precision: Variant) -> Any:
    """The teacher, loaded once per build: it scores the train pairs, then the eval/test candidates."""
    from hubrerank.backends import load_model

    return load_model(model_class, model_path, precision)
