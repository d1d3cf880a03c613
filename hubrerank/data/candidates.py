"""The first-stage ranked list (``documents``) of each eval/test query: what a reranker would rerank.

``embedding`` ranks the corpus with the mining bi-encoder, ``bm25`` with bm25s, ``fused`` merges both
with weighted reciprocal rank fusion (score = sum of weight / (60 + rank)) over each ranker's top
``FUSION_DEPTH`` (not just the top-k: a document both rankers place fairly high beats one only a single
ranker likes), and ``source`` keeps the ranking the source already has (a TREC run file). Positives
are *not* injected: a list may miss them.
"""

from __future__ import annotations

import numpy as np

from hubrerank.data.retrieval import Bm25Index, dense_search

FIRST_STAGES = ("embedding", "bm25", "fused", "source")
RRF_K = 60
FUSION_DEPTH = 100  # how deep each ranking is read for fusion (at least the number of candidates)


def top_k(indices: np.ndarray, row: int) -> list[int]:
    return [int(d) for d in indices[row] if d >= 0]


def embedding_candidates(
    query_embeddings: np.ndarray, corpus_embeddings: np.ndarray, query_indices: list[int], k: int
) -> dict[int, list[int]]:
    """The k nearest documents of each query (rows of ``query_embeddings`` follow ``query_indices``)."""
    found, _ = dense_search(query_embeddings, corpus_embeddings, k)
    return {q: top_k(found, row) for row, q in enumerate(query_indices)}


def bm25_candidates(
    index: Bm25Index, queries: list[str], query_indices: list[int], k: int
) -> dict[int, list[int]]:
    found, _ = index.search([queries[q] for q in query_indices], k)
    return {q: top_k(found, row) for row, q in enumerate(query_indices)}


def fuse(rankings: list[dict[int, list[int]]], k: int, weights: list[float]) -> dict[int, list[int]]:
    """Weighted reciprocal rank fusion of several rankings cut at ``k``; ties keep the order in which the
    rankings (first ranking first) reached the documents."""
    fused: dict[int, list[int]] = {}
    for q in rankings[0]:
        score: dict[int, float] = {}
        for ranking, weight in zip(rankings, weights, strict=True):
            for rank, d in enumerate(ranking.get(q, []), start=1):
                score[d] = score.get(d, 0.0) + weight / (RRF_K + rank)
        fused[q] = sorted(score, key=lambda d: -score[d])[:k]
    return fused


def source_candidates(
    ranking: dict[int, np.ndarray], query_indices: list[int], k: int
) -> dict[int, list[int]]:
    """The source's own ranking cut at k (an empty list for a query the run does not cover)."""
    return {q: [int(d) for d in ranking.get(q, np.empty(0, np.int64))[:k]] for q in query_indices}
