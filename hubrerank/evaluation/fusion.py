"""A reranker fused with the first stage it reranks, by reciprocal rank fusion (Cormack et al., 2009).

A reranker trained on little data can be worse on its own than a strong first stage and still know
something the first stage does not; RRF adds the two orders without calibrating their scores:
``fused(d) = 1 / (k + rank_reranker(d)) + 1 / (k + rank_first_stage(d))``, ranks from 1, ``k`` = 60 as
in the paper. Within a query, the reranker ranks every document it scores (the first-stage list, plus
the positives the all-positives-injected setting adds); a document the first stage did not return
ranks right after its list, so a query without a first-stage list keeps the reranker's order. Ties keep
the first-stage order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hubrerank.errors import InputError
from hubrerank.evaluation.metrics import Pair, ScoreFunction, evaluate_rows
from hubrerank.evaluation.samples import RerankingData, RerankingRow, load_reranking_data
from hubrerank.evaluation.scoring import Scorer

RRF_K = 60


def fusion_label(model_label: str, first_stage_name: str) -> str:
    """The row label of a model fused with the first stage."""
    return f"{model_label} + {first_stage_name} (RRF)"


def rrf_order(scores: np.ndarray, stage_rank: np.ndarray, k: int = RRF_K) -> np.ndarray:
    """Indices of one query's documents, best first, by the RRF of the reranker's ``scores`` and the
    first stage's ranks (from 1); ties, in either order, go to the better first-stage rank."""
    order = np.lexsort((stage_rank, -np.asarray(scores, dtype=np.float64)))
    model_rank = np.empty(len(order), dtype=np.float64)
    model_rank[order] = np.arange(1, len(order) + 1)
    rrf = 1 / (k + model_rank) + 1 / (k + np.asarray(stage_rank, dtype=np.float64))
    return np.lexsort((stage_rank, -rrf))


def rrf_score_function(rows: Sequence[RerankingRow], score: ScoreFunction, k: int = RRF_K) -> ScoreFunction:
    """A score function ranking each query's pairs by the RRF of ``score``'s order and the first-stage
    order of ``rows`` (their ``documents``); the values are positions (higher is better), not RRF sums."""
    first_stage = {row.query: {doc: rank for rank, doc in enumerate(row.documents, 1)} for row in rows}

    def fused(pairs: list[Pair]) -> np.ndarray:
        model_scores = np.asarray(score(pairs), dtype=np.float64)
        by_query: dict[str, list[int]] = {}
        for index, (query, _) in enumerate(pairs):
            by_query.setdefault(query, []).append(index)
        out = np.empty(len(pairs), dtype=np.float64)
        for query, indices in by_query.items():
            ranks = first_stage[query]
            after_list = len(ranks) + 1
            stage_rank = np.array([ranks.get(pairs[i][1], after_list) for i in indices], dtype=np.float64)
            # returned as a descending position, so equal RRF scores keep the first-stage order
            out[np.asarray(indices)[rrf_order(model_scores[indices], stage_rank, k)]] = np.arange(
                len(indices), 0, -1
            )
        return out

    return fused


def check_fusable(data: RerankingData) -> None:
    """InputError unless some query of ``data`` has a first-stage list to fuse with."""
    if not any(row.documents for row in data.rows):
        raise InputError(
            f"{data.dataset} (split {data.split}) has no first-stage `documents` lists to fuse with; "
            "build it with `hubrerank data build ... --candidates N`"
        )


def evaluate_fused(scorer: Scorer, plan: Mapping[str, Any], k: int = RRF_K) -> list[dict[str, Any]]:
    """The ``results`` list of :func:`~hubrerank.evaluation.run_evaluations` for ``scorer``'s model fused
    with the first stage, on the plan's reranking tasks (rows without a first-stage list are refused)."""
    from hubrerank.evaluation.plan import check_plan, reranking_result

    results = []
    for task in check_plan(plan).get("reranking", []):
        data = load_reranking_data(
            task["dataset"], task["revision"], config=task["config"], split=task["split"]
        )
        check_fusable(data)
        outcome = evaluate_rows(data.rows, rrf_score_function(data.rows, scorer.predict, k), task["at_k"])
        results.append(reranking_result(task, data, outcome))
    return results
