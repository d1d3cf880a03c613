"""Retrieval over a whole corpus with a multi-vector (late-interaction, ColBERT-style) encoder, with
exactly ``MultiVectorInformationRetrievalEvaluator``'s metrics.

The data and the ranking metrics are the bi-encoder's (:mod:`hubrerank.evaluation.retrieval`). What
differs is the model: each text becomes one vector per token (``encode_query`` / ``encode_document``),
queries padded into one tensor as the evaluator pads them, and a query scores a document by the model's
own similarity (MaxSim, ``SimilarityFunction.to_similarity_fn(model.similarity_fn_name)``), the library's
own late-interaction scoring. Token vectors are not cached: each evaluation encodes its texts once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass
class MultiVectorRetriever(EncoderRetriever):
    """A loaded ``MultiVectorEncoder`` (:class:`~hubrerank.evaluation.retrieval.EncoderRetriever`)."""

    NAME: ClassVar[str] = "multi-vector encoder"
    KIND: ClassVar[str] = "multi-vector"
    MODEL_CLASS: ClassVar[str] = "MultiVectorEncoder"

    def similarity_matrix(self, corpus: RetrievalCorpus) -> np.ndarray:
        """The model's score of every query (rows, in ``corpus.queries`` order) for every document
        (columns, in ``corpus.corpus`` order), as the evaluator scores them."""
        import torch
        from sentence_transformers.util.similarity import SimilarityFunction

        queries = self._vectors(list(corpus.queries.values()), "query")
        documents = self._vectors(list(corpus.corpus.values()), "document")
        padded = torch.nn.utils.rnn.pad_sequence(queries, batch_first=True)
        score = SimilarityFunction.to_similarity_fn(self.model.similarity_fn_name)
        return score(padded, documents).cpu().numpy()

    def _vectors(self, texts: Sequence[str], role: str) -> list[Any]:
        function = self.model.encode_query if role == "query" else self.model.encode_document
        return function(list(texts), batch_size=self.batch_size, show_progress_bar=self.progress)


def load_multi_vector_encoder(path: Path, **options: Any) -> MultiVectorRetriever:
    """A MultiVectorEncoder from a local folder (``options``: those of
    :func:`~hubrerank.evaluation.retrieval.load_encoder_retriever`); InputError unless it holds one."""
    return load_encoder_retriever(path, MultiVectorRetriever, **options)


def evaluate_multi_vector_retrieval(
    retriever: MultiVectorRetriever, corpus: RetrievalCorpus, at_k: int
) -> RetrievalOutcome:
    """Rank the whole corpus for every query by MaxSim and measure it: the evaluator's metrics (without
    its ``maxsim_`` prefix) and each query's top ``max(100, at_k)`` with its scores."""
    return scored_outcome(retriever.similarity_matrix(corpus), corpus, at_k)
