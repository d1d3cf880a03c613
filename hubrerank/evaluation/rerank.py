"""Rank documents for one query with a cross-encoder: what ``hubrerank rerank`` prints."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hubrerank.evaluation.fusion import rrf_order
from hubrerank.evaluation.scoring import Scorer


@dataclass(frozen=True)
class RankedDocument:
    """One document in the ranking: its rank (from 1), its index in the input, its score and text."""

    rank: int
    index: int
    score: float
    text: str


def rank_documents(
    model: str,
    query: str,
    documents: Sequence[str],
    *,
    top_k: int | None = None,
    raw: bool = False,
    max_length: int | None = None,
    fuse_first_stage: bool = False,
) -> list[RankedDocument]:
    """``documents`` ranked best first for ``query`` by the cross-encoder ``model`` (``MODEL[@REV]`` or a
    folder), the best ``top_k`` only when given.

    Scores are sigmoid-normalised logits, as FlagReranker.compute_score(normalize=True) and LlamaIndex's
    SentenceTransformerRerank give them; ``raw`` keeps the logits. With ``fuse_first_stage`` the input
    order is a first stage's ranking, best first, and the order is the reciprocal rank fusion (k=60)
    of both; the scores stay the model's.
    """
    from hubrerank.hub import resolve_model

    _, path = resolve_model(model)
    scorer = Scorer(path, max_length=max_length)
    scores = scorer.scores([(query, document) for document in documents], "raw" if raw else "sigmoid")
    if fuse_first_stage:
        order = [int(i) for i in rrf_order(scores, np.arange(1, len(documents) + 1))][:top_k]
    else:
        order = sorted(range(len(documents)), key=lambda i: -float(scores[i]))[:top_k]
    return [RankedDocument(rank, i, float(scores[i]), documents[i]) for rank, i in enumerate(order, start=1)]
