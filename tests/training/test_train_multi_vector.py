"""`hubrerank train` of a multi-vector (ColBERT-style) retriever on the local Hub: a plain checkpoint trained
with MultiVectorEncoderTrainer, judged by retrieval with MaxSim, recorded, carded, byte-identical re-runs,
verify PASS, and model.kind: auto."""

from __future__ import annotations

import json

import pytest
import yaml
from factories import build_tiny_multi_vector
from helpers import run_cli
from training_helpers import TOPICS, make_recipe, push_folder, training_repos, weights_sha256

MULTI_VECTOR = {"kind": "multi-vector", "max_length": 32}


@pytest.fixture(scope="module")
def tiny_bert_base(hub, tmp_path_factory) -> str:
    """A plain BertModel checkpoint pushed as alice/tiny-bert-for-colbert: MultiVectorEncoder adds its
    projection, mask and normalisation."""
    from factories import build_tiny_bert_base

    push_folder("alice/tiny-bert-for-colbert", build_tiny_bert_base(tmp_path_factory.mktemp("bert") / "base"))
    return "alice/tiny-bert-for-colbert"


def colbert_recipe(tmp_path, model, loss=None, kind=MULTI_VECTOR):
    path = make_recipe(
        tmp_path,
        model,
        training_repos(),
        form="tuples",
        loss=loss or {"name": "MultiVectorMNRL"},
        args={"batch_sampler": "no_duplicates"},
    )
    recipe = yaml.safe_load(path.read_text())
    recipe["model"] = kind
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def test_mnrl_trains_a_multi_vector_retriever_and_verify_passes(hub, tiny_bert_base, tmp_path):
    data = training_repos()
    out = tmp_path / "out"

    result = run_cli(
        "train", str(colbert_recipe(tmp_path, tiny_bert_base)), "--out", str(out), "--push", "alice/colbert"
    )

    assert result.exit_code == 0, result.output
    assert "model.kind: multi-vector" in result.output and "maxsim_ndcg@10 " in result.output
    assert f":test retrieval over {len(TOPICS)} documents, {len(TOPICS)} queries: ndcg@10 " in result.output
    record = yaml.safe_load((out / "hubrerank.yaml").read_text())
    assert record["model"] == MULTI_VECTOR
    assert record["loss"] == {"name": "MultiVectorMultipleNegativesRankingLoss", "params": {}}
    [retrieval] = json.loads((out / "eval_results.json").read_text())["results"]
    assert retrieval["task"] == "retrieval" and retrieval["similarity"] == "maxsim"
    assert record["metrics"][f"{data['reranking']}:test/ndcg@10"] == retrieval["metrics"]["ndcg@10"]
    assert retrieval["metrics"]["ndcg@10"] == pytest.approx(record["training"]["best_metric"], abs=1e-6)
    card = (out / "README.md").read_text()
    assert "**multi-vector retriever**" in card and "MultiVectorEncoder(" in card
    assert "MultiVectorInformationRetrievalEvaluator" in card

    ref = next(line for line in result.output.splitlines() if line.startswith("alice/colbert@"))
    verified = run_cli("verify", ref, "--json", str(tmp_path / "report.json"))
    assert verified.exit_code == 0, verified.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["verdict"] == "PASS" and all(row["delta"] == 0 for row in report["rows"])


@pytest.mark.slow
def test_the_same_recipe_trains_the_same_bytes(hub, tiny_bert_base, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    for out in (first, second):
        result = run_cli("train", str(colbert_recipe(tmp_path, tiny_bert_base)), "--out", str(out))
        assert result.exit_code == 0, result.output
    assert weights_sha256(first) == weights_sha256(second)


def test_model_kind_auto_finds_a_multi_vector_encoder(hub, tmp_path):
    sha = push_folder("alice/tiny-colbert", build_tiny_multi_vector(tmp_path / "colbert"))
    recipe = colbert_recipe(tmp_path, "alice/tiny-colbert", kind={"kind": "auto", "max_length": 32})
    result = run_cli("train", str(recipe), "--out", str(tmp_path / "out"), "--set", "args.max_steps=3")
    assert result.exit_code == 0, result.output
    record = yaml.safe_load((tmp_path / "out" / "hubrerank.yaml").read_text())
    assert record["model"]["kind"] == "multi-vector" and record["base_model"]["revision"] == sha


def test_a_sparse_loss_in_a_multi_vector_recipe_is_one_line(hub, tiny_bert_base, tmp_path):
    result = run_cli("train", str(colbert_recipe(tmp_path, tiny_bert_base, {"name": "SparseMNRL"})))
    assert result.exit_code == 2, result.output
    assert "loss.name 'SparseMNRL' is not a multi-vector loss" in result.output


def test_from_card_and_verify_on_a_multi_vector_trainer_card(hub, tiny_bert_base, tmp_path):
    """A plain MultiVectorEncoderTrainer script (the installed release) trains, evaluates with
    MultiVectorInformationRetrievalEvaluator and pushes: from-card rebuilds the recipe, verify PASSes on the
    card's MaxSim claims."""
    from datasets import load_dataset
    from sentence_transformers import (
        MultiVectorEncoder,
        MultiVectorEncoderTrainer,
        MultiVectorEncoderTrainingArguments,
    )
    from sentence_transformers.multi_vector_encoder.evaluation import MultiVectorInformationRetrievalEvaluator
    from sentence_transformers.multi_vector_encoder.losses import MultiVectorMultipleNegativesRankingLoss

    from hubrerank.hub import resolve

    data = training_repos()
    train = load_dataset(data["tuples"], split="train").select_columns(["query", "positive"])
    test = load_dataset(data["reranking"], split="test")
    texts = sorted({text for row in test for text in row["positive"] + row["negative"]})
    ids = {text: f"d{index}" for index, text in enumerate(texts)}
    evaluator = MultiVectorInformationRetrievalEvaluator(
        {row["query_id"]: row["query"] for row in test},
        {ids[text]: text for text in texts},
        {row["query_id"]: {ids[text] for text in row["positive"]} for row in test},
        name="tiny-reranking-test",
        write_csv=False,
    )
    model = MultiVectorEncoder(tiny_bert_base)
    model.max_seq_length = 32
    args = MultiVectorEncoderTrainingArguments(
        output_dir=str(tmp_path / "checkpoints"),
        max_steps=6,
        per_device_train_batch_size=4,
        learning_rate=1e-3,
        seed=12,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
    )
    loss = MultiVectorMultipleNegativesRankingLoss(model)
    MultiVectorEncoderTrainer(
        model=model, args=args, train_dataset=train, loss=loss, evaluator=evaluator
    ).train()
    evaluator(model)
    model.push_to_hub("alice/st-colbert")
    ref = f"alice/st-colbert@{resolve('alice/st-colbert').sha}"

    written = run_cli("recipe", "from-card", ref, "-o", str(tmp_path / "recipe.yaml"))
    assert written.exit_code == 0, written.output
    recipe = yaml.safe_load((tmp_path / "recipe.yaml").read_text())
    assert recipe["model"] == MULTI_VECTOR
    assert recipe["loss"]["name"] == "MultiVectorMultipleNegativesRankingLoss"
    assert recipe["evaluation"]["retrieval"][0]["dataset"] == data["reranking"]
    verified = run_cli("verify", ref, "--json", str(tmp_path / "report.json"))
    assert verified.exit_code == 0, verified.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["verdict"] == "PASS"
    assert {f"{data['reranking']}:test/ndcg@10", f"{data['reranking']}:test/map@100"} <= {
        row["metric"] for row in report["rows"]
    }


@pytest.mark.slow
def test_reproduce_retrains_a_pushed_multi_vector_retriever_to_the_same_bytes(hub, tiny_bert_base, tmp_path):
    pushed = run_cli(
        "train", str(colbert_recipe(tmp_path, tiny_bert_base)), "--out", str(tmp_path / "out"),
        "--push", "alice/colbert-repro",
    )  # fmt: skip
    assert pushed.exit_code == 0, pushed.output
    ref = next(line for line in pushed.output.splitlines() if line.startswith("alice/colbert-repro@"))

    result = run_cli("reproduce", ref, "--out", str(tmp_path / "again"), "--json", str(tmp_path / "r.json"))

    assert result.exit_code == 0, result.output
    assert "model.safetensors: byte-identical to the published weights" in result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["verdict"] == "PASS" and report["weights"]["identical"]
