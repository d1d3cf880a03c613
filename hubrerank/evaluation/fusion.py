"""A reranker fused with the first stage it reranks: by ranks (RRF) or by scores (a z-score mix).

A reranker trained on little data can be worse on its own than a strong first stage and still know
something the first stage does not. Two ways to add them up without calibrating one to the other:

- reciprocal rank fusion (Cormack et al., 2009), needing only the first stage's order (``documents``):
  ``1 / (k + rank_reranker(d)) + 1 / (k + rank_first_stage(d))``, ranks from 1, ``k`` = 60 as in the
  paper. Within a query, the reranker ranks every document it scores (the first-stage list, plus the
  positives the all-positives-injected setting adds); a document the first stage did not return ranks
  right after its list, so a query without a first-stage list keeps the reranker's order. Ties keep
  the first-stage order.
- a score mix with another model (the bi-encoder that retrieved the candidates, or any cross-encoder):
  ``weight * z(reranker) + (1 - weight) * z(other)``, each score z-normalised over the documents scored
  for the query (the two scales need not match).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hubrerank.errors import InputError
from hubrerank.evaluation.metrics import Pair, ScoreFunction
from hubrerank.evaluation.samples import RerankingData, RerankingRow
from hubrerank.evaluation.scoring import Scorer
from hubrerank.runtime import Variant, with_variant

RRF_K = 60


def fusion_label(model_label: str, first_stage_name: str) -> str:
    """The row label of a model fused with the first stage by RRF."""
    return f"{model_label} + {first_stage_name} (RRF)"


def mix_label(model_label: str, other_label: str, weight: float) -> str:
    """The row label of a model's scores mixed with another's."""
    return f"{model_label} + {other_label} (z-scores, {weight:g}:{1 - weight:g})"


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
        out = np.empty(len(pairs), dtype=np.float64)
        for query, indices in _by_query(pairs).items():
            ranks = first_stage[query]
            after_list = len(ranks) + 1
            stage_rank = np.array([ranks.get(pairs[i][1], after_list) for i in indices], dtype=np.float64)
            # returned as a descending position, so equal RRF scores keep the first-stage order
            out[np.asarray(indices)[rrf_order(model_scores[indices], stage_rank, k)]] = np.arange(
                len(indices), 0, -1
            )
        return out

    return fused


def _by_query(pairs: list[Pair]) -> dict[str, list[int]]:
    """The positions of each query's pairs in ``pairs``."""
    positions: dict[str, list[int]] = {}
    for index, (query, _) in enumerate(pairs):
        positions.setdefault(query, []).append(index)
    return positions


def check_fusable(data: RerankingData) -> None:
    """InputError unless some query of ``data`` has a first-stage list to fuse with."""
    if not any(row.documents for row in data.rows):
        raise InputError(
            f"{data.dataset} (split {data.split}) has no first-stage `documents` lists to fuse with; "
            "build it with `hubrerank data build ... --candidates N`"
        )


def evaluate_fused(
    scorer: Scorer, plan: Mapping[str, Any], k: int = RRF_K, metric_definition: str | None = None
) -> list[dict[str, Any]]:
    """The ``results`` list of :func:`~hubrerank.evaluation.run_evaluations` for ``scorer``'s model fused
    with the first stage by RRF, on the plan's reranking tasks (data without first-stage lists is refused)."""
    from hubrerank.evaluation.plan import evaluate_reranking_with

    def score_for(data: RerankingData) -> ScoreFunction:
        check_fusable(data)
        return rrf_score_function(data.rows, scorer.predict, k)

    return with_variant(evaluate_reranking_with(plan, score_for, metric_definition), scorer.precision)


def mix_score_function(score: ScoreFunction, other: ScoreFunction, weight: float) -> ScoreFunction:
    """``weight * z(score) + (1 - weight) * z(other)``, z-normalised per query over its pairs."""

    def mixed(pairs: list[Pair]) -> np.ndarray:
        ours = np.asarray(score(pairs), dtype=np.float64)
        theirs = np.asarray(other(pairs), dtype=np.float64)
        out = np.empty(len(pairs), dtype=np.float64)
        for indices in _by_query(pairs).values():
            out[indices] = weight * _z(ours[indices]) + (1 - weight) * _z(theirs[indices])
        return out

    return mixed


def _z(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


def check_scoring_model(path: Path, what: str) -> None:
    """InputError unless ``path`` holds a bi-encoder or a cross-encoder (something that scores pairs);
    ``what`` names it in the message (``--fuse-with ORG/NAME``)."""
    from hubrerank.kinds.detect import model_kind

    if model_kind(path) == "base":
        raise InputError(
            f"{what} is neither a sentence-transformers bi-encoder nor a cross-encoder "
            "(no modules.json, no sequence-classification head); pass an embedding model or a reranker"
        )


def model_score_function(
    model_path: Path, batch_size: int = 32, precision: Variant | None = None
) -> ScoreFunction:
    """Scores of a bi-encoder (its similarity) or a cross-encoder (its sigmoid) for pairs, each pair once,
    the model run in ``precision`` (None: float32, on cpu unless CUDA is there)."""
    from hubrerank.data.teacher import teacher_scores

    known: dict[Pair, float] = {}

    def score(pairs: list[Pair]) -> np.ndarray:
        missing = list(dict.fromkeys(pair for pair in pairs if pair not in known))
        if missing:
            queries, documents = [q for q, _ in missing], [d for _, d in missing]
            values = teacher_scores(model_path, queries, documents, batch_size, precision)
            known.update(zip(missing, values.tolist(), strict=True))
        return np.array([known[pair] for pair in pairs], dtype=np.float64)

    return score


def evaluate_mixed(
    scorer: Scorer,
    plan: Mapping[str, Any],
    other: ScoreFunction,
    weight: float,
    metric_definition: str | None = None,
) -> list[dict[str, Any]]:
    """The ``results`` list of :func:`~hubrerank.evaluation.run_evaluations` for ``scorer``'s model mixed
    with ``other``'s scores (:func:`mix_score_function`), on the plan's reranking tasks."""
    from hubrerank.evaluation.plan import evaluate_reranking_with

    results = evaluate_reranking_with(
        plan, lambda _: mix_score_function(scorer.predict, other, weight), metric_definition
    )
    return with_variant(results, scorer.precision)
