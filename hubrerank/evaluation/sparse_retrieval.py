"""Retrieval over a whole corpus with a sparse encoder (SPLADE), with exactly
``SparseInformationRetrievalEvaluator``'s metrics and sparsity.

The data and the ranking metrics are the bi-encoder's (:mod:`hubrerank.evaluation.retrieval`): the same
split, queries, corpus and relevance, the same ``accuracy@k``, ``precision@k``, ``recall@k``, ``mrr@k``,
``ndcg@k`` and ``map@100``, ties broken by ascending corpus id. What differs is the model: queries and
documents become sparse vocabulary-sized vectors (``encode_query`` / ``encode_document`` with
``convert_to_sparse_tensor``), scored by the model's own similarity (a dot product) as one sparse matrix
product, which is sentence-transformers' own sparse search. The evaluator also reports how sparse the
vectors are, and so does this module, with the library's own functions (``SparseEncoder.sparsity``,
``util.compute_count_vector``): ``query_active_dims``, ``query_sparsity_ratio``, ``corpus_active_dims``,
``corpus_sparsity_ratio`` (means over the texts) and ``avg_flops`` (the expected number of shared
non-zero dimensions of a query and a document, the cost of the dot product).

Sparse vectors are not cached: each evaluation encodes its texts once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from hubrerank.evaluation.retrieval import (
    EncoderRetriever,
    RetrievalCorpus,
    RetrievalOutcome,
    load_encoder_retriever,
    scored_outcome,
)

SPARSITY_KEYS = (
    "query_active_dims",
    "query_sparsity_ratio",
    "corpus_active_dims",
    "corpus_sparsity_ratio",
    "avg_flops",
)


@dataclass
class SparseRetriever(EncoderRetriever):
    """A loaded ``SparseEncoder`` (:class:`~hubrerank.evaluation.retrieval.EncoderRetriever`); it stands in
    for the model in SparseNanoBEIREvaluator."""

    NAME: ClassVar[str] = "sparse encoder"
    KIND: ClassVar[str] = "sparse-encoder"
    MODEL_CLASS: ClassVar[str] = "SparseEncoder"

    def vectors(self, texts: Sequence[str], role: str) -> Any:
        """The sparse (COO) vectors of ``texts`` as queries or documents, on the CPU, as the evaluator
        encodes them."""
        function = self.model.encode_query if role == "query" else self.model.encode_document
        return function(
            list(texts),
            batch_size=self.batch_size,
            show_progress_bar=self.progress,
            convert_to_sparse_tensor=True,
            save_to_cpu=True,
        )


def load_sparse_encoder(path: Path, **options: Any) -> SparseRetriever:
    """A SparseEncoder from a local folder (:func:`~hubrerank.evaluation.retrieval.load_encoder_retriever`
    takes the ``options``); InputError unless the folder holds one."""
    return load_encoder_retriever(path, SparseRetriever, **options)


def sparsity(retriever: SparseRetriever, queries: Any, documents: Any) -> dict[str, float]:
    """The evaluator's sparsity statistics of the query and document vectors (module docstring)."""
    import torch
    from sentence_transformers.util import compute_count_vector

    stats: dict[str, float] = {}
    counts = []
    for prefix, vectors in (("query", queries), ("corpus", documents)):
        for key, value in retriever.model.sparsity(vectors).items():
            stats[f"{prefix}_{key}"] = float(value)
        counts.append(compute_count_vector(vectors) / vectors.shape[0])
    stats["avg_flops"] = float(torch.dot(counts[0], counts[1]).cpu())
    return stats


def evaluate_sparse_retrieval(
    retriever: SparseRetriever, corpus: RetrievalCorpus, at_k: int
) -> RetrievalOutcome:
    """Rank the whole corpus for every query with the sparse encoder and measure it; the metrics are the
    evaluator's ranking metrics (without its ``dot_`` prefix) and its sparsity statistics, the outcome
    keeps each query's top ``max(100, at_k)`` with its scores (what a TREC run file holds)."""
    queries, documents, scores = _score(retriever, corpus)
    outcome = scored_outcome(scores, corpus, at_k)
    return replace(outcome, metrics=outcome.metrics | sparsity(retriever, queries, documents))


def sparse_similarity_matrix(retriever: SparseRetriever, corpus: RetrievalCorpus) -> np.ndarray:
    """The sparse encoder's similarity of every query (rows, in ``corpus.queries`` order) to every
    document (columns, in ``corpus.corpus`` order): a pipeline's first stage."""
    return _score(retriever, corpus)[2]


def _score(retriever: SparseRetriever, corpus: RetrievalCorpus) -> tuple[Any, Any, np.ndarray]:
    """The query vectors, the document vectors and their similarity matrix (one sparse product)."""
    queries = retriever.vectors(list(corpus.queries.values()), "query")
    documents = retriever.vectors(list(corpus.corpus.values()), "document")
    return queries, documents, retriever.model.similarity(queries, documents).cpu().numpy()


def sparsity_line(metrics: Mapping[str, float]) -> str:
    """How sparse the vectors were, in one line (after a retrieval headline)."""
    return (
        f"active dims: queries {metrics['query_active_dims']:.1f}, "
        f"documents {metrics['corpus_active_dims']:.1f} (sparsity {metrics['corpus_sparsity_ratio']:.4f}); "
        f"avg FLOPS {metrics['avg_flops']:.2f}"
    )
