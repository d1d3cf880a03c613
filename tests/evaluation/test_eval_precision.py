"""Variant: float32 is what it always was, bfloat16 is scored apart and recorded with its scheme (the
Linear layers, or the whole model cast as before); bad values refused; threads follow the cores a process
may use."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from evaluation_fixtures import reranking_records
from factories import build_tiny_bi_encoder
from helpers import run_cli

from hubrerank.embeddings import EmbeddingCache, encode, load_embedder
from hubrerank.errors import InputError
from hubrerank.evaluation import ScoreCache, Scorer
from hubrerank.evaluation.cache import pair_key
from hubrerank.hashing import model_identity
from hubrerank.runtime import Variant, core_count, result_variant, use_cores, variant_identity

BF16 = Variant("bfloat16")
WHOLE_BF16 = Variant("bfloat16", scheme="whole")


@pytest.fixture(scope="module")
def bi_encoder_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bi_encoder(tmp_path_factory.mktemp("precision") / "bi")


def _pairs() -> list[tuple[str, str]]:
    return [(r["query"], doc) for r in reranking_records()[:6] for doc in r["documents"] + r["positive"]]


def test_float32_scores_and_cache_keys_are_unchanged(word_cross_encoder: Path, tmp_path: Path) -> None:
    from sentence_transformers import CrossEncoder

    pairs = _pairs()
    cache = ScoreCache(tmp_path / "scores.sqlite")
    scorer = Scorer(word_cross_encoder, cache=cache)
    assert scorer.identity == model_identity(word_cross_encoder)  # the key float32 entries always had
    plain = CrossEncoder(str(word_cross_encoder))  # as hubrerank loaded it before precision was a setting
    assert next(scorer.model.parameters()).dtype == next(plain.parameters()).dtype
    np.testing.assert_allclose(scorer.scores(pairs), plain.predict(pairs), atol=1e-5)
    assert cache._db.execute("SELECT DISTINCT model FROM logits").fetchall() == [(scorer.identity,)]


def test_bfloat16_scores_differ_slightly_and_are_cached_apart(
    word_cross_encoder: Path, tmp_path: Path
) -> None:
    pairs = _pairs()
    cache = ScoreCache(tmp_path / "scores.sqlite")
    plain = Scorer(word_cross_encoder, cache=cache)
    fp32 = plain.logits(pairs)
    # an entry of the model cast whole to bfloat16 (hubrerank before in_dtype) must not answer either
    identity = model_identity(word_cross_encoder)
    cache.put(identity + "+bfloat16", plain.max_length, [(pair_key(*pairs[0]), 9.0)])
    half = Scorer(word_cross_encoder, cache=cache, precision=BF16)
    bf16 = half.logits(pairs)
    assert half.computed == len(set(pairs)) and half.reused == 0  # the float32 entries did not answer
    assert bf16.dtype == np.float32 and not np.array_equal(bf16, fp32)
    assert np.corrcoef(bf16, fp32)[0, 1] > 0.95  # the same model, rounded (this random one widely)
    assert half.identity == identity + "+bfloat16:linear"
    warm = Scorer(word_cross_encoder, cache=cache, precision=BF16)
    np.testing.assert_array_equal(warm.logits(pairs), bf16)
    assert warm.computed == 0
    # the whole cast keeps its old key: that entry answers it, and only it
    whole = Scorer(word_cross_encoder, cache=cache, precision=WHOLE_BF16)
    assert whole.identity == identity + "+bfloat16"
    assert whole.logits(pairs[:1]).tolist() == [9.0] and whole.computed == 0


def test_embeddings_are_cached_per_precision(bi_encoder_path: Path, tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "scores.sqlite")
    texts = ["a first text", "and another one"]
    fp32 = encode(load_embedder(bi_encoder_path, cache), texts, "query")
    half = load_embedder(bi_encoder_path, cache, precision=BF16)
    bf16 = encode(half, texts, "query")
    assert half.computed == 2 and not np.array_equal(bf16, fp32)
    whole = load_embedder(bi_encoder_path, cache, precision=WHOLE_BF16)
    cast = encode(whole, texts, "query")
    assert whole.computed == 2 and cast.dtype == np.float32 and not np.array_equal(cast, bf16)
    identity = model_identity(bi_encoder_path)
    models = {row[0] for row in cache._db.execute("SELECT model FROM embeddings")}
    assert models == {identity, identity + "+bfloat16:linear", identity + "+bfloat16"}


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_precision_runs_the_blocks_linear_layers_in_it_and_the_rest_in_float32(
    word_cross_encoder: Path, bi_encoder_path: Path, tmp_path: Path, dtype: str
) -> None:
    import torch
    from factories import build_tiny_causal_lm
    from sentence_transformers import CrossEncoder

    half = getattr(torch, dtype)
    scorer = Scorer(word_cross_encoder, precision=Variant(dtype))
    reference = CrossEncoder(str(word_cross_encoder))  # float32, as loaded
    for (name, parameter), (_, original) in zip(
        scorer.model.named_parameters(), reference.named_parameters(), strict=True
    ):
        linear = ".layer." in name and "LayerNorm" not in name
        assert parameter.dtype == (half if linear else torch.float32), name
        assert torch.equal(parameter.float(), original.to(half).float() if linear else original), name
    pairs = _pairs()
    scores = scorer.logits(pairs)
    assert np.corrcoef(scores, reference.predict(pairs, activation_fn=torch.nn.Identity()))[0, 1] > 0.95
    # other architectures: a rotary-position causal LM reranker, and a bi-encoder's vectors
    causal = build_tiny_causal_lm(tmp_path / "lm")
    assert np.isfinite(Scorer(causal, precision=Variant(dtype)).logits(pairs)).all()
    vectors = encode(load_embedder(bi_encoder_path, precision=Variant(dtype)), ["a text", "another"], "query")
    assert vectors.dtype == np.float32 and np.isfinite(vectors).all()


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_the_whole_scheme_casts_every_parameter_and_the_linear_one_leaves_norms_in_float32(
    word_cross_encoder: Path, dtype: str
) -> None:
    import torch

    half = getattr(torch, dtype)
    linear = Scorer(word_cross_encoder, precision=Variant(dtype)).model
    whole = Scorer(word_cross_encoder, precision=Variant(dtype, scheme="whole")).model
    norms = [name for name, _ in whole.named_parameters() if "LayerNorm" in name]
    assert norms and {parameter.dtype for parameter in whole.parameters()} == {half}
    assert {parameter.dtype for name, parameter in linear.named_parameters() if name in norms} == {
        torch.float32
    }
    pairs = _pairs()
    scores = Scorer(word_cross_encoder, precision=Variant(dtype, scheme="whole")).logits(pairs)
    assert scores.dtype == np.float32 and np.isfinite(scores).all()


def test_a_variant_records_its_dtype_scheme_and_is_read_back_from_it() -> None:
    assert Variant() == Variant("float32") and Variant().scheme is None  # float32 has no scheme
    tokens = {"batching": "tokens"}  # every variant but float32 torch batches texts by token count
    assert Variant().record() == {} and Variant(backend="onnx").record() == {
        "backend": "onnx",
        "model_file": "onnx/model.onnx",
        **tokens,
    }
    assert Variant("bfloat16", scheme="linear", batching="tokens") == BF16  # what --dtype gives
    assert BF16.record() == {"dtype": "bfloat16", "dtype_scheme": "linear", **tokens}
    assert Variant("float16").record() == {"dtype": "float16", "dtype_scheme": "linear", **tokens}
    assert WHOLE_BF16.record() == {"dtype": "bfloat16", "dtype_scheme": "whole", **tokens}
    assert (Variant().label, BF16.label, WHOLE_BF16.label) == (
        "float32",
        "bfloat16",
        "bfloat16 (whole model)",
    )
    assert WHOLE_BF16.on("cpu").scheme == "whole"
    # each record reads back as the variant that wrote it
    onnx = Variant(backend="onnx", model_file="onnx/model.onnx")
    by_characters = Variant("bfloat16", batching="characters")
    for variant in (Variant(), BF16, Variant("float16"), WHOLE_BF16, onnx, by_characters):
        assert result_variant({"task": "reranking", **variant.record()}) == variant.on(None)
    # a half dtype recorded before the scheme was: the whole cast, which --dtype was then; and any variant
    # recorded before its batching was: by characters, as every variant's texts were then
    assert result_variant({"dtype": "bfloat16"}) == Variant("bfloat16", scheme="whole", batching="characters")
    assert result_variant({"dtype": "float16"}) == Variant("float16", scheme="whole", batching="characters")
    assert result_variant({"backend": "onnx"}) == Variant(backend="onnx", batching="characters")
    assert result_variant({"dtype": "bfloat16", "dtype_scheme": "linear"}).batching == "characters"
    assert result_variant({}) == Variant() and Variant().batching is None
    with pytest.raises(InputError, match="applies to bfloat16 and float16, not float32"):
        Variant(scheme="whole").check()
    with pytest.raises(InputError, match="dtype scheme 'half' is not one of linear, whole"):
        Variant("bfloat16", scheme="half").check()
    with pytest.raises(InputError, match="float32 torch embeds in sentence-transformers' own batches"):
        Variant(batching="tokens").check()
    with pytest.raises(InputError, match="batching 'words' is not one of tokens, characters"):
        Variant("bfloat16", batching="words").check()


def test_the_cache_identity_names_the_scheme() -> None:
    assert variant_identity("sha", Variant()) == "sha"  # float32: the key it always had
    assert variant_identity("sha", BF16) == "sha+bfloat16:linear"
    assert variant_identity("sha", WHOLE_BF16) == "sha+bfloat16"  # the whole cast's key from before
    assert variant_identity("sha", Variant("float16", scheme="whole")) == "sha+float16"
    onnx = Variant(backend="onnx", model_file="onnx/model_O3.onnx")
    assert variant_identity("sha", onnx, "d1g") == "sha+onnx:onnx/model_O3.onnx:d1g"


def test_eval_records_the_dtype_only_when_not_float32(word_cross_encoder, reranking_file, tmp_path) -> None:
    outputs = {}
    for dtype in ("float32", "bfloat16"):
        path = tmp_path / f"{dtype}.json"
        result = run_cli(
            "eval",
            str(word_cross_encoder),
            "--data",
            str(reranking_file),
            "--dtype",
            dtype,
            "--json",
            str(path),
        )
        assert result.exit_code == 0, result.output
        outputs[dtype] = (result.output, json.loads(path.read_text()))
    [fp32] = outputs["float32"][1]["results"]
    [bf16] = outputs["bfloat16"][1]["results"]
    assert "dtype" not in fp32 and "dtype_scheme" not in fp32
    assert (bf16["dtype"], bf16["dtype_scheme"]) == ("bfloat16", "linear")
    assert "bfloat16" in outputs["bfloat16"][0] and "float32 is the reference" not in outputs["float32"][0]
    assert fp32["metrics"].keys() == bf16["metrics"].keys()


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (("--dtype", "float8"), "--dtype 'float8' is not one of float32, bfloat16, float16"),
        (("--device", "cuda:3"), "--device cuda:3: CUDA is not available here"),
        (("--device", "tpu"), "--device 'tpu' is not cpu, cuda, cuda:N or mps"),
    ],
)
def test_a_bad_dtype_or_device_is_one_line_before_any_model_loads(tmp_path, option, message) -> None:
    missing = str(tmp_path / "no-such-model")  # never read: the option is refused first
    for command in (
        ("eval", missing, "--data", missing),
        ("rerank", missing, "-q", "q", "-d", "d"),
        ("verify", "alice/none"),
        ("data", "build", missing, "--out", str(tmp_path / "out")),
    ):
        result = run_cli(*command, *option)
        assert result.exit_code == 2, result.output
        [line] = result.output.strip().splitlines()
        assert message in line


def test_threads_follow_affinity_and_the_environment(monkeypatch) -> None:
    import torch

    before = torch.get_num_threads()
    monkeypatch.delenv("HUBRERANK_THREADS")
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0, 1, 2})
    assert core_count() == 3
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")  # two torchrun processes share the three cores
    assert core_count() == 1
    monkeypatch.setenv("HUBRERANK_THREADS", "2")
    try:
        assert use_cores() == 2 and torch.get_num_threads() == 2
        assert os.environ["TOKENIZERS_PARALLELISM"] == "true"
        monkeypatch.setenv("HUBRERANK_THREADS", "1")
        use_cores()
        assert torch.get_num_threads() == 1 and os.environ["TOKENIZERS_PARALLELISM"] == "false"
    finally:
        torch.set_num_threads(before)
    monkeypatch.setenv("HUBRERANK_THREADS", "many")
    with pytest.raises(InputError, match="HUBRERANK_THREADS must be a positive integer"):
        core_count()


def test_a_variant_embeds_in_batches_of_similar_token_count(
    bi_encoder_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sentence_transformers import SentenceTransformer

    batches: list[list[int]] = []
    original = SentenceTransformer.forward

    def recording(self, features, *args, **kwargs):
        batches.append(features["attention_mask"].sum(dim=1).tolist())
        return original(self, features, *args, **kwargs)

    monkeypatch.setattr(SentenceTransformer, "forward", recording)
    # character count and token count disagree: one long word is few tokens, many short words are many
    # ("population mountain": 2 tokens, 19 characters; "x y z w": 4 tokens, 7 characters)
    texts = ["x y z w", "population mountain", "q r", "concrete building", "b c d", "population", "k"]
    cache = EmbeddingCache(tmp_path / "scores.sqlite")
    half = load_embedder(bi_encoder_path, cache, batch_size=2, precision=BF16)
    vectors = encode(half, texts, "document")
    counts = sorted((count for batch in batches for count in batch), reverse=True)
    assert batches == [counts[start : start + 2] for start in range(0, len(counts), 2)]
    assert vectors.shape[0] == len(texts) and half.computed == len(texts)

    batches.clear()
    encode(load_embedder(bi_encoder_path, cache, batch_size=2), texts, "document")  # float32: the library's
    library = list(batches)
    assert library != [counts[start : start + 2] for start in range(0, len(counts), 2)]
    batches.clear()  # a bfloat16 result recorded before batching was: re-measured in the library's batches
    legacy = Variant("bfloat16", batching="characters")
    encode(load_embedder(bi_encoder_path, None, batch_size=2, precision=legacy), texts, "document")
    assert batches == library
    settings = {
        model: json.loads(setting)
        for model, setting in cache._db.execute("SELECT model, setting FROM embeddings")
    }
    assert settings[model_identity(bi_encoder_path) + "+bfloat16:linear"]["batching"] == "tokens"
    assert "batching" not in settings[model_identity(bi_encoder_path)]  # float32 keys as before
