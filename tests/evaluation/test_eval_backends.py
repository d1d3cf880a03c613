"""ONNX and OpenVINO variants run inside sentence-transformers' models: the same scores and embeddings as
torch within rounding (int8 within quantisation), cached apart by the variant file's bytes, recorded; a
variant that cannot run is one line, exit 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from evaluation_fixtures import reranking_records
from factories import build_tiny_bi_encoder
from helpers import run_cli

from hubrerank.embeddings import EmbeddingCache, encode, load_embedder
from hubrerank.errors import InputError
from hubrerank.evaluation import ScoreCache, Scorer
from hubrerank.export import ExportRequest, write_variants
from hubrerank.hashing import model_identity
from hubrerank.runtime import Variant

pytestmark = pytest.mark.slow  # each module fixture exports three variants (about 10 s)

ONNX = Variant(backend="onnx")
ONNX_INT8 = Variant(backend="onnx", model_file="onnx/model_qint8_avx512_vnni.onnx")
OPENVINO = Variant(backend="openvino")
REQUEST = ExportRequest(onnx=True, quantize=("avx512_vnni",), openvino=True)


@pytest.fixture(scope="module")
def cross_encoder(word_cross_encoder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("variants") / "ce"
    shutil.copytree(word_cross_encoder, folder)
    write_variants(folder, REQUEST)
    return folder


@pytest.fixture(scope="module")
def bi_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = build_tiny_bi_encoder(tmp_path_factory.mktemp("variants") / "bi")
    write_variants(folder, REQUEST)
    return folder


def _pairs() -> list[tuple[str, str]]:
    return [(r["query"], doc) for r in reranking_records()[:6] for doc in r["documents"] + r["positive"]]


def test_variants_score_as_torch_and_are_cached_apart(cross_encoder: Path, tmp_path: Path) -> None:
    pairs = _pairs()
    cache = ScoreCache(tmp_path / "scores.sqlite")
    torch_scorer = Scorer(cross_encoder, cache=cache)
    reference = torch_scorer.logits(pairs)
    assert torch_scorer.identity == model_identity(cross_encoder)  # variant files leave torch's key alone
    identities = {torch_scorer.identity}
    for variant in (ONNX, OPENVINO, ONNX_INT8):
        scorer = Scorer(cross_encoder, cache=cache, precision=variant)
        logits = scorer.logits(pairs)
        assert scorer.computed == len(set(pairs)) and scorer.reused == 0, variant  # not torch's entries
        if variant is ONNX_INT8:  # int8 weights and activations: the same model, coarsely rounded
            assert np.corrcoef(logits, reference)[0, 1] > 0.9
        else:
            np.testing.assert_allclose(logits, reference, atol=1e-4)
        assert scorer.identity.startswith(
            f"{model_identity(cross_encoder)}+{variant.backend}:{variant.file}:"
        )
        identities.add(scorer.identity)
    assert not np.allclose(Scorer(cross_encoder, precision=ONNX_INT8).logits(pairs), reference, atol=1e-6)
    assert len(identities) == 4
    warm = Scorer(cross_encoder, cache=cache, precision=ONNX)
    warm.logits(pairs)
    assert warm.computed == 0


def test_a_changed_variant_file_is_a_new_cache_key(cross_encoder: Path, tmp_path: Path) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(cross_encoder, folder)
    before = Scorer(folder, precision=ONNX).identity
    shutil.copy(folder / ONNX_INT8.file, folder / ONNX.file)
    assert Scorer(folder, precision=ONNX).identity != before


def test_bi_encoder_variants_embed_as_torch(bi_encoder: Path, tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "scores.sqlite")
    texts = ["a first text", "and another, longer one", "x"]
    reference = encode(load_embedder(bi_encoder, cache), texts, "query")
    for variant in (ONNX, OPENVINO):
        embedder = load_embedder(bi_encoder, cache, precision=variant)
        np.testing.assert_allclose(encode(embedder, texts, "query"), reference, atol=1e-5)
        assert embedder.computed == 3  # its own cache entries
    models = {row[0] for row in cache._db.execute("SELECT model FROM embeddings")}
    assert len(models) == 3


def test_eval_records_the_backend_and_file(cross_encoder: Path, reranking_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "onnx.json"
    result = run_cli(
        "eval",
        str(cross_encoder),
        "--data",
        str(reranking_file),
        "--model-file",
        ONNX_INT8.file,
        "--json",
        str(path),
    )
    assert result.exit_code == 0, result.output
    assert "Measured in onnx onnx/model_qint8_avx512_vnni.onnx" in result.output
    [measured] = json.loads(path.read_text())["results"]
    assert (measured["backend"], measured["model_file"]) == ("onnx", ONNX_INT8.file)
    assert "dtype" not in measured
    plain = tmp_path / "torch.json"
    assert (
        run_cli("eval", str(cross_encoder), "--data", str(reranking_file), "--json", str(plain)).exit_code
        == 0
    )
    [torch_result] = json.loads(plain.read_text())["results"]
    assert "backend" not in torch_result and "model_file" not in torch_result


def test_rerank_runs_an_openvino_variant(cross_encoder: Path) -> None:
    args = (
        "rerank",
        str(cross_encoder),
        "-q",
        "what is a cat",
        "-d",
        "a cat is an animal",
        "-d",
        "dogs bark",
    )
    torch_run, openvino_run = run_cli(*args), run_cli(*args, "--backend", "openvino")
    assert openvino_run.exit_code == 0, openvino_run.output
    assert "Scores computed in openvino openvino/openvino_model.xml" in openvino_run.output
    assert openvino_run.output.splitlines()[-2:] == torch_run.output.splitlines()[-2:]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ("--backend", "onnx", "--model-file", "onnx/model_O9.onnx"),
            "has no onnx/model_O9.onnx (its variants: ",
        ),
        (("--backend", "tensorrt"), "'tensorrt' is not one of 'torch', 'onnx', 'openvino'"),
        (
            ("--model-file", "onnx/model.onnx", "--dtype", "bfloat16"),
            "--dtype bfloat16 applies to torch only",
        ),
        (("--backend", "torch", "--model-file", "onnx/model.onnx"), "needs --backend onnx or openvino"),
        (("--backend", "openvino", "--model-file", "onnx/model.onnx"), "an openvino variant is a .xml file"),
    ],
)
def test_a_variant_that_cannot_run_is_one_line(
    cross_encoder: Path, options: tuple[str, ...], message: str
) -> None:
    result = run_cli("rerank", str(cross_encoder), "-q", "q", "-d", "d", *options)
    assert result.exit_code == 2, result.output
    assert message in result.output.strip().splitlines()[-1]


def test_a_missing_runtime_is_one_line(cross_encoder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "openvino" else real(name))
    with pytest.raises(
        InputError, match=r"needs openvino, which is not installed: pip install 'hubrerank\[openvino\]'"
    ):
        Scorer(cross_encoder, precision=OPENVINO)
