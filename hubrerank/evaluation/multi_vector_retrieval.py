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
from typing import Any

import numpy as np

from hubrerank.errors import InputError
from hubrerank.evaluation.retrieval import RetrievalCorpus, RetrievalOutcome, scored_outcome
from hubrerank.kinds.detect import model_kind
from hubrerank.runtime import DEFAULT_BACKEND, FLOAT32, Variant, model_options


@dataclass
class MultiVectorRetriever:
    """A loaded ``MultiVectorEncoder``, the folder it came from, and how it encodes (batch size, progress
    bar, the dtype it runs in). It stands in for the model in sentence-transformers' evaluators: every
    other attribute is the model's own."""

    model: Any
    path: Path
    batch_size: int = 32
    progress: bool = False
    dtype: str = FLOAT32.dtype

    @property
    def similarity_fn_name(self) -> str:
        """The model's similarity (``maxsim``), the prefix of the evaluator's metric names."""
        return str(self.model.similarity_fn_name)

    def __getattr__(self, name: str) -> Any:
        # "model" itself is absent only while a copy is being built, and must not recurse
        if name == "model":
            raise AttributeError(name)
        return getattr(self.model, name)

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


def load_multi_vector_encoder(
    path: Path,
    *,
    batch_size: int = 32,
    progress: bool = False,
    trust_remote_code: bool = False,
    precision: Variant = FLOAT32,
) -> MultiVectorRetriever:
    """A MultiVectorEncoder from a local folder in ``precision``; InputError unless the folder holds one."""
    kind = model_kind(path)
    if kind != "multi-vector":
        raise InputError(f"{path} is a {kind} model, not a multi-vector encoder (MultiVectorEncoder)")
    if precision.backend != DEFAULT_BACKEND:
        raise InputError(
            f"{path}: a multi-vector encoder runs on torch here; drop --backend {precision.backend}"
        )
    from sentence_transformers import MultiVectorEncoder

    model = MultiVectorEncoder(
        str(path), trust_remote_code=trust_remote_code, local_files_only=True, **model_options(precision)
    )
    return MultiVectorRetriever(model, path, batch_size, progress, precision.dtype)


def evaluate_multi_vector_retrieval(
    retriever: MultiVectorRetriever, corpus: RetrievalCorpus, at_k: int
) -> RetrievalOutcome:
    """Rank the whole corpus for every query by MaxSim and measure it: the evaluator's metrics (without
    its ``maxsim_`` prefix) and each query's top ``max(100, at_k)`` with its scores."""
    return scored_outcome(retriever.similarity_matrix(corpus), corpus, at_k)
