"""Scoring: the same scores as CrossEncoder.predict, a warm cache runs no forward pass, bad models refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from evaluation_fixtures import reranking_records

from hubrerank.errors import InputError
from hubrerank.evaluation import ScoreCache, Scorer, check_cross_encoder
from hubrerank.hashing import model_identity


def _pairs() -> list[tuple[str, str]]:
    return [(r["query"], doc) for r in reranking_records()[:6] for doc in r["documents"] + r["positive"]]


def test_scores_match_predict_and_activations(word_cross_encoder: Path) -> None:
    pairs = _pairs()
    scorer = Scorer(word_cross_encoder, batch_size=7)
    expected = scorer.model.predict(pairs, batch_size=64)
    scores = scorer.scores(pairs)
    assert scorer.computed == len(set(pairs))  # each distinct pair once
    assert scores.dtype == np.float32
    np.testing.assert_allclose(scores, expected, atol=1e-5)  # other batches, other padding: float noise
    raw = scorer.scores(pairs, "raw")
    np.testing.assert_allclose(scorer.scores(pairs, "sigmoid"), 1 / (1 + np.exp(-raw)), atol=1e-6)


def test_a_warm_cache_runs_no_forward_pass(word_cross_encoder: Path, tmp_path: Path) -> None:
    pairs = _pairs()
    cache = ScoreCache(tmp_path / "scores.sqlite")
    cold = Scorer(word_cross_encoder, cache=cache).scores(pairs)

    warm = Scorer(word_cross_encoder, cache=ScoreCache(tmp_path / "scores.sqlite"))
    warm.model.predict = _no_forward_pass
    np.testing.assert_array_equal(warm.scores(pairs), cold)  # bit for bit
    assert (warm.computed, warm.reused) == (0, len(set(pairs)))

    shorter = Scorer(word_cross_encoder, cache=cache, max_length=16)  # another key: scored again
    shorter.scores(pairs[:3])
    assert shorter.computed == 3


def test_model_identity_follows_the_weights_not_the_card(word_cross_encoder: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(word_cross_encoder, tmp_path / "copy"))
    assert model_identity(copy) == model_identity(word_cross_encoder)
    (copy / "README.md").write_text("a new card\n")
    (copy / "training_log.jsonl").write_text('{"train_runtime": 1.5}\n')  # a retraining's own timings
    (copy / ".gitattributes").write_text("*.safetensors filter=lfs\n")  # as a Hub snapshot has it
    (copy / "checkpoints" / "checkpoint-5").mkdir(parents=True)  # a training output's leftovers
    (copy / "checkpoints" / "checkpoint-5" / "optimizer.pt").write_bytes(b"state")
    assert model_identity(copy) == model_identity(word_cross_encoder)
    with (copy / "model.safetensors").open("ab") as handle:
        handle.write(b"\0")
    assert model_identity(copy) != model_identity(word_cross_encoder)


def test_bi_encoders_and_headless_models_are_refused(tmp_path: Path) -> None:
    from factories import build_tiny_bert_base, build_tiny_bi_encoder

    bi_encoder = build_tiny_bi_encoder(tmp_path / "bi")
    with pytest.raises(InputError, match=r"is a SentenceTransformer \(bi-encoder\), not a cross-encoder"):
        check_cross_encoder(bi_encoder)
    (bi_encoder / "config_sentence_transformers.json").unlink()  # old layout: only modules.json tells
    with pytest.raises(InputError, match=r"is a SentenceTransformer \(bi-encoder\), not a cross-encoder"):
        check_cross_encoder(bi_encoder)
    with pytest.raises(InputError, match=r"no sequence-classification head .*BertModel"):
        check_cross_encoder(build_tiny_bert_base(tmp_path / "base"))


def test_a_modular_cross_encoder_with_a_pooling_module_is_a_cross_encoder(tmp_path: Path) -> None:
    """ST 6 cross-encoders may pool (Transformer, Pooling, Dense "scores"); model_type says what they are."""
    folder = tmp_path / "pooled-reranker"
    folder.mkdir()
    (folder / "modules.json").write_text(
        json.dumps(
            [{"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.modules.Pooling"}]
        )
    )
    (folder / "config_sentence_transformers.json").write_text(json.dumps({"model_type": "CrossEncoder"}))
    check_cross_encoder(folder)
    (folder / "config_sentence_transformers.json").write_text(json.dumps({"model_type": "SparseEncoder"}))
    with pytest.raises(InputError, match="is a SparseEncoder"):
        check_cross_encoder(folder)


def _no_forward_pass(*args: object, **kwargs: object) -> None:
    raise AssertionError("the model was called although every pair is cached")
