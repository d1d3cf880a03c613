"""Reranking a split's lists with a sparse or a multi-vector encoder, exactly as sentence-transformers'
``SparseRerankingEvaluator`` and ``MultiVectorRerankingEvaluator`` measure it (task ``encoder-reranking``).

Both evaluators are ``RerankingEvaluator`` with their kind's encoding: a sample is ``{query, positive,
negative}`` and its candidates are its positives followed by its negatives. A row of a reranking split
(:mod:`hubrerank.evaluation.samples`) becomes one: its ``negative`` list, or, when it has a first-stage
list, the ``documents`` that are not positives (the positives are always ranked: the evaluators have no
other setting). Rows without a positive or without a negative are left out, as the evaluators drop them.

Scores, as the evaluators' batched path computes them: every query encoded in one call
(``encode_query``), every sample's candidates one after another, repeats included, in another
(``encode_document``), with the retriever's batch size; a sparse encoder's vectors as a list of sparse
tensors on the CPU, a multi-vector encoder's as token matrices; each query scored against its candidates
by the model's own similarity (dot product; MaxSim, the query as a one-query batch). Metrics, named as the
evaluators name them (``name`` empty): ``map`` (scikit-learn's ``average_precision_score`` over all
candidates), ``mrr@k`` (the first positive in ``torch.argsort`` of the negated scores, cut at k) and
``ndcg@k`` (scikit-learn's ``ndcg_score``, ties averaged), each a mean over the samples; a sparse encoder
also ``query_active_dims``, ``query_sparsity_ratio``, ``corpus_active_dims`` and ``corpus_sparsity_ratio``
(``SparseEncoder.sparsity`` of all the query and all the candidate vectors).

Beside the result, :func:`evaluate_encoder_reranking` keeps each measured query's NDCG@k (for the paired
test of two models, :mod:`hubrerank.evaluation.significance`) and its candidates in the evaluator's order
(``torch.argsort`` of the negated scores, the order MRR is read from) with their scores, for a TREC run
file: query ids the split's, document ids as a reranking task's run file has them
(:meth:`~hubrerank.evaluation.samples.RerankingRow.doc_id`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hubrerank.errors import InputError
from hubrerank.evaluation.multi_vector_retrieval import MultiVectorRetriever
from hubrerank.evaluation.samples import RerankingData, RerankingRow
from hubrerank.evaluation.sparse_retrieval import SparseRetriever
from hubrerank.kinds.spec import ENCODER_RERANKING

Ranking = list[tuple[str, float]]  # (document id, score), best first


@dataclass(frozen=True)
class EncoderRerankingOutcome:
    """One ``encoder-reranking`` entry of eval_results.json, and by query id each measured query's NDCG@k
    and its ranked candidates (module docstring)."""

    result: dict[str, Any]
    per_query_ndcg: dict[str, float]
    rankings: dict[str, Ranking]


def encoder_samples(data: RerankingData) -> list[dict[str, Any]]:
    """The split's rows as the evaluators' samples, without those they drop (module docstring)."""
    return [sample for _, sample in _measured(data)]


def _measured(data: RerankingData) -> list[tuple[RerankingRow, dict[str, Any]]]:
    """Each row the evaluators keep, with its sample."""
    measured = []
    for row in data.rows:
        positives = set(row.positive)
        negative = (
            [text for text in row.documents if text not in positives] if row.documents else row.negative
        )
        if row.positive and negative:
            sample = {"query": row.query, "positive": list(row.positive), "negative": list(negative)}
            measured.append((row, sample))
    return measured


def candidate_scores(
    retriever: SparseRetriever | MultiVectorRetriever, samples: Sequence[Mapping[str, Any]]
) -> tuple[list[Any], dict[str, float]]:
    """Each sample's scores of its positives then negatives (1-d tensors), as the evaluator scores them,
    and a sparse encoder's sparsity of the query and candidate vectors (empty for a multi-vector one)."""
    import torch

    queries = _encode(retriever, [sample["query"] for sample in samples], "query")
    documents = _encode(
        retriever,
        [text for sample in samples for text in (*sample["positive"], *sample["negative"])],
        "document",
    )
    sparse = isinstance(retriever, SparseRetriever)
    scores, start = [], 0
    for query, sample in zip(queries, samples, strict=True):
        end = start + len(sample["positive"]) + len(sample["negative"])
        # the multi-vector evaluator scores the query as a one-query batch
        score = retriever.model.similarity(query if sparse else [query], documents[start:end])
        scores.append(score[0] if len(score.shape) > 1 else score)
        start = end
    stats: dict[str, float] = {}
    if sparse:
        for prefix, vectors in (("query", queries), ("corpus", documents)):
            for key, value in retriever.model.sparsity(torch.stack(vectors)).items():
                stats[f"{prefix}_{key}"] = float(value)
    return scores, stats


def query_metrics(sample: Mapping[str, Any], score: Any, order: Any, at_k: int) -> dict[str, float]:
    """The evaluators' ``map``, ``mrr@k`` and ``ndcg@k`` of one sample's candidate scores, ``order`` their
    ``torch.argsort`` of the negated scores."""
    from sklearn.metrics import average_precision_score, ndcg_score

    relevant = [1] * len(sample["positive"]) + [0] * len(sample["negative"])
    values = score.cpu().tolist()
    first = next((rank for rank, index in enumerate(order[:at_k]) if relevant[index]), None)
    return {
        "map": float(average_precision_score(relevant, values)),
        f"mrr@{at_k}": 0.0 if first is None else 1 / (first + 1),
        f"ndcg@{at_k}": float(ndcg_score([relevant], [values], k=at_k)),
    }


def mean_metrics(per_query: Sequence[Mapping[str, float]], at_k: int) -> dict[str, float]:
    """The evaluators' ``map``, ``mrr@k`` and ``ndcg@k``: means of the per-query values."""
    import numpy as np

    return {
        key: float(np.mean([values[key] for values in per_query]))
        for key in ("map", f"mrr@{at_k}", f"ndcg@{at_k}")
    }


def evaluate_encoder_reranking(
    retriever: SparseRetriever | MultiVectorRetriever, task: Mapping[str, Any], data: RerankingData
) -> EncoderRerankingOutcome:
    """The task's split measured as its kind's reranking evaluator measures it. The result's
    ``num_queries`` counts the samples measured, ``queries_left_out`` the rows without a positive or a
    negative; ``similarity`` is the model's."""
    import torch

    measured = _measured(data)
    if not measured:
        raise InputError(
            f"{data.dataset} split {data.split} has no query with both a positive and a negative"
        )
    samples = [sample for _, sample in measured]
    scores, stats = candidate_scores(retriever, samples)
    at_k = task["at_k"]
    per_query, rankings = [], {}
    for (row, sample), score in zip(measured, scores, strict=True):
        order = torch.argsort(-score)
        per_query.append(query_metrics(sample, score, order, at_k))
        texts = [*sample["positive"], *sample["negative"]]
        rankings[row.query_id] = [(row.doc_id(texts[index]), float(score[index])) for index in order.tolist()]
    result = {
        "task": ENCODER_RERANKING,
        "dataset": data.dataset,
        "revision": data.revision,
        "config": data.config,
        "split": data.split,
        "at_k": at_k,
        "num_queries": len(samples),
        "queries_left_out": len(data.rows) - len(samples),
        "similarity": retriever.similarity_fn_name,
        "metrics": mean_metrics(per_query, at_k) | stats,
    }
    ndcg = {
        row.query_id: values[f"ndcg@{at_k}"] for (row, _), values in zip(measured, per_query, strict=True)
    }
    return EncoderRerankingOutcome(result, ndcg, rankings)


def encoder_reranking_headline(result: Mapping[str, Any]) -> str:
    """One line of an encoder-reranking result: MAP, MRR@k and NDCG@k."""
    metrics, at_k = result["metrics"], result["at_k"]
    return (
        f"{result['dataset']}:{result['split']} reranking each query's lists, "
        f"{result['num_queries']} queries: ndcg@{at_k} {metrics[f'ndcg@{at_k}']:.4f}  "
        f"mrr@{at_k} {metrics[f'mrr@{at_k}']:.4f}  map {metrics['map']:.4f}"
    )


def _encode(retriever: SparseRetriever | MultiVectorRetriever, texts: list[str], role: str) -> list[Any]:
    """The vectors of ``texts`` as the kind's reranking evaluator encodes them (module docstring)."""
    model = retriever.model
    function = model.encode_query if role == "query" else model.encode_document
    options = (
        {"convert_to_sparse_tensor": True, "convert_to_tensor": False, "save_to_cpu": True}
        if isinstance(retriever, SparseRetriever)
        else {}
    )
    return list(
        function(texts, batch_size=retriever.batch_size, show_progress_bar=retriever.progress, **options)
    )
