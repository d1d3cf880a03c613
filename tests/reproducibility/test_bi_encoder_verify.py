"""A pushed bi-encoder retriever is verified (re-evaluated) and reproduced (retrained) like a reranker."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import fresh_st_org_repo, run_cli
from reproduce_fixtures import DATASET, TOPICS, write_recipe


@pytest.fixture(scope="module")
def bi_trained(hub, tiny_bi_encoder, faq_data, tmp_path_factory) -> str:
    """A tiny bi-encoder trained with CoSENTLoss on the labeled pairs, pushed; returns ``REPO@SHA``."""
    folder = tmp_path_factory.mktemp("bi-trained")
    recipe = write_recipe(
        folder,
        tiny_bi_encoder.repo_id,
        model={"kind": "bi-encoder", "max_length": 32},
        loss={"name": "CoSENTLoss"},
        evaluation={"retrieval": [{"dataset": DATASET, "config": "rerank", "split": "test"}]},
    )
    result = run_cli("train", str(recipe), "--out", str(folder / "out"), "--push", "alice/repro-retriever")
    assert result.exit_code == 0, result.output
    card = (folder / "out" / "README.md").read_text()
    assert "Retrieval: alice/repro-faq (test)" in card
    return next(line for line in result.output.splitlines() if line.startswith("alice/repro-retriever@"))


def test_verify_re_measures_the_retrieval_claims(bi_trained, tmp_path):
    report_path = tmp_path / "report.json"

    result = run_cli("verify", bi_trained, "--json", str(report_path))

    assert result.exit_code == 0, result.output
    assert "alice/repro-faq:test/ndcg@10" in result.output and "PASS" in result.output
    report = json.loads(report_path.read_text())
    assert report["verdict"] == "PASS"
    metrics = {row["metric"] for row in report["rows"]}
    assert {"alice/repro-faq:test/accuracy@1", "alice/repro-faq:test/map@100"} <= metrics
    assert all(row["delta"] == 0 for row in report["rows"])


def test_reproduce_retrains_to_byte_identical_weights(bi_trained, tmp_path):
    report_path = tmp_path / "report.json"

    result = run_cli("reproduce", bi_trained, "--out", str(tmp_path / "out"), "--json", str(report_path))

    assert result.exit_code == 0, result.output
    assert "model.safetensors: byte-identical to the published weights" in result.output
    report = json.loads(report_path.read_text())
    assert report["verdict"] == "PASS" and report["weights"]["identical"]
    recorded = yaml.safe_load((tmp_path / "out" / "hubrerank.yaml").read_text())
    assert recorded["model"]["kind"] == "bi-encoder"


@pytest.fixture(scope="module")
def nano_faq(hub) -> str:
    """The FAQ in NanoBEIR layout (configs corpus, queries, qrels; one split NanoNQ), pushed as
    ``alice/nano-faq``: what NanoBEIREvaluator loads."""
    from datasets import Dataset

    from hubrerank.hub import resolve
    from hubrerank.refs import Ref

    tables = {
        "corpus": [{"_id": f"d{index}", "text": answer} for index, (_, answer) in enumerate(TOPICS)],
        "queries": [{"_id": f"q{index}", "text": question} for index, (question, _) in enumerate(TOPICS)],
        "qrels": [{"query-id": f"q{index}", "corpus-id": f"d{index}"} for index in range(len(TOPICS))],
    }
    for config, rows in tables.items():
        Dataset.from_list(rows).push_to_hub("alice/nano-faq", config_name=config, split="NanoNQ")
    return resolve(Ref("alice/nano-faq", None, "dataset")).sha


def test_a_trained_retriever_claims_nanobeir_retrieval_and_verify_re_measures_it(
    hub, tiny_bi_encoder, faq_data, nano_faq, tmp_path
):
    recipe = write_recipe(
        tmp_path,
        tiny_bi_encoder.repo_id,
        model={"kind": "bi-encoder", "max_length": 32},
        loss={"name": "CoSENTLoss"},
        evaluation={"nanobeir": {"dataset": "alice/nano-faq", "datasets": ["nq"]}},
    )
    out = tmp_path / "out"
    result = run_cli("train", str(recipe), "--out", str(out), "--push", "alice/nano-retriever")
    assert result.exit_code == 0, result.output

    [nano] = json.loads((out / "eval_results.json").read_text())["results"]
    assert nano["task"] == "nanobeir-retrieval" and nano["revision"] == nano_faq
    assert "rerank_k" not in yaml.safe_load((out / "hubrerank.yaml").read_text())["evaluation"]["nanobeir"]
    card = (out / "README.md").read_text()
    assert "### NanoBEIR retrieval: mean over 1 subsets (nq)" in card
    assert "NanoNQ_cosine_ndcg@10" in card and "NanoBEIR retrieval" in card  # model-index entries
    ref = next(line for line in result.output.splitlines() if line.startswith("alice/nano-retriever@"))

    _, report = verify_passes(ref, tmp_path)
    metrics = {row["metric"] for row in report["rows"]}
    assert {"NanoNQ_cosine_ndcg@10", "NanoBEIR_mean_cosine_ndcg@10", "NanoNQ_cosine_accuracy@1"} <= metrics
    assert all(row["delta"] == 0 for row in report["rows"])


ST_RETRIEVER = "alice/st-retriever"


@pytest.fixture(scope="module")
def st_retriever(hub, tiny_bi_encoder, faq_data, tmp_path_factory) -> str:
    """A bi-encoder trained by a plain sentence-transformers script (SentenceTransformerTrainer, CoSENTLoss)
    on data loaded from the Hub by revision, its final model evaluated by an InformationRetrievalEvaluator
    named ``<dataset name>-<split>``, pushed with ``push_to_hub``; returns its sha."""
    from datasets import load_dataset
    from sentence_transformers.evaluation import InformationRetrievalEvaluator

    train = load_dataset(DATASET, "pairs", split="train", revision=faq_data)
    test = load_dataset(DATASET, "rerank", split="test", revision=faq_data)
    texts = sorted({text for row in test for text in row["positive"] + row["negative"] + row["documents"]})
    ids = {text: f"d{index}" for index, text in enumerate(texts)}
    evaluator = InformationRetrievalEvaluator(
        {row["query_id"]: row["query"] for row in test},
        {ids[text]: text for text in texts},
        {row["query_id"]: {ids[text] for text in row["positive"]} for row in test},
        name="repro-faq-test",
        write_csv=False,
    )
    return train_and_push(tiny_bi_encoder, train, evaluator, tmp_path_factory.mktemp("st-bi"), ST_RETRIEVER)


def test_from_card_and_verify_on_a_sentence_transformers_bi_encoder_card(st_retriever, tmp_path):
    recipe, _, report = from_card_and_verify(f"{ST_RETRIEVER}@{st_retriever}", tmp_path)

    assert recipe["model"] == {"kind": "bi-encoder", "max_length": 32}
    assert recipe["loss"] == {"name": "CoSENTLoss"}
    assert recipe["evaluation"] == {
        "retrieval": [
            {"dataset": DATASET, "revision": "main", "config": "rerank", "split": "test", "at_k": 10}
        ]
    }
    metrics = {row["metric"] for row in report["rows"]}
    assert {f"{DATASET}:test/ndcg@10", f"{DATASET}:test/accuracy@1", f"{DATASET}:test/map@100"} <= metrics
    assert len(metrics) == 15  # accuracy, precision, recall @1,3,5,10; ndcg@10, mrr@10, map@100
    assert all(row["source"] == "README.md model-index" for row in report["rows"])


NANOBEIR_EN = "sentence-transformers/NanoBEIR-en"
ST_NANO_RETRIEVER = "alice/st-nano-retriever"


@pytest.fixture(scope="module")
def nanobeir_en(hub) -> str:
    """The FAQ in NanoBEIR layout, split into two subsets (NanoMSMARCO, NanoNQ), at
    sentence-transformers/NanoBEIR-en, where NanoBEIREvaluator reads by default: pushed by alice, then moved
    there by the Hub's own storage (alice is no member of that org); returns its sha."""
    from datasets import Dataset, DatasetDict

    from hubrerank.hub import resolve
    from hubrerank.refs import Ref
    from hubrerank.server.admin import move_repo
    from hubrerank.server.objects import Repo
    from hubrerank.server.storage import Store

    subsets = {"NanoMSMARCO": range(0, 5), "NanoNQ": range(5, len(TOPICS))}
    tables = {
        "corpus": lambda ids: [{"_id": f"d{i}", "text": TOPICS[i][1]} for i in ids],
        "queries": lambda ids: [{"_id": f"q{i}", "text": TOPICS[i][0]} for i in ids],
        "qrels": lambda ids: [{"query-id": f"q{i}", "corpus-id": f"d{i}"} for i in ids],
    }
    for config, rows in tables.items():
        splits = {split: Dataset.from_list(rows(ids)) for split, ids in subsets.items()}
        DatasetDict(splits).push_to_hub("alice/nanobeir-en", config_name=config)
    source, target = Repo("dataset", "alice", "nanobeir-en"), Repo("dataset", *NANOBEIR_EN.split("/"))
    fresh_st_org_repo(hub, NANOBEIR_EN)
    move_repo(Store(hub.data_dir), source, target)
    return resolve(Ref(NANOBEIR_EN, None, "dataset")).sha


@pytest.fixture(scope="module")
def st_nano_retriever(hub, tiny_bi_encoder, faq_data, nanobeir_en, tmp_path_factory) -> str:
    """A bi-encoder trained by a plain sentence-transformers script (SentenceTransformerTrainer, CoSENTLoss),
    its final model evaluated by NanoBEIREvaluator on two subsets of its default dataset, pushed with
    ``push_to_hub``; returns its sha."""
    from datasets import load_dataset
    from sentence_transformers.evaluation import NanoBEIREvaluator

    train = load_dataset(DATASET, "pairs", split="train", revision=faq_data)
    evaluator = NanoBEIREvaluator(dataset_names=["msmarco", "nq"], write_csv=False)
    return train_and_push(
        tiny_bi_encoder, train, evaluator, tmp_path_factory.mktemp("st-nano"), ST_NANO_RETRIEVER
    )


def test_from_card_and_verify_re_check_a_bi_encoder_cards_nanobeir_claims(
    st_nano_retriever, nanobeir_en, tmp_path
):
    recipe, _, report = from_card_and_verify(f"{ST_NANO_RETRIEVER}@{st_nano_retriever}", tmp_path)

    nanobeir = {"dataset": NANOBEIR_EN, "revision": "main", "datasets": ["msmarco", "nq"], "at_k": 10}
    assert recipe["evaluation"] == {"nanobeir": nanobeir}
    assert "nanobeir_revision" in recipe["unknown"]
    metrics = {row["metric"] for row in report["rows"]}
    for name in ("NanoMSMARCO", "NanoNQ", "NanoBEIR_mean"):
        assert {f"{name}_cosine_ndcg@10", f"{name}_cosine_accuracy@1", f"{name}_cosine_map@100"} <= metrics
    assert len(metrics) == 45  # 15 per subset and for their mean
    assert all(row["source"] == "README.md model-index" for row in report["rows"])


def train_and_push(tiny_bi_encoder, train, evaluator, work, repo: str) -> str:
    """What a plain sentence-transformers script does: CoSENTLoss on ``train`` for 6 steps with the
    SentenceTransformerTrainer, the evaluator run on the final model (its results go into the card's
    model-index), ``push_to_hub(repo)``; returns the pushed sha."""
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.losses import CoSENTLoss

    from hubrerank.hub import resolve

    model = SentenceTransformer(tiny_bi_encoder.repo_id, revision=tiny_bi_encoder.sha)
    model.max_seq_length = 32
    args = SentenceTransformerTrainingArguments(
        output_dir=str(work / "checkpoints"),
        max_steps=6,
        per_device_train_batch_size=4,
        learning_rate=1e-3,
        seed=12,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
    )
    trainer = SentenceTransformerTrainer(
        model=model, args=args, train_dataset=train, loss=CoSENTLoss(model), evaluator=evaluator
    )
    trainer.train()
    evaluator(model)
    model.push_to_hub(repo)
    return resolve(repo).sha


def verify_passes(ref: str, tmp_path) -> tuple[Any, dict]:
    """``verify REF`` (no recipe), which must PASS: its CLI result and JSON report."""
    report_path = tmp_path / "report.json"
    verified = run_cli("verify", ref, "--json", str(report_path))
    assert verified.exit_code == 0, verified.output
    report = json.loads(report_path.read_text())
    assert report["verdict"] == "PASS"
    return verified, report


def from_card_and_verify(ref: str, tmp_path) -> tuple[dict, Any, dict]:
    """``recipe from-card REF``, which must succeed, then :func:`verify_passes`: the recipe written,
    verify's CLI result and its JSON report."""
    path = tmp_path / "recipe.yaml"
    written = run_cli("recipe", "from-card", ref, "-o", str(path))
    assert written.exit_code == 0, written.output
    return yaml.safe_load(path.read_text()), *verify_passes(ref, tmp_path)


TRIPLETS = "alice/faq-triplets"
ST_TRIPLET_RETRIEVER = "alice/st-triplet-retriever"
TRIPLET_METRICS = ("cosine_accuracy", "dot_accuracy", "euclidean_accuracy", "manhattan_accuracy")


@pytest.fixture(scope="module")
def faq_triplets(hub) -> str:
    """``alice/faq-triplets``: each FAQ question, its answer and another topic's answer (split ``test``,
    columns anchor, positive, negative), pushed; returns its sha."""
    from datasets import Dataset

    from hubrerank.hub import resolve
    from hubrerank.refs import Ref

    rows = [
        {"anchor": question, "positive": answer, "negative": TOPICS[(index + 1) % len(TOPICS)][1]}
        for index, (question, answer) in enumerate(TOPICS)
    ]
    Dataset.from_list(rows).push_to_hub(TRIPLETS, split="test")
    return resolve(Ref(TRIPLETS, None, "dataset")).sha


@pytest.fixture(scope="module")
def st_triplet_retriever(hub, tiny_bi_encoder, faq_data, faq_triplets, tmp_path_factory) -> str:
    """A bi-encoder trained by a plain sentence-transformers script (SentenceTransformerTrainer, CoSENTLoss),
    its final model evaluated by a TripletEvaluator named ``<dataset name>-<split>`` on the triplets read
    from the Hub by revision (the card claims its ``cosine_accuracy``, as 4.0 to 6.2 do), pushed with
    ``push_to_hub``; returns its sha."""
    from datasets import load_dataset
    from sentence_transformers.evaluation import TripletEvaluator

    train = load_dataset(DATASET, "pairs", split="train", revision=faq_data)
    test = load_dataset(TRIPLETS, split="test", revision=faq_triplets)
    evaluator = TripletEvaluator(
        test["anchor"], test["positive"], test["negative"], name="faq-triplets-test", write_csv=False
    )
    return train_and_push(
        tiny_bi_encoder, train, evaluator, tmp_path_factory.mktemp("st-triplet"), ST_TRIPLET_RETRIEVER
    )


@pytest.mark.slow
def test_from_card_and_verify_re_measure_a_bi_encoder_cards_triplet_claims(st_triplet_retriever, tmp_path):
    recipe, verified, report = from_card_and_verify(
        f"{ST_TRIPLET_RETRIEVER}@{st_triplet_retriever}", tmp_path
    )

    entry = {"dataset": TRIPLETS, "revision": "main", "config": "default", "split": "test"}
    assert recipe["evaluation"] == {"triplet": [entry]}
    assert "guessed evaluation.triplet (faq-triplets-test)" in recipe["unknown"]
    assert not any(key.startswith("evaluator ") for key in recipe["unknown"])
    assert f"{TRIPLETS}:test/cosine_accuracy" in verified.output and "PASS" in verified.output
    [row] = report["rows"]
    assert row["metric"] == f"{TRIPLETS}:test/cosine_accuracy" and row["source"] == "README.md model-index"
    assert row["delta"] == 0


@pytest.mark.slow
def test_a_tampered_triplet_claim_fails(st_triplet_retriever, tmp_path):
    from huggingface_hub import hf_hub_download

    from hubrerank.hub import publish

    card = Path(hf_hub_download(ST_TRIPLET_RETRIEVER, "README.md", revision=st_triplet_retriever)).read_text()
    claimed = re.search(r"- type: cosine_accuracy\n      value: ([\d.]+)", card)
    assert claimed is not None
    value = float(claimed.group(1))
    tampered = card.replace(claimed.group(0), claimed.group(0).replace(claimed.group(1), str(value - 0.25)))
    sha = publish(ST_TRIPLET_RETRIEVER, {"README.md": tampered.encode()}, message="tamper").sha
    report_path = tmp_path / "report.json"

    verified = run_cli("verify", f"{ST_TRIPLET_RETRIEVER}@{sha}", "--json", str(report_path))

    assert verified.exit_code == 1, verified.output
    [row] = json.loads(report_path.read_text())["rows"]
    assert row["delta"] == pytest.approx(0.25) and not row["ok"]


@pytest.mark.slow
def test_a_trained_retriever_records_triplet_accuracy_and_verify_re_measures_it(
    hub, tiny_bi_encoder, faq_data, faq_triplets, tmp_path
):
    recipe = write_recipe(
        tmp_path,
        tiny_bi_encoder.repo_id,
        model={"kind": "bi-encoder", "max_length": 32},
        loss={"name": "CoSENTLoss"},
        evaluation={"triplet": [{"dataset": TRIPLETS}]},
    )
    out = tmp_path / "out"
    result = run_cli("train", str(recipe), "--out", str(out), "--push", "alice/triplet-retriever")
    assert result.exit_code == 0, result.output

    [triplet] = json.loads((out / "eval_results.json").read_text())["results"]
    assert triplet["task"] == "triplet" and triplet["revision"] == faq_triplets
    assert triplet["columns"] == ["anchor", "positive", "negative"] and triplet["num_triplets"] == len(TOPICS)
    assert set(triplet["metrics"]) == {*TRIPLET_METRICS, "max_accuracy"}
    recorded = yaml.safe_load((out / "hubrerank.yaml").read_text())
    assert f"{TRIPLETS}:test/cosine_accuracy" in recorded["metrics"]
    card = (out / "README.md").read_text()
    assert f"### Triplets: {TRIPLETS} (test)" in card and "| cosine_accuracy |" in card
    assert "name: Triplet" in card  # the model-index entries
    ref = next(line for line in result.output.splitlines() if line.startswith("alice/triplet-retriever@"))

    _, report = verify_passes(ref, tmp_path)
    metrics = {row["metric"] for row in report["rows"]}
    assert metrics == {f"{TRIPLETS}:test/{name}" for name in (*TRIPLET_METRICS, "max_accuracy")}
    assert all(row["delta"] == 0 for row in report["rows"])


@pytest.mark.slow  # exports, measures and verifies two variants
def test_export_of_a_retriever_is_measured_on_texts_and_verified(bi_trained, tmp_path):
    result = run_cli(
        "export", bi_trained, "--onnx", "--openvino-int8", "--out", str(tmp_path / "work"), "--push"
    )
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "work" / "variants.json").read_text())
    assert record["items"] == "texts" and record["count"] > 0
    assert [v["model_file"] for v in record["variants"]] == [
        "onnx/model.onnx",
        "openvino/openvino_model_qint8_quantized.xml",
    ]  # calibrated on the recorded training split
    pushed = result.output.strip().splitlines()[-1]
    report_path = tmp_path / "report.json"

    verified = run_cli("verify", pushed, "--json", str(report_path))

    assert verified.exit_code == 0, verified.output
    rows = json.loads(report_path.read_text())["rows"]
    assert {row.get("measured_model_file") for row in rows} == {
        None,
        "onnx/model.onnx",
        "openvino/openvino_model_qint8_quantized.xml",
    }
