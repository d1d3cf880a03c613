"""Score (query, document) pairs with a cross-encoder: token-length batches, a persistent cache, activations.

``CrossEncoder.predict`` sorts its inputs by character length, so batches mix short and long pairs and
about a quarter of the work is padding (../notes/measurements.md). :class:`Scorer` sorts the pairs that
are not cached yet by token count, scores each batch with ``predict`` itself (so prompts, truncation and
the float32 upcast stay the library's), and caches the raw logits. Activations are applied afterwards:
the model's own (what ``predict`` and the evaluators use), a sigmoid (FlagReranker's ``normalize=True``)
or none.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np

from hubrerank.errors import InputError
from hubrerank.evaluation.cache import ScoreCache, pair_key
from hubrerank.kinds.detect import model_kind, read_json
from hubrerank.runtime import FLOAT32, Variant

Activation = Literal["model", "sigmoid", "raw"]


def check_cross_encoder(path: Path) -> None:
    """Raise InputError unless ``path`` holds a cross-encoder (and not a bi-encoder or a headless base)."""
    kind = model_kind(path)
    if kind in ("bi-encoder", "sparse-encoder"):
        model_class = "SentenceTransformer" if kind == "bi-encoder" else "SparseEncoder"
        raise InputError(
            f"{path} is a {model_class} ({kind}), not a cross-encoder; give a reranker (CrossEncoder) model"
        )
    if kind == "base":
        architectures = read_json(path / "config.json").get("architectures") or []
        raise InputError(
            f"{path} has no sequence-classification head and is no causal LM (config.json architectures: "
            f"{', '.join(architectures) or 'none'}); give a trained reranker, or train one first"
        )


def load_cross_encoder(
    path: Path,
    max_length: int | None = None,
    trust_remote_code: bool = False,
    precision: Variant = FLOAT32,
) -> Any:
    """Load a single-logit CrossEncoder from a local folder, after :func:`check_cross_encoder`, as the
    variant ``precision`` (its dtype and device through sentence-transformers' own loading; another
    backend's runtime attached by :mod:`hubrerank.backends`).

    ``trust_remote_code`` lets a model with its own Python code load; only the user may ask for it.
    """
    from sentence_transformers import CrossEncoder

    from hubrerank.backends import load_model

    check_cross_encoder(path)
    model = load_model(
        CrossEncoder, path, precision, max_length=max_length, trust_remote_code=trust_remote_code
    )
    if model.num_labels != 1:
        raise InputError(
            f"{path} has {model.num_labels} output labels; a reranker scores with exactly one (num_labels=1)"
        )
    return model


class Scorer:
    """Scores pairs with one cross-encoder, reading and filling a :class:`ScoreCache` when given.

    It also has the two members sentence-transformers evaluators call on a model (``predict`` and
    ``model_card_data``), so ``CrossEncoderNanoBEIREvaluator(...)(scorer)`` scores through the cache.
    ``precision`` is the variant the model runs as (backend, file, dtype, device; ``devices`` splits the
    pairs across processes); its logits are cached apart from float32 torch's.
    """

    def __init__(
        self,
        model_path: Path,
        *,
        max_length: int | None = None,
        batch_size: int = 32,
        cache: ScoreCache | None = None,
        progress: bool = False,
        trust_remote_code: bool = False,
        precision: Variant = FLOAT32,
    ) -> None:
        self.model = load_cross_encoder(model_path, max_length, trust_remote_code, precision)
        self.model_path = model_path
        self.precision = precision
        self.max_length = int(self.model.max_seq_length)
        self.batch_size = batch_size
        self.cache = cache
        self.progress = progress
        self.computed = 0  # pairs sent through the model by this scorer
        self.reused = 0  # pairs answered from the cache

    @cached_property
    def identity(self) -> str:
        """The cache identity of the model in its variant (its bytes' identity, plus the dtype unless
        float32, plus the backend and variant file's bytes), computed when the cache first needs it."""
        from hubrerank.backends import cache_identity

        return cache_identity(self.model_path, self.precision)

    @property
    def model_card_data(self) -> Any:
        return self.model.model_card_data

    def predict(self, pairs: Sequence[Sequence[str]], **_: Any) -> np.ndarray:
        """Scores as ``CrossEncoder.predict`` returns them (model activation), for evaluators."""
        return self.scores(pairs, "model")

    def scores(self, pairs: Sequence[Sequence[str]], activation: Activation = "model") -> np.ndarray:
        """float32 scores of ``pairs`` after ``activation``: the model's own, a sigmoid, or raw logits."""
        import torch

        logits = self.logits(pairs)
        if activation == "raw":
            return logits
        function = self.model.activation_fn if activation == "model" else torch.sigmoid
        with torch.inference_mode():
            return function(torch.from_numpy(logits)).numpy()

    def logits(self, pairs: Sequence[Sequence[str]]) -> np.ndarray:
        """Raw float32 logits of ``pairs``; each distinct pair not in the cache is scored once."""
        keys = [pair_key(query, document) for query, document in pairs]
        unique = dict(zip(keys, pairs, strict=True))
        known = self.cache.get(self.identity, self.max_length, list(unique)) if self.cache else {}
        missing = [(key, pair) for key, pair in unique.items() if key not in known]
        self.reused += len(unique) - len(missing)
        known.update(self._compute(missing))
        return np.array([known[key] for key in keys], dtype=np.float32)

    def _compute(self, items: list[tuple[bytes, Sequence[str]]]) -> dict[bytes, float]:
        """Score ``items`` in batches of similar token length, longest first; cache each batch."""
        import torch
        from tqdm.auto import tqdm

        if not items:
            return {}
        queries = [pair[0] for _, pair in items]
        documents = [pair[1] for _, pair in items]
        encoded = self.model.tokenizer(queries, documents, truncation=True, max_length=self.max_length)
        order = np.argsort([-len(ids) for ids in encoded["input_ids"]], kind="stable")
        identity = torch.nn.Identity()
        computed: dict[bytes, float] = {}
        if len(self.precision.devices) > 1:
            return self._compute_on_devices([items[index] for index in order], identity)
        starts = range(0, len(order), self.batch_size)
        for start in tqdm(starts, desc="Scoring", unit="batch", disable=not self.progress):
            batch = [items[index] for index in order[start : start + self.batch_size]]
            logits = self.model.predict(
                [list(pair) for _, pair in batch],
                batch_size=len(batch),
                activation_fn=identity,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            scored = [(key, float(value)) for (key, _), value in zip(batch, logits, strict=True)]
            if self.cache:
                self.cache.put(self.identity, self.max_length, scored)
            computed.update(scored)
        self.computed += len(items)
        return computed

    def _compute_on_devices(
        self, ordered: list[tuple[bytes, Sequence[str]]], identity: Any
    ) -> dict[bytes, float]:
        """Score pairs already in batch order across one process per device (sentence-transformers'
        multi-process pool, :func:`hubrerank.runtime.process_pool`, started for this call): each process
        gets whole batches (``chunk_size`` = the batch size), the batches one device would score, so the
        logits are the same."""
        from hubrerank.runtime import process_pool

        with process_pool(self.model, self.precision.devices) as pool:
            logits = self.model.predict(
                [list(pair) for _, pair in ordered],
                pool=pool,
                batch_size=self.batch_size,
                chunk_size=self.batch_size,
                activation_fn=identity,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        scored = [(key, float(value)) for (key, _), value in zip(ordered, logits, strict=True)]
        if self.cache:
            self.cache.put(self.identity, self.max_length, scored)
        self.computed += len(ordered)
        return dict(scored)
