"""Bi-encoder embeddings through one function, :func:`encode`, cached by the model's bytes.

Retrieval evaluation, NanoBEIR retrieval, the data build's mining and first stage, and the pipeline all
embed through :func:`encode`, so a text a model has embedded once is never embedded again: entries are
keyed by (model identity, setting, text), where the identity is a sha256 of the files that make the
model's outputs (:func:`hubrerank.hashing.model_identity`, the key of the cross-encoder score cache too)
and the setting is everything else that changes a vector: query or document role, the prompt, the
``max_seq_length``, normalisation and truncation. Vectors are stored as float32 bytes, so they round-trip
exactly. The table lives in ``$HUBRERANK_HOME/scores.sqlite`` beside the cross-encoder logits.

:class:`Embedder` is a loaded SentenceTransformer with its identity and cache; it also answers the calls
sentence-transformers' evaluators and ``mine_hard_negatives`` make on a model (``encode_query``,
``encode_document``, and everything else passed through), so they run unchanged on cached embeddings.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np

from hubrerank.endpoint import hubrerank_home
from hubrerank.runtime import BY_TOKENS, FLOAT32, Variant

Role = Literal["query", "document"]
_CHUNK = 900  # stay under SQLite's default limit of host parameters per statement
_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    model TEXT NOT NULL,
    setting TEXT NOT NULL,
    text BLOB NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, setting, text)
) WITHOUT ROWID
"""


def text_key(text: str) -> bytes:
    """A fixed-size key for a text."""
    return hashlib.sha256(text.encode()).digest()[:20]


class EmbeddingCache:
    """float32 embeddings of texts for one or many models, in one SQLite file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or hubrerank_home() / "scores.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)
        self._db.commit()

    def get(self, model: str, setting: str, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        """The cached vectors among ``keys`` (missing keys are absent from the result)."""
        found: dict[bytes, np.ndarray] = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT text, vector FROM embeddings WHERE model = ? AND setting = ? AND text IN ({marks})",
                (model, setting, *chunk),
            )
            found.update((key, np.frombuffer(vector, dtype=np.float32)) for key, vector in rows)
        return found

    def put(self, model: str, setting: str, items: Iterable[tuple[bytes, np.ndarray]]) -> None:
        """Store vectors and commit, so an interrupted run keeps what it has computed."""
        self._db.executemany(
            "INSERT OR REPLACE INTO embeddings (model, setting, text, vector) VALUES (?, ?, ?, ?)",
            (
                (model, setting, key, np.ascontiguousarray(vector, dtype=np.float32).tobytes())
                for key, vector in items
            ),
        )
        self._db.commit()

    def close(self) -> None:
        self._db.close()


@dataclass
class Embedder:
    """A loaded SentenceTransformer, the folder it was loaded from (its cache identity) and the cache.

    ``computed`` and ``reused`` count the texts embedded by the model and those answered by the cache.
    ``variant`` is how the model runs (backend, file, dtype, device; ``devices`` splits the texts across
    processes, with the vectors of one device); its vectors are cached apart from float32 torch's.
    """

    model: Any
    path: Path
    cache: EmbeddingCache | None = None
    batch_size: int = 32
    progress: bool = False
    variant: Variant = FLOAT32
    computed: int = field(default=0, init=False)
    reused: int = field(default=0, init=False)

    @cached_property
    def identity(self) -> str:
        """The model's cache identity in its variant, computed when the cache first needs it."""
        from hubrerank.backends import cache_identity

        return cache_identity(self.path, self.variant)

    def encode_query(self, sentences: Sequence[str], **options: Any) -> Any:
        """``SentenceTransformer.encode_query`` for evaluators, through :func:`encode`."""
        return self._encode(sentences, "query", options)

    def encode_document(self, sentences: Sequence[str], **options: Any) -> Any:
        """``SentenceTransformer.encode_document`` for evaluators, through :func:`encode`."""
        return self._encode(sentences, "document", options)

    def __getattr__(self, name: str) -> Any:
        # everything else an evaluator or mine_hard_negatives asks of the model (similarity,
        # model_card_data, device, ...) is the model's own; "model" itself is absent only while a copy
        # is being built, and must not recurse
        if name == "model":
            raise AttributeError(name)
        return getattr(self.model, name)

    def _encode(self, sentences: Sequence[str], role: Role, options: dict[str, Any]) -> Any:
        import torch

        unsupported = {key for key, value in options.items() if value is not None} - _ACCEPTED
        if unsupported:
            raise TypeError(f"Embedder.encode_{role} does not take {', '.join(sorted(unsupported))}")
        prompt = options.get("prompt")
        if prompt is None and options.get("prompt_name") is not None:
            prompt = self.model.prompts[options["prompt_name"]]
        vectors = encode(
            self,
            list(sentences),
            role,
            prompt=prompt,
            normalize=bool(options.get("normalize_embeddings")),
            truncate_dim=options.get("truncate_dim"),
            batch_size=options.get("batch_size") or self.batch_size,
        )
        return torch.from_numpy(vectors) if options.get("convert_to_tensor") else vectors


# the encode options evaluators and mine_hard_negatives pass that encode() honours (pool: None only)
_ACCEPTED = {
    "prompt",
    "prompt_name",
    "normalize_embeddings",
    "truncate_dim",
    "batch_size",
    "convert_to_tensor",
    "convert_to_numpy",
    "show_progress_bar",
}


def load_embedder(
    path: Path,
    cache: EmbeddingCache | None = None,
    *,
    batch_size: int = 32,
    progress: bool = False,
    precision: Variant = FLOAT32,
    trust_remote_code: bool = False,
) -> Embedder:
    """A SentenceTransformer from a local folder in the variant ``precision``, ready for
    :func:`encode` (the caller checks the kind)."""
    from sentence_transformers import SentenceTransformer

    from hubrerank.backends import load_model

    model = load_model(
        SentenceTransformer, path, precision, trust_remote_code=trust_remote_code, local_files_only=True
    )
    return Embedder(model, path, cache, batch_size, progress, precision)


def encode(
    embedder: Embedder,
    texts: Sequence[str],
    role: Role,
    *,
    prompt: str | None = None,
    normalize: bool = False,
    truncate_dim: int | None = None,
    batch_size: int | None = None,
) -> np.ndarray:
    """float32 embeddings of ``texts`` (one row each, in order) as queries or documents.

    Each distinct text not in the cache is embedded once, by ``encode_query`` / ``encode_document`` of
    the model (so its own prompts, pooling and modules apply); with no text missing, no forward pass
    runs. ``prompt`` None uses the model's prompt for the role, as those methods do.
    """
    model = embedder.model
    by_tokens = _batches_by_tokens(embedder.variant)
    setting = json.dumps(
        {
            "role": role,
            "prompt": prompt if prompt is not None else model.prompts.get(role),
            "max_seq_length": model.max_seq_length,
            "normalize": normalize,
            "truncate_dim": truncate_dim or model.truncate_dim,
        }
        | ({"batching": "tokens"} if by_tokens else {}),
        sort_keys=True,
    )
    keys = [text_key(text) for text in texts]
    unique = dict(zip(keys, texts, strict=True))
    cache = embedder.cache
    known = cache.get(embedder.identity, setting, list(unique)) if cache else {}
    missing = [(key, text) for key, text in unique.items() if key not in known]
    embedder.reused += len(unique) - len(missing)
    if missing:
        options = {
            "prompt": prompt,
            "batch_size": batch_size or embedder.batch_size,
            "normalize_embeddings": normalize,
            "truncate_dim": truncate_dim,
            "convert_to_numpy": True,
            "show_progress_bar": embedder.progress,
        }
        function = model.encode_query if role == "query" else model.encode_document
        texts_missing = [text for _, text in missing]
        if by_tokens or len(embedder.variant.devices) > 1:
            vectors = _encode_in_order(embedder, function, texts_missing, options)
        else:
            vectors = function(texts_missing, **options)
        computed = [
            (key, np.asarray(vector, dtype=np.float32))
            for (key, _), vector in zip(missing, vectors, strict=True)
        ]
        if cache:
            cache.put(embedder.identity, setting, computed)
        known.update(computed)
        embedder.computed += len(missing)
    if not keys:
        return np.zeros((0, model.get_embedding_dimension() or 0), dtype=np.float32)
    return np.stack([known[key] for key in keys]).astype(np.float32, copy=False)


def _encode_in_order(
    embedder: Embedder, function: Any, texts: list[str], options: dict[str, Any]
) -> np.ndarray:
    """``function`` (the model's ``encode_query`` / ``encode_document``) on ``texts`` in batches of
    ``options["batch_size"]`` taken in a fixed order, on one device or across one process per device.

    A variant other than float32 torch batches texts of similar token count (longest first, as
    :class:`hubrerank.evaluation.scoring.Scorer` batches pairs): sentence-transformers sorts by character
    count, and the padding that leaves costs ONNX int8 a quarter of its time (BENCHMARKS.md). float32 keeps
    the library's batches, so its vectors stay what they were, and so does a variant re-measuring a result
    recorded before (``batching: characters``): ONNX's dynamic int8 scales each batch's activations
    together, so its vectors depend on which texts share a batch. Across devices, each process gets whole
    batches of that order (``chunk_size`` = the batch size, :func:`hubrerank.runtime.process_pool`), so the
    vectors are the ones a single device gives."""
    from tqdm.auto import tqdm

    from hubrerank.runtime import process_pool

    model, size = embedder.model, options["batch_size"]
    by_tokens = _batches_by_tokens(embedder.variant)
    order = _token_order(model, texts) if by_tokens else _library_order(model, texts)
    ordered = [texts[index] for index in order]
    if len(embedder.variant.devices) > 1:
        with process_pool(model, embedder.variant.devices) as pool:
            in_order = function(ordered, pool=pool, chunk_size=size, **options)
    else:
        starts = range(0, len(ordered), size)
        batches = [
            function(ordered[start : start + size], **{**options, "show_progress_bar": False})
            for start in tqdm(starts, desc="Embedding", unit="batch", disable=not embedder.progress)
        ]
        in_order = np.concatenate(batches)
    vectors = np.empty_like(in_order)
    vectors[order] = in_order
    return vectors


def _batches_by_tokens(variant: Variant) -> bool:
    """Whether ``variant`` batches texts by token count (:data:`hubrerank.runtime.BATCHINGS`): every variant
    but float32 torch, whose vectors (and cache entries) stay the library's own batches', and a variant
    re-measuring a result recorded before batching was."""
    return variant.batching == BY_TOKENS


def _token_order(model: Any, texts: list[str]) -> np.ndarray:
    """Indices of ``texts`` by token count after truncation, longest first (ties in input order)."""
    encoded = model.tokenizer(texts, truncation=True, max_length=model.max_seq_length)
    return np.argsort([-len(ids) for ids in encoded["input_ids"]], kind="stable")


def _library_order(model: Any, texts: list[str]) -> np.ndarray:
    """Indices of ``texts`` in the order one device's ``encode`` batches them: longest first by
    sentence-transformers' own length measure, interleaved where it flattens inputs, as
    ``SentenceTransformer._inference`` sorts (three private methods; tests/evaluation/test_eval_devices.py
    fails if a release changes them)."""
    order = np.argsort([-model._input_length(text) for text in texts])
    if model._can_flatten_inputs():
        order = model._interleave_sorted_indices(order)
    return order
