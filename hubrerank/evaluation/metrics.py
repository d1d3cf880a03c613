"""Reranking metrics with exactly CrossEncoderRerankingEvaluator's semantics, in four settings and under
both definitions of NDCG and MAP (:mod:`hubrerank.evaluation.definitions`).

The evaluator (``cross_encoder/evaluation/reranking.py``) builds, per query:

- all positives injected (its default, ``always_rerank_positives=True``): ``positive`` followed by the
  ``documents`` that are not positives, or ``positive + negative`` for rows without a first-stage list;
- realistic (``always_rerank_positives=False``): the ``documents`` as retrieved, relevant when they are
  in ``positive``; rows without ``documents`` fall back to ``positive + negative``;
- base (first-stage order, rows with ``documents`` only): the ``documents`` ranked as given; under
  ``listed-positives`` (sentence-transformers <= 6.2) followed by one relevant entry per positive the first
  stage missed.

A query whose list holds no relevant document is not scored and counts as 0 in every mean (the means
are over all queries). Per query, MRR@k takes ``np.argsort(scores)[::-1]`` (first relevant in the top k).
Under ``listed-positives`` NDCG@k is sklearn's ``ndcg_score`` (ties averaged) and MAP sklearn's
``average_precision_score``; under ``all-positives`` (>= 6.3) NDCG@k is sklearn's ``dcg_score`` over the
ideal DCG of all the query's known positives, and AP is scaled by the share of them the list holds.

Added here: ``realistic_base`` (the first-stage order judged like the realistic setting: without the
missed positives appended, so it compares like with like with ``realistic_*``; the evaluator's base
appended them up to 6.2, the asymmetry of sentence-transformers PR #4054), and hit-rate@1..5 / MRR@1..5 in
every setting, as LlamaIndex's RetrieverEvaluator counts them (a hit if a relevant document is in the
top k; reciprocal rank of the first one within the top k, else 0), over the same ranking as MRR@k.
When rows carry teacher ``scores`` for their ``documents``, also ``pearson`` and ``spearman``: the
distillation metrics of sentence-transformers' CrossEncoderCorrelationEvaluator (scipy's ``pearsonr``
and ``spearmanr`` of the teacher scores against the model's) over the (query, document) pairs that
have a score.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hubrerank.errors import InputError
from hubrerank.evaluation.definitions import (
    ALL_POSITIVES,
    DEFINITIONS,
    LISTED_POSITIVES,
    installed_definition,
    other_definitions,
)
from hubrerank.evaluation.samples import RerankingRow
from hubrerank.evaluation.significance import versus_first_stage

HIT_KS = (1, 2, 3, 4, 5)
MODEL_SETTINGS = ("", "realistic_")  # metric key prefixes of the settings the model ranks
FIRST_STAGE_SETTINGS = ("base_", "realistic_base_")
Pair = tuple[str, str]
ScoreFunction = Callable[[list[Pair]], np.ndarray]


@dataclass(frozen=True)
class Candidates:
    """The documents one setting ranks for a query, which of them are relevant, and how many positives the
    query has in all (what ``all-positives`` normalises by).

    In the ``base_`` setting under ``listed-positives`` ``relevant`` is longer than ``documents``: one
    entry per missed positive.
    """

    documents: list[str]
    relevant: list[int]
    positives: int

    @property
    def scored(self) -> bool:
        """False for a query the evaluator skips (no relevant document in its list)."""
        return sum(self.relevant) > 0


@dataclass(frozen=True)
class RerankingOutcome:
    """Mean metrics over the queries under ``definition``, the metrics that differ by more than float
    rounding under each other definition (``{definition: {metric: value}}``, empty when none does), per
    scored query its realistic ranking (best first), and, when the rows have first-stage lists, the
    paired test of realistic NDCG@k against the first stage's order
    (:func:`~hubrerank.evaluation.significance.versus_first_stage`)."""

    metrics: dict[str, float]
    rankings: dict[str, list[tuple[str, float]]]
    queries_without_positives: int
    versus_first_stage: dict[str, Any] | None = None
    teacher_pairs: int = 0  # pairs with a teacher score, over which pearson and spearman are measured
    definition: str = LISTED_POSITIVES
    other_definitions: dict[str, dict[str, float]] = field(default_factory=dict)


def candidates(row: RerankingRow, setting: str, definition: str = LISTED_POSITIVES) -> Candidates | None:
    """The list ``setting`` ranks for ``row`` under ``definition``; None for a first-stage setting on a row
    without documents."""
    positive, documents = row.positive, row.documents
    total = len(positive) + row.unlisted_positives
    if setting == "":
        if documents:
            docs = positive + [doc for doc in documents if doc not in positive]
        else:
            docs = positive + row.negative
        return Candidates(docs, [1] * len(positive) + [0] * (len(docs) - len(positive)), total)
    if setting == "realistic_":
        if documents:
            return Candidates(list(documents), [int(doc in positive) for doc in documents], total)
        return candidates(row, "", definition)
    if not documents:
        return None
    relevant = [int(doc in positive) for doc in documents]
    if setting == "base_" and definition == LISTED_POSITIVES and sum(relevant) > 0:
        relevant += [1] * (len(positive) - sum(relevant))
    return Candidates(list(documents), relevant, total)


def metric_names(at_k: int) -> list[str]:
    """The metric names of one setting: the evaluator's three, then hit-rate@1..5 and MRR@1..5."""
    names = ["map", f"mrr@{at_k}", f"ndcg@{at_k}"]
    names += [f"hit_rate@{k}" for k in HIT_KS]
    return names + [f"mrr@{k}" for k in HIT_KS if k != at_k]


def query_metrics(
    relevant: Sequence[int], scores: np.ndarray, at_k: int, positives: int | None = None
) -> dict[str, float]:
    """MRR@k, NDCG@k and AP of one ranked list as the evaluator's ``compute_metrics``, plus hits/MRR@1..5.

    ``positives`` None: ``listed-positives`` (normalised by the relevant entries of the list); a number:
    ``all-positives``, normalised by that many known positives (at least those listed).
    """
    from sklearn.metrics import average_precision_score, dcg_score, ndcg_score

    ranking = np.argsort(scores)[::-1]
    ranks = [rank for rank, index in enumerate(ranking) if relevant[index]]
    first = ranks[0] + 1 if ranks else None
    if positives is None:
        ndcg = ndcg_score([relevant], [scores], k=at_k)
        average_precision = average_precision_score(relevant, scores)
    else:
        listed = sum(relevant)
        positives = max(positives, listed)
        ideal = np.sum(1 / np.log2(np.arange(2, min(positives, at_k) + 2)))
        ndcg = dcg_score([relevant], [scores], k=at_k) / ideal
        average_precision = average_precision_score(relevant, scores) * (listed / positives)
    values = {
        f"mrr@{at_k}": 1 / first if first and first <= at_k else 0,
        f"ndcg@{at_k}": float(ndcg),
        "map": float(average_precision),
    }
    for k in HIT_KS:
        values[f"hit_rate@{k}"] = float(bool(first and first <= k))
        values[f"mrr@{k}"] = 1 / first if first and first <= k else 0
    return values


def pairs_to_score(rows: Sequence[RerankingRow]) -> list[Pair]:
    """Every (query, document) pair the model settings score, once each, in first-seen order."""
    pairs: dict[Pair, None] = {}
    for row in rows:
        for setting in MODEL_SETTINGS:
            found = candidates(row, setting)
            if found is not None and found.scored:
                pairs.update(((row.query, doc), None) for doc in found.documents)
    return list(pairs)


def evaluate_rows(
    rows: Sequence[RerankingRow], score: ScoreFunction, at_k: int = 10, definition: str | None = None
) -> RerankingOutcome:
    """Score every needed pair in one call to ``score``, then average each setting's per-query metrics
    under ``definition`` (None: the installed sentence-transformers'), and note what the other
    definitions give where it differs."""
    definition = definition or installed_definition()
    teacher = teacher_pairs(rows)
    pairs = list(dict.fromkeys([*pairs_to_score(rows), *(pair for pair, _ in teacher)]))
    scores = dict(zip(pairs, score(pairs), strict=True)) if pairs else {}
    by_definition = {name: _mean_metrics(rows, scores, at_k, name) for name in DEFINITIONS}
    metrics, paired, rankings = by_definition[definition]
    others = other_definitions({name: values for name, (values, _, _) in by_definition.items()}, definition)
    skipped = sum(not row.positive for row in rows)
    versus = None
    if any(row.documents for row in rows):
        versus = versus_first_stage(paired["realistic_"], paired["realistic_base_"], f"realistic_ndcg@{at_k}")
    metrics = metrics | correlation(
        [value for _, value in teacher], np.array([scores[p] for p, _ in teacher])
    )
    return RerankingOutcome(metrics, rankings, skipped, versus, len(teacher), definition, others)


def _mean_metrics(
    rows: Sequence[RerankingRow], scores: dict[Pair, float], at_k: int, definition: str
) -> tuple[dict[str, float], dict[str, list[float]], dict[str, list[tuple[str, float]]]]:
    """Every setting's mean metrics under ``definition``, the per-query NDCG@k of the realistic and
    realistic first-stage lists (rows with documents, for the paired test) and the realistic rankings."""
    has_documents = any(row.documents for row in rows)
    settings = MODEL_SETTINGS + (FIRST_STAGE_SETTINGS if has_documents else ())
    per_setting: dict[str, list[dict[str, float]]] = {setting: [] for setting in settings}
    rankings: dict[str, list[tuple[str, float]]] = {}
    names = metric_names(at_k)
    zeros = dict.fromkeys(names, 0.0)
    paired: dict[str, list[float]] = {"realistic_": [], "realistic_base_": []}  # rows with documents
    for row in rows:
        for setting in settings:
            found = candidates(row, setting, definition)
            if found is None:
                continue
            if not found.scored:
                per_setting[setting].append(zeros)
                if row.documents and setting in paired:
                    paired[setting].append(0.0)
                continue
            if len(found.relevant) < 2:
                raise InputError(
                    f"query {row.query_id} has a single document to rank; NDCG needs two or more "
                    "(give it negatives or a longer first-stage list)"
                )
            if setting in MODEL_SETTINGS:
                values = np.array([scores[(row.query, doc)] for doc in found.documents], dtype=np.float32)
            else:
                values = np.array(range(len(found.relevant), 0, -1))
            positives = found.positives if definition == ALL_POSITIVES else None
            per_setting[setting].append(query_metrics(found.relevant, values, at_k, positives))
            if row.documents and setting in paired:
                paired[setting].append(per_setting[setting][-1][f"ndcg@{at_k}"])
            if setting == "realistic_":
                order = np.argsort(values)[::-1]
                rankings[row.query_id] = [(row.doc_id(found.documents[i]), float(values[i])) for i in order]
    metrics = {
        f"{setting}{name}": float(np.mean([values[name] for values in per_query]))
        for setting, per_query in per_setting.items()
        for name in names
    }
    return metrics, paired, rankings


def teacher_pairs(rows: Sequence[RerankingRow]) -> list[tuple[Pair, float]]:
    """Every (query, document) pair with a teacher score, with that score, in row order."""
    return [
        ((row.query, document), float(value))
        for row in rows
        for document, value in zip(row.documents, row.scores, strict=False)
        if value is not None
    ]


def correlation(teacher: list[float], predicted: np.ndarray) -> dict[str, float]:
    """``pearson`` and ``spearman`` exactly as CrossEncoderCorrelationEvaluator computes them (the teacher
    scores as a list, the model's float32 scores as returned); empty below two pairs or when undefined
    (constant scores)."""
    from scipy.stats import pearsonr, spearmanr

    if len(teacher) < 2:
        return {}
    pearson, _ = pearsonr(teacher, predicted.astype(np.float32))
    spearman, _ = spearmanr(teacher, predicted.astype(np.float32))
    values = {"pearson": float(pearson), "spearman": float(spearman)}
    return values if all(np.isfinite(v) for v in values.values()) else {}
