"""Several devices: a cross-encoder's pairs and a bi-encoder's texts split across one process per device
give the scores, vectors and metrics of one device; the device list is checked before any model loads
(the CUDA path with a mocked device count, the only thing a machine without GPUs cannot give)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from evaluation_fixtures import reranking_records
from factories import build_tiny_bi_encoder
from helpers import run_cli

from hubrerank.embeddings import encode, load_embedder
from hubrerank.errors import InputError
from hubrerank.evaluation import Scorer, run_evaluations
from hubrerank.runtime import Variant, parse_devices

TWO_CPUS = Variant(devices=("cpu", "cpu"))


@pytest.mark.slow  # two worker processes start torch
def test_two_cpu_processes_score_as_one(
    word_cross_encoder: Path, reranking_file: Path, tmp_path: Path
) -> None:
    pairs = [(r["query"], doc) for r in reranking_records() for doc in r["documents"] + r["positive"]]
    one = Scorer(word_cross_encoder, batch_size=4).logits(pairs)
    split = Scorer(word_cross_encoder, batch_size=4, precision=TWO_CPUS)
    np.testing.assert_array_equal(split.logits(pairs), one)
    assert split.computed == len(set(pairs))

    outputs = {}
    for name, extra in (("one", ()), ("two", ("--devices", "cpu,cpu"))):
        path = tmp_path / f"{name}.json"
        result = run_cli(
            "eval", str(word_cross_encoder), "--data", str(reranking_file), "--no-cache", "--json", str(path),
            *extra,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        outputs[name] = json.loads(path.read_text())["results"]
    assert outputs["two"] == outputs["one"]


@pytest.mark.slow  # two worker processes start torch
def test_two_cpu_processes_score_bfloat16_as_one(word_cross_encoder: Path) -> None:
    # the half-precision hooks (runtime.in_dtype) travel with the model into the workers
    pairs = [(r["query"], doc) for r in reranking_records()[:4] for doc in r["documents"]]
    one = Scorer(word_cross_encoder, batch_size=4, precision=Variant("bfloat16")).logits(pairs)
    split = Scorer(word_cross_encoder, batch_size=4, precision=Variant("bfloat16", devices=("cpu", "cpu")))
    np.testing.assert_array_equal(split.logits(pairs), one)


@pytest.mark.slow  # two worker processes start torch, once per encode call
def test_two_cpu_processes_embed_as_one(reranking_file: Path, tmp_path: Path) -> None:
    path = build_tiny_bi_encoder(tmp_path / "bi")
    # several batches of 4, lengths from 1 to 12 words with ties, a repeated text embedded once
    words = ("word", "other", "third")
    texts = [" ".join(words[i % 3] for i in range(1 + n % 12)) + f" {n}" for n in range(30)]
    texts.append(texts[3])
    one = load_embedder(path, batch_size=4)
    split = load_embedder(path, batch_size=4, precision=TWO_CPUS)
    for role, options in (("document", {}), ("query", {"prompt": "query: ", "normalize": True})):
        expected = encode(one, texts, role, **options)
        np.testing.assert_array_equal(encode(split, texts, role, **options), expected)
    assert split.computed == 2 * len(set(texts))

    plan = {"retrieval": [{"dataset": str(reranking_file), "split": "test", "at_k": 10}]}
    alone = run_evaluations(path, None, plan, cache=False, batch_size=4)
    assert run_evaluations(path, None, plan, cache=False, batch_size=4, precision=TWO_CPUS) == alone


@pytest.mark.slow  # two worker processes start torch
def test_two_cpu_processes_embed_bfloat16_as_one(tmp_path: Path) -> None:
    # a variant batches by token count (embeddings._token_order): the workers get those batches whole
    path = build_tiny_bi_encoder(tmp_path / "bi")
    texts = ["x y z w", "population mountain", "q r", "concrete building", "b c d", "population", "k", "a b"]
    one = encode(load_embedder(path, batch_size=2, precision=Variant("bfloat16")), texts, "document")
    split = load_embedder(path, batch_size=2, precision=Variant("bfloat16", devices=("cpu", "cpu")))
    np.testing.assert_array_equal(encode(split, texts, "document"), one)


def test_cuda_means_every_gpu_torch_sees(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 3)
    assert parse_devices("cuda") == ("cuda:0", "cuda:1", "cuda:2")
    assert parse_devices("cuda:0, cuda:2") == ("cuda:0", "cuda:2")
    with pytest.raises(InputError, match=r"--device cuda:3: there are 3 CUDA device\(s\), cuda:0 to cuda:2"):
        parse_devices("cuda:0,cuda:3")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--devices", "cpu"), "--devices cpu: give two devices or more (one device: --device)"),
        (("--devices", "cuda"), "--devices cuda: give two devices or more"),  # no GPU here: none listed
        (("--devices", "cpu,tpu"), "--device 'tpu' is not cpu, cuda, cuda:N or mps"),
        (("--devices", "cpu,cpu", "--backend", "onnx"), "--devices splits torch scoring across processes"),
    ],
)
def test_a_bad_device_list_is_one_line_before_any_model_loads(tmp_path: Path, options, message) -> None:
    missing = str(tmp_path / "no-such-model")
    for command in (("eval", missing, "--data", missing), ("verify", "alice/none")):
        result = run_cli(*command, *options)
        assert result.exit_code == 2, result.output
        [line] = result.output.strip().splitlines()
        assert message in line
