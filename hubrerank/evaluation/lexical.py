"""BM25 as a row of the comparison: it reranks each query's candidates lexically (bm25s).

The index covers every document of the split (positives, negatives and first-stage lists), so term
statistics come from the whole collection rather than from one query's twenty candidates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hubrerank.evaluation.metrics import Pair, ScoreFunction
from hubrerank.evaluation.samples import RerankingRow

BM25_LABEL = "BM25"


def bm25_score_function(rows: Sequence[RerankingRow], language: str = "en") -> ScoreFunction:
    """A score function giving each (query, document) pair its BM25 score; no shared term scores 0."""
    from hubrerank.data.retrieval import Bm25Index

    corpus = list(
        dict.fromkeys(doc for row in rows for doc in (*row.positive, *row.negative, *row.documents))
    )
    position = {doc: index for index, doc in enumerate(corpus)}
    index = Bm25Index(corpus, language)

    def score(pairs: list[Pair]) -> np.ndarray:
        queries = list(dict.fromkeys(query for query, _ in pairs))
        found, found_scores = index.search(queries, len(corpus))
        per_query = {
            query: {int(i): float(s) for i, s in zip(ids, values, strict=True) if i >= 0}
            for query, ids, values in zip(queries, found, found_scores, strict=True)
        }
        return np.array([per_query[q].get(position[d], 0.0) for q, d in pairs], dtype=np.float32)

    return score


def evaluate_bm25(
    plan: Mapping[str, Any], language: str = "en", metric_definition: str | None = None
) -> list[dict[str, Any]]:
    """The ``results`` list of :func:`~hubrerank.evaluation.run_evaluations` with BM25 as the reranker,
    for the plan's reranking tasks (NanoBEIR already reports its BM25 order as ``base_``); ``language``
    as ``Bm25Index`` takes it."""
    from hubrerank.evaluation.plan import evaluate_reranking_with

    return evaluate_reranking_with(
        plan, lambda data: bm25_score_function(data.rows, language), metric_definition
    )
