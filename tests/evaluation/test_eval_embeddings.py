"""Bi-encoder embeddings cached by the model's bytes: exact float32 round trips, no forward pass on a
warm re-evaluation, a new entry for changed weights, and an opt-out."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from factories import build_tiny_bi_encoder

from hubrerank.embeddings import EmbeddingCache, encode, load_embedder
from hubrerank.evaluation import ScoreCache, run_evaluations


@pytest.fixture(scope="module")
def bi_encoder_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bi_encoder(tmp_path_factory.mktemp("embeddings") / "bi")


@pytest.fixture
def forward_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts SentenceTransformer forward passes (one per batch) while a test runs."""
    from sentence_transformers import SentenceTransformer

    calls: list[int] = []
    original = SentenceTransformer.forward

    def counting(self, features, *args, **kwargs):
        calls.append(len(features["input_ids"]))
        return original(self, features, *args, **kwargs)

    monkeypatch.setattr(SentenceTransformer, "forward", counting)
    yield calls


TEXTS = ["alpha beta", "gamma delta epsilon", "alpha beta", "zeta"]


def test_cached_vectors_are_the_models_own_bit_for_bit(bi_encoder_path: Path, tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "scores.sqlite")
    cold = load_embedder(bi_encoder_path, cache)
    first = encode(cold, TEXTS, "document")
    direct = cold.model.encode_document(TEXTS, convert_to_numpy=True)
    assert first.dtype == np.float32 and first.shape == direct.shape
    assert np.array_equal(first, direct)
    assert (cold.computed, cold.reused) == (3, 0)  # the repeated text is embedded once

    warm = load_embedder(bi_encoder_path, EmbeddingCache(tmp_path / "scores.sqlite"))
    assert np.array_equal(encode(warm, TEXTS, "document"), first)
    assert (warm.computed, warm.reused) == (0, 3)
    normalized = encode(warm, TEXTS, "document", normalize=True)  # another setting: another entry
    assert warm.computed == 3
    assert np.allclose(np.linalg.norm(normalized, axis=1), 1.0, atol=1e-6)


def test_a_warm_re_evaluation_runs_no_forward_pass(
    reranking_file: Path, bi_encoder_path: Path, tmp_path: Path, forward_calls: list[int]
) -> None:
    plan = {"retrieval": [{"dataset": str(reranking_file), "split": "test", "at_k": 10}]}
    cache = ScoreCache(tmp_path / "scores.sqlite")
    first = run_evaluations(bi_encoder_path, None, plan, cache=cache)
    assert forward_calls
    forward_calls.clear()
    second = run_evaluations(bi_encoder_path, None, plan, cache=cache)
    assert forward_calls == []
    assert second == first


def test_changed_weights_are_a_new_cache_entry(
    bi_encoder_path: Path, tmp_path: Path, forward_calls: list[int]
) -> None:
    from safetensors.torch import load_file, save_file

    cache = EmbeddingCache(tmp_path / "scores.sqlite")
    before = encode(load_embedder(bi_encoder_path, cache), TEXTS, "query")
    copy = tmp_path / "copy"
    shutil.copytree(bi_encoder_path, copy)
    (copy / "README.md").write_text("a new card keeps the entry\n")
    forward_calls.clear()
    assert np.array_equal(encode(load_embedder(copy, cache), TEXTS, "query"), before)
    assert forward_calls == []

    weights = copy / "model.safetensors"
    tensors = load_file(weights)
    name = next(key for key in tensors if key.endswith("word_embeddings.weight"))
    tensors[name] = tensors[name] * 2
    save_file(tensors, weights)
    changed = load_embedder(copy, cache)
    after = encode(changed, TEXTS, "query")
    assert forward_calls and changed.computed == 3
    assert not np.array_equal(after, before)


def test_no_cache_embeds_again(reranking_file: Path, bi_encoder_path: Path, forward_calls: list[int]) -> None:
    from helpers import run_cli

    arguments = ("eval", str(bi_encoder_path), "--data", str(reranking_file), "--no-cache")
    assert run_cli(*arguments).exit_code == 0
    first = len(forward_calls)
    result = run_cli(*arguments)
    assert result.exit_code == 0, result.output
    assert first > 0 and len(forward_calls) == 2 * first
    assert "texts embedded, 0 from the cache" in result.output
